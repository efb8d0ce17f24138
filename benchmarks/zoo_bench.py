"""Speed of netdef on CPU for a zoo model (resnet50 by default), measured in one run on this machine:

1. the reference interpreter running the real TensorRT network vs torch eager running the twin, batch 1,
   same input, same torch thread settings, after warm-up; the runs are interleaved (torch, netdef,
   torch, ...) so load from other processes hits both alike; the best of the repeats is compared (as
   timeit does: load only ever adds time), and the ratio of the medians is shown too;
2. emitting the network (``netdef.define`` only, no build): median of several definitions.

    .venv/bin/python benchmarks/zoo_bench.py [--model resnet50] [--size 224] [--repeats 10]

Exits with status 1 when the interpreter is slower than ``--max-ratio`` x torch or emission takes longer
than ``--max-define-s``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from models import zoo  # noqa: E402
from netdef import testing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50", choices=zoo.names())
    parser.add_argument("--size", type=int, default=224, help="image side (square inputs of 3 channels)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument("--max-define-s", type=float, default=0.5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    entry = zoo.get(args.model)
    twin, model = testing.twin_pair(entry)  # BatchNorm statistics randomized, so folding shows in the diff
    (name, (shape, dtype)) = next(iter(entry.full_inputs.items()))
    shape = (1, *shape[1:-2], args.size, args.size)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    inputs = {name: netdef.Input(shape, dtype)}

    define_times = []
    for _ in range(args.warmup + args.repeats):
        start = time.perf_counter()
        network = netdef.define(model, inputs)
        define_times.append(time.perf_counter() - start)
    define_s = statistics.median(define_times[args.warmup :])

    xt = torch.from_numpy(x)

    def run_torch():
        with torch.inference_mode():
            return twin(xt).numpy()

    def run_netdef():
        return netdef.reference.run(network, {name: x})["output"]

    for _ in range(args.warmup):
        want, got = run_torch(), run_netdef()
    torch_times, netdef_times = [], []
    for _ in range(args.repeats):
        for fn, times in ((run_torch, torch_times), (run_netdef, netdef_times)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    # best of the repeats (as timeit): load from other processes only ever adds time; medians shown too
    t_torch, t_netdef = min(torch_times), min(netdef_times)
    ratio = t_netdef / t_torch
    median_ratio = statistics.median(netdef_times) / statistics.median(torch_times)
    err = float(np.abs(got - want).max() / np.abs(want).max())

    print(f"{args.model} batch 1, {shape}, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(
        f"  torch eager (twin):          {t_torch * 1e3:8.1f} ms  (best of {args.repeats}; median {statistics.median(torch_times) * 1e3:.1f})"
    )
    print(
        f"  netdef reference (CPU):      {t_netdef * 1e3:8.1f} ms  (best of {args.repeats}; median {statistics.median(netdef_times) * 1e3:.1f})"
    )
    print(f"  ratio netdef / torch:        {ratio:8.2f}    (limit {args.max_ratio}; of the medians {median_ratio:.2f})")
    print(f"  max |diff| / max |torch|:    {err:8.1e}")
    print(
        f"  define (emit {network.network.num_layers} layers): {define_s * 1e3:8.1f} ms  "
        f"(median of {args.repeats}; limit {args.max_define_s * 1e3:.0f} ms)"
    )
    ok = ratio <= args.max_ratio and define_s <= args.max_define_s
    print("OK" if ok else "SLOWER THAN THE LIMITS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
