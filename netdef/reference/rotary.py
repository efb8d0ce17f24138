"""IRotaryEmbeddingLayer semantics (rotary position embedding, RoPE).

The input is (B, N, S, H). Its first R = ``rotary_embedding_dim`` (0: all H) features form R/2 pairs: the
two halves ``x[..., :R/2]`` and ``x[..., R/2:R]``, or with ``interleaved`` the adjacent elements
``x[..., 0:R:2]`` and ``x[..., 1:R:2]``. Each pair (a, b) becomes ``(a cos - b sin, b cos + a sin)``, with
cos/sin of shape (B, S, R/2), or (max_position + 1, R/2) indexed by the optional ``position_ids`` (B, S)
(input 3). Features past R pass through unchanged.
"""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register


@register("ROTARY_EMBEDDING")
def rotary_embedding(layer, inputs):
    x, cos, sin = inputs[0], inputs[1], inputs[2]
    position_ids = inputs[3] if len(inputs) > 3 else None
    where = f"rotary embedding `{layer.name}`"
    if x.dim() != 4:
        raise InterpreterError(f"{where}: the input must be (B, N, S, H), got {tuple(x.shape)}")
    rot = int(layer.rotary_embedding_dim) or x.shape[-1]
    if rot % 2 or rot > x.shape[-1]:
        raise InterpreterError(f"{where}: rotary_embedding_dim {rot} must be even and <= {x.shape[-1]}")
    if position_ids is not None:
        pos = position_ids.to(torch.int64)
        if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) >= cos.shape[0]):
            raise InterpreterError(
                f"{where}: position ids span [{int(pos.min())}, {int(pos.max())}], the caches hold {cos.shape[0]}"
            )
        cos, sin = cos[pos], sin[pos]
    if cos.shape[-1] != rot // 2:
        raise InterpreterError(f"{where}: the caches' last dim is {cos.shape[-1]}, expected {rot // 2}")
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, 1, S, R/2) broadcasts over the heads
    part, rest = x[..., :rot], x[..., rot:]
    if layer.interleaved:
        a, b = part[..., 0::2], part[..., 1::2]
        rotated = torch.stack((a * cos - b * sin, b * cos + a * sin), dim=-1).flatten(-2)
    else:
        a, b = part[..., : rot // 2], part[..., rot // 2 :]
        rotated = torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)
    return [torch.cat((rotated, rest), dim=-1)]
