"""netdef.detection's YOLO post-processing against ultralytics' own (ultralytics.utils.nms / ops / metrics) on the
same raw outputs: boxes, scores and classes of the NMS (axis-aligned and rotated), masks, keypoints, top-k.

ultralytics' ``non_max_suppression`` calls ``torchvision.ops.nms`` whenever torchvision is imported, and that C++
op does not load beside this CPU torch (netdef/zoo/upstream.py). The tests that need it swap in ultralytics' own
pure-torch ``TorchNMS.nms`` (documented by ultralytics to match torchvision exactly) for the test's duration only:
the reference stays ultralytics' code, independent of netdef's NMS.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from netdef import detection
from netdef.errors import ArgumentError
from netdef.zoo import upstream

needs_ultralytics = pytest.mark.skipif(
    upstream.available("ultralytics") is not None, reason=str(upstream.available("ultralytics"))
)


def _raw(seed: int, nc: int, extra: int, anchors: int = 400, batch: int = 2, size: float = 96.0) -> torch.Tensor:
    """A YOLO-like (B, 4 + nc + extra, anchors) output: clustered boxes (many overlaps), peaked scores."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(batch, 2, 8, generator=g) * size  # 8 clusters
    pick = torch.randint(0, 8, (batch, anchors), generator=g)
    xy = centres.gather(2, pick[:, None].expand(-1, 2, -1)) + torch.randn(batch, 2, anchors, generator=g) * 4
    wh = 8 + torch.rand(batch, 2, anchors, generator=g) * 30
    scores = torch.rand(batch, nc, anchors, generator=g) ** 4
    rest = torch.randn(batch, extra, anchors, generator=g)
    return torch.cat([xy, wh, scores, rest], 1)


@pytest.fixture
def ultralytics_nms(monkeypatch):
    """ultralytics.utils.nms with torchvision.ops.nms replaced by ultralytics' own TorchNMS.nms (module doc)."""
    tv = upstream.torchvision()
    from ultralytics.utils import nms

    monkeypatch.setattr(tv.ops, "nms", nms.TorchNMS.nms)  # test-only: torchvision's C++ op does not load here
    return nms


def _assert_same_rows(got, want, what: str) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        w = w.numpy() if isinstance(w, torch.Tensor) else w
        g = g.numpy() if isinstance(g, torch.Tensor) else g
        assert g.shape == w.shape, f"{what} image {i}: {g.shape} rows, ultralytics {w.shape}"
        assert len(g) > 3, f"{what} image {i}: too few detections to test anything"
        np.testing.assert_array_equal(g[:, 5], w[:, 5], err_msg=f"{what} image {i}: classes")
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-5, err_msg=f"{what} image {i}")


@needs_ultralytics
@pytest.mark.parametrize(("nc", "extra", "agnostic"), [(3, 0, False), (3, 0, True), (1, 51, False), (2, 32, False)])
def test_nms_matches_ultralytics(ultralytics_nms, nc, extra, agnostic):
    raw = _raw(nc + extra, nc, extra)
    want = ultralytics_nms.non_max_suppression(raw.clone(), 0.2, 0.5, agnostic=agnostic, nc=nc if extra else 0)
    got = detection.non_max_suppression(raw.numpy(), 0.2, 0.5, nc=nc if extra else 0, agnostic=agnostic)
    assert isinstance(got[0], np.ndarray)
    _assert_same_rows(got, want, f"nc={nc} extra={extra}")
    assert len(got[0]) < int((raw[0, 4 : 4 + nc].amax(0) > 0.2).sum())  # something was suppressed


@needs_ultralytics
def test_rotated_nms_and_probiou_match_ultralytics():
    from ultralytics.utils import metrics, nms

    raw = _raw(7, 4, 1)
    raw[:, -1] = (torch.rand(raw.shape[0], raw.shape[2], generator=torch.Generator().manual_seed(3)) - 0.25) * math.pi
    boxes = torch.cat([raw[0, :4].T, raw[0, -1:].T], 1)
    np.testing.assert_allclose(
        detection.probiou(boxes, boxes[:50]), metrics.batch_probiou(boxes, boxes[:50]), rtol=1e-5, atol=1e-6
    )
    want = nms.non_max_suppression(raw.clone(), 0.2, 0.3, nc=4, rotated=True)
    got = detection.non_max_suppression(raw, 0.2, 0.3, nc=4, rotated=True)
    assert isinstance(got[0], torch.Tensor)
    _assert_same_rows(got, want, "obb")


