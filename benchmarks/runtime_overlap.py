"""The runtime's own overheads on any CUDA GPU, with torch work where an engine would run (FunctionContext).

1. Copy/compute overlap: batches of 16 MiB staged, copied and run one at a time on one stream, versus pipelined
   over two contexts (two streams), per buffer provider.
2. Launch overhead: many small kernels run directly versus replayed from a CUDA graph captured with netdef's
   graph helper (the helper engines use).

    python benchmarks/runtime_overlap.py [--batches 24] [--runs 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from netdef.runtime import FunctionContext, Pipeline, TensorSpec
from netdef.runtime.bench import format_table, latency_stats, time_calls
from netdef.runtime.buffers import PROVIDERS, provider_problem

F32 = np.dtype("float32")


def overlap(provider: str, batches: int) -> list:
    rows = 1 << 16
    specs = [TensorSpec("x", True, F32, (rows, 64)), TensorSpec("y", False, F32, (1, 64))]
    a = torch.randn(4096, 4096, device="cuda")

    def make_work():
        scratch = torch.empty(4096, 4096, device="cuda")

        def work(inputs, outputs):
            torch.matmul(a, a, out=scratch)
            torch.sum(inputs["x"][:64], dim=0, keepdim=True, out=outputs["y"])

        return work

    feeds = [{"x": np.full((rows, 64), float(i), np.float32)} for i in range(batches)]
    serial = FunctionContext(make_work(), specs, provider=provider, depth=1)
    contexts = [FunctionContext(make_work(), specs, provider=provider) for _ in range(2)]
    serial.infer(feeds[0])  # warm-up: every staging set and buffer allocated, kernels loaded
    list(Pipeline(contexts).map(feeds[:4]))
    samples = []
    start = time.perf_counter()
    for f in feeds:
        t0 = time.perf_counter()
        serial.infer(f)
        samples.append(time.perf_counter() - t0)
    serial_wall = time.perf_counter() - start
    start = time.perf_counter()
    for _ in Pipeline(contexts).map(feeds):
        pass
    piped_wall = time.perf_counter() - start
    per = [piped_wall / batches] * batches  # pipelined runs overlap: only the wall time per batch means something
    return [
        latency_stats(f"{provider}: pipelined, 2 streams", per, rows, piped_wall),
        latency_stats(f"{provider}: one at a time", samples, rows, serial_wall),
    ]


def graphs(runs: int) -> list:
    specs = [TensorSpec("x", True, F32, (256, 256)), TensorSpec("y", False, F32, (256, 256))]

    def many_small(inputs, outputs):
        y = outputs["y"]
        y.copy_(inputs["x"])
        for _ in range(50):
            y.mul_(0.999).add_(0.001)

    x = np.ones((256, 256), np.float32)
    rows = []
    device_x = torch.from_numpy(x).cuda()
    for mode in ("capture", False):
        ctx = FunctionContext(many_small, specs, provider="torch", cuda_graph=mode)
        samples, wall = time_calls(lambda c=ctx: c.infer({"x": device_x}, outputs="device"), runs, 10)
        label = "CUDA graph replay" if mode else "direct launches"
        rows.append(latency_stats(f"101 kernels: {label}", samples, 1, wall, ctx.cuda_graph_note))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}\n")
    for provider in PROVIDERS:
        problem = provider_problem(provider)
        if problem:
            print(f"{provider}: skipped ({problem})\n")
            continue
        print(format_table(overlap(provider, args.batches)), "\n")
    print(format_table(graphs(args.runs)))


if __name__ == "__main__":
    main()
