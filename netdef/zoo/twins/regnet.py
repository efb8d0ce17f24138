"""Torch twin of netdef.zoo.regnet: torchvision's RegNet module tree, state_dict names and initialization."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

#: depth, w_0, w_a, w_m, group_width, se_ratio (as netdef.zoo.regnet.CONFIGS; twins do not import netdef)
CONFIGS: dict[str, tuple[int, int, float, float, int, float | None]] = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
}


def _make_divisible(v: float, divisor: int) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def block_params(depth: int, w_0: int, w_a: float, w_m: float, group_width: int, se_ratio: float | None = None):
    """(depths, widths, group_widths, se_ratio) per stage, computed in float32 torch ops as torchvision does."""
    widths_cont = torch.arange(depth) * w_a + w_0
    capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), 8)) * 8).int().tolist()
    splits = [w != wp for w, wp in zip([*block_widths, 0], [0, *block_widths])]
    widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    group_widths = [min(group_width, w) for w in widths]
    widths = [_make_divisible(w, g) for w, g in zip(widths, group_widths)]
    return depths, widths, group_widths, se_ratio


class ConvNormActivation(nn.Sequential):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, activation=True) -> None:
        layers = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_channels),
        ]
        super().__init__(*layers, *([nn.ReLU(inplace=True)] if activation else []))


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class BottleneckTransform(nn.Sequential):
    def __init__(self, width_in, width_out, stride, group_width, bottleneck_multiplier, se_ratio) -> None:
        w_b = round(width_out * bottleneck_multiplier)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = ConvNormActivation(width_in, w_b, 1)
        layers["b"] = ConvNormActivation(w_b, w_b, 3, stride, groups=w_b // group_width)
        if se_ratio:
            layers["se"] = SqueezeExcitation(w_b, round(se_ratio * width_in))
        layers["c"] = ConvNormActivation(w_b, width_out, 1, activation=False)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    def __init__(self, width_in, width_out, stride, group_width=1, bottleneck_multiplier=1.0, se_ratio=None) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = ConvNormActivation(width_in, width_out, 1, stride, activation=False)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, bottleneck_multiplier, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x) + self.f(x) if self.proj is not None else x + self.f(x)
        return self.activation(x)


class AnyStage(nn.Sequential):
    def __init__(self, width_in, width_out, stride, depth, group_width, bottleneck_multiplier, se_ratio, stage_index):
        super().__init__()
        for i in range(depth):
            block = ResBottleneckBlock(
                width_in if i == 0 else width_out,
                width_out,
                stride if i == 0 else 1,
                group_width,
                bottleneck_multiplier,
                se_ratio,
            )
            self.add_module(f"block{stage_index}-{i}", block)


class RegNet(nn.Module):
    def __init__(self, params, num_classes: int = 1000, stem_width: int = 32) -> None:
        super().__init__()
        depths, widths, group_widths, se_ratio = params
        self.stem = ConvNormActivation(3, stem_width, 3, stride=2)
        stages, width = [], stem_width
        for i, (width_out, depth, group_width) in enumerate(zip(widths, depths, group_widths)):
            stages.append((f"block{i + 1}", AnyStage(width, width_out, 2, depth, group_width, 1.0, se_ratio, i + 1)))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.trunk_output(self.stem(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _regnet(name: str, num_classes: int) -> RegNet:
    return RegNet(block_params(*CONFIGS[name]), num_classes)


def regnet_y_400mf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_y_400mf", num_classes)


def regnet_y_800mf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_y_800mf", num_classes)


def regnet_y_1_6gf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_y_1_6gf", num_classes)


def regnet_y_3_2gf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_y_3_2gf", num_classes)


def regnet_x_400mf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_x_400mf", num_classes)


def regnet_x_800mf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_x_800mf", num_classes)


def regnet_x_1_6gf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_x_1_6gf", num_classes)


def regnet_x_3_2gf(num_classes: int = 1000) -> RegNet:
    return _regnet("regnet_x_3_2gf", num_classes)
