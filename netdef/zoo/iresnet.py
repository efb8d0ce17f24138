"""ArcFace's IResNet face-recognition backbones (tensorrtx's arcface) with insightface's module tree and
state_dict names (``recognition/arcface_torch/backbones/iresnet.py``: ``conv1``, ``bn1``, ``prelu``,
``layerN.M.{bn1,conv1,bn2,prelu,conv2,bn3,downsample.{0,1}}``, ``bn2``, ``fc``, ``features``), so arcface_torch
checkpoints bind.

Each block is pre-activation style: BatchNorm, 3x3 conv, BatchNorm, PReLU, 3x3 conv (stride 2 in each stage's
first block), BatchNorm, plus the (projected) input. The 112x112 face crop ends at 7x7x512, flattened into ``fc``
and a BatchNorm1d: a (B, num_features) embedding. The batch may be dynamic; H and W are fixed by ``fc``.
"""

from __future__ import annotations

from netdef import nn


class IBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (self.downsample(x) if self.downsample is not None else x)


class IResNet(nn.Module):
    """IResNet(layers, num_features, input_size): ``input_size`` other than 112 (a square crop, a multiple of 16)
    narrows ``fc`` for small tests; checkpoints are 112."""

    def __init__(self, layers=(3, 4, 14, 3), num_features: int = 512, input_size: int = 112, dropout: float = 0.0):
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16 (four stride-2 stages), got {input_size}")
        self.input_size = input_size
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-05)
        self.prelu = nn.PReLU(64)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1])
        self.layer3 = self._make_layer(256, layers[2])
        self.layer4 = self._make_layer(512, layers[3])
        self.bn2 = nn.BatchNorm2d(512, eps=1e-05)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(512 * (input_size // 16) ** 2, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)

    def _make_layer(self, planes: int, blocks: int) -> nn.Sequential:
        downsample = nn.Sequential(
            nn.Conv2d(self.inplanes, planes, 1, 2, bias=False), nn.BatchNorm2d(planes, eps=1e-05)
        )
        layers = [IBasicBlock(self.inplanes, planes, 2, downsample)]
        self.inplanes = planes
        layers += [IBasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        size = self.input_size
        if tuple(x.shape[2:]) != (size, size):
            raise x.ctx.error("iresnet", f"expects {size}x{size} face crops (fc's size), got {tuple(x.shape[2:])}")
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.dropout(self.bn2(x).flatten(1))
        return self.features(self.fc(x))


def iresnet18(**kwargs) -> IResNet:
    return IResNet((2, 2, 2, 2), **kwargs)


def iresnet34(**kwargs) -> IResNet:
    return IResNet((3, 4, 6, 3), **kwargs)


def iresnet50(**kwargs) -> IResNet:
    return IResNet((3, 4, 14, 3), **kwargs)


def iresnet100(**kwargs) -> IResNet:
    return IResNet((3, 13, 30, 3), **kwargs)
