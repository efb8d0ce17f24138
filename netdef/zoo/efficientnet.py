"""EfficientNet-B0..B7 with torchvision's module tree and state_dict names (features.S.B.block..., classifier.1).

Stochastic depth drops residual branches only while training: at inference it is the identity and has no
weights, so it is not part of this model.
"""

from __future__ import annotations

import copy
import math
from functools import partial

from netdef import Input, nn
from netdef.zoo.misc import Conv2dNormActivation, SqueezeExcitation, make_divisible


class MBConvConfig:
    """One stage of the paper's Table 1, with channels scaled by ``width_mult`` and repeats by ``depth_mult``."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        input_channels: int,
        out_channels: int,
        num_layers: int,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
    ) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = math.ceil(num_layers * depth_mult)

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """1x1 expand (when ``expand_ratio`` > 1), depthwise, squeeze-excitation (SiLU, sigmoid gate), 1x1 project."""

    def __init__(self, cnf: MBConvConfig, norm_layer) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"illegal stride value {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded,
                expanded,
                kernel_size=cnf.kernel,
                stride=cnf.stride,
                groups=expanded,
                norm_layer=norm_layer,
                activation_layer=nn.SiLU,
            )
        )
        layers.append(SqueezeExcitation(expanded, max(1, cnf.input_channels // 4), activation=nn.SiLU))
        layers.append(
            Conv2dNormActivation(
                expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None
            )
        )
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class EfficientNet(nn.Module):
    """torchvision.models.EfficientNet (V1): ``features`` (stem, 7 stages of MBConv, 1x1 head), pool, ``classifier``."""

    def __init__(
        self,
        inverted_residual_setting: list[MBConvConfig],
        dropout: float,
        num_classes: int = 1000,
        norm_layer=None,
        last_channel: int | None = None,
    ) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        norm_layer = norm_layer or nn.BatchNorm2d
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU)
        ]
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # later blocks of a stage keep the width and the resolution
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                stage.append(MBConv(block_cnf, norm_layer))
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(
            Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU)
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def efficientnet_conf(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """The B-series stage table (expand, kernel, stride, in, out, repeats), scaled."""
    bneck = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [
        bneck(1, 3, 1, 32, 16, 1),
        bneck(6, 3, 2, 16, 24, 2),
        bneck(6, 5, 2, 24, 40, 2),
        bneck(6, 3, 2, 40, 80, 3),
        bneck(6, 5, 1, 80, 112, 3),
        bneck(6, 5, 2, 112, 192, 4),
        bneck(6, 3, 1, 192, 320, 1),
    ]


#: (width_mult, depth_mult, dropout) of torchvision's efficientnet_b0..b7 (B5-B7 use BatchNorm eps 1e-3 there)
EFFICIENTNET_B = {
    "efficientnet_b0": (1.0, 1.0, 0.2),
    "efficientnet_b1": (1.0, 1.1, 0.2),
    "efficientnet_b2": (1.1, 1.2, 0.3),
    "efficientnet_b3": (1.2, 1.4, 0.3),
    "efficientnet_b4": (1.4, 1.8, 0.4),
    "efficientnet_b5": (1.6, 2.2, 0.4),
    "efficientnet_b6": (1.8, 2.6, 0.5),
    "efficientnet_b7": (2.0, 3.1, 0.5),
}


def _efficientnet(arch: str, num_classes: int) -> EfficientNet:
    width, depth, dropout = EFFICIENTNET_B[arch]
    eps = 1e-3 if arch in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7") else 1e-5
    return EfficientNet(efficientnet_conf(width, depth), dropout, num_classes, partial(nn.BatchNorm2d, eps=eps))


def efficientnet_b0(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b0", num_classes)


def efficientnet_b1(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b1", num_classes)


def efficientnet_b2(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b2", num_classes)


def efficientnet_b3(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b3", num_classes)


def efficientnet_b4(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b4", num_classes)


def efficientnet_b5(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b5", num_classes)


def efficientnet_b6(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b6", num_classes)


def efficientnet_b7(num_classes: int = 1000) -> EfficientNet:
    return _efficientnet("efficientnet_b7", num_classes)
