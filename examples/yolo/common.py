"""What the YOLO example scripts share: model names, weights, letterbox pre-processing, each task's post-processing
and drawing.

The post-processing is ultralytics' predictors' for each task, from ``netdef.detection``: ``non_max_suppression``
(one label per box; rotated boxes for OBB), then the boxes, masks and keypoints mapped back through the letterbox;
a classifier's top 5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import netdef
from netdef.zoo import yolo

ROOT = Path(__file__).resolve().parents[2]
#: every model by ultralytics' checkpoint stem: (family, scale, task)
MODELS = yolo.MODELS
STRIDE = max(yolo.STRIDES)


def classes_of(state: dict) -> int | None:
    """The number of classes a YOLO state dict's head holds (a Detect-like head's class conv, or Classify's
    linear layer); None when it holds neither."""
    for pattern in (r"model\.\d+\.cv3\.0\.2\.bias", r"model\.\d+\.linear\.bias"):
        keys = [k for k in state if re.fullmatch(pattern, k)]
        if keys:
            return int(np.asarray(state[keys[0]]).size)
    return None


def netdef_model(name: str, weights: Path) -> tuple[yolo.DetectionModel, int]:
    """The netdef model ``name`` with ``weights`` bound strictly; its number of classes is read from the weights."""
    state = netdef.weights.load_weights_file(weights)
    nc = classes_of(state)
    if nc is None:
        raise SystemExit(f"{weights} holds no YOLO head (no model.N.cv3.0.2.bias nor model.N.linear.bias)")
    model = yolo.yolo(name, nc)
    model.load_weights(state, strict=True)
    return model, nc


def default_image() -> Path:
    """An image shipped by an installed package: ultralytics' bus.jpg, else scikit-learn's china.jpg."""
    import importlib.util

    for package, relative in (("ultralytics", "assets/bus.jpg"), ("sklearn", "datasets/images/china.jpg")):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / relative
            if path.is_file():
                return path
    raise SystemExit("no sample image found (install ultralytics or scikit-learn), pass --image PATH")


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the network input: scale ``gain``, then ``pad`` (left, top) pixels."""

    gain: float
    pad: tuple[int, int]
    shape: tuple[int, int]  # the original (height, width)
    size: tuple[int, int] = (0, 0)  # the network input (height, width)


def letterbox(image, size: tuple[int, int], fill: int = 114) -> tuple[np.ndarray, Letterbox]:
    """A PIL image as a (1, 3, H, W) float32 RGB batch in [0, 1]: resized keeping its aspect ratio to fit ``size``
    (H, W), centred, the rest filled with gray ``fill`` (ultralytics' LetterBox)."""
    from PIL import Image

    image = image.convert("RGB")
    h0, w0 = image.height, image.width
    gain = min(size[0] / h0, size[1] / w0)
    w1, h1 = round(w0 * gain), round(h0 * gain)
    left, top = round((size[1] - w1) / 2 - 0.1), round((size[0] - h1) / 2 - 0.1)
    canvas = Image.new("RGB", (size[1], size[0]), (fill, fill, fill))
    canvas.paste(image.resize((w1, h1), Image.BILINEAR), (left, top))
    array = np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
    return np.ascontiguousarray(array), Letterbox(gain, (left, top), (h0, w0), tuple(size))


