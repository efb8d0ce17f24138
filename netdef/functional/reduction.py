"""Reductions: sum, mean, amax, amin, max/min (values and indices), topk, argmax, argmin."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import NamedTuple

from netdef._trt import dtype_from_name, trt
from netdef.functional._common import is_float, norm_dim, require_tensor, static_reshape, wrap
from netdef.functional.dtype import cast
from netdef.functional.registry import register_op
from netdef.symbolic import SymInt, assert_compare, decide
from netdef.tensor import Tensor

_REDUCE = trt.ReduceOperation
#: TensorRT's largest TopK k
_MAX_K = 3840


class MaxMin(NamedTuple):
    """``(values, indices)``, as torch.return_types.max / min / topk."""

    values: Tensor
    indices: Tensor


def _dims(op: str, input: Tensor, dim) -> list[int]:
    """Torch ``dim`` (None or () = every dim; int or sequence, negatives allowed) as sorted axes."""
    ctx = input.ctx
    if dim is None or (isinstance(dim, Sequence) and len(dim) == 0):
        return list(range(input.ndim))
    dims = list(dim) if isinstance(dim, Sequence) else [dim]
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise ctx.error(op, f"dim must be an int or a tuple of ints, got {dim!r}")
    axes = [norm_dim(ctx, op, d, input.ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise ctx.error(op, f"dim {dim!r} names a dim more than once")
    return sorted(axes)


def _reduce(op: str, operation: trt.ReduceOperation, input: Tensor, dim, keepdim: bool) -> Tensor:
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim == 0:
        input = static_reshape(ctx, input, (1,), op + "_reshape")
        if dim not in (None, 0, -1, (), (0,), (-1,)):
            raise ctx.error(op, f"dim {dim!r} is out of range for a 0-d tensor")
        out = _reduce(op, operation, input, 0, False)
        return static_reshape(ctx, out, (1,), op + "_reshape") if keepdim else out
    axes = _dims(op, input, dim)
    mask = builtins.sum(1 << a for a in axes)
    layer = ctx.add_layer(op, lambda net: net.add_reduce(input.itensor, operation, mask, bool(keepdim)))
    return wrap(layer.get_output(0), ctx)


def _with_dtype(op: str, input: Tensor, dtype) -> Tensor:
    input = require_tensor(op, input)
    if dtype is not None:
        return cast(input, dtype if isinstance(dtype, trt.DataType) else dtype_from_name(dtype))
    if input.dtype in (trt.int32, trt.int8, trt.uint8, trt.bool):
        return cast(input, trt.int64)  # torch sums integers and bools as int64
    return input


@register_op("ICastLayer", "IReduceLayer", torch="torch.sum", methods="sum")
def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (every dim when None); integer and bool tensors sum as int64, as torch."""
    return _reduce("sum", _REDUCE.SUM, _with_dtype("sum", input, dtype), dim, keepdim)


@register_op("IReduceLayer", torch="torch.mean", methods="mean")
def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (every dim when None) of a float tensor."""
    input = require_tensor("mean", input)
    if dtype is not None:
        input = _with_dtype("mean", input, dtype)
    if not is_float(input):
        raise input.ctx.error(
            "mean", f"expects a float tensor, got {input.dtype.name} `{input.name}`; cast it first or pass dtype="
        )
    return _reduce("mean", _REDUCE.AVG, input, dim, keepdim)


@register_op("ICastLayer", "IReduceLayer", torch="torch.amax", methods="amax")
def amax(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (every dim when empty); of a bool tensor: any, as torch."""
    return _bool_through_int("amax", _REDUCE.MAX, input, dim, keepdim)


