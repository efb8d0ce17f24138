"""IPaddingLayer semantics: zeros before/after the innermost dims (negative amounts crop)."""

from __future__ import annotations

import torch.nn.functional as F

from netdef.reference._padding import torch_pad
from netdef.reference._registry import register


@register("PADDING")
def padding(layer, inputs):
    pre, post = list(layer.pre_padding_nd), list(layer.post_padding_nd)
    return [F.pad(inputs[0], torch_pad(pre, post))]
