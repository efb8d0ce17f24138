"""YOLOv8 and YOLO11 (detect, segment, pose, obb, classify) with ultralytics' module tree and state_dict names,
decode included.

The network is ``model``: a Sequential of the yaml's layers, as ultralytics' ``DetectionModel('yolov8n.yaml')``
builds it, so names read ``model.0.conv.weight``, ``model.2.m.0.cv1.bn.running_var``, ``model.10.m.0.attn.qkv``
(YOLO11's C2PSA), ``model.22.cv2.0.2.bias`` and ``model.22.dfl.conv.weight`` (Detect). Blocks: Conv, C2f
(YOLOv8), C3k2 / C3k (YOLO11), SPPF, C2PSA (YOLO11's position-sensitive attention), Detect.

The output is what ultralytics' Detect returns in eval mode: (B, 4 + nc, anchors), each anchor's box as
(cx, cy, w, h) in input pixels (distribution focal loss integral, anchor points at cell centres, strides 8, 16,
32), then the sigmoid score of each class. Anchors run over the P3, P4 and P5 maps in row-major order. The input
height and width must be multiples of 32 (checked when the network is defined, and at run time between a dynamic
input's min and max); batch, H and W may be dynamic (the forward is ultralytics' torch code,
``B, C, H, W = x.shape`` included, with symbolic sizes).

The other tasks are the same network with another head, each returning what ultralytics' head returns in eval
(export) mode, and named as ultralytics' checkpoints (:data:`MODELS`: ``yolov8n-seg``, ``yolo11s-pose``, ...):

- segment (Segment): ((B, 4 + nc + 32, anchors), (B, 32, H/4, W/4)): the detection rows then each anchor's 32
  mask coefficients; and the mask prototypes.
- pose (Pose): (B, 4 + nc + 17 * 3, anchors): the detection rows then each keypoint's (x, y) in input pixels and
  its visibility (sigmoid), keypoint by keypoint.
- obb (OBB): (B, 4 + nc + 1, anchors): the rotated box's centre and size (cx, cy, w, h) in input pixels, the class
  scores, then its angle in radians, in [-pi/4, 3pi/4).
- classify (Classify, on the backbone alone): (B, nc) softmax probabilities; any input size.
"""

from __future__ import annotations

import math

from netdef import F, Input, nn
from netdef.zoo import yolov5
from netdef.zoo.yolov5 import SPPF, Concat, Conv, check_stride, make_divisible

#: (from, repeats, module, args) rows of ultralytics' yolov8.yaml: backbone, then the PAN head
YOLOV8 = (
    (-1, 1, "Conv", (64, 3, 2)),  # 0 P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1 P2/4
    (-1, 3, "C2f", (128, True)),
    (-1, 1, "Conv", (256, 3, 2)),  # 3 P3/8
    (-1, 6, "C2f", (256, True)),
    (-1, 1, "Conv", (512, 3, 2)),  # 5 P4/16
    (-1, 6, "C2f", (512, True)),
    (-1, 1, "Conv", (1024, 3, 2)),  # 7 P5/32
    (-1, 3, "C2f", (1024, True)),
    (-1, 1, "SPPF", (1024, 5)),  # 9
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 6), 1, "Concat", (1,)),  # cat backbone P4
    (-1, 3, "C2f", (512,)),  # 12
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 4), 1, "Concat", (1,)),  # cat backbone P3
    (-1, 3, "C2f", (256,)),  # 15 (P3/8 small)
    (-1, 1, "Conv", (256, 3, 2)),
    ((-1, 12), 1, "Concat", (1,)),  # cat head P4
    (-1, 3, "C2f", (512,)),  # 18 (P4/16 medium)
    (-1, 1, "Conv", (512, 3, 2)),
    ((-1, 9), 1, "Concat", (1,)),  # cat head P5
    (-1, 3, "C2f", (1024,)),  # 21 (P5/32 large)
    ((15, 18, 21), 1, "Detect", ()),  # 22
)

