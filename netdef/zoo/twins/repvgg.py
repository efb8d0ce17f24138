"""Torch twin of netdef.zoo.repvgg: the original RepVGG repository's module tree and state_dict names.

timm's ``repvgg_a0`` (and the other RepVGG entries of its ByobNet) holds the same tensors under other names;
:func:`rename_checkpoint_key` maps them, so a timm checkpoint exports and binds (``examples/zoo/export_wts.py``
applies it to ``--from-checkpoint``).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

#: timm's names -> the original repository's: stem -> stage0, stages.i.j -> stage{i+1}.j, branch and head names
_TIMM_STAGE = re.compile(r"^stages\.(\d+)\.")
_TIMM_PARTS = {".conv_kxk.": ".rbr_dense.", ".conv_1x1.": ".rbr_1x1.", ".identity.": ".rbr_identity."}


def rename_checkpoint_key(name: str) -> str:
    """A timm RepVGG checkpoint key as the original repository's state_dict name (other keys unchanged)."""
    if name.startswith("head.fc."):
        return "linear." + name[len("head.fc.") :]
    if name.startswith("stem."):
        name = "stage0." + name[len("stem.") :]
    else:
        name = _TIMM_STAGE.sub(lambda m: f"stage{int(m.group(1)) + 1}.", name)
    for old, new in _TIMM_PARTS.items():
        name = name.replace(old, new)
    return name


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int, groups: int = 1):
    result = nn.Sequential()
    result.add_module(
        "conv", nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False)
    )
    result.add_module("bn", nn.BatchNorm2d(out_channels))
    return result


class RepVGGBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, groups=1, deploy=False) -> None:
        super().__init__()
        self.in_channels, self.groups = in_channels, groups
        self.nonlinearity = nn.ReLU()
        if deploy:
            self.rbr_reparam = nn.Conv2d(in_channels, out_channels, 3, stride, 1, groups=groups, bias=True)
        else:
            identity = out_channels == in_channels and stride == 1
            self.rbr_identity = nn.BatchNorm2d(in_channels) if identity else None
            self.rbr_dense = conv_bn(in_channels, out_channels, 3, stride, 1, groups)
            self.rbr_1x1 = conv_bn(in_channels, out_channels, 1, stride, 0, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "rbr_reparam"):
            return self.nonlinearity(self.rbr_reparam(x))
        id_out = 0 if self.rbr_identity is None else self.rbr_identity(x)
        return self.nonlinearity(self.rbr_dense(x) + self.rbr_1x1(x) + id_out)

    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The repository's conversion of the three branches to one 3x3 convolution (in float64)."""

        def fold(kernel, bn):
            std = (bn.running_var.double() + bn.eps).sqrt()
            t = bn.weight.double() / std
            return kernel.double() * t.reshape(-1, 1, 1, 1), bn.bias.double() - bn.running_mean.double() * t

        k3, b3 = fold(self.rbr_dense.conv.weight, self.rbr_dense.bn)
        k1, b1 = fold(self.rbr_1x1.conv.weight, self.rbr_1x1.bn)
        kernel, bias = k3 + F.pad(k1, [1, 1, 1, 1]), b3 + b1
        if self.rbr_identity is not None:
            per_group = self.in_channels // self.groups
            eye = torch.zeros(self.in_channels, per_group, 3, 3, dtype=torch.float64)
            for i in range(self.in_channels):
                eye[i, i % per_group, 1, 1] = 1
            ki, bi = fold(eye, self.rbr_identity)
            kernel, bias = kernel + ki, bias + bi
        return kernel, bias


class RepVGG(nn.Module):
    def __init__(self, num_blocks, num_classes=1000, width_multiplier=None, override_groups_map=None, deploy=False):
        super().__init__()
        width_multiplier = width_multiplier or [1.0, 1.0, 1.0, 1.0]
        self.deploy = deploy
        self.override_groups_map = dict(override_groups_map or {})
        self.in_planes = min(64, int(64 * width_multiplier[0]))
        self.stage0 = RepVGGBlock(3, self.in_planes, stride=2, deploy=deploy)
        self.cur_layer_idx = 1
        self.stage1 = self._make_stage(int(64 * width_multiplier[0]), num_blocks[0])
        self.stage2 = self._make_stage(int(128 * width_multiplier[1]), num_blocks[1])
        self.stage3 = self._make_stage(int(256 * width_multiplier[2]), num_blocks[2])
        self.stage4 = self._make_stage(int(512 * width_multiplier[3]), num_blocks[3])
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(int(512 * width_multiplier[3]), num_classes)

    def _make_stage(self, planes: int, num_blocks: int) -> nn.Sequential:
        blocks = []
        for stride in [2] + [1] * (num_blocks - 1):
            groups = self.override_groups_map.get(self.cur_layer_idx, 1)
            blocks.append(RepVGGBlock(self.in_planes, planes, stride, groups, self.deploy))
            self.in_planes = planes
            self.cur_layer_idx += 1
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.stage1(self.stage0(x)))))
        return self.linear(torch.flatten(self.gap(x), 1))


def deploy_state_dict(model: RepVGG) -> dict[str, torch.Tensor]:
    """A training-time model's weights as the deploy-time model's (``rbr_reparam`` per block)."""
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, RepVGGBlock):
            kernel, bias = module.equivalent_kernel_bias()
            state[f"{name}.rbr_reparam.weight"] = kernel.detach().float()
            state[f"{name}.rbr_reparam.bias"] = bias.detach().float()
    state["linear.weight"], state["linear.bias"] = model.linear.weight.detach(), model.linear.bias.detach()
    return state


_GROUPED = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26)
#: blocks per stage, width multipliers, grouped layers (as netdef.zoo.repvgg.CONFIGS; twins do not import netdef)
CONFIGS = {
    "repvgg_a0": ([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5], None),
    "repvgg_a1": ([2, 4, 14, 1], [1, 1, 1, 2.5], None),
    "repvgg_a2": ([2, 4, 14, 1], [1.5, 1.5, 1.5, 2.75], None),
    "repvgg_b0": ([4, 6, 16, 1], [1, 1, 1, 2.5], None),
    "repvgg_b1": ([4, 6, 16, 1], [2, 2, 2, 4], None),
    "repvgg_b1g2": ([4, 6, 16, 1], [2, 2, 2, 4], dict.fromkeys(_GROUPED, 2)),
    "repvgg_b1g4": ([4, 6, 16, 1], [2, 2, 2, 4], dict.fromkeys(_GROUPED, 4)),
}


def _repvgg(name: str, num_classes: int, deploy: bool) -> RepVGG:
    blocks, widths, groups = CONFIGS[name]
    return RepVGG(blocks, num_classes, widths, groups, deploy)


def repvgg_a0(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    """``fuse`` only matters to the netdef model (how it emits); the twin computes the same either way."""
    return _repvgg("repvgg_a0", num_classes, deploy)


def repvgg_a1(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_a1", num_classes, deploy)


def repvgg_b0(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_b0", num_classes, deploy)


def repvgg_b1g2(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_b1g2", num_classes, deploy)
