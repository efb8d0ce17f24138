"""Folding a per-channel affine (batch norm's ``x * scale + shift``) into the conv, linear or scale layer
that produced its input, at emission.

An op that can absorb a following per-output-channel affine registers its output as the context's *fold
candidate*: the layer, its weights as given (before any cast) and the arrays TensorRT holds. When the very
next thing emitted is a batch norm of that same Tensor proxy (no layer added in between, so nothing else
reads the output yet), the batch norm rewrites the candidate's weights in place instead of adding a layer:

    kernel' = kernel * scale (per output channel),  bias' = bias * scale + shift

computed in float64 from the original weights and rounded once to the layer's dtype. The candidate's
refit names stay (``conv1/conv.kernel``, ``conv1/conv.bias``) and hold the folded values: refit defines
the network again from the new weights, so the folded kernel is recomputed from the named conv and batch
norm weights. Folding never crosses a precision boundary (an override casts, which adds a layer) or a
Q/DQ'd kernel (quantized ops register no candidate); ``netdef.define(..., fold=False)`` turns it off.

The proxy that held the unfolded output is stale after a fold: if user code reads it again (``y = conv(x);
return bn(y) + y``), the unfolded op is emitted again on first use, so results never change.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace

import numpy as np

from netdef._trt import dtype_to_numpy, trt
from netdef.context import trt_weights
from netdef.tensor import Tensor


@dataclass
class FoldCandidate:
    """An op output that a following per-channel affine may fold into."""

    #: the proxy the op returned; only a batch norm of this very object folds
    proxy: Tensor
    #: network.num_layers right after the op: a fold needs nothing added since
    num_layers: int
    #: the layer whose weights change (its name prefixes the refit names)
    layer: object
    #: weights as given (any float dtype) with the output channels on ``axis``; bias None when absent
    kernel: np.ndarray
    bias: np.ndarray | None
    axis: int
    #: the arrays TensorRT holds (written in place: their refit names cannot move to new arrays)
    kernel_buffer: np.ndarray
    bias_buffer: np.ndarray | None
    #: sets a bias on the layer when it had none (None: the op cannot take one, so it does not fold then)
    set_bias: Callable[[trt.Weights], None] | None
    #: emit(kernel, bias) emits the op again, unfolded, with these weights (for a stale proxy read later)
    emit: Callable[[np.ndarray, np.ndarray | None], Tensor]


def private_weights(ctx, array: np.ndarray, dtype: trt.DataType, role: str | None) -> tuple[trt.Weights, np.ndarray]:
    """``ctx.weights`` over an array that no one else holds (a fold may overwrite it)."""
    w = ctx.weights(unshared(array, dtype), dtype, role)  # casts it, refusing values the dtype cannot hold
    return w, ctx.keepalive[-1]  # the array TensorRT reads


def unshared(array: np.ndarray, dtype: trt.DataType) -> np.ndarray:
    """``array``, or a copy of it when its cast to ``dtype`` would not copy (same dtype, C order): a fold writes
    the buffer TensorRT holds in place, which must not be the caller's (a bound weight, a memory-mapped file).
    Where the cast makes a new array anyway, that one is private already: no second copy."""
    array = np.asarray(array)
    if array.dtype == dtype_to_numpy(dtype):
        return np.array(array, order="C", copy=True)
    return array


def folding(ctx) -> bool:
    """Whether the op being emitted should offer itself as a fold candidate (``define(fold=...)``)."""
    return ctx.fold_affine


def offer(ctx, candidate: FoldCandidate) -> None:
    """Make ``candidate`` the op that a batch norm emitted right after it may fold into."""
    ctx.fold_candidate = candidate


def reemitter(ctx, emit: Callable[[np.ndarray, np.ndarray | None], Tensor]):
    """``emit`` wrapped to run as the op did: in its module's scope and compute dtype, without folding."""
    module, dtype = ctx.module, ctx.compute_dtype

    def again(kernel: np.ndarray, bias: np.ndarray | None) -> Tensor:
        saved, ctx.fold_affine = ctx.fold_affine, False
        try:
            with ctx.scope(module) if module is not None else nullcontext(), ctx.compute(dtype):
                return emit(kernel, bias)
        finally:
            ctx.fold_affine = saved
            ctx.fold_candidate = None

    return again


