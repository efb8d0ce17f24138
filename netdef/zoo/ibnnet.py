"""IBN-Net ResNets (tensorrtx's ibnnet) with XingangPan/IBN-Net's module tree and state_dict names (torchvision's
ResNet names, with ``layerN.M.bn1.IN``/``bn1.BN`` where IBN-a splits a block's first norm, and ``layerN.M.IN``
/ a stem ``bn1`` InstanceNorm for IBN-b), so its released ``resnet50_ibn_a``/``_b`` checkpoints bind.

IBN-a: in layer1-3 each block's first norm runs InstanceNorm (affine) on the first half of the channels and
BatchNorm on the rest. IBN-b: the stem norm is an InstanceNorm and the last block of layer1 and layer2 ends
with one after the residual sum. The classifier pools with a fixed 7x7 window, as the repository does (224x224
inputs); ``pool_size`` changes it for small tests.
"""

from __future__ import annotations

from netdef import F, nn


class IBN(nn.Module):
    """InstanceNorm on the first ``planes * ratio`` channels, BatchNorm on the others."""

    def __init__(self, planes: int, ratio: float = 0.5):
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        return F.cat([self.IN(x[:, : self.half]), self.BN(x[:, self.half :])], 1)


class Bottleneck_IBN(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, ibn: str | None = None, stride: int = 1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = IBN(planes) if ibn == "a" else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.IN = nn.InstanceNorm2d(planes * 4, affine=True) if ibn == "b" else None
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out)) + (self.downsample(x) if self.downsample is not None else x)
        if self.IN is not None:
            out = self.IN(out)
        return self.relu(out)


class ResNet_IBN(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), ibn_cfg=("a", "a", "a", None), num_classes: int = 1000, pool_size=7):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.InstanceNorm2d(64, affine=True) if ibn_cfg[0] == "b" else nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0], 1, ibn_cfg[0])
        self.layer2 = self._make_layer(128, layers[1], 2, ibn_cfg[1])
        self.layer3 = self._make_layer(256, layers[2], 2, ibn_cfg[2])
        self.layer4 = self._make_layer(512, layers[3], 2, ibn_cfg[3])
        self.avgpool = nn.AvgPool2d(pool_size)
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int, ibn: str | None) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )
        # IBN-b: only the stage's last block ends with an InstanceNorm
        layers = [Bottleneck_IBN(self.inplanes, planes, None if ibn == "b" else ibn, stride, downsample)]
        self.inplanes = planes * 4
        layers += [
            Bottleneck_IBN(self.inplanes, planes, None if (ibn == "b" and i < blocks - 1) else ibn)
            for i in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet50_ibn_a(num_classes: int = 1000) -> ResNet_IBN:
    return ResNet_IBN((3, 4, 6, 3), ("a", "a", "a", None), num_classes)


def resnet50_ibn_b(num_classes: int = 1000) -> ResNet_IBN:
    return ResNet_IBN((3, 4, 6, 3), ("b", "b", None, None), num_classes)
