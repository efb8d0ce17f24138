"""The runtime on a real GPU: buffer providers, staging, streams and overlap, output allocation, engines vs the
torch twin (contexts, threads, profiles, bf16, CUDA graphs, pipelines, bench), and clear refusals.

Every test is marked ``gpu`` and skips with the reason when this machine cannot run it: no CUDA GPU, a provider
missing, or a GPU the installed TensorRT backend cannot run engines on (TensorRT-RTX refuses Hopper). The
provider, staging and stream tests need no engine: they run the same StreamRunner/FunctionContext machinery
with torch work where the engine would be, so they run on any CUDA GPU. On a GPU the backend does not support,
the last tests check that loading an engine is refused with a clear message.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import ml_dtypes
import numpy as np
import pytest
import torch

import netdef
from netdef._trt import BACKEND
from netdef.runtime import FunctionContext, Pipeline, StreamRunner, TensorSpec, current_gpu, specs_from_metadata
from netdef.runtime.buffers import PROVIDERS, make_provider, provider_problem
from netdef.runtime.device import backend_supports
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet

pytestmark = pytest.mark.gpu

BACKEND_NAME = {"tensorrt_rtx": "TensorRT-RTX", "tensorrt": "TensorRT"}[BACKEND]
ARCH = {7: "Volta/Turing", 8: "Ampere/Ada", 9: "Hopper", 10: "Blackwell", 11: "Blackwell", 12: "Blackwell"}
#: fp32 engines may use TF32 (TensorRT's default), so an absolute 1e-3 on LeNet's logits, not 1e-5
FP32_ATOL = 1e-3
F32 = np.dtype("float32")


def skip_reason(engine: bool = False, provider: str | None = None) -> str | None:
    """Why this machine cannot run the test, or None."""
    gpu = current_gpu()
    if gpu is None:
        return "no CUDA GPU visible"
    if engine and not backend_supports(gpu.compute_capability):
        major, minor = gpu.compute_capability
        return (
            f"{BACKEND_NAME} cannot run engines on compute capability {major}.{minor} "
            f"({ARCH.get(major, 'unknown architecture')}, {gpu.name})"
        )
    if not torch.cuda.is_available():
        return "torch has no CUDA here (the GPU tests use torch as the oracle and for device tensors)"
    if provider is not None and provider_problem(provider):
        return provider_problem(provider)
    return None


def need(engine: bool = False, provider: str | None = None) -> None:
    reason = skip_reason(engine, provider)
    if reason:
        pytest.skip(reason)


# ------------------------------------------------------------------------------------- providers, no engine


@pytest.mark.parametrize("provider", PROVIDERS)
def test_provider_round_trip_through_page_locked_memory(provider):
    need(provider=provider)
    p = make_provider(provider)
    with p.activate():
        host = p.host_buffer(96)
        assert torch.from_numpy(host).is_pinned(), f"{provider}'s host buffer is not page-locked"
        host.view(np.float32)[:] = np.arange(24, dtype=np.float32)
        a, b = p.device_buffer(96), p.device_buffer(96)
        p.h2d(int(a), host)
        p.d2d(int(b), int(a), 96)
        back = p.host_buffer(96)
        p.d2h(back, int(b))
        event = p.record()
        event.synchronize()
        assert event.done()
        np.testing.assert_array_equal(back.view(np.float32), np.arange(24, dtype=np.float32))
        # torch reads the provider's device memory: the same primary context
        view = torch.as_tensor(netdef.runtime.DeviceArray(b, int(b), (24,), F32), device="cuda")
        assert torch.equal(view.cpu(), torch.arange(24.0))


AFFINE = [TensorSpec("x", True, F32, (-1, 64), (1, 64), (64, 64), (((1, 64), (8, 64), (64, 64)),)),
          TensorSpec("y", False, F32, (-1, 64))]  # fmt: skip


def affine(inputs, outputs):
    torch.mul(inputs["x"], 2.0, out=outputs["y"])
    outputs["y"].add_(1.0)


def test_every_library_sees_the_same_gpu():
    need()
    from netdef.runtime.device import gpu_from

    seen = {library: gpu_from(library) for library in ("torch", "pycuda", "cuda-python")}
    found = {k: v for k, v in seen.items() if v is not None}
    assert "torch" in found and len(set(found.values())) == 1, seen
    assert found["torch"].name == torch.cuda.get_device_name(0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_feeds_of_every_kind_through_each_provider(provider):
    """numpy, torch CPU (float64 converted), torch CUDA (read in place), and outputs to numpy or the device."""
    need(provider=provider)
    seen = []

    def recording(inputs, outputs):
        seen.append(inputs["x"].data_ptr())
        affine(inputs, outputs)

    ctx = FunctionContext(recording, AFFINE, provider=provider)
    x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    want = x * 2 + 1
    np.testing.assert_array_equal(ctx.infer({"x": x})["y"], want)
    np.testing.assert_array_equal(ctx.infer({"x": torch.from_numpy(x).double()})["y"], want)
    cuda_x = torch.from_numpy(x).cuda()
    np.testing.assert_array_equal(ctx.infer({"x": cuda_x})["y"], want)
    assert seen[-1] == cuda_x.data_ptr() and ctx.runner.stats["in_place"] == 1  # zero-copy
    out = ctx.infer({"x": cuda_x}, outputs="device")["y"]
    got = out if isinstance(out, torch.Tensor) else torch.as_tensor(out, device="cuda")
    assert got.is_cuda and torch.equal(got.cpu(), torch.from_numpy(want))
    with pytest.raises(netdef.EngineError, match="input 'x' is int32; the engine expects float32"):
        ctx.infer({"x": cuda_x.int()})


def test_bfloat16_outputs_through_the_torch_provider():
    """bf16 outputs used to fail in the torch provider (dtype conversion through numpy); torch is the oracle."""
    need(provider="torch")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    specs = [TensorSpec("x", True, bf16, (3, 5)), TensorSpec("y", False, bf16, (3, 5))]
    ctx = FunctionContext(lambda i, o: torch.mul(i["x"], 3.0, out=o["y"]), specs, provider="torch")
    x = torch.randn(3, 5).bfloat16()
    want = (x.cuda() * 3.0).cpu()
    host = ctx.infer({"x": x})["y"]
    assert host.dtype == bf16
    np.testing.assert_array_equal(host.astype(np.float32), want.float().numpy())
    device = ctx.infer({"x": x.cuda()}, outputs="device")["y"]
    assert device.dtype == torch.bfloat16 and torch.equal(device.cpu(), want)


def slow_kernel(ms: float) -> None:
    """Spin the current stream for roughly ``ms`` milliseconds (at about 2 GHz)."""
    torch.cuda._sleep(int(ms * 2e6))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_queued_runs_do_not_overwrite_each_others_staging(provider):
    """The pycuda race: the stream is held back, two runs are queued, neither waited for; the first run's copy
    must still read the first run's inputs, and each keeps its outputs."""
    need(provider=provider)
    ctx = FunctionContext(affine, AFFINE, provider=provider, depth=2)
    a = np.full((64, 64), 1.0, np.float32)
    b = np.full((64, 64), 7.0, np.float32)
    # a first run loads the kernels: CUDA's lazy module loading synchronizes the device, which would drain the
    # held stream below and let the first run finish early
    ctx.infer({"x": a})
    with torch.cuda.stream(torch.cuda.ExternalStream(ctx.provider.stream_handle)):
        slow_kernel(200)  # the copies below wait behind this
    first = ctx.enqueue({"x": a})
    second = ctx.enqueue({"x": b})
    assert not first.done()
    np.testing.assert_array_equal(second.result()["y"], b * 2 + 1)
    np.testing.assert_array_equal(first.result()["y"], a * 2 + 1)


