"""CUDA graphs: when a context captures, and why not (on CPU); capture and replay of torch work through the same
helper and context machinery the engine path uses (marked gpu: needs a CUDA GPU, any architecture)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import netdef
from netdef.runtime import FunctionContext, TensorSpec
from netdef.runtime.execution import decide_graph_mode
from netdef.runtime.graphs import capture_blockers, graph_api

F32 = np.dtype("float32")
STATIC = [TensorSpec("x", True, F32, (4, 8)), TensorSpec("y", False, F32, (4, 8))]
DYNAMIC = [
    TensorSpec("x", True, F32, (-1, 8), (1, 8), (16, 8), (((1, 8), (4, 8), (16, 8)),)),
    TensorSpec("y", False, F32, (-1, 8)),
]
DATA_DEPENDENT = [TensorSpec("x", True, F32, (4, 8)), TensorSpec("idx", False, np.dtype("int64"), (-1, 2))]
API = ("cuda-python", "")
NO_API = (None, "no CUDA graph API (cuda-python is not installed, torch has no CUDA here)")


def test_static_engines_are_captured():
    assert capture_blockers(STATIC) == []
    mode, note = decide_graph_mode(True, STATIC, builtin=False, api=API)
    assert mode == "capture" and note == "netdef captures the run once and replays it (through cuda-python)"
    assert decide_graph_mode("capture", STATIC, builtin=True, api=API)[0] == "capture"


def test_the_backends_own_graphs_are_preferred():
    mode, note = decide_graph_mode(True, DYNAMIC, builtin=True, api=NO_API)
    assert mode == "builtin" and "CudaGraphStrategy.WHOLE_GRAPH_CAPTURE" in note
    assert decide_graph_mode("builtin", STATIC, builtin=True, api=API)[0] == "builtin"


def test_no_graph_asked_for():
    for requested in (False, None, "off"):
        assert decide_graph_mode(requested, STATIC, builtin=True, api=API) == ("off", "")


def test_dynamic_shapes_are_not_captured_and_say_so():
    mode, note = decide_graph_mode("capture", DYNAMIC, builtin=False, api=API)
    assert mode == "off"
    assert note.startswith("not captured: the engine has dynamic input shapes (x (-1, 8))")
    assert "build with static shapes to capture" in note


def test_data_dependent_outputs_are_not_captured_and_say_so():
    mode, note = decide_graph_mode(True, DATA_DEPENDENT, builtin=False, api=API)
    assert mode == "off"
    assert "outputs idx (-1, 2) have data-dependent shapes" in note and "a replay cannot do" in note


def test_builtin_asked_of_a_backend_without_it_falls_back_and_says_so():
    mode, note = decide_graph_mode("builtin", STATIC, builtin=False, api=API)
    assert mode == "capture" and note.startswith("this backend has no built-in CUDA graph strategy; netdef captures")
    mode, note = decide_graph_mode("builtin", STATIC, builtin=False, api=NO_API)
    assert mode == "off" and "no CUDA graph API (cuda-python is not installed" in note


def test_bad_request():
    with pytest.raises(netdef.EngineError, match="cuda_graph='always'; use True, False or one of off, capture"):
        decide_graph_mode("always", STATIC, builtin=False, api=API)


def test_this_backend_has_a_builtin_strategy_where_expected():
    from netdef._trt import BACKEND, trt

    if BACKEND == "tensorrt_rtx":
        assert "WHOLE_GRAPH_CAPTURE" in trt.CudaGraphStrategy.__members__
        assert hasattr(trt.ICudaEngine, "create_runtime_config")


# ------------------------------------------------------------------------------------- on a GPU


def need_cuda(api: str | None = None) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to torch")
    if api is not None and graph_api(api)[0] != api:
        pytest.skip(f"{api} cannot capture here: {graph_api(api)[1]}")


def affine_tanh(inputs: dict, outputs: dict) -> None:
    """y = tanh(2x + 1) @ ..., written in place: nothing allocated, so it can be captured."""
    x, y = inputs["x"], outputs["y"]
    torch.mul(x, 2.0, out=y)
    y.add_(1.0)
    torch.tanh(y, out=y)
    y.mul_(y)


def want(x: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(x)
    return (torch.tanh(t * 2 + 1) ** 2).numpy()


@pytest.mark.gpu
@pytest.mark.parametrize("api", ["torch", "cuda-python"])
@pytest.mark.parametrize("provider", ["torch", "cuda-python", "pycuda"])
def test_capture_and_replay_of_torch_work(api, provider):
    """The first run goes uncaptured, the second is captured and replayed, later ones replay; each result is
    torch's (computed on CPU)."""
    need_cuda(api)
    from netdef.runtime.buffers import provider_problem

    if provider_problem(provider):
        pytest.skip(provider_problem(provider))
    ctx = FunctionContext(affine_tanh, STATIC, provider=provider, cuda_graph="capture", graph_api_name=api)
    assert ctx.cuda_graph == "capture"
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 8)).astype(np.float32) for _ in range(5)]
    for i, x in enumerate(xs):
        np.testing.assert_allclose(ctx.infer({"x": x})["y"], want(x), rtol=1e-5, atol=1e-6)
        if i == 0:
            assert ctx.graph is None  # warm-up run, uncaptured
        else:
            assert ctx.graph is not None and ctx.graph.api == api and ctx.graph.replays == i
    # torch CUDA inputs are copied into the captured buffer (a replay reads fixed addresses) and outputs copied out
    x = torch.randn(4, 8, device="cuda")
    out = ctx.infer({"x": x}, outputs="device")["y"]
    got = out if isinstance(out, torch.Tensor) else torch.as_tensor(out, device="cuda")
    np.testing.assert_allclose(got.cpu().numpy(), want(x.cpu().numpy()), rtol=1e-5, atol=1e-6)
    assert ctx.graph.replays == 5 and ctx.runner.stats["in_place"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("api", ["torch", "cuda-python"])
def test_a_failed_capture_falls_back_and_says_why(api):
    """Work that refuses to be captured (as execute_async_v3 returning False would): the capture is ended cleanly,
    the context warns with the reason once, and runs on without a graph."""
    need_cuda(api)

    def refusing(inputs, outputs):
        if torch.cuda.is_current_stream_capturing():
            raise RuntimeError("this work cannot be captured")
        affine_tanh(inputs, outputs)

    ctx = FunctionContext(refusing, STATIC, provider="torch", cuda_graph="capture", graph_api_name=api)
    x = np.ones((4, 8), np.float32)
    ctx.infer({"x": x})  # warm-up, uncaptured
    with pytest.warns(
        netdef.NetdefWarning, match="CUDA graph not used: not captured: CUDA graph capture failed: Runtime"
    ):
        got = ctx.infer({"x": x})["y"]
    np.testing.assert_allclose(got, want(x), rtol=1e-5, atol=1e-6)
    assert ctx.cuda_graph == "off" and "this work cannot be captured" in ctx.cuda_graph_note
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not on every run
        np.testing.assert_allclose(ctx.infer({"x": x * 3})["y"], want(x * 3), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_dynamic_shapes_fall_back_with_a_warning_and_still_run():
    need_cuda()
    with pytest.warns(netdef.NetdefWarning, match="not captured: the engine has dynamic input shapes"):
        ctx = FunctionContext(affine_tanh, DYNAMIC, provider="torch", cuda_graph=True)
    assert ctx.cuda_graph == "off"
    for batch in (3, 16):
        x = np.random.default_rng(batch).standard_normal((batch, 8)).astype(np.float32)
        np.testing.assert_allclose(ctx.infer({"x": x})["y"], want(x), rtol=1e-5, atol=1e-6)
