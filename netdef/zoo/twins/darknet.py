"""Torch twin of netdef.zoo.darknet: WongKinYiu/ScaledYOLOv4, branch ``yolov4-csp``
(commit 9336ffe48abe0df874844118d6fa47fea25b0bf5), ``models/models.py`` create_modules / Darknet / YOLOLayer and
``utils/layers.py``'s FeatureConcat / WeightedFeatureFusion / Mish, with the repository's state_dict names
(``module_list.N.Conv2d.weight``, ``module_list.N.BatchNorm2d.*``); YOLOv4 as its ancestor ultralytics/yolov3,
branch ``archive`` (commit 98068efebc699e7a652fb495f3e7a23bf296affd), ``models.py`` builds ``cfg/yolov4.cfg``
(the same modules and names; its YOLOLayer decodes xy = sigmoid + cell, wh = exp * anchor).

Written from the repository's source (no PyPI package builds it), from the same rows as the netdef model (checked
against ``models/yolov4-csp.cfg`` section by section when written). Forward is the eval-mode Darknet's
(decoded predictions, each yolo layer's raw map), flattened to one tuple.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netdef.zoo.darknet import ANCHORS, BN_EPS, STRIDES, yolov4_csp_rows, yolov4_rows


class Mish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(torch.tanh(F.softplus(x)))


class FeatureConcat(nn.Module):
    def __init__(self, layers) -> None:
        super().__init__()
        self.layers = list(layers)
        self.multiple = len(layers) > 1

    def forward(self, x, outputs):
        return torch.cat([outputs[i] for i in self.layers], 1) if self.multiple else outputs[self.layers[0]]


class WeightedFeatureFusion(nn.Module):
    def __init__(self, layers) -> None:
        super().__init__()
        self.layers = list(layers)

    def forward(self, x, outputs):
        for i in self.layers:
            x = x + outputs[i]
        return x


class YOLOLayer(nn.Module):
    def __init__(self, anchors, nc: int, stride: int, decode: str = "scaled") -> None:
        super().__init__()
        self.decode = decode
        self.anchors = torch.Tensor(anchors)  # a plain attribute: not in the state_dict
        self.stride, self.na, self.nc, self.no = stride, len(anchors), nc, nc + 5
        self.anchor_wh = (self.anchors / stride).view(1, self.na, 1, 1, 2)

    def forward(self, p, outputs):
        bs, _, ny, nx = p.shape
        p = p.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
        yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
        grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).float()
        if self.decode == "scaled":  # ScaledYOLOv4
            io = p.sigmoid()
            io[..., :2] = io[..., :2] * 2.0 - 0.5 + grid
            io[..., 2:4] = (io[..., 2:4] * 2) ** 2 * self.anchor_wh
            io[..., :4] *= self.stride
        else:  # ultralytics/yolov3 archive
            io = p.clone()
            io[..., :2] = torch.sigmoid(io[..., :2]) + grid
            io[..., 2:4] = torch.exp(io[..., 2:4]) * self.anchor_wh
            io[..., :4] *= self.stride
            torch.sigmoid_(io[..., 4:])
        return io.view(bs, -1, self.no), p


_ACTIVATIONS = {"mish": Mish, "leaky": lambda: nn.LeakyReLU(0.1)}


class Darknet(nn.Module):
    def __init__(self, rows, anchors=ANCHORS, strides=STRIDES, decode: str = "scaled") -> None:
        super().__init__()
        self.rows = list(rows)
        module_list, channels, yolo_index = nn.ModuleList(), [3], 0
        for i, row in enumerate(self.rows):
            kind = row[0]
            if kind == "convolutional":
                _, filters, k, s, act, bn = row
                modules = nn.Sequential()
                modules.add_module("Conv2d", nn.Conv2d(channels[-1], filters, k, s, k // 2, bias=not bn))
                if bn:
                    modules.add_module("BatchNorm2d", nn.BatchNorm2d(filters, momentum=0.03, eps=BN_EPS))
                if act in _ACTIVATIONS:
                    modules.add_module("activation", _ACTIVATIONS[act]())
            elif kind == "route":
                filters = sum(channels[j + 1 if j > 0 else j] for j in row[1])
                modules = FeatureConcat(row[1])
            elif kind == "shortcut":
                filters = channels[-1]
                modules = WeightedFeatureFusion([row[1]])
            elif kind == "maxpool":
                filters = channels[-1]
                modules = nn.MaxPool2d(kernel_size=row[1], stride=row[2], padding=(row[1] - 1) // 2)
            elif kind == "upsample":
                filters = channels[-1]
                modules = nn.Upsample(scale_factor=row[1])
            else:  # yolo
                filters = channels[-1]
                nc = self.rows[i - 1][1] // len(row[1]) - 5
                modules = YOLOLayer([anchors[m] for m in row[1]], nc, strides[yolo_index], decode)
                yolo_index += 1
            module_list.append(modules)
            channels.append(filters)
        self.module_list = module_list

    def forward(self, x: torch.Tensor):
        out, yolo_out = [], []
        for module, row in zip(self.module_list, self.rows):
            if row[0] in ("route", "shortcut"):
                x = module(x, out)
            elif row[0] == "yolo":
                yolo_out.append(module(x, out))
            else:
                x = module(x)
            out.append(x)
        io, p = zip(*yolo_out)
        return (torch.cat(io, 1), *p)


def yolov4(nc: int = 80, width: float = 1.0) -> Darknet:
    return Darknet(yolov4_rows(nc, width), decode="yolov3")


def yolov4_csp(nc: int = 80, width: float = 1.0) -> Darknet:
    return Darknet(yolov4_csp_rows(nc, width))