def test_copies_on_one_stream_overlap_work_on_another():
    """Two contexts (two streams): one batch's host-to-device copy runs while the other's kernel does; the
    pipelined series must take clearly less time than the same work run one batch at a time."""
    need(provider="torch")
    rows = 1 << 16  # 16 MiB of float32 per batch
    specs = [TensorSpec("x", True, F32, (rows, 64)), TensorSpec("y", False, F32, (1, 64))]
    # a matmul that fills the GPU (two at once gain nothing), so a speed-up comes from overlapping the copies
    a = torch.randn(4096, 4096, device="cuda")
    torch.cuda.synchronize()  # the contexts' streams do not wait for torch's

    def make_work():
        scratch = torch.empty(4096, 4096, device="cuda")

        def work(inputs, outputs):
            torch.matmul(a, a, out=scratch)
            torch.sum(inputs["x"][:64], dim=0, keepdim=True, out=outputs["y"])

        return work

    batches = [{"x": np.full((rows, 64), float(i), np.float32)} for i in range(16)]
    serial_ctx = FunctionContext(make_work(), specs, provider="torch", depth=1)
    contexts = [FunctionContext(make_work(), specs, provider="torch") for _ in range(2)]
    serial_ctx.infer(batches[0])  # warm-up: every staging set and buffer allocated, kernels loaded
    list(Pipeline(contexts).map(batches[:4]))
    start = time.perf_counter()
    serial = [serial_ctx.infer(b)["y"] for b in batches]
    serial_s = time.perf_counter() - start
    start = time.perf_counter()
    piped = list(Pipeline(contexts).map(batches))
    piped_s = time.perf_counter() - start
    for i, (s, p) in enumerate(zip(serial, piped)):
        np.testing.assert_array_equal(s, np.full((1, 64), 64.0 * i, np.float32))
        np.testing.assert_array_equal(p["y"], s)
    print(f"overlap: serial {serial_s * 1e3:.1f} ms, pipelined {piped_s * 1e3:.1f} ms for {len(batches)} batches")
    assert piped_s < 0.85 * serial_s, f"no overlap: serial {serial_s:.4f} s, pipelined {piped_s:.4f} s"


