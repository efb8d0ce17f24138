"""VGG-11/13/16/19 with and without batch norm, with torchvision's module tree and state_dict names."""

from __future__ import annotations

from netdef import nn

#: conv widths per configuration; "M" is a 2x2 max pool
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    """``features``: 3x3 convs (each followed by BatchNorm2d if ``batch_norm``, then ReLU) and max pools."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision.models.VGG: ``features``, a 7x7 adaptive average pool, a 3-layer ``classifier``."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(cfg: str, batch_norm: bool, num_classes: int) -> VGG:
    return VGG(make_layers(CFGS[cfg], batch_norm), num_classes)


def vgg11(num_classes: int = 1000) -> VGG:
    return _vgg("A", False, num_classes)


def vgg11_bn(num_classes: int = 1000) -> VGG:
    return _vgg("A", True, num_classes)


def vgg13(num_classes: int = 1000) -> VGG:
    return _vgg("B", False, num_classes)


def vgg13_bn(num_classes: int = 1000) -> VGG:
    return _vgg("B", True, num_classes)


def vgg16(num_classes: int = 1000) -> VGG:
    return _vgg("D", False, num_classes)


def vgg16_bn(num_classes: int = 1000) -> VGG:
    return _vgg("D", True, num_classes)


def vgg19(num_classes: int = 1000) -> VGG:
    return _vgg("E", False, num_classes)


def vgg19_bn(num_classes: int = 1000) -> VGG:
    return _vgg("E", True, num_classes)
