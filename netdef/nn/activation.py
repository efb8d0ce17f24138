"""Activation modules."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module, Parameter

__all__ = [
    "ELU",
    "GELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]


class ReLU(Module):
    """max(x, 0) (torch.nn.ReLU)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x >= 0, else negative_slope * x (torch.nn.LeakyReLU)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)) (torch.nn.Sigmoid)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent (torch.nn.Tanh)."""

    def forward(self, x):
        return F.tanh(x)


class SiLU(Module):
    """x * sigmoid(x), also called swish (torch.nn.SiLU)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.silu(x)


class GELU(Module):
    """Gaussian error linear unit, exact or with approximate='tanh' (torch.nn.GELU)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim`` (torch.nn.Softmax)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None:
            raise ValueError("Softmax needs an explicit dim (torch's implicit choice is deprecated)")
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ReLU6(Module):
    """min(max(x, 0), 6) (torch.nn.ReLU6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.relu6(x)


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (torch.nn.Hardtanh)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"min_val={min_val} must not be greater than max_val={max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class PReLU(Module):
    """torch.nn.PReLU: ``weight`` holds 1 slope or one per channel (dim 1 of the input)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(num_parameters)

    def forward(self, x):
        return F.prelu(x, self.weight.data)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x for x > 0, else alpha * (exp(x) - 1) (torch.nn.ELU)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """Scaled ELU with torch's fixed alpha and scale (torch.nn.SELU)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.selu(x)


class Hardsigmoid(Module):
    """clamp(x / 6 + 1/2, 0, 1) (torch.nn.Hardsigmoid)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(Module):
    """x * hardsigmoid(x) (torch.nn.Hardswish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.hardswish(x)


class Mish(Module):
    """x * tanh(softplus(x)) (torch.nn.Mish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.mish(x)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (torch.nn.Softplus)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim`` (torch.nn.LogSoftmax)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None:
            raise ValueError("LogSoftmax needs an explicit dim (torch's implicit choice is deprecated)")
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
