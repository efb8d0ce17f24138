"""The run machinery (staging, queued runs, handles, pipelines) on CPU, with a provider whose "stream" really
lags: host memory stands in for device memory, and every queued copy or kernel runs only when something waits
for it, as on a busy GPU. That makes the classic staging race (a second run overwriting page-locked memory that
a queued copy has not read yet) show up deterministically. The same runner is checked on a real GPU in
tests/runtime/test_gpu.py."""

from __future__ import annotations

import ctypes
import threading

import ml_dtypes
import numpy as np
import pytest
import torch

import netdef
from netdef.runtime import Pipeline, StreamRunner, TensorSpec, plan_buffers
from netdef.runtime.buffers import Event, Provider
from netdef.runtime.execution import check_dtype


class _Memory:
    def __init__(self, size: int) -> None:
        self.array = np.zeros(size, np.uint8)

    def __int__(self) -> int:
        return self.array.ctypes.data


class _LaggingEvent(Event):
    def __init__(self, provider: LaggingProvider, position: int) -> None:
        self.provider, self.position = provider, position

    def done(self) -> bool:
        return self.provider.executed >= self.position

    def synchronize(self) -> None:
        self.provider.run_until(self.position)


class LaggingProvider(Provider):
    """Host memory posing as device memory; copies and kernels are queued and run only when waited for."""

    name = "lagging"

    def __init__(self) -> None:
        self.queue: list = []
        self.executed = 0
        self.host_allocations = 0

    @property
    def stream_handle(self) -> int:
        return 0

    def device_buffer(self, size: int) -> _Memory:
        return _Memory(size)

    def host_buffer(self, size: int) -> np.ndarray:
        self.host_allocations += 1
        return np.zeros(size, np.uint8)

    def _copy(self, dst: int, src: int, size: int) -> None:
        self.queue.append(lambda: ctypes.memmove(dst, src, size))

    def h2d(self, dst: int, src: np.ndarray) -> None:
        self._copy(dst, src.ctypes.data, src.nbytes)

    def d2h(self, dst: np.ndarray, src: int) -> None:
        self._copy(dst.ctypes.data, src, dst.nbytes)

    def d2d(self, dst: int, src: int, size: int) -> None:
        self._copy(dst, src, size)

    def device_array(self, shape, dtype):
        memory = _Memory(max(int(np.prod(shape)) * np.dtype(dtype).itemsize, 1))
        return memory.array[: int(np.prod(shape)) * np.dtype(dtype).itemsize].view(dtype).reshape(shape), int(memory)

    def record(self) -> Event:
        return _LaggingEvent(self, len(self.queue))

    def run_until(self, position: int) -> None:
        while self.executed < position:
            self.queue[self.executed]()
            self.executed += 1

    def synchronize(self) -> None:
        self.run_until(len(self.queue))