def postprocess(
    task: str, outputs: list[np.ndarray], conf: float, iou: float, max_det: int, box: Letterbox, nc: int
) -> dict:
    """One image's network outputs (batch of one) -> the task's results, in original image pixels:

    - every task but classify: ``detections`` (K, 6) x1, y1, x2, y2, score, class, in decreasing score order;
    - segment: ``masks`` (K, H, W) uint8 at the letterboxed input's size (``mask_image`` maps them to the image);
    - pose: ``keypoints`` (K, keypoints, 3) x, y, visibility;
    - obb: ``detections`` (K, 7) cx, cy, w, h, score, class, angle (radians) instead;
    - classify: ``top5`` (classes, probabilities).
    """
    D = netdef.detection
    if task == "classify":
        classes, probs = D.topk(outputs[0][0], 5)
        return {"top5": (classes, probs)}
    rotated = task == "obb"
    (rows,) = D.non_max_suppression(outputs[0], conf, iou, nc=nc, max_det=max_det, rotated=rotated)
    result = {}
    if task == "segment":
        result["masks"] = D.process_masks(outputs[1][0], rows[:, 6:], rows[:, :4], box.size)
    if task == "pose":
        result["keypoints"] = D.scale_coords(rows[:, 6:].reshape(len(rows), -1, 3), box.size, box.shape)
    if rotated:
        rows = np.concatenate([D.scale_boxes(rows[:, :4], box.size, box.shape, xywh=True), rows[:, 4:]], 1)
    else:
        rows = np.concatenate([D.scale_boxes(rows[:, :4], box.size, box.shape), rows[:, 4:6]], 1)
    result["detections"] = rows
    return result


def mask_image(masks: np.ndarray, box: Letterbox) -> np.ndarray:
    """(K, H, W) masks of the letterboxed input -> (K, H0, W0) bool masks of the image (padding cropped, resized)."""
    from PIL import Image

    h0, w0 = box.shape
    (left, top), h1, w1 = box.pad, round(h0 * box.gain), round(w0 * box.gain)
    out = [Image.fromarray(m[top : top + h1, left : left + w1] * 255).resize((w0, h0), Image.BILINEAR) for m in masks]
    return np.stack([np.asarray(m) > 127 for m in out]) if out else np.zeros((0, h0, w0), bool)


#: the COCO skeleton ultralytics draws (pairs of keypoint indices, 1-based)
SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11),
    (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip


def _colour(cls: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in np.random.default_rng(int(cls)).integers(64, 256, 3))


def draw(image, result: dict, box: Letterbox, names: dict[int, str] | None = None):
    """``image`` (PIL) with the task's result drawn on a copy: boxes (rotated for OBB) with 'class score' labels,
    translucent masks, keypoints and their skeleton, or the top-5 classes as text."""
    from PIL import Image, ImageDraw

    out = image.convert("RGB").copy()
    if "top5" in result:
        pen = ImageDraw.Draw(out)
        for i, (cls, p) in enumerate(zip(*result["top5"])):
            pen.text((8, 8 + 12 * i), f"{(names or {}).get(int(cls), int(cls))} {p:.3f}", fill=(255, 255, 255))
        return out
    detections = result["detections"]
    if "masks" in result:
        layer = np.asarray(out).copy()
        for mask, cls in zip(mask_image(result["masks"], box), detections[:, 5]):
            layer[mask] = (0.5 * layer[mask] + 0.5 * np.array(_colour(int(cls)))).astype(np.uint8)
        out = Image.fromarray(layer)
    pen = ImageDraw.Draw(out)
    for i, row in enumerate(detections):
        score, cls = row[4], int(row[5])
        colour, label = _colour(cls), f"{(names or {}).get(cls, cls)} {score:.2f}"
        if detections.shape[1] == 7:  # obb: cx, cy, w, h, score, class, angle
            corners = netdef.detection.obb_corners(row[[0, 1, 2, 3, 6]][None].astype(np.float32))[0]
            pen.polygon([tuple(c) for c in corners], outline=colour, width=2)
            x1, y1 = corners.min(0)
        else:
            x1, y1, x2, y2 = row[:4]
            pen.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        pen.text((x1 + 2, max(y1 - 11, 0)), label, fill=colour)
        if "keypoints" in result:
            points = result["keypoints"][i]
            for a, b in SKELETON:
                if points[a - 1, 2] > 0.5 and points[b - 1, 2] > 0.5:
                    pen.line([tuple(points[a - 1, :2]), tuple(points[b - 1, :2])], fill=colour, width=2)
            for x, y, v in points:
                if v > 0.5:
                    pen.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
    return out
