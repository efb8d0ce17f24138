"""Helpers shared by the functional ops: constants, broadcasting, dims."""

from __future__ import annotations

import numbers

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext, current
from netdef.symbolic import SymInt
from netdef.tensor import Tensor

FLOAT_TYPES = ("FLOAT", "HALF", "BF16")


def is_float(t: Tensor) -> bool:
    return t.dtype.name in FLOAT_TYPES


def wrap(itensor: trt.ITensor, ctx: EmitContext) -> Tensor:
    return Tensor(itensor, ctx)


def context_of(*values) -> EmitContext:
    for v in values:
        if isinstance(v, Tensor):
            return v.ctx
    return current()


def as_operand(x):
    """``x`` as a Tensor when it stands for one (a module's Parameter or buffer used in ``forward``), else ``x``."""
    to_tensor = getattr(type(x), "__netdef_tensor__", None)
    return to_tensor(x) if to_tensor is not None else x


def require_tensor(op: str, x, arg: str = "input") -> Tensor:
    x = as_operand(x)
    if not isinstance(x, Tensor):
        raise current().error(op, f"`{arg}` must be a netdef.Tensor, got {type(x).__name__}")
    return x


def norm_dim(ctx: EmitContext, op: str, dim: int, ndim: int) -> int:
    """Torch-style dim (negatives count from the end) checked against ``ndim``."""
    if not -ndim <= dim < ndim:
        raise ctx.error(op, f"dim {dim} is out of range for a tensor of rank {ndim}")
    return dim % ndim


def constant(ctx: EmitContext, array: np.ndarray, dtype: trt.DataType, op: str = "constant") -> Tensor:
    """A constant layer holding ``array`` (cast to ``dtype``); a 0-d array makes a 0-d tensor, as in torch."""
    shape = tuple(np.shape(array))
    weights = ctx.weights(array, dtype, op=op)
    layer = ctx.add_layer(op, lambda net: net.add_constant(shape, weights))
    return wrap(layer.get_output(0), ctx)


def scalar_like(ctx: EmitContext, value, like: Tensor, op: str) -> Tensor:
    """A Python scalar (or a symbolic size) as a tensor of ``like``'s dtype, with ``like``'s rank (all dims 1).

    A 0-d ``like`` gives a 0-d scalar, so a 0-d tensor combined with a number stays 0-d (as in torch).
    """
    if isinstance(value, SymInt):  # a run-time size used as a number (``x / T``)
        size = value.itensor
        if like.dtype != trt.int64:
            size = ctx.add_layer(op + "_size_cast", lambda net: net.add_cast(value.itensor, like.dtype)).get_output(0)
        return static_reshape(ctx, wrap(size, ctx), (1,) * like.ndim, op + "_size_reshape")
    if not isinstance(value, numbers.Number):
        kind = f"{type(value).__module__}.{type(value).__name__}".removeprefix("builtins.")
        raise ctx.error(
            op, f"expected a netdef.Tensor or a Python number, got {kind}; make arrays constants with F.as_tensor(a)"
        )
    if not is_float(like) and not float(value).is_integer():
        raise ctx.error(
            op, f"cannot combine the {like.dtype.name} tensor `{like.name}` with the float {value!r}; cast it first"
        )
    return constant(ctx, np.full((1,) * like.ndim, value), like.dtype, op + "_scalar")


def broadcast_shape(ctx: EmitContext, op: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Torch broadcasting of two static shapes (-1 = dynamic); raises EmitError when they don't conform."""
    n = max(len(a), len(b))
    a2 = (1,) * (n - len(a)) + tuple(a)
    b2 = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a2, b2):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif x < 0 or y < 0:
            out.append(max(x, y) if min(x, y) >= 0 else -1)
        else:
            raise ctx.error(op, f"shapes {tuple(a)} and {tuple(b)} cannot be broadcast together")
    return tuple(out)


def unsqueeze_to(ctx: EmitContext, t: Tensor, ndim: int, op: str) -> Tensor:
    """Prepend size-1 dims so ``t`` has rank ``ndim`` (torch broadcasting aligns trailing dims)."""
    if t.ndim == ndim:
        return t
    pad = ndim - t.ndim
    if all(d >= 0 for d in t.static_shape):
        return static_reshape(ctx, t, (1,) * pad + t.static_shape, op + "_unsqueeze")
    axes = constant(ctx, np.arange(pad, dtype=np.int64), trt.int64, op + "_unsqueeze_axes")
    layer = ctx.add_layer(op + "_unsqueeze", lambda net: net.add_unsqueeze(t.itensor, axes.itensor))
    return wrap(layer.get_output(0), ctx)


def ntuple(value, n: int, what: str, ctx: EmitContext, op: str) -> tuple[int, ...]:
    """An int or ``n`` ints (kernel_size, stride, padding...) as a tuple of ``n`` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ctx.error(op, f"{what} must be an int or {n} ints, got {value}")
    return value


def placeholder_reshape(ctx: EmitContext, t: Tensor, dims: tuple[int, ...], op: str) -> Tensor:
    """A shuffle to ``dims`` where 0 copies the input's dim (so dynamic dims stay dynamic)."""

    def make(net):
        layer = net.add_shuffle(t.itensor)
        layer.reshape_dims = dims
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def static_reshape(ctx: EmitContext, t: Tensor, shape: tuple[int, ...], op: str) -> Tensor:
    """A shuffle layer reshaping ``t`` to ``shape`` (0 means zero, not 'copy', as in torch)."""

    def make(net):
        layer = net.add_shuffle(t.itensor)
        layer.zero_is_placeholder = False
        layer.reshape_dims = tuple(shape)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


