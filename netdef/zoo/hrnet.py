"""HRNet (classification) with timm's module tree and state_dict names (``stage3.2.fuse_layers.1.0.0.0.weight``).

Branches at strides 4, 8, 16 and 32 run in parallel; after each high-resolution module every branch receives
the sum of all branches (1x1 conv and nearest upsampling from coarser ones, strided 3x3 convs from finer ones).
The classification head lifts each branch with a bottleneck (``incre_modules``), folds them from fine to coarse
with strided convs (``downsamp_modules``), a 1x1 conv to 2048 channels, a global average pool and ``classifier``.
The residual blocks are timm's ResNet blocks, whose names are torchvision's (netdef.zoo.resnet).
"""

from __future__ import annotations

from netdef import Input, nn
from netdef.zoo.resnet import BasicBlock, Bottleneck

BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}

#: timm's ``hrnet_w18``: per stage (modules, blocks per branch, channels per branch, block type); stage 1 is
#: ``layer1`` (one branch), the others are HighResolutionModules
HRNET_W18 = {
    "stem_width": 64,
    "stage1": (1, (4,), (64,), "BOTTLENECK"),
    "stage2": (1, (4, 4), (18, 36), "BASIC"),
    "stage3": (4, (4, 4, 4), (18, 36, 72), "BASIC"),
    "stage4": (3, (4, 4, 4, 4), (18, 36, 72, 144), "BASIC"),
}

#: the classification head's per-branch widths (times a bottleneck's expansion of 4) and its output width
HEAD_CHANNELS = (32, 64, 128, 256)
NUM_FEATURES = 2048


def _conv_bn(in_chs: int, out_chs: int, kernel_size: int, stride: int, relu: bool, bias: bool = False):
    layers = [nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, bias=bias), nn.BatchNorm2d(out_chs)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def _make_layer(block, inplanes: int, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = _conv_bn(inplanes, planes * block.expansion, 1, stride, relu=False)
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """``branches`` (one residual stack per resolution), then ``fuse_layers``: output i is ReLU(sum over j of
    branch j brought to resolution i and width i)."""

    def __init__(self, block, num_blocks, num_in_chs, num_channels, multi_scale_output: bool = True) -> None:
        super().__init__()
        if not len(num_blocks) == len(num_in_chs) == len(num_channels):
            raise ValueError(
                f"HighResolutionModule needs one entry per branch: num_blocks={num_blocks}, "
                f"num_in_chs={num_in_chs}, num_channels={num_channels}"
            )
        self.num_branches = n = len(num_blocks)
        self.branches = nn.ModuleList(
            [_make_layer(block, num_in_chs[i], num_channels[i], num_blocks[i]) for i in range(n)]
        )
        self.num_in_chs = chs = [c * block.expansion for c in num_channels]
        if n == 1:
            self.fuse_layers = nn.Identity()
        else:
            self.fuse_layers = nn.ModuleList(
                [
                    nn.ModuleList([self._fuse(j, i, chs) for j in range(n)])
                    for i in range(n if multi_scale_output else 1)
                ]
            )
        self.fuse_act = nn.ReLU()

    @staticmethod
    def _fuse(j: int, i: int, chs: list[int]) -> nn.Module:
        """Branch j to branch i's resolution and width."""
        if j > i:  # coarser: 1x1 conv, then nearest upsampling
            conv = _conv_bn(chs[j], chs[i], 1, 1, relu=False)
            return nn.Sequential(*conv, nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"))
        if j == i:
            return nn.Identity()
        steps = [_conv_bn(chs[j], chs[j], 3, 2, relu=True) for _ in range(i - j - 1)]  # finer: strided 3x3s
        return nn.Sequential(*steps, _conv_bn(chs[j], chs[i], 3, 2, relu=False))

    def forward(self, xs):
        if self.num_branches == 1:
            return [self.branches[0](xs[0])]
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for fuse in self.fuse_layers:
            y = fuse[0](xs[0])
            for j in range(1, self.num_branches):
                y = y + fuse[j](xs[j])
            out.append(self.fuse_act(y))
        return out


class HighResolutionNet(nn.Module):
    """timm.models.HighResolutionNet with the classification head (inputs a multiple of 32 on each side)."""

    def __init__(self, cfg: dict = HRNET_W18, num_classes: int = 1000) -> None:
        super().__init__()
        stem = cfg["stem_width"]
        self.conv1 = nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(stem, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.act2 = nn.ReLU(inplace=True)
        _, (blocks,), (channels,), kind = cfg["stage1"]
        self.layer1 = _make_layer(BLOCKS[kind], 64, channels, blocks)
        pre = [channels * BLOCKS[kind].expansion]
        for s in (2, 3, 4):
            modules, blocks, channels, kind = cfg[f"stage{s}"]
            block = BLOCKS[kind]
            cur = [c * block.expansion for c in channels]
            setattr(self, f"transition{s - 1}", self._transition(pre, cur))
            stage = []
            for _ in range(modules):
                stage.append(HighResolutionModule(block, blocks, cur, channels))
                cur = stage[-1].num_in_chs
            setattr(self, f"stage{s}", nn.Sequential(*stage))
            pre = cur
        head = Bottleneck
        self.incre_modules = nn.ModuleList([_make_layer(head, c, HEAD_CHANNELS[i], 1) for i, c in enumerate(pre)])
        self.downsamp_modules = nn.ModuleList(
            [
                _conv_bn(HEAD_CHANNELS[i] * head.expansion, HEAD_CHANNELS[i + 1] * head.expansion, 3, 2, True, True)
                for i in range(len(pre) - 1)
            ]
        )
        self.final_layer = _conv_bn(HEAD_CHANNELS[-1] * head.expansion, NUM_FEATURES, 1, 1, relu=True, bias=True)
        self.classifier = nn.Linear(NUM_FEATURES, num_classes)

    @staticmethod
    def _transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
        """Branch inputs of the next stage: kept (Identity) or re-widened existing ones, new ones from the coarsest."""
        layers = []
        for i, c in enumerate(cur):
            if i < len(pre):
                layers.append(nn.Identity() if c == pre[i] else _conv_bn(pre[i], c, 3, 1, relu=True))
            else:
                n = i + 1 - len(pre)
                steps = [_conv_bn(pre[-1], c if k == n - 1 else pre[-1], 3, 2, relu=True) for k in range(n)]
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    @staticmethod
    def _next_inputs(transition: nn.ModuleList, ys: list) -> list:
        # timm: a kept branch passes through; every transformed or new branch starts from the coarsest output
        return [ys[i] if isinstance(t, nn.Identity) else t(ys[-1]) for i, t in enumerate(transition)]

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.layer1(self.act2(self.bn2(self.conv2(x))))
        ys = self.stage2([t(x) for t in self.transition1])
        ys = self.stage3(self._next_inputs(self.transition2, ys))
        ys = self.stage4(self._next_inputs(self.transition3, ys))
        y = self.incre_modules[0](ys[0])
        for i in range(1, len(ys)):
            y = self.incre_modules[i](ys[i]) + self.downsamp_modules[i - 1](y)
        y = self.final_layer(y)
        return self.classifier(y.mean([2, 3]))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def hrnet_w18(num_classes: int = 1000) -> HighResolutionNet:
    return HighResolutionNet(HRNET_W18, num_classes)