def test_threads_with_their_own_contexts():
    need(provider="torch")
    results = {}

    def worker(k: int) -> None:
        ctx = FunctionContext(affine, AFFINE, provider="torch")
        xs = [np.full((3, 64), float(k * 100 + i), np.float32) for i in range(30)]
        results[k] = all(np.array_equal(ctx.infer({"x": x})["y"], x * 2 + 1) for x in xs)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    assert results == {0: True, 1: True, 2: True, 3: True}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_output_allocator_sizes_data_dependent_outputs(provider):
    """netdef's IOutputAllocator, called as TensorRT calls it (reallocate, then notify_shape), hands out runner
    memory that a kernel fills (torch's nonzero here) and the runner copies back with the reported shape."""
    need(provider=provider)
    from netdef.runtime.output_allocator import OutputAllocator
    from netdef.runtime.plan import plan_buffers

    specs = [TensorSpec("x", True, F32, (64,)), TensorSpec("idx", False, np.dtype("int64"), (-1, 1))]
    runner = StreamRunner(make_provider(provider))
    allocator = OutputAllocator(runner)
    x = np.where(np.random.default_rng(3).random(64) > 0.7, 1.0, 0.0).astype(np.float32)
    want = torch.nonzero(torch.from_numpy(x)).numpy()
    plan = plan_buffers(specs, {"x": (64,)})
    assert plan.deferred == ["idx"]

    def launch(addresses):
        stream = runner.provider.stream_handle
        address = allocator.reallocate_output_async("idx", 0, 64 * 8, 256, stream)
        assert address and address % 256 == 0
        src = torch.as_tensor(netdef.runtime.DeviceArray(None, addresses["x"], (64,), F32), device="cuda")
        dst = torch.as_tensor(netdef.runtime.DeviceArray(None, address, (64, 1), np.int64), device="cuda")
        with torch.cuda.stream(torch.cuda.ExternalStream(stream)):
            found = torch.nonzero(src)
            dst[: len(found)].copy_(found)
        allocator.notify_shape("idx", (len(found), 1))
        return {"idx": allocator.take("idx")}

    with runner.provider.activate():
        got = runner.submit(plan, {"x": x}, launch).result()["idx"]
    np.testing.assert_array_equal(got, want)
    # a larger request grows the buffer; a smaller one reuses it
    first = allocator.addresses["idx"]
    with runner.provider.activate():
        assert allocator.reallocate_output_async("idx", first, 32, 256, 0) == first
        assert allocator.reallocate_output_async("idx", first, 1 << 20, 256, 0) != first


