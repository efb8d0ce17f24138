"""Export a YOLOv8 / YOLO11 model's weights (any task) to .wts: ultralytics' own model, randomly initialized or from a checkpoint.

    python examples/yolo/export_wts.py --model yolov8n                       # seeded random -> weights/yolov8n.wts
    python examples/yolo/export_wts.py --model yolov8n --from-checkpoint yolov8n.pt
    python examples/yolo/export_wts.py --model yolo11n --nc 3                # a 3-class head
    python examples/yolo/export_wts.py --model yolo11n-pose                  # the task's default classes (1)

An ultralytics ``.pt`` checkpoint holds a pickled model, which ultralytics' own loader unpickles (so load only
files you trust); a weights-only state dict (``.safetensors``, ``.npz``, a plain ``state_dict()`` ``.pth``) loads
without pickle. Either way the weights are bound to the netdef model strictly (every name and shape) before the
file is written, so a checkpoint of another model or scale is refused with the names that differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from common import MODELS, ROOT, classes_of

import netdef
from netdef.zoo import upstream, yolo


def _checkpoint_state(path: Path) -> dict:
    """The state dict of ``path``: an ultralytics checkpoint (through ultralytics' loader) or a weights file."""
    if path.suffix == ".pt" and upstream.available("ultralytics") is None:
        from ultralytics.nn.tasks import load_checkpoint

        try:
            model, _ = load_checkpoint(str(path))
        except (TypeError, KeyError, AttributeError):  # not an ultralytics checkpoint: a plain state dict
            pass
        else:
            return {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return netdef.weights.load_weights_file(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--from-checkpoint", type=Path, help="ultralytics .pt, or a state dict file")
    parser.add_argument(
        "--nc", type=int, help="classes of the random model (default: the task's, e.g. 80; a checkpoint has its own)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--output", type=Path, help="default: weights/<model>.wts")
    args = parser.parse_args()
    output = args.output or ROOT / "weights" / f"{args.model}.wts"
    task = MODELS[args.model][2]
    args.nc = args.nc or yolo.TASKS[task][1]

    if args.from_checkpoint is not None:
        state = _checkpoint_state(args.from_checkpoint)
        source = str(args.from_checkpoint)
    else:
        reason = upstream.available("ultralytics")
        if reason:
            print(f"random weights come from ultralytics' own model: {reason}", file=sys.stderr)
            return 1
        torch.manual_seed(args.seed)
        twin = upstream.ultralytics_model(f"{args.model}.yaml", nc=args.nc)
        state = {k: v.numpy() for k, v in twin.state_dict().items()}
        source = f"ultralytics' {args.model}.yaml, random initialization (seed {args.seed})"
    nc = classes_of(state) or args.nc
    try:  # strict: every name and shape of the netdef model, before anything is written
        yolo.yolo(args.model, nc).load_weights(state, strict=True)
    except netdef.BindError as exc:
        print(f"{source} does not fit {args.model}:\n{exc}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    netdef.save_wts(state, output)
    print(f"wrote {len(state)} tensors of {args.model} ({nc} classes) from {source} to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
