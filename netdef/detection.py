"""Detection post-processing outside the engine: non-maximum suppression on numpy arrays or torch tensors.

:func:`nms` computes exactly what a network's ``netdef.functional.nms`` (TensorRT's INMSLayer) computes (the
reference interpreter's INMSLayer handler runs this module's :func:`select`), for backends whose builder has no NMS runner (TensorRT-RTX): build
the network up to the boxes and scores, then run this on the engine's outputs. :func:`batched_nms` is
torchvision's ``batched_nms``. Both take numpy arrays or torch tensors on any device and return the same kind.
Their arguments are checked by the rules ``netdef.functional.nms`` follows (``netdef._nms``): what one refuses,
all refuse, with the same ArgumentError. The IoU is computed in tiles, so memory grows linearly with the number
of boxes (30,000 boxes, ultralytics' ``max_nms``, fit in tens of MB).

The algorithm is INMSLayer's semantics (TensorRT's definition): per batch item, the (box, class) candidates whose
score exceeds the score threshold are sorted by score without regard to class, and at most ``topk_box_limit`` of
them are considered. A candidate is selected when its IoU with every box already selected *for its class* is at
most the IoU threshold, up to ``max_output_boxes_per_class`` per class. The output rows are (batch, class, box)
indices, batch by batch, each batch's rows in selection order. TensorRT leaves the order of equal scores
unspecified; here the lower box index comes first (then the lower class), so results are reproducible.
"""

from __future__ import annotations

import numpy as np
import torch

from netdef._nms import MAX_TOPK_BOX_LIMIT, check_batched_nms, check_nms, nan_error

__all__ = ["MAX_TOPK_BOX_LIMIT", "batched_nms", "box_iou", "corners", "greedy", "nms", "select"]

#: rows of boxes compared at once: the IoU blocks are TILE x TILE (a few tens of MB of float32 intermediates),
#: so NMS of N boxes needs O(N + TILE^2) memory instead of O(N^2)
TILE = 1024
#: classes are decided apart, smaller ones packed together up to this many rows (same-class pairs are the only
#: ones that count, so a smaller group wastes fewer comparisons; a group is one call of a few tensor ops)
GROUP = 256


def dtype_name(t: torch.Tensor) -> str:
    """'float32', 'float16', 'int64'...: a torch dtype as ``netdef._nms`` names it."""
    return str(t.dtype).removeprefix("torch.")


