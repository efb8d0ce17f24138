"""netdef's reference interpreter vs torch eager on CPU, measured side by side in one run on this machine.

For each model and batch size, the interpreter runs the real TensorRT network of the netdef model and torch
eager runs its twin, same input, same torch thread settings, after warm-up. The runs are interleaved
(torch, netdef, torch, ...) and timed in CPU time of this process (``time.process_time``: on a shared
machine, time spent waiting for a core is not counted); the figure is the median of the pairwise ratios
netdef / torch (the ratio of the best runs is shown too). With ``--rss``, each side also
runs in its own process (the model set up, then two runs) and the ratio of peak RSS is printed: of the
whole process, and of the runs alone (the peak counted from after set-up; Linux's clear_refs).

    .venv/bin/python benchmarks/zoo_bench.py                      # resnet50 vit_b_16 bert_base, zoo vit and bert
    .venv/bin/python benchmarks/zoo_bench.py --models vit bert --batches 1 8 --repeats 10 --rss

Goals: <= 1.2x torch on the full-size models, <= 1.5x on the zoo's small ones (``--check`` exits 1 when
missed; RSS <= 1.1x). Timings on a shared machine are noisy: read them as indicative.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from netdef.zoo import zoo  # noqa: E402

#: full-size models beside the zoo's: name -> (module, factory, inputs with batch 1, int bounds)
FULL = {
    "resnet50": ("resnet", "resnet50", {"x": ((1, 3, 224, 224), "float32")}, {}),
    "vit_b_16": ("vision_transformer", "vit_b_16", {"x": ((1, 3, 224, 224), "float32")}, {}),
    "bert_base": (
        "bert",
        "bert_base_uncased",
        {n: ((1, 128), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
        {"input_ids": 30522, "attention_mask": 2, "token_type_ids": 2},
    ),
    # the tensorrtx families CI checks narrowed, here at their published sizes
    "detr_resnet50": ("detr", "detr_resnet50", {"pixel_values": ((1, 3, 800, 1066), "float32")}, {}),
    "realesrgan_x4plus": ("rrdbnet", "realesrgan_x4plus", {"x": ((1, 3, 128, 128), "float32")}, {}),
    "csrnet": ("csrnet", "csrnet", {"x": ((1, 3, 512, 512), "float32")}, {}),
    "iresnet50": ("iresnet", "iresnet50", {"x": ((1, 3, 112, 112), "float32")}, {}),
    "iresnet100": ("iresnet", "iresnet100", {"x": ((1, 3, 112, 112), "float32")}, {}),
    "lprnet": ("lprnet", "lprnet", {"x": ((1, 3, 24, 94), "float32")}, {}),
    "retinaface_resnet50": ("retinaface", "retinaface_resnet50", {"x": ((1, 3, 640, 640), "float32")}, {}),
}
DEFAULT = ["resnet50", "vit_b_16", "bert_base", "vit", "bert"]
#: goal per model: full-size ones 1.2x, the zoo's small transformers 1.5x
GOALS = {"resnet50": 1.2, "vit_b_16": 1.2, "bert_base": 1.2}
SMALL_GOAL, RSS_GOAL = 1.5, 1.1


def setup(name: str, batch: int):
    """(netdef model bound to the twin's weights, twin in eval mode, feeds) for a benchmark model."""
    import importlib

    torch.manual_seed(0)
    if name in FULL:
        module, factory, inputs, bounds = FULL[name]
        model = getattr(importlib.import_module(f"netdef.zoo.{module}"), factory)()
        twin = getattr(importlib.import_module(f"netdef.zoo.twins.{module}"), factory)()
    else:
        entry = zoo.get(name)
        model, twin = entry.netdef_model(), entry.torch_model()
        inputs, bounds = entry.full_inputs, {k: entry.int_bound(k) for k in entry.full_inputs}
    twin = twin.eval()
    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():  # statistics a trained network could have
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(0)
    feeds = {}
    for k, (shape, dtype) in inputs.items():
        shape = (batch, *shape[1:])
        bound = bounds.get(k, 0)
        feeds[k] = rng.integers(0, bound, shape).astype(dtype) if bound else rng.standard_normal(shape).astype(dtype)
        if k == "attention_mask":
            feeds[k][:, 0] = 1  # no all-padding row
    return model, twin, feeds


def _first(out):
    while not isinstance(out, torch.Tensor):
        out = out[0] if isinstance(out, (tuple, list)) else next(iter(out.values()))
    return out


def _peak_rss() -> int:
    """Peak RSS in bytes since the last reset (VmHWM), else of the whole process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux 4.0+)
        return True
    except OSError:
        return False


def child(side: str, name: str, batch: int) -> dict:
    """Peak RSS of one side in this process: the whole process, and the two runs after set-up."""
    model, twin, feeds = setup(name, batch)
    if side == "netdef":
        network = netdef.define(model, {k: netdef.Input(v.shape, str(v.dtype)) for k, v in feeds.items()})
        del model, twin  # the network holds every array it runs (the twin's weights, or folded copies)
        gc.collect()
        run = lambda: netdef.reference.run(network, feeds)  # noqa: E731
    else:
        args = [torch.from_numpy(v) for v in feeds.values()]

        def run():
            with torch.inference_mode():
                return twin(*args)

    whole_before = _peak_rss()
    reset = _reset_peak_rss()
    for _ in range(2):
        run()
    runs = _peak_rss()
    return {
        "whole": max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, whole_before),
        "runs": runs,
        "reset": reset,
    }


def _rss(name: str, batch: int, threads: int | None) -> dict[str, dict]:
    out = {}
    for side in ("torch", "netdef"):
        cmd = [sys.executable, __file__, "--child", side, "--models", name, "--batches", str(batch)]
        if threads:
            cmd += ["--threads", str(threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{side} for {name} failed:\n{proc.stderr[-3000:]}")
        out[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def bench(name: str, batch: int, repeats: int, warmup: int) -> dict:
    model, twin, feeds = setup(name, batch)
    network = netdef.define(model, {k: netdef.Input(v.shape, str(v.dtype)) for k, v in feeds.items()})
    args = [torch.from_numpy(v) for v in feeds.values()]

    def run_torch():
        with torch.inference_mode():
            return _first(twin(*args)).numpy()

    def run_netdef():
        return netdef.reference.run(network, feeds)[network.outputs[0]]

    for _ in range(warmup):
        want, got = run_torch(), run_netdef()
    pairs = []
    for _ in range(repeats):
        times = []
        for fn in (run_torch, run_netdef):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        pairs.append(times)
    return {
        "torch_s": min(t for t, _ in pairs),
        "netdef_s": min(n for _, n in pairs),
        "ratio": statistics.median(n / t for t, n in pairs),
        "best_ratio": min(n for _, n in pairs) / min(t for t, _ in pairs),
        "err": float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)),
        "layers": network.network.num_layers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=DEFAULT, choices=[*FULL, *zoo.names()], metavar="MODEL")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both (0: torch's default)")
    parser.add_argument("--rss", action="store_true", help="also compare peak RSS (each side in its own process)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--child", choices=("torch", "netdef"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child, args.models[0], args.batches[0])))
        return 0

    print(f"reference interpreter vs torch eager (torch {torch.__version__}, {torch.get_num_threads()} thread(s));")
    print(
        f"CPU time; ratio = netdef / torch, median of {args.repeats} interleaved pairs (best: ratio of the best runs)\n"
    )
    head = f"{'model':12}{'batch':>6}{'layers':>8}{'torch':>11}{'netdef':>11}{'ratio':>9}{'best':>8}{'max err':>10}"
    if args.rss:
        head += f"{'RSS runs':>10}{'RSS whole':>11}"
    print(head)
    missed = []
    for name in args.models:
        goal = GOALS.get(name, SMALL_GOAL)
        for batch in args.batches:
            r = bench(name, batch, args.repeats, args.warmup)
            line = (
                f"{name:12}{batch:>6}{r['layers']:>8}{r['torch_s'] * 1e3:>9.1f}ms{r['netdef_s'] * 1e3:>9.1f}ms"
                f"{r['ratio']:>8.2f}x{r['best_ratio']:>7.2f}x{r['err']:>10.1e}"
            )
            if r["ratio"] > goal:
                missed.append(f"{name} batch {batch}: {r['ratio']:.2f}x > {goal}x")
            if args.rss:
                rss = _rss(name, batch, args.threads)
                runs = rss["netdef"]["runs"] / rss["torch"]["runs"]
                whole = rss["netdef"]["whole"] / rss["torch"]["whole"]
                line += f"{runs:>9.2f}x{whole:>10.2f}x"
                if runs > RSS_GOAL:
                    missed.append(f"{name} batch {batch}: peak RSS of the runs {runs:.2f}x > {RSS_GOAL}x")
            print(line, flush=True)
    print("\ngoals: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
