"""Activations: relu, leaky_relu, sigmoid, tanh, silu, gelu, softmax."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import is_float, norm_dim, require_tensor, static_reshape, wrap
from netdef.functional.elementwise import mul
from netdef.tensor import Tensor


def _activation(op: str, input: Tensor, kind: trt.ActivationType, alpha: float | None = None) -> Tensor:
    input = require_tensor(op, input)
    if not is_float(input):
        raise input.ctx.error(op, f"expects a float tensor, got {input.dtype.name} `{input.name}`")

    def make(net):
        layer = net.add_activation(input.itensor, kind)
        if alpha is not None:
            layer.alpha = alpha
        return layer

    return wrap(input.ctx.add_layer(op, make).get_output(0), input.ctx)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return _activation("relu", input, trt.ActivationType.RELU)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return _activation("leaky_relu", input, trt.ActivationType.LEAKY_RELU, float(negative_slope))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return _activation("sigmoid", input, trt.ActivationType.SIGMOID)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _activation("tanh", input, trt.ActivationType.TANH)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (TensorRT has no fused SiLU activation type)."""
    return mul(input, sigmoid(input))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU with the erf form (``approximate='none'``) or the tanh approximation (``'tanh'``)."""
    kinds = {"none": trt.ActivationType.GELU_ERF, "tanh": trt.ActivationType.GELU_TANH}
    if approximate not in kinds:
        raise require_tensor("gelu", input).ctx.error(
            "gelu", f"approximate must be 'none' or 'tanh', got {approximate!r}"
        )
    return _activation("gelu", input, kinds[approximate])


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (``dim`` is required, as torch recommends)."""
    input = require_tensor("softmax", input)
    ctx = input.ctx
    if dtype is not None:
        raise ctx.error("softmax", "the dtype argument is not supported; cast the input with .to(...) first")
    axis = norm_dim(ctx, "softmax", dim, input.ndim)
    if input.ndim == 1:  # TensorRT's softmax needs rank >= 2: normalize a (1, N) view
        row = static_reshape(ctx, input, (1, -1), "softmax_reshape")
        return static_reshape(ctx, softmax(row, 1), (-1,), "softmax_reshape")

    def make(net):
        layer = net.add_softmax(input.itensor)
        layer.axes = 1 << axis
        return layer

    return wrap(ctx.add_layer("softmax", make).get_output(0), ctx)
