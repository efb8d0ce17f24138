"""Item assignment and in-place ops, written as their functional equivalents.

A netdef Tensor is a proxy for a TensorRT tensor. ``x[:, 0] = 1``, ``x[mask] = 0``, ``x[idx] = v`` and
``x.add_(y)`` compute the new value (select, scatter or elementwise layers) and rebind the proxy ``x`` to it
(``Tensor.rebind``), so every later read of ``x``, through any name for that proxy, sees the write, as in
torch. Views alias as torch's: a write into a view (``x[0][1] = 5``, ``x[:, :2].zero_()``,
``x.view(-1)[0] = 1``, ``x.transpose(0, 1)[0] = 1``, a piece of ``split``) is written into its base, and a
view taken before its base was written is computed again from the new base when read
(``v = x[0]; x[0] = 1; v + 1`` sees the 1s). Refused, because torch decides by strides whether the
result is a copy or a view: a write into, or a read after its base changed of, a reshape of a view whose entries
are not in order (``x.t().reshape(-1)``, ``x[:, 1:].flatten()``; ``Tensor.is_contiguous``). Writes into
``expand`` views are refused too.
"""

from __future__ import annotations

import numbers

import numpy as np

from netdef._trt import trt
from netdef.functional import activation, elementwise, unary
from netdef.functional._common import constant, is_float, require_tensor, static_reshape, unsqueeze_to, wrap
from netdef.functional.dtype import cast
from netdef.functional.indexing import (
    _check_index,
    _dims_of,
    _index_tensor,
    _is_int,
    _is_mask,
    _squeeze_unsqueeze,
    expand_index,
    index_grid,
    slice_params,
)
from netdef.functional.registry import register_op, tensor_method
from netdef.symbolic import SizeLike, SymInt, assert_equal, decide, sym_max
from netdef.tensor import MAYBE_COPY, Tensor

_OPS = trt.ElementWiseOperation


def _iop(ctx, op: str, operation, a: Tensor, b: Tensor) -> Tensor:
    layer = ctx.add_layer(op, lambda net: net.add_elementwise(a.itensor, b.itensor, operation))
    return wrap(layer.get_output(0), ctx)


def _value(op: str, input: Tensor, value) -> Tensor:
    """``value`` (a Python number or a tensor) as a tensor of ``input``'s dtype, as torch casts it."""
    ctx = input.ctx
    if isinstance(value, Tensor) or hasattr(type(value), "__netdef_tensor__"):
        value = require_tensor(op, value, "value")
        return cast(value, input.dtype)
    if isinstance(value, SymInt):
        from netdef.functional.creation import full

        return full((), value, dtype=input.dtype)
    if not isinstance(value, numbers.Number) or isinstance(value, complex):
        raise ctx.error(
            op, f"the value assigned must be a Python number or a netdef.Tensor, got {type(value).__name__}"
        )
    if input.dtype == trt.bool:
        value = bool(value)
    elif not is_float(input):
        value = int(value)  # torch truncates a float assigned into an int tensor
    return constant(ctx, np.asarray(value), input.dtype, op + "_value")


def _fit(op: str, value: Tensor, shape: tuple[SizeLike, ...], what: str) -> Tensor:
    """``value`` with the rank of ``shape`` (leading size-1 dims dropped or added), checked to broadcast to it."""
    ctx = value.ctx
    extra = value.ndim - len(shape)
    if extra > 0:
        lead = value.static_shape[:extra]
        if any(d != 1 for d in lead):
            raise ctx.error(op, f"a value of shape {value.static_shape} cannot be assigned to {what} of shape {shape}")
        value = (
            static_reshape(ctx, value, value.static_shape[extra:], op + "_value_reshape")
            if all(d >= 0 for d in value.static_shape)
            else _squeeze_unsqueeze(value, list(range(extra)), [], op + "_value")
        )
    value = unsqueeze_to(ctx, value, len(shape), op + "_value")
    for i, (v, n) in enumerate(zip(value.shape, shape)):
        if decide("==", v, 1) or decide("==", v, n):
            continue
        if not isinstance(v, SymInt) and not isinstance(n, SymInt):
            raise ctx.error(
                op, f"a value of shape {tuple(value.static_shape)} cannot be assigned to {what} of shape {tuple(shape)}"
            )
        assert_equal(ctx, (v - 1) * (v - n), 0, op, f"the value's dim {i} (size {v}) must be 1 or {n}")
    return value


