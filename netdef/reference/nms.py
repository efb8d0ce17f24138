"""INMSLayer semantics: per batch item and class, greedy non-maximum suppression in decreasing score order.

TensorRT's definition: per batch item, the (box, class) candidates whose score exceeds the score threshold are
sorted by score without regard to class, and at most ``topk_box_limit`` of them are considered. A candidate is
selected when its IoU with every box already selected *for its class* is at most the IoU threshold, up to
``max_output_boxes_per_class`` per class. The output rows are (batch, class, box) indices, batch by batch, each
batch's rows in selection order. TensorRT leaves the order of equal scores unspecified; here the lower box
index comes first (then the lower class), so results are reproducible.

:func:`select` is the same algorithm on torch tensors of any device; ``netdef.detection`` uses it as the
post-process for backends that cannot build INMSLayer.
"""

from __future__ import annotations

import numpy as np
import torch

from netdef.reference._registry import register

#: what TensorRT's topk_box_limit defaults to (and may not exceed) on current GPUs
MAX_TOPK_BOX_LIMIT = 5000


def corners(boxes: torch.Tensor, box_format: str = "xyxy") -> torch.Tensor:
    """(..., 4) boxes as (x_min, y_min, x_max, y_max): 'xyxy' is any two diagonal corners, 'cxcywh' centre + size."""
    if box_format == "cxcywh":
        centre, half = boxes[..., :2], boxes[..., 2:].abs() / 2
        return torch.cat([centre - half, centre + half], -1)
    if box_format != "xyxy":
        raise ValueError(
            f"box_format must be 'xyxy' (TensorRT's CORNER_PAIRS) or 'cxcywh' (CENTER_SIZES), got {box_format!r}"
        )
    return torch.cat([torch.minimum(boxes[..., :2], boxes[..., 2:]), torch.maximum(boxes[..., :2], boxes[..., 2:])], -1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every (x_min, y_min, x_max, y_max) box of ``a`` (N, 4) with every one of ``b`` (M, 4); 0 where both
    are empty."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(inter))


def greedy(boxes: torch.Tensor, classes: torch.Tensor, iou_threshold: float, max_per_class: int | None) -> torch.Tensor:
    """Indices of the kept rows of ``boxes`` (K, 4 corners), already in decreasing score order: a row is kept when
    its IoU with every kept row of the same class is <= ``iou_threshold``, at most ``max_per_class`` per class."""
    k = boxes.shape[0]
    if k == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    over = (box_iou(boxes, boxes) > iou_threshold) & (classes[:, None] == classes[None, :])
    over = over.cpu().numpy()  # the sequential scan runs on the host, one transfer for the whole matrix
    cls = classes.cpu().numpy()
    suppressed = np.zeros(k, dtype=bool)
    kept: list[int] = []
    count: dict[int, int] = {}
    for i in range(k):
        if suppressed[i]:
            continue
        c = int(cls[i])
        if max_per_class is not None and count.get(c, 0) >= max_per_class:
            continue  # the class is full: a row it would keep suppresses only rows of its own class
        kept.append(i)
        count[c] = count.get(c, 0) + 1
        suppressed |= over[i]
    return torch.as_tensor(kept, dtype=torch.int64, device=boxes.device)


def select(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    max_output_boxes_per_class: int,
    iou_threshold: float = 0.0,
    score_threshold: float = 0.0,
    box_format: str = "xyxy",
    topk_box_limit: int = MAX_TOPK_BOX_LIMIT,
) -> torch.Tensor:
    """INMSLayer on tensors: boxes (B, N, 4) or per class (B, N, C, 4), scores (B, N, C) -> (K, 3) int64 rows of
    (batch, class, box), on the inputs' device."""
    if boxes.dim() not in (3, 4) or scores.dim() != 3 or boxes.shape[:2] != scores.shape[:2] or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (B, N, 4) or (B, N, C, 4) and scores (B, N, C); got {tuple(boxes.shape)} "
                         f"and {tuple(scores.shape)}")  # fmt: skip
    if boxes.dim() == 4 and boxes.shape[2] != scores.shape[2]:
        raise ValueError(f"per-class boxes {tuple(boxes.shape)} and scores {tuple(scores.shape)} differ in classes")
    rows = []
    for b in range(scores.shape[0]):
        box_idx, cls_idx = torch.nonzero(scores[b] > score_threshold, as_tuple=True)  # box-major order
        cand = scores[b][box_idx, cls_idx].float()
        order = torch.sort(cand, descending=True, stable=True).indices[: max(int(topk_box_limit), 0)]
        box_idx, cls_idx = box_idx[order], cls_idx[order]
        picked = boxes[b][box_idx] if boxes.dim() == 3 else boxes[b][box_idx, cls_idx]
        keep = greedy(
            corners(picked.float(), box_format), cls_idx, float(iou_threshold), int(max_output_boxes_per_class)
        )
        batch = torch.full_like(box_idx[keep], b)
        rows.append(torch.stack([batch, cls_idx[keep], box_idx[keep]], 1))
    if not rows:
        return torch.zeros((0, 3), dtype=torch.int64, device=boxes.device)
    return torch.cat(rows, 0)


@register("NMS", "INMSLayer")
def nms(layer, inputs):
    boxes, scores, max_per_class = inputs[:3]
    iou = float(inputs[3].reshape(-1)[0]) if len(inputs) > 3 and inputs[3] is not None else 0.0
    score = float(inputs[4].reshape(-1)[0]) if len(inputs) > 4 and inputs[4] is not None else 0.0
    fmt = "cxcywh" if layer.bounding_box_format.name == "CENTER_SIZES" else "xyxy"
    selected = select(boxes, scores, int(max_per_class.reshape(-1)[0]), iou, score, fmt, int(layer.topk_box_limit))
    index_dtype = torch.int64 if layer.get_output(0).dtype.name == "INT64" else torch.int32
    return [selected.to(index_dtype), torch.tensor(selected.shape[0], dtype=torch.int32)]
