"""Write a transformers checkpoint directory the way ``save_pretrained`` does (config.json + safetensors shards
with model.safetensors.index.json): a random tiny model of a zoo family, or a local model re-saved.

    python examples/llm/export.py --family llama -o checkpoints/tiny-llama        # random tiny config
    python examples/llm/export.py --from /path/to/local/model -o checkpoints/mine   # re-save a local checkpoint

Nothing is downloaded (``--from`` reads local files only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import ROOT  # noqa: F401 - puts the repository on sys.path

from netdef.zoo.hf import TINY_GPT2, TINY_LLAMA, import_transformers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=["llama", "gpt2"], default="llama", help="random tiny model of this family")
    parser.add_argument("--from", dest="source", type=Path, help="a local transformers model directory instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-shard-size", default="50KB", help="shard size for save_pretrained (tiny: several shards)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    transformers = import_transformers()
    if args.source:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(args.source), local_files_only=True)
    else:
        torch.manual_seed(args.seed)
        if args.family == "llama":
            model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY_LLAMA))
        else:
            model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**TINY_GPT2, initializer_range=0.3))
    model.save_pretrained(args.output, max_shard_size=args.max_shard_size)
    shards = sorted(p.name for p in args.output.glob("*.safetensors"))
    print(f"wrote {args.output}: config.json and {len(shards)} safetensors file(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