# -- torch's type promotion ---------------------------------------------------------------------------

#: bytes of each integer dtype TensorRT has (uint8 with int8 promotes to int16 in torch; TensorRT has no int16)
_INT_SIZES = {"INT8": 1, "UINT8": 1, "INT32": 4, "INT64": 8}
_FLOAT_SIZES = {"HALF": 2, "BF16": 2, "FLOAT": 4}


def _category(dtype: trt.DataType) -> int:
    """0 bool, 1 integer, 2 float (torch promotes across categories upwards)."""
    return 0 if dtype == trt.bool else 1 if dtype.name in _INT_SIZES else 2


def promote_types(ctx: EmitContext, op: str, a: trt.DataType, b: trt.DataType) -> trt.DataType:
    """torch.promote_types for TensorRT dtypes: the smallest dtype both ``a`` and ``b`` convert to."""
    for d in (a, b):
        if d != trt.bool and d.name not in _INT_SIZES and d.name not in _FLOAT_SIZES:
            raise ctx.error(op, f"cannot compute with {d.name} tensors; dequantize or cast them to a float dtype first")
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if ca == 1:
        if {a.name, b.name} == {"INT8", "UINT8"}:
            return trt.int32
        return a if _INT_SIZES[a.name] >= _INT_SIZES[b.name] else b
    if {a.name, b.name} == {"HALF", "BF16"}:
        return trt.float32
    return a if _FLOAT_SIZES[a.name] >= _FLOAT_SIZES[b.name] else b


def _scalar_dtype(ctx: EmitContext, value) -> trt.DataType:
    """The dtype torch gives a Python number in an expression (floats: the network's float compute dtype)."""
    if isinstance(value, (bool, np.bool_)):
        return trt.bool
    if isinstance(value, (numbers.Integral, SymInt)):
        return trt.int64
    return ctx.compute_dtype


def result_type(ctx: EmitContext, op: str, *values) -> trt.DataType:
    """torch.result_type of tensors and Python numbers: tensors with dims decide within a category, then 0-d
    tensors, then numbers; a higher category (bool < int < float) from a 0-d tensor or a number promotes."""
    levels: list[trt.DataType | None] = [None, None, None]  # tensors with dims, 0-d tensors, numbers
    for v in values:
        if isinstance(v, Tensor):
            level, dtype = (0 if v.ndim else 1), v.dtype
        else:
            level, dtype = 2, _scalar_dtype(ctx, v)
        levels[level] = dtype if levels[level] is None else promote_types(ctx, op, levels[level], dtype)

    def combine(higher, lower):
        if higher is None or lower is None:
            return lower if higher is None else higher
        if _category(higher) == 2:
            return higher
        if higher == trt.bool or _category(lower) == 2:
            return promote_types(ctx, op, higher, lower)
        return higher

    return combine(levels[0], combine(levels[1], levels[2]))


def cast_to(ctx: EmitContext, t: Tensor, dtype: trt.DataType, op: str) -> Tensor:
    """``t`` converted to ``dtype`` (``t`` itself when it has it)."""
    if t.dtype == dtype:
        return t
    return wrap(ctx.add_layer(op + "_cast", lambda net: net.add_cast(t.itensor, dtype)).get_output(0), ctx)


def promote(ctx: EmitContext, op: str, *values, dtype: trt.DataType | None = None) -> list[Tensor]:
    """Tensors and Python numbers (at least one a Tensor) as tensors of their torch result type (or ``dtype``);
    numbers become constants of the rank of the highest-rank tensor."""
    values = [as_operand(v) for v in values]
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        raise ctx.error(op, "at least one operand must be a netdef.Tensor")
    for v in values:
        if not isinstance(v, (Tensor, SymInt)) and not isinstance(v, numbers.Number):
            scalar_like(ctx, v, tensors[0], op)  # raises, naming what was passed
    target = result_type(ctx, op, *values) if dtype is None else dtype
    like = cast_to(ctx, max(tensors, key=lambda t: t.ndim), target, op)
    return [cast_to(ctx, v, target, op) if isinstance(v, Tensor) else scalar_like(ctx, v, like, op) for v in values]


def binary_operands(op: str, a, b, dtype: trt.DataType | None = None) -> tuple[EmitContext, Tensor, Tensor]:
    """Turn (tensor|scalar, tensor|scalar) into two tensors of torch's result type (or ``dtype``) and one rank,
    checked to broadcast."""
    a, b = as_operand(a), as_operand(b)
    ctx = context_of(a, b)
    a, b = promote(ctx, op, a, b, dtype=dtype)
    broadcast_shape(ctx, op, a.static_shape, b.static_shape)
    n = max(a.ndim, b.ndim)
    return ctx, unsqueeze_to(ctx, a, n, op), unsqueeze_to(ctx, b, n, op)
