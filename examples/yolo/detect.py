"""Detect objects in an image with a YOLOv8 / YOLO11 network: letterbox, the network (decode included), NMS, boxes.

    python examples/yolo/detect.py --model yolov8n                          # CPU: the reference interpreter
    python examples/yolo/detect.py --model yolov8n --engine engines/yolov8n.engine   # GPU: the TensorRT engine
    python examples/yolo/detect.py --model yolo11n --image street.jpg --imgsz 320 --output out.png

Without ``--engine`` the network is defined from the weights and run by netdef's CPU reference interpreter (no GPU
needed); with it, the engine built by ``build.py`` runs on the GPU. Either way the predictions go through the same
NMS (``netdef.detection.batched_nms``, ultralytics' post-processing) and the boxes are drawn onto a copy of the
image. The default image is one an installed package ships (ultralytics' bus.jpg, else scikit-learn's china.jpg).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import MODELS, ROOT, STRIDE, default_image, draw, letterbox, netdef_model, postprocess

import netdef


def predict(args: argparse.Namespace, batch: np.ndarray) -> np.ndarray:
    """The network's (1, 4 + nc, anchors) prediction for ``batch``: engine on the GPU, else the interpreter."""
    if args.engine is not None:
        engine = netdef.Engine.load(args.engine)
        outputs = engine.infer({"x": batch})
        return outputs["prediction"] if "prediction" in outputs else outputs["output"]
    model, _ = netdef_model(args.model, args.weights)
    network = netdef.define(model, {"x": netdef.Input(batch.shape)}, precision=args.precision)
    return netdef.reference.run(network, {"x": batch})["output"]


def main(argv: list[str] | None = None) -> np.ndarray:
    """Run the example; returns the (K, 6) detections (x1, y1, x2, y2, score, class) in image pixels."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--weights", type=Path, help="default: weights/<model>.wts")
    parser.add_argument("--engine", type=Path, help="run this engine (GPU) instead of the reference interpreter")
    parser.add_argument("--image", type=Path, help="default: an image shipped by an installed package")
    parser.add_argument("--imgsz", type=int, default=640, help="network input height and width (multiple of 32)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"], help="interpreter only")
    parser.add_argument("--conf", type=float, default=0.25, help="class score threshold")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    parser.add_argument("--max-det", type=int, default=300)
    parser.add_argument("--output", type=Path, help="default: <image name>_<model>.png in the current folder")
    args = parser.parse_args(argv)
    if args.imgsz % STRIDE:
        parser.error(f"--imgsz must be a multiple of {STRIDE}, got {args.imgsz}")
    args.weights = args.weights or ROOT / "weights" / f"{args.model}.wts"
    if args.engine is None and not args.weights.is_file():
        raise SystemExit(f"no weights at {args.weights}: run python examples/yolo/export_wts.py --model {args.model}")
    from PIL import Image

    path = args.image or default_image()
    image = Image.open(path)
    batch, box = letterbox(image, (args.imgsz, args.imgsz))
    start = time.perf_counter()
    prediction = predict(args, batch)
    seconds = time.perf_counter() - start
    detections = postprocess(prediction[0], args.conf, args.iou, args.max_det, box)
    output = args.output or Path(f"{path.stem}_{args.model}.png")
    draw(image, detections).save(output)
    where = f"engine {args.engine}" if args.engine else "reference interpreter (CPU)"
    print(f"{path.name} {image.width}x{image.height} -> {args.imgsz}x{args.imgsz}, {where}: {seconds:.2f} s")
    print(f"{len(detections)} detections (conf > {args.conf}, IoU {args.iou}); drawn to {output}")
    for x1, y1, x2, y2, score, cls in detections[:10]:
        print(f"  class {int(cls):3d}  score {score:.3f}  box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})")
    return detections


if __name__ == "__main__":
    main()
    sys.exit(0)
