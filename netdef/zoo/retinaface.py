"""RetinaFace with a ResNet-50 body (tensorrtx's retinaface) and biubug6/Pytorch_Retinaface's module tree and
state_dict names (``body.layerN`` of torchvision's ResNet-50, ``fpn.output{1,2,3}``/``fpn.merge{1,2}``,
``ssh{1,2,3}.conv3X3``/``conv5X5_{1,2}``/``conv7X7_2``/``conv7x7_3``, ``ClassHead.N.conv1x1``,
``BboxHead.N.conv1x1``, ``LandmarkHead.N.conv1x1``), so its ``Resnet50_Final.pth`` binds (after dropping the
``module.`` prefix DataParallel saved it with).

Outputs, as the repository's ``phase='test'``: ``loc`` (B, N, 4) box offsets, ``conf`` (B, N, 2) softmax
scores (background, face) and ``landms`` (B, N, 10), N = 2 anchors x the three stride-8/16/32 maps' pixels.
Decoding against the prior boxes (the repository's PriorBox/decode, tensorrtx's decode plugin) and NMS are
post-processing: :func:`priors` and :func:`decode` in numpy, then ``netdef.detection.nms``. Batch, H and W may be
dynamic (the FPN resizes each map to the next one's run-time size).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from netdef import F, nn
from netdef.zoo.deeplabv3 import IntermediateLayerGetter
from netdef.zoo.resnet import Bottleneck, ResNet

#: the repository's cfg_re50 anchor layout
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
STEPS = (8, 16, 32)
VARIANCE = (0.1, 0.2)


def conv_bn(inp: int, oup: int, stride: int = 1, leaky: float = 0.0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky)
    )


def conv_bn_no_relu(inp: int, oup: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup))


def conv_bn1X1(inp: int, oup: int, stride: int, leaky: float = 0.0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, oup, 1, stride, padding=0, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky)
    )


class SSH(nn.Module):
    """Single-stage headless context module: 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches, concatenated, ReLU."""

    def __init__(self, in_channel: int, out_channel: int):
        super().__init__()
        if out_channel % 4:
            raise ValueError(f"SSH out_channel must be a multiple of 4, got {out_channel}")
        leaky = 0.1 if out_channel <= 64 else 0.0
        self.conv3X3 = conv_bn_no_relu(in_channel, out_channel // 2, stride=1)
        self.conv5X5_1 = conv_bn(in_channel, out_channel // 4, stride=1, leaky=leaky)
        self.conv5X5_2 = conv_bn_no_relu(out_channel // 4, out_channel // 4, stride=1)
        self.conv7X7_2 = conv_bn(out_channel // 4, out_channel // 4, stride=1, leaky=leaky)
        self.conv7x7_3 = conv_bn_no_relu(out_channel // 4, out_channel // 4, stride=1)

    def forward(self, x):
        branch5 = self.conv5X5_1(x)
        out = F.cat([self.conv3X3(x), self.conv5X5_2(branch5), self.conv7x7_3(self.conv7X7_2(branch5))], 1)
        return F.relu(out)


class FPN(nn.Module):
    """1x1 lateral convs; the coarser map, nearest-resized to the finer one's size, added and merged by a 3x3."""

    def __init__(self, in_channels_list, out_channels: int):
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0.0
        self.output1 = conv_bn1X1(in_channels_list[0], out_channels, stride=1, leaky=leaky)
        self.output2 = conv_bn1X1(in_channels_list[1], out_channels, stride=1, leaky=leaky)
        self.output3 = conv_bn1X1(in_channels_list[2], out_channels, stride=1, leaky=leaky)
        self.merge1 = conv_bn(out_channels, out_channels, leaky=leaky)
        self.merge2 = conv_bn(out_channels, out_channels, leaky=leaky)

    def forward(self, features):
        c2, c3, c4 = features.values()
        output1, output2, output3 = self.output1(c2), self.output2(c3), self.output3(c4)
        output2 = self.merge2(output2 + F.interpolate(output3, size=output2.shape[2:], mode="nearest"))
        output1 = self.merge1(output1 + F.interpolate(output2, size=output1.shape[2:], mode="nearest"))
        return [output1, output2, output3]


