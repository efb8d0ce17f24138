"""IActivationLayer and IParametricReLULayer semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._registry import register


def _act(kind: str, x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    if kind == "RELU":
        return torch.relu(x)
    if kind == "SIGMOID":
        return torch.sigmoid(x)
    if kind == "TANH":
        return torch.tanh(x)
    if kind == "LEAKY_RELU":
        return torch.where(x >= 0, x, x * a)
    if kind == "ELU":
        return torch.where(x >= 0, x, a * torch.expm1(x))
    if kind == "SELU":
        return b * torch.where(x >= 0, x, a * torch.expm1(x))
    if kind == "SOFTSIGN":
        return x / (1 + x.abs())
    if kind == "SOFTPLUS":
        return a * F.softplus(x * b, beta=1.0, threshold=float("inf"))
    if kind == "CLIP":
        return x.clamp(a, b)
    if kind == "HARD_SIGMOID":
        return (a * x + b).clamp(0, 1)
    if kind == "SCALED_TANH":
        return a * torch.tanh(b * x)
    if kind == "THRESHOLDED_RELU":
        return torch.where(x > a, x, torch.zeros_like(x))
    if kind == "GELU_ERF":
        return F.gelu(x)
    if kind == "GELU_TANH":
        return F.gelu(x, approximate="tanh")
    raise InterpreterError(f"activation type {kind} is not supported by the reference interpreter")


@register("ACTIVATION", "IActivationLayer")
def activation(layer, inputs):
    return [_act(layer.type.name, inputs[0], float(layer.alpha), float(layer.beta))]


@register("PARAMETRIC_RELU", "IParametricReLULayer")
def parametric_relu(layer, inputs):
    x, slope = inputs
    return [torch.where(x >= 0, x, x * slope)]
