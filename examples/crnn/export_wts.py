"""Export tensorrtx's CRNN weights from the torch twin: seeded random weights, or a crnn.pytorch checkpoint.

    python examples/crnn/export_wts.py                                  # random -> weights/crnn.wts
    python examples/crnn/export_wts.py --from-checkpoint crnn.pth [--strip-prefix module.]

The checkpoint (crnn.pytorch's, the one tensorrtx's genwts.py reads) is loaded into the twin strictly, so
every name and shape is checked before anything is written. Random weights read no text: recognize.py
then prints garbage (that is the expected output without a trained checkpoint).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from common import WEIGHTS

import netdef
from netdef.zoo.twins.crnn import crnn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=WEIGHTS)
    parser.add_argument("--from-checkpoint", type=Path, help="a weights-only state dict (.pth/.pt/.safetensors/.npz)")
    parser.add_argument(
        "--strip-prefix", action="append", default=[], help="remove this prefix from names (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (without a checkpoint)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    twin = crnn().eval()
    source = f"the twin's random initialization (seed {args.seed})"
    if args.from_checkpoint is not None:
        rename = netdef.weights.Rename(strip_prefix=tuple(args.strip_prefix)) if args.strip_prefix else None
        state = netdef.weights.load_weights_file(args.from_checkpoint, rename=rename)
        try:
            netdef.weights.load_into_torch(twin, state)
        except (netdef.NetdefError, RuntimeError) as exc:
            print(f"{args.from_checkpoint} does not fit tensorrtx's CRNN:\n{exc}", file=sys.stderr)
            return 1
        source = str(args.from_checkpoint)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    written = netdef.export_wts(twin, args.output)
    count = sum(v.numel() for v in twin.state_dict().values())
    print(f"wrote {len(written)} tensors ({count / 1e6:.1f} M values) of CRNN from {source} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
