/**
 * Builds small, genuine ONNX files for the audio turn model's tests and bench: no trained Smart Turn model can be
 * downloaded here, so these stand in with the exact contract (`input_features` float32 [batch, 80, 800] -> one
 * completion probability [batch, 1]) and an output that depends on the audio in a known way:
 *
 *   p = sigmoid(bias - weight * mean(input_features[:, :, 800 - tailFrames:]))
 *
 * "Energy at the end means the caller is still talking": a loud tail gives a low probability, a quiet one a high
 * probability. `expectedProbability` computes the same from a feature matrix, so tests can check the runtime's answer.
 *
 * The ModelProto is encoded with protobufjs from the field numbers of onnx/onnx.proto (only the fields used here).
 */
import protobuf from 'protobufjs';

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } },
        },
      },
    },
  },
};

const ModelProto = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');

export interface TailEnergyModel {
  /** Frames at the end of the 800 whose mean log-mel value is read. */
  tailFrames: number;
  weight: number;
  bias: number;
  /** Input shape to declare (default [batch, 80, 800]); a wrong one lets tests check the refusal. */
  inputShape?: readonly (number | string)[];
  inputName?: string;
  outputName?: string;
}

type Dim = number | string;
const shape = (dims: readonly Dim[]): object => ({
  dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
});
const tensorInfo = (name: string, dims: readonly Dim[]): object => ({ name, type: { tensorType: { elemType: FLOAT, shape: shape(dims) } } });

/** The ONNX bytes of a tail-energy model (opset 13). */
export function tailEnergyModelOnnx(m: TailEnergyModel): Uint8Array {
  const input = m.inputName ?? 'input_features';
  const output = m.outputName ?? 'probabilities';
  const dims = m.inputShape ?? ['batch', 80, 800];
  const frames = typeof dims[2] === 'number' ? dims[2] : 800;
  const int64s = (name: string, values: number[]): object => ({ name, dataType: INT64, dims: [values.length], int64Data: values });
  const scalar = (name: string, value: number): object => ({ name, dataType: FLOAT, dims: [], floatData: [value] });
  const node = (opType: string, inputs: string[], out: string, attribute: object[] = []): object => ({
    opType,
    name: out,
    input: inputs,
    output: [out],
    attribute,
  });
  const graph = {
    name: 'tail_energy_turn_model',
    input: [tensorInfo(input, dims)],
    output: [tensorInfo(output, ['batch', 1])],
    initializer: [
      int64s('tail_start', [frames - m.tailFrames]),
      int64s('tail_end', [frames]),
      int64s('frame_axis', [2]),
      int64s('out_shape', [-1, 1]),
      scalar('weight', m.weight),
      scalar('bias', m.bias),
    ],
    node: [
      node('Slice', [input, 'tail_start', 'tail_end', 'frame_axis'], 'tail'),
      node('ReduceMean', ['tail'], 'tail_mean', [{ name: 'axes', type: ATTR_INTS, ints: [1, 2] }, { name: 'keepdims', type: ATTR_INT, i: 1 }]),
      node('Reshape', ['tail_mean', 'out_shape'], 'level'),
      node('Mul', ['level', 'weight'], 'scaled'),
      node('Sub', ['bias', 'scaled'], 'logit'),
      node('Sigmoid', ['logit'], output),
    ],
  };
  const model = { irVersion: 7, producerName: 'callpilot-test', opsetImport: [{ domain: '', version: 13 }], graph };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`tail-energy model: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** What a tail-energy model answers for a [80, 800] feature matrix laid out mel-major (row per mel bin). */
export function expectedProbability(m: TailEnergyModel, features: Float32Array, bins = 80, frames = 800): number {
  let sum = 0;
  for (let b = 0; b < bins; b++) for (let f = frames - m.tailFrames; f < frames; f++) sum += features[b * frames + f]!;
  const mean = sum / (bins * m.tailFrames);
  return 1 / (1 + Math.exp(-(m.bias - m.weight * mean)));
}
