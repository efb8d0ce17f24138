"""Layers the ONNX parser here does not produce, built with the TensorRT API: NON_ZERO and ASSERTION."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef._trt import NETWORK_FLAGS, builder, trt


@pytest.mark.parametrize("indices", ["INT32", "INT64"])
def test_non_zero_lists_indices_per_dim(indices):
    network = builder().create_network(NETWORK_FLAGS)
    x = network.add_input("x", trt.float32, (3, 4, 2))
    layer = network.add_non_zero(x)
    layer.indices_type = getattr(trt.DataType, indices)
    network.mark_output(layer.get_output(0))
    value = torch.randn(3, 4, 2) * (torch.rand(3, 4, 2) > 0.5)
    (got,) = netdef.reference.run(network, {"x": value.numpy()}).values()
    want = torch.nonzero(value).T
    assert got.dtype == indices.lower() and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got, want.numpy())


def test_assertion_passes_or_stops_the_run_with_its_message():
    network = builder().create_network(NETWORK_FLAGS)
    x = network.add_input("x", trt.float32, (2, 3))
    zero = network.add_constant((1, 1), trt.Weights(np.zeros((1, 1), np.float32)))
    positive = network.add_elementwise(x, zero.get_output(0), trt.ElementWiseOperation.GREATER)
    check = network.add_assertion(positive.get_output(0), "x must be positive")
    check.name = "guard"
    out = network.add_unary(x, trt.UnaryOperation.LOG)
    network.mark_output(out.get_output(0))
    x_ok = np.full((2, 3), 2.0, np.float32)
    np.testing.assert_allclose(netdef.reference.run(network, {"x": x_ok})[out.get_output(0).name], np.log(x_ok))
    with pytest.raises(netdef.InterpreterError, match="assertion `guard` failed: x must be positive"):
        netdef.reference.run(network, {"x": -x_ok})