def _positions(ctx, op: str, n: SizeLike, start: SizeLike, size: SizeLike, step: int) -> tuple[Tensor, Tensor]:
    """For dim positions ``j`` in [0, n): whether ``j`` is in ``range(start, start + size * step, step)`` (bool),
    and which entry of that range it is (int, clamped into [0, size))."""
    if not any(isinstance(v, SymInt) for v in (n, start, size)):
        rel = np.arange(n) - start
        hit = (rel >= 0) & (rel < size * step) & (rel % step == 0)
        pos = np.clip(rel // step, 0, max(size - 1, 0))
        return constant(ctx, hit, trt.bool, op + "_region"), constant(ctx, pos, trt.int32, op + "_positions")
    from netdef.functional.creation import arange

    rel = elementwise.sub(arange(n), start)
    hit = elementwise.logical_and(elementwise.ge(rel, 0), elementwise.lt(rel, size * step))
    pos = rel
    if step != 1:
        steps = constant(ctx, np.full((1,), step), trt.int64, op + "_step")
        pos = _iop(ctx, op + "_floor_div", _OPS.FLOOR_DIV, rel, steps)
        hit = elementwise.logical_and(hit, elementwise.eq(_iop(ctx, op + "_times", _OPS.PROD, pos, steps), rel))
    pos = elementwise.maximum(elementwise.minimum(pos, sym_max(size - 1, 0)), 0)
    return hit, pos


def _along(t: Tensor, dim: int, ndim: int, op: str) -> Tensor:
    """A 1-D tensor reshaped to lie along ``dim`` of a rank-``ndim`` tensor."""
    from netdef.functional.shape import unsqueeze

    for _ in range(ndim - dim - 1):
        t = unsqueeze(t, -1)
    return unsqueeze_to(t.ctx, t, ndim, op)


def _set_basic(input: Tensor, items: list, value, op: str) -> Tensor:
    """``input[items] = value`` for ints, slices and None: where(region, value placed by gathers, input)."""
    ctx = input.ctx
    slices, drop, insert, out_pos = [], [], [], 0
    for it in items:
        if it is None:
            insert.append(out_pos)
            out_pos += 1
            continue
        dim = len(slices)
        if _is_int(it) or isinstance(it, SymInt):
            slices.append(slice(_check_index(input, dim, it if isinstance(it, SymInt) else int(it), op), None))
            drop.append(dim)
        else:
            slices.append(it)
            out_pos += 1
    starts, sizes, steps = slice_params(input, slices, op, keep_one=drop)
    region = [s for d, s in enumerate(sizes) if d not in drop]
    for pos in insert:
        region.insert(pos, 1)
    v = _fit(op, _value(op, input, value), tuple(region), f"input{_index_text(items)}")
    v = _squeeze_unsqueeze(v, insert, drop, op + "_value")  # the value laid out along input's dims
    mask = None
    shape = input.shape
    for d, (n, a, size, step) in enumerate(zip(shape, starts, sizes, steps)):
        if decide("==", a, 0) and decide("==", size, n) and step == 1:
            continue  # the whole dim
        if decide("==", size, 0):
            return input  # an empty region: nothing is written
        hit, pos = _positions(ctx, f"{op}_dim{d}", n, a, size, step)
        if v.static_shape[d] != 1:
            if not decide("==", v.shape[d], size):  # 1 or the region's size, known at run time
                from netdef.functional.shape import expand

                v = expand(v, *[size if i == d else -1 for i in range(v.ndim)])
            v = wrap(
                ctx.add_layer(
                    op + "_place", lambda net, v=v, d=d, p=pos: net.add_gather(v.itensor, p.itensor, d)
                ).get_output(0),
                ctx,
            )
        hit = _along(hit, d, input.ndim, op)
        mask = hit if mask is None else elementwise.logical_and(mask, hit)
    if mask is None:  # the whole tensor
        from netdef.functional.shape import expand_as

        return expand_as(v, input) if input.ndim else static_reshape(ctx, v, (), op + "_value")
    return elementwise.where(mask, v, input)


def _index_text(items: list) -> str:
    def one(it):
        if isinstance(it, slice):
            parts = ["" if p is None else str(p) for p in (it.start, it.stop)]
            return ":".join(parts) + ("" if it.step in (None, 1) else f":{it.step}")
        return "None" if it is None else "tensor" if isinstance(it, Tensor) else str(it)

    return "[" + ", ".join(one(it) for it in items) + "]"


def _set_mask(input: Tensor, pos: int, mask: Tensor, value, op: str) -> Tensor:
    """``input[..., mask, ...] = value`` (mask over dims pos..): a where, as torch's masked write."""
    ctx = input.ctx
    dims = list(range(pos, pos + mask.ndim))
    for i, d in enumerate(dims):
        a, b = mask.shape[i], input.shape[d]
        if not isinstance(a, SymInt) and not isinstance(b, SymInt) and a != b:
            raise ctx.error(
                op,
                f"the bool mask of shape {tuple(mask.static_shape)} does not match dims {dims} of the input of shape "
                f"{input.static_shape}",
            )
        assert_equal(ctx, a, b, op, f"bool mask dim {i} (size {a}) must match the input's dim {d} ({b})")
    lead, trail = input.shape[:pos], input.shape[pos + mask.ndim :]
    v = _value(op, input, value)
    # the selected entries form a dim of data-dependent size: the value must broadcast over it (size 1 there)
    selected = (*lead, 1, *trail)
    if v.ndim >= len(trail) + 1 and not decide("==", v.shape[v.ndim - len(trail) - 1], 1):
        raise ctx.error(
            op,
            f"assigning a value of shape {tuple(v.static_shape)} to input[mask] needs one value per True entry of "
            "the mask, a count known only at run time; assign a number or a value that broadcasts over the "
            f"selected entries (shape {tuple(trail) or '()'}), or write torch.where(mask, values_of_input_shape, input)",
        )
    v = _fit(op, v, selected, "input[mask]")
    v = _squeeze_unsqueeze(v, [pos], list(range(pos, pos + mask.ndim)), op + "_value")
    m = unsqueeze_to(ctx, mask, pos + mask.ndim, op + "_mask")
    for _ in trail:
        from netdef.functional.shape import unsqueeze

        m = unsqueeze(m, -1)
    return elementwise.where(m, v, input)


def _set_index(input: Tensor, dim: int, index, value, op: str) -> Tensor:
    """``input[:, ..., index, ...] = value`` with one int index tensor / list on ``dim``: an IScatterLayer (ELEMENT)."""
    from netdef.functional.shape import expand, reshape

    ctx = input.ctx
    idx = _index_tensor(op, input, dim, index)
    if idx.ndim != 1:
        idx = reshape(idx, -1) if idx.ndim else static_reshape(ctx, idx, (1,), op + "_index_reshape")
        flat = True
    else:
        flat = False
    shape = input.shape
    region = (*shape[:dim], idx.shape[0], *shape[dim + 1 :])
    v = _value(op, input, value)
    if flat and isinstance(index, Tensor) and v.ndim > len(shape) - dim - 1:
        # the value is laid out along the index's own dims: flatten them as the index was
        want = (*shape[:dim], *index.shape, *shape[dim + 1 :])
        v = _fit(op, v, want, "input[index]")
        v = expand(v, *want)
        v = reshape(v, *region)
    elif flat and not isinstance(index, Tensor) and np.ndim(index) > 1 and v.ndim > len(shape) - dim - 1:
        want = (*shape[:dim], *np.shape(index), *shape[dim + 1 :])
        v = reshape(expand(_fit(op, v, want, "input[index]"), *want), *region)
    else:
        v = expand(_fit(op, v, region, "input[index]"), *region)
    idx = expand(_along(idx, dim, len(shape), op), *region)

    def make(net):
        layer = net.add_scatter(input.itensor, idx.itensor, v.itensor, trt.ScatterMode.ELEMENT)
        layer.axis = dim
        return layer

    return wrap(ctx.add_layer(op + "_scatter", make).get_output(0), ctx)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IGatherLayer",
    "IScatterLayer",
    "ISelectLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "IShapeLayer",
    "IFillLayer",
    "ICastLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    torch="torch.Tensor.__setitem__",
    limits="index tensors or one bool mask with `:` on the other dims; a tensor of values for x[mask] = v",
)
def setitem(input: Tensor, index, value) -> Tensor:
    """``input`` with ``input[index] = value`` written, as a new tensor (``x[index] = value`` rebinds ``x`` to it).

    Ints, slices (with steps), None and Ellipsis select a region (an ISelectLayer over it; the value is placed
    with gathers); a bool mask writes where it is True (``x[mask] = 0``); int index tensors or lists with
    ``:`` on the other dims scatter (IScatterLayer, ELEMENT for one, ND for several broadcast together; with
    repeated indices which write wins is unspecified, as in torch). ``value`` is a number or a tensor broadcasting to ``input[index]``, cast to ``input``'s dtype.
    """
    op = "setitem"
    input = require_tensor(op, input)
    ctx = input.ctx
    items = expand_index(input, index, op)
    advanced = [(i, it) for i, it in enumerate(items) if isinstance(it, (Tensor, list, np.ndarray))]
    if not advanced:
        return _set_basic(input, items, value, op)
    at, it = advanced[0]
    others = [x for i, x in enumerate(items) if all(i != a for a, _ in advanced)]
    if any(x != slice(None) for x in others if x is not None) or None in others:
        raise ctx.error(
            op,
            "an index tensor or mask can only be combined with ':' (and ...) in an assignment, got "
            f"input{_index_text(items)}; index in two steps: y = x[...]; y[idx] = v; then write y back",
        )
    if len(advanced) > 1:
        if any(_is_mask(x) for _, x in advanced):
            raise ctx.error(op, "a bool mask together with other index tensors is not supported in an assignment")
        return _set_grid(input, [(i, x) for i, x in advanced], value, op)  # no bool masks: item i is dim i
    dim = sum(_dims_of(x) for x in items[:at])
    if _is_mask(it):
        return _set_mask(input, dim, it, value, op)
    return _set_index(input, dim, it, value, op)


