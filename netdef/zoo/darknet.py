"""Darknet-cfg models as the PyTorch Darknet of ultralytics/yolov3 (branch ``archive``, ``models.py``) and its
descendant WongKinYiu/ScaledYOLOv4 (branch ``yolov4-csp``) build them, with their state_dict names: YOLOv4
(``cfg/yolov4.cfg``, tensorrtx's yolov4 folder) and YOLOv4-CSP (tensorrtx's scaled-yolov4 folder).

The network is ``module_list``: one module per cfg section, so names read ``module_list.0.Conv2d.weight``,
``module_list.0.BatchNorm2d.running_mean`` and, for a detection conv (no BatchNorm), ``module_list.143.Conv2d.bias``;
routes, shortcuts, pools, upsamples and yolo layers hold no weights. A released ``yolov4-csp.pt`` (or a
``.weights`` file loaded into the repository's Darknet and exported) binds unchanged.

Layers are rows of :data:`YOLOV4_CSP`, written out from the cfg's sections:
``("convolutional", filters, size, stride, activation, batch_normalize)``, ``("shortcut", from)``,
``("route", layers)``, ``("maxpool", size, stride)``, ``("upsample", stride)`` and ``("yolo", mask)``; relative
indices count back from the row, as in a cfg. The yolo layers decode as their repository does: YOLOv4-CSP's
``xy = 2 sigmoid - 0.5``, ``wh = (2 sigmoid)^2 * anchor``; YOLOv4's (ultralytics) ``xy = sigmoid``,
``wh = exp * anchor``, both plus the cell and times the stride. The outputs are the eval-mode Darknet's, flattened: the decoded
predictions (N, 3 * sum(H_i * W_i), 5 + nc) as (cx, cy, w, h) in input pixels, objectness and class scores
(sigmoid), then each yolo layer's raw map (N, 3, H/s, W/s, 5 + nc), strides 8, 16, 32. Batch, height and width may
be dynamic; height and width must be multiples of 32 (checked when the Input is declared).
"""

from __future__ import annotations

from collections import OrderedDict

from netdef import F, Input, nn
from netdef.zoo.yolov5 import check_stride

#: BatchNorm eps of every convolutional section (create_modules)
BN_EPS = 1e-4

#: the cfg's nine anchors (pixels) and each yolo layer's stride (P3, P4, P5)
ANCHORS = ((12, 16), (19, 36), (40, 28), (36, 75), (76, 55), (72, 146), (142, 110), (192, 243), (459, 401))
STRIDES = (8, 16, 32)


def _conv(filters: int, size: int = 1, stride: int = 1, activation: str = "mish", bn: bool = True) -> tuple:
    return ("convolutional", filters, size, stride, activation, bn)


def _csp_stage(c: int, n: int) -> list[tuple]:
    """A CSPDarknet stage: a stride-2 3x3 conv to c, then a half-width branch of n residual units beside a
    half-width 1x1 bypass, concatenated and fused back to c."""
    h = c // 2
    units = [row for _ in range(n) for row in (_conv(h), _conv(h, 3), ("shortcut", -3))]
    return [
        _conv(c, 3, 2),
        _conv(h),
        ("route", (-2,)),
        _conv(h),
        *units,
        _conv(h),
        ("route", (-1, -(3 * n + 4))),
        _conv(c),
    ]


def _csp_tail(c: int) -> list[tuple]:
    """The neck's CSP block: a 1x1 bypass beside 1x1, 3x3, 1x1, 3x3 convs, concatenated and fused (1x1)."""
    return [
        _conv(c),
        _conv(c),
        ("route", (-2,)),
        _conv(c),
        _conv(c, 3),
        _conv(c),
        _conv(c, 3),
        ("route", (-1, -6)),
        _conv(c),
    ]


def _top_down(c: int, lateral: int) -> list[tuple]:
    """Upsample the neck by 2 and join the backbone's layer ``lateral`` (through a 1x1 conv)."""
    return [_conv(c), ("upsample", 2), ("route", (lateral,)), _conv(c), ("route", (-1, -3)), *_csp_tail(c)]