#: ultralytics' yolo11.yaml
YOLO11 = (
    (-1, 1, "Conv", (64, 3, 2)),  # 0 P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1 P2/4
    (-1, 2, "C3k2", (256, False, 0.25)),
    (-1, 1, "Conv", (256, 3, 2)),  # 3 P3/8
    (-1, 2, "C3k2", (512, False, 0.25)),
    (-1, 1, "Conv", (512, 3, 2)),  # 5 P4/16
    (-1, 2, "C3k2", (512, True)),
    (-1, 1, "Conv", (1024, 3, 2)),  # 7 P5/32
    (-1, 2, "C3k2", (1024, True)),
    (-1, 1, "SPPF", (1024, 5)),  # 9
    (-1, 2, "C2PSA", (1024,)),  # 10
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 6), 1, "Concat", (1,)),  # cat backbone P4
    (-1, 2, "C3k2", (512, False)),  # 13
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 4), 1, "Concat", (1,)),  # cat backbone P3
    (-1, 2, "C3k2", (256, False)),  # 16 (P3/8 small)
    (-1, 1, "Conv", (256, 3, 2)),
    ((-1, 13), 1, "Concat", (1,)),  # cat head P4
    (-1, 2, "C3k2", (512, False)),  # 19 (P4/16 medium)
    (-1, 1, "Conv", (512, 3, 2)),
    ((-1, 10), 1, "Concat", (1,)),  # cat head P5
    (-1, 2, "C3k2", (1024, True)),  # 22 (P5/32 large)
    ((16, 19, 22), 1, "Detect", ()),  # 23
)

