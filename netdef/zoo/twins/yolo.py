"""Torch twins of netdef.zoo.yolo: ultralytics' own DetectionModel, built from its yaml with random weights.

The twin is the upstream model itself (``pip install -e .[zoo-oracles]``), in eval and export mode so it returns
the decoded (B, 4 + nc, anchors) predictions; without ultralytics these raise ``netdef.zoo.upstream.Unavailable``.
"""

from __future__ import annotations

from netdef.zoo.upstream import ultralytics_detection_model


def yolov8n(nc: int = 80):
    return ultralytics_detection_model("yolov8n.yaml", nc)


def yolov8s(nc: int = 80):
    return ultralytics_detection_model("yolov8s.yaml", nc)


def yolov8m(nc: int = 80):
    return ultralytics_detection_model("yolov8m.yaml", nc)


def yolo11n(nc: int = 80):
    return ultralytics_detection_model("yolo11n.yaml", nc)


def yolo11s(nc: int = 80):
    return ultralytics_detection_model("yolo11s.yaml", nc)
