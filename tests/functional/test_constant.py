"""F.as_tensor: a bound Parameter or an array used as a tensor (layer_scale * x, class tokens, position ids)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn


class Scaled(nn.Module):
    """torch's ``self.scale * x + self.shift`` with (C, 1, 1) parameters, as ConvNeXt's layer_scale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(channels, 1, 1)
        self.shift = nn.Parameter(channels, 1, 1)

    def forward(self, x):
        return F.as_tensor(self.scale) * x + F.as_tensor(self.shift)


class TorchScaled(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.randn(channels, 1, 1))
        self.shift = torch.nn.Parameter(torch.randn(channels, 1, 1))

    def forward(self, x):
        return self.scale * x + self.shift


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_parameters_as_tensors_follow_the_compute_precision(parity, precision):
    net = parity.check(Scaled(3), TorchScaled(3), torch.randn(2, 3, 4, 5), precision=precision, build=True)
    consts = [r for r in net.layers() if r["type"] == "CONSTANT"]
    want = "HALF" if precision == "fp16" else "FLOAT"
    assert consts and all(r["dtypes"] == [want] for r in consts)


def test_integer_arrays_keep_their_type_and_index_an_embedding(parity):
    table = torch.randn(10, 4)

    def fn(x):
        positions = F.as_tensor(np.arange(3, dtype=np.int32)[None])  # (1, 3) int32
        return F.embedding(positions, table.numpy()) + x

    parity.check(parity.Fn(fn), lambda x: table[torch.arange(3)][None] + x, torch.randn(2, 3, 4))


def test_dtype_argument_and_bool_data(parity):
    def fn(x):
        keep = F.as_tensor(np.array([True, False, True]))
        return F.where(keep, x, F.as_tensor([0.5, 0.5, 0.5], dtype="float32"))

    parity.check(parity.Fn(fn), lambda x: torch.where(torch.tensor([True, False, True]), x, 0.5), torch.randn(2, 3))


def test_unbound_parameter_is_an_error_naming_the_module():
    model = Scaled(3)
    model.scale.data = np.ones((3, 1, 1), np.float32)  # shift left unbound: define refuses it up front
    with pytest.raises(netdef.EmitError, match="unbound weights"):
        netdef.define(model, {"x": netdef.Input((1, 3, 2, 2))})

    class Unbound(nn.Module):
        def forward(self, x):
            return x * F.as_tensor(nn.Parameter(3, 1, 1))

    with pytest.raises(netdef.EmitError, match="has no data"):
        netdef.define(Unbound(), {"x": netdef.Input((1, 3, 2, 2))})


def test_unsupported_data_is_an_error():
    class Strings(nn.Module):
        def forward(self, x):
            return x * F.as_tensor(np.array(["a"]))

    with pytest.raises(netdef.EmitError, match="cannot make a constant"):
        netdef.define(Strings(), {"x": netdef.Input((1, 3))})
