"""Torch twin of netdef.zoo.ibnnet: IBN-Net's Bottleneck ResNets as XingangPan/IBN-Net's ``ibnnet/resnet_ibn.py``
(commit d1673389b36c1180cf9bc35ea8260d84046da915) and ``ibnnet/modules.py`` build them, same names; ``pool_size``
as in netdef.zoo.ibnnet; the InstanceNorms' affine parameters start at seeded random values. No PyPI package
ships them."""

from __future__ import annotations

import torch
from torch import nn


class IBN(nn.Module):
    def __init__(self, planes, ratio=0.5):
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        split = torch.split(x, self.half, 1)
        return torch.cat((self.IN(split[0].contiguous()), self.BN(split[1].contiguous())), 1)


class Bottleneck_IBN(nn.Module):
    def __init__(self, inplanes, planes, ibn=None, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = IBN(planes) if ibn == "a" else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.IN = nn.InstanceNorm2d(planes * 4, affine=True) if ibn == "b" else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out = out + residual
        if self.IN is not None:
            out = self.IN(out)
        return self.relu(out)


class ResNet_IBN(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), ibn_cfg=("a", "a", "a", None), num_classes=1000, pool_size=7):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.InstanceNorm2d(64, affine=True) if ibn_cfg[0] == "b" else nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0], ibn=ibn_cfg[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2, ibn=ibn_cfg[1])
        self.layer3 = self._make_layer(256, layers[2], stride=2, ibn=ibn_cfg[2])
        self.layer4 = self._make_layer(512, layers[3], stride=2, ibn=ibn_cfg[3])
        self.avgpool = nn.AvgPool2d(pool_size)
        self.fc = nn.Linear(2048, num_classes)
        # IBN-Net starts its InstanceNorms' affine at (1, 0), which no test could tell from no affine at all
        gen = torch.Generator().manual_seed(4)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.InstanceNorm2d):
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.75)
                    m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.4 - 0.2)

    def _make_layer(self, planes, blocks, stride=1, ibn=None):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
        layers = [Bottleneck_IBN(self.inplanes, planes, None if ibn == "b" else ibn, stride, downsample)]
        self.inplanes = planes * 4
        for i in range(1, blocks):
            layers.append(Bottleneck_IBN(self.inplanes, planes, None if (ibn == "b" and i < blocks - 1) else ibn))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).view(x.size(0), -1))


def resnet50_ibn_a(num_classes=1000):
    return ResNet_IBN((3, 4, 6, 3), ("a", "a", "a", None), num_classes)


def resnet50_ibn_b(num_classes=1000):
    return ResNet_IBN((3, 4, 6, 3), ("b", "b", None, None), num_classes)
