"""The runtime on a real GPU: buffer providers, engines vs the torch twin, contexts, threads, dynamic shapes.

Every test is marked ``gpu`` and skips with the reason when this machine cannot run it: no CUDA GPU, a GPU
the installed TensorRT backend cannot run engines on (TensorRT-RTX refuses Hopper), or pycuda missing.
On such a GPU, the last tests check that loading an engine is refused with a clear message.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

import netdef
from models.lenet import LeNet
from models.twins.lenet import LeNet as TorchLeNet
from netdef._trt import BACKEND
from netdef.runtime import current_gpu, specs_from_metadata
from netdef.runtime.device import backend_supports

pytestmark = pytest.mark.gpu

BACKEND_NAME = {"tensorrt_rtx": "TensorRT-RTX", "tensorrt": "TensorRT"}[BACKEND]
ARCH = {7: "Volta/Turing", 8: "Ampere/Ada", 9: "Hopper", 10: "Blackwell", 11: "Blackwell", 12: "Blackwell"}
#: fp32 engines may use TF32 (TensorRT's default), so an absolute 1e-3 on LeNet's logits, not 1e-5
FP32_ATOL = 1e-3


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
    if provider == "torch" and not torch.cuda.is_available():
        return "torch has no CUDA here"
    if provider == "pycuda" and importlib.util.find_spec("pycuda") is None:
        return "pycuda not installed"
    return None


def need(engine: bool = False, provider: str | None = None) -> None:
    reason = skip_reason(engine, provider)
    if reason:
        pytest.skip(reason)


def device_view(address: int, shape: tuple[int, ...], dtype) -> torch.Tensor:
    """A torch CUDA tensor over raw device memory (``__cuda_array_interface__``, no copy)."""

    class Raw:
        __cuda_array_interface__ = {  # noqa: RUF012
            "shape": shape,
            "typestr": np.dtype(dtype).str,
            "data": (address, False),
            "version": 3,
            "strides": None,
        }

    return torch.as_tensor(Raw(), device="cuda")


# ------------------------------------------------------------------------------------- buffer providers


def test_torch_buffers_round_trip():
    need(provider="torch")
    from netdef.runtime.buffers_torch import TorchBuffers

    buffers = TorchBuffers()
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    src = buffers.put("x", x)
    dst = buffers.output("y", (2, 3, 4), np.float32)
    half = buffers.output("h", (5,), np.float16)
    assert src != dst and 0 not in (src, dst, half)
    with torch.cuda.stream(buffers.stream):  # the provider's stream orders after the upload
        device_view(dst, (2, 3, 4), np.float32).copy_(device_view(src, (2, 3, 4), np.float32) * 2 + 1)
        device_view(half, (5,), np.float16).fill_(0.5)
    out = buffers.fetch()
    assert set(out) == {"y", "h"}
    np.testing.assert_array_equal(out["y"], x * 2 + 1)
    assert out["y"].dtype == np.float32 and out["h"].dtype == np.float16
    np.testing.assert_array_equal(out["h"], np.full(5, 0.5, np.float16))
    assert buffers.fetch() == {}  # outputs are handed over once

    # a dense CUDA tensor is used in place; a strided one is made dense on the provider's stream
    dense = torch.arange(12.0, device="cuda").reshape(3, 4)
    assert buffers.put("x", dense) == dense.data_ptr()
    strided = dense.t()
    address = buffers.put("x", strided)
    assert address != dense.data_ptr()
    buffers.stream.synchronize()
    assert torch.equal(device_view(address, (4, 3), np.float32), strided)
    # outputs can stay on the GPU
    z = buffers.output("z", (4, 3), np.float32)
    with torch.cuda.stream(buffers.stream):
        device_view(z, (4, 3), np.float32).copy_(device_view(address, (4, 3), np.float32))
    tensors = buffers.fetch(as_numpy=False)
    assert tensors["z"].is_cuda and tensors["z"].data_ptr() == z
    assert torch.equal(tensors["z"], strided)


def test_pycuda_buffers_round_trip():
    need(provider="pycuda")
    import pycuda.driver as cuda

    from netdef.runtime.buffers_pycuda import PycudaBuffers

    buffers = PycudaBuffers()
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with buffers:
        src = buffers.put("x", x)
        dst = buffers.output("y", x.shape, np.float32)
        cuda.memcpy_dtod_async(dst, src, x.nbytes, buffers.stream)
        out = buffers.fetch()
        np.testing.assert_array_equal(out["y"], x)
        assert out["y"].dtype == np.float32
        assert buffers.fetch() == {}
        # slots are reused while large enough, and grown when not
        assert buffers.put("x", x[:1]) == src
        bigger = np.ones((4, 3, 4), np.float32)
        grown = buffers.put("x", bigger)
        out_address = buffers.output("y", bigger.shape, np.float32)
        cuda.memcpy_dtod_async(out_address, grown, bigger.nbytes, buffers.stream)
        np.testing.assert_array_equal(buffers.fetch()["y"], bigger)


# ------------------------------------------------------------------------------------- engines


def lenet_pair():
    twin = TorchLeNet().eval()
    model = LeNet()
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model, twin


def torch_logits(twin, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return twin(torch.from_numpy(x)).numpy()


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


@pytest.mark.parametrize("provider", ["torch", "pycuda"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_lenet_engine_matches_torch(lenet, provider, precision):
    need(engine=True, provider=provider)
    paths, twin = lenet
    engine = netdef.Engine.load(paths[precision])
    assert [(s.name, s.shape) for s in engine.inputs] == [("x", (4, 1, 32, 32))]
    assert [(s.name, s.shape, s.dtype) for s in engine.outputs] == [("output", (4, 10), np.dtype("float32"))]
    x = np.random.default_rng(0).standard_normal((4, 1, 32, 32)).astype(np.float32)
    got = engine.infer({"x": x}, provider=provider)["output"]
    want = torch_logits(twin, x)
    assert got.dtype == np.float32 and got.shape == want.shape
    if precision == "fp32":
        np.testing.assert_allclose(got, want, rtol=0, atol=FP32_ATOL)
    else:  # fp16: input, weights and activations rounded to half; 1e-2 of the logits' scale (as tests/conftest.py)
        assert np.abs(got - want).max() <= 1e-2 * np.abs(want).max()
    # float64 input is converted to the engine's float32
    np.testing.assert_array_equal(engine.infer({"x": x.astype(np.float64)}, provider=provider)["output"], got)


def test_torch_cuda_inputs_are_used_in_place(lenet, monkeypatch):
    need(engine=True, provider="torch")
    paths, twin = lenet
    context = netdef.Engine.load(paths["fp32"]).create_context("torch")
    addresses = {}
    put = context.buffers.put

    def recording_put(name, value):
        addresses[name] = put(name, value)
        return addresses[name]

    monkeypatch.setattr(context.buffers, "put", recording_put)
    x = torch.randn(4, 1, 32, 32, device="cuda")
    got = context.infer({"x": x})["output"]
    assert addresses["x"] == x.data_ptr()  # zero-copy: the engine read the caller's tensor
    np.testing.assert_allclose(got, torch_logits(twin, x.cpu().numpy()), rtol=0, atol=FP32_ATOL)
    # a float64 CUDA tensor is converted (never reinterpreted)
    got64 = context.infer({"x": x.double()})["output"]
    np.testing.assert_array_equal(got64, got)
    with pytest.raises(netdef.EngineError, match="input 'x' is int32; the engine expects float32"):
        context.infer({"x": x.int()})


def test_two_contexts_in_two_threads(lenet):
    need(engine=True, provider="torch")
    paths, twin = lenet
    engine = netdef.Engine.load(paths["fp32"])
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((4, 1, 32, 32)).astype(np.float32) for _ in range(8)]
    wants = [torch_logits(twin, x) for x in batches]
    contexts = [engine.create_context("torch"), engine.create_context("torch")]
    start = threading.Barrier(2)

    def work(i: int) -> list[np.ndarray]:
        start.wait()
        return [contexts[i].infer({"x": x})["output"] for x in batches[i::2] * 5]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(work, range(2)))
    for i, outs in enumerate(results):
        for got, want in zip(outs, wants[i::2] * 5):
            np.testing.assert_allclose(got, want, rtol=0, atol=FP32_ATOL)


@pytest.mark.parametrize("provider", ["torch", "pycuda"])
def test_dynamic_batch_engine(tmp_path, provider):
    need(engine=True, provider=provider)
    model, twin = lenet_pair()
    x_spec = netdef.Input((-1, 1, 32, 32), min=(1, 1, 32, 32), opt=(4, 1, 32, 32), max=(8, 1, 32, 32))
    path = tmp_path / "dynamic.engine"
    built = netdef.build(model, {"x": x_spec}, output=path)
    engine = netdef.Engine.load(path)
    # what TensorRT reports matches what the sidecar recorded
    assert engine.specs == specs_from_metadata(built.metadata)
    context = engine.create_context(provider)
    rng = np.random.default_rng(2)
    for batch in (2, 7, 2):
        x = rng.standard_normal((batch, 1, 32, 32)).astype(np.float32)
        got = context.infer({"x": x})["output"]
        assert got.shape == (batch, 10)
        np.testing.assert_allclose(got, torch_logits(twin, x), rtol=0, atol=FP32_ATOL)
    with pytest.raises(netdef.EngineError, match="outside the engine's profile"):
        context.infer({"x": np.zeros((9, 1, 32, 32), np.float32)})


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


def test_backend_itself_refuses_the_unsupported_gpu():
    """netdef's support table agrees with the backend: past netdef's own check, TensorRT refuses the engine.

    Runs in a child process, so that a backend that aborts on an unsupported GPU fails this test only.
    """
    gpu = unsupported_gpu()
    script = textwrap.dedent(
        f"""
        import netdef, netdef.runtime.engine as engine_module
        from models.lenet import LeNet
        from models.twins.lenet import LeNet as TorchLeNet
        model = LeNet()
        model.load_weights({{k: v.numpy() for k, v in TorchLeNet().state_dict().items()}})
        data = netdef.build(model, LeNet.default_inputs(), compute_capabilities={TARGETS!r}).data
        engine_module.require_gpu = lambda action: None  # skip netdef's check: ask TensorRT itself
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
    assert run.returncode == 0, f"the child process failed on {gpu.name}:\n{output[-3000:]}"
    assert "REFUSED:" in run.stdout, f"{BACKEND_NAME} loaded an engine on {gpu.name}:\n{output[-3000:]}"
