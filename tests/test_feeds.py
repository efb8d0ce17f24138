"""What an input accepts: the reference interpreter and the engine runtime refuse and convert the same feeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn
from netdef.runtime import StreamRunner, TensorSpec, plan_buffers


class Identity(nn.Module):
    def forward(self, x):
        return x


class _HostProvider(netdef.runtime.buffers.Provider):
    """Host memory as device memory, copies done at once: enough to stage feeds as an engine run does."""

    name = "host"

    def __init__(self) -> None:
        self.kept: list = []

    @property
    def stream_handle(self) -> int:
        return 0

    def device_buffer(self, size: int):
        array = np.zeros(max(size, 1), np.uint8)
        self.kept.append(array)
        return array.ctypes.data

    def host_buffer(self, size: int) -> np.ndarray:
        return np.zeros(size, np.uint8)

    def h2d(self, dst: int, src: np.ndarray) -> None:
        import ctypes

        ctypes.memmove(dst, src.ctypes.data, src.nbytes)

    def d2h(self, dst: np.ndarray, src: int) -> None:
        import ctypes

        ctypes.memmove(dst.ctypes.data, src, dst.nbytes)

    def d2d(self, dst: int, src: int, size: int) -> None:
        import ctypes

        ctypes.memmove(dst, src, size)

    def device_array(self, shape, dtype):
        raise NotImplementedError

    def record(self):
        class Done(netdef.runtime.buffers.Event):
            def done(self) -> bool:
                return True

            def synchronize(self) -> None:
                pass

        return Done()

    def synchronize(self) -> None:
        pass


def reference(dtype: str, value):
    network = netdef.define(Identity(), {"x": netdef.Input((3,), dtype)})
    return netdef.reference.run(network, {"x": value})["output"]


def engine_staging(dtype: str, value) -> np.ndarray:
    """What the engine would read: the feed staged into its input buffer (the run copies input to output)."""
    import ctypes

    specs = [TensorSpec("x", True, np.dtype(dtype), (3,)), TensorSpec("y", False, np.dtype(dtype), (3,))]
    runner = StreamRunner(_HostProvider())
    plan = plan_buffers(specs, {"x": (3,)})

    def launch(addresses):
        ctypes.memmove(addresses["y"], addresses["x"], plan.slots["x"].nbytes)

    return runner.submit(plan, {"x": value}, launch).result()["y"]


REFUSED = [
    ("int32", np.array([1, 2**32 + 1, 3], np.int64), "a value of 4294967297 is outside int32's range"),
    ("int32", torch.tensor([1, -(2**40), 3]), "a value of -1099511627776 is outside int32's range"),
    ("float32", np.array([1.0, 1e300, 0.0]), "a value of 1e+300 is beyond float32's range"),
    ("float16", np.array([1.0, 1e5, 0.0], np.float32), "a value of 1e+05 is beyond float16's range"),
    ("float32", torch.tensor([1.0, -1e300, 0.0], dtype=torch.float64), "a value of 1e+300 is beyond float32's range"),
    ("float16", np.array([0.0, 1e-8, -2e-8], np.float32), "every nonzero value would become 0"),
    ("float16", torch.tensor([0.0, 1e-8, -2e-8]), "every nonzero value would become 0"),
    ("float32", np.array([1, 2, 3], np.int64), "is int64; the"),
    ("int32", np.array([1.0, 2.0, 3.0], np.float32), "is float32; the"),
    ("int64", np.array([2.7, 1.0, 3.0]), "is float64; the .* expects int64 .*would truncate 2.7 to 2"),
    ("bool", np.array([1, 0, 1], np.int32), "is int32; the"),
]


@pytest.mark.parametrize(("dtype", "value", "phrase"), REFUSED, ids=[r[2][:30] for r in REFUSED])
def test_both_paths_refuse_the_same_feeds(dtype, value, phrase):
    with pytest.raises(netdef.InterpreterError, match=phrase.replace("+", r"\+")) as ref:
        reference(dtype, value)
    with pytest.raises(netdef.EngineError, match=phrase.replace("+", r"\+")) as eng:
        engine_staging(dtype, value)
    assert "input 'x'" in str(ref.value) and "input 'x'" in str(eng.value)


ACCEPTED = [
    ("int32", np.array([1, -(2**31), 2**31 - 1], np.int64)),
    ("int64", np.array([1, 2, 3], np.int32)),
    ("float32", np.array([1.5, -2.25, np.inf])),  # an inf stays inf: only finite values must fit
    ("float16", np.array([1.5, 65504.0, np.nan], np.float32)),
    ("float16", np.array([1e-9, 0.5, 0.0], np.float32)),  # some values flushed to zero: precision, not refused
    ("float32", torch.tensor([1.5, 2.0, 3.0], dtype=torch.float16)),
    ("int32", torch.tensor([7, 8, 9])),
]


@pytest.mark.parametrize(("dtype", "value"), ACCEPTED)
def test_both_paths_convert_the_same_feeds(dtype, value):
    want = np.asarray(value.numpy() if isinstance(value, torch.Tensor) else value).astype(dtype)
    np.testing.assert_array_equal(reference(dtype, value), want.astype(np.float32) if want.dtype.kind == "f" else want)
    np.testing.assert_array_equal(engine_staging(dtype, value), want)


def test_feeds_must_be_a_mapping_of_arrays():
    network = netdef.define(Identity(), {"x": netdef.Input((3,))})
    x = np.zeros(3, np.float32)
    with pytest.raises(netdef.ArgumentError, match=r"reference.run: feeds must map input names to arrays.*got list"):
        netdef.reference.run(network, [x])
    with pytest.raises(TypeError):  # ArgumentError is a TypeError too
        netdef.reference.run(network, [x])
    with pytest.raises(netdef.ArgumentError, match="feed 'x' must be a numpy array or a torch tensor, got list"):
        netdef.reference.run(network, {"x": [0.0, 0.0, 0.0]})
    with pytest.raises(netdef.ArgumentError, match=r"network must be a netdef Network or a trt.INetworkDefinition"):
        netdef.reference.run("model.engine", {"x": x})


def test_parity_refuses_float64_feeds_that_would_become_inf():
    class TorchIdentity(torch.nn.Module):
        def forward(self, x):
            return x

    x = np.array([[1.0, 1e300, 0.0]])
    with pytest.raises(netdef.NetdefError, match=r"input 'x' \(float64\): a value of 1e\+300 is beyond float32's"):
        netdef.parity.compare(Identity(), TorchIdentity(), {"x": x})