# ------------------------------------------------------------------------------------- engines


def lenet_pair():
    twin = TorchLeNet().eval()
    model = LeNet()
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model, twin


def torch_logits(twin, x) -> np.ndarray:
    with torch.no_grad():
        return twin(torch.as_tensor(np.asarray(x, dtype=np.float32))).numpy()


def close_fp32(got, want) -> None:
    np.testing.assert_allclose(got, want, rtol=0, atol=FP32_ATOL)


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """LeNet (batch 4) built here in fp32 and fp16, with its torch twin."""
    reason = skip_reason(engine=True)
    if reason:
        pytest.skip(reason)
    model, twin = lenet_pair()
    folder = tmp_path_factory.mktemp("engines")
    paths = {}
    for precision in ("fp32", "fp16"):
        paths[precision] = folder / f"lenet-{precision}.engine"
        netdef.build(model, LeNet.default_inputs(4), precision=precision, output=paths[precision])
    return paths, twin


def batch(seed: int, n: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 1, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_lenet_engine_matches_torch(lenet, provider, precision):
    need(engine=True, provider=provider)
    paths, twin = lenet
    engine = netdef.Engine.load(paths[precision])
    assert [(s.name, s.shape) for s in engine.inputs] == [("x", (4, 1, 32, 32))]
    assert [(s.name, s.shape, s.dtype) for s in engine.outputs] == [("output", (4, 10), F32)]
    x = batch(0)
    got = engine.infer({"x": x}, provider=provider)["output"]
    want = torch_logits(twin, x)
    assert got.dtype == np.float32 and got.shape == want.shape
    if precision == "fp32":
        close_fp32(got, want)
    else:  # fp16: input, weights and activations rounded to half; 1e-2 of the logits' scale (as tests/conftest.py)
        assert np.abs(got - want).max() <= 1e-2 * np.abs(want).max()
    # float64 input is converted to the engine's float32
    np.testing.assert_array_equal(engine.infer({"x": x.astype(np.float64)}, provider=provider)["output"], got)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_torch_cuda_inputs_are_read_in_place(lenet, provider):
    need(engine=True, provider=provider)
    paths, twin = lenet
    context = netdef.Engine.load(paths["fp32"]).create_context(provider)
    x = torch.randn(4, 1, 32, 32, device="cuda")
    got = context.infer({"x": x})["output"]
    assert context.runner.stats["in_place"] == 1 and context.context.get_tensor_address("x") == x.data_ptr()
    close_fp32(got, torch_logits(twin, x.cpu().numpy()))
    np.testing.assert_array_equal(context.infer({"x": x.double()})["output"], got)  # converted, not reinterpreted
    with pytest.raises(netdef.EngineError, match="input 'x' is int32; the engine expects float32"):
        context.infer({"x": x.int()})
    device = context.infer({"x": x}, outputs="device")["output"]
    got_device = device if isinstance(device, torch.Tensor) else torch.as_tensor(device, device="cuda")
    close_fp32(got_device.cpu().numpy(), got)


def test_async_enqueue_and_pipeline(lenet):
    need(engine=True, provider="torch")
    paths, twin = lenet
    engine = netdef.Engine.load(paths["fp32"])
    xs = [batch(i) for i in range(8)]
    context = engine.create_context("torch", depth=2)
    runs = [context.enqueue({"x": x}) for x in xs]  # queued without waiting: staging per run
    for x, run in zip(xs, runs):
        close_fp32(run.result()["output"], torch_logits(twin, x))
    for x, out in zip(xs, engine.pipeline(({"x": x} for x in xs), contexts=2, provider="torch")):
        close_fp32(out["output"], torch_logits(twin, x))


def test_two_contexts_in_two_threads(lenet):
    need(engine=True, provider="torch")
    paths, twin = lenet
    engine = netdef.Engine.load(paths["fp32"])
    batches = [batch(100 + i) for i in range(8)]
    wants = [torch_logits(twin, x) for x in batches]
    start = threading.Barrier(2)

    def work(i: int) -> list[np.ndarray]:
        start.wait()
        return [engine.infer({"x": x})["output"] for x in batches[i::2] * 5]  # this thread's default context

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(work, range(2)))
    for i, outs in enumerate(results):
        for got, want in zip(outs, wants[i::2] * 5):
            close_fp32(got, want)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dynamic_batch_with_two_profiles(tmp_path, provider):
    need(engine=True, provider=provider)
    model, twin = lenet_pair()
    x_spec = netdef.Input(
        (-1, 1, 32, 32),
        min=(1, 1, 32, 32),
        opt=(2, 1, 32, 32),
        max=(4, 1, 32, 32),
        profiles=(((5, 1, 32, 32), (8, 1, 32, 32), (16, 1, 32, 32)),),
    )
    path = tmp_path / "dynamic.engine"
    built = netdef.build(model, {"x": x_spec}, output=path)
    engine = netdef.Engine.load(path)
    assert engine.specs == specs_from_metadata(built.metadata)  # TensorRT's view matches the sidecar's
    context = engine.create_context(provider)
    for n, profile in ((2, 0), (12, 1), (3, 0), (16, 1)):
        x = batch(n, n)
        got = context.infer({"x": x})["output"]
        assert got.shape == (n, 10) and context._profile == profile
        close_fp32(got, torch_logits(twin, x))
    with pytest.raises(netdef.EngineError, match="no optimization profile of the engine holds the shapes"):
        context.infer({"x": np.zeros((17, 1, 32, 32), np.float32)})


