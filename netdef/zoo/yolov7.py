"""YOLOv7-tiny (WongKinYiu/yolov7, ``cfg/deploy/yolov7-tiny.yaml``) with the repository's state_dict names.

The network is ``model``, a Sequential of the yaml's 78 layers: names read ``model.0.conv.weight``,
``model.7.bn.running_var``, ``model.77.m.0.weight`` and the Detect layer's ``model.77.anchors`` (grid units) and
``model.77.anchor_grid`` (pixels) buffers, so the released ``yolov7-tiny.pt`` (tensorrtx's yolov7 folder) binds
once its ``model.state_dict()`` is exported. Layers read earlier layers' outputs by their yaml "from" indices.

The outputs are the eval-mode Detect's, flattened: the decoded predictions (N, 3 * sum(H_i * W_i), 5 + nc) as
(cx, cy, w, h) in input pixels, objectness and class scores (sigmoid), then the three raw per-scale maps
(N, 3, H/s, W/s, 5 + nc) for strides 8, 16, 32. Batch, height and width may be dynamic; height and width must
be multiples of 32 (checked when the Input is declared), else the upsampled maps miss the skips they meet.
"""

from __future__ import annotations

import math

from netdef import F, Input, SymInt, nn
from netdef.errors import EmitError

#: BatchNorm eps the repository's initialize_weights sets on every BatchNorm2d
BN_EPS = 1e-3

ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))

#: the Detect maps' strides (P3, P4, P5), as the repository measures them when it builds the model
STRIDES = (8, 16, 32)

#: LeakyReLU slope of every yolov7-tiny Conv
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
ARCHITECTURE = (
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


def check_stride(x, stride: int, model: str) -> None:
    """Require the input's height and width (dims 2, 3) to be multiples of ``stride``, the model's largest one.

    When the network is defined, a static size, or a dynamic one whose min or max (over the Input's profiles) is
    no multiple, is an EmitError naming the dim, the multiple and the sizes to use; between min and max, an
    assertion stops the engine and the interpreter at a size that is not one.
    """
    for dim, what in ((2, "height"), (3, "width")):
        n = x.shape[dim]
        symbolic = isinstance(n, SymInt)
        bounds = [b for b in ((n.lo, n.hi) if symbolic else (n,)) if math.isfinite(b)]
        bad = [int(b) for b in bounds if int(b) % stride]
        if bad:
            got = f"the Input's min/max {what} " + "/".join(str(int(b)) for b in bounds) if symbolic else f"{what} {n}"
            fixes = ", ".join(f"{b} -> {max(stride, round(b / stride) * stride)}" for b in bad)
            raise EmitError(
                f"{model} needs the input {what} (x.shape[{dim}]) to be a multiple of {stride} (its largest stride), "
                f"got {got}: declare the Input with multiples of {stride} ({fixes}) and letterbox images to them"
            )
        if symbolic:
            F.sym_check(
                n % stride,
                "==",
                0,
                f"{model} needs the input {what} (x.shape[{dim}]) to be a multiple of {stride} (its largest stride): "
                f"letterbox images to a multiple of {stride}",
            )


def autopad(k: int, p: int | None = None) -> int:
    """'same' padding for an odd kernel."""
    return k // 2 if p is None else p


def plan(nc: int = 80, anchors=ANCHORS, width_multiple: float = 1.0, ch: int = 3) -> list[tuple]:
    """The layers as (absolute froms, module, args) with channel counts filled in (the repository's parse_model)."""
    no = len(anchors[0]) // 2 * (nc + 5)
    channels: list[int] = []  # channels[j]: layer j's output width
    rows = []
    for i, (f, m, args) in enumerate(ARCHITECTURE):
        froms = (f,) if isinstance(f, int) else f
        absolute = tuple(j if j == -1 else j % i for j in froms)  # -1 stays "the previous layer"
        width = [channels[j] if j != -1 else (channels[-1] if i else ch) for j in absolute]
        if m == "Conv":
            c2 = args[0] if args[0] == no else math.ceil(args[0] * width_multiple / 8) * 8
            args, c2 = (width[0], c2, *args[1:]), c2
        elif m == "Concat":
            c2 = sum(width)
        elif m == "Detect":
            args, c2 = (nc, anchors, tuple(width)), no
        else:
            c2 = width[0]
        rows.append((absolute[0] if isinstance(f, int) else absolute, m, args))
        channels.append(c2)
    return rows


class Conv(nn.Module):
    """Conv2d (no bias), BatchNorm2d, LeakyReLU(0.1)."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = nn.LeakyReLU(SLOPE)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


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


MODULES = {"Conv": Conv, "MP": MP, "SP": SP, "Concat": Concat, "Detect": Detect}


class Model(nn.Module):
    """The repository's yolo.Model for yolov7-tiny (inference): ``model`` holds the yaml's layers."""

    def __init__(self, nc: int = 80, anchors=ANCHORS, width_multiple: float = 1.0) -> None:
        super().__init__()
        layers, self.froms = [], []
        for f, m, args in plan(nc, anchors, width_multiple):
            layers.append(nn.Upsample(*args) if m == "Upsample" else MODULES[m](*args))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        #: layers whose output a later layer reads by index
        self.save = {j for f in self.froms for j in ((f,) if isinstance(f, int) else f) if j != -1}

    def forward(self, x):
        check_stride(x, max(STRIDES), "yolov7-tiny")
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
    return Model(nc=nc)
