"""Torch twin of netdef.zoo.efficientnet: torchvision's EfficientNet (V1) module tree, state_dict names and init."""

from __future__ import annotations

import copy
import math
from functools import partial

import torch
from torch import nn

from netdef.zoo.efficientnet import EFFICIENTNET_B, MBConvConfig, efficientnet_conf
from netdef.zoo.twins.misc import Conv2dNormActivation, SqueezeExcitation, StochasticDepth


class MBConv(nn.Module):
    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer) -> None:
        super().__init__()
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
        layers.append(
            SqueezeExcitation(expanded, max(1, cnf.input_channels // 4), activation=partial(nn.SiLU, inplace=True))
        )
        layers.append(
            Conv2dNormActivation(
                expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None
            )
        )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNet(nn.Module):
    def __init__(
        self,
        inverted_residual_setting: list[MBConvConfig],
        dropout: float,
        stochastic_depth_prob: float = 0.2,
        num_classes: int = 1000,
        norm_layer=None,
        last_channel: int | None = None,
    ) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU)
        ]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                stage.append(MBConv(block_cnf, stochastic_depth_prob * float(block_id) / total_blocks, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(
            Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU)
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def _efficientnet(arch: str, num_classes: int) -> EfficientNet:
    width, depth, dropout = EFFICIENTNET_B[arch]
    norm_layer = (
        partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        if arch in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7")
        else None
    )
    return EfficientNet(efficientnet_conf(width, depth), dropout, num_classes=num_classes, norm_layer=norm_layer)


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
