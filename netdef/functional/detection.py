"""Non-maximum suppression (INMSLayer)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

_FORMATS = {"xyxy": "CORNER_PAIRS", "cxcywh": "CENTER_SIZES"}


class NMSResult(NamedTuple):
    """``selected_indices``: (K, 3) int32 rows of (batch, class, box); ``num_output_boxes``: K, a 0-d int32."""

    selected_indices: Tensor
    num_output_boxes: Tensor


def _scalar(ctx, value, dtype: trt.DataType, np_dtype, op: str) -> Tensor:
    weights = ctx.weights(np.asarray(value, dtype=np_dtype), dtype)
    return wrap(ctx.add_layer(op, lambda net: net.add_constant((), weights)).get_output(0), ctx)


@register_op(
    "IConstantLayer",
    "INMSLayer",
    torch="torchvision.ops.batched_nms",
    limits="TensorRT's batched multi-class form (B, N, 4) and (B, N, C); no runner on TensorRT-RTX",
)
def nms(
    boxes: Tensor,
    scores: Tensor,
    max_output_boxes_per_class: int,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.0,
    box_format: str = "xyxy",
    topk_box_limit: int | None = None,
) -> NMSResult:
    """Batched, per-class non-maximum suppression (TensorRT's INMSLayer; ONNX NonMaxSuppression).

    ``boxes`` (B, N, 4), or per class (B, N, C, 4); ``scores`` (B, N, C). Per batch item the (box, class) pairs
    scoring above ``score_threshold`` are taken in decreasing score order (at most ``topk_box_limit`` of them), and
    a pair is selected when its IoU with every box already selected for its class is <= ``iou_threshold``, up to
    ``max_output_boxes_per_class`` per class. ``box_format``: 'xyxy' (two diagonal corners) or 'cxcywh'.

    The number of selected rows is known only at run time. TensorRT-RTX's builder has no runner for this layer:
    ``netdef.build`` then refuses the network, and ``netdef.detection.nms`` computes the same on the engine's
    outputs. The reference interpreter runs it on every backend.
    """
    op = "nms"
    boxes, scores = require_tensor(op, boxes, "boxes"), require_tensor(op, scores, "scores")
    ctx = boxes.ctx
    if boxes.ndim not in (3, 4) or boxes.static_shape[-1] != 4 or scores.ndim != 3:
        raise ctx.error(op, f"boxes must be (B, N, 4) or (B, N, C, 4) and scores (B, N, C); got {boxes.static_shape} and {scores.static_shape}")  # fmt: skip
    if not (is_float(boxes) and boxes.dtype == scores.dtype) or boxes.dtype == trt.bfloat16:
        raise ctx.error(op, f"boxes and scores must both be float32 or both float16, got {boxes.dtype.name} and {scores.dtype.name}")  # fmt: skip
    if box_format not in _FORMATS:
        raise ctx.error(op, f"box_format must be one of {', '.join(_FORMATS)}, got {box_format!r}")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ctx.error(op, f"iou_threshold must be in [0, 1], got {iou_threshold}")
    if int(max_output_boxes_per_class) < 0:
        raise ctx.error(op, f"max_output_boxes_per_class must be >= 0, got {max_output_boxes_per_class}")
    limit = _scalar(ctx, int(max_output_boxes_per_class), trt.int32, np.int32, op + "_max_output_boxes_per_class")
    iou = _scalar(ctx, float(iou_threshold), trt.float32, np.float32, op + "_iou_threshold")
    score = _scalar(ctx, float(score_threshold), trt.float32, np.float32, op + "_score_threshold")

    def make(net):
        layer = net.add_nms(boxes.itensor, scores.itensor, limit.itensor)
        layer.set_input(3, iou.itensor)
        layer.set_input(4, score.itensor)
        layer.bounding_box_format = getattr(trt.BoundingBoxFormat, _FORMATS[box_format])
        if topk_box_limit is not None:
            layer.topk_box_limit = int(topk_box_limit)
        return layer

    layer = ctx.add_layer(op, make)
    return NMSResult(wrap(layer.get_output(0), ctx), wrap(layer.get_output(1), ctx))
