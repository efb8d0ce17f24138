"""Convolution modules."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module, Parameter


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


class Conv2d(Module):
    """torch.nn.Conv2d: ``weight`` (out, in/groups, kH, kW) and optional ``bias`` (out,)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels={in_channels} and out_channels={out_channels} must be divisible by groups={groups}"
            )
        if padding_mode != "zeros":
            raise ValueError(f"padding_mode={padding_mode!r} is not supported yet; only 'zeros'")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size)
        self.stride, self.dilation = _pair(stride), _pair(dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.weight = Parameter(out_channels, in_channels // groups, *self.kernel_size)
        self.bias = Parameter(out_channels) if bias else None

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        return F.conv2d(x, self.weight.data, bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}"
        )
