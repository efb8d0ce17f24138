"""Prefill and decode speed of a zoo decoder LLM (random weights, nothing downloaded), measured in one run:

1. CPU: netdef's reference interpreter running the KV-cached TensorRT network vs transformers eager (its own
   KV cache), same torch threads, same prompt, greedy; runs interleaved (transformers, netdef, ...) and the
   best of the repeats compared (load only ever adds time). Both must produce the same tokens.
2. GPU: the TensorRT engine (fp16) vs transformers eager fp16 on CUDA, when a GPU that the installed TensorRT
   can run engines on is present; otherwise the reason is printed.

    .venv/bin/python benchmarks/llm_bench.py [--family llama|gpt2] [--size small|tiny] [--prompt 64] [--new 32]

Prefill tokens/s counts the prompt tokens of one prefill call; decode tokens/s the new tokens of the decode
steps (one token per sequence per step), so they exclude the prefill.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from netdef.generation import EngineDecoder, ReferenceDecoder, define_cached  # noqa: E402
from netdef.zoo.hf import TINY_GPT2, TINY_LLAMA, tiny_pair  # noqa: E402

SIZES = {
    ("llama", "tiny"): TINY_LLAMA,
    ("gpt2", "tiny"): TINY_GPT2,
    ("llama", "small"): {
        "vocab_size": 2048,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "max_position_embeddings": 512,
    },
    ("gpt2", "small"): {"vocab_size": 2048, "n_positions": 512, "n_embd": 256, "n_layer": 4, "n_head": 8},
}


def run_netdef(decoder, ids: np.ndarray, new: int) -> tuple[float, float, np.ndarray]:
    """(prefill seconds, decode seconds, new tokens) of greedy generation."""
    batch, prompt = ids.shape
    decoder.reset(batch)
    start = time.perf_counter()
    logits = decoder.step(ids, np.zeros(batch, np.int32))
    prefill = time.perf_counter() - start
    tokens = [logits.argmax(-1)]
    start = time.perf_counter()
    for i in range(new - 1):
        logits = decoder.step(tokens[-1][:, None], np.full(batch, prompt + i, np.int32))
        tokens.append(logits.argmax(-1))
    return prefill, time.perf_counter() - start, np.stack(tokens, 1)


def run_transformers(twin, ids: torch.Tensor, new: int) -> tuple[float, float, np.ndarray]:
    import inspect

    # transformers 5.x renames past_key_values to cache (input and output)
    key = "cache" if "cache" in inspect.signature(twin.forward).parameters else "past_key_values"
    sync = torch.cuda.synchronize if ids.is_cuda else (lambda: None)
    with torch.inference_mode():
        sync()
        start = time.perf_counter()
        out = twin(ids, use_cache=True)
        sync()
        prefill = time.perf_counter() - start
        tokens = [out.logits[:, -1].argmax(-1)]
        past = out[key]
        start = time.perf_counter()
        for _ in range(new - 1):
            out = twin(tokens[-1][:, None], use_cache=True, **{key: past})
            past = out[key]
            tokens.append(out.logits[:, -1].argmax(-1))
        sync()
        return prefill, time.perf_counter() - start, torch.stack(tokens, 1).cpu().numpy()


def compare(label: str, ours, theirs, decoder, twin_ids, ids, args) -> None:
    results = {"netdef": [], "transformers": []}
    for _ in range(args.warmup + args.repeats):
        results["transformers"].append(theirs(twin_ids))
        results["netdef"].append(ours(decoder, ids))
    same = np.array_equal(results["netdef"][-1][2], results["transformers"][-1][2])
    batch, prompt = ids.shape
    print(f"\n{label} (batch {batch}, prompt {prompt}, {args.new} new tokens; best of {args.repeats})")
    rates = {}
    for who, runs in results.items():
        runs = runs[args.warmup :]
        pre = min(r[0] for r in runs)
        dec = min(r[1] for r in runs)
        rates[who] = (batch * prompt / pre, batch * (args.new - 1) / dec)
        print(f"  {who:13s} prefill {rates[who][0]:10.1f} tok/s   decode {rates[who][1]:8.1f} tok/s")
    ratio = [a / b for a, b in zip(rates["netdef"], rates["transformers"])]
    print(f"  netdef / transformers: prefill x{ratio[0]:.2f}, decode x{ratio[1]:.2f}; same greedy tokens: {same}")


def gpu_problem() -> str | None:
    from netdef.runtime.device import backend_supports, current_gpu

    gpu = current_gpu()
    if gpu is None or not torch.cuda.is_available():
        return "no CUDA GPU visible to torch"
    if not backend_supports(gpu.compute_capability):
        return (
            f"the installed TensorRT ({netdef._trt.BACKEND}) cannot run engines on {gpu.name} {gpu.compute_capability}"
        )
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=["llama", "gpt2"], default="llama")
    parser.add_argument("--size", choices=["tiny", "small"], default="small")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=64)
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}")
    config = {**SIZES[(args.family, args.size)], "bos_token_id": None, "eos_token_id": None}
    model, twin = tiny_pair(args.family, **config)
    context = args.prompt + args.new
    ids = np.random.default_rng(0).integers(0, config["vocab_size"], (args.batch, args.prompt))

    net = define_cached(model, max_context=context, max_batch=args.batch)
    compare(
        "CPU: reference interpreter (fp32) vs transformers eager (fp32)",
        lambda d, x: run_netdef(d, x, args.new),
        lambda x: run_transformers(twin, x, args.new),
        ReferenceDecoder(net),
        torch.from_numpy(ids),
        ids,
        args,
    )

    problem = gpu_problem()
    if problem:
        print(f"\nGPU: skipped ({problem})")
        return 0
    engine = netdef.build(define_cached(model, max_context=context, max_batch=args.batch, precision="fp16"))
    decoder = EngineDecoder(netdef.Engine.from_bytes(engine.data, engine.metadata))
    twin = twin.half().cuda()
    compare(
        "GPU: TensorRT engine (fp16) vs transformers eager (fp16, CUDA)",
        lambda d, x: run_netdef(d, x, args.new),
        lambda x: run_transformers(twin, x, args.new),
        decoder,
        torch.from_numpy(ids).cuda(),
        ids,
        args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
