"""Torch twins of netdef.zoo.yolo: ultralytics' own models, built from their yamls with random weights.

The twin of ``yolov8n-seg`` is ultralytics' ``SegmentationModel('yolov8n-seg.yaml')`` (DetectionModel, PoseModel,
OBBModel, ClassificationModel for the other tasks; ``pip install -e .[zoo-oracles]``), in eval and export mode so it
returns what netdef's network does; without ultralytics these raise ``netdef.zoo.upstream.Unavailable``.
"""

from __future__ import annotations

from netdef.zoo.upstream import ultralytics_model
from netdef.zoo.yolo import MODELS, TASKS


def yolo(name: str, nc: int | None = None):
    """ultralytics' model ``name`` (its checkpoint stem: ``yolov8n``, ``yolo11s-pose``), randomly initialized."""
    task = MODELS[name][2]
    return ultralytics_model(f"{name}.yaml", TASKS[task][1] if nc is None else nc)


def _constructor(name: str):
    def build(nc: int | None = None):
        return yolo(name, nc)

    build.__name__ = build.__qualname__ = name.replace("-", "_")
    return build


globals().update({name.replace("-", "_"): _constructor(name) for name in MODELS})