#: ultralytics' yolov5.yaml (the anchor-free "u" models: yolov5nu.pt ...): C3 blocks, the v8 Detect head
YOLOV5U = (
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
    (-1, 1, "Conv", (512, 1, 1)),
    (-1, 1, "Upsample", (None, 2, "nearest")),
    ((-1, 6), 1, "Concat", (1,)),  # cat backbone P4
    (-1, 3, "C3", (512, False)),  # 13
    (-1, 1, "Conv", (256, 1, 1)),
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

#: ultralytics' yolov6.yaml: plain Conv stacks (ReLU), transposed-conv upsampling, the v8 Detect head
YOLOV6 = (
    (-1, 1, "Conv", (64, 3, 2)),  # 0 P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1 P2/4
    (-1, 6, "Conv", (128, 3, 1)),
    (-1, 1, "Conv", (256, 3, 2)),  # 3 P3/8
    (-1, 12, "Conv", (256, 3, 1)),
    (-1, 1, "Conv", (512, 3, 2)),  # 5 P4/16
    (-1, 18, "Conv", (512, 3, 1)),
    (-1, 1, "Conv", (1024, 3, 2)),  # 7 P5/32
    (-1, 6, "Conv", (1024, 3, 1)),
    (-1, 1, "SPPF", (1024, 5)),  # 9
    (-1, 1, "Conv", (256, 1, 1)),
    (-1, 1, "ConvTranspose2d", (256, 2, 2, 0)),
    ((-1, 6), 1, "Concat", (1,)),  # cat backbone P4
    (-1, 1, "Conv", (256, 3, 1)),
    (-1, 9, "Conv", (256, 3, 1)),  # 14
    (-1, 1, "Conv", (128, 1, 1)),
    (-1, 1, "ConvTranspose2d", (128, 2, 2, 0)),
    ((-1, 4), 1, "Concat", (1,)),  # cat backbone P3
    (-1, 1, "Conv", (128, 3, 1)),
    (-1, 9, "Conv", (128, 3, 1)),  # 19
    (-1, 1, "Conv", (128, 3, 2)),
    ((-1, 15), 1, "Concat", (1,)),  # cat head P4
    (-1, 1, "Conv", (256, 3, 1)),
    (-1, 9, "Conv", (256, 3, 1)),  # 23
    (-1, 1, "Conv", (256, 3, 2)),
    ((-1, 10), 1, "Concat", (1,)),  # cat head P5
    (-1, 1, "Conv", (512, 3, 1)),
    (-1, 9, "Conv", (512, 3, 1)),  # 27
    ((19, 23, 27), 1, "Detect", ()),  # 28
)

#: (architecture, {scale: (depth_multiple, width_multiple, max_channels)}) as the yamls' ``scales``
FAMILIES = {
    "yolov8": (
        YOLOV8,
        {
            "n": (0.33, 0.25, 1024),
            "s": (0.33, 0.50, 1024),
            "m": (0.67, 0.75, 768),
            "l": (1.00, 1.00, 512),
            "x": (1.00, 1.25, 512),
        },
    ),
    "yolo11": (
        YOLO11,
        {
            "n": (0.50, 0.25, 1024),
            "s": (0.50, 0.50, 1024),
            "m": (0.50, 1.00, 512),
            "l": (1.00, 1.00, 512),
            "x": (1.00, 1.50, 512),
        },
    ),
    "yolov5": (
        YOLOV5U,
        {
            "n": (0.33, 0.25, 1024),
            "s": (0.33, 0.50, 1024),
            "m": (0.67, 0.75, 1024),
            "l": (1.00, 1.00, 1024),
            "x": (1.33, 1.25, 1024),
        },
    ),
    "yolov6": (
        YOLOV6,
        {
            "n": (0.33, 0.25, 1024),
            "s": (0.33, 0.50, 1024),
            "m": (0.67, 0.75, 768),
            "l": (1.00, 1.00, 512),
            "x": (1.00, 1.25, 512),
        },
    ),
}
#: the tasks ultralytics ships a yaml of, per family (all of TASKS where not listed)
FAMILY_TASKS = {"yolov5": ("detect",), "yolov6": ("detect",)}
#: what ultralytics appends to the checkpoint name (yolov5nu: the anchor-free YOLOv5, not netdef.zoo.yolov5's)
FAMILY_SUFFIX = {"yolov5": "u"}
#: the families whose yaml sets another activation for every Conv (ultralytics' ``activation:``)
FAMILY_ACTIVATION = {"yolov6": "ReLU"}

#: the scales the classification yamls set otherwise (yolov8-cls keeps max_channels at 1024)
CLS_SCALES = {"yolov8": {"m": (0.67, 0.75, 1024), "l": (1.00, 1.00, 1024), "x": (1.00, 1.25, 1024)}}

#: the classifiers' BatchNorm eps: torch's default, where the other tasks' models set 1e-3 (yolov5.BN_EPS)
CLS_BN_EPS = 1e-5

#: task -> (ultralytics' checkpoint suffix, default number of classes: COCO, COCO person, DOTAv1, ImageNet)
TASKS = {
    "detect": ("", 80),
    "segment": ("-seg", 80),
    "pose": ("-pose", 1),
    "obb": ("-obb", 15),
    "classify": ("-cls", 1000),
}
#: the head each task puts after the body
HEADS = {"detect": "Detect", "segment": "Segment", "pose": "Pose", "obb": "OBB"}

#: the Detect maps' strides (P3, P4, P5): what ultralytics measures at build time for these yamls
STRIDES = (8, 16, 32)
_REPEATED = ("C2f", "C3k2", "C2PSA", "C3")


def plan(
    family: str, scale: str, nc: int = 80, ch: int = 3, task: str = "detect", kpt_shape: tuple[int, int] = (17, 3)
) -> list[tuple]:
    """The layers as (from, module, args, copies) with widths and repeats scaled, as ultralytics' parse_model does
    (``copies`` > 1: a Sequential of that many modules with the same args, for a repeated module without its own
    repeat argument, e.g. YOLOv6's Conv stacks)."""
    table, scales = FAMILIES[family]
    depth, width, max_channels = scales[scale]
    legacy = not any(m == "C3k2" for _, _, m, _ in table)  # YOLOv8's Detect keeps the v3/v5/v8 class head
    if task == "classify":
        depth, width, max_channels = CLS_SCALES.get(family, {}).get(scale, scales[scale])
        backbone = table[: next(i for i, row in enumerate(table) if row[2] == "SPPF")]
        extra = tuple((-1, n, m, args) for _, n, m, args in table if m == "C2PSA")  # YOLO11's attention stays
        table = (*backbone, *extra, (-1, 1, "Classify", ()))
    else:
        table = (*table[:-1], (table[-1][0], 1, HEADS[task], ()))
    channels: list[int] = [ch]
    rows = []
    for i, (f, n, m, args) in enumerate(table):
        n = max(round(n * depth), 1) if n > 1 else n
        copies = 1
        if m in ("Conv", "SPPF", "ConvTranspose2d", *_REPEATED):
            c1, c2 = channels[f], make_divisible(min(args[0], max_channels) * width, 8)
            args = (c1, c2, *args[1:])
            if m in _REPEATED:
                args = (*args[:2], n, *args[2:])
            else:
                copies = n
            if m == "C3k2" and scale in ("m", "l", "x"):
                args = (*args[:3], True, *args[4:])  # c3k blocks for the larger scales
        elif m == "Concat":
            c2 = sum(channels[x] for x in f)
        elif m in ("Detect", "Segment", "Pose", "OBB"):
            extra = {
                "Detect": (),
                "Segment": (32, make_divisible(min(256, max_channels) * width, 8)),
                "Pose": (tuple(kpt_shape),),
                "OBB": (1,),
            }[m]
            args = (nc, *extra, 16, tuple(channels[x] for x in f), legacy)
            c2 = 0
        elif m == "Classify":
            args, c2 = (channels[f], nc), nc
        else:
            c2 = channels[f]
        rows.append((f, m, args, copies))
        channels = [*channels, c2] if i else [c2]
    return rows


class DWConv(Conv):
    """Depth-wise Conv: groups = gcd(c1, c2)."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, d: int = 1, act=True) -> None:
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), d=d, act=act)


class Bottleneck(nn.Module):
    """Two k x k Convs (``e`` sets the hidden width), plus the input when ``shortcut`` and the widths match."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, k=(3, 3), e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP bottleneck, faster: split cv1's output in two, chain ``n`` blocks on the second half, cat them all."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=(3, 3), e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(F.cat(y, 1))


class C3(nn.Module):
    """CSP bottleneck with 3 convs: cv3(cat(m(cv1(x)), cv2(x)))."""

    def __init__(
        self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5, k: int = 3
    ) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(k, k), e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(F.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class C3k2(C2f):
    """YOLO11's C2f whose blocks are Bottlenecks (e=0.5) or, with ``c3k``, C3k blocks of two k x k Bottlenecks."""

    def __init__(
        self, c1: int, c2: int, n: int = 1, c3k: bool = False, e: float = 0.5, g: int = 1, shortcut: bool = True
    ) -> None:
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            C3(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g) for _ in range(n)
        )


class Attention(nn.Module):
    """Multi-head self-attention over the H x W positions, with a depth-wise 3x3 positional term on the values."""

    def __init__(self, dim: int, num_heads: int = 8, attn_ratio: float = 0.5) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        self.qkv = Conv(dim, dim + 2 * self.key_dim * num_heads, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        B, C, H, W = x.shape  # ultralytics' names; H and W are symbolic sizes when dynamic
        N = H * W
        qkv = self.qkv(x).view(B, self.num_heads, 2 * self.key_dim + self.head_dim, N)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)
        out = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        return self.proj(out)


class PSABlock(nn.Module):
    """Attention then a two-Conv feed-forward, each added to its input when ``shortcut``."""

    def __init__(self, c: int, attn_ratio: float = 0.5, num_heads: int = 4, shortcut: bool = True) -> None:
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))
        self.add = shortcut

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        return x + self.ffn(x) if self.add else self.ffn(x)


