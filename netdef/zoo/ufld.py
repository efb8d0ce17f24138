"""Ultra-Fast-Lane-Detection's parsingNet (tensorrtx's ufld) with cfzd/Ultra-Fast-Lane-Detection's module names
(``model.{conv1,bn1,layer1..4}`` of torchvision's ResNet, ``pool``, ``cls.{0,2}``), so its ``tusimple_18.pth``
binds; drop its ``aux_header*``/``aux_combine`` entries first (the training-only segmentation branch, which the
repository's own demo skips by loading with ``strict=False``).

Input (B, 3, H, W) at the training size (288x800 for TuSimple/CULane: ``fc`` reads the 8-channel stride-32
map); output (B, griding_num + 1, rows, lanes) row-anchor classification logits. The batch may be dynamic.
"""

from __future__ import annotations

import math

from netdef import nn
from netdef.zoo.resnet import resnet18, resnet34, resnet50

BACKBONES = {"18": (resnet18, 512), "34": (resnet34, 512), "50": (resnet50, 2048)}


class resnet(nn.Module):
    """torchvision's ResNet stem and stages (no pool, no fc), returning layer2, layer3 and layer4's maps."""

    def __init__(self, layers: str = "18"):
        super().__init__()
        model = BACKBONES[layers][0]()
        self.conv1, self.bn1, self.relu, self.maxpool = model.conv1, model.bn1, model.relu, model.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = model.layer1, model.layer2, model.layer3, model.layer4

    def forward(self, x):
        x = self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        x2 = self.layer2(x)
        x3 = self.layer3(x2)
        return x2, x3, self.layer4(x3)


class parsingNet(nn.Module):
    """parsingNet(size=(H, W), backbone, cls_dim) without the auxiliary segmentation branch."""

    def __init__(self, size=(288, 800), backbone: str = "18", cls_dim=(37, 10, 4)):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"backbone {backbone!r} is not supported; use one of {', '.join(BACKBONES)}")
        self.size, self.cls_dim = tuple(size), tuple(cls_dim)
        self.model = resnet(backbone)
        features = 8 * math.ceil(size[0] / 32) * math.ceil(size[1] / 32)  # 1800 at 288x800
        self.cls = nn.Sequential(nn.Linear(features, 2048), nn.ReLU(), nn.Linear(2048, math.prod(cls_dim)))
        self.pool = nn.Conv2d(BACKBONES[backbone][1], 8, 1)
        self.features = features

    def forward(self, x):
        if tuple(x.shape[2:]) != self.size:
            h, w = self.size
            raise x.ctx.error("ufld", f"expects {h}x{w} images (the size cls was trained at), got {tuple(x.shape[2:])}")
        _, _, fea = self.model(x)
        fea = self.pool(fea).reshape(-1, self.features)
        return self.cls(fea).reshape(-1, *self.cls_dim)


def ufld_tusimple_18() -> parsingNet:
    """The TuSimple model tensorrtx converts (tusimple_18.pth: 100 grid cells + 1, 56 row anchors, 4 lanes)."""
    return parsingNet((288, 800), "18", (101, 56, 4))
