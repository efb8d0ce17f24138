"""Run any YOLOv8 / YOLO11 model on an image and draw its task's result: boxes (detect), boxes and masks (segment),
boxes and keypoints (pose), rotated boxes (obb), or the top-5 classes (classify).

    python examples/yolo/detect.py --model yolov8n                          # CPU: the reference interpreter
    python examples/yolo/detect.py --model yolo11n-seg --imgsz 320 --output out.png
    python examples/yolo/detect.py --model yolov8n-pose --engine engines/yolov8n-pose.engine   # GPU: TensorRT

``--model`` is any name ultralytics gives a checkpoint (``yolov8n``, ``yolo11s-seg``, ``yolov8m-pose``,
``yolo11n-obb``, ``yolov8x-cls``, ...). Without ``--engine`` the network is defined from the weights and run by
netdef's CPU reference interpreter (no GPU needed); with it, the engine built by ``build.py`` runs on the GPU.
Either way the outputs go through the same post-processing (``netdef.detection``, ultralytics' predictors') and
the result is drawn onto a copy of the image. The default image is one an installed package ships (ultralytics'
bus.jpg, else scikit-learn's china.jpg). Weights from ``export_wts.py`` without ``--from-checkpoint`` are random:
expect few or no detections above ``--conf`` from them (``--conf 0`` shows the boxes anyway).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import MODELS, ROOT, STRIDE, default_image, draw, letterbox, netdef_model, postprocess

import netdef


def predict(args: argparse.Namespace, batch: np.ndarray) -> tuple[list[np.ndarray], int]:
    """The network's outputs for ``batch`` (engine on the GPU, else the interpreter) and the number of classes."""
    model, nc = netdef_model(args.model, args.weights)
    if args.engine is not None:
        try:
            outputs = netdef.Engine.load(args.engine).infer({"x": batch})
        except netdef.EngineError as exc:  # no GPU here, or one the backend cannot run
            raise SystemExit(f"{exc}\n(drop --engine to run {args.model} on the CPU reference interpreter)") from None
        return [v for k, v in outputs.items() if k not in ("selected", "count")], nc
    network = netdef.define(model, {"x": netdef.Input(batch.shape)}, precision=args.precision)
    return list(netdef.reference.run(network, {"x": batch}).values()), nc


def main(argv: list[str] | None = None) -> dict:
    """Run the example; returns the task's results (``common.postprocess``) in image pixels."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS), metavar="MODEL", help="e.g. yolo11n-seg")
    parser.add_argument("--weights", type=Path, help="default: weights/<model>.wts")
    parser.add_argument("--engine", type=Path, help="run this engine (GPU) instead of the reference interpreter")
    parser.add_argument("--image", type=Path, help="default: an image shipped by an installed package")
    parser.add_argument("--imgsz", type=int, help="network input height and width (multiple of 32; default 640, "
                        "224 for classifiers)")  # fmt: skip
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"], help="interpreter only")
    parser.add_argument("--conf", type=float, default=0.25, help="class score threshold")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    parser.add_argument("--max-det", type=int, default=300)
    parser.add_argument("--output", type=Path, help="default: <image name>_<model>.png in the current folder")
    args = parser.parse_args(argv)
    task = MODELS[args.model][2]
    args.imgsz = args.imgsz or (224 if task == "classify" else 640)
    if args.imgsz % STRIDE:
        parser.error(f"--imgsz must be a multiple of {STRIDE}, got {args.imgsz}")
    args.weights = args.weights or ROOT / "weights" / f"{args.model}.wts"
    if not args.weights.is_file():
        raise SystemExit(f"no weights at {args.weights}: run python examples/yolo/export_wts.py --model {args.model}")
    from PIL import Image

    path = args.image or default_image()
    image = Image.open(path)
    batch, box = letterbox(image, (args.imgsz, args.imgsz))
    start = time.perf_counter()
    outputs, nc = predict(args, batch)
    seconds = time.perf_counter() - start
    result = postprocess(task, outputs, args.conf, args.iou, args.max_det, box, nc)
    output = args.output or Path(f"{path.stem}_{args.model}.png")
    draw(image, result, box).save(output)
    where = f"engine {args.engine}" if args.engine else "reference interpreter (CPU)"
    print(f"{path.name} {image.width}x{image.height} -> {args.imgsz}x{args.imgsz}, {where}: {seconds:.2f} s")
    if task == "classify":
        print(f"top 5 drawn to {output}")
        for cls, p in zip(*result["top5"]):
            print(f"  class {int(cls):4d}  probability {p:.4f}")
        return result
    detections = result["detections"]
    print(f"{len(detections)} {task} results (conf > {args.conf}, IoU {args.iou}); drawn to {output}")
    if not len(detections):
        print("  none above --conf: with random weights (export_wts.py without --from-checkpoint) try --conf 0")
    for row in detections[:10]:
        print(f"  class {int(row[5]):3d}  score {row[4]:.3f}  box ({', '.join(f'{v:.0f}' for v in row[:4])})")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
