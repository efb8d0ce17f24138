"""Engine I/O specs from a real build's sidecar, and the feed checks that run before any GPU work."""

from __future__ import annotations

import numpy as np
import pytest

import netdef
from netdef.runtime import TensorSpec, check_feeds, plan_buffers, read_engine, select_profile, specs_from_metadata
from netdef.runtime.plan import ALIGNMENT, is_static
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


def sidecar(tmp_path_factory, name: str, inputs: dict, precision: str = "fp32") -> dict:
    """Build LeNet with ``inputs`` and read its metadata back from the sidecar file (JSON, as users load it)."""
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in TorchLeNet().state_dict().items()})
    path = tmp_path_factory.mktemp(name) / f"{name}.engine"
    netdef.build(model, inputs, precision=precision, output=path)
    return read_engine(path)[1]


@pytest.fixture(scope="module")
def static_specs(tmp_path_factory):
    return specs_from_metadata(sidecar(tmp_path_factory, "static", {"x": netdef.Input((2, 1, 32, 32))}))


@pytest.fixture(scope="module")
def dynamic_specs(tmp_path_factory):
    x = netdef.Input((-1, 1, 32, 32), min=(1, 1, 32, 32), opt=(4, 1, 32, 32), max=(8, 1, 32, 32))
    return specs_from_metadata(sidecar(tmp_path_factory, "dynamic", {"x": x}))


def test_specs_of_a_static_engine(static_specs):
    assert static_specs == [
        TensorSpec("x", True, np.dtype("float32"), (2, 1, 32, 32)),
        TensorSpec("output", False, np.dtype("float32"), (2, 10)),
    ]


def test_specs_of_a_dynamic_engine(dynamic_specs):
    profile = ((1, 1, 32, 32), (4, 1, 32, 32), (8, 1, 32, 32))
    assert dynamic_specs == [
        TensorSpec("x", True, np.dtype("float32"), (-1, 1, 32, 32), (1, 1, 32, 32), (8, 1, 32, 32), (profile,)),
        TensorSpec("output", False, np.dtype("float32"), (-1, 10)),
    ]


def test_specs_of_an_fp16_engine_keep_float32_io(tmp_path_factory):
    specs = specs_from_metadata(sidecar(tmp_path_factory, "half", LeNet.default_inputs(), precision="fp16"))
    assert [(s.name, s.dtype) for s in specs] == [("x", np.dtype("float32")), ("output", np.dtype("float32"))]


def test_right_feeds_pass(static_specs, dynamic_specs):
    assert check_feeds(static_specs, {"x": (2, 1, 32, 32)}) == 0
    for batch in (1, 4, 8):
        assert check_feeds(dynamic_specs, {"x": (batch, 1, 32, 32)}) == 0


def test_missing_input(static_specs):
    with pytest.raises(netdef.EngineError, match=r"the engine's inputs are \['x'\]: missing \['x'\], unexpected none"):
        check_feeds(static_specs, {})


def test_unexpected_input(static_specs):
    with pytest.raises(netdef.EngineError, match=r"missing none, unexpected \['y'\]"):
        check_feeds(static_specs, {"x": (2, 1, 32, 32), "y": (1,)})
    with pytest.raises(netdef.EngineError, match=r"missing \['x'\], unexpected \['input'\]; feed one array per input"):
        check_feeds(static_specs, {"input": (2, 1, 32, 32)})


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (2, 3, 32, 32), (2, 1, 28, 28), (2, 1, 32), (2, 1, 32, 32, 1)])
def test_wrong_static_shape(static_specs, shape):
    with pytest.raises(netdef.EngineError) as exc:
        check_feeds(static_specs, {"x": shape})
    assert f"input 'x' has shape {shape}; the engine was built for (2, 1, 32, 32)" in str(exc.value)


def test_dynamic_engine_still_checks_static_dims(dynamic_specs):
    with pytest.raises(netdef.EngineError, match=r"was built for \(-1, 1, 32, 32\)"):
        check_feeds(dynamic_specs, {"x": (4, 3, 32, 32)})


@pytest.mark.parametrize("batch", [0, 9, 64])
def test_outside_the_dynamic_profile(dynamic_specs, batch):
    with pytest.raises(netdef.EngineError) as exc:
        check_feeds(dynamic_specs, {"x": (batch, 1, 32, 32)})
    message = str(exc.value)
    assert f"input 'x' has shape ({batch}, 1, 32, 32), outside the engine's profile" in message
    assert "min=(1, 1, 32, 32) max=(8, 1, 32, 32)" in message
    assert "rebuild with a wider Input(min=..., max=...)" in message


def test_input_dtypes_convert_floats_and_refuse_other_kinds(static_specs):
    """What ExecutionContext.enqueue does to a feed before its bytes reach the engine (no GPU needed)."""
    import torch

    from netdef.runtime.engine import _as_dtype

    x = static_specs[0]
    same = np.zeros((2, 1, 32, 32), np.float32)
    assert _as_dtype(x, same) is same
    converted = _as_dtype(x, np.ones((2, 1, 32, 32), np.float64))
    assert converted.dtype == np.float32 and converted.sum() == 2 * 32 * 32
    for dtype in (torch.float64, torch.float16, torch.bfloat16):
        t = _as_dtype(x, torch.ones(2, 1, 32, 32, dtype=dtype))
        assert t.dtype == torch.float32 and float(t.sum()) == 2 * 32 * 32
    with pytest.raises(netdef.EngineError, match="input 'x' is int32; the engine expects float32"):
        _as_dtype(x, np.zeros((2, 1, 32, 32), np.int32))
    with pytest.raises(netdef.EngineError, match="input 'x' is int64; the engine expects float32"):
        _as_dtype(x, torch.zeros(2, 1, 32, 32, dtype=torch.int64))


