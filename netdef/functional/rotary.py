"""Rotary position embedding (RoPE): TensorRT's IRotaryEmbeddingLayer where the backend has it, else slices,
multiplies and a concatenation (non-interleaved layouts).

torch has no RoPE operator, so this TensorRT-native op is not one of ``netdef.functional``'s registered
torch-named ops: import it from here (``from netdef.functional.rotary import rotary_embedding``).
"""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import constant, is_float, require_tensor, wrap
from netdef.functional.dtype import cast
from netdef.functional.shape import cat, unsqueeze
from netdef.tensor import Tensor


def rope_cache(
    head_dim: int, max_positions: int, base: float = 10000.0, inv_freq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) tables of shape (max_positions, head_dim / 2): angle ``p * base^(-2i / head_dim)``
    (or ``p * inv_freq[i]`` for scaled RoPE variants), computed in float64."""
    if inv_freq is None:
        inv_freq = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(max_positions, dtype=np.float64)[:, None] * np.asarray(inv_freq, np.float64)[None]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rotary_embedding(
    input: Tensor,
    cos: np.ndarray | Tensor,
    sin: np.ndarray | Tensor,
    position_ids: Tensor | None = None,
    interleaved: bool = False,
    rotary_dim: int = 0,
) -> Tensor:
    """Rotate feature pairs of ``input`` (B, N, S, H) by the angles whose cos/sin are given.

    ``cos``/``sin`` are (B, S, R/2), or (max_positions, R/2) tables indexed by ``position_ids`` (B, S, int).
    Pairs are the halves of the first R = ``rotary_dim`` (0: all H) features, as transformers'
    ``rotate_half``, or adjacent features with ``interleaved`` (GPT-J style); the rest pass through.
    """
    op = "rotary_embedding"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim != 4 or not is_float(input):
        raise ctx.error(op, f"input must be a float (B, N, S, H) tensor, got {input.dtype.name} {input.shape}")
    head = input.static_shape[-1]
    rot = rotary_dim or head
    if head < 0 or rot % 2 or rot > head:
        raise ctx.error(op, f"rotary_dim {rot} must be even and at most the static head size {head}")
    tables = []
    for name, t in (("cos", cos), ("sin", sin)):
        if not isinstance(t, Tensor):
            t = constant(ctx, np.asarray(t, np.float32), input.dtype, f"{op}_{name}")
        elif t.dtype != input.dtype:
            t = cast(t, input.dtype)
        if t.static_shape[-1] >= 0 and t.static_shape[-1] != rot // 2:
            raise ctx.error(op, f"{name} has last dim {t.static_shape[-1]}, expected rotary_dim / 2 = {rot // 2}")
        tables.append(t)
    if position_ids is not None:
        require_tensor(op, position_ids, "position_ids")
        if position_ids.dtype.name not in ("INT32", "INT64") or position_ids.ndim != 2:
            raise ctx.error(op, f"position_ids must be int (B, S), got {position_ids.dtype.name} {position_ids.shape}")
        if position_ids.dtype != trt.int64:
            position_ids = cast(position_ids, trt.int64)  # the layer takes int64 positions
    if hasattr(ctx.network, "add_rotary_embedding"):
        return _rotary_layer(input, tables, position_ids, interleaved, rotary_dim, op)
    if interleaved:
        raise ctx.error(op, "this TensorRT has no IRotaryEmbeddingLayer; interleaved RoPE needs it")
    return rotary_composed(input, tables[0], tables[1], position_ids, rot, op)


def _rotary_layer(input, tables, position_ids, interleaved, rotary_dim, op) -> Tensor:
    ctx = input.ctx

    def make(net):
        layer = net.add_rotary_embedding(
            input.itensor, tables[0].itensor, tables[1].itensor, bool(interleaved), int(rotary_dim)
        )
        if layer is not None and position_ids is not None:
            layer.set_input(3, position_ids.itensor)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def rotary_composed(
    input: Tensor, cos: Tensor, sin: Tensor, position_ids: Tensor | None, rot: int, op: str = "rotary_embedding"
) -> Tensor:
    """Non-interleaved RoPE from gathers, slices, multiplies and a concatenation (any TensorRT)."""
    if position_ids is not None:

        def gather(t):
            layer = input.ctx.add_layer(op + "_gather", lambda net: net.add_gather(t.itensor, position_ids.itensor, 0))
            return wrap(layer.get_output(0), input.ctx)

        cos, sin = gather(cos), gather(sin)
    cos, sin = unsqueeze(cos, 1), unsqueeze(sin, 1)  # (B, 1, S, R/2) over the heads
    half = rot // 2
    a, b = input[..., :half], input[..., half:rot]
    parts = [a * cos - b * sin, b * cos + a * sin]
    if rot < input.static_shape[-1]:
        parts.append(input[..., rot:])
    return cat(parts, -1)
