"""ConvNeXt V2 with timm's module tree and state_dict names (``stages.1.blocks.0.mlp.grn.weight``, ...).

A V2 block is V1's (7x7 depthwise conv, LayerNorm, 4x MLP with GELU, residual) without layer scale and with
Global Response Normalization after the GELU. timm's ``conv_mlp`` form is built here: NCHW throughout, LayerNorm2d
over channels and 1x1 convs for the MLP, as the atto-to-nano models are.
"""

from __future__ import annotations

from netdef import Input, nn
from netdef.zoo.convnext import LayerNorm2d


class GlobalResponseNorm(nn.Module):
    """GRN on NCHW: each channel's L2 norm over H and W, divided by that norm's mean over channels (+ ``eps``),
    scales the input; ``x + bias + weight * x * ratio`` (weight and bias per channel)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(dim)
        self.bias = nn.Parameter(dim)

    def forward(self, x):
        # ||x||_2 over H, W as sqrt(mean(x^2) * H * W): the mean keeps the sum of squares inside fp16's range
        x_g = ((x * x).mean([2, 3], keepdim=True) * float(x.shape[2] * x.shape[3])).sqrt()
        x_n = x_g / (x_g.mean(1, keepdim=True) + self.eps)
        weight, bias = self.weight.reshape(1, -1, 1, 1), self.bias.reshape(1, -1, 1, 1)
        return x + (bias + weight * (x * x_n))


class GlobalResponseNormMlp(nn.Module):
    """1x1 conv ``fc1``, GELU, GRN, 1x1 conv ``fc2`` (timm's ``use_conv=True`` form)."""

    def __init__(self, in_features: int, hidden_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(0.0)
        self.grn = GlobalResponseNorm(hidden_features)
        self.fc2 = nn.Conv2d(hidden_features, in_features, 1)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x):
        return self.drop2(self.fc2(self.grn(self.drop1(self.act(self.fc1(x))))))


class ConvNeXtBlock(nn.Module):
    """``conv_dw`` (7x7 depthwise), ``norm`` (LayerNorm2d), ``mlp`` (with GRN), plus the input."""

    def __init__(self, dim: int, mlp_ratio: float = 4) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.mlp = GlobalResponseNormMlp(dim, int(mlp_ratio * dim))

    def forward(self, x):
        return self.mlp(self.norm(self.conv_dw(x))) + x


class ConvNeXtStage(nn.Module):
    """``downsample`` (LayerNorm2d, 2x2 stride-2 conv; none in the first stage), then ``blocks``."""

    def __init__(self, in_chs: int, out_chs: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_chs != out_chs or stride > 1:
            self.downsample = nn.Sequential(LayerNorm2d(in_chs, eps=1e-6), nn.Conv2d(in_chs, out_chs, 2, stride))
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_chs) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class NormMlpClassifierHead(nn.Module):
    """Global average pool, ``norm`` (LayerNorm2d), flatten, ``fc``."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(in_features, eps=1e-6)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.norm(x.mean([2, 3], keepdim=True))))


class ConvNeXt(nn.Module):
    """timm.models.ConvNeXt (V2, ``conv_mlp``): 4x4 patchify ``stem`` (conv, LayerNorm2d), ``stages``, ``head``."""

    def __init__(self, depths: tuple[int, ...], dims: tuple[int, ...], num_classes: int = 1000) -> None:
        super().__init__()
        if len(depths) != len(dims):
            raise ValueError(f"ConvNeXt needs one depth per stage width, got depths={depths} and dims={dims}")
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6))
        stages, prev = [], dims[0]
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            stages.append(ConvNeXtStage(prev, dim, depth, stride=2 if i > 0 else 1))
            prev = dim
        self.stages = nn.Sequential(*stages)
        self.norm_pre = nn.Identity()
        self.head = NormMlpClassifierHead(prev, num_classes)

    def forward(self, x):
        return self.head(self.norm_pre(self.stages(self.stem(x))))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def convnextv2_atto(num_classes: int = 1000) -> ConvNeXt:
    """timm's convnextv2_atto: depths (2, 2, 6, 2), widths (40, 80, 160, 320)."""
    return ConvNeXt((2, 2, 6, 2), (40, 80, 160, 320), num_classes)