def test_rotated_nms_is_fast_nms():
    """A box dropped by a better one still drops the next (ultralytics' Fast-NMS), unlike greedy NMS; other
    categories never interact. Boxes: A overlaps B, B overlaps C, A does not overlap C."""
    boxes = np.array([[0, 0, 10, 10, 0], [4, 0, 10, 10, 0], [8, 0, 10, 10, 0], [4, 0, 10, 10, 0]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    iou = detection.probiou(boxes, boxes)
    assert iou[0, 1] > 0.5 and iou[1, 2] > 0.5 and iou[0, 2] < 0.5
    np.testing.assert_array_equal(detection.rotated_nms(boxes, scores, 0.5), [0])
    np.testing.assert_array_equal(detection.rotated_nms(boxes, scores, 0.5, idxs=np.array([0, 0, 0, 1])), [0, 3])
    with pytest.raises(ArgumentError, match=r"boxes must be \(N, 5\) rotated boxes"):
        detection.rotated_nms(boxes[:, :4], scores, 0.5)


@needs_ultralytics
def test_masks_match_ultralytics():
    from ultralytics.utils import ops

    g = torch.Generator().manual_seed(0)
    protos, coef = torch.randn(32, 16, 24, generator=g), torch.randn(6, 32, generator=g)
    xy = torch.rand(6, 2, generator=g) * torch.tensor([80.0, 50.0])
    boxes = torch.cat([xy, xy + 5 + torch.rand(6, 2, generator=g) * 30], 1)
    for upsample in (True, False):
        want = ops.process_mask(protos, coef, boxes.clone(), (64, 96), upsample=upsample)
        got = detection.process_masks(protos.numpy(), coef.numpy(), boxes.numpy(), (64, 96), upsample=upsample)
        assert got.dtype == np.uint8 and got.shape == tuple(want.shape)
        assert 0 < got.sum() and np.array_equal(got, want.numpy()), f"upsample={upsample}"
    assert detection.process_masks(protos, coef[:0], boxes[:0], (64, 96)).shape == (0, 64, 96)


@needs_ultralytics
def test_boxes_and_keypoints_map_back_as_ultralytics():
    from ultralytics.utils import ops

    g = torch.Generator().manual_seed(1)
    boxes = torch.rand(10, 4, generator=g) * 64
    kpts = torch.cat([torch.rand(10, 17, 2, generator=g) * 64, torch.rand(10, 17, 1, generator=g)], 2)
    for image in ((810, 1080), (480, 200)):
        want = ops.scale_boxes((64, 96), boxes.clone(), image)
        np.testing.assert_allclose(detection.scale_boxes(boxes, (64, 96), image), want, rtol=1e-6)
        want = ops.scale_boxes((64, 96), boxes.clone(), image, xywh=True)
        np.testing.assert_allclose(detection.scale_boxes(boxes, (64, 96), image, xywh=True), want, rtol=1e-6)
        want = ops.scale_coords((64, 96), kpts.clone(), image)
        np.testing.assert_allclose(detection.scale_coords(kpts.numpy(), (64, 96), image), want, rtol=1e-6)


def test_obb_corners():
    corners = detection.obb_corners(np.array([[10, 20, 4, 2, math.pi / 2]], np.float32))
    got = {tuple(np.round(c, 4)) for c in corners[0]}
    assert got == {(11.0, 22.0), (9.0, 22.0), (9.0, 18.0), (11.0, 18.0)}


@needs_ultralytics
def test_topk_matches_ultralytics_probs():
    from ultralytics.engine.results import Probs

    probs = torch.softmax(torch.randn(3, 1000, generator=torch.Generator().manual_seed(2)), 1)
    indices, values = detection.topk(probs.numpy(), 5)
    assert indices.shape == values.shape == (3, 5)
    for i in range(3):
        assert list(indices[i]) == Probs(probs[i]).top5
        np.testing.assert_allclose(values[i], Probs(probs[i]).top5conf.numpy())
    with pytest.raises(ArgumentError, match=r"probs must be \(nc,\) or \(B, nc\) with nc >= k=7"):
        detection.topk(probs[:, :6], 7)


def test_arguments_are_checked():
    raw = np.zeros((1, 6, 10), np.float32)
    with pytest.raises(ArgumentError, match=r"conf must be a number in \[0, 1\], got 1.5"):
        detection.non_max_suppression(raw, conf=1.5)
    with pytest.raises(ArgumentError, match=r"rows per anchor: 4 box rows, nc=5 class rows do not fit"):
        detection.non_max_suppression(raw, nc=5)
    with pytest.raises(ArgumentError, match=r"prediction must be a YOLO output \(B, 4 \+ nc \+ extra, anchors\)"):
        detection.non_max_suppression(raw[0])
    assert [len(d) for d in detection.non_max_suppression(raw)] == [0]