@register_op("ICastLayer", "IReduceLayer", torch="torch.amin", methods="amin")
def amin(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (every dim when empty); of a bool tensor: all, as torch."""
    return _bool_through_int("amin", _REDUCE.MIN, input, dim, keepdim)


def _bool_through_int(op: str, operation: trt.ReduceOperation, input: Tensor, dim, keepdim: bool) -> Tensor:
    """``_reduce``, with a bool tensor reduced as int32 and the result cast back (TensorRT reduces no bools)."""
    input = require_tensor(op, input)
    if input.dtype != trt.bool:
        return _reduce(op, operation, input, dim, keepdim)
    return cast(_reduce(op, operation, cast(input, trt.int32), dim, keepdim), trt.bool)


@register_op("IReduceLayer", torch="torch.prod", methods="prod")
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over ``dim`` (every dim when None)."""
    return _reduce("prod", _REDUCE.PROD, _with_dtype("prod", input, dtype), dim, keepdim)


@register_op("ITopKLayer", torch="torch.topk", methods="topk")
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MaxMin:
    """The ``k`` largest (or smallest) values along ``dim`` and their int64 indices, sorted.

    Ties may be ordered differently from torch (TensorRT does not specify which index wins; the
    reference interpreter picks the lowest). ``dim`` must be one of the last four dims (TensorRT).
    """
    op = "topk"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim == 0:
        raise ctx.error(op, "expects a tensor of rank >= 1")
    axis = norm_dim(ctx, op, dim, input.ndim)
    size = input.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, SymInt)):
        raise ctx.error(op, f"k must be an int or a size from x.shape, got {type(k).__name__} {k!r}")
    if decide("<", k, 0) or decide(">", k, size):
        raise ctx.error(op, f"k={k} is out of range for dim {dim} of size {size} (0 <= k <= size)")
    if decide(">", k, _MAX_K):
        raise ctx.error(op, f"TensorRT's TopK supports k up to {_MAX_K}, got {k}")
    # where k or the dim is known only at run time, an IAssertionLayer checks what cannot be decided now
    assert_compare(ctx, k, "<=", size, op, f"topk's k={k} is larger than dim {dim} (size {size})")
    if isinstance(k, SymInt):
        assert_compare(ctx, k, ">=", 0, op, f"topk's k={k} is negative")
        assert_compare(ctx, k, "<=", _MAX_K, op, f"topk's k={k} is larger than TensorRT's limit of {_MAX_K}")
    if axis < input.ndim - 4:
        raise ctx.error(
            op,
            f"TensorRT's TopK works on one of the last four dims; dim {dim} of shape {input.static_shape} is not "
            "(for values only use amax / amin, or move the dim to the end with permute first)",
        )
    if input.dtype == trt.bool:
        raise ctx.error(op, f"expects a numeric tensor, got bool `{input.name}`")
    if input.ndim == 1:  # TensorRT's TopK needs rank >= 2: work on a (1, N) view
        from netdef.functional.shape import squeeze, unsqueeze

        values, indices = topk(unsqueeze(input, 0), k, 1, largest, sorted)
        return MaxMin(squeeze(values, 0), squeeze(indices, 0))
    kind = trt.TopKOperation.MAX if largest else trt.TopKOperation.MIN
    k_t = None
    if isinstance(k, SymInt):  # TensorRT's dynamic K: a 0-d int32 shape tensor as input 1
        k32 = ctx.add_layer(op + "_k", lambda net: net.add_cast(k.itensor, trt.int32)).get_output(0)
        k_t = static_reshape(ctx, wrap(k32, ctx), (), op + "_k_reshape").itensor

    def make(net):
        layer = net.add_topk(input.itensor, kind, 0 if k_t is not None else k, 1 << axis, trt.int64)
        if k_t is not None:
            layer.set_input(1, k_t)
        return layer

    layer = ctx.add_layer(op, make)
    return MaxMin(wrap(layer.get_output(0), ctx), wrap(layer.get_output(1), ctx))


def _extreme(op: str, largest: bool, input: Tensor, dim, keepdim: bool) -> MaxMin:
    values, indices = topk(input, 1, dim, largest)
    if keepdim:
        return MaxMin(values, indices)
    from netdef.functional.shape import squeeze

    axis = norm_dim(input.ctx, op, dim, input.ndim)
    return MaxMin(squeeze(values, axis), squeeze(indices, axis))


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IReduceLayer",
    "IShuffleLayer",
    "ISqueezeLayer",
    "ITopKLayer",
    torch="torch.max",
    methods="max",
)
def max(input: Tensor, dim=None, keepdim: bool = False):
    """torch.max: ``max(x)`` -> the maximum (0-d); ``max(x, dim)`` -> ``(values, indices)``;
    ``max(x, other_tensor)`` -> elementwise maximum.

    The ``(values, indices)`` form uses TensorRT's TopK (k=1): ``dim`` must be one of the last four dims
    and, for tied maxima, TensorRT does not promise torch's "first index"; use ``amax`` for values only.
    """
    if isinstance(dim, Tensor):
        from netdef.functional.elementwise import maximum

        return maximum(input, dim)
    if dim is None:
        return amax(input)
    return _extreme("max", True, require_tensor("max", input), dim, keepdim)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IReduceLayer",
    "IShuffleLayer",
    "ISqueezeLayer",
    "ITopKLayer",
    torch="torch.min",
    methods="min",
)
def min(input: Tensor, dim=None, keepdim: bool = False):
    """torch.min: ``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or ``min(x, other_tensor)`` (see ``max``)."""
    if isinstance(dim, Tensor):
        from netdef.functional.elementwise import minimum

        return minimum(input, dim)
    if dim is None:
        return amin(input)
    return _extreme("min", False, require_tensor("min", input), dim, keepdim)


def _arg(op: str, largest: bool, input: Tensor, dim, keepdim: bool) -> Tensor:
    input = require_tensor(op, input)
    if dim is None:  # over the flattened tensor
        from netdef.functional.shape import flatten

        out = _extreme(op, largest, flatten(input), 0, False).indices
        return static_reshape(input.ctx, out, (1,) * input.ndim, op + "_reshape") if keepdim else out
    return _extreme(op, largest, input, dim, keepdim).indices


@register_op(
    "IAssertionLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "ISqueezeLayer",
    "ITopKLayer",
    "IUnaryLayer",
    "IUnsqueezeLayer",
    torch="torch.argmax",
    methods="argmax",
)
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """int64 index of the maximum along ``dim`` (of the flattened tensor when None); see ``max``."""
    return _arg("argmax", True, input, dim, keepdim)


@register_op(
    "IAssertionLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "ISqueezeLayer",
    "ITopKLayer",
    "IUnaryLayer",
    "IUnsqueezeLayer",
    torch="torch.argmin",
    methods="argmin",
)
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """int64 index of the minimum along ``dim`` (of the flattened tensor when None); see ``max``."""
    return _arg("argmin", False, input, dim, keepdim)
