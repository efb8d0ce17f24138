"""Torch twin of netdef.zoo.yolov5: ultralytics YOLOv5's module tree and state_dict names (``model.N...``).

Forward returns Detect's raw per-scale maps (training-mode output: (N, na, H, W, 5 + nc)).
"""

from __future__ import annotations

import torch
from torch import nn

from netdef.zoo.yolov5 import ANCHORS, BN_EPS, VARIANTS, autopad, plan


class Conv(nn.Module):
    def __init__(
        self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, d: int = 1, act=True
    ):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = nn.SiLU() if act is True else (act if isinstance(act, nn.Module) else nn.Identity())

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


class C3(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class Concat(nn.Module):
    def __init__(self, dimension: int = 1) -> None:
        super().__init__()
        self.d = dimension

    def forward(self, x: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(x, self.d)


class Detect(nn.Module):
    def __init__(self, nc: int = 80, anchors=ANCHORS, ch=()) -> None:
        super().__init__()
        self.nc, self.no = nc, nc + 5
        self.nl, self.na = len(anchors), len(anchors[0]) // 2
        self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for conv, xi in zip(self.m, x):
            y = conv(xi)
            bs, _, ny, nx = y.shape
            out.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        return out


MODULES = {"Conv": Conv, "C3": C3, "SPPF": SPPF, "Concat": Concat, "Detect": Detect}


class DetectionModel(nn.Module):
    def __init__(self, depth_multiple: float = 0.33, width_multiple: float = 0.50, nc: int = 80, anchors=ANCHORS):
        super().__init__()
        layers, self.froms = [], []
        for f, m, args in plan(depth_multiple, width_multiple, nc, anchors):
            layers.append(nn.Upsample(*args) if m == "Upsample" else MODULES[m](*args))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        self.save = {j for f in self.froms if f != -1 for j in ((f,) if isinstance(f, int) else f) if j != -1}
        detect = self.model[-1]
        stride = torch.tensor([8.0, 16.0, 32.0])
        detect.anchors /= stride.view(-1, 1, 1)  # ultralytics stores anchors in grid units

    def forward(self, x: torch.Tensor):
        outputs = {}
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i in self.save:
                outputs[i] = x
        return tuple(x)


def yolov5n(nc: int = 80) -> DetectionModel:
    return DetectionModel(*VARIANTS["n"], nc=nc)


def yolov5s(nc: int = 80) -> DetectionModel:
    return DetectionModel(*VARIANTS["s"], nc=nc)


def yolov5m(nc: int = 80) -> DetectionModel:
    return DetectionModel(*VARIANTS["m"], nc=nc)


def yolov5l(nc: int = 80) -> DetectionModel:
    return DetectionModel(*VARIANTS["l"], nc=nc)


def yolov5x(nc: int = 80) -> DetectionModel:
    return DetectionModel(*VARIANTS["x"], nc=nc)
