"""Detection post-processing outside the engine: non-maximum suppression on numpy arrays or torch tensors, and
the post-processing of every YOLO task (detect, segment, pose, obb, classify) as ultralytics' predictors do it.

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

The YOLO post-processing takes the raw outputs of a ``netdef.zoo.yolo`` network (ultralytics' eval outputs):
:func:`non_max_suppression` (axis-aligned boxes, or ``rotated`` boxes through :func:`rotated_nms` with
:func:`probiou`), :func:`process_masks` (prototypes x coefficients, upsampled to the network input, cropped to each
box, binarized), :func:`scale_boxes` / :func:`scale_coords` (from the letterboxed input back to the image),
:func:`obb_corners` and :func:`topk` (classification).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as TF

from netdef._nms import MAX_TOPK_BOX_LIMIT, check_batched_nms, check_nms, iou_threshold_of, nan_error
from netdef.errors import ArgumentError

__all__ = [
    "MAX_TOPK_BOX_LIMIT",
    "batched_nms",
    "box_iou",
    "corners",
    "greedy",
    "nms",
    "non_max_suppression",
    "obb_corners",
    "probiou",
    "process_masks",
    "rotated_nms",
    "scale_boxes",
    "scale_coords",
    "select",
    "topk",
]

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


# -- YOLO post-processing (ultralytics' predictors) ---------------------------------------------------------------


def _threshold(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ArgumentError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _count(name: str, value, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise ArgumentError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _no_nan(name: str, t: torch.Tensor) -> None:
    nan = first_nan(t)
    if nan is not None:
        raise nan_error(name, nan)


def _covariance(boxes: torch.Tensor):
    """Each (cx, cy, w, h, angle) box as a Gaussian: the entries (a, b, c) of its covariance [[a, c], [c, b]]."""
    var_w, var_h = boxes[:, 2:3].pow(2) / 12, boxes[:, 3:4].pow(2) / 12  # a uniform w x h box's variances
    cos, sin = boxes[:, 4:5].cos(), boxes[:, 4:5].sin()
    return var_w * cos.pow(2) + var_h * sin.pow(2), var_w * sin.pow(2) + var_h * cos.pow(2), (var_w - var_h) * cos * sin


def probiou(boxes1, boxes2, eps: float = 1e-7):
    """Probabilistic IoU (1 - the Hellinger distance of the boxes' Gaussians, Llerena et al. 2021), as ultralytics'
    ``batch_probiou`` computes it: (N, 5) and (M, 5) boxes (cx, cy, w, h, angle in radians) -> (N, M)."""
    a, b = _torch(boxes1), _torch(boxes2)
    for name, t in (("boxes1", a), ("boxes2", b)):
        if t.ndim != 2 or t.shape[1] != 5:
            raise ArgumentError(f"{name} must be (N, 5) rotated boxes (cx, cy, w, h, angle), got {tuple(t.shape)}")
    return _like(_probiou(a, b, eps), boxes1)


def _probiou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    x1, y1 = a[:, 0:1], a[:, 1:2]
    x2, y2 = b[None, :, 0], b[None, :, 1]
    a1, b1, c1 = _covariance(a)
    a2, b2, c2 = (v.T for v in _covariance(b))
    sa, sb, sc = a1 + a2, b1 + b2, c1 + c2
    det = sa * sb - sc.pow(2)
    t1 = ((sa * (y1 - y2).pow(2) + sb * (x1 - x2).pow(2)) / (det + eps)) * 0.25
    t2 = ((sc * (x2 - x1) * (y1 - y2)) / (det + eps)) * 0.5
    own = (a1 * b1 - c1.pow(2)).clamp(min=0) * (a2 * b2 - c2.pow(2)).clamp(min=0)
    t3 = (det / (4 * own.sqrt() + eps) + eps).log() * 0.5
    bhattacharyya = (t1 + t2 + t3).clamp(eps, 100.0)
    return 1 - (1.0 - (-bhattacharyya).exp() + eps).sqrt()


def rotated_nms(boxes, scores, iou_threshold: float, idxs=None):
    """Rotated-box NMS as ultralytics runs it for OBB models (Fast-NMS with :func:`probiou`): the indices of the
    kept ``boxes`` (N, 5) (cx, cy, w, h, angle), in decreasing ``scores`` (N,) order (equal scores: lower index
    first). A box is dropped when a higher-scoring box of its ``idxs`` category (all one category when None)
    overlaps it by more than ``iou_threshold``, whether or not that box was itself dropped. Computed in tiles."""
    t_boxes, t_scores = _torch(boxes), _torch(scores)
    if t_boxes.ndim != 2 or t_boxes.shape[1] != 5 or t_scores.shape != t_boxes.shape[:1]:
        raise ArgumentError(
            f"boxes must be (N, 5) rotated boxes (cx, cy, w, h, angle) and scores (N,), got boxes "
            f"{tuple(t_boxes.shape)} and scores {tuple(t_scores.shape)}"
        )
    t_idxs = torch.zeros(len(t_boxes), dtype=torch.int64) if idxs is None else _torch(idxs)
    if t_idxs.shape != t_scores.shape:
        raise ArgumentError(f"idxs must be (N,) like scores, got {tuple(t_idxs.shape)} and {tuple(t_scores.shape)}")
    iou = iou_threshold_of(iou_threshold)
    for name, t in (("scores", t_scores), ("boxes", t_boxes), ("idxs", t_idxs)):
        _no_nan(name, t)
    order = torch.sort(t_scores.float(), descending=True, stable=True).indices
    ordered, classes = t_boxes[order].float(), t_idxs[order].to(t_boxes.device)
    n = len(order)
    dropped = torch.zeros(n, dtype=torch.bool, device=t_boxes.device)
    for c0 in range(0, n, TILE):
        cols = slice(c0, min(c0 + TILE, n))
        col_index = torch.arange(c0, cols.stop, device=t_boxes.device)
        for r0 in range(0, cols.stop, TILE):  # only higher-scoring rows (row < column) can drop a column
            rows = slice(r0, min(r0 + TILE, cols.stop))
            row_index = torch.arange(r0, rows.stop, device=t_boxes.device)
            over = _probiou(ordered[rows], ordered[cols]) > iou
            over &= row_index[:, None] < col_index[None, :]
            over &= classes[rows, None] == classes[None, cols]
            dropped[cols] |= over.any(0)
    return _like(order[~dropped], boxes)


def non_max_suppression(
    prediction,
    conf: float = 0.25,
    iou: float = 0.7,
    nc: int = 0,
    max_det: int = 300,
    agnostic: bool = False,
    rotated: bool = False,
    max_nms: int = 30000,
):
    """ultralytics' ``non_max_suppression`` (one label per box) on a YOLO network's (B, 4 + nc + extra, anchors)
    output: per image a (K, 6 + extra) array of (x1, y1, x2, y2, score, class, extra...) rows in decreasing score
    order, at most ``max_det``; ``extra`` are the mask coefficients or keypoints after the ``nc`` class scores (give
    ``nc`` when there are any; 0: every row after the box is a class). With ``rotated`` (OBB models, whose extra is
    the angle) the boxes stay (cx, cy, w, h), the angle last, and the NMS is :func:`rotated_nms`. An anchor is a
    candidate when its best class scores above ``conf``; at most ``max_nms`` candidates (the best) are suppressed
    by IoU above ``iou``, class by class unless ``agnostic``. Takes numpy arrays or torch tensors, returns a list
    of the same kind."""
    pred = _torch(prediction[0] if isinstance(prediction, (list, tuple)) else prediction)
    if pred.ndim != 3 or pred.shape[1] < 5:
        raise ArgumentError(
            f"prediction must be a YOLO output (B, 4 + nc + extra, anchors), got shape {tuple(pred.shape)}"
        )
    conf, iou = _threshold("conf", conf), _threshold("iou", iou)
    max_det, max_nms = _count("max_det", max_det), _count("max_nms", max_nms, 1)
    nc = _count("nc", nc) or pred.shape[1] - 4 - (1 if rotated else 0)
    extra = pred.shape[1] - 4 - nc
    if extra < 0 or (rotated and extra < 1):
        raise ArgumentError(
            f"prediction has {pred.shape[1]} rows per anchor: 4 box rows, nc={nc} class rows"
            + (" and the angle" if rotated else "")
            + " do not fit; give the model's number of classes as nc"
        )
    out = []
    for image in pred.float().transpose(1, 2):  # (anchors, 4 + nc + extra)
        box, scores, rest = image[:, :4], image[:, 4 : 4 + nc], image[:, 4 + nc :]
        best, cls = scores.max(1)
        keep = best > conf
        box, best, cls, rest = box[keep], best[keep], cls[keep], rest[keep]
        if len(best) > max_nms:
            top = torch.sort(best, descending=True, stable=True).indices[:max_nms]
            box, best, cls, rest = box[top], best[top], cls[top], rest[top]
        groups = torch.zeros_like(cls) if agnostic else cls
        if rotated:
            kept = rotated_nms(torch.cat([box, rest[:, -1:]], 1), best, iou, groups)
        else:
            box = torch.cat([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], 1)
            kept = batched_nms(box, best, groups, iou)
        kept = kept[:max_det]
        out.append(torch.cat([box[kept], best[kept, None], cls[kept, None].float(), rest[kept]], 1))
    return [_like(o, prediction[0] if isinstance(prediction, (list, tuple)) else prediction) for o in out]


def process_masks(protos, coefficients, boxes, shape: tuple[int, int], upsample: bool = True):
    """Instance masks as ultralytics' ``process_mask``: ``coefficients`` (N, nm) x ``protos`` (nm, h, w), bilinearly
    upsampled to the network input ``shape`` (H, W) when ``upsample`` (else kept at the prototypes' size), zeroed
    outside each box (N, 4) (x1, y1, x2, y2 in input pixels), and binarized (> 0): (N, H, W) uint8."""
    t_protos, t_coef, t_boxes = _torch(protos).float(), _torch(coefficients).float(), _torch(boxes).float()
    if (
        t_protos.ndim != 3
        or t_coef.ndim != 2
        or t_coef.shape[1] != t_protos.shape[0]
        or t_boxes.shape
        != (
            len(t_coef),
            4,
        )
    ):
        raise ArgumentError(
            f"protos must be (nm, h, w), coefficients (N, nm) and boxes (N, 4); got {tuple(t_protos.shape)}, "
            f"{tuple(t_coef.shape)} and {tuple(t_boxes.shape)}"
        )
    nm, h, w = t_protos.shape
    height, width = (int(shape[0]), int(shape[1])) if upsample else (h, w)
    if not len(t_coef):
        return _like(torch.zeros((0, height, width), dtype=torch.uint8), protos)
    masks = (t_coef @ t_protos.reshape(nm, -1)).view(-1, h, w)
    if upsample:
        masks = TF.interpolate(masks[None], (height, width), mode="bilinear", align_corners=False)[0]
    else:
        t_boxes = t_boxes * t_boxes.new_tensor([w / shape[1], h / shape[0]] * 2)  # to the prototypes' pixels
    x = torch.arange(width, device=masks.device, dtype=t_boxes.dtype)
    y = torch.arange(height, device=masks.device, dtype=t_boxes.dtype)
    x1, y1, x2, y2 = (v[:, None] for v in t_boxes.unbind(1))
    inside = ((x >= x1) & (x < x2))[:, None, :] & ((y >= y1) & (y < y2))[:, :, None]
    return _like(((masks > 0) & inside).to(torch.uint8), protos)


def _letterbox(input_shape, image_shape):
    """The letterbox ultralytics assumes: per-axis gains (y, x) and the (left, top) padding."""
    (h1, w1), (h0, w0) = input_shape[:2], image_shape[:2]
    gain = min(h1 / h0, w1 / w0)
    new_h, new_w = max(round(h0 * gain), 1), max(round(w0 * gain), 1)
    return (new_h / h0, new_w / w0), (round((w1 - new_w) / 2 - 0.1), round((h1 - new_h) / 2 - 0.1))


def scale_boxes(boxes, input_shape: tuple[int, int], image_shape: tuple[int, int], xywh: bool = False):
    """Boxes (..., 4) in the letterboxed network input (H, W) -> the original image (H0, W0), as ultralytics'
    ``scale_boxes``: x1, y1, x2, y2 clipped to the image, or (cx, cy, w, h) unclipped with ``xywh``. A copy."""
    t = _torch(boxes).float().clone()
    (gy, gx), (px, py) = _letterbox(input_shape, image_shape)
    t[..., 0] -= px
    t[..., 1] -= py
    if not xywh:
        t[..., 2] -= px
        t[..., 3] -= py
    t[..., 0::2] /= gx
    t[..., 1::2] /= gy
    if not xywh:
        h0, w0 = image_shape[:2]
        t[..., 0::2] = t[..., 0::2].clamp(0, w0)
        t[..., 1::2] = t[..., 1::2].clamp(0, h0)
    return _like(t, boxes)


def scale_coords(coords, input_shape: tuple[int, int], image_shape: tuple[int, int]):
    """Points (..., >= 2) with x, y first (keypoints (N, K, 3)) from the letterboxed input to the image, clipped to
    it, as ultralytics' ``scale_coords``; the other channels (visibility) unchanged. A copy."""
    t = _torch(coords).float().clone()
    (gy, gx), (px, py) = _letterbox(input_shape, image_shape)
    h0, w0 = image_shape[:2]
    t[..., 0] = ((t[..., 0] - px) / gx).clamp(0, w0)
    t[..., 1] = ((t[..., 1] - py) / gy).clamp(0, h0)
    return _like(t, coords)


def obb_corners(boxes):
    """Rotated boxes (N, 5) (cx, cy, w, h, angle) -> their four corners (N, 4, 2), for drawing."""
    t = _torch(boxes).float()
    centre, w, h, angle = t[:, None, :2], t[:, 2:3], t[:, 3:4], t[:, 4:5]
    cos, sin = angle.cos(), angle.sin()
    half_w = torch.stack([w * cos / 2, w * sin / 2], -1)  # (N, 1, 2)
    half_h = torch.stack([-h * sin / 2, h * cos / 2], -1)
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]], device=t.device)
    return _like(centre + signs[None, :, :1] * half_w + signs[None, :, 1:] * half_h, boxes)


def topk(probs, k: int = 5):
    """Classification: the ``k`` most probable classes of (nc,) or (B, nc) probabilities, best first (equal
    probabilities: lower class first): (indices, probabilities), each (k,) or (B, k)."""
    t = _torch(probs)
    k = _count("k", k, 1)
    if t.ndim not in (1, 2) or k > t.shape[-1]:
        raise ArgumentError(f"probs must be (nc,) or (B, nc) with nc >= k={k}, got {tuple(t.shape)}")
    _no_nan("probs", t)
    order = torch.sort(t, dim=-1, descending=True, stable=True).indices[..., :k]
    return _like(order, probs), _like(t.gather(-1, order), probs)
