"""YOLOP (hustvl/YOLOP, ``lib/models/YOLOP.py``): one encoder, a YOLOv5-style detection head and two segmentation
heads (drivable area, lane lines), with the repository's state_dict names.

The network is ``model``, a Sequential of the 43 rows of the repository's ``YOLOP`` table: names read
``model.0.conv.conv.weight`` (Focus), ``model.2.cv2.weight`` (BottleneckCSP), ``model.24.m.0.weight`` and the
Detect layer's ``model.24.anchors`` / ``model.24.anchor_grid`` buffers, ``model.33.conv.weight`` (drivable area)
and ``model.42.conv.weight`` (lane lines), so ``weights/End-to-end.pth`` (tensorrtx's yolop folder) binds once its
``state_dict`` is exported. What tensorrtx does in a CUDA plugin (the Detect decode) is TensorRT layers here.

Outputs, as the repository's eval-mode forward returns them (flattened): the decoded detections
(N, 3 * sum(H_i * W_i), 6) as (cx, cy, w, h) in pixels, objectness, class score; the three raw per-scale maps
(N, 3, H/s, W/s, 6); the drivable-area and lane-line maps (N, 2, H, W), sigmoid applied. Batch, height and width
may be dynamic; height and width must be multiples of 32 (checked when the Input is declared).
"""

from __future__ import annotations

from functools import partial

from netdef import F, Input, nn
from netdef.zoo.yolov5 import check_stride
from netdef.zoo.yolov7 import Concat, Detect, autopad

#: BatchNorm eps the repository's initialize_weights sets on every BatchNorm2d
BN_EPS = 1e-3

#: anchors of the one class (vehicles), P3/8, P4/16, P5/32
ANCHORS = ((3, 9, 5, 11, 4, 20), (7, 18, 6, 39, 12, 31), (19, 50, 38, 81, 68, 157))

#: the Detect maps' strides, as the repository measures them (a 128x128 forward)
STRIDES = (8, 16, 32)


def _seg_head() -> list[tuple]:
    """One segmentation branch, from layer 16 (stride 8) up to the input size: 2 channels."""
    return [
        (16, "Conv", (256, 128, 3, 1)),
        (-1, "Upsample", (None, 2, "nearest")),
        (-1, "BottleneckCSP", (128, 64, 1, False)),
        (-1, "Conv", (64, 32, 3, 1)),
        (-1, "Upsample", (None, 2, "nearest")),
        (-1, "Conv", (32, 16, 3, 1)),
        (-1, "BottleneckCSP", (16, 8, 1, False)),
        (-1, "Upsample", (None, 2, "nearest")),
        (-1, "Conv", (8, 2, 3, 1)),
    ]


#: (from, module, args) rows of the repository's YOLOP table (channels written out, as there)
ARCHITECTURE = (
    (-1, "Focus", (3, 32, 3)),  # 0
    (-1, "Conv", (32, 64, 3, 2)),
    (-1, "BottleneckCSP", (64, 64, 1)),
    (-1, "Conv", (64, 128, 3, 2)),
    (-1, "BottleneckCSP", (128, 128, 3)),  # 4
    (-1, "Conv", (128, 256, 3, 2)),
    (-1, "BottleneckCSP", (256, 256, 3)),  # 6
    (-1, "Conv", (256, 512, 3, 2)),
    (-1, "SPP", (512, 512, (5, 9, 13))),
    (-1, "BottleneckCSP", (512, 512, 1, False)),
    (-1, "Conv", (512, 256, 1, 1)),  # 10
    (-1, "Upsample", (None, 2, "nearest")),
    ((-1, 6), "Concat", (1,)),
    (-1, "BottleneckCSP", (512, 256, 1, False)),
    (-1, "Conv", (256, 128, 1, 1)),  # 14
    (-1, "Upsample", (None, 2, "nearest")),
    ((-1, 4), "Concat", (1,)),  # 16: the encoder's output
    (-1, "BottleneckCSP", (256, 128, 1, False)),  # 17
    (-1, "Conv", (128, 128, 3, 2)),
    ((-1, 14), "Concat", (1,)),
    (-1, "BottleneckCSP", (256, 256, 1, False)),  # 20
    (-1, "Conv", (256, 256, 3, 2)),
    ((-1, 10), "Concat", (1,)),
    (-1, "BottleneckCSP", (512, 512, 1, False)),  # 23
    ((17, 20, 23), "Detect", (1, ANCHORS, (128, 256, 512))),  # 24
    *_seg_head(),  # 25-33 drivable area
    *_seg_head(),  # 34-42 lane lines
)

#: the rows whose outputs are returned: detection, drivable area, lane lines
DETECT, SEGMENTS = 24, (33, 42)


class Conv(nn.Module):
    """Conv2d (no bias), BatchNorm2d, Hardswish."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = nn.Hardswish() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """1x1 Conv, 3x3 Conv, plus the input when ``shortcut`` and the widths match."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class BottleneckCSP(nn.Module):
    """CSP bottleneck: cv4(LeakyReLU(bn(cat(cv3(m(cv1(x))), cv2(x))))), cv2/cv3 plain 1x1 convs."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1, 1)
        self.bn = nn.BatchNorm2d(2 * c_, eps=BN_EPS, momentum=0.03)
        self.act = nn.LeakyReLU(0.1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x):
        y1 = self.cv3(self.m(self.cv1(x)))
        return self.cv4(self.act(self.bn(F.cat([y1, self.cv2(x)], 1))))


class SPP(nn.Module):
    """Spatial pyramid pooling: the input and its k x k stride-1 max pools (k in ``k``), concatenated."""

    def __init__(self, c1: int, c2: int, k=(5, 9, 13)) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * (len(k) + 1), c2, 1, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k)

    def forward(self, x):
        x = self.cv1(x)
        return self.cv2(F.cat([x, *(m(x) for m in self.m)], 1))


class Focus(nn.Module):
    """Space-to-depth by 2 (the four pixel phases stacked on channels), then a Conv."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act=True):
        super().__init__()
        self.conv = Conv(c1 * 4, c2, k, s, p, g, act)

    def forward(self, x):
        return self.conv(F.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1))


MODULES = {
    "Focus": Focus,
    "Conv": Conv,
    "BottleneckCSP": BottleneckCSP,
    "SPP": SPP,
    "Concat": Concat,
    "Detect": partial(Detect, strides=STRIDES),
    "Upsample": nn.Upsample,
}


class MCnet(nn.Module):
    """The repository's MCnet built from the YOLOP table (inference): ``model`` holds the 43 layers."""

    def __init__(self) -> None:
        super().__init__()
        self.froms = [f for f, _, _ in ARCHITECTURE]
        self.model = nn.Sequential(*(MODULES[m](*args) for _, m, args in ARCHITECTURE))
        #: layers whose output a later layer reads by index
        self.save = {j for f in self.froms for j in ((f,) if isinstance(f, int) else f) if j != -1}

    def forward(self, x):
        check_stride(x, max(STRIDES), "yolop")
        outputs: dict[int, object] = {}
        segments = []
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i == DETECT:
                pred, raw = x
            if i in SEGMENTS:
                segments.append(x.sigmoid())
            if i in self.save:
                outputs[i] = x
        return (pred, *raw, *segments)

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 640, 640))}


def yolop() -> MCnet:
    """YOLOP (7.9M parameters): vehicles, drivable area and lane lines."""
    return MCnet()
