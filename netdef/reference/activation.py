"""IActivationLayer and IParametricReLULayer semantics."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._registry import Handler, InPlace, register, register_in_place, register_specialized

#: trt.ActivationType name -> f(x, alpha, beta), TensorRT's definition of each activation
ACTIVATIONS: dict[str, Callable[[torch.Tensor, float, float], torch.Tensor]] = {
    "RELU": lambda x, a, b: torch.relu(x),
    "SIGMOID": lambda x, a, b: torch.sigmoid(x),
    "TANH": lambda x, a, b: torch.tanh(x),
    "LEAKY_RELU": lambda x, a, b: torch.where(x >= 0, x, x * a),
    "ELU": lambda x, a, b: torch.where(x >= 0, x, a * torch.expm1(x)),
    "SELU": lambda x, a, b: b * torch.where(x >= 0, x, a * torch.expm1(x)),
    "SOFTSIGN": lambda x, a, b: x / (1 + x.abs()),
    "SOFTPLUS": lambda x, a, b: a * F.softplus(x * b, beta=1.0, threshold=float("inf")),
    "CLIP": lambda x, a, b: x.clamp(a, b),
    "HARD_SIGMOID": lambda x, a, b: (a * x + b).clamp(0, 1),
    "SCALED_TANH": lambda x, a, b: a * torch.tanh(b * x),
    "THRESHOLDED_RELU": lambda x, a, b: torch.where(x > a, x, torch.zeros_like(x)),
    "GELU_ERF": lambda x, a, b: F.gelu(x),
    "GELU_TANH": lambda x, a, b: F.gelu(x, approximate="tanh"),
}


@register("ACTIVATION")
def activation(layer, inputs):
    kind = layer.type.name
    if kind not in ACTIVATIONS:
        raise InterpreterError(
            f"layer `{layer.name}`: activation type {kind} is not supported by the reference interpreter"
        )
    return [ACTIVATIONS[kind](inputs[0], float(layer.alpha), float(layer.beta))]


#: activations that take neither alpha nor beta, as torch functions
_PLAIN = {"RELU": torch.relu, "SIGMOID": torch.sigmoid, "TANH": torch.tanh}


@register_specialized("ACTIVATION")
def activation_specialized(layer) -> Handler | None:
    kind = layer.type.name
    if kind in _PLAIN:
        fn = _PLAIN[kind]
        return lambda layer, inputs: [fn(inputs[0])]
    if kind not in ACTIVATIONS:
        return None
    fn, alpha, beta = ACTIVATIONS[kind], float(layer.alpha), float(layer.beta)
    return lambda layer, inputs: [fn(inputs[0], alpha, beta)]


#: activations torch computes in place with the same kernels as ACTIVATIONS' (equal results bit for bit)
_IN_PLACE = {"RELU": torch.relu_, "SIGMOID": torch.sigmoid_, "TANH": torch.tanh_}


@register_in_place("ACTIVATION")
def activation_in_place(layer) -> InPlace | None:
    fn = _IN_PLACE.get(layer.type.name)
    return None if fn is None else lambda inputs, k: [fn(inputs[0])]


@register("PARAMETRIC_RELU")
def parametric_relu(layer, inputs):
    x, slope = inputs
    return [torch.where(x >= 0, x, x * slope)]
