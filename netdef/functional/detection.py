"""Non-maximum suppression (INMSLayer)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from netdef._nms import BOX_FORMATS, check_nms
from netdef._trt import dtype_to_numpy, trt
from netdef.errors import ArgumentError, NetdefError
from netdef.functional._common import require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


class NMSResult(NamedTuple):
    """``selected_indices``: (K, 3) int32 rows of (batch, class, box); ``num_output_boxes``: K, a 0-d int32."""

    selected_indices: Tensor
    num_output_boxes: Tensor


def _dtype_name(dtype: trt.DataType) -> str:
    """'float32', 'float16', 'int32'... as ``netdef._nms`` names dtypes; TensorRT's name where numpy has none."""
    try:
        return np.dtype(dtype_to_numpy(dtype)).name
    except NetdefError:
        return dtype.name.lower()


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
    ``iou_threshold`` lies in [0, 1], ``score_threshold`` is not NaN, ``max_output_boxes_per_class`` is an int32
    >= 0, ``topk_box_limit`` at most 5000; boxes and scores both float32 or both float16. ``netdef.detection.nms``
    and the interpreter check the same rules (``netdef._nms``), with the same messages.

    The number of selected rows is known only at run time. TensorRT-RTX's builder has no runner for this layer:
    ``netdef.build`` then refuses the network, and ``netdef.detection.nms`` computes the same on the engine's
    outputs. The reference interpreter runs it on every backend.
    """
    op = "nms"
    boxes, scores = require_tensor(op, boxes, "boxes"), require_tensor(op, scores, "scores")
    ctx = boxes.ctx
    try:  # the rules netdef.detection's post-process and the interpreter follow too
        args = check_nms(
            boxes.static_shape,
            scores.static_shape,
            _dtype_name(boxes.dtype),
            _dtype_name(scores.dtype),
            max_output_boxes_per_class,
            iou_threshold,
            score_threshold,
            box_format,
            topk_box_limit,
        )
    except ArgumentError as exc:
        raise ctx.error(op, str(exc)) from None
    limit = _scalar(ctx, args.max_output_boxes_per_class, trt.int32, np.int32, op + "_max_output_boxes_per_class")
    iou = _scalar(ctx, args.iou_threshold, trt.float32, np.float32, op + "_iou_threshold")
    score = _scalar(ctx, args.score_threshold, trt.float32, np.float32, op + "_score_threshold")

    def make(net):
        layer = net.add_nms(boxes.itensor, scores.itensor, limit.itensor)
        layer.set_input(3, iou.itensor)
        layer.set_input(4, score.itensor)
        layer.bounding_box_format = getattr(trt.BoundingBoxFormat, BOX_FORMATS[args.box_format])
        if args.topk_box_limit is not None:
            layer.topk_box_limit = args.topk_box_limit
        return layer

    layer = ctx.add_layer(op, make)
    return NMSResult(wrap(layer.get_output(0), ctx), wrap(layer.get_output(1), ctx))
