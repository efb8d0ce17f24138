"""Ops that keep or place entries by their position: tril, triu, diag, eye, one_hot, meshgrid, linspace.

Positions come from constants when the sizes are static, else from IFillLayer ranges (``arange``) over
symbolic sizes, so ``F.tril(F.ones(T, T))`` with ``T = x.shape[1]`` works at every sequence length.
"""

from __future__ import annotations

import numbers

import numpy as np

from netdef._trt import trt
from netdef.context import current
from netdef.functional import elementwise
from netdef.functional._common import constant, context_of, require_tensor, static_reshape
from netdef.functional.creation import _dtype, arange, full
from netdef.functional.dtype import cast
from netdef.functional.indexing import _gather, getitem
from netdef.functional.registry import register_op
from netdef.functional.shape import expand, reshape, unsqueeze
from netdef.symbolic import SizeLike, SymInt, check_size, decide, sym_max, sym_min
from netdef.tensor import Tensor

_LAYERS = (
    "IConstantLayer",
    "IElementWiseLayer",
    "IFillLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISelectLayer",
    "ISliceLayer",
    "IUnsqueezeLayer",
)


def _static(*sizes) -> bool:
    return not any(isinstance(s, SymInt) for s in sizes)


def _rows_cols(ctx, op: str, h: SizeLike, w: SizeLike) -> tuple[Tensor, Tensor]:
    """int64 positions: rows (h, 1) and columns (1, w)."""
    rows, cols = arange(h), arange(w)
    return unsqueeze(rows, 1), unsqueeze(cols, 0)


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim < 2:
        raise ctx.error(op, f"expects a tensor of rank >= 2 (a matrix or a batch of them), got {input.static_shape}")
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise ctx.error(op, f"diagonal must be a Python int, got {diagonal!r}")
    h, w = input.shape[-2:]
    if _static(h, w):
        i, j = np.arange(h)[:, None], np.arange(w)[None, :]
        keep = constant(ctx, (j - i <= diagonal) if lower else (j - i >= diagonal), trt.bool, op + "_mask")
    else:
        i, j = _rows_cols(ctx, op, h, w)
        offset = elementwise.sub(j, i)
        keep = elementwise.le(offset, diagonal) if lower else elementwise.ge(offset, diagonal)
    zero = False if input.dtype == trt.bool else 0
    return elementwise.where(keep, input, zero)