def _head(c: int, mask: tuple[int, ...], nc: int) -> list[tuple]:
    """A detection output: 3x3 conv to 2c, a linear 1x1 conv (with bias) to 3 x (5 + nc), the yolo layer."""
    return [_conv(2 * c, 3), _conv(len(mask) * (nc + 5), 1, 1, "linear", False), ("yolo", mask)]


def _bottom_up(c: int, lateral: int, mask: tuple[int, ...], nc: int) -> list[tuple]:
    """From the previous head's input (4 rows back), a stride-2 conv joined with the neck's layer ``lateral``."""
    return [("route", (-4,)), _conv(c, 3, 2), ("route", (-1, lateral)), *_csp_tail(c), *_head(c, mask, nc)]


def _five(c: int) -> list[tuple]:
    """YOLOv4's neck block: 1x1 to c and 3x3 to 2c, alternating, five convs (leaky)."""
    return [_conv(c, 1, 1, "leaky"), _conv(2 * c, 3, 1, "leaky")] * 2 + [_conv(c, 1, 1, "leaky")]


def yolov4_rows(nc: int = 80, width: float = 1.0) -> list[tuple]:
    """The 162 sections of yolov4.cfg (its [net] section excluded); ``width`` as in :func:`yolov4_csp_rows`."""
    leaky = lambda c, k=1, s=1: _conv(c, k, s, "leaky")  # noqa: E731

    def head(c: int, mask: tuple[int, ...]) -> list[tuple]:
        return [leaky(2 * c, 3), _conv(len(mask) * (nc + 5), 1, 1, "linear", False), ("yolo", mask)]

    def top_down(c: int, lateral: int) -> list[tuple]:
        return [leaky(c), ("upsample", 2), ("route", (lateral,)), leaky(c), ("route", (-1, -3)), *_five(c)]

    def bottom_up(c: int, lateral: int, mask: tuple[int, ...]) -> list[tuple]:
        return [("route", (-4,)), leaky(c, 3, 2), ("route", (-1, lateral)), *_five(c), *head(c, mask)]

    rows = [
        _conv(32, 3),
        # the first CSP stage keeps full width in both branches (its residual unit narrows to 32 inside)
        *(_conv(64, 3, 2), _conv(64), ("route", (-2,)), _conv(64), _conv(32), _conv(64, 3), ("shortcut", -3)),
        *(_conv(64), ("route", (-1, -7)), _conv(64)),  # 0-10
        *_csp_stage(128, 2),  # 11-23
        *_csp_stage(256, 8),  # 24-54 (P3)
        *_csp_stage(512, 8),  # 55-85 (P4)
        *_csp_stage(1024, 4),  # 86-104 (P5)
        # SPP
        *(leaky(512), leaky(1024, 3), leaky(512), ("maxpool", 5, 1), ("route", (-2,)), ("maxpool", 9, 1)),
        *(("route", (-4,)), ("maxpool", 13, 1), ("route", (-1, -3, -5, -6)), leaky(512), leaky(1024, 3), leaky(512)),
        *top_down(256, 85),  # 117-126
        *top_down(128, 54),  # 127-136
        *head(128, (0, 1, 2)),  # 137-139 (P3/8)
        *bottom_up(256, -16, (3, 4, 5)),  # 140-150 (P4/16)
        *bottom_up(512, -37, (6, 7, 8)),  # 151-161 (P5/32)
    ]
    return _narrow(rows, width)


def _narrow(rows: list[tuple], width: float) -> list[tuple]:
    """``rows`` with every hidden conv (one with BatchNorm) ``width`` times as wide, in multiples of 8."""
    if width == 1.0:
        return rows
    hidden = {i for i, r in enumerate(rows) if r[0] == "convolutional" and r[5]}  # the detection convs keep theirs
    return [(r[0], max(8, round(r[1] * width / 8) * 8), *r[2:]) if i in hidden else r for i, r in enumerate(rows)]


