"""YOLOv7 and YOLOv7-tiny (WongKinYiu/yolov7, ``cfg/deploy/yolov7.yaml`` / ``yolov7-tiny.yaml``) with the
repository's state_dict names.

The network is ``model``, a Sequential of the yaml's layers: names read ``model.0.conv.weight``,
``model.7.bn.running_var``, ``model.102.rbr_dense.0.weight`` (YOLOv7's RepConv, as the released checkpoint keeps
it: 3x3 and 1x1 branches with their BatchNorms), ``model.77.m.0.weight`` and the Detect layer's (``model.77`` in
yolov7-tiny, ``model.105`` in YOLOv7) ``anchors`` (grid units) and ``anchor_grid`` (pixels) buffers, so the
released ``yolov7.pt`` and ``yolov7-tiny.pt`` (tensorrtx's yolov7 folder) bind once their ``model.state_dict()``
is exported. Layers read earlier layers' outputs by their yaml "from" indices.

The outputs are the eval-mode Detect's, flattened: the decoded predictions (N, 3 * sum(H_i * W_i), 5 + nc) as
(cx, cy, w, h) in input pixels, objectness and class scores (sigmoid), then the three raw per-scale maps
(N, 3, H/s, W/s, 5 + nc) for strides 8, 16, 32. Batch, height and width may be dynamic; height and width must
be multiples of 32 (checked when the Input is declared), else the upsampled maps miss the skips they meet.
"""

from __future__ import annotations

import math

from netdef import F, Input, nn
from netdef.zoo.yolov5 import check_stride

#: BatchNorm eps the repository's initialize_weights sets on every BatchNorm2d
BN_EPS = 1e-3

#: yolov7-tiny's anchors (pixels; YOLOv7's are in ARCHITECTURES)
ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))

#: the Detect maps' strides (P3, P4, P5), as the repository measures them when it builds the model
STRIDES = (8, 16, 32)

#: LeakyReLU slope of every yolov7-tiny Conv (YOLOv7's are SiLU)
SLOPE = 0.1


def _elan(c: int) -> list[tuple]:
    """The tiny ELAN block: two 1x1 branches, two 3x3 convs on the second, the four concatenated, a 1x1 to 2c."""
    return [
        (-1, "Conv", (c, 1, 1)),
        (-2, "Conv", (c, 1, 1)),
        (-1, "Conv", (c, 3, 1)),
        (-1, "Conv", (c, 3, 1)),
        ((-1, -2, -3, -4), "Concat", (1,)),
        (-1, "Conv", (2 * c, 1, 1)),
    ]


#: (from, module, args) rows of cfg/deploy/yolov7-tiny.yaml; every Conv has LeakyReLU(0.1)
TINY = (
    (-1, "Conv", (32, 3, 2)),  # 0 P1/2
    (-1, "Conv", (64, 3, 2)),  # 1 P2/4
    *_elan(32),  # 2-7
    (-1, "MP", ()),  # 8 P3/8
    *_elan(64),  # 9-14
    (-1, "MP", ()),  # 15 P4/16
    *_elan(128),  # 16-21
    (-1, "MP", ()),  # 22 P5/32
    *_elan(256),  # 23-28
    # head: SPP-CSP
    (-1, "Conv", (256, 1, 1)),  # 29
    (-2, "Conv", (256, 1, 1)),
    (-1, "SP", (5,)),
    (-2, "SP", (9,)),
    (-3, "SP", (13,)),
    ((-1, -2, -3, -4), "Concat", (1,)),
    (-1, "Conv", (256, 1, 1)),
    ((-1, -7), "Concat", (1,)),
    (-1, "Conv", (256, 1, 1)),  # 37
    (-1, "Conv", (128, 1, 1)),
    (-1, "Upsample", (None, 2, "nearest")),
    (21, "Conv", (128, 1, 1)),  # route backbone P4
    ((-1, -2), "Concat", (1,)),
    *_elan(64),  # 42-47
    (-1, "Conv", (64, 1, 1)),
    (-1, "Upsample", (None, 2, "nearest")),
    (14, "Conv", (64, 1, 1)),  # route backbone P3
    ((-1, -2), "Concat", (1,)),
    *_elan(32),  # 52-57
    (-1, "Conv", (128, 3, 2)),
    ((-1, 47), "Concat", (1,)),
    *_elan(64),  # 60-65
    (-1, "Conv", (256, 3, 2)),
    ((-1, 37), "Concat", (1,)),
    *_elan(128),  # 68-73
    (57, "Conv", (128, 3, 1)),
    (65, "Conv", (256, 3, 1)),
    (73, "Conv", (512, 3, 1)),
    ((74, 75, 76), "Detect", ()),  # 77
)


