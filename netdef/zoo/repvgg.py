"""RepVGG (A0-B3) with the original repository's names (DingXiaoH/RepVGG), reparameterized at emission.

A checkpoint from training (three branches per block: ``rbr_dense`` 3x3 conv + BN, ``rbr_1x1`` 1x1 conv +
BN, ``rbr_identity`` BN) binds to ``deploy=False``; emission then folds each block into the one 3x3
convolution it equals (the paper's structural reparameterization, done in float64 on the bound weights),
so the engine is a plain VGG-style stack. ``fuse=False`` emits the three branches instead (to compare
them layer by layer). A converted checkpoint (``rbr_reparam`` convs) binds to ``deploy=True``.
"""

from __future__ import annotations

import numpy as np

from netdef import F, nn


class ConvBN(nn.Sequential):
    """``conv`` (no bias) then ``bn``."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int, groups: int = 1
    ) -> None:
        super().__init__()
        self.add_module(
            "conv", nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False)
        )
        self.add_module("bn", nn.BatchNorm2d(out_channels))


def _fold(kernel: np.ndarray, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of ``bn(conv(x, kernel))`` as one convolution, in float64."""
    std = np.sqrt(np.asarray(bn.running_var.data, np.float64) + bn.eps)
    gamma = np.asarray(bn.weight.data, np.float64)
    beta = np.asarray(bn.bias.data, np.float64)
    mean = np.asarray(bn.running_mean.data, np.float64)
    return kernel * (gamma / std).reshape(-1, 1, 1, 1), beta - mean * gamma / std


class RepVGGBlock(nn.Module):
    """relu(3x3 conv-BN + 1x1 conv-BN [+ BN of the input when shapes allow]); emitted as one 3x3 conv + relu."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        groups: int = 1,
        deploy: bool = False,
        fuse: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride, self.groups = in_channels, out_channels, stride, groups
        self.deploy, self.fuse = deploy, fuse
        self.nonlinearity = nn.ReLU()
        if deploy:
            self.rbr_reparam = nn.Conv2d(in_channels, out_channels, 3, stride, 1, groups=groups, bias=True)
        else:
            identity = out_channels == in_channels and stride == 1
            self.rbr_identity = nn.BatchNorm2d(in_channels) if identity else None
            self.rbr_dense = ConvBN(in_channels, out_channels, 3, stride, 1, groups)
            self.rbr_1x1 = ConvBN(in_channels, out_channels, 1, stride, 0, groups)

    def equivalent_kernel_bias(self) -> tuple[np.ndarray, np.ndarray]:
        """The 3x3 kernel and bias of the one convolution the three training-time branches equal."""
        dense = np.asarray(self.rbr_dense.conv.weight.data, np.float64)
        kernel, bias = _fold(dense, self.rbr_dense.bn)
        k1, b1 = _fold(np.asarray(self.rbr_1x1.conv.weight.data, np.float64), self.rbr_1x1.bn)
        kernel = kernel + np.pad(k1, ((0, 0), (0, 0), (1, 1), (1, 1)))
        bias = bias + b1
        if self.rbr_identity is not None:  # the identity as a 3x3 kernel: 1 at the centre of its own channel
            per_group = self.in_channels // self.groups
            eye = np.zeros((self.in_channels, per_group, 3, 3))
            eye[np.arange(self.in_channels), np.arange(self.in_channels) % per_group, 1, 1] = 1.0
            k_id, b_id = _fold(eye, self.rbr_identity)
            kernel, bias = kernel + k_id, bias + b_id
        return kernel, bias

    def forward(self, x):
        if self.deploy:
            return self.nonlinearity(self.rbr_reparam(x))
        if self.fuse:
            kernel, bias = self.equivalent_kernel_bias()
            return self.nonlinearity(F.conv2d(x, kernel, bias, self.stride, 1, 1, self.groups))
        out = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.nonlinearity(out)


class RepVGG(nn.Module):
    """A stride-2 ``stage0`` block, four stages of blocks (each starting with stride 2), average pool, ``linear``."""

    def __init__(
        self,
        num_blocks: list[int],
        num_classes: int = 1000,
        width_multiplier: list[float] | None = None,
        override_groups_map: dict[int, int] | None = None,
        deploy: bool = False,
        fuse: bool = True,
    ) -> None:
        super().__init__()
        width_multiplier = width_multiplier or [1.0, 1.0, 1.0, 1.0]
        if len(width_multiplier) != 4 or len(num_blocks) != 4:
            raise ValueError("RepVGG takes 4 stage depths and 4 width multipliers")
        self.deploy, self.fuse = deploy, fuse
        self.override_groups_map = dict(override_groups_map or {})
        self.in_planes = min(64, int(64 * width_multiplier[0]))
        self.stage0 = RepVGGBlock(3, self.in_planes, stride=2, deploy=deploy, fuse=fuse)
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
            blocks.append(RepVGGBlock(self.in_planes, planes, stride, groups, self.deploy, self.fuse))
            self.in_planes = planes
            self.cur_layer_idx += 1
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.stage1(self.stage0(x)))))
        return self.linear(self.gap(x).flatten(1))


#: the paper's configurations: blocks per stage, width multipliers, grouped layers
_GROUPED = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26)
CONFIGS: dict[str, tuple[list[int], list[float], dict[int, int] | None]] = {
    "repvgg_a0": ([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5], None),
    "repvgg_a1": ([2, 4, 14, 1], [1, 1, 1, 2.5], None),
    "repvgg_a2": ([2, 4, 14, 1], [1.5, 1.5, 1.5, 2.75], None),
    "repvgg_b0": ([4, 6, 16, 1], [1, 1, 1, 2.5], None),
    "repvgg_b1": ([4, 6, 16, 1], [2, 2, 2, 4], None),
    "repvgg_b1g2": ([4, 6, 16, 1], [2, 2, 2, 4], dict.fromkeys(_GROUPED, 2)),
    "repvgg_b1g4": ([4, 6, 16, 1], [2, 2, 2, 4], dict.fromkeys(_GROUPED, 4)),
}


def _repvgg(name: str, num_classes: int, deploy: bool, fuse: bool) -> RepVGG:
    blocks, widths, groups = CONFIGS[name]
    return RepVGG(blocks, num_classes, widths, groups, deploy, fuse)


def repvgg_a0(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_a0", num_classes, deploy, fuse)


def repvgg_a1(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_a1", num_classes, deploy, fuse)


def repvgg_b0(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_b0", num_classes, deploy, fuse)


def repvgg_b1g2(num_classes: int = 1000, deploy: bool = False, fuse: bool = True) -> RepVGG:
    return _repvgg("repvgg_b1g2", num_classes, deploy, fuse)
