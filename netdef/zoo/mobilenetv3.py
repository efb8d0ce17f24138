"""MobileNetV3 (large and small) with torchvision's module tree and state_dict names (features.N.block...)."""

from __future__ import annotations

from functools import partial

from netdef import Input, nn
from netdef.zoo.misc import Conv2dNormActivation, SqueezeExcitation, make_divisible


class InvertedResidualConfig:
    """One bneck row of the paper's table, channels scaled by ``width_mult``."""

    def __init__(
        self,
        input_channels: int,
        kernel: int,
        expanded_channels: int,
        out_channels: int,
        use_se: bool,
        activation: str,
        stride: int,
        dilation: int,
        width_mult: float,
    ) -> None:
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """1x1 expand (when wider), depthwise, optional squeeze-excitation (hardsigmoid gate), 1x1 project."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer, se_layer=None) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"illegal stride value {cnf.stride}")
        se_layer = se_layer or partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers: list[nn.Module] = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels,
                    cnf.expanded_channels,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                )
            )
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(
            Conv2dNormActivation(
                cnf.expanded_channels,
                cnf.expanded_channels,
                kernel_size=cnf.kernel,
                stride=stride,
                dilation=cnf.dilation,
                groups=cnf.expanded_channels,
                norm_layer=norm_layer,
                activation_layer=activation_layer,
            )
        )
        if cnf.use_se:
            squeeze_channels = make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(se_layer(cnf.expanded_channels, squeeze_channels))
        layers.append(
            Conv2dNormActivation(
                cnf.expanded_channels, cnf.out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None
            )
        )
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3(nn.Module):
    """torchvision.models.MobileNetV3: ``features`` (stem, bnecks, 1x1 conv), ``avgpool``, ``classifier``."""

    def __init__(
        self,
        inverted_residual_setting: list[InvertedResidualConfig],
        last_channel: int,
        num_classes: int = 1000,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3, first, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=nn.Hardswish
            )
        ]
        layers += [InvertedResidual(cnf, norm_layer) for cnf in inverted_residual_setting]
        last_in = inverted_residual_setting[-1].out_channels
        last_out = 6 * last_in
        layers.append(
            Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.Hardswish)
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(last_out, last_channel),
            nn.Hardswish(),
            nn.Dropout(dropout),
            nn.Linear(last_channel, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def mobilenet_v3_conf(
    arch: str, width_mult: float = 1.0, reduced_tail: bool = False, dilated: bool = False
) -> tuple[list[InvertedResidualConfig], int]:
    """The bneck table and last channel of ``mobilenet_v3_large`` / ``mobilenet_v3_small`` (torchvision's)."""
    rd = 2 if reduced_tail else 1
    dilation = 2 if dilated else 1
    bneck = partial(InvertedResidualConfig, width_mult=width_mult)
    if arch == "mobilenet_v3_large":
        setting = [
            bneck(16, 3, 16, 16, False, "RE", 1, 1),
            bneck(16, 3, 64, 24, False, "RE", 2, 1),  # C1
            bneck(24, 3, 72, 24, False, "RE", 1, 1),
            bneck(24, 5, 72, 40, True, "RE", 2, 1),  # C2
            bneck(40, 5, 120, 40, True, "RE", 1, 1),
            bneck(40, 5, 120, 40, True, "RE", 1, 1),
            bneck(40, 3, 240, 80, False, "HS", 2, 1),  # C3
            bneck(80, 3, 200, 80, False, "HS", 1, 1),
            bneck(80, 3, 184, 80, False, "HS", 1, 1),
            bneck(80, 3, 184, 80, False, "HS", 1, 1),
            bneck(80, 3, 480, 112, True, "HS", 1, 1),
            bneck(112, 3, 672, 112, True, "HS", 1, 1),
            bneck(112, 5, 672, 160 // rd, True, "HS", 2, dilation),  # C4
            bneck(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dilation),
            bneck(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dilation),
        ]
        last_channel = InvertedResidualConfig.adjust_channels(1280 // rd, width_mult)  # C5
    elif arch == "mobilenet_v3_small":
        setting = [
            bneck(16, 3, 16, 16, True, "RE", 2, 1),  # C1
            bneck(16, 3, 72, 24, False, "RE", 2, 1),  # C2
            bneck(24, 3, 88, 24, False, "RE", 1, 1),
            bneck(24, 5, 96, 40, True, "HS", 2, 1),  # C3
            bneck(40, 5, 240, 40, True, "HS", 1, 1),
            bneck(40, 5, 240, 40, True, "HS", 1, 1),
            bneck(40, 5, 120, 48, True, "HS", 1, 1),
            bneck(48, 5, 144, 48, True, "HS", 1, 1),
            bneck(48, 5, 288, 96 // rd, True, "HS", 2, dilation),  # C4
            bneck(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dilation),
            bneck(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dilation),
        ]
        last_channel = InvertedResidualConfig.adjust_channels(1024 // rd, width_mult)  # C5
    else:
        raise ValueError(f"unsupported MobileNetV3 {arch!r}: mobilenet_v3_large or mobilenet_v3_small")
    return setting, last_channel


def mobilenet_v3_large(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> MobileNetV3:
    setting, last_channel = mobilenet_v3_conf("mobilenet_v3_large", width_mult)
    return MobileNetV3(setting, last_channel, num_classes, dropout)


def mobilenet_v3_small(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> MobileNetV3:
    setting, last_channel = mobilenet_v3_conf("mobilenet_v3_small", width_mult)
    return MobileNetV3(setting, last_channel, num_classes, dropout)
