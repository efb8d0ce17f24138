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
from netdef.build import _config, _options, _serialize, backend_builds


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
    config = _config(network, _options(network, None, None, (), False))
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


def test_bad_arguments_are_refused():
    inputs = {"boxes": netdef.Input((1, 4, 4)), "scores": netdef.Input((1, 4, 2))}
    with pytest.raises(netdef.EmitError, match="iou_threshold must be in"):
        netdef.define(NMS(max_output_boxes_per_class=1, iou_threshold=1.5), inputs)
    with pytest.raises(netdef.EmitError, match="box_format must be one of xyxy, cxcywh"):
        netdef.define(NMS(max_output_boxes_per_class=1, box_format="xywh"), inputs)
    bad = {"boxes": netdef.Input((1, 4, 5)), "scores": netdef.Input((1, 4, 2))}
    with pytest.raises(netdef.EmitError, match=r"boxes must be \(B, N, 4\)"):
        netdef.define(NMS(max_output_boxes_per_class=1), bad)


@pytest.mark.gpu
def test_post_process_on_cuda_tensors():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch on this machine")
    boxes, scores = _random(np.random.default_rng(9), 2, 50, 4)
    got = netdef.detection.nms(torch.from_numpy(boxes).cuda(), torch.from_numpy(scores).cuda(), 5, 0.4, 0.1)
    assert got.device.type == "cuda"
    np.testing.assert_array_equal(got.cpu().numpy(), reference_nms(boxes, scores, 5, 0.4, 0.1))