def yolov4_csp_rows(nc: int = 80, width: float = 1.0) -> list[tuple]:
    """The 175 sections of yolov4-csp.cfg (its [net] section excluded); ``width`` < 1 narrows every hidden conv
    (a CI-sized network of the same structure; the released model is ``width=1``)."""
    spp = [
        _conv(512),
        ("route", (-2,)),
        _conv(512),
        _conv(512, 3),
        _conv(512),
        ("maxpool", 5, 1),
        ("route", (-2,)),
        ("maxpool", 9, 1),
        ("route", (-4,)),
        ("maxpool", 13, 1),
        ("route", (-1, -3, -5, -6)),
        _conv(512),
        _conv(512, 3),
        ("route", (-1, -13)),
        _conv(512),
    ]
    rows = [
        _conv(32, 3),
        _conv(64, 3, 2),
        _conv(32),
        _conv(64, 3),
        ("shortcut", -3),  # 4
        *_csp_stage(128, 2),  # 5-17
        *_csp_stage(256, 8),  # 18-48 (P3)
        *_csp_stage(512, 8),  # 49-79 (P4)
        *_csp_stage(1024, 4),  # 80-98 (P5)
        *spp,  # 99-113
        *_top_down(256, 79),  # 114-127
        *_top_down(128, 48),  # 128-141
        *_head(128, (0, 1, 2), nc),  # 142-144 (P3/8)
        *_bottom_up(256, -20, (3, 4, 5), nc),  # 145-159 (P4/16)
        *_bottom_up(512, -49, (6, 7, 8), nc),  # 160-174 (P5/32)
    ]
    return _narrow(rows, width)


def _activation(name: str):
    if name == "mish":
        return nn.Mish()
    if name == "leaky":
        return nn.LeakyReLU(0.1)
    if name == "linear":
        return None
    raise ValueError(f"darknet activation {name!r} is not supported (mish, leaky, linear)")


class FeatureConcat(nn.Module):
    """A route: the listed layers' outputs (relative or absolute indices), concatenated on channels."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = tuple(layers)

    def forward(self, x, outputs):
        picked = [outputs[i] for i in self.layers]
        return F.cat(picked, 1) if len(picked) > 1 else picked[0]


class WeightedFeatureFusion(nn.Module):
    """A shortcut (unweighted): the running output plus layer ``layers[0]``'s."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = tuple(layers)

    def forward(self, x, outputs):
        for i in self.layers:
            x = x + outputs[i]
        return x


#: the yolo layers' box decodes: ScaledYOLOv4's and ultralytics/yolov3 archive's
DECODES = ("scaled", "yolov3")


class YOLOLayer(nn.Module):
    """Reshapes a detection conv's map to (N, na, H, W, 5 + nc) and decodes it (eval mode), in cells then times
    the stride: ``scaled`` xy = 2 sigmoid - 0.5 + cell, wh = (2 sigmoid)^2 * anchor; ``yolov3`` xy = sigmoid + cell,
    wh = exp * anchor; scores are sigmoids."""

    def __init__(self, anchors, nc: int, stride: int, decode: str = "scaled") -> None:
        super().__init__()
        if decode not in DECODES:
            raise ValueError(f"YOLOLayer decode={decode!r}; known: {', '.join(DECODES)}")
        self.anchors = tuple(tuple(float(v) for v in a) for a in anchors)
        self.na, self.nc, self.no, self.stride, self.decode = len(anchors), nc, nc + 5, stride, decode

    def forward(self, p, outputs):
        bs, _, ny, nx = p.shape
        p = p.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
        io = p.sigmoid()
        gx = F.arange(nx).to(io.dtype)[None, :].expand(ny, nx)
        gy = F.arange(ny).to(io.dtype)[:, None].expand(ny, nx)
        grid = F.stack([gx, gy], 2)[None, None]  # (1, 1, ny, nx, 2) as (x, y)
        anchor_wh = F.as_tensor([[a[0] / self.stride, a[1] / self.stride] for a in self.anchors])
        anchor_wh = anchor_wh.view(1, self.na, 1, 1, 2)
        if self.decode == "scaled":
            xy = (io[..., 0:2] * 2.0 - 0.5 + grid) * float(self.stride)
            wh = (io[..., 2:4] * 2.0) ** 2 * anchor_wh * float(self.stride)
        else:
            xy = (io[..., 0:2] + grid) * float(self.stride)
            wh = p[..., 2:4].exp() * anchor_wh * float(self.stride)
        return F.cat([xy, wh, io[..., 4:]], -1).reshape(bs, -1, self.no), p


