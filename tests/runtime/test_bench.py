"""Benchmark statistics and the table (numpy's percentiles are the oracle), the torch-eager timing on CPU, and the
`netdef bench` command's refusals on a machine that cannot run the engine."""

from __future__ import annotations

import numpy as np
import pytest

import netdef
from netdef.cli import main
from netdef.runtime.bench import bench_torch, format_table, latency_stats, percentile, time_calls


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentiles_match_numpy(n):
    values = sorted(np.random.default_rng(n).exponential(3.0, n).tolist())
    for q in (0, 1, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q), rel=1e-12, abs=1e-12)


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError, match="percentile of no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"within 0\.\.100"):
        percentile([1.0], 101)


def test_latency_stats():
    seconds = np.random.default_rng(0).uniform(0.001, 0.004, 200)
    stats = latency_stats("engine", seconds, batch=8, wall_seconds=0.4)
    ms = seconds * 1e3
    assert stats.runs == 200 and stats.batch == 8
    for name, q in (("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99)):
        assert getattr(stats, name) == pytest.approx(np.percentile(ms, q))
    assert stats.mean_ms == pytest.approx(ms.mean())
    assert (stats.min_ms, stats.max_ms) == (pytest.approx(ms.min()), pytest.approx(ms.max()))
    assert stats.throughput == pytest.approx(200 * 8 / 0.4)
    # without a wall time: runs * batch over the summed latencies
    assert latency_stats("x", seconds, batch=8).throughput == pytest.approx(200 * 8 / seconds.sum())
    with pytest.raises(netdef.EngineError, match="no timed runs"):
        latency_stats("x", [])


def test_time_calls_skips_the_warmup():
    calls, syncs = [], []
    samples, wall = time_calls(lambda: calls.append(1), runs=5, warmup=3, sync=lambda: syncs.append(1))
    assert len(calls) == 8 and len(samples) == 5 and len(syncs) == 6  # once after the warm-up, once per run
    assert all(s >= 0 for s in samples) and wall >= sum(samples)
    with pytest.raises(netdef.EngineError, match="need runs >= 1"):
        time_calls(lambda: None, runs=0, warmup=0)


def test_table_and_ratio():
    engine = latency_stats("TensorRT", [0.001] * 10, batch=4, wall_seconds=0.005, note="torch buffers")
    twin = latency_stats("torch eager", [0.003] * 10, batch=4, wall_seconds=0.03)
    text = format_table([engine, twin])
    lines = text.splitlines()
    assert lines[0].split() == ["batch", "runs", "p50", "ms", "p90", "ms", "p99", "ms", "mean", "ms", "samples/s"]
    assert lines[2].split()[:4] == ["TensorRT", "4", "10", "1.000"]
    assert "torch eager" in lines[3] and "3.000" in lines[3]
    assert "TensorRT: torch buffers" in text
    assert lines[-1] == (
        "speed-up of TensorRT over torch eager (>1: faster): 3.00x at p50 latency, 6.00x in throughput"
    )


def test_bench_torch_on_cpu():
    """The eager timing path, on CPU here (on the GPU machine the same code runs on CUDA)."""
    from netdef.zoo.twins.lenet import LeNet as TorchLeNet

    x = np.random.default_rng(0).standard_normal((4, 1, 32, 32)).astype(np.float32)
    stats = bench_torch(TorchLeNet(), {"x": x}, runs=5, warmup=1, device="cpu")
    assert stats.runs == 5 and stats.batch == 4 and stats.p50_ms > 0
    assert stats.note == "LeNet on cpu, float32, eager, with host copies"


def test_bench_torch_passes_feeds_by_name():
    import torch

    class Sub(torch.nn.Module):
        def forward(self, a, b):
            self.seen = (tuple(a.shape), tuple(b.shape))
            return a.sum() - b.sum()

    class Positional(torch.nn.Module):
        def forward(self, *xs):
            self.seen = tuple(tuple(x.shape) for x in xs)
            return xs[0]

    feeds = {"b": np.zeros((2,), np.float32), "a": np.zeros((3,), np.float32)}  # not forward's order
    sub, positional = Sub(), Positional()
    bench_torch(sub, feeds, runs=1, warmup=0, device="cpu")
    assert sub.seen == ((3,), (2,))
    bench_torch(positional, feeds, runs=1, warmup=0, device="cpu")  # no names to bind: the feeds' order
    assert positional.seen == ((2,), (3,))


def test_bench_command_without_a_runnable_gpu(tmp_path, capsys):
    from netdef.zoo.lenet import LeNet
    from netdef.zoo.twins.lenet import LeNet as TorchLeNet

    gpu = netdef.runtime.current_gpu()
    from netdef.runtime.device import backend_supports

    if gpu is not None and backend_supports(gpu.compute_capability):
        pytest.skip(f"{gpu.name} can run engines: tests/runtime/test_gpu.py benchmarks there")
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in TorchLeNet().state_dict().items()})
    path = tmp_path / "lenet.engine"
    netdef.build(model, LeNet.default_inputs(), output=path)
    assert main(["bench", str(path), "--runs", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netdef bench: error: cannot load {path}")
    assert ("no CUDA GPU is visible" in err) if gpu is None else ("does not support this GPU" in err)
    assert main(["bench", str(path), "--weights", "w.wts"]) == 2
    assert "--weights is for the torch twin: pass --twin module:Class too" in capsys.readouterr().err


def test_bench_command_refuses_a_damaged_engine(tmp_path, capsys):
    path = tmp_path / "broken.engine"
    path.write_bytes(b"not an engine")
    assert main(["bench", str(path)]) == 2
    assert "broken.engine.json is missing" in capsys.readouterr().err
