"""Which GPUs each backend can run engines on, and the buffer providers' errors on a machine without CUDA."""

from __future__ import annotations

import importlib.util

import pytest

import netdef
from netdef.runtime.device import backend_supports
from netdef.runtime.engine import _make_buffers


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


def test_unknown_buffer_provider():
    with pytest.raises(netdef.EngineError, match="unknown buffer provider 'cupy'; use 'auto' or one of torch, pycuda"):
        _make_buffers("cupy")


def test_torch_provider_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees a CUDA GPU here")
    with pytest.raises(netdef.EngineError, match="needs a CUDA build of torch and a visible GPU"):
        _make_buffers("torch")


def test_pycuda_provider_without_pycuda():
    if importlib.util.find_spec("pycuda") is not None:
        pytest.skip("pycuda is installed here")
    with pytest.raises(netdef.EngineError, match=r"needs `pip install pycuda`"):
        _make_buffers("pycuda")