class Darknet(nn.Module):
    """The repository's Darknet built from ``rows`` (inference): ``module_list`` holds one module per row."""

    def __init__(
        self,
        rows: list[tuple],
        anchors=ANCHORS,
        strides: tuple[int, ...] = STRIDES,
        decode: str = "scaled",
        name: str = "darknet",
    ) -> None:
        super().__init__()
        self.rows, self.name, self.strides = list(rows), name, tuple(strides)
        modules, channels, yolo_index = [], [3], 0  # channels[i + 1]: row i's output width
        for i, row in enumerate(self.rows):
            kind = row[0]
            if kind == "convolutional":
                _, filters, size, stride, activation, bn = row
                parts = OrderedDict(Conv2d=nn.Conv2d(channels[-1], filters, size, stride, size // 2, bias=not bn))
                if bn:
                    parts["BatchNorm2d"] = nn.BatchNorm2d(filters, eps=BN_EPS, momentum=0.03)
                act = _activation(activation)
                if act is not None:
                    parts["activation"] = act
                modules.append(nn.Sequential(parts))
            elif kind == "route":
                filters = sum(channels[j + 1 if j >= 0 else j] for j in row[1])
                modules.append(FeatureConcat(row[1]))
            elif kind == "shortcut":
                filters = channels[-1]
                modules.append(WeightedFeatureFusion((row[1],)))
            elif kind == "maxpool":
                filters = channels[-1]
                modules.append(nn.MaxPool2d(kernel_size=row[1], stride=row[2], padding=(row[1] - 1) // 2))
            elif kind == "upsample":
                filters = channels[-1]
                modules.append(nn.Upsample(scale_factor=row[1]))
            elif kind == "yolo":
                prev = rows[i - 1]
                nc = prev[1] // len(row[1]) - 5
                modules.append(YOLOLayer([anchors[m] for m in row[1]], nc, self.strides[yolo_index], decode))
                yolo_index += 1
                filters = channels[-1]
            else:
                raise ValueError(f"darknet row {i} has an unsupported section type {kind!r}")
            channels.append(filters)
        self.module_list = nn.ModuleList(modules)

    def forward(self, x):
        check_stride(x, max(self.strides), self.name)
        outputs, decoded, raw = [], [], []
        for module, row in zip(self.module_list, self.rows):
            if row[0] in ("route", "shortcut"):
                x = module(x, outputs)
            elif row[0] == "yolo":
                io, p = module(x, outputs)
                decoded.append(io)
                raw.append(p)
            else:
                x = module(x)
            outputs.append(x)
        return (F.cat(decoded, 1), *raw)

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 512, 512))}


def yolov4(nc: int = 80, width: float = 1.0) -> Darknet:
    """YOLOv4 (64.4M parameters at 80 classes; the cfg's 608x608) with ultralytics' decode; ``width`` as in
    :func:`yolov4_csp_rows`."""
    return Darknet(yolov4_rows(nc, width), decode="yolov3", name="yolov4")


def yolov4_csp(nc: int = 80, width: float = 1.0) -> Darknet:
    """YOLOv4-CSP (52.9M parameters at 80 classes; the cfg's 512x512); ``width`` as in :func:`yolov4_csp_rows`."""
    return Darknet(yolov4_csp_rows(nc, width), name="yolov4-csp")
