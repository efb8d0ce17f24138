"""Activations: relu, relu6, hardtanh, leaky_relu, prelu, elu, selu, celu, sigmoid, hardsigmoid, tanh, silu,
hardswish, mish, softplus, softsign, gelu, softmax, softmin, log_softmax, logsigmoid, the shrinks, threshold, rrelu,
glu."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import constant, is_float, norm_dim, require_tensor, scalar_like, static_reshape, wrap
from netdef.functional.dtype import cast
from netdef.functional.elementwise import add, ge, gt, le, logical_and, lt, maximum, minimum, mul, sub, where
from netdef.functional.registry import register_op
from netdef.functional.shape import chunk
from netdef.functional.unary import abs as absolute
from netdef.functional.unary import exp, log1p
from netdef.tensor import Tensor


def _activation(
    op: str, input: Tensor, kind: trt.ActivationType, alpha: float | None = None, beta: float | None = None
) -> Tensor:
    input = require_tensor(op, input)
    if not is_float(input):
        raise input.ctx.error(op, f"expects a float tensor, got {input.dtype.name} `{input.name}`")

    def make(net):
        layer = net.add_activation(input.itensor, kind)
        if alpha is not None:
            layer.alpha = alpha
        if beta is not None:
            layer.beta = beta
        return layer

    return wrap(input.ctx.add_layer(op, make).get_output(0), input.ctx)


@register_op("IActivationLayer", torch="torch.nn.functional.relu", methods="relu")
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return _activation("relu", input, trt.ActivationType.RELU)


@register_op("IActivationLayer", torch="torch.nn.functional.leaky_relu")
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return _activation("leaky_relu", input, trt.ActivationType.LEAKY_RELU, float(negative_slope))


@register_op("IActivationLayer", torch="torch.sigmoid", methods="sigmoid")
def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return _activation("sigmoid", input, trt.ActivationType.SIGMOID)


@register_op("IActivationLayer", torch="torch.tanh", methods="tanh")
def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _activation("tanh", input, trt.ActivationType.TANH)


@register_op("IActivationLayer", "IElementWiseLayer", torch="torch.nn.functional.silu")
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (TensorRT has no fused SiLU activation type)."""
    return mul(input, sigmoid(input))


@register_op("IActivationLayer", torch="torch.nn.functional.gelu")
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU with the erf form (``approximate='none'``) or the tanh approximation (``'tanh'``)."""
    kinds = {"none": trt.ActivationType.GELU_ERF, "tanh": trt.ActivationType.GELU_TANH}
    if approximate not in kinds:
        raise require_tensor("gelu", input).ctx.error(
            "gelu", f"approximate must be 'none' or 'tanh', got {approximate!r}"
        )
    return _activation("gelu", input, kinds[approximate])


@register_op(
    "IShuffleLayer",
    "ISoftMaxLayer",
    torch="torch.nn.functional.softmax",
    methods="softmax",
)
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (``dim`` is required, as torch recommends); ``dtype`` casts the input
    first."""
    input = require_tensor("softmax", input)
    if dtype is not None:
        input = cast(input, dtype)
    ctx = input.ctx
    axis = norm_dim(ctx, "softmax", dim, input.ndim)
    if input.ndim == 1:  # TensorRT's softmax needs rank >= 2: normalize a (1, N) view
        row = static_reshape(ctx, input, (1, -1), "softmax_reshape")
        return static_reshape(ctx, softmax(row, 1), (-1,), "softmax_reshape")

    def make(net):
        layer = net.add_softmax(input.itensor)
        layer.axes = 1 << axis
        return layer

    return wrap(ctx.add_layer("softmax", make).get_output(0), ctx)


@register_op("IActivationLayer", torch="torch.nn.functional.hardtanh")
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise require_tensor("hardtanh", input).ctx.error(
            "hardtanh", f"min_val={min_val} must not be greater than max_val={max_val}"
        )
    return _activation("hardtanh", input, trt.ActivationType.CLIP, float(min_val), float(max_val))


@register_op("IActivationLayer", torch="torch.nn.functional.relu6")
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return _activation("relu6", input, trt.ActivationType.CLIP, 0.0, 6.0)


@register_op("IActivationLayer", torch="torch.nn.functional.elu")
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _activation("elu", input, trt.ActivationType.ELU, float(alpha))