@register_op(*_LAYERS, "IUnaryLayer", torch="torch.tril", methods="tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries with ``col - row <= diagonal``), zeros above it."""
    return _triangle("tril", input, diagonal, lower=True)


@register_op(*_LAYERS, "IUnaryLayer", torch="torch.triu", methods="triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries with ``col - row >= diagonal``), zeros below it."""
    return _triangle("triu", input, diagonal, lower=False)


@register_op(*_LAYERS, "ICastLayer", torch="torch.eye")
def eye(n: SizeLike, m: SizeLike | None = None, dtype=None) -> Tensor:
    """An ``n`` x ``m`` matrix (``m = n`` by default) with ones on the diagonal (torch.eye); sizes may be
    symbolic. Floats of the network's compute dtype unless ``dtype``."""
    op = "eye"
    ctx = current()
    n = check_size(ctx, op, n, "n")
    m = n if m is None else check_size(ctx, op, m, "m")
    if decide("<", n, 0) or decide("<", m, 0):
        raise ctx.error(op, f"sizes must be >= 0, got n={n}, m={m}")
    out_dtype = _dtype(ctx, dtype, ctx.compute_dtype)
    if _static(n, m):
        return constant(ctx, np.eye(n, m), out_dtype, op)
    i, j = _rows_cols(ctx, op, n, m)
    return cast(elementwise.eq(i, j), out_dtype)


@register_op(
    *_LAYERS, "IGatherLayer", "ICastLayer", "IConcatenationLayer", "IAssertionLayer", torch="torch.diag", methods="diag"
)
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D ``input``: a square matrix with it on diagonal ``diagonal`` (above the main one when > 0), zeros
    elsewhere; 2-D ``input``: that diagonal as a 1-D tensor (torch.diag)."""
    op = "diag"
    input = require_tensor(op, input)
    ctx = input.ctx
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise ctx.error(op, f"diagonal must be a Python int, got {diagonal!r}")
    k = diagonal
    if input.ndim == 2:
        h, w = input.shape
        length = sym_max(sym_min(h, w - k) if k >= 0 else sym_min(h + k, w), 0)
        if _static(length) and length == 0:
            return reshape(input, -1)[:0]
        rows, cols = (
            (np.arange(length) + max(0, -k), np.arange(length) + max(0, k))
            if _static(length)
            else (
                elementwise.add(arange(length), max(0, -k)),
                elementwise.add(arange(length), max(0, k)),
            )
        )
        return getitem(input, (rows.tolist(), cols.tolist()) if isinstance(rows, np.ndarray) else (rows, cols))
    if input.ndim != 1:
        raise ctx.error(op, f"expects a 1-D or 2-D tensor, got shape {input.static_shape}")
    (n,) = input.shape
    size = n + abs(k)
    if _static(size):
        i, j = np.arange(size)[:, None], np.arange(size)[None, :]
        on = constant(ctx, j - i == k, trt.bool, op + "_mask")
        pos = constant(ctx, np.minimum(np.arange(size), max(n - 1, 0)), trt.int32, op + "_positions")
    else:
        i, j = _rows_cols(ctx, op, size, size)
        on = elementwise.eq(elementwise.sub(j, i), k)
        pos = elementwise.minimum(arange(size), sym_max(n - 1, 0))
    values = _gather(input, 0, pos, op + "_place")  # entry r (k >= 0: of row r; k < 0: of column r)
    values = unsqueeze(values, 1 if k >= 0 else 0)
    zero = False if input.dtype == trt.bool else 0
    return elementwise.where(on, values, zero)


@register_op(*_LAYERS, "ICastLayer", torch="torch.nn.functional.one_hot")
def one_hot(tensor: Tensor, num_classes: SizeLike = -1) -> Tensor:
    """int64 tensor with a new last dim of ``num_classes``: 1 at each entry's class, else 0 (F.one_hot).

    ``num_classes`` must be given (torch's default -1 takes it from the values, unknown while defining). A
    class outside [0, num_classes) gives a row of zeros where torch raises.
    """
    op = "one_hot"
    tensor = require_tensor(op, tensor, "tensor")
    ctx = tensor.ctx
    if tensor.dtype not in (trt.int32, trt.int64):
        raise ctx.error(op, f"expects an int64 (or int32) tensor of class indices, got {tensor.dtype.name}")
    if isinstance(num_classes, int) and num_classes == -1:
        raise ctx.error(
            op,
            "num_classes=-1 takes the class count from the values (max + 1), which a TensorRT network cannot know "
            "while defining; pass num_classes",
        )
    num_classes = check_size(ctx, op, num_classes, "num_classes")
    classes = arange(num_classes)
    if tensor.dtype != trt.int64:
        classes = cast(classes, tensor.dtype)
    return cast(elementwise.eq(unsqueeze(tensor, -1), classes), trt.int64)


@register_op(
    "IShuffleLayer",
    "ISliceLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IAssertionLayer",
    torch="torch.meshgrid",
)
def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Grids from 1-D tensors (torch.meshgrid): with ``indexing='ij'`` output ``i`` varies along dim ``i``;
    with ``'xy'`` the first two swap (the first tensor varies along dim 1). Sizes may be dynamic."""
    op = "meshgrid"
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ctx = context_of(*tensors)
    if not tensors:
        raise ctx.error(op, "expects at least one tensor")
    if indexing not in ("ij", "xy"):
        raise ctx.error(op, f"indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = tuple(require_tensor(op, t, f"tensors[{i}]") for i, t in enumerate(tensors))
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ctx.error(op, f"expects 0-D or 1-D tensors, tensors[{i}] has shape {t.static_shape}")
        if t.dtype != tensors[0].dtype:
            raise ctx.error(
                op, f"expects tensors of one dtype: tensors[{i}] is {t.dtype.name}, tensors[0] {tensors[0].dtype.name}"
            )
    sizes = [t.shape[0] if t.ndim else 1 for t in tensors]
    dims = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        dims[0], dims[1] = 1, 0
    shape = [0] * len(tensors)
    for d, s in zip(dims, sizes):
        shape[d] = s
    out = []
    for t, d in zip(tensors, dims):
        view = [1] * len(tensors)
        view[d] = -1 if t.ndim else 1
        line = reshape(t, *view) if t.ndim else static_reshape(ctx, t, tuple(view), op + "_reshape")
        out.append(expand(line, *shape))
    return tuple(out)


@register_op(*_LAYERS, "ICastLayer", torch="torch.linspace")
def linspace(start: float, end: float, steps: SizeLike, dtype=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (torch.linspace); ``steps``
    may be a symbolic size. Floats of the network's compute dtype unless ``dtype``."""
    op = "linspace"
    ctx = current()
    for name, v in (("start", start), ("end", end)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise ctx.error(op, f"{name} must be a Python number, got {type(v).__name__}")
    steps = check_size(ctx, op, steps, "steps")
    if decide("<", steps, 0):
        raise ctx.error(op, f"steps must be >= 0, got {steps}")
    out_dtype = _dtype(ctx, dtype, ctx.compute_dtype)
    if _static(steps):
        # as torch: the first half counted up from start, the second down from end (symmetric rounding)
        i = np.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        values = np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i)) if steps > 1 else i + start
        return constant(ctx, values.astype(np.float32), out_dtype, op)
    i = cast(arange(steps), trt.float32)
    gaps = cast(full((), sym_max(steps - 1, 1)), trt.float32)
    step = elementwise.div(float(end - start), gaps)
    out = elementwise.add(elementwise.mul(i, step), float(start))
    return cast(out, out_dtype)
