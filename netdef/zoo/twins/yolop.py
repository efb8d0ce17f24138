"""Torch twin of netdef.zoo.yolop: hustvl/YOLOP (commit 8d8f68df318c71f01d6f813c024df646c7d1978f)
``lib/models/YOLOP.py`` MCnet built from its ``YOLOP`` table, with ``lib/models/common.py``'s Focus / Conv /
BottleneckCSP / SPP / Detect and the repository's state_dict names (``model.N...``).

Written from the repository's source (no PyPI package builds it): BatchNorm eps 1e-3 (its initialize_weights),
Conv's export-friendly Hardswish ``x * hardtanh(x + 3, 0, 6) / 6``, ``anchors`` divided by the strides as MCnet
does. Forward is the eval-mode one (Detect's decoded predictions and raw maps, both segmentation maps after a
sigmoid), flattened to one tuple.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netdef.zoo.twins.yolov7 import Concat, Detect
from netdef.zoo.yolop import ARCHITECTURE, BN_EPS, DETECT, SEGMENTS, STRIDES
from netdef.zoo.yolov7 import autopad


class Hardswish(nn.Module):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * F.hardtanh(x + 3, 0.0, 6.0) / 6.0


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = Hardswish() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class BottleneckCSP(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1, 1)
        self.bn = nn.BatchNorm2d(2 * c_, eps=BN_EPS, momentum=0.03)
        self.act = nn.LeakyReLU(0.1)
        self.m = nn.Sequential(*[Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1 = self.cv3(self.m(self.cv1(x)))
        y2 = self.cv2(x)
        return self.cv4(self.act(self.bn(torch.cat((y1, y2), dim=1))))


class SPP(nn.Module):
    def __init__(self, c1: int, c2: int, k=(5, 9, 13)) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * (len(k) + 1), c2, 1, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        return self.cv2(torch.cat([x] + [m(x) for m in self.m], 1))


class Focus(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act=True):
        super().__init__()
        self.conv = Conv(c1 * 4, c2, k, s, p, g, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1))


MODULES = {
    "Focus": Focus,
    "Conv": Conv,
    "BottleneckCSP": BottleneckCSP,
    "SPP": SPP,
    "Concat": Concat,
    "Detect": Detect,
    "Upsample": nn.Upsample,
}


class MCnet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.froms = [f for f, _, _ in ARCHITECTURE]
        self.model = nn.Sequential(*(MODULES[m](*args) for _, m, args in ARCHITECTURE))
        self.save = {j for f in self.froms for j in ((f,) if isinstance(f, int) else f) if j != -1}
        detect = self.model[DETECT]
        detect.stride = torch.tensor(STRIDES, dtype=torch.float32)  # what MCnet measures with a 128x128 forward
        detect.anchors /= detect.stride.view(-1, 1, 1)  # the repository keeps ``anchors`` in grid units

    def forward(self, x: torch.Tensor):
        outputs, segments = {}, []
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i == DETECT:
                pred, raw = x
            if i in SEGMENTS:
                segments.append(torch.sigmoid(x))
            if i in self.save:
                outputs[i] = x
        return (pred, *raw, *segments)


def yolop() -> MCnet:
    return MCnet()