def view(address: int, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A numpy array over memory at ``address`` (the stand-in device memory)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = (ctypes.c_uint8 * max(size, 1)).from_address(address)
    return np.frombuffer(raw, np.uint8)[:size].view(dtype).reshape(shape)


SPECS = [
    TensorSpec("x", True, np.dtype("float32"), (-1, 3), (1, 3), (8, 3), (((1, 3), (4, 3), (8, 3)),)),
    TensorSpec("y", False, np.dtype("float32"), (-1, 3)),
]


def affine(provider: LaggingProvider, plan):
    """A launch that queues the kernel y = 2x + 1 on the lagging stream."""
    shape = plan.slots["x"].shape

    def launch(addresses):
        x, y = addresses["x"], addresses["y"]
        provider.queue.append(lambda: np.copyto(view(y, shape, np.float32), view(x, shape, np.float32) * 2 + 1))

    return launch


def submit(runner: StreamRunner, x, **kwargs):
    plan = plan_buffers(SPECS, {"x": x.shape}, {"y": x.shape})
    return runner.submit(plan, {"x": x}, affine(runner.provider, plan), **kwargs)


def test_queued_runs_keep_their_own_staging():
    """Two runs queued before either is waited for: each sees its own inputs and keeps its own outputs."""
    provider = LaggingProvider()
    runner = StreamRunner(provider, depth=2)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = -np.arange(6, dtype=np.float32).reshape(2, 3) - 10
    first, second = submit(runner, a), submit(runner, b)
    assert provider.executed == 0 and not first.done()  # nothing ran yet: the copies still read staging memory
    np.testing.assert_array_equal(second.result()["y"], b * 2 + 1)
    np.testing.assert_array_equal(first.result()["y"], a * 2 + 1)
    assert first.done() and second.done()


def test_a_third_run_waits_for_the_first_and_keeps_its_result():
    """With two staging sets, the third run reuses the first's: the first run is finished and copied out first."""
    provider = LaggingProvider()
    runner = StreamRunner(provider, depth=2)
    xs = [np.full((2, 3), float(i), np.float32) for i in range(5)]
    runs = [submit(runner, x) for x in xs]
    assert provider.host_allocations == 4  # input + output staging, for two sets only
    for x, run in zip(xs, runs):
        np.testing.assert_array_equal(run.result()["y"], x * 2 + 1)
    assert runs[0].result() is runs[0].result()  # handed over once, then the same dict


def test_depth_one_still_correct():
    provider = LaggingProvider()
    runner = StreamRunner(provider, depth=1)
    xs = [np.random.default_rng(i).standard_normal((3, 3)).astype(np.float32) for i in range(3)]
    runs = [submit(runner, x) for x in xs]
    for x, run in zip(xs, runs):
        np.testing.assert_array_equal(run.result()["y"], x * 2 + 1)


def test_results_are_copies_not_staging_memory():
    provider = LaggingProvider()
    runner = StreamRunner(provider, depth=1)
    x = np.ones((2, 3), np.float32)
    y = submit(runner, x).result()["y"]
    submit(runner, x * 5).result()
    np.testing.assert_array_equal(y, np.full((2, 3), 3, np.float32))


def test_dynamic_shapes_grow_buffers_and_count_bytes():
    provider = LaggingProvider()
    runner = StreamRunner(provider, depth=2)
    for batch in (1, 8, 2):
        x = np.arange(batch * 3, dtype=np.float32).reshape(batch, 3)
        np.testing.assert_array_equal(submit(runner, x).result()["y"], x * 2 + 1)
    assert runner.stats["h2d"] == runner.stats["d2h"] == (1 + 8 + 2) * 3 * 4
    assert runner.stats["runs"] == 3


def test_torch_cpu_and_float64_inputs_are_converted_on_staging():
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    t = torch.randn(4, 3, dtype=torch.float64)
    want = (t.float() * 2 + 1).numpy()
    np.testing.assert_array_equal(submit(runner, t).result()["y"], want)
    np.testing.assert_array_equal(submit(runner, t.numpy()).result()["y"], want)
    np.testing.assert_array_equal(submit(runner, t.t().contiguous().t()).result()["y"], want)  # strided


def test_device_outputs_and_fixed_addresses():
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    direct = submit(runner, x, outputs="device").result()["y"]
    copied = submit(runner, x, outputs="device", fixed=True).result()["y"]  # via this runner's buffer, then copied
    np.testing.assert_array_equal(direct, x * 2 + 1)
    np.testing.assert_array_equal(copied, x * 2 + 1)
    assert runner.stats["d2d"] == x.nbytes
    with pytest.raises(netdef.EngineError, match="outputs='gpu'; use one of numpy, device"):
        submit(runner, x, outputs="gpu")


def test_data_dependent_output_sized_by_the_launch():
    """An output the plan cannot size: the launch allocates it and reports its shape (as the output allocator)."""
    specs = [
        TensorSpec("x", True, np.dtype("float32"), (6,)),
        TensorSpec("idx", False, np.dtype("int32"), (-1,)),
    ]
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    x = np.array([0, 3, 0, 1, 0, 2], np.float32)
    plan = plan_buffers(specs, {"x": (6,)})
    assert plan.deferred == ["idx"]
    want = np.flatnonzero(x).astype(np.int32)  # what a nonzero layer computes

    def launch(addresses):
        address = runner.device_buffer("idx", 6 * 4)
        src = addresses["x"]
        provider.queue.append(
            lambda: np.copyto(view(address, (3,), np.int32), np.flatnonzero(view(src, (6,), np.float32)))
        )
        return {"idx": (address, (3,))}

    np.testing.assert_array_equal(runner.submit(plan, {"x": x}, launch).result()["idx"], want)
    with pytest.raises(netdef.EngineError, match="output 'idx' has a data-dependent shape, and the run gave none"):
        runner.submit(plan, {"x": x}, lambda addresses: None)


def test_bfloat16_inputs_and_outputs():
    """bf16 travels as raw bytes: numpy (ml_dtypes) and torch bf16 in, ml_dtypes bf16 out; torch is the oracle."""
    bf16 = np.dtype(ml_dtypes.bfloat16)
    specs = [TensorSpec("x", True, bf16, (2, 3)), TensorSpec("y", False, bf16, (2, 3))]
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    t = torch.randn(2, 3).bfloat16()
    plan = plan_buffers(specs, {"x": (2, 3)})

    def launch(addresses):
        x, y = addresses["x"], addresses["y"]
        provider.queue.append(lambda: np.copyto(view(y, (2, 3), bf16), view(x, (2, 3), bf16)))

    for value in (t, t.float().numpy().astype(bf16), t.float()):
        got = runner.submit(plan, {"x": value}, launch).result()["y"]
        assert got.dtype == bf16
        np.testing.assert_array_equal(got.astype(np.float32), t.float().numpy())


def test_dtype_rules():
    x = TensorSpec("x", True, np.dtype("float32"), (2,))
    assert check_dtype(x, np.zeros(2, np.float32)) is False
    assert check_dtype(x, np.zeros(2, np.float16)) is True
    assert check_dtype(x, torch.zeros(2, dtype=torch.bfloat16)) is True
    with pytest.raises(netdef.EngineError, match="input 'x' is int64; the engine expects float32"):
        check_dtype(x, np.zeros(2, np.int64))
    i = TensorSpec("i", True, np.dtype("int32"), (2,))
    with pytest.raises(netdef.EngineError, match="input 'i' is float32; the engine expects int32"):
        check_dtype(i, torch.zeros(2))


def test_feeds_are_checked_before_anything_is_queued():
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    with pytest.raises(netdef.EngineError, match="outside the engine's profile"):
        submit(runner, np.zeros((9, 3), np.float32))
    assert provider.queue == []


def test_pipeline_returns_results_in_order():
    providers = [LaggingProvider(), LaggingProvider()]

    class Context:
        def __init__(self, provider):
            self.runner = StreamRunner(provider)

        def enqueue(self, feeds, outputs="numpy"):
            return submit(self.runner, feeds["x"], outputs=outputs)

    contexts = [Context(p) for p in providers]
    xs = [np.full((1, 3), float(i), np.float32) for i in range(9)]
    got = list(Pipeline(contexts).map({"x": x} for x in xs))
    for x, out in zip(xs, got):
        np.testing.assert_array_equal(out["y"], x * 2 + 1)
    assert [c.runner.stats["runs"] for c in contexts] == [5, 4]


def test_threads_sharing_a_runner_stay_correct():
    provider = LaggingProvider()
    runner = StreamRunner(provider)
    results: dict[int, list] = {}

    def work(k: int) -> None:
        xs = [np.full((2, 3), float(k * 100 + i), np.float32) for i in range(20)]
        results[k] = [(x, submit(runner, x).result()["y"]) for x in xs]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for pairs in results.values():
        for x, y in pairs:
            np.testing.assert_array_equal(y, x * 2 + 1)


def test_a_cuda_graph_that_cannot_be_used_is_a_netdef_warning_saying_why():
    from netdef.runtime import FunctionContext

    with pytest.warns(netdef.NetdefWarning, match="CUDA graph not used: .*dynamic input shapes"):
        ctx = FunctionContext(lambda inputs, outputs: None, SPECS, provider=LaggingProvider(), cuda_graph=True)
    assert ctx.cuda_graph == "off" and "dynamic input shapes" in ctx.cuda_graph_note