# ------------------------------------------------------------------------------ several optimization profiles

SMALL = ((1, 1, 32, 32), (2, 1, 32, 32), (4, 1, 32, 32))
LARGE = ((5, 1, 32, 32), (8, 1, 32, 32), (16, 1, 32, 32))


@pytest.fixture(scope="module")
def two_profile_specs(tmp_path_factory):
    x = netdef.Input((-1, 1, 32, 32), min=SMALL[0], opt=SMALL[1], max=SMALL[2], profiles=(LARGE,))
    return specs_from_metadata(sidecar(tmp_path_factory, "profiles", {"x": x}))


def test_specs_keep_every_profile(two_profile_specs):
    x = two_profile_specs[0]
    assert x.profiles == (SMALL, LARGE)
    assert (x.min, x.max) == (SMALL[0], SMALL[2])  # profile 0, as before
    assert x.ranges == [(SMALL[0], SMALL[2]), (LARGE[0], LARGE[2])]


@pytest.mark.parametrize(("batch", "profile"), [(1, 0), (4, 0), (5, 1), (12, 1), (16, 1)])
def test_the_profile_holding_the_shape_is_chosen(two_profile_specs, batch, profile):
    assert check_feeds(two_profile_specs, {"x": (batch, 1, 32, 32)}) == profile
    assert select_profile(two_profile_specs, {"x": (batch, 1, 32, 32)}) == profile


@pytest.mark.parametrize("batch", [0, 17])
def test_a_shape_no_profile_holds(two_profile_specs, batch):
    with pytest.raises(netdef.EngineError) as exc:
        check_feeds(two_profile_specs, {"x": (batch, 1, 32, 32)})
    message = str(exc.value)
    assert f"no optimization profile of the engine holds the shapes x ({batch}, 1, 32, 32)" in message
    assert "profile 0: x min=(1, 1, 32, 32) max=(4, 1, 32, 32)" in message
    assert "profile 1: x min=(5, 1, 32, 32) max=(16, 1, 32, 32)" in message
    assert "Input(profiles=...)" in message


def test_two_inputs_must_share_a_profile():
    """A profile is chosen for all inputs at once: each input alone would fit some profile, but not the same."""
    a = TensorSpec("a", True, np.dtype("float32"), (-1,), profiles=(((1,), (2,), (4,)), ((5,), (6,), (8,))))
    b = TensorSpec("b", True, np.dtype("float32"), (-1,), profiles=(((1,), (2,), (4,)), ((5,), (6,), (8,))))
    assert check_feeds([a, b], {"a": (3,), "b": (4,)}) == 0
    assert check_feeds([a, b], {"a": (7,), "b": (5,)}) == 1
    with pytest.raises(
        netdef.EngineError, match=r"no optimization profile of the engine holds the shapes a \(3,\), b \(7,\)"
    ):
        check_feeds([a, b], {"a": (3,), "b": (7,)})


# ------------------------------------------------------------------------------ buffer planning


def test_plan_of_a_static_engine(static_specs):
    plan = plan_buffers(static_specs, {"x": (2, 1, 32, 32)})
    assert plan.profile == 0 and plan.deferred == []
    x, out = plan.slots["x"], plan.slots["output"]
    assert (x.shape, x.dtype, x.nbytes) == ((2, 1, 32, 32), np.dtype("float32"), 2 * 32 * 32 * 4)
    assert (out.shape, out.nbytes, out.capacity) == ((2, 10), 80, ALIGNMENT)  # 80 bytes, allocated aligned
    assert plan.device_bytes == 2 * 32 * 32 * 4 + ALIGNMENT
    assert is_static(static_specs)


def test_plan_of_a_dynamic_engine_uses_the_reported_output_shape(two_profile_specs):
    plan = plan_buffers(two_profile_specs, {"x": (12, 1, 32, 32)}, {"output": (12, 10)})
    assert plan.profile == 1
    assert plan.slots["output"].shape == (12, 10) and plan.slots["output"].nbytes == 12 * 10 * 4
    assert not is_static(two_profile_specs)
    # without TensorRT's answer the batch-dependent output is left to be sized during the run
    assert plan_buffers(two_profile_specs, {"x": (12, 1, 32, 32)}).deferred == ["output"]
    with pytest.raises(netdef.EngineError, match=r"output 'output' was reported with shape \(12, 11\)"):
        plan_buffers(two_profile_specs, {"x": (12, 1, 32, 32)}, {"output": (12, 11)})


def test_plan_of_an_empty_batch_still_gets_an_address():
    specs = [TensorSpec("x", True, np.dtype("float16"), (-1, 4), profiles=(((0, 4), (1, 4), (2, 4)),))]
    slot = plan_buffers(specs, {"x": (0, 4)}).slots["x"]
    assert slot.nbytes == 0 and slot.capacity == ALIGNMENT


def test_bfloat16_inputs_keep_their_dtype(tmp_path_factory):
    """A bf16 engine input is bf16 in the specs (it used to be read back as float32)."""
    import ml_dtypes

    meta = sidecar(tmp_path_factory, "bf16", {"x": netdef.Input((2, 1, 32, 32), dtype="bfloat16")}, "bf16")
    x, out = specs_from_metadata(meta)
    assert x.dtype == np.dtype(ml_dtypes.bfloat16) and out.dtype == np.dtype("float32")