def _elan_backbone(c: int) -> list[tuple]:
    """YOLOv7's backbone ELAN: two 1x1 branches, four 3x3 convs on the second, every other one concatenated."""
    return [
        (-1, "Conv", (c, 1, 1)),
        (-2, "Conv", (c, 1, 1)),
        *[(-1, "Conv", (c, 3, 1))] * 4,
        ((-1, -3, -5, -6), "Concat", (1,)),
        (-1, "Conv", (4 * c, 1, 1)),
    ]


def _elan_head(c: int) -> list[tuple]:
    """YOLOv7's head ELAN: two 1x1 branches to c, four 3x3 convs to c/2 on the second, all six concatenated."""
    return [
        (-1, "Conv", (c, 1, 1)),
        (-2, "Conv", (c, 1, 1)),
        *[(-1, "Conv", (c // 2, 3, 1))] * 4,
        ((-1, -2, -3, -4, -5, -6), "Concat", (1,)),
        (-1, "Conv", (c, 1, 1)),
    ]


def _down(c: int, *skips: int) -> list[tuple]:
    """YOLOv7's downsampling: a max pool and 1x1 beside a 1x1 and stride-2 3x3, concatenated (with ``skips``)."""
    return [
        (-1, "MP", ()),
        (-1, "Conv", (c, 1, 1)),
        (-3, "Conv", (c, 1, 1)),
        (-1, "Conv", (c, 3, 2)),
        ((-1, -3, *skips), "Concat", (1,)),
    ]


#: (from, module, args) rows of cfg/deploy/yolov7.yaml; every Conv and RepConv has SiLU
YOLOV7 = (
    (-1, "Conv", (32, 3, 1)),  # 0
    (-1, "Conv", (64, 3, 2)),  # 1 P1/2
    (-1, "Conv", (64, 3, 1)),
    (-1, "Conv", (128, 3, 2)),  # 3 P2/4
    *_elan_backbone(64),  # 4-11
    *_down(128),  # 12-16 P3/8
    *_elan_backbone(128),  # 17-24
    *_down(256),  # 25-29 P4/16
    *_elan_backbone(256),  # 30-37
    *_down(512),  # 38-42 P5/32
    *_elan_backbone(256),  # 43-50
    (-1, "SPPCSPC", (512,)),  # 51
    (-1, "Conv", (256, 1, 1)),
    (-1, "Upsample", (None, 2, "nearest")),
    (37, "Conv", (256, 1, 1)),  # route backbone P4
    ((-1, -2), "Concat", (1,)),
    *_elan_head(256),  # 56-63
    (-1, "Conv", (128, 1, 1)),
    (-1, "Upsample", (None, 2, "nearest")),
    (24, "Conv", (128, 1, 1)),  # route backbone P3
    ((-1, -2), "Concat", (1,)),
    *_elan_head(128),  # 68-75
    *_down(128, 63),  # 76-80
    *_elan_head(256),  # 81-88
    *_down(256, 51),  # 89-93
    *_elan_head(512),  # 94-101
    (75, "RepConv", (256, 3, 1)),
    (88, "RepConv", (512, 3, 1)),
    (101, "RepConv", (1024, 3, 1)),
    ((102, 103, 104), "Detect", ()),  # 105
)

#: model name -> (rows, anchors, activation of its Conv / RepConv)
ARCHITECTURES = {
    "yolov7-tiny": (TINY, ANCHORS, "leaky"),
    "yolov7": (YOLOV7, ((12, 16, 19, 36, 40, 28), (36, 75, 76, 55, 72, 146), (142, 110, 192, 243, 459, 401)), "silu"),
}


def autopad(k: int, p: int | None = None) -> int:
    """'same' padding for an odd kernel."""
    return k // 2 if p is None else p


def plan(name: str = "yolov7-tiny", nc: int = 80, width_multiple: float = 1.0, ch: int = 3) -> list[tuple]:
    """The layers as (absolute froms, module, args) with channel counts filled in (the repository's parse_model);
    Conv and RepConv args end with the model's activation."""
    if name not in ARCHITECTURES:
        raise ValueError(f"no YOLOv7 model {name!r}; known: {', '.join(ARCHITECTURES)}")
    architecture, anchors, act = ARCHITECTURES[name]
    no = len(anchors[0]) // 2 * (nc + 5)
    channels: list[int] = []  # channels[j]: layer j's output width
    rows = []
    for i, (f, m, args) in enumerate(architecture):
        froms = (f,) if isinstance(f, int) else f
        absolute = tuple(j if j == -1 else j % i for j in froms)  # -1 stays "the previous layer"
        width = [channels[j] if j != -1 else (channels[-1] if i else ch) for j in absolute]
        if m in ("Conv", "RepConv", "SPPCSPC"):
            c2 = args[0] if args[0] == no else math.ceil(args[0] * width_multiple / 8) * 8
            args = (width[0], c2, *args[1:], None, 1, act) if m != "SPPCSPC" else (width[0], c2)
        elif m == "Concat":
            c2 = sum(width)
        elif m == "Detect":
            args, c2 = (nc, anchors, tuple(width)), no
        else:
            c2 = width[0]
        rows.append((absolute[0] if isinstance(f, int) else absolute, m, args))
        channels.append(c2)
    return rows


def activation(act: str):
    """SiLU (``silu``, the repository's default) or LeakyReLU(0.1) (``leaky``, yolov7-tiny's)."""
    if act not in ("silu", "leaky"):
        raise ValueError(f"YOLOv7 activation {act!r}; known: silu, leaky")
    return nn.SiLU() if act == "silu" else nn.LeakyReLU(SLOPE)


class Conv(nn.Module):
    """Conv2d (no bias), BatchNorm2d, SiLU or LeakyReLU(0.1)."""

    def __init__(
        self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, act: str = "silu"
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = activation(act)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class RepConv(nn.Module):
    """RepVGG-style 3x3: act(BN(conv3x3(x)) + BN(conv1x1(x)) [+ BN(x) when the widths match at stride 1]), as the
    released checkpoints keep it (``rbr_dense``, ``rbr_1x1``, ``rbr_identity``)."""

    def __init__(
        self, c1: int, c2: int, k: int = 3, s: int = 1, p: int | None = None, g: int = 1, act: str = "silu"
    ) -> None:
        super().__init__()
        if k != 3 or autopad(k, p) != 1:
            raise ValueError(f"RepConv takes a 3x3 kernel with padding 1, got k={k}, p={p}")
        self.act = activation(act)
        self.rbr_identity = nn.BatchNorm2d(c1, eps=BN_EPS, momentum=0.03) if c2 == c1 and s == 1 else None
        self.rbr_dense = nn.Sequential(
            nn.Conv2d(c1, c2, k, s, 1, groups=g, bias=False), nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        )
        self.rbr_1x1 = nn.Sequential(
            nn.Conv2d(c1, c2, 1, s, 0, groups=g, bias=False), nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        )

    def forward(self, x):
        y = self.rbr_dense(x) + self.rbr_1x1(x)
        return self.act(y if self.rbr_identity is None else y + self.rbr_identity(x))


class SPPCSPC(nn.Module):
    """CSP spatial pyramid pooling: 1x1, 3x3, 1x1, then 5/9/13 max pools concatenated, 1x1, 3x3, beside a 1x1
    bypass, concatenated and fused (1x1)."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1, e: float = 0.5, k=(5, 9, 13)):
        super().__init__()
        c_ = int(2 * c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(c_, c_, 3, 1)
        self.cv4 = Conv(c_, c_, 1, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k)
        self.cv5 = Conv(4 * c_, c_, 1, 1)
        self.cv6 = Conv(c_, c_, 3, 1)
        self.cv7 = Conv(2 * c_, c2, 1, 1)

    def forward(self, x):
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y1 = self.cv6(self.cv5(F.cat([x1, *(m(x1) for m in self.m)], 1)))
        return self.cv7(F.cat([y1, self.cv2(x)], 1))


class MP(nn.Module):
    """2x2 max pool, stride 2."""

    def __init__(self, k: int = 2) -> None:
        super().__init__()
        self.m = nn.MaxPool2d(kernel_size=k, stride=k)

    def forward(self, x):
        return self.m(x)


class SP(nn.Module):
    """k x k max pool, stride 1, 'same' padding."""

    def __init__(self, k: int = 3, s: int = 1) -> None:
        super().__init__()
        self.m = nn.MaxPool2d(kernel_size=k, stride=s, padding=k // 2)

    def forward(self, x):
        return self.m(x)


class Concat(nn.Module):
    """torch.cat of a list of tensors along ``dimension``."""

    def __init__(self, dimension: int = 1) -> None:
        super().__init__()
        self.d = dimension

    def forward(self, xs):
        return F.cat(list(xs), self.d)


class Detect(nn.Module):
    """One 1x1 conv per scale to anchors x (5 + nc), decoded as the repository's eval-mode Detect.

    Returns (decoded (N, sum(na * H_i * W_i), 5 + nc), [raw maps (N, na, H_i, W_i, 5 + nc)]): xy is
    (2 sigmoid - 0.5 + cell) * stride, wh is (2 sigmoid)^2 * ``anchor_grid`` (the checkpoint's pixel anchors).
    """

    def __init__(self, nc: int = 80, anchors=ANCHORS, ch=(), strides: tuple[int, ...] = STRIDES) -> None:
        super().__init__()
        self.nc, self.no = nc, nc + 5
        self.nl, self.na = len(anchors), len(anchors[0]) // 2
        self.strides = tuple(strides)
        self.register_buffer("anchors", nn.Parameter(self.nl, self.na, 2))
        self.register_buffer("anchor_grid", nn.Parameter(self.nl, 1, self.na, 1, 1, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)

    def forward(self, xs):
        raw, decoded = [], []
        for i, (conv, x) in enumerate(zip(self.m, xs)):
            y = conv(x)
            bs, _, ny, nx = y.shape
            y = y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
            raw.append(y)
            s = y.sigmoid()
            gx = F.arange(nx).to(s.dtype)[None, :].expand(ny, nx)
            gy = F.arange(ny).to(s.dtype)[:, None].expand(ny, nx)
            grid = F.stack([gx, gy], 2)[None, None]  # (1, 1, ny, nx, 2) as (x, y)
            xy = (s[..., 0:2] * 2.0 - 0.5 + grid) * float(self.strides[i])
            wh = (s[..., 2:4] * 2.0) ** 2 * self.anchor_grid[i]
            decoded.append(F.cat([xy, wh, s[..., 4:]], -1).reshape(bs, -1, self.no))
        return F.cat(decoded, 1), raw


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
    """The repository's yolo.Model for ``name`` (inference): ``model`` holds the yaml's layers."""

    def __init__(self, name: str = "yolov7-tiny", nc: int = 80, width_multiple: float = 1.0) -> None:
        super().__init__()
        self.name = name
        layers, self.froms = [], []
        for f, m, args in plan(name, nc, width_multiple):
            layers.append(nn.Upsample(*args) if m == "Upsample" else MODULES[m](*args))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        #: layers whose output a later layer reads by index
        self.save = {j for f in self.froms for j in ((f,) if isinstance(f, int) else f) if j != -1}

    def forward(self, x):
        check_stride(x, max(STRIDES), self.name)
        outputs: dict[int, object] = {}
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i in self.save:
                outputs[i] = x
        pred, raw = x
        return (pred, *raw)

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 640, 640))}


def yolov7_tiny(nc: int = 80) -> Model:
    """yolov7-tiny (6.2M parameters at 80 classes)."""
    return Model("yolov7-tiny", nc=nc)


def yolov7(nc: int = 80, width_multiple: float = 1.0) -> Model:
    """YOLOv7 (36.9M parameters at 80 classes); ``width_multiple`` < 1 narrows every layer (CI sizes)."""
    return Model("yolov7", nc=nc, width_multiple=width_multiple)
