"""Sorting: sort, argsort (a TopK over the whole dim; ``stable=True`` by counting ranks)."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional import elementwise
from netdef.functional._common import constant, norm_dim, require_tensor, wrap
from netdef.functional.creation import arange, zeros_like
from netdef.functional.dtype import cast
from netdef.functional.reduction import MaxMin, sum, topk
from netdef.functional.registry import register_op
from netdef.functional.shape import expand, permute, unsqueeze
from netdef.symbolic import SymInt
from netdef.tensor import Tensor

#: the largest dim a stable sort counts ranks over (it compares every pair: n * n entries per row)
STABLE_MAX = 2048


def _stable(input: Tensor, axis: int, descending: bool, op: str) -> MaxMin:
    """Stable sort along ``axis``: entry i goes to rank #{j: x_j before x_i, or x_j == x_i and j < i}."""
    ctx = input.ctx
    n = input.shape[axis]
    if isinstance(n, SymInt) or n > STABLE_MAX:
        raise ctx.error(
            op,
            f"stable=True counts ranks over every pair of dim {axis} (size {n}): it needs a static size of at most "
            f"{STABLE_MAX}; sort with stable=False (tied values may then come in another order)",
        )
    last = input.ndim - 1
    order = [d for d in range(input.ndim) if d != axis] + [axis]
    x = permute(input, *order) if axis != last else input
    a, b = unsqueeze(x, -1), unsqueeze(x, -2)  # x_i along dim -2, x_j along dim -1
    before = elementwise.gt(b, a) if descending else elementwise.lt(b, a)
    earlier = constant(ctx, np.tril(np.ones((n, n), dtype=bool), -1), trt.bool, op + "_earlier")  # j < i
    ties = elementwise.logical_and(elementwise.eq(b, a), earlier)
    rank = sum(cast(elementwise.logical_or(before, ties), trt.int32), -1, dtype="int64")  # (..., n)
    positions = expand(arange(n), *x.shape)

    def make(net):
        layer = net.add_scatter(zeros_like(rank).itensor, rank.itensor, positions.itensor, trt.ScatterMode.ELEMENT)
        layer.axis = last
        return layer

    indices = wrap(ctx.add_layer(op + "_place", make).get_output(0), ctx)  # indices[rank_i] = i

    def pick(net):
        layer = net.add_gather_v2(x.itensor, indices.itensor, trt.GatherMode.ELEMENT)
        layer.axis = last
        return layer

    values = wrap(ctx.add_layer(op + "_values", pick).get_output(0), ctx)
    if axis != last:
        back = tuple(order.index(d) for d in range(input.ndim))
        values, indices = permute(values, *back), permute(indices, *back)
    return MaxMin(values, indices)


@register_op(
    "ITopKLayer",
    "IShuffleLayer",
    "IElementWiseLayer",
    "IReduceLayer",
    "IScatterLayer",
    "IGatherLayer",
    "ICastLayer",
    "IConstantLayer",
    "IFillLayer",
    "ISliceLayer",
    "IShapeLayer",
    torch="torch.sort",
    methods="sort",
    limits="ties come in an unspecified order unless stable=True (static dims up to 2048); NaN order differs",
)
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> MaxMin:
    """``(values, indices)`` of ``input`` sorted along ``dim`` (torch.sort): a TopK with k = the dim's size.

    The values are torch's; tied values' indices may come in another order than torch's, as torch
    promises nothing either, unless ``stable=True`` (then exactly torch's: the earlier entry first).
    """
    op = "sort"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim == 0:
        return MaxMin(input, cast(zeros_like(input), trt.int64))
    axis = norm_dim(ctx, op, dim, input.ndim)
    if stable:
        return _stable(input, axis, descending, op)
    return topk(input, input.shape[axis], axis, largest=descending)


@register_op(
    "ITopKLayer",
    "IShuffleLayer",
    "IElementWiseLayer",
    "IReduceLayer",
    "IScatterLayer",
    "IGatherLayer",
    "ICastLayer",
    "IConstantLayer",
    "IFillLayer",
    "ISliceLayer",
    "IShapeLayer",
    torch="torch.argsort",
    methods="argsort",
    limits="ties come in an unspecified order unless stable=True (static dims up to 2048)",
)
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (torch.argsort: ``sort(...).indices``)."""
    return sort(input, dim, descending, stable).indices
