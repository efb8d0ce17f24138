"""YOLOv5 (v6.0+ P5 models n/s/m/l/x) with ultralytics' module tree and state_dict names.

The network is ``model``: a Sequential of the yaml's layers, so names read ``model.0.conv.weight``,
``model.2.cv1.bn.running_mean``, ``model.2.m.0.cv1.conv.weight``, ``model.24.m.0.weight`` and the Detect
layer's ``model.24.anchors`` buffer. Layers with several inputs take them from earlier layers' outputs
("from" indices), as ultralytics routes them. The outputs are Detect's raw per-scale maps, each
(N, anchors, H/stride, W/stride, 5 + classes) before the sigmoid and box decoding (strides 8, 16, 32).
Height and width may be dynamic; as in ultralytics they must be multiples of 32 (the largest stride), else
the upsampled maps do not match the skips they are concatenated with.
"""

from __future__ import annotations

import math

from netdef import F, Input, nn
from netdef.context import current
from netdef.symbolic import SymInt

#: BatchNorm settings ultralytics applies to every YOLOv5 BatchNorm2d (initialize_weights)
BN_EPS = 1e-3

ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))

#: (from, repeats, module, args) rows of yolov5{n,s,m,l,x}.yaml (v6.0): backbone, then PANet head
ARCHITECTURE = (
    (-1, 1, "Conv", (64, 6, 2, 2)),  # 0 P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1 P2/4
    (-1, 3, "C3", (128,)),
    (-1, 1, "Conv", (256, 3, 2)),  # 3 P3/8
    (-1, 6, "C3", (256,)),
    (-1, 1, "Conv", (512, 3, 2)),  # 5 P4/16
    (-1, 9, "C3", (512,)),
    (-1, 1, "Conv", (1024, 3, 2)),  # 7 P5/32
    (-1, 3, "C3", (1024,)),
    (-1, 1, "SPPF", (1024, 5)),  # 9
    (-1, 1, "Conv", (512, 1, 1)),  # 10
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 6), 1, "Concat", (1,)),  # cat backbone P4
    (-1, 3, "C3", (512, False)),  # 13
    (-1, 1, "Conv", (256, 1, 1)),  # 14
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 4), 1, "Concat", (1,)),  # cat backbone P3
    (-1, 3, "C3", (256, False)),  # 17 (P3/8 small)
    (-1, 1, "Conv", (256, 3, 2)),
    ((-1, 14), 1, "Concat", (1,)),  # cat head P4
    (-1, 3, "C3", (512, False)),  # 20 (P4/16 medium)
    (-1, 1, "Conv", (512, 3, 2)),
    ((-1, 10), 1, "Concat", (1,)),  # cat head P5
    (-1, 3, "C3", (1024, False)),  # 23 (P5/32 large)
    ((17, 20, 23), 1, "Detect", ()),  # 24
)

#: the Detect maps' strides (P3, P4, P5)
STRIDES = (8, 16, 32)

#: (depth_multiple, width_multiple) of the released P5 models
VARIANTS = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}


def autopad(k: int, p: int | None = None, d: int = 1) -> int:
    """'same' padding for an odd kernel."""
    if d > 1:
        k = d * (k - 1) + 1
    return k // 2 if p is None else p


def make_divisible(x: float, divisor: int = 8) -> int:
    return math.ceil(x / divisor) * divisor


def plan(depth_multiple: float, width_multiple: float, nc: int, anchors=ANCHORS, ch: int = 3) -> list[tuple]:
    """The layers as (from, module, args) with channel counts and repeats scaled (ultralytics' parse_model)."""
    na = len(anchors[0]) // 2
    no = na * (nc + 5)
    channels = [ch]  # channels[f]: the output width of layer f (after layer 0; the image's before it)
    rows = []
    for i, (f, n, m, args) in enumerate(ARCHITECTURE):
        n = max(round(n * depth_multiple), 1) if n > 1 else n
        if m in ("Conv", "C3", "SPPF"):
            c1, c2 = channels[f], args[0]
            if c2 != no:
                c2 = make_divisible(c2 * width_multiple, 8)
            args = (c1, c2, *args[1:])
            if m == "C3":
                args = (*args[:2], n, *args[2:])
        elif m == "Concat":
            c2 = sum(channels[x] for x in f)
        elif m == "Detect":
            args = (nc, anchors, tuple(channels[x] for x in f))
            c2 = no
        else:
            c2 = channels[f]
        rows.append((f, m, args))
        channels = [*channels, c2] if i else [c2]
    return rows


