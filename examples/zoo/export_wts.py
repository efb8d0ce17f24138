"""Export a zoo model's weights from its torch twin: seeded random weights, or a checkpoint's (e.g. torchvision's).

    python examples/zoo/export_wts.py --model resnet50                      # seeded random -> weights/resnet50.wts
    python examples/zoo/export_wts.py --model resnet50 --from-checkpoint resnet50-0676ba61.pth

A checkpoint is loaded into the twin first, strictly (only BatchNorm's ``num_batches_tracked`` may be
absent, as in checkpoints older than torch 0.4.1), so every name and shape is checked against the twin
(whose names are the original library's) before anything is written. The
output format follows the suffix: ``.wts`` (tensorrtx text) or ``.safetensors``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch
from common import ROOT, add_model_arguments, entry_for

import netdef


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--output", type=Path, help="default: weights/<model>.wts")
    parser.add_argument("--from-checkpoint", type=Path, help="a state dict file (.pth/.pt/.bin/.safetensors/.npz)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (without a checkpoint)")
    args = parser.parse_args()
    entry = entry_for(args)
    output = args.output or ROOT / "weights" / f"{args.model}.wts"
    if output.suffix not in (".wts", ".safetensors"):
        parser.error(f"--output must end in .wts or .safetensors, got {output}")

    torch.manual_seed(args.seed)
    twin = entry.torch_model().eval()
    if args.from_checkpoint is not None:
        state = netdef.weights.load_weights_file(args.from_checkpoint)
        # a family whose published checkpoints use older names says how to rename them (e.g. DenseNet)
        rename = getattr(importlib.import_module(f"netdef.zoo.twins.{entry.module}"), "rename_checkpoint_key", None)
        if rename is not None:
            state = {rename(k): v for k, v in state.items()}
        # strict, except that BatchNorm's num_batches_tracked may be absent: checkpoints saved before torch
        # 0.4.1 (torchvision's first ImageNet weights) lack it, and torch then keeps the module's own value
        try:
            missing, unexpected = twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
        except RuntimeError as exc:  # wrong shapes
            print(f"{args.from_checkpoint} does not fit {args.model}'s twin:\n{exc}", file=sys.stderr)
            return 1
        missing = [k for k in missing if not k.endswith(".num_batches_tracked")]
        if missing or unexpected:
            print(
                f"{args.from_checkpoint} does not fit {args.model}'s twin:\n"
                f"  missing ({len(missing)}): {', '.join(missing[:10])}\n"
                f"  unexpected ({len(unexpected)}): {', '.join(unexpected[:10])}",
                file=sys.stderr,
            )
            return 1
        source = str(args.from_checkpoint)
    else:
        source = f"the twin's random initialization (seed {args.seed})"

    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".wts":
        written = netdef.export_wts(twin, output)
    else:
        written = netdef.weights.save_safetensors(twin, output)
    count = sum(v.numel() for v in twin.state_dict().values())
    print(f"wrote {len(written)} tensors ({count / 1e6:.1f} M values) of {args.model} from {source} to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