class C2PSA(nn.Module):
    """Split cv1's output in two, run ``n`` PSABlocks on the second half, cat and project (YOLO11 layer 10)."""

    def __init__(self, c1: int, c2: int, n: int = 1, e: float = 0.5) -> None:
        super().__init__()
        if c1 != c2:
            raise ValueError(f"C2PSA keeps the width: c1={c1} != c2={c2}")
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, attn_ratio=0.5, num_heads=max(self.c // 64, 1)) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(F.cat([a, self.m(b)], 1))


class DFL(nn.Module):
    """Distribution focal loss integral: per box side, the expectation of ``c1`` bins (softmax, then a fixed
    1x1 conv whose weights are 0..c1-1, read from the checkpoint's ``dfl.conv.weight``)."""

    def __init__(self, c1: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False)
        self.c1 = c1

    def forward(self, x):
        """(B, 4 c1, A) -> (B, 4, A)."""
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Detect(nn.Module):
    """Box (cv2) and class (cv3) branches per map, decoded to (B, 4 + nc, anchors) as ultralytics' eval output.

    ``legacy``: YOLOv8's class branch (two 3x3 Convs); otherwise YOLO11's (depth-wise 3x3 + 1x1, twice).
    """

    def __init__(
        self, nc: int = 80, reg_max: int = 16, ch=(), legacy: bool = False, strides: tuple[int, ...] = STRIDES
    ) -> None:
        super().__init__()
        self.nc, self.nl, self.reg_max = nc, len(ch), reg_max
        self.strides = tuple(strides)
        c2, c3 = max((16, ch[0] // 4, reg_max * 4)), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch
        )
        if legacy:
            self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        else:
            self.cv3 = nn.ModuleList(
                nn.Sequential(
                    nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, nc, 1),
                )
                for x in ch
            )
        self.dfl = DFL(reg_max) if reg_max > 1 else nn.Identity()

    def branch(self, heads, xs, channels: int):
        """Each map through its branch of ``heads``, flattened and concatenated over the maps: (B, channels, A)."""
        bs = xs[0].shape[0]
        return F.cat([head(x).view(bs, channels, -1) for head, x in zip(heads, xs)], 2)

    def decode(self, xs):
        """(boxes (B, 4, A) as (cx, cy, w, h) in input pixels, class scores (B, nc, A), anchors, strides)."""
        boxes = self.branch(self.cv2, xs, 4 * self.reg_max)  # (B, 64, A)
        scores = self.branch(self.cv3, xs, self.nc).sigmoid()  # (B, nc, A)
        anchors, strides = make_anchors(xs, self.strides)  # (2, A), (1, A)
        lt, rb = self.dfl(boxes).chunk(2, 1)  # distances to the box sides, in cells
        x1y1, x2y2 = anchors - lt, anchors + rb
        box = F.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides  # (cx, cy, w, h) in input pixels
        return box, scores, anchors, strides

    def forward(self, xs):
        box, scores, _, _ = self.decode(xs)
        return F.cat([box, scores], 1)


def _branches(ch, c4: int, out: int) -> nn.ModuleList:
    """Two 3x3 Convs of width ``c4`` and a 1x1 conv to ``out`` channels, per map (the task heads' cv4)."""
    return nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, out, 1)) for x in ch)


