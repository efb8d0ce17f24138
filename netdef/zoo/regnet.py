"""RegNetX / RegNetY (400MF ... 3.2GF) with torchvision's module tree and state_dict names."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from netdef import nn

#: torchvision's design-space parameters: depth, w_0, w_a, w_m, group_width, se_ratio
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


@dataclass(frozen=True)
class BlockParams:
    """Per-stage depths, widths and group widths (torchvision's ``BlockParams``)."""

    depths: list[int]
    widths: list[int]
    group_widths: list[int]
    bottleneck_multipliers: list[float]
    strides: list[int]
    se_ratio: float | None = None

    @classmethod
    def from_init_params(
        cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int, se_ratio: float | None = None
    ) -> BlockParams:
        """Quantized linear widths, one stage per distinct width (the RegNet paper's recipe)."""
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8:
            raise ValueError(f"invalid RegNet settings w_0={w_0}, w_a={w_a}, w_m={w_m}")
        block_widths = []
        for i in range(depth):
            capacity = round(math.log((i * w_a + w_0) / w_0) / math.log(w_m))
            block_widths.append(round(w_0 * w_m**capacity / 8) * 8)
        starts = [i for i, w in enumerate(block_widths) if i == 0 or w != block_widths[i - 1]]
        widths = [block_widths[i] for i in starts]
        depths = [b - a for a, b in zip(starts, [*starts[1:], depth])]
        # stage and group widths made compatible (bottleneck multiplier 1)
        group_widths = [min(group_width, w) for w in widths]
        widths = [_make_divisible(w, g) for w, g in zip(widths, group_widths)]
        n = len(widths)
        return cls(depths, widths, group_widths, [1.0] * n, [2] * n, se_ratio)


class ConvNormActivation(nn.Sequential):
    """torchvision's Conv2dNormActivation: conv ('0', no bias, "same" padding), BatchNorm2d ('1'), ReLU ('2')."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        activation: bool = True,
    ) -> None:
        layers = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_channels),
        ]
        super().__init__(*layers, *([nn.ReLU(inplace=True)] if activation else []))


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation: ``x * sigmoid(fc2(relu(fc1(avgpool(x)))))``."""

    def __init__(self, input_channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class BottleneckTransform(nn.Sequential):
    """1x1 ('a'), grouped 3x3 ('b'), optional squeeze-excitation ('se'), 1x1 without activation ('c')."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
    ) -> None:
        w_b = round(width_out * bottleneck_multiplier)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = ConvNormActivation(width_in, w_b, 1)
        layers["b"] = ConvNormActivation(w_b, w_b, 3, stride, groups=w_b // group_width)
        if se_ratio:
            layers["se"] = SqueezeExcitation(w_b, round(se_ratio * width_in))
        layers["c"] = ConvNormActivation(w_b, width_out, 1, activation=False)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``relu(proj(x) + f(x))``; ``proj`` (1x1 conv + BN) only where the width or resolution changes."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        if width_in != width_out or stride != 1:
            self.proj = ConvNormActivation(width_in, width_out, 1, stride, activation=False)
        else:
            self.proj = None
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, bottleneck_multiplier, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks named ``block<stage>-<i>``; the first one strides."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        depth: int,
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
        stage_index: int,
    ) -> None:
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
    """torchvision.models.RegNet: a 3x3 stride-2 ``stem``, ``trunk_output`` stages, average pool, ``fc``."""

    def __init__(self, block_params: BlockParams, num_classes: int = 1000, stem_width: int = 32) -> None:
        super().__init__()
        self.stem = ConvNormActivation(3, stem_width, 3, stride=2)
        stages = []
        width = stem_width
        for i, (width_out, stride, depth, group_width, multiplier) in enumerate(
            zip(
                block_params.widths,
                block_params.strides,
                block_params.depths,
                block_params.group_widths,
                block_params.bottleneck_multipliers,
            )
        ):
            stage = AnyStage(width, width_out, stride, depth, group_width, multiplier, block_params.se_ratio, i + 1)
            stages.append((f"block{i + 1}", stage))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        x = self.trunk_output(self.stem(x))
        return self.fc(self.avgpool(x).flatten(1))


def _regnet(name: str, num_classes: int) -> RegNet:
    return RegNet(BlockParams.from_init_params(*CONFIGS[name]), num_classes)


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
