"""Benchmarks: latency percentiles and throughput of an engine, optionally beside its torch twin in eager mode.

The statistics and the table need no GPU; ``bench_engine`` needs one the backend can run engines on,
``bench_torch`` runs on whatever device it is given.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from netdef.errors import EngineError


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, interpolating linearly between neighbours."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q} must be within 0..100")
    position = (len(sorted_values) - 1) * q / 100
    lo = math.floor(position)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (position - lo)


@dataclass(frozen=True)
class BenchStats:
    """Latency (milliseconds) over timed runs, and throughput in samples per second."""

    label: str
    runs: int
    batch: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    throughput: float
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def latency_stats(
    label: str, seconds: Sequence[float], batch: int = 1, wall_seconds: float | None = None, note: str = ""
) -> BenchStats:
    """Statistics of per-run latencies ``seconds``. Throughput is ``runs * batch / wall_seconds`` (the time the
    whole series took, e.g. pipelined), or over the sum of the latencies when no wall time is given."""
    if len(seconds) == 0:
        raise EngineError("no timed runs: use runs >= 1")
    ms = sorted(float(s) * 1e3 for s in seconds)
    wall = float(wall_seconds) if wall_seconds is not None else sum(ms) / 1e3
    return BenchStats(
        label=label,
        runs=len(ms),
        batch=int(batch),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        min_ms=ms[0],
        max_ms=ms[-1],
        throughput=len(ms) * batch / wall if wall > 0 else float("inf"),
        note=note,
    )


def time_calls(
    fn: Callable[[], object], runs: int, warmup: int, sync: Callable[[], None] = lambda: None
) -> tuple[list[float], float]:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times, each followed by ``sync()``; returns the
    per-call seconds and the wall seconds of the timed series."""
    if runs < 1 or warmup < 0:
        raise EngineError(f"runs={runs}, warmup={warmup}: need runs >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    start = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return samples, time.perf_counter() - start


def format_table(rows: Sequence[BenchStats]) -> str:
    """The rows as a text table, then the first row's speed-up over each other row (p50 and throughput)."""
    head = (
        f"{'':<28} {'batch':>5} {'runs':>5} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'samples/s':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.label:<28} {r.batch:>5} {r.runs:>5} {r.p50_ms:>9.3f} {r.p90_ms:>9.3f} {r.p99_ms:>9.3f} "
            f"{r.mean_ms:>9.3f} {r.throughput:>11.1f}"
        )
    notes = [f"{r.label}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    if len(rows) > 1:
        base = rows[0]
        lines.append("")
        for r in rows[1:]:
            lines.append(
                f"speed-up of {base.label} over {r.label} (>1: faster): {r.p50_ms / base.p50_ms:.2f}x at p50 "
                f"latency, {base.throughput / r.throughput:.2f}x in throughput"
            )
    return "\n".join(lines)


def bench_engine(
    engine,
    feeds: Mapping[str, object],
    runs: int = 100,
    warmup: int = 10,
    provider: str = "auto",
    cuda_graph: bool | str = False,
    outputs: str = "numpy",
    label: str = "TensorRT engine",
) -> BenchStats:
    """Latency of ``infer`` on one context (each run waited for), and throughput of ``runs`` runs pipelined
    over two contexts."""
    context = engine.create_context(provider, cuda_graph=cuda_graph)
    samples, _ = time_calls(lambda: context.infer(feeds, outputs=outputs), runs, warmup)
    contexts = [context, engine.create_context(provider, cuda_graph=cuda_graph)]
    from netdef.runtime.execution import Pipeline

    pipe = Pipeline(contexts)
    for _ in pipe.map([feeds] * warmup, outputs=outputs):
        pass
    start = time.perf_counter()
    for _ in pipe.map([feeds] * runs, outputs=outputs):
        pass
    wall = time.perf_counter() - start
    batch = _batch(feeds)
    note = f"{context.provider.name} buffers, outputs to {outputs}, throughput over 2 pipelined contexts"
    if context.cuda_graph != "off":
        note += f", CUDA graph: {context.cuda_graph}"
    elif context.cuda_graph_note:
        note += f", {context.cuda_graph_note}"
    return latency_stats(label, samples, batch, wall, note)


def bench_torch(
    module,
    feeds: Mapping[str, np.ndarray],
    runs: int = 100,
    warmup: int = 10,
    device: str = "cuda",
    include_copies: bool = True,
    label: str = "torch eager",
) -> BenchStats:
    """Latency and throughput of ``module`` in eager mode under ``torch.no_grad()`` on ``device``; the feeds go
    to the forward parameters of their names when it has them all, else by position in the feeds' order. With
    ``include_copies`` each run also moves its inputs to the device and its outputs back (as ``infer``)."""
    import torch

    module = module.eval().to(device)
    on_device = {k: torch.as_tensor(np.ascontiguousarray(v)).to(device) for k, v in feeds.items()}
    host = {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in feeds.items()}
    is_cuda = torch.device(device).type == "cuda"
    sync = torch.cuda.synchronize if is_cuda else (lambda: None)

    names = list(feeds) if _takes_names(module, feeds) else None

    def call():
        with torch.no_grad():
            xs = [t.to(device) for t in host.values()] if include_copies else list(on_device.values())
            out = module(**dict(zip(names, xs))) if names else module(*xs)
            if include_copies:
                for t in out.values() if isinstance(out, Mapping) else out if isinstance(out, tuple | list) else [out]:
                    t.cpu()
            return out

    samples, wall = time_calls(call, runs, warmup, sync)
    dtype = next(iter(module.parameters())).dtype if any(True for _ in module.parameters()) else "?"
    note = f"{type(module).__name__} on {device}, {str(dtype).removeprefix('torch.')}, eager" + (
        ", with host copies" if include_copies else ""
    )
    return latency_stats(label, samples, _batch(feeds), wall, note)


def _takes_names(module, names) -> bool:
    """Whether ``module.forward`` has a parameter, passable by keyword, of every name in ``names``."""
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return all(n in params and params[n].kind in keyword for n in names)


def _batch(feeds: Mapping[str, object]) -> int:
    first = next(iter(feeds.values()))
    shape = tuple(getattr(first, "shape", ()))
    return int(shape[0]) if shape else 1
