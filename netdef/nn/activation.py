"""Activation modules."""

from __future__ import annotations

from netdef import functional as F
from netdef.errors import ArgumentError
from netdef.nn.module import Module, Parameter

__all__ = [
    "CELU",
    "ELU",
    "GLU",
    "Hardshrink",
    "LogSigmoid",
    "RReLU",
    "Softmax2d",
    "Softmin",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
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
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x, inplace=self.inplace)


class LeakyReLU(Module):
    """x for x >= 0, else negative_slope * x (torch.nn.LeakyReLU)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, inplace=self.inplace)

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
        self.inplace = inplace

    def forward(self, x):
        return F.silu(x, inplace=self.inplace)


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
            raise ArgumentError("Softmax needs an explicit dim (torch's implicit choice is deprecated); pass dim=...")
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ReLU6(Module):
    """min(max(x, 0), 6) (torch.nn.ReLU6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu6(x, inplace=self.inplace)


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (torch.nn.Hardtanh)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        if min_val > max_val:
            raise ArgumentError(f"Hardtanh: min_val={min_val} must not be greater than max_val={max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, inplace=self.inplace)

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
        self.inplace = inplace
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """Scaled ELU with torch's fixed alpha and scale (torch.nn.SELU)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.selu(x, inplace=self.inplace)


class Hardsigmoid(Module):
    """clamp(x / 6 + 1/2, 0, 1) (torch.nn.Hardsigmoid)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardsigmoid(x, inplace=self.inplace)


class Hardswish(Module):
    """x * hardsigmoid(x) (torch.nn.Hardswish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardswish(x, inplace=self.inplace)


class Mish(Module):
    """x * tanh(softplus(x)) (torch.nn.Mish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.mish(x, inplace=self.inplace)


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
            raise ArgumentError(
                "LogSoftmax needs an explicit dim (torch's implicit choice is deprecated); pass dim=..."
            )
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class CELU(Module):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (torch.nn.CELU)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self.alpha = alpha

    def forward(self, x):
        return F.celu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softsign(Module):
    """x / (1 + |x|) (torch.nn.Softsign)."""

    def forward(self, x):
        return F.softsign(x)


class Hardshrink(Module):
    """0 where |x| <= lambd, else x (torch.nn.Hardshrink)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """x moved lambd toward 0, and 0 where |x| <= lambd (torch.nn.Softshrink)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Tanhshrink(Module):
    """x - tanh(x) (torch.nn.Tanhshrink)."""

    def forward(self, x):
        return F.tanhshrink(x)


class Threshold(Module):
    """``value`` where x <= threshold, else x (torch.nn.Threshold)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class LogSigmoid(Module):
    """log(sigmoid(x)) (torch.nn.LogSigmoid)."""

    def forward(self, x):
        return F.logsigmoid(x)


class RReLU(Module):
    """torch.nn.RReLU in eval mode: leaky ReLU with the slope (lower + upper) / 2."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self.lower, self.upper = lower, upper

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class Softmin(Module):
    """softmax(-x) along ``dim`` (torch.nn.Softmin)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None:
            raise ArgumentError("Softmin needs an explicit dim (torch's implicit choice is deprecated); pass dim=...")
        self.dim = dim

    def forward(self, x):
        return F.softmin(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of a (C, H, W) or (N, C, H, W) input (torch.nn.Softmax2d)."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise x.ctx.error("softmax2d", f"Softmax2d expects a 3-D or 4-D input, got shape {x.static_shape}")
        return F.softmax(x, -3)


class GLU(Module):
    """a * sigmoid(b) with a, b the halves of the input along ``dim`` (torch.nn.GLU)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
