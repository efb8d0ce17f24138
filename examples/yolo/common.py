"""What the YOLO example scripts share: model names, weights, letterbox pre-processing and detection post-processing.

The post-processing is ultralytics' for these models (``non_max_suppression`` with one label per box): keep the
anchors whose best class score exceeds ``conf``, turn (cx, cy, w, h) into corners, class-aware NMS
(``netdef.detection.batched_nms``), at most ``max_det`` boxes, then map them back through the letterbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import netdef
from netdef.zoo import yolo

ROOT = Path(__file__).resolve().parents[2]
#: netdef model constructors by name (ultralytics' yaml stem)
MODELS = {f"{family}{scale}": (family, scale) for family, (_, scales) in yolo.FAMILIES.items() for scale in scales}
STRIDE = max(yolo.STRIDES)


def netdef_model(name: str, weights: Path) -> tuple[yolo.DetectionModel, int]:
    """The netdef model ``name`` with ``weights`` bound strictly; its number of classes is read from the weights."""
    state = netdef.weights.load_weights_file(weights)
    biases = [k for k in state if re.fullmatch(r"model\.\d+\.cv3\.0\.2\.bias", k)]
    if not biases:
        raise SystemExit(f"{weights} holds no YOLOv8/YOLO11 Detect head (no model.N.cv3.0.2.bias)")
    nc = int(np.asarray(state[biases[0]]).size)
    model = yolo.DetectionModel(*MODELS[name], nc=nc)
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
    return np.ascontiguousarray(array), Letterbox(gain, (left, top), (h0, w0))


def postprocess(prediction: np.ndarray, conf: float, iou: float, max_det: int, box: Letterbox) -> np.ndarray:
    """One image's (4 + nc, anchors) prediction -> (K, 6) rows of x1, y1, x2, y2 (original image pixels), score,
    class; in decreasing score order."""
    boxes, scores = prediction[:4].T, prediction[4:].T  # (A, 4) cx cy w h, (A, nc)
    cls = scores.argmax(1)
    best = scores[np.arange(len(cls)), cls]
    keep = best > conf
    boxes, best, cls = boxes[keep], best[keep], cls[keep]
    corners = np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], 1)
    kept = netdef.detection.batched_nms(corners, best, cls, iou)[:max_det]
    corners = (corners[kept] - np.array(box.pad * 2, np.float32)) / box.gain
    h, w = box.shape
    corners = np.clip(corners, 0, [w, h, w, h])
    return np.concatenate([corners, best[kept, None], cls[kept, None].astype(np.float32)], 1)


def draw(image, detections: np.ndarray, names: dict[int, str] | None = None):
    """``image`` (PIL) with each detection's box and 'class score' label drawn on a copy."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    pen = ImageDraw.Draw(out)
    for x1, y1, x2, y2, score, cls in detections:
        colour = tuple(int(c) for c in np.random.default_rng(int(cls)).integers(64, 256, 3))
        pen.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        label = f"{(names or {}).get(int(cls), int(cls))} {score:.2f}"
        pen.text((x1 + 2, max(y1 - 11, 0)), label, fill=colour)
    return out
