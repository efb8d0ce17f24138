"""Torch twin of netdef.zoo.ghostnet: timm's GhostNet (v1) module tree and state_dict names."""

from __future__ import annotations

import math

import torch
from torch import nn

from netdef.zoo.ghostnet import GHOSTNET_CFGS
from netdef.zoo.misc import make_divisible
from netdef.zoo.twins.timm_layers import ConvBnAct, SqueezeExcite


class GhostModule(nn.Module):
    def __init__(
        self, in_chs: int, out_chs: int, kernel_size: int = 1, ratio: int = 2, dw_size: int = 3, act_layer=nn.ReLU
    ) -> None:
        super().__init__()
        self.out_chs = out_chs
        init_chs = math.ceil(out_chs / ratio)
        new_chs = init_chs * (ratio - 1)
        act = act_layer or nn.Identity
        self.primary_conv = nn.Sequential(
            nn.Conv2d(in_chs, init_chs, kernel_size, 1, kernel_size // 2, bias=False), nn.BatchNorm2d(init_chs), act()
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_chs, new_chs, dw_size, 1, dw_size // 2, groups=init_chs, bias=False),
            nn.BatchNorm2d(new_chs),
            act(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        return torch.cat([x1, self.cheap_operation(x1)], dim=1)[:, : self.out_chs]


class GhostBottleneck(nn.Module):
    def __init__(
        self, in_chs: int, mid_chs: int, out_chs: int, dw_kernel_size: int = 3, stride: int = 1, se_ratio: float = 0.0
    ) -> None:
        super().__init__()
        pad = (dw_kernel_size - 1) // 2
        self.ghost1 = GhostModule(in_chs, mid_chs)
        if stride > 1:
            self.conv_dw = nn.Conv2d(mid_chs, mid_chs, dw_kernel_size, stride, pad, groups=mid_chs, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid_chs)
        else:
            self.conv_dw = self.bn_dw = None
        rd = make_divisible(mid_chs * se_ratio, 4)
        self.se = SqueezeExcite(mid_chs, rd, gate_layer=nn.Hardsigmoid) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_chs, out_chs, act_layer=None)
        if in_chs == out_chs and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_chs, in_chs, dw_kernel_size, stride, pad, groups=in_chs, bias=False),
                nn.BatchNorm2d(in_chs),
                nn.Conv2d(in_chs, out_chs, 1, bias=False),
                nn.BatchNorm2d(out_chs),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out) + self.shortcut(x)


class GhostNet(nn.Module):
    def __init__(self, cfgs=GHOSTNET_CFGS, num_classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()
        stem_chs = make_divisible(16 * width, 4)
        self.conv_stem = nn.Conv2d(3, stem_chs, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_chs)
        self.act1 = nn.ReLU(inplace=True)
        prev_chs, stages = stem_chs, []
        for cfg in cfgs:
            layers = []
            for k, exp_size, c, se_ratio, s in cfg:
                out_chs = make_divisible(c * width, 4)
                layers.append(GhostBottleneck(prev_chs, make_divisible(exp_size * width, 4), out_chs, k, s, se_ratio))
                prev_chs = out_chs
            stages.append(nn.Sequential(*layers))
        out_chs = make_divisible(exp_size * width, 4)
        stages.append(nn.Sequential(ConvBnAct(prev_chs, out_chs, 1)))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = nn.Conv2d(out_chs, 1280, 1)
        self.act2 = nn.ReLU(inplace=True)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.act1(self.bn1(self.conv_stem(x))))
        x = self.act2(self.conv_head(x.mean((2, 3), keepdim=True)))
        return self.classifier(self.flatten(x))


def ghostnet_100(num_classes: int = 1000) -> GhostNet:
    return GhostNet(GHOSTNET_CFGS, num_classes, width=1.0)
