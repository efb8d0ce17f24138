"""F.conv1d/conv2d/conv3d and F.conv_transpose1d/2d/3d with torch's weights, against torch.nn.functional."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F

tf = torch.nn.functional

# F.conv1d/2d/3d and conv_transpose1d/2d/3d against torch (strides, padding, 'same', dilation, groups, bias or
# none, spatial dims dynamic and grown by an odd size, fp16): their samples in netdef/opsamples/conv.py, run by
# tests/functional/test_opinfo.py.


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.conv1d(x, torch.randn(4, 3, 3, 3).numpy()), r"weight must be 3-D \(out, in/groups, kL\)"),
        (
            lambda x: F.conv_transpose1d(x, torch.randn(3, 4, 3).numpy(), torch.randn(5).numpy()),
            r"bias must have shape \(4,\)",
        ),
        (
            lambda x: F.conv_transpose1d(x, torch.randn(3, 4, 3).numpy(), padding="same"),
            "padding must be an int or a tuple",
        ),
        (lambda x: F.conv1d(x, torch.randn(4, 3, 3).numpy(), stride=(1, 2)), r"stride must be an int or 1 ints"),
        (
            lambda x: F.conv_transpose1d(x, torch.randn(3, 4, 3).numpy(), groups=2),
            "in_channels=3 .* is not divisible by groups=2",
        ),
    ],
    ids=["weight-rank", "bias-shape", "same", "stride-length", "groups"],
)
def test_functional_conv_errors(parity, call, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(parity.Fn(call), {"x": netdef.Input((1, 3, 8))})