def test_zero_dim_output_engine(tmp_path):
    """A 0-d network output is a 0-d engine output (TensorRT's own shape), with torch's value."""
    need(engine=True, provider="torch")
    fn = netdef.testing.Fn(lambda x: x.sum() * 2 + netdef.F.full((), 1.5))
    path = tmp_path / "scalar.engine"
    netdef.build(netdef.define(fn, {"x": netdef.Input((2, 3))}), output=path)
    engine = netdef.Engine.load(path)
    assert [s.shape for s in engine.outputs] == [()]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = engine.infer({"x": x}, provider="torch")["output"]
    assert got.shape == () and float(got) == 31.5


def test_bfloat16_engine_outputs(tmp_path):
    need(engine=True, provider="torch")
    model, twin = lenet_pair()
    net = netdef.define(model, LeNet.default_inputs(4), precision="bf16", output_dtype="bfloat16")
    path = tmp_path / "bf16.engine"
    netdef.build(net, output=path)
    engine = netdef.Engine.load(path)
    x = batch(5)
    got = engine.infer({"x": x}, provider="torch")["output"]
    assert got.dtype == np.dtype(ml_dtypes.bfloat16)
    want = torch_logits(twin, x)
    assert np.abs(got.astype(np.float32) - want).max() <= 3e-2 * np.abs(want).max()  # bf16: 8 mantissa bits
    device = engine.infer({"x": x}, provider="torch", outputs="device")["output"]
    assert device.dtype == torch.bfloat16


@pytest.mark.parametrize("mode", ["capture", True])
def test_cuda_graph_engine_matches_torch(lenet, mode):
    need(engine=True, provider="torch")
    paths, twin = lenet
    engine = netdef.Engine.load(paths["fp32"])
    context = engine.create_context("torch", cuda_graph=mode)
    expected = "builtin" if mode is True and engine.has_builtin_graphs else "capture"
    assert context.cuda_graph == expected, context.cuda_graph_note
    for i in range(4):
        x = batch(200 + i)
        close_fp32(context.infer({"x": x})["output"], torch_logits(twin, x))
    if expected == "capture":
        assert context.graph is not None and context.graph.replays == 3


