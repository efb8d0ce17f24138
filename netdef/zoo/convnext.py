"""ConvNeXt (tiny/small/base/large) with torchvision's module tree and state_dict names.

``features`` alternates stages of CNBlocks with downsampling (LayerNorm2d + 2x2 stride-2 conv); every block
scales its residual branch by the learned ``layer_scale`` (dim, 1, 1). Stochastic depth is the identity at
inference and has no weights, so it is not part of this model.
"""

from __future__ import annotations

from functools import partial

from netdef import F, Input, nn
from netdef.zoo.misc import Conv2dNormActivation, Permute


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) tensor (permuted to channels-last and back)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """7x7 depthwise conv, LayerNorm, Linear 4x, GELU, Linear back (channels-last), times ``layer_scale``, plus x."""

    def __init__(self, dim: int, layer_scale: float = 1e-6, norm_layer=None) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(dim, 1, 1)

    def forward(self, x):
        return F.as_tensor(self.layer_scale) * self.block(x) + x


class CNBlockConfig:
    """A stage: ``num_layers`` blocks of width ``input_channels``, then downsampling to ``out_channels`` (None: last)."""

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels, self.out_channels, self.num_layers = input_channels, out_channels, num_layers


class ConvNeXt(nn.Module):
    """torchvision.models.ConvNeXt: 4x4 patchify stem, stages and downsamplers in ``features``, pool, ``classifier``."""

    def __init__(self, block_setting: list[CNBlockConfig], layer_scale: float = 1e-6, num_classes: int = 1000) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        norm_layer = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3,
                block_setting[0].input_channels,
                kernel_size=4,
                stride=4,
                padding=0,
                norm_layer=norm_layer,
                activation_layer=None,
                bias=True,
            )
        ]
        for cnf in block_setting:
            layers.append(nn.Sequential(*[CNBlock(cnf.input_channels, layer_scale) for _ in range(cnf.num_layers)]))
            if cnf.out_channels is not None:
                layers.append(
                    nn.Sequential(
                        norm_layer(cnf.input_channels),
                        nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        channels = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(channels), nn.Flatten(1), nn.Linear(channels, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


#: stage widths and depths of torchvision's convnext_tiny/small/base/large
CONVNEXT = {
    "convnext_tiny": ((96, 192, 384, 768), (3, 3, 9, 3)),
    "convnext_small": ((96, 192, 384, 768), (3, 3, 27, 3)),
    "convnext_base": ((128, 256, 512, 1024), (3, 3, 27, 3)),
    "convnext_large": ((192, 384, 768, 1536), (3, 3, 27, 3)),
}


def convnext_conf(arch: str) -> list[CNBlockConfig]:
    widths, depths = CONVNEXT[arch]
    outs = (*widths[1:], None)
    return [CNBlockConfig(w, o, d) for w, o, d in zip(widths, outs, depths)]


def convnext_tiny(num_classes: int = 1000, layer_scale: float = 1e-6) -> ConvNeXt:
    return ConvNeXt(convnext_conf("convnext_tiny"), layer_scale, num_classes)


def convnext_small(num_classes: int = 1000, layer_scale: float = 1e-6) -> ConvNeXt:
    return ConvNeXt(convnext_conf("convnext_small"), layer_scale, num_classes)


def convnext_base(num_classes: int = 1000, layer_scale: float = 1e-6) -> ConvNeXt:
    return ConvNeXt(convnext_conf("convnext_base"), layer_scale, num_classes)


def convnext_large(num_classes: int = 1000, layer_scale: float = 1e-6) -> ConvNeXt:
    return ConvNeXt(convnext_conf("convnext_large"), layer_scale, num_classes)