def _set_grid(input: Tensor, advanced: list[tuple[int, object]], value, op: str) -> Tensor:
    """``input[..., i, ..., j, ...] = value`` for several index tensors: one IScatterLayer in ND mode over
    ``input`` with the indexed dims moved first (the value laid out as torch's ``input[..., i, ..., j, ...]``)."""
    from netdef.functional.shape import expand, permute

    ctx = input.ctx
    indices, grid = index_grid(op, input, advanced)
    dims = [d for d, _ in advanced]
    rest = [d for d in range(input.ndim) if d not in dims]
    shape = input.shape
    rest_shape = [shape[d] for d in rest]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims))) and dims[0] != 0
    at = dims[0] if adjacent else 0
    region = (*rest_shape[:at], *grid, *rest_shape[at:])  # the shape of torch's input[index]
    v = _fit(op, _value(op, input, value), region, "input[index tensors]")
    g = len(grid)
    if at:  # the grid dims first, as ScatterND's updates
        v = permute(v, *range(at, at + g), *range(at), *range(at + g, v.ndim))
    updates = expand(v, *grid, *rest_shape)
    data = permute(input, *dims, *rest)

    def make(net):
        return net.add_scatter(data.itensor, indices.itensor, updates.itensor, trt.ScatterMode.ND)

    out = wrap(ctx.add_layer(op + "_scatter_nd", make).get_output(0), ctx)
    order = dims + rest
    return permute(out, *[order.index(d) for d in range(input.ndim)])