class _Head(nn.Module):
    """1x1 conv to anchors x ``width`` values, as (B, H * W * anchors, width)."""

    width = 0

    def __init__(self, inchannels: int = 512, num_anchors: int = 2):
        super().__init__()
        self.conv1x1 = nn.Conv2d(inchannels, num_anchors * self.width, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        out = self.conv1x1(x).permute(0, 2, 3, 1)
        return out.reshape(out.shape[0], -1, self.width)


class ClassHead(_Head):
    width = 2


class BboxHead(_Head):
    width = 4


class LandmarkHead(_Head):
    width = 10


class RetinaFace(nn.Module):
    """RetinaFace-R50 (the repository's cfg_re50: in_channel 256, out_channel 256); ``layers`` (the ResNet's
    blocks per stage) and ``out_channel`` narrow it for small tests."""

    def __init__(self, in_channel: int = 256, out_channel: int = 256, layers=(3, 4, 6, 3)):
        super().__init__()
        self.body = IntermediateLayerGetter(ResNet(Bottleneck, list(layers)), {"layer2": 1, "layer3": 2, "layer4": 3})
        self.fpn = FPN([in_channel * 2, in_channel * 4, in_channel * 8], out_channel)
        self.ssh1 = SSH(out_channel, out_channel)
        self.ssh2 = SSH(out_channel, out_channel)
        self.ssh3 = SSH(out_channel, out_channel)
        self.ClassHead = nn.ModuleList([ClassHead(out_channel, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([BboxHead(out_channel, 2) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList([LandmarkHead(out_channel, 2) for _ in range(3)])

    def forward(self, x):
        fpn = self.fpn(self.body(x))
        features = [self.ssh1(fpn[0]), self.ssh2(fpn[1]), self.ssh3(fpn[2])]
        loc = F.cat([head(f) for head, f in zip(self.BboxHead, features)], 1)
        conf = F.cat([head(f) for head, f in zip(self.ClassHead, features)], 1)
        landms = F.cat([head(f) for head, f in zip(self.LandmarkHead, features)], 1)
        return loc, F.softmax(conf, -1), landms


def retinaface_resnet50() -> RetinaFace:
    return RetinaFace()


def priors(height: int, width: int) -> np.ndarray:
    """(N, 4) prior boxes (cx, cy, w, h) normalized to the image, in the network's output order: per stride,
    row-major over its ceil(H / step) x ceil(W / step) map, two sizes per pixel."""
    rows = []
    for step, sizes in zip(STEPS, MIN_SIZES):
        for i, j in itertools.product(range(math.ceil(height / step)), range(math.ceil(width / step))):
            for size in sizes:
                rows.append(((j + 0.5) * step / width, (i + 0.5) * step / height, size / width, size / height))
    return np.asarray(rows, dtype=np.float32)


def decode(loc: np.ndarray, landms: np.ndarray, prior: np.ndarray, variance=VARIANCE):
    """Boxes (N, 4: x1, y1, x2, y2) and landmarks (N, 10: five x, y pairs), normalized to the image, from one
    image's ``loc`` (N, 4) and ``landms`` (N, 10) offsets against ``prior`` (:func:`priors`)."""
    if loc.shape[0] != prior.shape[0] or landms.shape[0] != prior.shape[0]:
        raise ValueError(
            f"decode: {loc.shape[0]} boxes and {landms.shape[0]} landmarks for {prior.shape[0]} priors; "
            "build the priors for the image size the network ran at"
        )
    centers = prior[:, :2] + loc[:, :2] * variance[0] * prior[:, 2:]
    sizes = prior[:, 2:] * np.exp(loc[:, 2:] * variance[1])
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], 1)
    points = prior[:, None, :2] + landms.reshape(-1, 5, 2) * variance[0] * prior[:, None, 2:]
    return boxes, points.reshape(-1, 10)
