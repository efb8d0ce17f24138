"""Chat-style generation from the command line, streaming tokens as they come.

    python examples/llm/chat.py checkpoints/tiny-llama --prompt "Hello"                  # reference interpreter (CPU)
    python examples/llm/chat.py checkpoints/tiny-llama --engine engines/tiny-llama.engine  # the engine (GPU)
    python examples/llm/chat.py checkpoints/tiny-llama --sample --temperature 0.8 --top-p 0.9 --seed 0

Without ``--prompt`` it reads one user turn per line from stdin (an empty line or EOF ends it) and keeps the
conversation as context (the checkpoint's chat template when its tokenizer has one). The same
``netdef.generate`` drives the interpreter and the engine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import load_checkpoint, tokenizer_for

import netdef
from netdef.generation import define_cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--engine", type=Path, help="run this engine (GPU) instead of the reference interpreter")
    parser.add_argument("--prompt", help="one turn, then exit (default: read turns from stdin)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument(
        "--max-context", type=int, help="cache slots of the interpreter's network (default: the model's, at most 256)"
    )
    parser.add_argument("--sample", action="store_true", help="sample instead of greedy")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    model, config = load_checkpoint(args.checkpoint)
    tokenizer = tokenizer_for(args.checkpoint, config["vocab_size"])
    limit = config.get("max_position_embeddings") or config.get("n_positions") or 256
    max_context = args.max_context or min(limit, 256)
    runner = netdef.Engine.load(args.engine) if args.engine else define_cached(model, max_context)
    eos = config.get("eos_token_id")
    turns = [args.prompt] if args.prompt is not None else iter(lambda: input("you> "), "")
    history: list[dict] = []
    try:
        for text in turns:
            history.append({"role": "user", "content": text})
            if getattr(tokenizer, "chat_template", None):
                ids = tokenizer.apply_chat_template(history, add_generation_prompt=True)
            else:
                ids = tokenizer.encode("\n".join(t["content"] for t in history))
            print("model> ", end="", flush=True)
            out = netdef.generate(
                runner,
                np.asarray(ids)[None],
                args.max_new_tokens,
                do_sample=args.sample,
                temperature=args.temperature,
                top_k=args.top_k,
                top_p=args.top_p,
                seed=args.seed,
                eos_token_id=eos,
                streamer=lambda token: print(tokenizer.decode(token), end="", flush=True),
            )
            print()
            history.append({"role": "assistant", "content": tokenizer.decode(out[0, len(ids) :])})
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
