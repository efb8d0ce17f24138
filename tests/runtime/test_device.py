"""Which GPUs each backend can run engines on, which buffer provider runs, and the errors for engines that
cannot load here (each checked without a GPU)."""

from __future__ import annotations

import importlib.util

import pytest

import netdef
from netdef._trt import BACKEND, LOGGER, trt
from netdef.runtime import Gpu, choose_provider, make_provider
from netdef.runtime.buffers import AUTO_ORDER, provider_problem
from netdef.runtime.device import backend_supports, check_engine_bytes, explain_invalid_engine


@pytest.mark.parametrize(
    ("cc", "supported"),
    [
        ((7, 0), False),  # Volta
        ((7, 5), True),  # Turing
        ((8, 0), True),  # Ampere A100
        ((8, 6), True),  # Ampere RTX 30
        ((8, 9), True),  # Ada
        ((9, 0), False),  # Hopper H100/H200
        ((10, 0), False),  # data-center Blackwell
        ((12, 0), True),  # RTX 50 Blackwell
    ],
)
def test_tensorrt_rtx_compute_capabilities(cc, supported):
    assert backend_supports(cc, "tensorrt_rtx") is supported


def test_full_tensorrt_runs_on_hopper_not_on_volta():
    assert backend_supports((9, 0), "tensorrt")
    assert backend_supports((10, 0), "tensorrt")
    assert not backend_supports((7, 0), "tensorrt")


# ------------------------------------------------------------------------------------- buffer providers


def test_unknown_buffer_provider():
    with pytest.raises(
        netdef.EngineError, match="unknown buffer provider 'cupy'; use 'auto' or one of torch, cuda-python, pycuda"
    ):
        make_provider("cupy")


def test_an_explicit_provider_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("NETDEF_PROVIDER", "pycuda")
    assert choose_provider("cuda-python") == "cuda-python"
    assert choose_provider("auto") == "pycuda"
    assert choose_provider(None) == "pycuda"


def test_a_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("NETDEF_PROVIDER", "opencl")
    with pytest.raises(netdef.EngineError, match=r"unknown buffer provider 'opencl' \(from NETDEF_PROVIDER\)"):
        choose_provider("auto")


def test_auto_takes_the_first_provider_that_works(monkeypatch):
    monkeypatch.delenv("NETDEF_PROVIDER", raising=False)
    assert AUTO_ORDER == ("torch", "cuda-python", "pycuda")
    problems = {"torch": "torch sees no CUDA GPU", "cuda-python": None, "pycuda": None}
    assert choose_provider("auto", problem=problems.get) == "cuda-python"
    problems["cuda-python"] = "cuda-python is not installed"
    assert choose_provider("auto", problem=problems.get) == "pycuda"


def test_auto_on_this_machine(monkeypatch):
    """Unpatched: without a GPU (CI) auto says, per provider, why none can run."""
    monkeypatch.delenv("NETDEF_PROVIDER", raising=False)
    problems = {name: provider_problem(name) for name in AUTO_ORDER}
    if None in problems.values():
        pytest.skip(f"a provider works here: {problems}")
    with pytest.raises(netdef.EngineError) as exc:
        choose_provider("auto")
    message = str(exc.value)
    for name, why in problems.items():
        assert f"{name}: {why}" in message
    assert "pip install pycuda" in message and "pip install cuda-python" in message