def write(target: Tensor, new: Tensor, op: str) -> Tensor:
    """Write ``new`` into ``target`` in place: rebind it, and write it into the base of a view."""
    if tuple(new.static_shape) != tuple(target.static_shape) and -1 not in target.static_shape + new.static_shape:
        raise target.ctx.error(
            op,
            f"the in-place result has shape {new.static_shape}, the tensor written into has {target.static_shape}; "
            "torch refuses this too: write the out-of-place form y = ...",
        )
    if target.view_of is not None:
        base, _, how, _ = target.view_of
        if how is None:
            raise target.ctx.error(
                op,
                f"`{target.name}` is a view of `{base.name}` made by expand / expand_as, whose entries share "
                "memory in torch; writing into it in place is not supported: write into a copy (y = x.expand(...) + 0)",
            )
        if isinstance(how, str) and how == MAYBE_COPY:
            raise target.ctx.error(
                op,
                f"`{target.name}` is a reshape of `{base.name}`, a view whose entries are not in order: torch's reshape "
                "is then a copy or a view depending on strides, so whether the write reaches the base is not decided "
                "here; write into the base with an index, or into an explicit copy (y = x.reshape(...) + 0)",
            )
        if callable(how):  # a permutation's inverse
            back = how(new)
        elif isinstance(how, str):  # "reshape"
            from netdef.functional.shape import reshape

            back = reshape(new, *base.shape)
        else:
            back = setitem(base, how, new)
        write(base, back, op)
    return target.rebind(new)


