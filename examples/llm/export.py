"""Write a transformers checkpoint directory the way ``save_pretrained`` does (config.json + safetensors shards
with model.safetensors.index.json): a random tiny model of a zoo family, or a local model re-saved.

    python examples/llm/export.py --family llama -o checkpoints/tiny-llama        # random tiny config
    python examples/llm/export.py --from /path/to/local/model -o checkpoints/mine   # re-save a local checkpoint

Nothing is downloaded (``--from`` reads local files only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import ROOT  # noqa: F401 - puts the repository on sys.path

from netdef.zoo.hf import MODELS, import_transformers, tiny_pair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=list(MODELS), default="llama", help="random tiny model of this family")
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
        wide = {"initializer_range": 0.3} if args.family == "gpt2" else {}  # a tiny GPT-2 repeats one token
        _, model = tiny_pair(args.family, seed=args.seed, **wide)
    model.save_pretrained(args.output, max_shard_size=args.max_shard_size)
    shards = sorted(p.name for p in args.output.glob("*.safetensors"))
    print(f"wrote {args.output}: config.json and {len(shards)} safetensors file(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
