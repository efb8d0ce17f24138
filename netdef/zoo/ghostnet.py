"""GhostNet (v1) with timm's module tree and state_dict names (``blocks.3.0.ghost1.primary_conv.0.weight``, ...).

A ghost module makes half its output channels with a 1x1 conv and the other half from those with a cheap
depthwise 3x3, then concatenates them; a ghost bottleneck is two ghost modules around an optional strided
depthwise conv and squeeze-excitation (hard-sigmoid gate), plus a shortcut.
"""

from __future__ import annotations

import math

from netdef import F, Input, nn
from netdef.zoo.misc import make_divisible
from netdef.zoo.timm_layers import ConvBnAct, SqueezeExcite

#: per stage, the blocks' (kernel, expanded channels, out channels, SE ratio, stride) (GhostNet paper, table 1)
GHOSTNET_CFGS: list[list[tuple[int, int, int, float, int]]] = [
    [(3, 16, 16, 0, 1)],
    [(3, 48, 24, 0, 2)],
    [(3, 72, 24, 0, 1)],
    [(5, 72, 40, 0.25, 2)],
    [(5, 120, 40, 0.25, 1)],
    [(3, 240, 80, 0, 2)],
    [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
    [(5, 672, 160, 0.25, 2)],
    [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)],
]


class GhostModule(nn.Module):
    """``primary_conv`` (1x1) makes ceil(out / ratio) channels, ``cheap_operation`` (depthwise) the rest."""

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

    def forward(self, x):
        x1 = self.primary_conv(x)
        out = F.cat([x1, self.cheap_operation(x1)], 1)
        return out if out.shape[1] == self.out_chs else out[:, : self.out_chs]


class GhostBottleneck(nn.Module):
    """ghost1 (ReLU), strided depthwise conv when ``stride`` > 1, SE when ``se_ratio`` > 0, ghost2 (linear);
    plus the input, or a depthwise + 1x1 projection of it where the shape changes."""

    def __init__(
        self, in_chs: int, mid_chs: int, out_chs: int, dw_kernel_size: int = 3, stride: int = 1, se_ratio: float = 0.0
    ) -> None:
        super().__init__()
        self.stride = stride
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

    def forward(self, x):
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out) + self.shortcut(x)


class GhostNet(nn.Module):
    """timm.models.GhostNet (v1): stem, ``blocks`` (nine stages and a 1x1 ConvBnAct), pooled 1x1 ``conv_head``
    with bias and ReLU, ``classifier``."""

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

    def forward(self, x):
        x = self.blocks(self.act1(self.bn1(self.conv_stem(x))))
        x = self.act2(self.conv_head(x.mean([2, 3], keepdim=True)))
        return self.classifier(self.flatten(x))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def ghostnet_100(num_classes: int = 1000) -> GhostNet:
    return GhostNet(GHOSTNET_CFGS, num_classes, width=1.0)
