"""Torch twin of netdef.zoo.mnasnet: torchvision's MNASNet module tree, state_dict names and initialization."""

from __future__ import annotations

import torch
from torch import nn

from netdef.zoo.mnasnet import BN_MOMENTUM, STACKS, mnasnet_depths


class _InvertedResidual(nn.Module):
    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int, bn_momentum: float = 0.1
    ) -> None:
        super().__init__()
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, stride=stride, padding=kernel_size // 2, groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int) -> nn.Sequential:
    blocks = [_InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor, BN_MOMENTUM)]
    blocks += [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor, BN_MOMENTUM) for _ in range(repeats - 1)]
    return nn.Sequential(*blocks)


class MNASNet(nn.Module):
    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        d = mnasnet_depths(alpha)
        layers: list[nn.Module] = [
            nn.Conv2d(3, d[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, groups=d[0], bias=False),
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, bias=False),
            nn.BatchNorm2d(d[1], momentum=BN_MOMENTUM),
        ]
        layers += [_stack(d[i + 1], d[i + 2], *stack) for i, stack in enumerate(STACKS)]
        layers += [
            nn.Conv2d(d[7], 1280, 1, bias=False),
            nn.BatchNorm2d(1280, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


def mnasnet1_0(num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    return MNASNet(1.0, num_classes, dropout)