@tensor_method("__setitem__")
def _setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: :func:`setitem`, then ``self`` stands for the result."""
    write(self, setitem(self, index, value), "setitem")


# -- in-place ops ----------------------------------------------------------------------------------------


def in_place_method(name: str, fn, data: bool = True):
    """The method ``<name>``: ``fn(self, ...)`` written into ``self`` (cast back to its dtype, as torch)."""

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        self = require_tensor(name, self)
        new = fn(self, *args, **kwargs)
        if not data:
            if self.view_of is not None:
                raise self.ctx.error(
                    name, f"`{name}` changes the shape of a view in place; use the out-of-place y = x.{name[:-1]}(...)"
                )
            return self.rebind(new, data=False)
        if new.dtype != self.dtype:
            if is_float(new) and not is_float(self):
                raise self.ctx.error(
                    name,
                    f"the result is {new.dtype.name} and cannot be written into the {self.dtype.name} tensor "
                    f"`{self.name}` (torch refuses this too); use the out-of-place form",
                )
            new = cast(new, self.dtype)
        return write(self, new, name)

    method.__name__ = method.__qualname__ = name
    what = _DOCS.get(name, f"``self.{name.strip('_').removeprefix('i')}(...)``" if name.startswith("__") else None)
    method.__doc__ = f"In place: ``self`` becomes {what or f'``self.{name[:-1]}(...)``'} (torch.Tensor.{name})."
    return method


def _in_place(name: str, fn, data: bool = True):
    """Install ``Tensor.<name>`` (:func:`in_place_method`). Other ``op_`` methods of an ``op`` method are made
    on first use (``unsupported.py``'s ``Tensor.__getattr__``)."""
    return tensor_method(name)(in_place_method(name, fn, data))


#: what the in-place methods that are not ``op`` + ``_`` compute
_DOCS = {
    "fill_": "``value`` everywhere",
    "zero_": "zeros",
    "copy_": "``src`` (broadcast, cast to its dtype)",
    "neg_": "``-self``",
    "__itruediv__": "``self / other``",
}


def _fill(input: Tensor, value) -> Tensor:
    return _set_basic(input, [slice(None)] * input.ndim, value, "fill_")


def _copy(input: Tensor, src) -> Tensor:
    return _set_basic(input, [slice(None)] * input.ndim, src, "copy_")


_FUNCTIONS = {
    "add_": elementwise.add,
    "sub_": elementwise.sub,
    "mul_": elementwise.mul,
    "div_": elementwise.div,
    "pow_": elementwise.pow,
    "clamp_": elementwise.clamp,
    "clip_": elementwise.clamp,
    "masked_fill_": elementwise.masked_fill,
    "neg_": lambda x: elementwise.mul(x, -1),
    "fill_": _fill,
    "zero_": lambda x: _fill(x, 0),
    "copy_": _copy,
    "__iadd__": elementwise.add,
    "__isub__": elementwise.sub,
    "__imul__": elementwise.mul,
    "__itruediv__": elementwise.div,
    "__ipow__": elementwise.pow,
}
for _name in ("relu", "sigmoid", "tanh", "silu", "gelu", "hardtanh", "leaky_relu", "elu", "relu6", "hardswish"):
    if hasattr(activation, _name):
        _FUNCTIONS[_name + "_"] = getattr(activation, _name)
for _name in ("exp", "log", "sqrt", "rsqrt", "abs", "floor", "ceil", "round", "sin", "cos", "reciprocal", "sign"):
    if hasattr(unary, _name):
        _FUNCTIONS[_name + "_"] = getattr(unary, _name)
for _name, _fn in _FUNCTIONS.items():
    _in_place(_name, _fn)


def _shape_ops():
    from netdef.functional import shape

    for name, fn in (
        ("unsqueeze_", shape.unsqueeze),
        ("squeeze_", shape.squeeze),
        ("t_", shape.t),
        ("transpose_", shape.transpose),
    ):
        _in_place(name, fn, data=False)


_shape_ops()
