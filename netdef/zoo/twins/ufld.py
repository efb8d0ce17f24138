"""Torch twin of netdef.zoo.ufld: parsingNet as cfzd/Ultra-Fast-Lane-Detection's ``model/model.py`` and
``model/backbone.py`` (commit c8fe2b10b6c381304cc37e00e2f74b3742e3da74) build it with ``use_aux=False``, the
ResNet being the zoo's torchvision twin; ``size`` sizes ``cls``'s input as netdef.zoo.ufld does (the repository
hard-codes 1800, its 288x800). No PyPI package ships it."""

from __future__ import annotations

import math

import torch

from netdef.zoo.twins.resnet import resnet18, resnet34, resnet50

BACKBONES = {"18": (resnet18, 512), "34": (resnet34, 512), "50": (resnet50, 2048)}


class resnet(torch.nn.Module):
    def __init__(self, layers="18"):
        super().__init__()
        model = BACKBONES[layers][0]()
        self.conv1 = model.conv1
        self.bn1 = model.bn1
        self.relu = model.relu
        self.maxpool = model.maxpool
        self.layer1 = model.layer1
        self.layer2 = model.layer2
        self.layer3 = model.layer3
        self.layer4 = model.layer4

    def forward(self, x):
        x = self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        x2 = self.layer2(x)
        x3 = self.layer3(x2)
        return x2, x3, self.layer4(x3)


class parsingNet(torch.nn.Module):
    def __init__(self, size=(288, 800), backbone="18", cls_dim=(37, 10, 4)):
        super().__init__()
        self.cls_dim = tuple(cls_dim)
        self.features = 8 * math.ceil(size[0] / 32) * math.ceil(size[1] / 32)
        self.model = resnet(backbone)
        self.cls = torch.nn.Sequential(
            torch.nn.Linear(self.features, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, math.prod(cls_dim))
        )
        self.pool = torch.nn.Conv2d(BACKBONES[backbone][1], 8, 1)

    def forward(self, x):
        _, _, fea = self.model(x)
        return self.cls(self.pool(fea).view(-1, self.features)).view(-1, *self.cls_dim)


def ufld_tusimple_18():
    return parsingNet((288, 800), "18", (101, 56, 4))