#: torch.nn.SELU's constants
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@register_op("IActivationLayer", torch="torch.nn.functional.selu")
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * (x if x > 0 else alpha * (exp(x) - 1)) with torch's fixed alpha and scale."""
    return _activation("selu", input, trt.ActivationType.SELU, SELU_ALPHA, SELU_SCALE)


@register_op("IActivationLayer", torch="torch.nn.functional.hardsigmoid")
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clamp(x / 6 + 1 / 2, 0, 1)."""
    return _activation("hardsigmoid", input, trt.ActivationType.HARD_SIGMOID, 1.0 / 6.0, 0.5)


@register_op("IActivationLayer", "IElementWiseLayer", torch="torch.nn.functional.hardswish")
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x)."""
    return mul(input, hardsigmoid(input))


@register_op("IActivationLayer", "IElementWiseLayer", torch="torch.nn.functional.mish")
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (torch's mish applies no softplus threshold)."""
    return mul(input, tanh(_activation("mish_softplus", input, trt.ActivationType.SOFTPLUS, 1.0, 1.0)))


@register_op(
    "IActivationLayer", "ICastLayer", "IConstantLayer", "IElementWiseLayer", torch="torch.nn.functional.softplus"
)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and exactly x where beta * x > threshold (as torch)."""
    op = "softplus"
    input = require_tensor(op, input)
    ctx = input.ctx
    if beta == 0:
        raise ctx.error(op, "beta must not be 0")
    limit = float(threshold) / float(beta)
    keep = (lambda a, b: maximum(a, b)) if beta < 0 else (lambda a, b: minimum(a, b))
    # softplus of min(x, threshold / beta) never overflows; a 0/1 mask then picks x past the threshold
    bounded = keep(input, limit)
    soft = _activation(op, bounded, trt.ActivationType.SOFTPLUS, 1.0 / float(beta), float(beta))
    scaled = mul(input, float(beta))
    over = ctx.add_layer(
        op + "_over",
        lambda net: net.add_elementwise(
            scaled.itensor, scalar_like(ctx, float(threshold), scaled, op).itensor, trt.ElementWiseOperation.GREATER
        ),
    )
    mask = cast(wrap(over.get_output(0), ctx), input.dtype)
    return add(mul(soft, sub(1.0, mask)), mul(input, mask))


@register_op("IConstantLayer", "IParametricReLULayer", torch="torch.nn.functional.prelu", methods="prelu")
def prelu(input: Tensor, weight: np.ndarray) -> Tensor:
    """x if x >= 0 else weight * x, ``weight`` holding 1 slope or one per channel (dim 1)."""
    op = "prelu"
    input = require_tensor(op, input)
    ctx = input.ctx
    if not is_float(input):
        raise ctx.error(op, f"expects a float tensor, got {input.dtype.name} `{input.name}`")
    weight = np.asarray(weight).reshape(-1)
    view = (1,) * input.ndim
    if weight.size != 1:
        channels = input.static_shape[1] if input.ndim >= 2 else 1
        if channels >= 0 and weight.size != channels:
            raise ctx.error(
                op,
                f"weight has {weight.size} slopes but input {input.static_shape} has {channels} channels "
                "(dim 1); use num_parameters=1 or the channel count",
            )
        view = (1, weight.size) + (1,) * (input.ndim - 2)
    slope = constant(ctx, weight.reshape(view), input.dtype, op + "_weight")
    layer = ctx.add_layer(op, lambda net: net.add_parametric_relu(input.itensor, slope.itensor))
    return wrap(layer.get_output(0), ctx)


@register_op(
    "IElementWiseLayer",
    "IReduceLayer",
    "IUnaryLayer",
    torch="torch.nn.functional.log_softmax",
    methods="log_softmax",
)
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - max(x) - log(sum(exp(x - max(x)))) along ``dim`` (no log of an underflowed softmax); ``dtype`` casts
    the input first."""
    op = "log_softmax"
    input = require_tensor(op, input)
    if dtype is not None:
        input = cast(input, dtype)
    ctx = input.ctx
    if not is_float(input):
        raise ctx.error(op, f"expects a float tensor, got {input.dtype.name} `{input.name}`")
    axis = 1 << norm_dim(ctx, op, dim, max(input.ndim, 1))

    def reduce(x: Tensor, how: trt.ReduceOperation, name: str) -> Tensor:
        layer = ctx.add_layer(name, lambda net: net.add_reduce(x.itensor, how, axis, True))
        return wrap(layer.get_output(0), ctx)

    def unary(x: Tensor, how: trt.UnaryOperation, name: str) -> Tensor:
        return wrap(ctx.add_layer(name, lambda net: net.add_unary(x.itensor, how)).get_output(0), ctx)

    shifted = sub(input, reduce(input, trt.ReduceOperation.MAX, op + "_max"))
    total = reduce(unary(shifted, trt.UnaryOperation.EXP, op + "_exp"), trt.ReduceOperation.SUM, op + "_sum")
    return sub(shifted, unary(total, trt.UnaryOperation.LOG, op + "_log"))


# -- the rarer activations: compositions of the layers above -------------------------------------------


@register_op(
    "IActivationLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.nn.functional.celu"
)
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), as ``alpha * elu(x / alpha)``."""
    input = require_tensor("celu", input)
    if alpha == 0:
        raise input.ctx.error("celu", "alpha must not be 0 (CELU divides by it)")
    if alpha == 1:
        return elu(input)
    return mul(elu(mul(input, 1.0 / float(alpha))), float(alpha))


@register_op("IActivationLayer", torch="torch.nn.functional.softsign")
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _activation("softsign", input, trt.ActivationType.SOFTSIGN)


_SELECTING = ("IConstantLayer", "IElementWiseLayer", "ISelectLayer", "IShuffleLayer", "IUnaryLayer")


@register_op(*_SELECTING, torch="torch.nn.functional.hardshrink", methods="hardshrink")
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 where -lambd <= x <= lambd, else x (NaN stays NaN, as torch)."""
    input = _float_input("hardshrink", input)
    inside = logical_and(ge(input, -float(lambd)), le(input, float(lambd)))
    return where(inside, 0.0, input)


