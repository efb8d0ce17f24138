"""Casts and the dtype methods (``.long()``, ``.to(torch.float16)``, ``type_as``) against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn, assert_close, define_like, run

# name -> expression (the same on torch and netdef tensors); x is float32 (3, 4), i int32 (3, 4)
CASTS = {
    "long": lambda x, i: x.long(),
    "int": lambda x, i: x.int(),
    "bool": lambda x, i: i.bool(),
    "float": lambda x, i: i.float(),
    "half": lambda x, i: x.half(),
    "bfloat16-float": lambda x, i: x.bfloat16().float(),
    "type_as": lambda x, i: i.type_as(x) * x,
    "type": lambda x, i: x.type(torch.int64),
    "to-torch-dtype": lambda x, i: x.to(torch.float16),
    "to-dtype-kw": lambda x, i: x.to(dtype=torch.int32),
    "to-tensor": lambda x, i: x.to(i),
    "to-device-dtype": lambda x, i: i.to(x.device, torch.float32),
    "to-cuda": lambda x, i: x.to("cuda:0" if isinstance(x, netdef.Tensor) else "cpu") + 1,  # torch here has no GPU
    "to-device": lambda x, i: x.to(x.device) * 2,
    "softmax-dtype": lambda x, i: x.half().softmax(-1, dtype=torch.float32),
    "F.softmax-dtype": lambda x, i: (F if isinstance(x, netdef.Tensor) else torch.nn.functional).softmax(
        i, -1, dtype=torch.float32
    ),
    "log_softmax-dtype": lambda x, i: (F if isinstance(x, netdef.Tensor) else torch.nn.functional).log_softmax(
        i, 1, dtype=torch.float32
    ),
    "cumsum-bool": lambda x, i: (x > 0).cumsum(1),
    "cumsum-int32": lambda x, i: i.cumsum(0),
    "cumsum-dtype": lambda x, i: i.cumsum(1, dtype=torch.float32),
}


@pytest.mark.parametrize("name", list(CASTS))
def test_casts_follow_torch(name):
    expr = CASTS[name]
    x = torch.randn(3, 4) * 4
    i = torch.randint(-5, 6, (3, 4), dtype=torch.int32)
    want = expr(x, i)
    got = run(define_like(Fn(expr), x, i), x, i)
    floats = (torch.float16, torch.bfloat16)
    assert str(got.dtype) == ("float32" if want.dtype in floats else str(want.dtype).removeprefix("torch."))
    assert_close(got, want.float() if want.dtype in floats else want, "fp16" if "half" in name else "fp32")


def test_factories_take_torch_dtypes_and_devices():
    def ours(x):
        ids = F.arange(x.shape[0], device=x.device)
        ones = F.ones(x.shape[0], 2, dtype=torch.int32, device=x.device)
        return F.zeros_like(x, dtype=torch.float16).float() + ids.unsqueeze(1).to(x) + ones[:, :1].to(x.dtype)

    def theirs(x):
        return torch.arange(x.shape[0]).unsqueeze(1).float() + 1 + x * 0

    spec = netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3))
    network = netdef.define(Fn(ours), {"x": spec})
    for n in (2, 5):
        x = torch.randn(n, 3)
        assert_close(netdef.reference.run(network, {"x": x.numpy()})["output"], theirs(x))


def test_float64_is_refused_with_the_fix():
    with pytest.raises(netdef.UnsupportedOpError, match=r"has no `double`: .*TensorRT has no 64-bit float"):
        netdef.define(Fn(lambda x: x.double()), {"x": netdef.Input((2,))})
    with pytest.raises(netdef.EmitError, match=r"torch.float64 \(float64\) does not exist.*use float32"):
        netdef.define(Fn(lambda x: x.to(torch.float64)), {"x": netdef.Input((2,))})
    with pytest.raises(netdef.EmitError, match=r"unknown dtype 'complex'"):
        netdef.define(Fn(lambda x: F.zeros(2, dtype="complex")), {"x": netdef.Input((2,))})


def test_device_is_a_placeholder_that_compares_as_cuda():
    captured = {}

    def grab(x):
        captured["device"] = x.device
        return x * 1

    netdef.define(Fn(grab), {"x": netdef.Input((2,))})
    device = captured["device"]
    assert device == "cuda" and device.type == "cuda" and str(device) == "cuda" and device == torch.device("cuda")
    assert device != "cpu"
