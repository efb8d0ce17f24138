"""F.interpolate and its older names (upsample, upsample_nearest, upsample_bilinear) against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F

tf = torch.nn.functional

# F.interpolate, upsample, upsample_nearest and upsample_bilinear against torch (modes, sizes, scales, dynamic):
# their samples in netdef/opsamples/normalization.py, run by tests/functional/test_opinfo.py.


def test_upsample_then_conv_in_one_network(parity):
    """A YOLO-style neck step: nearest 2x upsample, concatenation with a skip, then a 1x1 conv."""
    conv = torch.nn.Conv2d(6, 4, 1)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()

    def fn(x, skip):
        return F.conv2d(F.cat([F.interpolate(x, scale_factor=2), skip], 1), w, b)

    def ref(x, skip):
        return conv(torch.cat([tf.interpolate(x, scale_factor=2), skip], 1))

    parity.check(parity.Fn(fn), ref, torch.randn(1, 3, 4, 5), torch.randn(1, 3, 8, 10), build=True)


def test_antialias_is_refused(parity):
    model = parity.Fn(lambda x: F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True))
    with pytest.raises(netdef.EmitError, match="antialias=True is not supported"):
        netdef.define(model, {"x": netdef.Input((1, 1, 4, 4))})


def test_interpolate_of_an_integer_tensor_is_refused(parity):
    model = parity.Fn(lambda x: F.interpolate(x, scale_factor=2))
    with pytest.raises(netdef.EmitError, match="expected a float 3-D to 5-D"):
        netdef.define(model, {"x": netdef.Input((1, 1, 4, 4), dtype="int32")})