def try_fold(ctx, input: Tensor, scale: np.ndarray, shift: np.ndarray) -> Tensor | None:
    """Fold ``input * scale + shift`` (per channel, float64) into the op that produced ``input``.

    Returns the folded output (the same ITensor, a new proxy), or None when there is nothing to fold into.
    """
    c, ctx.fold_candidate = ctx.fold_candidate, None
    if c is None or c.proxy is not input or ctx.network.num_layers != c.num_layers:
        return None
    itensor = Tensor.itensor.__get__(input, Tensor)
    if itensor.is_network_output or itensor.is_network_input or (c.bias is None and c.set_bias is None):
        return None
    view = [1] * np.ndim(c.kernel)
    view[c.axis] = -1
    kernel = np.asarray(c.kernel, np.float64) * scale.reshape(view)
    bias = shift if c.bias is None else np.asarray(c.bias, np.float64) * scale + shift
    # the folded values pass the range check every weight passes (fp16 cannot hold 1e5), before any is written
    kernel_cast = _fitting(ctx, c, kernel.reshape(c.kernel_buffer.shape), c.kernel_buffer.dtype, "kernel")
    bias_dtype = dtype_to_numpy(itensor.dtype) if c.bias_buffer is None else c.bias_buffer.dtype
    bias_cast = _fitting(ctx, c, bias, bias_dtype, "bias")
    np.copyto(c.kernel_buffer, kernel_cast)
    bias_buffer = c.bias_buffer
    if bias_buffer is not None:
        np.copyto(bias_buffer, bias_cast.reshape(bias_buffer.shape))
    else:  # a new bias, under the name the layer's own bias would have had
        bias_buffer = np.ascontiguousarray(bias_cast)
        w = trt_weights(bias_buffer)
        c.set_bias(w)
        ctx.keepalive.append(bias_buffer)
        name = f"{c.layer.name}.bias"
        if ctx.network.set_weights_name(w, name):
            ctx.named_weights[name] = bias_buffer
    _mark_folded(ctx, itensor.name)
    ctx.unfold[id(input)] = (input, lambda k=c.kernel, b=c.bias: c.emit(k, b))  # holds input: its id stays unique
    input.__class__ = _FoldedAway
    out = Tensor(itensor, ctx)
    # a further affine (a scale after the folded batch norm) folds into the same layer
    offer(ctx, replace(c, proxy=out, kernel=kernel, bias=bias, bias_buffer=bias_buffer, set_bias=None))
    return out


def _fitting(ctx, c: FoldCandidate, values: np.ndarray, dtype: np.dtype, role: str) -> np.ndarray:
    """Folded ``values`` as ``dtype``; the error names the layer, the affine folded into it and the fixes."""
    module = c.layer.name.rpartition("/")[0]
    paths = [p for p in (module, ctx.path) if p]
    wider = "overrides={" + ", ".join(f"'{p}': 'fp32'" for p in paths) + "}" if paths else "precision='fp32'"
    norm = f"the batch norm `{ctx.path}`" if ctx.path else "a batch norm"
    what = f"the {role} of `{c.layer.name}` with {norm} folded into it"
    fix = (
        f"keep them in a wider precision, e.g. netdef.define(..., {wider}), or, where the values they compute fit, "
        "keep the batch norm a layer of its own with netdef.define(..., fold=False)"
    )
    return ctx.fitting(values, dtype, what, fix)


def _mark_folded(ctx, name: str) -> None:
    """Module calls that returned the unfolded tensor: parity compares their output where it was folded to."""
    into = ctx.path
    for call in ctx.module_calls:
        if call.folded_into is None and any(t.name == name for t in call.outputs):
            call.folded_into = into


class _FoldedAway(Tensor):
    """A proxy whose value was folded into the next op: reading it emits the unfolded op again."""

    __slots__ = ()

    @property
    def itensor(self) -> trt.ITensor:
        ctx = Tensor.ctx.__get__(self, Tensor)
        fresh = ctx.unfold.pop(id(self))[1]()
        self.__class__ = Tensor
        self._itensor = Tensor.itensor.__get__(fresh, Tensor)
        return self._itensor
