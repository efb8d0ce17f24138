"""Building blocks of timm's models with timm's module and state_dict names (BatchNormAct2d, ConvNormAct,
ConvBnAct, SqueezeExcite), shared by the zoo's timm architectures."""

from __future__ import annotations

from collections.abc import Callable

from netdef import nn


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm2d followed by its activation in one module (``act``; the state_dict is BatchNorm2d's)."""

    def __init__(self, num_features: int, eps: float = 1e-5, act_layer: Callable[[], nn.Module] | None = nn.ReLU):
        super().__init__(num_features, eps=eps)
        self.act = act_layer() if act_layer is not None else nn.Identity()

    def forward(self, x):
        return self.act(super().forward(x))


class ConvNormAct(nn.Module):
    """``conv`` (no bias) then ``bn`` (BatchNormAct2d): timm's ConvNormAct, with the conv's own padding."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 1,
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = BatchNormAct2d(out_channels, eps=eps)

    def forward(self, x):
        return self.bn(self.conv(x))


class ConvBnAct(nn.Module):
    """timm's ConvBnAct without its skip: ``conv`` ("same" padding, no bias), ``bn1`` (BatchNorm + ReLU)."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, padding=(kernel_size - 1) // 2, bias=False)
        self.bn1 = BatchNormAct2d(out_chs)

    def forward(self, x):
        return self.bn1(self.conv(x))


class SqueezeExcite(nn.Module):
    """timm's EfficientNet-family SE: ``conv_reduce``, ``act1``, ``conv_expand``, then ``gate`` scales the input."""

    def __init__(self, in_chs: int, rd_channels: int, act_layer=nn.ReLU, gate_layer=nn.Sigmoid) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(in_chs, rd_channels, 1)
        self.act1 = act_layer()
        self.conv_expand = nn.Conv2d(rd_channels, in_chs, 1)
        self.gate = gate_layer()

    def forward(self, x):
        return x * self.gate(self.conv_expand(self.act1(self.conv_reduce(x.mean([2, 3], keepdim=True)))))
