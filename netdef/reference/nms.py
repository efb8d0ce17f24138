"""INMSLayer semantics: per batch item and class, greedy non-maximum suppression in decreasing score order.

The algorithm (and TensorRT's definition of it) lives in ``netdef.detection``, which also runs it on engine
outputs for backends that cannot build INMSLayer; this handler reads the layer's settings and calls it.
"""

from __future__ import annotations

import torch

from netdef.detection import select
from netdef.reference._registry import register


@register("NMS")
def nms(layer, inputs):
    boxes, scores, max_per_class = inputs[:3]
    iou = float(inputs[3].reshape(-1)[0]) if len(inputs) > 3 and inputs[3] is not None else 0.0
    score = float(inputs[4].reshape(-1)[0]) if len(inputs) > 4 and inputs[4] is not None else 0.0
    fmt = "cxcywh" if layer.bounding_box_format.name == "CENTER_SIZES" else "xyxy"
    limit = int(max_per_class.reshape(-1)[0])
    selected = select(boxes, scores, limit, iou, score, fmt, int(layer.topk_box_limit))
    index_dtype = torch.int64 if layer.get_output(0).dtype.name == "INT64" else torch.int32
    return [selected.to(index_dtype), torch.tensor(selected.shape[0], dtype=torch.int32)]
