"""Non-maximum suppression: the interpreter's INMSLayer, netdef.detection's post-process and the build-time check.

The oracle is a straightforward per-candidate loop written here from TensorRT's definition of INMSLayer (and
torchvision's of batched_nms), in plain Python floats. torchvision's own nms is a C++ op that does not load
beside this torch (netdef/zoo/upstream.py), so ultralytics' pure-torch NMS is the second, upstream oracle.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef.build import BuildOptions, _serialize, backend_builds


def _iou(a, b) -> float:
    ax0, ay0, ax1, ay1 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
    bx0, by0, bx1, by1 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def _xyxy(box, fmt):
    if fmt == "xyxy":
        return [float(v) for v in box]
    cx, cy, w, h = (float(v) for v in box)
    return [cx - abs(w) / 2, cy - abs(h) / 2, cx + abs(w) / 2, cy + abs(h) / 2]


def reference_nms(boxes, scores, max_per_class, iou_thr, score_thr, fmt="xyxy", topk=5000):
    """INMSLayer as TensorRT documents it; equal scores in (box, class) order."""
    rows = []
    for b in range(scores.shape[0]):
        cands = [
            (-float(scores[b, n, c]), n, c)
            for n in range(scores.shape[1])
            for c in range(scores.shape[2])
            if scores[b, n, c] > score_thr
        ]
        kept: dict[int, list] = {}
        for _, n, c in sorted(cands)[:topk]:
            box = _xyxy(boxes[b, n] if boxes.ndim == 3 else boxes[b, n, c], fmt)
            same = kept.setdefault(c, [])
            if len(same) < max_per_class and all(_iou(box, k) <= iou_thr for k in same):
                same.append(box)
                rows.append((b, c, n))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def reference_batched_nms(boxes, scores, idxs, iou_thr):
    """torchvision.ops.batched_nms: kept indices in decreasing score order (equal scores: lower index first)."""
    kept = []
    for i in sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i)):
        if all(idxs[k] != idxs[i] or _iou(boxes[i], boxes[k]) <= iou_thr for k in kept):
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def _random(rng, batch, n, classes, per_class=False, tied=True):
    shape = (batch, n, classes, 4) if per_class else (batch, n, 4)
    boxes = (rng.random(shape) * 40).astype(np.float32)  # corners in any order
    scores = rng.random((batch, n, classes)).astype(np.float32)
    if tied:
        scores = np.round(scores * 8) / 8  # many equal scores
    return boxes, scores


class NMS(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, boxes, scores):
        return F.nms(boxes, scores, **self.kwargs)


def _run(boxes, scores, **kwargs):
    inputs = {"boxes": netdef.Input(boxes.shape), "scores": netdef.Input(scores.shape)}
    network = netdef.define(NMS(**kwargs), inputs)
    out = netdef.reference.run(network, {"boxes": boxes, "scores": scores})
    return network, out["output0"], out["output1"]


CASES = {
    "defaults": dict(max_output_boxes_per_class=50, iou_threshold=0.5),
    "per-class-limit": dict(max_output_boxes_per_class=2, iou_threshold=0.3, score_threshold=0.25),
    "topk-limit": dict(max_output_boxes_per_class=50, iou_threshold=0.5, topk_box_limit=7),
    "iou-zero": dict(max_output_boxes_per_class=50, iou_threshold=0.0),
    "iou-one": dict(max_output_boxes_per_class=50, iou_threshold=1.0, score_threshold=0.5),
    "cxcywh": dict(max_output_boxes_per_class=4, iou_threshold=0.4, box_format="cxcywh"),
    "empty": dict(max_output_boxes_per_class=50, iou_threshold=0.5, score_threshold=1.0),
    "zero-per-class": dict(max_output_boxes_per_class=0, iou_threshold=0.5),
}


@pytest.mark.parametrize("per_class", [False, True], ids=["shared-boxes", "per-class-boxes"])
@pytest.mark.parametrize("case", list(CASES))
def test_interpreter_and_post_process_match_the_definition(case, per_class):
    kwargs = CASES[case]
    boxes, scores = _random(np.random.default_rng(len(case)), 2, 30, 3, per_class)
    _, selected, count = _run(boxes, scores, **kwargs)
    want = reference_nms(
        boxes,
        scores,
        kwargs["max_output_boxes_per_class"],
        kwargs["iou_threshold"],
        kwargs.get("score_threshold", 0.0),
        kwargs.get("box_format", "xyxy"),
        kwargs.get("topk_box_limit", 5000),
    )
    assert selected.dtype == np.int32 and selected.shape == (len(want), 3)
    np.testing.assert_array_equal(selected, want)
    assert int(count) == len(want)
    if case not in ("empty", "zero-per-class"):
        assert len(want) > 2, "the case should select something"
    # the post-process: same rows, numpy in -> numpy out, torch in -> torch out
    post = netdef.detection.nms(boxes, scores, **kwargs)
    assert isinstance(post, np.ndarray)
    np.testing.assert_array_equal(post, want)
    post_t = netdef.detection.nms(torch.from_numpy(boxes), torch.from_numpy(scores), **kwargs)
    assert isinstance(post_t, torch.Tensor)
    np.testing.assert_array_equal(post_t.numpy(), want)


def test_fp16_network_selects_as_fp32_on_distinct_scores():
    boxes, scores = _random(np.random.default_rng(5), 1, 40, 2, tied=False)
    inputs = {"boxes": netdef.Input(boxes.shape), "scores": netdef.Input(scores.shape)}
    network = netdef.define(NMS(max_output_boxes_per_class=10, iou_threshold=0.5), inputs, precision="fp16")
    got = netdef.reference.run(network, {"boxes": boxes, "scores": scores})["output0"]
    want = reference_nms(boxes.astype(np.float16), scores.astype(np.float16), 10, 0.5, 0.0)
    np.testing.assert_array_equal(got, want)


def test_batched_nms_is_torchvisions():
    rng = np.random.default_rng(2)
    boxes = np.sort((rng.random((60, 2, 2)) * 50).astype(np.float32), axis=1).reshape(60, 4)[:, [0, 2, 1, 3]]
    boxes = boxes[:, [0, 1, 2, 3]]
    scores = np.round(rng.random(60) * 6).astype(np.float32) / 6  # ties
    idxs = rng.integers(0, 3, 60)
    want = reference_batched_nms(boxes, scores, idxs, 0.3)
    np.testing.assert_array_equal(netdef.detection.batched_nms(boxes, scores, idxs, 0.3), want)
    keep = netdef.detection.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs), 0.3)
    np.testing.assert_array_equal(keep.numpy(), want)
    empty = netdef.detection.batched_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == np.int64


def test_batched_nms_matches_ultralytics():
    """ultralytics' pure-torch NMS (its stand-in for torchvision's, with the class-offset trick) on distinct scores."""
    from netdef.zoo import upstream

    reason = upstream.available("ultralytics")
    if reason:
        pytest.skip(reason)
    from ultralytics.utils.nms import TorchNMS

    rng = np.random.default_rng(3)
    xy = rng.random((80, 2)) * 60
    boxes = torch.from_numpy(np.concatenate([xy, xy + 4 + rng.random((80, 2)) * 20], 1).astype(np.float32))
    scores = torch.from_numpy(rng.permutation(80).astype(np.float32) / 80)
    idxs = torch.from_numpy(rng.integers(0, 4, 80))
    for iou in (0.2, 0.45, 0.7):
        want = TorchNMS.nms(boxes + idxs[:, None].float() * 7680, scores, iou)
        got = netdef.detection.batched_nms(boxes, scores, idxs, iou)
        assert len(want) > 5
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_build_checks_the_backend_can_run_nms():
    """The capability probe agrees with the real builder; an unsupported backend is refused with the way out."""
    boxes, scores = _random(np.random.default_rng(0), 1, 8, 2)
    network, _, _ = _run(boxes, scores, max_output_boxes_per_class=3)
    config = BuildOptions().config(network)
    with netdef._trt.LOGGER.quiet():
        builds = _serialize(network.network, config) is not None
    assert builds == backend_builds("NMS")
    if builds:
        assert netdef.build(network).data
    else:
        with pytest.raises(
            netdef.BuildError, match=r"`nms` is an INMSLayer.*no runner for NMS.*netdef\.detection\.nms"
        ):
            netdef.build(network)


class HalfScores(NMS):
    def forward(self, boxes, scores):
        return F.nms(boxes, scores.half(), **self.kwargs)


def _define(boxes_shape, scores_shape, dtype=np.float32, scores_dtype=None, **kwargs):
    """F.nms in a network; float inputs take the network's precision, so float16 scores are a cast in it."""
    name = np.dtype(dtype).name
    inputs = {"boxes": netdef.Input(boxes_shape, dtype=name), "scores": netdef.Input(scores_shape, dtype=name)}
    return netdef.define((HalfScores if scores_dtype == np.float16 else NMS)(**kwargs), inputs)


