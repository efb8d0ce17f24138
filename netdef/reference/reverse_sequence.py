"""IReverseSequenceLayer semantics (ONNX ReverseSequence): inputs (x, sequence_lens).

For each batch entry ``b`` the first ``sequence_lens[b]`` elements along ``sequence_axis`` are reversed;
the rest are copied.
"""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("REVERSE_SEQUENCE")
def reverse_sequence(layer, inputs):
    x, lengths = inputs
    batch_axis, seq_axis = layer.batch_axis, layer.sequence_axis
    n = x.shape[seq_axis]
    pos = torch.arange(n, dtype=torch.int64)
    lens = lengths.to(torch.int64).reshape(-1, 1)  # (batch, 1)
    source = torch.where(pos < lens, lens - 1 - pos, pos)  # (batch, seq): where each output element reads
    view = [1] * x.dim()
    view[batch_axis], view[seq_axis] = source.shape
    if batch_axis > seq_axis:
        source = source.T
    index = source.reshape(view).expand(x.shape)
    return [torch.gather(x, seq_axis, index)]