def test_data_dependent_output_engine(tmp_path):
    """nonzero has a data-dependent output shape: TensorRT sizes it through netdef's output allocator."""
    need(engine=True, provider="torch")
    from netdef import nn
    from netdef.functional._common import wrap

    class NonZero(nn.Module):
        def forward(self, x):
            layer = x.ctx.add_layer("nonzero", lambda net: net.add_non_zero(x.itensor))
            return wrap(layer.get_output(0), x.ctx)

    try:
        built = netdef.build(NonZero(), {"x": netdef.Input((3, 4))})
    except netdef.BuildError as exc:
        pytest.skip(f"{BACKEND_NAME}'s builder cannot build a nonzero layer here: {exc}")
    engine = netdef.Engine.from_bytes(built.data, built.metadata)
    x = np.array([[0, 1, 0, 2], [0, 0, 0, 0], [3, 0, 0, 4]], np.float32)
    got = engine.infer({"x": x}, provider="torch")["output"]
    want = torch.nonzero(torch.from_numpy(x)).T.numpy()  # TensorRT: one row per dimension
    np.testing.assert_array_equal(got, want.astype(got.dtype))


def test_bench_engine_and_twin(lenet, tmp_path, capsys):
    need(engine=True, provider="torch")
    paths, _ = lenet
    from netdef.cli import main

    assert (
        main(["bench", str(paths["fp32"]), "--runs", "20", "--warmup", "3", "--twin", "netdef.zoo.twins.lenet:LeNet"])
        == 0
    )
    out = capsys.readouterr().out
    assert "TensorRT (" in out and "torch eager (twin)" in out and "speed-up of TensorRT" in out


# ------------------------------------------------------------------------------------- unsupported GPUs


def unsupported_gpu():
    """The GPU here when it is one the backend cannot run engines on; skips otherwise."""
    gpu = current_gpu()
    if gpu is None:
        pytest.skip("no CUDA GPU visible")
    if backend_supports(gpu.compute_capability):
        pytest.skip(f"{BACKEND_NAME} supports {gpu.name}; this test needs a GPU it does not support")
    return gpu


#: an engine for a GPU the backend supports, built on any machine (TensorRT-RTX picks targets by name)
TARGETS = ("SM86",) if BACKEND == "tensorrt_rtx" else ()


def test_unsupported_gpu_is_refused_with_advice(tmp_path):
    gpu = unsupported_gpu()
    model, _ = lenet_pair()
    path = tmp_path / "lenet.engine"
    netdef.build(model, LeNet.default_inputs(), output=path, compute_capabilities=TARGETS)
    with pytest.raises(netdef.EngineError) as exc:
        netdef.Engine.load(path)
    message = str(exc.value)
    major, minor = gpu.compute_capability
    assert f"on {gpu.name} (compute capability {major}.{minor})" in message
    if BACKEND == "tensorrt_rtx":
        assert "TensorRT-RTX does not support this GPU" in message and "full TensorRT" in message
    from netdef.cli import main

    assert main(["bench", str(path), "--runs", "2"]) == 2  # the CLI says the same


def test_backend_itself_refuses_the_unsupported_gpu():
    """netdef's support table agrees with the backend: past netdef's own check, the backend's validity query
    (or its deserializer) refuses the engine, and the message says why.

    Runs in a child process, so that a backend that aborts on an unsupported GPU fails this test only.
    """
    gpu = unsupported_gpu()
    script = textwrap.dedent(
        f"""
        import netdef, netdef.runtime.engine as engine_module
        from netdef.zoo.lenet import LeNet
        from netdef.zoo.twins.lenet import LeNet as TorchLeNet
        model = LeNet()
        model.load_weights({{k: v.numpy() for k, v in TorchLeNet().state_dict().items()}})
        data = netdef.build(model, LeNet.default_inputs(), compute_capabilities={TARGETS!r}).data
        engine_module.require_gpu = lambda action: netdef.runtime.current_gpu()  # skip netdef's check
        try:
            netdef.Engine.from_bytes(data)
        except netdef.EngineError as exc:
            print("REFUSED:", exc)
        else:
            print("LOADED")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    print(output[-2000:])
    assert run.returncode == 0, f"the child process failed on {gpu.name}:\n{output[-3000:]}"
    assert "REFUSED:" in run.stdout, f"{BACKEND_NAME} loaded an engine on {gpu.name}:\n{output[-3000:]}"
    assert f"cannot run on {gpu.name}" in run.stdout or "could not deserialize" in run.stdout