def check_stride(x, stride: int, model: str) -> None:
    """Require the input's height and width (dims 2, 3) to be multiples of ``stride``, the model's largest one.

    Checked when the network is defined: a static size, or a dynamic size whose smallest min or largest max
    (over the Input's profiles) is not a multiple, is an EmitError naming the dim, the multiple and the sizes to
    use; between min and max, an assertion stops the engine and the interpreter at a size that is not one (the
    upsampled maps would otherwise not match the skips they are concatenated with, deep inside the network).
    """
    ctx = current()
    for dim, what in ((2, "height"), (3, "width")):
        n = x.shape[dim]
        if isinstance(n, SymInt):
            bad = [int(b) for b in (n.lo, n.hi) if math.isfinite(b) and int(b) % stride]
            got = f"the Input's min/max {what} " + "/".join(
                str(int(b)) if math.isfinite(b) else "?" for b in (n.lo, n.hi)
            )
        else:
            bad = [n] if n % stride else []
            got = f"{what} {n}"
        if bad:
            fixes = ", ".join(f"{b} -> {max(stride, round(b / stride) * stride)}" for b in bad)
            raise ctx.error(
                "input",
                f"{model} needs the input {what} (x.shape[{dim}]) to be a multiple of {stride} (its largest stride), "
                f"got {got}: declare the Input with multiples of {stride} ({fixes}) and letterbox images to them",
            )
        if isinstance(n, SymInt):
            F.sym_check(
                n % stride,
                "==",
                0,
                f"{model} needs the input {what} (x.shape[{dim}]) to be a multiple of {stride} (its largest stride): "
                f"letterbox images to a multiple of {stride}",
            )


class Conv(nn.Module):
    """Conv2d (no bias), BatchNorm2d, SiLU."""

    def __init__(
        self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1, d: int = 1, act=True
    ):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=0.03)
        self.act = nn.SiLU() if act is True else (act if isinstance(act, nn.Module) else nn.Identity())

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


class C3(nn.Module):
    """CSP bottleneck with 3 convs: cv3(cat(m(cv1(x)), cv2(x)))."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(F.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained k x k stride-1 max pools, concatenated with their input."""

    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(F.cat([x, y1, y2, self.m(y2)], 1))


class Concat(nn.Module):
    """torch.cat of a list of tensors along ``dimension``."""

    def __init__(self, dimension: int = 1) -> None:
        super().__init__()
        self.d = dimension

    def forward(self, xs):
        return F.cat(list(xs), self.d)


class Detect(nn.Module):
    """One 1x1 conv per scale to anchors x (5 + classes); returns the maps as (N, na, H, W, 5 + nc)."""

    def __init__(self, nc: int = 80, anchors=ANCHORS, ch=()) -> None:
        super().__init__()
        self.nc, self.no = nc, nc + 5
        self.nl, self.na = len(anchors), len(anchors[0]) // 2
        self.register_buffer("anchors", nn.Parameter(self.nl, self.na, 2))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)

    def forward(self, xs):
        out = []
        for conv, x in zip(self.m, xs):
            y = conv(x)
            bs, _, ny, nx = y.shape
            out.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2))
        return out


MODULES = {"Conv": Conv, "C3": C3, "SPPF": SPPF, "Concat": Concat, "Detect": Detect}


class DetectionModel(nn.Module):
    """ultralytics yolov5 DetectionModel (inference, raw head): ``model`` holds the 25 layers."""

    def __init__(self, depth_multiple: float = 0.33, width_multiple: float = 0.50, nc: int = 80, anchors=ANCHORS):
        super().__init__()
        layers, self.froms = [], []
        for f, m, args in plan(depth_multiple, width_multiple, nc, anchors):
            layers.append(nn.Upsample(*args) if m == "Upsample" else MODULES[m](*args))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        #: layers whose output a later layer reads by index
        self.save = {j for f in self.froms if f != -1 for j in ((f,) if isinstance(f, int) else f) if j != -1}

    def forward(self, x):
        check_stride(x, max(STRIDES), "yolov5")
        outputs: dict[int, object] = {}
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i in self.save:
                outputs[i] = x
        return tuple(x)

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 640, 640))}


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
