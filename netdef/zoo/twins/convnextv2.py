"""Torch twin of netdef.zoo.convnextv2: timm's ConvNeXt V2 (``conv_mlp``) module tree and state_dict names."""

from __future__ import annotations

import torch
from torch import nn

from netdef.zoo.twins.convnext import LayerNorm2d


class GlobalResponseNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        # timm starts both at zero (GRN is then the identity); random values make the check see the layer
        self.weight = nn.Parameter(torch.randn(dim) * 0.5)
        self.bias = nn.Parameter(torch.randn(dim) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_g = x.norm(p=2, dim=(2, 3), keepdim=True)
        x_n = x_g / (x_g.mean(dim=1, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(1, -1, 1, 1), self.weight.view(1, -1, 1, 1), x * x_n)


class GlobalResponseNormMlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(0.0)
        self.grn = GlobalResponseNorm(hidden_features)
        self.fc2 = nn.Conv2d(hidden_features, in_features, 1)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.grn(self.drop1(self.act(self.fc1(x))))))


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float = 4) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.mlp = GlobalResponseNormMlp(dim, int(mlp_ratio * dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(self.conv_dw(x))) + x


class ConvNeXtStage(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_chs != out_chs or stride > 1:
            self.downsample = nn.Sequential(LayerNorm2d(in_chs, eps=1e-6), nn.Conv2d(in_chs, out_chs, 2, stride))
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_chs) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class NormMlpClassifierHead(nn.Module):
    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(in_features, eps=1e-6)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.norm(x.mean((2, 3), keepdim=True))))


class ConvNeXt(nn.Module):
    def __init__(self, depths: tuple[int, ...], dims: tuple[int, ...], num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6))
        stages, prev = [], dims[0]
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            stages.append(ConvNeXtStage(prev, dim, depth, stride=2 if i > 0 else 1))
            prev = dim
        self.stages = nn.Sequential(*stages)
        self.norm_pre = nn.Identity()
        self.head = NormMlpClassifierHead(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm_pre(self.stages(self.stem(x))))


def convnextv2_atto(num_classes: int = 1000) -> ConvNeXt:
    return ConvNeXt((2, 2, 6, 2), (40, 80, 160, 320), num_classes)
