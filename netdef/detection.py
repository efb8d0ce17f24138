"""Detection post-processing outside the engine: non-maximum suppression on numpy arrays or torch tensors.

:func:`nms` computes exactly what a network's ``netdef.functional.nms`` (TensorRT's INMSLayer) computes, in
the reference interpreter's implementation, for backends whose builder has no NMS runner (TensorRT-RTX): build
the network up to the boxes and scores, then run this on the engine's outputs. :func:`batched_nms` is
torchvision's ``batched_nms``. Both take numpy arrays or torch tensors on any device and return the same kind.
Their arguments are checked by the rules ``netdef.functional.nms`` follows (``netdef._nms``): what one refuses,
all refuse, with the same ArgumentError. The IoU is computed in tiles, so memory grows linearly with the number
of boxes (30,000 boxes, ultralytics' ``max_nms``, fit in tens of MB).
"""

from __future__ import annotations

import numpy as np
import torch

from netdef._nms import MAX_TOPK_BOX_LIMIT, check_batched_nms, nan_error
from netdef.reference.nms import corners, dtype_name, first_nan, greedy, select

__all__ = ["batched_nms", "nms"]


def _torch(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def _like(result: torch.Tensor, reference):
    return result if isinstance(reference, torch.Tensor) else result.cpu().numpy()


def nms(
    boxes,
    scores,
    max_output_boxes_per_class: int,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.0,
    box_format: str = "xyxy",
    topk_box_limit: int | None = MAX_TOPK_BOX_LIMIT,
):
    """INMSLayer's batched, per-class NMS (see ``netdef.functional.nms``): boxes (B, N, 4) or (B, N, C, 4), scores
    (B, N, C) -> (K, 3) int64 rows of (batch, class, box), batch by batch in decreasing score order.

    The arguments follow ``F.nms``'s rules (boxes and scores both float32 or both float16, as an engine gives
    them; ``topk_box_limit=None`` is TensorRT's 5000); a NaN score, or a NaN in a box that scores above
    ``score_threshold``, is an ArgumentError naming its position."""
    t_boxes, t_scores = _torch(boxes), _torch(scores)
    selected = select(
        t_boxes, t_scores, max_output_boxes_per_class, iou_threshold, score_threshold, box_format, topk_box_limit
    )
    return _like(selected, boxes)


def batched_nms(boxes, scores, idxs, iou_threshold: float, box_format: str = "xyxy"):
    """torchvision.ops.batched_nms: the indices of the kept ``boxes`` (N, 4), in decreasing ``scores`` (N,) order;
    boxes of different ``idxs`` (N,) categories never suppress each other. Equal scores keep the lower index first.
    ``iou_threshold`` lies in [0, 1] (``F.nms``'s rule); a NaN in boxes, scores or idxs is an ArgumentError.
    """
    t_boxes, t_scores, t_idxs = _torch(boxes), _torch(scores), _torch(idxs)
    iou, box_format = check_batched_nms(
        t_boxes.shape,
        t_scores.shape,
        t_idxs.shape,
        dtype_name(t_boxes),
        dtype_name(t_scores),
        dtype_name(t_idxs),
        iou_threshold,
        box_format,
    )
    for name, t in (("scores", t_scores), ("boxes", t_boxes), ("idxs", t_idxs)):
        nan = first_nan(t)
        if nan is not None:
            raise nan_error(name, nan)
    order = torch.sort(t_scores.float(), descending=True, stable=True).indices
    keep = greedy(corners(t_boxes[order].float(), box_format), t_idxs[order], iou, None)
    return _like(order[keep], boxes)
