"""Torch twin of netdef.zoo.yolov7: WongKinYiu/yolov7 (commit a207844b1ce82d204ab36d87d496728d3d2348e7)
``models/yolo.py`` Model / Detect and ``models/common.py`` Conv / RepConv (not fused: the released checkpoints'
branches) / SPPCSPC / MP / SP / Concat, built from ``cfg/deploy/yolov7.yaml`` and ``yolov7-tiny.yaml``, with the
repository's state_dict names (``model.N...``).

Written from the repository's source (no PyPI package builds it): BatchNorm eps 1e-3 (its initialize_weights),
``anchors`` divided by the strides as its Model.__init__ does, ``anchor_grid`` in pixels. Forward is the
eval-mode Detect's (decoded predictions, raw maps), flattened to one tuple.
"""

from __future__ import annotations

import torch
from torch import nn

from netdef.zoo.yolov7 import ANCHORS, BN_EPS, SLOPE, STRIDES, autopad, plan


def _act(act: str) -> nn.Module:
    return nn.SiLU() if act == "silu" else nn.LeakyReLU(SLOPE)


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act="silu"):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class RepConv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1, p: int | None = None, g: int = 1, act="silu"):
        super().__init__()
        assert k == 3 and autopad(k, p) == 1
        padding_11 = autopad(k, p) - k // 2
        self.act = _act(act)
        self.rbr_identity = nn.BatchNorm2d(c1, eps=BN_EPS, momentum=0.03) if c2 == c1 and s == 1 else None
        self.rbr_dense = nn.Sequential(
            nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False),
            nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03),
        )
        self.rbr_1x1 = nn.Sequential(
            nn.Conv2d(c1, c2, 1, s, padding_11, groups=g, bias=False),
            nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        id_out = 0 if self.rbr_identity is None else self.rbr_identity(inputs)
        return self.act(self.rbr_dense(inputs) + self.rbr_1x1(inputs) + id_out)


class SPPCSPC(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1, e: float = 0.5, k=(5, 9, 13)):
        super().__init__()
        c_ = int(2 * c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(c_, c_, 3, 1)
        self.cv4 = Conv(c_, c_, 1, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k])
        self.cv5 = Conv(4 * c_, c_, 1, 1)
        self.cv6 = Conv(c_, c_, 3, 1)
        self.cv7 = Conv(2 * c_, c2, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y1 = self.cv6(self.cv5(torch.cat([x1] + [m(x1) for m in self.m], 1)))
        y2 = self.cv2(x)
        return self.cv7(torch.cat((y1, y2), dim=1))


class MP(nn.Module):
    def __init__(self, k: int = 2) -> None:
        super().__init__()
        self.m = nn.MaxPool2d(kernel_size=k, stride=k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x)


class SP(nn.Module):
    def __init__(self, k: int = 3, s: int = 1) -> None:
        super().__init__()
        self.m = nn.MaxPool2d(kernel_size=k, stride=s, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x)


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
        self.stride = torch.tensor(STRIDES, dtype=torch.float32)
        a = torch.tensor(anchors).float().view(self.nl, -1, 2)
        self.register_buffer("anchors", a)
        self.register_buffer("anchor_grid", a.clone().view(self.nl, 1, -1, 1, 1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)

    def forward(self, x: list[torch.Tensor]):
        raw, z = [], []
        for i in range(self.nl):
            y = self.m[i](x[i])
            bs, _, ny, nx = y.shape
            y = y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            raw.append(y)
            yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).float()
            s = y.sigmoid()
            xy = (s[..., 0:2] * 2.0 - 0.5 + grid) * self.stride[i]
            wh = (s[..., 2:4] * 2) ** 2 * self.anchor_grid[i]
            z.append(torch.cat((xy, wh, s[..., 4:]), -1).view(bs, -1, self.no))
        return torch.cat(z, 1), raw


MODULES = {
    "Conv": Conv,
    "RepConv": RepConv,
    "SPPCSPC": SPPCSPC,
    "MP": MP,
    "SP": SP,
    "Concat": Concat,
    "Detect": Detect,
}


class Model(nn.Module):
    def __init__(self, name: str = "yolov7-tiny", nc: int = 80, width_multiple: float = 1.0) -> None:
        super().__init__()
        layers, self.froms = [], []
        for f, m, args in plan(name, nc, width_multiple):
            layers.append(nn.Upsample(*args) if m == "Upsample" else MODULES[m](*args))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        self.save = {j for f in self.froms for j in ((f,) if isinstance(f, int) else f) if j != -1}
        detect = self.model[-1]
        detect.anchors /= detect.stride.view(-1, 1, 1)  # the repository keeps ``anchors`` in grid units

    def forward(self, x: torch.Tensor):
        outputs = {}
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i in self.save:
                outputs[i] = x
        pred, raw = x
        return (pred, *raw)


def yolov7_tiny(nc: int = 80) -> Model:
    return Model("yolov7-tiny", nc=nc)


def yolov7(nc: int = 80, width_multiple: float = 1.0) -> Model:
    return Model("yolov7", nc=nc, width_multiple=width_multiple)