def corners(boxes: torch.Tensor, box_format: str = "xyxy") -> torch.Tensor:
    """(..., 4) boxes as (x_min, y_min, x_max, y_max): 'xyxy' is any two diagonal corners, 'cxcywh' centre + size."""
    if box_format == "cxcywh":
        centre, half = boxes[..., :2], boxes[..., 2:].abs() / 2
        return torch.cat([centre - half, centre + half], -1)
    return torch.cat([torch.minimum(boxes[..., :2], boxes[..., 2:]), torch.maximum(boxes[..., :2], boxes[..., 2:])], -1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every (x_min, y_min, x_max, y_max) box of ``a`` (N, 4) with every one of ``b`` (M, 4); 0 where both
    are empty. Symmetric bit for bit (every step commutes), so ``box_iou(a, b)[i, j] == box_iou(b, a)[j, i]``."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(inter))


class _Blocks:
    """Overlap tests between blocks of rows of one set of (x_min, y_min, x_max, y_max) boxes.

    ``over(rows, cols)`` is ``box_iou(boxes[rows], boxes[cols]) > iou_threshold`` for rows of the same class,
    computed with the same float32 operations in the same order (so the same bits), a coordinate at a time
    and in place: a (len(rows), len(cols)) block costs about three such float32 arrays.
    """

    def __init__(self, boxes: torch.Tensor, classes: torch.Tensor, iou_threshold: float) -> None:
        self.x0, self.y0, self.x1, self.y1 = boxes.unbind(1)
        self.area = (self.x1 - self.x0) * (self.y1 - self.y0)
        one_class = len(classes) == 0 or bool((classes == classes[0]).all())
        self.classes, self.threshold = (None if one_class else classes), iou_threshold
        self.tiny = torch.finfo(boxes.dtype).tiny

    def over(self, rows: torch.Tensor | slice, cols: torch.Tensor | slice) -> torch.Tensor:
        w = torch.minimum(self.x1[rows, None], self.x1[None, cols])
        w -= torch.maximum(self.x0[rows, None], self.x0[None, cols])
        h = torch.minimum(self.y1[rows, None], self.y1[None, cols])
        h -= torch.maximum(self.y0[rows, None], self.y0[None, cols])
        inter = w.clamp_(min=0).mul_(h.clamp_(min=0))  # in w's storage
        union = torch.add(self.area[rows, None], self.area[None, cols], out=h)  # h is free again
        union -= inter
        nonempty = union > 0
        iou = inter.div_(union.clamp_(min=self.tiny))
        out = iou > self.threshold
        out &= nonempty
        if self.classes is not None:
            out &= self.classes[rows, None] == self.classes[None, cols]
        return out


def _scan(boxes: torch.Tensor, classes: torch.Tensor, cls: np.ndarray, iou_threshold: float, max_per_class, tile):
    """``greedy`` on rows of any classes, ``tile`` rows at a time: each tile is first tested against the rows
    kept before it (in blocks of ``tile``), then scanned row by row against itself."""
    k, device = boxes.shape[0], boxes.device
    blocks = _Blocks(boxes, classes, iou_threshold)
    kept: list[int] = []
    kept_rows = torch.zeros(0, dtype=torch.int64, device=device)  # ``kept`` on the device, grown per tile
    count: dict = {}
    for start in range(0, k, tile):
        stop = min(start + tile, k)
        rows = slice(start, stop)
        suppressed = torch.zeros(stop - start, dtype=torch.bool, device=device)
        for first in range(0, len(kept_rows), tile):  # suppressed by a row kept in an earlier tile
            suppressed |= blocks.over(rows, kept_rows[first : first + tile]).any(1)
        within = blocks.over(rows, rows).cpu().numpy()  # one transfer per tile
        out = suppressed.cpu().numpy()
        added = len(kept)
        for i in range(stop - start):
            if out[i]:
                continue
            c = cls[start + i]
            if max_per_class is not None and count.get(c, 0) >= max_per_class:
                continue  # the class is full: a row it would keep suppresses only rows of its own class
            kept.append(start + i)
            count[c] = count.get(c, 0) + 1
            out |= within[i]
        if len(kept) > added:
            kept_rows = torch.cat([kept_rows, torch.as_tensor(kept[added:], dtype=torch.int64, device=device)])
    return np.asarray(kept, dtype=np.int64)


def greedy(
    boxes: torch.Tensor,
    classes: torch.Tensor,
    iou_threshold: float,
    max_per_class: int | None,
    tile: int = TILE,
    group: int = GROUP,
) -> torch.Tensor:
    """Indices of the kept rows of ``boxes`` (K, 4 corners), already in decreasing score order: a row is kept when
    its IoU with every kept row of the same class is <= ``iou_threshold``, at most ``max_per_class`` per class.

    Classes never interact, so whole classes are decided apart, packed into groups of about ``group`` rows (a
    class of more rows is a group of its own), each decided ``tile`` rows at a time. The kept rows, their order and
    every IoU compared are those of the plain row-by-row scan over the whole K x K matrix; memory is
    O(K + tile^2).
    """
    k, device = boxes.shape[0], boxes.device
    if k == 0:
        return torch.zeros(0, dtype=torch.int64, device=device)
    cls = classes.cpu().numpy()
    _, inverse, counts = np.unique(cls, return_inverse=True, return_counts=True)
    if len(counts) == 1:
        return torch.as_tensor(_scan(boxes, classes, cls, iou_threshold, max_per_class, tile), device=device)
    by_class = np.argsort(inverse, kind="stable")  # rows grouped by class, in score order within a class
    ends = np.cumsum(counts)
    groups: list[list[int]] = [[]]
    size = 0
    for c, n in enumerate(counts):
        if groups[-1] and size + n > group:
            groups.append([])
            size = 0
        groups[-1].append(c)
        size += int(n)
    kept = []
    for group in groups:
        rows = np.sort(np.concatenate([by_class[ends[c] - counts[c] : ends[c]] for c in group]))
        index = torch.as_tensor(rows, device=device)
        kept.append(rows[_scan(boxes[index], classes[index], cls[rows], iou_threshold, max_per_class, tile)])
    return torch.as_tensor(np.sort(np.concatenate(kept)), dtype=torch.int64, device=device)


def first_nan(t: torch.Tensor) -> tuple[int, ...] | None:
    """The index of the first NaN of ``t`` (C order), or None."""
    if not t.is_floating_point():
        return None
    found = torch.isnan(t)
    if not bool(found.any()):
        return None
    return tuple(int(i) for i in torch.nonzero(found)[0])


def select(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    max_output_boxes_per_class: int,
    iou_threshold: float = 0.0,
    score_threshold: float = 0.0,
    box_format: str = "xyxy",
    topk_box_limit: int | None = MAX_TOPK_BOX_LIMIT,
) -> torch.Tensor:
    """INMSLayer on tensors: boxes (B, N, 4) or per class (B, N, C, 4), scores (B, N, C) -> (K, 3) int64 rows of
    (batch, class, box), on the inputs' device. The arguments are checked by ``netdef._nms.check_nms`` (as
    ``F.nms`` checks them); a NaN score, or a NaN in a box that scores above the threshold, is an ArgumentError."""
    args = check_nms(
        boxes.shape,
        scores.shape,
        dtype_name(boxes),
        dtype_name(scores),
        max_output_boxes_per_class,
        iou_threshold,
        score_threshold,
        box_format,
        topk_box_limit,
    )
    nan = first_nan(scores)
    if nan is not None:
        raise nan_error("scores", nan)
    topk = MAX_TOPK_BOX_LIMIT if args.topk_box_limit is None else args.topk_box_limit
    rows = []
    for b in range(scores.shape[0]):
        box_idx, cls_idx = torch.nonzero(scores[b] > args.score_threshold, as_tuple=True)  # box-major order
        cand = scores[b][box_idx, cls_idx].float()
        order = torch.sort(cand, descending=True, stable=True).indices[:topk]
        box_idx, cls_idx = box_idx[order], cls_idx[order]
        picked = boxes[b][box_idx] if boxes.dim() == 3 else boxes[b][box_idx, cls_idx]
        nan = first_nan(picked)
        if nan is not None:
            where = (b, int(box_idx[nan[0]])) + ((int(cls_idx[nan[0]]),) if boxes.dim() == 4 else ())
            raise nan_error("boxes", (*where, nan[-1]))
        keep = greedy(
            corners(picked.float(), args.box_format),
            cls_idx,
            args.iou_threshold,
            args.max_output_boxes_per_class,
        )
        batch = torch.full_like(box_idx[keep], b)
        rows.append(torch.stack([batch, cls_idx[keep], box_idx[keep]], 1))
    if not rows:
        return torch.zeros((0, 3), dtype=torch.int64, device=boxes.device)
    return torch.cat(rows, 0)


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