def test_a_provider_registers_itself(monkeypatch):
    """A provider file registers its name, install hint, problem check and factory; buffers.py lists it, auto
    tries it in its place, and buffers.py imports no provider file at module level (they import it)."""
    import ast
    from pathlib import Path

    from netdef.runtime import buffers

    monkeypatch.delenv("NETDEF_PROVIDER", raising=False)
    monkeypatch.setattr(buffers, "_ENTRIES", dict(buffers.providers()))

    @buffers.register_provider("fake", install="`pip install fake`", problem=lambda: None, auto=3)
    class FakeBuffers(buffers.Provider):
        def __init__(self, device: int = 0) -> None:
            self.device = device

    assert buffers.PROVIDERS == ("torch", "cuda-python", "pycuda", "fake") == buffers.AUTO_ORDER
    assert buffers.INSTALL["fake"] == "`pip install fake`" and buffers.provider_problem("fake") is None
    assert isinstance(make_provider("fake", device=1), FakeBuffers) and make_provider("fake", 1).device == 1
    real = {name: provider_problem(name) for name in ("torch", "cuda-python", "pycuda")}
    assert choose_provider("auto") == next((n for n, why in real.items() if why is None), "fake")
    with pytest.raises(ValueError, match="auto=0 is torch's place already"):
        buffers.register_provider("other", install="", problem=lambda: None, auto=0)(FakeBuffers)

    tree = ast.parse(Path(buffers.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n.module for n in top if isinstance(n, ast.ImportFrom) and "buffers_" in (n.module or "")]


def test_torch_provider_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees a CUDA GPU here")
    with pytest.raises(netdef.EngineError, match="the torch buffer provider needs a CUDA build of torch"):
        make_provider("torch")


def test_pycuda_provider_without_pycuda():
    if importlib.util.find_spec("pycuda") is not None:
        pytest.skip("pycuda is installed here")
    with pytest.raises(netdef.EngineError, match=r"needs `pip install pycuda`"):
        make_provider("pycuda")


def test_cuda_python_provider_without_a_gpu():
    problem = provider_problem("cuda-python")
    if problem is None:
        pytest.skip("cuda-python sees a GPU here")
    if problem == "cuda-python is not installed":
        with pytest.raises(netdef.EngineError, match=r"needs `pip install cuda-python`"):
            make_provider("cuda-python")
    else:
        assert "cuda-python cannot initialize CUDA" in problem
        with pytest.raises(netdef.EngineError, match="cudaSetDevice"):
            make_provider("cuda-python")


# ------------------------------------------------------------------------------------- engines that cannot load


def test_empty_and_tiny_files_are_not_engines():
    for data in (b"", b"vtrt"):
        with pytest.raises(netdef.EngineError) as exc:
            check_engine_bytes(data, "model.engine")
        assert f"model.engine holds {len(data)} bytes: not a serialized engine" in str(exc.value)
        assert "rebuild it" in str(exc.value)


def test_an_engine_of_the_other_backend_is_named():
    with pytest.raises(netdef.EngineError) as exc:
        check_engine_bytes(b"ftrt" + bytes(100), "a.engine", backend="tensorrt_rtx")
    message = str(exc.value)
    assert "a.engine is a full TensorRT engine but this process uses TensorRT-RTX" in message
    assert "NETDEF_BACKEND=tensorrt " in message
    with pytest.raises(netdef.EngineError, match="is a TensorRT-RTX engine but this process uses full TensorRT"):
        check_engine_bytes(b"vtrt" + bytes(100), "b.engine", backend="tensorrt")
    check_engine_bytes(b"vtrt" + bytes(100), "c.engine", backend="tensorrt_rtx")  # its own: left to TensorRT


@pytest.fixture(scope="module")
def lenet_bytes():
    from netdef.zoo.lenet import LeNet
    from netdef.zoo.twins.lenet import LeNet as TorchLeNet

    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in TorchLeNet().state_dict().items()})
    return netdef.build(model, LeNet.default_inputs()).data


def test_this_backend_writes_the_magic_netdef_checks(lenet_bytes):
    from netdef.runtime.device import ENGINE_MAGIC

    assert lenet_bytes[:4] == ENGINE_MAGIC[BACKEND]


@pytest.mark.skipif(BACKEND != "tensorrt_rtx", reason="the engine-validity query is TensorRT-RTX's")
def test_validity_query_flags_damaged_bytes_without_a_gpu(lenet_bytes):
    """TensorRT-RTX's own query, run here on CPU: damaged magic bytes are MALFORMED_ENGINE, and netdef's
    message for that says to rebuild."""
    runtime = trt.Runtime(LOGGER)
    damaged = b"xxxx" + lenet_bytes[4:]
    validity, diagnostics = runtime.get_engine_validity(damaged)
    assert validity.name == "INVALID"
    assert int(diagnostics) & int(trt.EngineInvalidityDiagnostics.MALFORMED_ENGINE)
    message = explain_invalid_engine("x.engine", diagnostics, None)
    assert message.startswith("x.engine cannot run: MALFORMED_ENGINE: the bytes are not a whole TensorRT-RTX engine")
    assert "rebuild it" in message


@pytest.mark.skipif(BACKEND != "tensorrt_rtx", reason="EngineInvalidityDiagnostics is TensorRT-RTX's")
def test_every_invalidity_reason_has_advice():
    flags = trt.EngineInvalidityDiagnostics
    gpu = Gpu("NVIDIA GeForce RTX 4090", (8, 9))
    every = 0
    for flag in flags.__members__.values():
        every |= int(flag)
    message = explain_invalid_engine("m.engine", every, gpu, ["planHeaders: bad"])
    assert message.startswith("m.engine cannot run on NVIDIA GeForce RTX 4090 (compute capability 8.9): ")
    for name in flags.__members__:
        assert f"{name}: " in message
    assert "see TensorRT messages" not in message  # every reason has its own advice
    assert "another TensorRT-RTX version" in message and "--compute-capability SM89" in message
    assert "update the driver" in message and "free GPU memory" in message
    assert message.endswith("(TensorRT: planHeaders: bad)")
    assert explain_invalid_engine("m.engine", 0, None) == "m.engine cannot run: TensorRT-RTX gave no reason"


@pytest.mark.skipif(BACKEND != "tensorrt_rtx", reason="EngineInvalidityDiagnostics is TensorRT-RTX's")
def test_unsupported_cc_on_a_gpu_the_backend_never_runs_on():
    """What TensorRT-RTX's query said for an SM86 engine on an H200 (seen on the lent GPU machine): no rebuild
    for this GPU can help there, so the advice is full TensorRT."""
    hopper = Gpu("NVIDIA H200", (9, 0))
    message = explain_invalid_engine("m.engine", int(trt.EngineInvalidityDiagnostics.UNSUPPORTED_CC), hopper)
    assert message.startswith("m.engine cannot run on NVIDIA H200 (compute capability 9.0): UNSUPPORTED_CC: ")
    assert "need full TensorRT" in message and "NETDEF_BACKEND=tensorrt" in message
    assert "--compute-capability" not in message
