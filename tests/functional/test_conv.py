"""F.conv1d/conv2d/conv3d and F.conv_transpose1d/2d/3d with torch's weights, against torch.nn.functional."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F

tf = torch.nn.functional

# (netdef function, torch function, weight shape, keyword arguments, input shape)
CASES = {
    "conv1d": (F.conv1d, tf.conv1d, (6, 2, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 9)),
    "conv1d-same": (F.conv1d, tf.conv1d, (3, 4, 4), {"padding": "same", "dilation": 2}, (1, 4, 9)),
    "conv2d": (F.conv2d, tf.conv2d, (6, 2, 3, 2), {"stride": (2, 1), "padding": (1, 0), "groups": 2}, (1, 4, 7, 6)),
    "conv3d": (F.conv3d, tf.conv3d, (4, 3, 2, 3, 3), {"stride": 1, "padding": (0, 1, 1), "dilation": (1, 1, 2)}, (1, 3, 4, 5, 6)),
    "conv_transpose1d": (F.conv_transpose1d, tf.conv_transpose1d, (4, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 6)),
    "conv_transpose2d": (F.conv_transpose2d, tf.conv_transpose2d, (4, 3, 3, 3), {"stride": 2, "output_padding": 1, "groups": 2}, (1, 4, 4, 5)),
    "conv_transpose3d": (F.conv_transpose3d, tf.conv_transpose3d, (2, 3, 2, 2, 2), {"stride": 2}, (1, 2, 3, 3, 4)),
}  # fmt: skip


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_functional_conv_matches_torch(parity, case, bias):
    fn, ref, wshape, kwargs, shape = CASES[case]
    w = torch.randn(wshape)
    groups = kwargs.get("groups", 1)
    out_channels = wshape[0] if "transpose" not in case else wshape[1] * groups
    b = torch.randn(out_channels) if bias else None
    parity.check(
        parity.Fn(lambda x: fn(x, w.numpy(), None if b is None else b.numpy(), **kwargs)),
        lambda x: ref(x, w, b, **kwargs),
        torch.randn(shape),
    )


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


@pytest.mark.parametrize("case", list(CASES))
def test_functional_conv_dynamic_spatial_dims_match_torch(case):
    """Spatial dims known only at run time stay dynamic (-1), and each run size gives torch's output."""
    fn, ref, wshape, kwargs, shape = CASES[case]
    w = torch.randn(wshape)
    groups = kwargs.get("groups", 1)
    b = torch.randn(wshape[0] if "transpose" not in case else wshape[1] * groups)
    spec = netdef.Input(
        (*shape[:2], *(-1,) * (len(shape) - 2)), min=shape, opt=shape, max=(*shape[:2], *(d + 3 for d in shape[2:]))
    )
    network = netdef.define(netdef.testing.Fn(lambda x: fn(x, w.numpy(), b.numpy(), **kwargs)), {"x": spec})
    assert tuple(network.network.get_output(0).shape)[2:] == (-1,) * (len(shape) - 2)
    for grow in (0, 3):
        x = torch.randn(*shape[:2], *(d + grow for d in shape[2:]))
        got = netdef.reference.run(network, {"x": x.numpy()})["output"]
        want = ref(x, w, b, **kwargs)
        assert got.shape == tuple(want.shape)
        netdef.testing.assert_close(got, want, "fp32")
