"""The argument rules of non-maximum suppression, one set for every entry point.

``netdef.functional.nms`` (INMSLayer, checked when the network is defined), the interpreter's INMSLayer handler
and ``netdef.detection.nms`` / ``batched_nms`` (the post-process on engine outputs) all check their arguments
here, so an argument one of them refuses is refused by all, with the same message. A leaf module: no torch, no
TensorRT; shapes come as tuples (-1 for a size known only at run time), dtypes as names ('float32', 'float16').
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

from netdef.errors import ArgumentError

#: what TensorRT's topk_box_limit defaults to, and may not exceed, on current GPUs
MAX_TOPK_BOX_LIMIT = 5000
#: INMSLayer's max_output_boxes_per_class is an int32 tensor
MAX_OUTPUT_BOXES = 2**31 - 1
#: box_format -> TensorRT's BoundingBoxFormat
BOX_FORMATS = {"xyxy": "CORNER_PAIRS", "cxcywh": "CENTER_SIZES"}
#: the score/box dtypes INMSLayer takes (both the same)
NMS_DTYPES = ("float32", "float16")


class NMSArguments(NamedTuple):
    """The checked scalar arguments of INMSLayer, as Python numbers."""

    max_output_boxes_per_class: int
    iou_threshold: float
    score_threshold: float
    box_format: str
    topk_box_limit: int | None


def _integer(name: str, value, low: int, high: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise ArgumentError(f"{name} must be an integer in [{low}, {high}]{hint}, got {value!r}")
    return int(value)


def iou_threshold_of(value) -> float:
    """``iou_threshold`` as a float: a number in [0, 1] (a box overlaps another by at most all of it)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ArgumentError(
            f"iou_threshold must be a number in [0, 1], got {value!r} (1 keeps every box, 0 keeps only boxes that "
            "do not overlap a kept one)"
        )
    return float(value)


def score_threshold_of(value) -> float:
    """``score_threshold`` as a float: any number but NaN (no score exceeds NaN, so nothing would be selected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ArgumentError(f"score_threshold must be a number (not NaN), got {value!r}")
    return float(value)


def box_format_of(value) -> str:
    if value not in BOX_FORMATS:
        raise ArgumentError(
            f"box_format must be one of {', '.join(BOX_FORMATS)}, got {value!r} ('xyxy': two diagonal corners, "
            "'cxcywh': centre and size)"
        )
    return value


def _shape(shape) -> str:
    return "(" + ", ".join("?" if d is None or d < 0 else str(d) for d in shape) + ")"


def _differ(a, b) -> bool:
    """Whether two sizes are both known and differ."""
    return a is not None and b is not None and a >= 0 and b >= 0 and a != b


def check_nms(
    boxes_shape: tuple,
    scores_shape: tuple,
    boxes_dtype: str,
    scores_dtype: str,
    max_output_boxes_per_class,
    iou_threshold,
    score_threshold,
    box_format,
    topk_box_limit,
) -> NMSArguments:
    """INMSLayer's arguments checked (ArgumentError naming the argument, what it takes and what it got)."""
    boxes_shape, scores_shape = tuple(boxes_shape), tuple(scores_shape)
    if (
        len(boxes_shape) not in (3, 4)
        or boxes_shape[-1] != 4
        or len(scores_shape) != 3
        or any(_differ(a, b) for a, b in zip(boxes_shape[:2], scores_shape[:2]))
        or (len(boxes_shape) == 4 and _differ(boxes_shape[2], scores_shape[2]))
    ):
        raise ArgumentError(
            "boxes must be (B, N, 4) or per class (B, N, C, 4) and scores (B, N, C), with the same B, N (and C); "
            f"got boxes {_shape(boxes_shape)} and scores {_shape(scores_shape)}"
        )
    if boxes_dtype not in NMS_DTYPES or scores_dtype != boxes_dtype:
        raise ArgumentError(
            f"boxes and scores must both be float32 or both float16 (INMSLayer's types), got {boxes_dtype} and "
            f"{scores_dtype}; cast both to float32"
        )
    limit = _integer("max_output_boxes_per_class", max_output_boxes_per_class, 0, MAX_OUTPUT_BOXES)
    topk = None
    if topk_box_limit is not None:
        topk = _integer(
            "topk_box_limit", topk_box_limit, 0, MAX_TOPK_BOX_LIMIT, " (TensorRT's limit), or None for its default"
        )
    return NMSArguments(
        limit, iou_threshold_of(iou_threshold), score_threshold_of(score_threshold), box_format_of(box_format), topk
    )


def check_batched_nms(
    boxes_shape: tuple,
    scores_shape: tuple,
    idxs_shape: tuple,
    boxes_dtype: str,
    scores_dtype: str,
    idxs_dtype: str,
    iou_threshold,
    box_format,
) -> tuple[float, str]:
    """torchvision's batched_nms arguments checked: (iou_threshold, box_format)."""
    boxes_shape, scores_shape, idxs_shape = tuple(boxes_shape), tuple(scores_shape), tuple(idxs_shape)
    if len(boxes_shape) != 2 or boxes_shape[-1] != 4 or scores_shape != boxes_shape[:1] or idxs_shape != scores_shape:
        raise ArgumentError(
            f"boxes must be (N, 4), scores and idxs (N,); got boxes {_shape(boxes_shape)}, scores "
            f"{_shape(scores_shape)} and idxs {_shape(idxs_shape)}"
        )
    if not (boxes_dtype.startswith(("float", "bfloat")) and scores_dtype.startswith(("float", "bfloat"))):
        raise ArgumentError(f"boxes and scores must be floating point, got {boxes_dtype} and {scores_dtype}")
    if idxs_dtype == "bool" or not idxs_dtype.startswith(("int", "uint", "float", "bfloat")):
        raise ArgumentError(f"idxs must hold category ids (integers), got {idxs_dtype}")
    return iou_threshold_of(iou_threshold), box_format_of(box_format)


def nan_error(name: str, position: tuple[int, ...]) -> ArgumentError:
    """The error for a NaN in boxes/scores/idxs: NMS's order and overlaps of NaN are undefined (TensorRT leaves
    them unspecified), so no result would be right."""
    return ArgumentError(
        f"{name} holds NaN at {position}: non-maximum suppression of NaN scores or boxes is undefined; "
        "find where the network makes it (netdef.reference.run(..., observe=...) shows each layer's values)"
    )
