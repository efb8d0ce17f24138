"""The upstream libraries the zoo mirrors (torchvision, transformers, ultralytics, timm), imported as oracles.

They are optional (``pip install -e .[zoo-oracles]``): tests that compare a zoo model against the real library
skip, saying which package is missing, where one is not installed. Each model is built with random weights;
nothing here downloads a checkpoint.

torchvision: the PyPI ``torchvision==0.28.0`` wheel is built against CUDA torch. Beside the CPU torch its C++
extension (``torchvision/_C.so``) does not load, and ``import torchvision`` then fails inside
``torchvision._meta_registrations``, which registers a fake kernel for ``torchvision::nms`` unconditionally:
``RuntimeError: operator torchvision::nms does not exist``. Everything the zoo needs from torchvision is pure
Python (the model builders in ``torchvision.models``), so :func:`torchvision` declares the schemas of the two
operators registered that way (``nms`` and ``qnms``, as the C++ library declares them) and imports again. The
C++ ops stay unavailable: ``torchvision.ops.nms`` raises torchvision's own "Couldn't load custom C++ ops" error,
so nothing computes silently wrong. Where the extension does load, none of this happens.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from types import ModuleType

#: the package each oracle comes from, as pip names it (the ``zoo-oracles`` extra)
PACKAGES = {"torchvision": "torchvision", "transformers": "transformers", "ultralytics": "ultralytics", "timm": "timm"}

#: the operators torchvision registers fake kernels for whether or not its C++ extension loaded
_TORCHVISION_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_SCHEMA_LIBRARY = None  # the torch.library.Library holding those schemas (kept alive for the process)


class Unavailable(ImportError):
    """An upstream package is not installed (or cannot be imported); the message says which and how to fix it."""


def _missing(name: str, exc: BaseException) -> Unavailable:
    return Unavailable(
        f"{name} is not importable ({type(exc).__name__}: {exc}); install the oracles with "
        f"`pip install -e .[zoo-oracles]` (package {PACKAGES.get(name, name)!r})"
    )


def _torchvision_without_cpp_ops() -> ModuleType:
    global _SCHEMA_LIBRARY
    import torch

    for key in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[key]  # the half-imported package from the failed attempt
    if _SCHEMA_LIBRARY is None:
        _SCHEMA_LIBRARY = torch.library.Library("torchvision", "DEF")
        for schema in _TORCHVISION_SCHEMAS:
            _SCHEMA_LIBRARY.define(schema)
    return importlib.import_module("torchvision")


def torchvision() -> ModuleType:
    """``import torchvision``, with its C++ ops isolated when they do not load beside this torch (module doc)."""
    try:
        return importlib.import_module("torchvision")
    except ImportError as exc:
        raise _missing("torchvision", exc) from exc
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
    try:
        return _torchvision_without_cpp_ops()
    except (ImportError, RuntimeError) as exc:
        raise _missing("torchvision", exc) from exc


def require(name: str) -> ModuleType:
    """Import upstream package ``name`` (torchvision through :func:`torchvision`), or raise :class:`Unavailable`."""
    if name == "torchvision":
        return torchvision()
    if name in ("ultralytics", "timm"):
        torchvision()  # both import torchvision at import time
    if name == "transformers":  # its modeling code imports torchvision where one is installed (transformers 5)
        with contextlib.suppress(Unavailable):
            torchvision()
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise _missing(name, exc) from exc


def available(name: str) -> str | None:
    """None when upstream package ``name`` imports, else the reason it does not (for a test's skip message)."""
    try:
        require(name)
    except Unavailable as exc:
        return str(exc)
    return None


#: ultralytics' model class of each task, by the yaml stem's suffix
_ULTRALYTICS_TASKS = {
    "-seg": "SegmentationModel",
    "-pose": "PoseModel",
    "-obb": "OBBModel",
    "-cls": "ClassificationModel",
}


def ultralytics_model(cfg: str, nc: int = 80):
    """ultralytics' model of ``cfg`` (e.g. ``'yolov8n.yaml'``, ``'yolo11n-seg.yaml'``): DetectionModel, or the
    Segmentation/Pose/OBB/ClassificationModel its suffix names, randomly initialized, in eval and export mode.

    Export mode makes the head return only its decoded predictions: (B, 4 + nc, anchors) for Detect (boxes as
    (cx, cy, w, h) in input pixels, then each class's sigmoid score), with the mask coefficients, keypoints or
    angle after the scores, plus the prototypes for Segment; the softmax probabilities for Classify.
    """
    require("ultralytics")
    from ultralytics.nn import tasks

    stem = cfg.rsplit(".", 1)[0]
    name = next((cls for suffix, cls in _ULTRALYTICS_TASKS.items() if stem.endswith(suffix)), "DetectionModel")
    with contextlib.redirect_stdout(io.StringIO()):
        model = getattr(tasks, name)(cfg, nc=nc, verbose=False)
    model.eval()
    model.model[-1].export = True
    return model


def ultralytics_detection_model(cfg: str, nc: int = 80):
    """ultralytics' ``DetectionModel(cfg)`` (:func:`ultralytics_model` of a detection yaml)."""
    return ultralytics_model(cfg, nc)
