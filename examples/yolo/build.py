"""Build a YOLOv8 / YOLO11 engine (any task) from .wts weights, for any input size (multiples of 32) up to
``--imgsz``.

    python examples/yolo/build.py --model yolov8n                     # weights/yolov8n.wts -> engines/yolov8n.engine
    python examples/yolo/build.py --model yolo11n-seg --precision fp16 --imgsz 640 --batch 4
    python examples/yolo/build.py --model yolov8n --nms               # NMS inside the engine (full TensorRT only)

The engine outputs what ultralytics' model returns in eval mode: the decoded predictions (B, 4 + nc + extra,
anchors), plus the mask prototypes for a segmentation model, or a classifier's probabilities; ``detect.py``
post-processes them. With ``--nms`` (detection models) the network ends in TensorRT's INMSLayer instead (outputs:
selected (batch, class, anchor) rows and their count, plus the predictions): full TensorRT builds it, but
TensorRT-RTX's builder has no NMS runner, so on TensorRT-RTX the build stops and says so (run the NMS after the
engine with ``netdef.detection``, as ``detect.py`` does).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import MODELS, ROOT, STRIDE, netdef_model

import netdef
from netdef import F, nn


class WithNMS(nn.Module):
    """A YOLO model followed by INMSLayer over its (cx, cy, w, h) boxes and class scores."""

    def __init__(self, model, max_det: int, iou: float, conf: float) -> None:
        super().__init__()
        self.model = model
        self.max_det, self.iou, self.conf = max_det, iou, conf

    def forward(self, x):
        prediction = self.model(x)  # (B, 4 + nc, A)
        boxes, scores = prediction[:, :4].transpose(1, 2), prediction[:, 4:].transpose(1, 2)
        selected, count = F.nms(boxes, scores, self.max_det, self.iou, self.conf, box_format="cxcywh")
        return {"selected": selected, "count": count, "prediction": prediction}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--weights", type=Path, help="default: weights/<model>.wts")
    parser.add_argument("--output", type=Path, help="default: engines/<model>.engine")
    parser.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--imgsz", type=int, default=640, help="largest input height and width (multiple of 32)")
    parser.add_argument("--batch", type=int, default=1, help="largest batch")
    parser.add_argument("--nms", action="store_true", help="end the network in INMSLayer (full TensorRT)")
    parser.add_argument("--conf", type=float, default=0.25, help="with --nms: score threshold")
    parser.add_argument("--iou", type=float, default=0.7, help="with --nms: IoU threshold")
    parser.add_argument("--max-det", type=int, default=300, help="with --nms: boxes per class")
    args = parser.parse_args()
    if args.imgsz % STRIDE:
        parser.error(f"--imgsz must be a multiple of {STRIDE}, got {args.imgsz}")
    weights = args.weights or ROOT / "weights" / f"{args.model}.wts"
    output = args.output or ROOT / "engines" / f"{args.model}.engine"
    if not weights.is_file():
        print(f"no weights at {weights}: run python examples/yolo/export_wts.py --model {args.model}", file=sys.stderr)
        return 1

    model, nc = netdef_model(args.model, weights)
    if args.nms and model.task != "detect":
        parser.error(f"--nms is for detection models; {args.model} is a {model.task} model (detect.py runs its NMS)")
    if args.nms:
        model = WithNMS(model, args.max_det, args.iou, args.conf)
    size = (args.batch, 3, args.imgsz, args.imgsz)
    x = netdef.Input((-1, 3, -1, -1), min=(1, 3, STRIDE, STRIDE), opt=size, max=size)
    start = time.perf_counter()
    network = netdef.define(model, {"x": x}, precision=args.precision)
    try:
        built = netdef.build(network, output=output)
    except netdef.BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"built {output} ({len(built.data) / 1e6:.1f} MB, {args.precision}, {nc} classes, batch 1..{args.batch}, "
        f"H and W {STRIDE}..{args.imgsz} in steps of {STRIDE}) in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
