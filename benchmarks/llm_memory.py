"""Memory of binding, defining and building a decoder LLM, and engine bytes against weight bytes.

At the Qwen2.5-0.5B shape (a Llama config: hidden 896, 24 layers, 14 heads, 2 kv heads, intermediate 4864,
vocab 151936, tied embeddings) with random weights saved by transformers' ``save_pretrained`` (fp16, about
1 GB; made once in ``--dir``, nothing downloaded). Each measurement runs in its own subprocess, so its peak
RSS (``VmHWM``) is its own:

1. ``netdef``: ``LlamaForCausalLM.from_pretrained`` (weights bound as views of the memory-mapped file), then
   ``define`` (fp16), then ``build``.
2. ``copy`` (baseline: what binding did before): every weight copied and converted to float32 while binding,
   then the same ``define`` and ``build``.
3. ``torch`` (baseline): transformers' own ``from_pretrained`` of the same checkpoint in fp16.
4. Engine bytes / fp16 weight bytes: the plain network, and the KV-cache network (``define_cached``) with and
   without its decode profile.

    .venv/bin/python benchmarks/llm_memory.py [--layers 24] [--dir /tmp/netdef-llm-memory] [--no-build]

RSS counts the checkpoint's pages that were read (file-backed, reclaimable: ``RssFile``) as well as memory the
process allocated (``RssAnon``); both are printed at their sampled peaks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QWEN05 = {
    "hidden_size": 896,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "intermediate_size": 4864,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "bos_token_id": None,
    "eos_token_id": None,
}


def status() -> dict[str, int]:
    """This process's memory lines of /proc/self/status, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


class Sampler:
    """Peaks of RssAnon and RssFile, sampled every few milliseconds on a thread (VmHWM is their sum's peak)."""

    def __init__(self) -> None:
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = status()
            for key in self.peak:
                self.peak[key] = max(self.peak[key], now[key])
            time.sleep(0.005)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return self.peak


def make_checkpoint(where: Path, layers: int) -> None:
    import torch

    from netdef.zoo.hf import import_transformers

    transformers = import_transformers()
    config = transformers.LlamaConfig(num_hidden_layers=layers, **QWEN05)
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)
    try:
        model = transformers.LlamaForCausalLM(config).eval()
    finally:
        torch.set_default_dtype(default)
    model.save_pretrained(where, safe_serialization=True)


def child(mode: str, where: str, build: bool) -> dict:
    """One measurement, run in a subprocess of its own; returns what it measured."""
    import numpy as np

    import netdef
    from netdef.generation import define_cached
    from netdef.weights import load_weights_file
    from netdef.zoo.llama import LlamaForCausalLM

    start = status()
    sampler = Sampler()
    stages = {}
    if mode == "torch":
        import torch

        from netdef.zoo.hf import import_transformers

        transformers = import_transformers()
        start = status()
        sampler.stop()
        sampler = Sampler()
        transformers.LlamaForCausalLM.from_pretrained(where, torch_dtype=torch.float16)
        stages["bound"] = status()["VmHWM"]
        return {"start": start["VmRSS"], "stages": stages, "peak": status()["VmHWM"], "split": sampler.stop()}
    if mode == "copy":
        import json as _json

        config = _json.loads(Path(where, "config.json").read_text())
        model = LlamaForCausalLM(**{k: v for k, v in config.items() if k in QWEN05 or k == "num_hidden_layers"})
        weights = load_weights_file(where)
        model.load_weights({k: np.array(weights[k], np.float32) for k in weights})  # every weight copied, as before
        del weights
    else:
        model = LlamaForCausalLM.from_pretrained(where)
    stages["bound"] = status()["VmHWM"]
    out = {"start": start["VmRSS"], "stages": stages}
    if mode in ("netdef", "copy"):
        net = netdef.define(model, {"input_ids": netdef.Input((1, 16), "int64")}, precision="fp16")
        stages["defined"] = status()["VmHWM"]
        if build:
            out["engine"] = len(netdef.build(net).data)
            stages["built"] = status()["VmHWM"]
    elif mode == "cached":
        for profile in (True, False):
            net = define_cached(model, max_context=256, precision="fp16", decode_profile=profile)
            out[f"engine_decode_profile_{profile}"] = len(netdef.build(net).data)
            del net
    unique = {id(p): p for p in model.state_dict().values()}.values()
    out["weight_bytes_fp16"] = sum(p.numel * 2 for p in unique)
    out["peak"] = status()["VmHWM"]
    out["split"] = sampler.stop()
    return out


def run_child(mode: str, where: Path, build: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--dir", str(where)] + ([] if build else ["--no-build"])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--dir", default=None, help="checkpoint folder (made here when absent)")
    parser.add_argument("--no-build", dest="build", action="store_false", help="bind and define only")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    where = Path(args.dir or f"/tmp/netdef-llm-memory-{args.layers}")
    if args.child:
        print(json.dumps(child(args.child, str(where), args.build)))
        return 0
    if not (where / "model.safetensors").exists():
        print(f"writing a random checkpoint of {args.layers} layers to {where} ...", flush=True)
        make_checkpoint(where, args.layers)
    ckpt = sum(f.stat().st_size for f in where.glob("*.safetensors"))
    gb = 1e9
    print(f"checkpoint: {where} ({ckpt / gb:.3f} GB, fp16)")
    print("peak RSS (VmHWM) / checkpoint bytes; 'above start' subtracts the RSS after imports")
    results = {}
    for mode in ("netdef", "copy", "torch"):
        r = results[mode] = run_child(mode, where, args.build)
        stages = ", ".join(f"{k} {(v - r['start']) / ckpt:.2f}x" for k, v in r["stages"].items())
        print(
            f"  {mode:7s} peak {r['peak'] / gb:.2f} GB = {r['peak'] / ckpt:.2f}x ({(r['peak'] - r['start']) / ckpt:.2f}x "
            f"above start; by stage above start: {stages}); sampled peaks RssAnon {r['split']['RssAnon'] / gb:.2f} GB,"
            f" RssFile {r['split']['RssFile'] / gb:.2f} GB"
        )
    if args.build:
        weights = results["netdef"]["weight_bytes_fp16"]
        cached = run_child("cached", where, True)
        print(f"engine bytes / fp16 weight bytes ({weights / gb:.3f} GB):")
        print(f"  plain network (one profile):          {results['netdef']['engine'] / weights:.3f}x")
        print(f"  KV cache, prefill + decode profiles:  {cached['engine_decode_profile_True'] / weights:.3f}x")
        print(f"  KV cache, one profile:                {cached['engine_decode_profile_False'] / weights:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