class Proto(nn.Module):
    """Mask prototypes from the P3 map: 3x3 Conv, 2x transposed conv, 3x3 Conv, 1x1 Conv to ``c2`` prototypes."""

    def __init__(self, c1: int, c_: int = 256, c2: int = 32) -> None:
        super().__init__()
        self.cv1 = Conv(c1, c_, 3)
        self.upsample = nn.ConvTranspose2d(c_, c_, 2, 2, 0, bias=True)
        self.cv2 = Conv(c_, c_, 3)
        self.cv3 = Conv(c_, c2)

    def forward(self, x):
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


class Segment(Detect):
    """Detect plus ``nm`` mask coefficients per anchor (cv4) and the prototypes (proto) of the P3 map."""

    def __init__(self, nc: int = 80, nm: int = 32, npr: int = 256, reg_max: int = 16, ch=(), legacy=False) -> None:
        super().__init__(nc, reg_max, ch, legacy)
        self.nm, self.npr = nm, npr
        self.proto = Proto(ch[0], npr, nm)
        self.cv4 = _branches(ch, max(ch[0] // 4, nm), nm)

    def forward(self, xs):
        box, scores, _, _ = self.decode(xs)
        coefficients = self.branch(self.cv4, xs, self.nm)
        return F.cat([box, scores, coefficients], 1), self.proto(xs[0])


class Pose(Detect):
    """Detect plus ``kpt_shape`` keypoints per anchor (cv4): (x, y) decoded to input pixels, visibility sigmoid."""

    def __init__(self, nc: int = 1, kpt_shape=(17, 3), reg_max: int = 16, ch=(), legacy=False) -> None:
        super().__init__(nc, reg_max, ch, legacy)
        if kpt_shape[1] not in (2, 3):
            raise ValueError(f"Pose: kpt_shape is (keypoints, 2 or 3 values each), got {tuple(kpt_shape)}")
        self.kpt_shape = tuple(kpt_shape)
        self.nk = kpt_shape[0] * kpt_shape[1]
        self.cv4 = _branches(ch, max(ch[0] // 4, self.nk), self.nk)

    def forward(self, xs):
        box, scores, anchors, strides = self.decode(xs)
        kpts = self.branch(self.cv4, xs, self.nk)
        bs = xs[0].shape[0]
        y = kpts.view(bs, *self.kpt_shape, -1)  # (B, K, ndim, A)
        xy = (y[:, :, :2] * 2.0 + (anchors - 0.5)) * strides  # offsets from the cell corner, in cells x 2
        if self.kpt_shape[1] == 3:
            xy = F.cat([xy, y[:, :, 2:3].sigmoid()], 2)
        return F.cat([box, scores, xy.view(bs, self.nk, -1)], 1)


class OBB(Detect):
    """Detect plus ``ne`` angle per anchor (cv4): boxes rotated about their centre, the angle in [-pi/4, 3pi/4)."""

    def __init__(self, nc: int = 15, ne: int = 1, reg_max: int = 16, ch=(), legacy=False) -> None:
        super().__init__(nc, reg_max, ch, legacy)
        self.ne = ne
        self.cv4 = _branches(ch, max(ch[0] // 4, ne), ne)

    def forward(self, xs):
        boxes = self.branch(self.cv2, xs, 4 * self.reg_max)
        scores = self.branch(self.cv3, xs, self.nc).sigmoid()
        angle = (self.branch(self.cv4, xs, self.ne).sigmoid() - 0.25) * math.pi  # (B, 1, A)
        anchors, strides = make_anchors(xs, self.strides)
        lt, rb = self.dfl(boxes).chunk(2, 1)
        cos, sin = angle.cos(), angle.sin()
        dx, dy = ((rb - lt) / 2).chunk(2, 1)  # the centre's offset from the anchor, before the rotation
        centre = F.cat([dx * cos - dy * sin, dx * sin + dy * cos], 1) + anchors
        box = F.cat([centre, lt + rb], 1) * strides  # (cx, cy, w, h) in input pixels
        return F.cat([box, scores, angle], 1)


class Classify(nn.Module):
    """1x1 Conv to 1280 channels, global average pool, (dropout), Linear to ``c2`` classes, softmax."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1) -> None:
        super().__init__()
        self.conv = Conv(c1, 1280, k, s, p, g)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(p=0.0)
        self.linear = nn.Linear(1280, c2)

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            x = F.cat(list(x), 1)
        return self.linear(self.drop(self.pool(self.conv(x)).flatten(1))).softmax(1)


def make_anchors(feats, strides: tuple[int, ...], offset: float = 0.5):
    """Every map's cell centres (x + offset, y + offset), row-major and maps in order, as a (2, A) tensor, and
    each anchor's stride as a (1, A) tensor, in the maps' dtype (constants when the sizes are static)."""
    points, scale = [], []
    for f, stride in zip(feats, strides):
        h, w = f.shape[2:]
        sx = (F.arange(w).to(f.dtype) + offset)[None, :].expand(h, w)
        sy = (F.arange(h).to(f.dtype) + offset)[:, None].expand(h, w)
        points.append(F.stack([sx.flatten(), sy.flatten()]))
        scale.append(F.full((1, h * w), float(stride), dtype=f.dtype))
    return F.cat(points, 1), F.cat(scale, 1)


MODULES = {
    "Conv": Conv,
    "C2f": C2f,
    "C3k2": C3k2,
    "SPPF": SPPF,
    "C2PSA": C2PSA,
    "Concat": Concat,
    "C3": yolov5.C3,  # ultralytics' C3: Bottlenecks of a 1x1 then a 3x3 Conv (yolo.C3, C3k's base, has two 3x3)
    "ConvTranspose2d": nn.ConvTranspose2d,
}
HEAD_MODULES = {"Detect": Detect, "Segment": Segment, "Pose": Pose, "OBB": OBB, "Classify": Classify}

#: every model by ultralytics' checkpoint stem (``yolov8n``, ``yolo11s-seg``, ``yolov8x-cls``, ``yolov5nu``):
#: (family, scale, task)
MODELS = {
    f"{family}{scale}{FAMILY_SUFFIX.get(family, '')}{TASKS[task][0]}": (family, scale, task)
    for family, (_, scales) in FAMILIES.items()
    for task in FAMILY_TASKS.get(family, TASKS)
    for scale in scales
}


class DetectionModel(nn.Module):
    """ultralytics' DetectionModel / SegmentationModel / PoseModel / OBBModel / ClassificationModel for yolov8 and
    yolo11 (inference, decoded): ``model`` holds the yaml's layers; ``task`` picks the head (:data:`TASKS`)."""

    def __init__(
        self,
        family: str = "yolov8",
        scale: str = "n",
        nc: int | None = None,
        task: str = "detect",
        kpt_shape: tuple[int, int] = (17, 3),
    ) -> None:
        super().__init__()
        if family not in FAMILIES or scale not in FAMILIES[family][1]:
            known = ", ".join(f"{f}{s}" for f, (_, scales) in FAMILIES.items() for s in scales)
            raise ValueError(f"no YOLO model {family}{scale}; known: {known}")
        tasks = FAMILY_TASKS.get(family, tuple(TASKS))
        if task not in tasks:
            raise ValueError(f"no YOLO task {task!r} for {family}; known: {', '.join(tasks)}")
        nc = TASKS[task][1] if nc is None else nc
        self.family, self.scale, self.nc, self.task = family, scale, nc, task
        self.name = f"{family}{scale}{FAMILY_SUFFIX.get(family, '')}{TASKS[task][0]}"
        layers, self.froms = [], []
        for f, m, args, copies in plan(family, scale, nc, task=task, kpt_shape=kpt_shape):
            if m == "Upsample":
                make = nn.Upsample
            elif m in HEAD_MODULES:
                make = HEAD_MODULES[m]
            else:
                make = MODULES[m]
            layers.append(make(*args) if copies == 1 else nn.Sequential(*(make(*args) for _ in range(copies))))
            self.froms.append(f)
        self.model = nn.Sequential(*layers)
        if family in FAMILY_ACTIVATION:  # every Conv's activation, the head's included (ultralytics' default_act)
            for module in self.modules():
                if isinstance(module, Conv) and isinstance(module.act, nn.SiLU):
                    module.act = getattr(nn, FAMILY_ACTIVATION[family])()
        if task == "classify":  # ultralytics' ClassificationModel keeps torch's BatchNorm eps (no initialize_weights)
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eps = CLS_BN_EPS
        #: layers whose output a later layer reads by index
        self.save = {j for f in self.froms if f != -1 for j in ((f,) if isinstance(f, int) else f) if j != -1}

    def forward(self, x):
        if self.task != "classify":  # the classifier pools whatever size its backbone ends at
            check_stride(x, max(STRIDES), self.name)
        outputs: dict[int, object] = {}
        for i, (f, m) in enumerate(zip(self.froms, self.model)):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = m(x)
            if i in self.save:
                outputs[i] = x
        return x

    def default_inputs(self, batch: int = 1) -> dict[str, Input]:
        size = 224 if self.task == "classify" else 640
        return {"x": Input((batch, 3, size, size))}


def yolo(name: str, nc: int | None = None) -> DetectionModel:
    """The model ``name`` as ultralytics names its checkpoint (``yolov8n``, ``yolo11s-pose``; :data:`MODELS`)."""
    if name not in MODELS:
        raise ValueError(f"no YOLO model {name!r}; known: {', '.join(MODELS)}")
    family, scale, task = MODELS[name]
    return DetectionModel(family, scale, nc, task)


def _constructor(name: str):
    def build(nc: int | None = None) -> DetectionModel:
        return yolo(name, nc)

    build.__name__ = build.__qualname__ = name.replace("-", "_")
    build.__doc__ = f"ultralytics' {name} (:func:`yolo`)."
    return build


# yolov8n(), yolo11s_seg(), yolov8x_cls(), ...: one constructor per name (the zoo registry looks them up)
globals().update({name.replace("-", "_"): _constructor(name) for name in MODELS})