@register_op(*_SELECTING, torch="torch.nn.functional.softshrink")
def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0 (NaN stays NaN, as torch)."""
    input = _float_input("softshrink", input)
    if lambd < 0:
        raise input.ctx.error("softshrink", f"lambd must be >= 0, got {lambd}")
    lambd = float(lambd)
    return where(gt(input, lambd), sub(input, lambd), where(lt(input, -lambd), add(input, lambd), mul(input, 0.0)))


@register_op("IActivationLayer", "IElementWiseLayer", torch="torch.nn.functional.tanhshrink")
def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return sub(input, tanh(input))


@register_op(*_SELECTING, torch="torch.nn.functional.threshold")
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where x <= threshold, else x (NaN stays NaN)."""
    input = require_tensor("threshold", input)
    return where(le(input, threshold), value, input)


@register_op(*_SELECTING, torch="torch.nn.functional.logsigmoid")
def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), as ``min(x, 0) - log1p(exp(-|x|))`` (no overflow, no log of 0)."""
    input = _float_input("logsigmoid", input)
    return sub(minimum(input, 0.0), log1p(exp(mul(absolute(input), -1.0))))


@register_op("IActivationLayer", torch="torch.nn.functional.rrelu")
def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Eval-mode RReLU: leaky_relu with the slope (lower + upper) / 2 (training's random slopes are refused)."""
    input = require_tensor("rrelu", input)
    if training:
        raise input.ctx.error(
            "rrelu", "training=True draws random slopes; an engine computes eval mode (training=False)"
        )
    return _activation("rrelu", input, trt.ActivationType.LEAKY_RELU, (float(lower) + float(upper)) / 2)


@register_op(
    "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", "ISoftMaxLayer", torch="torch.nn.functional.softmin"
)
def softmin(input: Tensor, dim: int, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``; ``dtype`` casts the input first."""
    input = require_tensor("softmin", input)
    if dtype is not None:
        input = cast(input, dtype)
    return softmax(mul(input, -1), dim)


@register_op(
    "IActivationLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.nn.functional.glu",
)
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), with a and b the two halves of ``input`` along ``dim`` (its size must be even)."""
    input = require_tensor("glu", input)
    ctx = input.ctx
    if input.ndim == 0:
        raise ctx.error("glu", "expects a tensor of rank >= 1, got a 0-d tensor")
    axis = norm_dim(ctx, "glu", dim, input.ndim)
    size = input.static_shape[axis]
    if size >= 0 and size % 2:
        raise ctx.error("glu", f"dim {dim} of input {input.static_shape} has odd size {size}; it must halve evenly")
    a, b = chunk(input, 2, axis)
    return mul(a, sigmoid(b))


def _float_input(op: str, input) -> Tensor:
    input = require_tensor(op, input)
    if not is_float(input):
        raise input.ctx.error(op, f"expects a float tensor, got {input.dtype.name} `{input.name}`")
    return input
