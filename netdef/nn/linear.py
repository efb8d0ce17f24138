"""Linear and Identity."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module, Parameter

__all__ = ["Identity", "Linear"]


class Linear(Module):
    """torch.nn.Linear: ``weight`` (out_features, in_features), optional ``bias`` (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(out_features, in_features)
        self.bias = Parameter(out_features) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input; emits nothing."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x
