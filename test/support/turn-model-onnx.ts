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
const INT8 = 3;
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
            f: { type: 'float', id: 2 },
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
            rawData: { type: 'bytes', id: 9 },
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
  /** Leave out the sigmoid: the model then answers a logit, not a probability (a broken model for tests). */
  logit?: boolean;
}

type Dim = number | string;
const shape = (dims: readonly Dim[]): object => ({
  dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
});
const tensorInfo = (name: string, dims: readonly Dim[]): object => ({ name, type: { tensorType: { elemType: FLOAT, shape: shape(dims) } } });

const int64s = (name: string, values: number[]): object => ({ name, dataType: INT64, dims: [values.length], int64Data: values });
const scalar = (name: string, value: number): object => ({ name, dataType: FLOAT, dims: [], floatData: [value] });
const floats = (name: string, dims: number[], values: Float32Array): object => ({
  name,
  dataType: FLOAT,
  dims,
  rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
});
const bytes = (name: string, dataType: number, dims: number[], values: Uint8Array | Int8Array): object => ({
  name,
  dataType,
  dims,
  rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
});
const node = (opType: string, inputs: string[], out: string | string[], attribute: object[] = []): object => {
  const output = typeof out === 'string' ? [out] : out;
  return { opType, name: output[0], input: inputs, output, attribute };
};
const ints = (name: string, values: number[]): object => ({ name, type: ATTR_INTS, ints: values });
const int = (name: string, value: number): object => ({ name, type: ATTR_INT, i: value });

function encodeModel(graph: object): Uint8Array {
  const model = { irVersion: 7, producerName: 'callpilot-test', opsetImport: [{ domain: '', version: 13 }], graph };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX test model: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** The ONNX bytes of a tail-energy model (opset 13). */
export function tailEnergyModelOnnx(m: TailEnergyModel): Uint8Array {
  const input = m.inputName ?? 'input_features';
  const output = m.outputName ?? 'probabilities';
  const dims = m.inputShape ?? ['batch', 80, 800];
  const frames = typeof dims[2] === 'number' ? dims[2] : 800;
  return encodeModel({
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
      node('ReduceMean', ['tail'], 'tail_mean', [ints('axes', [1, 2]), int('keepdims', 1)]),
      node('Reshape', ['tail_mean', 'out_shape'], 'level'),
      node('Mul', ['level', 'weight'], 'scaled'),
      node('Sub', ['bias', 'scaled'], m.logit ? output : 'logit'),
      ...(m.logit ? [] : [node('Sigmoid', ['logit'], output)]),
    ],
  });
}

/**
 * For the cost bench: a model with the contract and about the arithmetic of Smart Turn v3's Whisper-tiny encoder
 * (two convolutions 80->384->384 with stride 2, then 4 layers of 400x384 attention and a 1536-wide feed-forward,
 * a pooled linear head), random weights from a fixed seed. Layer norms and GELU are left out (a few % of the
 * work). It answers nothing meaningful; it costs what the real encoder's matrix work costs. `int8` stores the
 * weight matrices as int8 and multiplies them the way onnxruntime's dynamic quantization writes them
 * (DynamicQuantizeLinear on the activations, MatMulInteger, rescale), as Smart Turn's 8 MB CPU model does.
 */
