#!/usr/bin/python3
"""Derives an offline (whole-utterance) CTC model from a streaming one of sherpa-onnx's online NeMo CTC contract,
for tests of the two-pass final only. The result follows sherpa-onnx's offline zipformer CTC contract (features
(N, T, 80) and their lengths in; log-probabilities and their lengths out; sherpa's default fbank, as the streaming
model's). The streaming model's cache inputs become zeros sized from the batch, and the features are padded at their
end to whole model chunks with copies of the last frame, so one call over the whole utterance runs the same causal
network as chunk-by-chunk streaming. It decodes what the streaming model decodes: no better model.
Needs Debian's python3-onnx.

usage: offline-ctc-from-streaming.py STREAMING.onnx OFFLINE.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper

CACHE_INPUTS = ('cache_last_channel', 'cache_last_time', 'cache_last_channel_len')


def const(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def main(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inputs = {i.name: i for i in graph.input}
    missing = [n for n in ('audio_signal', 'length', *CACHE_INPUTS) if n not in inputs]
    if missing:
        raise SystemExit(f'{src}: not a streaming NeMo CTC model (no input {", ".join(missing)})')
    outputs = {o.name: o for o in graph.output}
    if 'log_probs' not in outputs or 'encoded_lengths' not in outputs:
        raise SystemExit(f'{src}: no log_probs and encoded_lengths outputs')
    meta = {p.key: p.value for p in model.metadata_props}
    chunk = int(meta.get('window_size', '1'))

    # The network's own nodes read the padded, channels-first features.
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == 'audio_signal':
                node.input[k] = 'offline_features_nct'
    nodes = [
        # (N, T, 80) -> (N, 80, T), padded on T to whole chunks.
        helper.make_node('Transpose', ['x'], ['offline_nct'], perm=[0, 2, 1]),
        helper.make_node('Shape', ['offline_nct'], ['offline_shape']),
        helper.make_node('Slice', ['offline_shape', 'offline_0', 'offline_1'], ['offline_batch']),
        helper.make_node('Slice', ['offline_shape', 'offline_2', 'offline_3'], ['offline_frames']),
        helper.make_node('Mod', ['offline_frames', 'offline_chunk'], ['offline_over']),
        helper.make_node('Sub', ['offline_chunk', 'offline_over'], ['offline_short']),
        helper.make_node('Mod', ['offline_short', 'offline_chunk'], ['offline_pad_end']),
        helper.make_node('Concat', ['offline_zeros5', 'offline_pad_end'], ['offline_pads'], axis=0),
        helper.make_node('Pad', ['offline_nct', 'offline_pads'], ['offline_features_nct'], mode='edge'),
    ]
    consts = [const('offline_0', [0]), const('offline_1', [1]), const('offline_2', [2]), const('offline_3', [3]),
              const('offline_chunk', [chunk]), const('offline_zeros5', [0, 0, 0, 0, 0])]
    for name in CACHE_INPUTS:
        t = inputs[name].type.tensor_type
        rest = f'{name}_rest'
        consts.append(const(rest, [d.dim_value for d in t.shape.dim][1:]))
        nodes.append(helper.make_node('Concat', ['offline_batch', rest], [f'{name}_shape'], axis=0))
        zero = helper.make_tensor(f'{name}_zero', t.elem_type, [1], [0])
        nodes.append(helper.make_node('ConstantOfShape', [f'{name}_shape'], [name], value=zero))
    graph.initializer.extend(consts)

    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 'T', 80])
    x_lens = inputs['length']
    del graph.input[:]
    graph.input.extend([x, x_lens])
    # The new nodes compute what the old graph read as inputs, so they go first (nodes are in topological order).
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + old)
    keep = [outputs['log_probs'], outputs['encoded_lengths']]
    del graph.output[:]
    graph.output.extend(keep)
    meta['comment'] = f'offline CTC derived from the streaming {src.rsplit("/", 1)[-1]} for tests of the two-pass final'
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.checker.check_model(model)
    onnx.save(model, dst)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
