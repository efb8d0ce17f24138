"""Build the KV-cached engine of a transformers checkpoint directory (config.json + safetensors).

    python examples/llm/build.py checkpoints/tiny-llama --max-context 256 --precision fp16 -o engines/tiny-llama.engine

The decoder is written in netdef (netdef/zoo/llama.py, netdef/zoo/gpt2.py), its weights bound from the safetensors
(memory-mapped), and the network has a prefill and a decode optimization profile with caches of
``--max-context`` slots. TensorRT-RTX builds it on CPU; running the engine needs a supported GPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import load_checkpoint

import netdef
from netdef.generation import define_cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--max-context", type=int, default=256)
    parser.add_argument("--max-batch", type=int, default=1)
    parser.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp16")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    model, _ = load_checkpoint(args.checkpoint)
    network = define_cached(model, args.max_context, args.max_batch, args.precision)
    start = time.perf_counter()
    netdef.build(network, output=args.output)
    print(
        f"built {args.output} ({args.precision}, {network.network.num_layers} layers) in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