export function whisperTinySizedModelOnnx(layers = 4, seed = 1, int8 = false): Uint8Array {
  let state = seed;
  const random = (n: number, fanIn: number): Float32Array => {
    const scale = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: n }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state / 2 ** 32 - 0.5) * 2 * scale;
    });
  };
  const d = 384;
  const ff = 1536;
  const init: object[] = [
    floats('conv1_w', [d, 80, 3], random(d * 80 * 3, 240)),
    floats('conv1_b', [d], new Float32Array(d)),
    floats('conv2_w', [d, d, 3], random(d * d * 3, d * 3)),
    floats('conv2_b', [d], new Float32Array(d)),
    scalar('attn_scale', 1 / Math.sqrt(d)),
    floats('head_w', [d, 1], random(d, d)),
  ];
  const nodes: object[] = [
    node('Conv', ['input_features', 'conv1_w', 'conv1_b'], 'c1', [ints('pads', [1, 1]), ints('strides', [1])]),
    node('Relu', ['c1'], 'r1'),
    node('Conv', ['r1', 'conv2_w', 'conv2_b'], 'c2', [ints('pads', [1, 1]), ints('strides', [2])]),
    node('Relu', ['c2'], 'r2'),
    node('Transpose', ['r2'], 'h0', [ints('perm', [0, 2, 1])]),
  ];
  /** x · W for a [rows, cols] weight named `w`, in fp32 or as a dynamically quantized int8 product. */
  const weightMatMul = (x: string, w: string, rows: number, cols: number, out: string): void => {
    const values = random(rows * cols, rows);
    if (!int8) {
      init.push(floats(w, [rows, cols], values));
      nodes.push(node('MatMul', [x, w], out));
      return;
    }
    const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
    init.push(
      bytes(`${w}_q`, INT8, [rows, cols], Int8Array.from(values, (v) => Math.round(v / scale))),
      bytes(`${w}_zp`, INT8, [], new Int8Array(1)),
      scalar(`${w}_scale`, scale),
    );
    nodes.push(
      node('DynamicQuantizeLinear', [x], [`${out}_xq`, `${out}_xscale`, `${out}_xzp`]),
      node('MatMulInteger', [`${out}_xq`, `${w}_q`, `${out}_xzp`, `${w}_zp`], `${out}_i32`),
      node('Cast', [`${out}_i32`], `${out}_f`, [int('to', FLOAT)]),
      node('Mul', [`${out}_xscale`, `${w}_scale`], `${out}_s`),
      node('Mul', [`${out}_f`, `${out}_s`], out),
    );
  };
  let h = 'h0';
  for (let l = 0; l < layers; l++) {
    const p = (name: string): string => `l${l}_${name}`;
    for (const w of ['q', 'k', 'v']) weightMatMul(h, p(`w${w}`), d, d, p(w));
    nodes.push(
      node('Transpose', [p('k')], p('kt'), [ints('perm', [0, 2, 1])]),
      node('MatMul', [p('q'), p('kt')], p('s')),
      node('Mul', [p('s'), 'attn_scale'], p('s2')),
      node('Softmax', [p('s2')], p('a'), [int('axis', -1)]),
      node('MatMul', [p('a'), p('v')], p('o')),
    );
    weightMatMul(p('o'), p('wo'), d, d, p('o2'));
    nodes.push(node('Add', [h, p('o2')], p('h1')));
    weightMatMul(p('h1'), p('w1'), d, ff, p('f1'));
    nodes.push(node('Relu', [p('f1')], p('f2')));
    weightMatMul(p('f2'), p('w2'), ff, d, p('f3'));
    nodes.push(node('Add', [p('h1'), p('f3')], p('h')));
    h = p('h');
  }
  nodes.push(
    node('ReduceMean', [h], 'pooled', [ints('axes', [1]), int('keepdims', 0)]),
    node('MatMul', ['pooled', 'head_w'], 'logit'),
    node('Sigmoid', ['logit'], 'probabilities'),
  );
  return encodeModel({
    name: 'whisper_tiny_sized_turn_model',
    input: [tensorInfo('input_features', ['batch', 80, 800])],
    output: [tensorInfo('probabilities', ['batch', 1])],
    initializer: init,
    node: nodes,
  });
}

/** What a tail-energy model answers for a [80, 800] feature matrix laid out mel-major (row per mel bin). */
export function expectedProbability(m: TailEnergyModel, features: Float32Array, bins = 80, frames = 800): number {
  let sum = 0;
  for (let b = 0; b < bins; b++) for (let f = frames - m.tailFrames; f < frames; f++) sum += features[b * frames + f]!;
  const mean = sum / (bins * m.tailFrames);
  return 1 / (1 + Math.exp(-(m.bias - m.weight * mean)));
}
