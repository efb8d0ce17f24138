"""Functional activations (relu6, hardtanh, prelu, elu, selu, hardsigmoid, hardswish, mish, softplus,
log_softmax) and the Tensor methods torch has for them, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F

tf = torch.nn.functional
SLOPES = np.array([0.1, -0.2, 1.5], np.float32)

# Each activation against torch (function and method, static and dynamic, fp32 and fp16): its samples in
# netdef/opsamples/activation.py, run by tests/functional/test_opinfo.py.


def test_mobilenet_v3_style_block(parity):
    """conv -> hardswish -> squeeze-excite with hardsigmoid gating, the MobileNetV3 pattern."""
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    fc = torch.nn.Conv2d(8, 8, 1)
    cw, cb, fw, fb = (t.detach().numpy() for t in (conv.weight, conv.bias, fc.weight, fc.bias))

    def fn(x):
        y = F.hardswish(F.conv2d(x, cw, cb, padding=1))
        return y * F.hardsigmoid(F.conv2d(F.adaptive_avg_pool2d(y, 1), fw, fb))

    def ref(x):
        y = tf.hardswish(conv(x))
        return y * tf.hardsigmoid(fc(tf.adaptive_avg_pool2d(y, 1)))

    parity.check(parity.Fn(fn), ref, torch.randn(1, 4, 6, 6), build=True)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.softplus(x, beta=0), "beta must not be 0"),
        (lambda x: F.hardtanh(x, 2.0, 1.0), "min_val=2.0 must not be greater than max_val=1.0"),
        (lambda x: F.log_softmax(x, 3), "dim 3 is out of range for a tensor of rank 2"),
        (lambda x: F.log_softmax(x, 1, dtype="float64"), "float64.*does not exist in TensorRT networks"),
    ],
    ids=["softplus-beta", "hardtanh-range", "log-softmax-dim", "log-softmax-dtype"],
)
def test_argument_errors(parity, call, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(parity.Fn(call), {"x": netdef.Input((2, 3))})


@pytest.mark.parametrize(
    "fn",
    [F.relu6, F.elu, F.selu, F.hardsigmoid, F.mish, lambda x: F.log_softmax(x, 1)],
    ids=["relu6", "elu", "selu", "hardsigmoid", "mish", "log_softmax"],
)
def test_integer_inputs_are_refused(parity, fn):
    with pytest.raises(netdef.EmitError, match="expects a float tensor, got INT32"):
        netdef.define(parity.Fn(fn), {"x": netdef.Input((2, 3), dtype="int32")})
