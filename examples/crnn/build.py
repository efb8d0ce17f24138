"""Bind weights/crnn.wts to the netdef CRNN and build engines/crnn.engine for 32-pixel-high lines of any
width from 16 to 512 pixels (the LSTMs are TensorRT loops whose trip count is the run-time width / 4 + 1).

    python examples/crnn/build.py [--precision fp16]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import ENGINE, MAX_WIDTH, MIN_WIDTH, WEIGHTS, input_spec

import netdef
from netdef.zoo.crnn import crnn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--output", type=Path, default=ENGINE)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    args = parser.parse_args()
    if not args.weights.is_file():
        print(f"{args.weights} not found: export it first with python examples/crnn/export_wts.py", file=sys.stderr)
        return 1
    model = crnn()
    model.load_weights(args.weights)  # strict: every state_dict name and size must match
    network = netdef.define(model, {"x": input_spec()}, precision=args.precision)
    loops = sum(network.network.get_layer(i).type.name == "TRIP_LIMIT" for i in range(network.network.num_layers))
    built = netdef.build(network, output=args.output)
    print(
        f"built {args.output} ({len(built.data) / 1e6:.1f} MB, {network.network.num_layers} layers, {loops} loops, "
        f"widths {MIN_WIDTH}..{MAX_WIDTH}, {built.metadata['backend']} {built.metadata['backend_version']}, "
        f"{args.precision})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