#: one refused argument per case: (kwargs, boxes shape, scores shape, dtype of boxes, of scores, message)
BAD = {
    "iou-above-one": (dict(iou_threshold=1.5), r"iou_threshold must be a number in \[0, 1\], got 1\.5"),
    "iou-negative": (dict(iou_threshold=-0.1), r"iou_threshold must be a number in \[0, 1\], got -0\.1"),
    "iou-nan": (dict(iou_threshold=float("nan")), r"iou_threshold must be a number in \[0, 1\], got nan"),
    "iou-string": (dict(iou_threshold="0.5"), r"iou_threshold must be a number in \[0, 1\], got '0\.5'"),
    "iou-bool": (dict(iou_threshold=True), r"iou_threshold must be a number in \[0, 1\], got True"),
    "score-nan": (dict(score_threshold=float("nan")), r"score_threshold must be a number \(not NaN\), got nan"),
    "score-string": (dict(score_threshold="high"), r"score_threshold must be a number \(not NaN\), got 'high'"),
    "max-negative": (dict(max_output_boxes_per_class=-1), r"max_output_boxes_per_class must be an integer in \[0, "),
    "max-fraction": (dict(max_output_boxes_per_class=2.5), r"max_output_boxes_per_class must be .*, got 2\.5"),
    "max-bool": (dict(max_output_boxes_per_class=True), r"max_output_boxes_per_class must be .*, got True"),
    "max-int32": (dict(max_output_boxes_per_class=2**31), r"max_output_boxes_per_class must be .*, got 2147483648"),
    "format": (dict(box_format="xywh"), r"box_format must be one of xyxy, cxcywh, got 'xywh'"),
    "format-none": (dict(box_format=None), r"box_format must be one of xyxy, cxcywh, got None"),
    "topk-negative": (dict(topk_box_limit=-1), r"topk_box_limit must be an integer in \[0, 5000\].*got -1"),
    "topk-above-limit": (dict(topk_box_limit=5001), r"topk_box_limit must be an integer in \[0, 5000\].*got 5001"),
    "topk-fraction": (dict(topk_box_limit=7.5), r"topk_box_limit must be .*got 7\.5"),
    "boxes-not-4": (dict(boxes=(1, 4, 5)), r"boxes must be \(B, N, 4\) .*got boxes \(1, 4, 5\) and scores \(1, 4, 2\)"),
    "scores-2d": (dict(scores=(1, 4)), r"boxes must be \(B, N, 4\) .*got boxes \(1, 4, 4\) and scores \(1, 4\)"),
    "n-differs": (
        dict(scores=(1, 5, 2)),
        r"with the same B, N \(and C\); got boxes \(1, 4, 4\) and scores \(1, 5, 2\)",
    ),
    "b-differs": (dict(boxes=(2, 4, 4)), r"got boxes \(2, 4, 4\) and scores \(1, 4, 2\)"),
    "classes-differ": (dict(boxes=(1, 4, 3, 4)), r"got boxes \(1, 4, 3, 4\) and scores \(1, 4, 2\)"),
    "dtypes-differ": (dict(scores_dtype=np.float16), r"both be float32 or both float16 .*got float32 and float16"),
    "int-boxes": (dict(dtype=np.int32), r"both be float32 or both float16 .*got int32 and int32; cast both to float32"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_both_entry_points_refuse_the_same_arguments_with_the_same_message(case):
    """F.nms (define time) and netdef.detection.nms (the post-process) follow one rule set (netdef._nms)."""
    kwargs, pattern = dict(BAD[case][0]), BAD[case][1]
    boxes_shape, scores_shape = kwargs.pop("boxes", (1, 4, 4)), kwargs.pop("scores", (1, 4, 2))
    dtype, scores_dtype = kwargs.pop("dtype", np.float32), kwargs.pop("scores_dtype", None)
    kwargs = {"max_output_boxes_per_class": 3, **kwargs}
    with pytest.raises(netdef.EmitError, match=pattern) as emitted:
        _define(boxes_shape, scores_shape, dtype, scores_dtype, **kwargs)
    boxes = np.zeros(boxes_shape, dtype)
    scores = np.full(scores_shape, 0.5, scores_dtype or dtype)
    for convert in (np.asarray, torch.from_numpy):
        with pytest.raises(netdef.ArgumentError, match=pattern) as post:
            netdef.detection.nms(convert(boxes), convert(scores), **kwargs)
        assert str(emitted.value).endswith(": " + str(post.value))  # the op and module named, then the same text


def test_dynamic_sizes_are_checked_where_known():
    def define(boxes, scores):
        inputs = {
            "boxes": netdef.Input(
                boxes, min=[1 if d < 0 else d for d in boxes], max=[8 if d < 0 else d for d in boxes]
            ),
            "scores": netdef.Input(
                scores, min=[1 if d < 0 else d for d in scores], max=[8 if d < 0 else d for d in scores]
            ),
        }
        return netdef.define(NMS(max_output_boxes_per_class=3), inputs)

    assert define((-1, -1, 4), (-1, -1, 2)).network.num_outputs == 2
    with pytest.raises(netdef.EmitError, match=r"got boxes \(\?, 4, 4\) and scores \(\?, 5, 2\)"):
        define((-1, 4, 4), (-1, 5, 2))


def test_nan_scores_and_boxes_are_refused_by_the_post_process_and_the_interpreter():
    boxes, scores = _random(np.random.default_rng(4), 1, 6, 2, tied=False)
    bad = scores.copy()
    bad[0, 4, 1] = np.nan
    with pytest.raises(netdef.ArgumentError, match=r"scores holds NaN at \(0, 4, 1\)"):
        netdef.detection.nms(boxes, bad, 3)
    network = _define(boxes.shape, scores.shape, max_output_boxes_per_class=3)
    with pytest.raises(netdef.InterpreterError, match=r"\(NMS\) failed: scores holds NaN at \(0, 4, 1\)"):
        netdef.reference.run(network, {"boxes": boxes, "scores": bad})
    # a NaN box counts only where the box is a candidate (some score above the threshold)
    nan_box = boxes.copy()
    nan_box[0, 2, 3] = np.nan
    low = scores.copy()
    low[0, 2] = 0.0
    np.testing.assert_array_equal(netdef.detection.nms(nan_box, low, 3, 0.5), netdef.detection.nms(boxes, low, 3, 0.5))
    with pytest.raises(netdef.ArgumentError, match=r"boxes holds NaN at \(0, 2, 3\)"):
        netdef.detection.nms(nan_box, scores, 3)


def test_batched_nms_refuses_what_nms_refuses():
    boxes = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    scores, idxs = np.array([0.9, 0.8], np.float32), np.array([0, 0])
    for iou, text in ((1.5, "1.5"), (float("nan"), "nan"), (-1, "-1")):
        with pytest.raises(netdef.ArgumentError, match=rf"iou_threshold must be a number in \[0, 1\], got {text}"):
            netdef.detection.batched_nms(boxes, scores, idxs, iou)
    with pytest.raises(netdef.ArgumentError, match="box_format must be one of xyxy, cxcywh, got 'xywh'"):
        netdef.detection.batched_nms(boxes, scores, idxs, 0.5, box_format="xywh")
    with pytest.raises(netdef.ArgumentError, match=r"boxes must be \(N, 4\), scores and idxs \(N,\); got boxes"):
        netdef.detection.batched_nms(boxes, scores[:1], idxs, 0.5)
    with pytest.raises(netdef.ArgumentError, match="idxs must hold category ids"):
        netdef.detection.batched_nms(boxes, scores, idxs.astype(bool), 0.5)
    for name, arrays in (
        ("scores", (boxes, np.array([np.nan, 0.8], np.float32), idxs)),
        ("boxes", (np.where(np.eye(2, 4, dtype=bool), np.nan, boxes).astype(np.float32), scores, idxs)),
        ("idxs", (boxes, scores, np.array([0.0, np.nan]))),
    ):
        with pytest.raises(netdef.ArgumentError, match=f"{name} holds NaN"):
            netdef.detection.batched_nms(*arrays, 0.5)


def _grid_boxes(rng, n, span=6):
    """Boxes with small integer corners (many duplicates, IoUs of exactly 0, 1/2, 1...) and tied scores."""
    lo = rng.integers(0, span, (n, 2))
    boxes = np.concatenate([lo, lo + rng.integers(1, 4, (n, 2))], 1).astype(np.float32)
    scores = (rng.integers(0, 5, n) / 4).astype(np.float32)
    return boxes, scores


def former_greedy(boxes, classes, iou_threshold, max_per_class):
    """netdef's NMS scan before tiling (the semantics to keep): the whole K x K IoU matrix, then row by row."""
    from netdef.detection import box_iou

    over = ((box_iou(boxes, boxes) > iou_threshold) & (classes[:, None] == classes[None, :])).numpy()
    suppressed, kept, count = np.zeros(len(boxes), dtype=bool), [], {}
    for i, c in enumerate(classes.tolist()):
        if suppressed[i] or (max_per_class is not None and count.get(c, 0) >= max_per_class):
            continue
        kept.append(i)
        count[c] = count.get(c, 0) + 1
        suppressed |= over[i]
    return np.array(kept, dtype=np.int64)


@pytest.mark.parametrize("tile, group", [(1, 256), (5, 1), (64, 40), (4096, 4096)])
def test_tiled_greedy_keeps_what_the_whole_matrix_keeps(tile, group):
    """The tiled scan against the former whole-matrix scan and the plain-Python definition: same rows, same order,
    ties (equal scores, duplicate boxes, IoUs of exactly 0, 1/2 or 1) and heavy overlap included."""
    from netdef.detection import corners, greedy

    rng = np.random.default_rng(tile)
    cases = ((150, 1, 0.5, None), (200, 3, 0.3, None), (180, 2, 0.0, 4), (120, 4, 1.0, 2), (300, 40, 0.5, 1))
    for n, classes, iou, limit in cases:
        boxes, scores = _grid_boxes(rng, n)
        idxs = rng.integers(0, classes, n)
        order = np.argsort(-scores, kind="stable")
        b = corners(torch.from_numpy(boxes[order]))
        c = torch.from_numpy(idxs[order])
        tiled = greedy(b, c, iou, limit, tile=tile, group=group)
        np.testing.assert_array_equal(tiled.numpy(), former_greedy(b, c, iou, limit))
        if limit is None:
            np.testing.assert_array_equal(order[tiled.numpy()], reference_batched_nms(boxes, scores, idxs, iou))
        assert 1 < len(tiled) < n


@pytest.mark.parametrize("classes", [1, 5])
def test_nms_memory_does_not_grow_with_the_square_of_the_boxes(monkeypatch, classes):
    """No IoU block larger than TILE x TILE: 3,000 boxes were a 3,000 x 3,000 x 2 intermediate before."""
    from netdef import detection as module

    seen = []
    real_over, real_iou = module._Blocks.over, module.box_iou

    def over(self, rows, cols):
        out = real_over(self, rows, cols)
        seen.append(tuple(out.shape))
        return out

    monkeypatch.setattr(module._Blocks, "over", over)
    monkeypatch.setattr(module, "box_iou", lambda a, b: seen.append((len(a), len(b))) or real_iou(a, b))
    rng = np.random.default_rng(7)
    n = 3000
    xy = rng.random((n, 2)).astype(np.float32) * 600
    boxes = np.concatenate([xy, xy + 5 + rng.random((n, 2)).astype(np.float32) * 60], 1)
    scores, idxs = rng.random(n).astype(np.float32), rng.integers(0, classes, n)
    keep = netdef.detection.batched_nms(boxes, scores, idxs, 0.45)
    assert seen and max(max(s) for s in seen) <= module.TILE < n
    assert len(keep) > module.TILE  # rows kept in earlier tiles were compared block by block too
    monkeypatch.undo()
    order = np.argsort(-scores, kind="stable")
    whole = former_greedy(torch.from_numpy(boxes[order]), torch.from_numpy(idxs[order]), 0.45, None)
    np.testing.assert_array_equal(keep, order[whole])


@pytest.mark.gpu
def test_post_process_on_cuda_tensors():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch on this machine")
    boxes, scores = _random(np.random.default_rng(9), 2, 50, 4)
    got = netdef.detection.nms(torch.from_numpy(boxes).cuda(), torch.from_numpy(scores).cuda(), 5, 0.4, 0.1)
    assert got.device.type == "cuda"
    np.testing.assert_array_equal(got.cpu().numpy(), reference_nms(boxes, scores, 5, 0.4, 0.1))
