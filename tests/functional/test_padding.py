"""F.pad against torch: constant (any value, cropping), reflect, replicate and circular, 1-3 padded dims."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn

tf = torch.nn.functional

# (pad, input shape) per mode; torch's rules: non-constant modes pad the last 1-3 dims of 2-D to 5-D inputs
CASES = {
    "constant": [((1, 2), (2, 3, 5)), ((1, 2, 0, 3), (2, 3, 4, 5)), ((2, 1, 1, 0, 3, 2), (1, 2, 3, 4, 5)),
                 ((1, 1, 0, 0, 0, 0, 2, 0), (2, 3, 4, 5)), ((-1, 2, 1, -2), (2, 3, 4, 5)), ((3, 0), (7,))],
    "reflect": [((2, 3), (2, 5)), ((2, 3), (2, 3, 5)), ((1, 2, 3, 0), (2, 3, 4, 5)), ((3, 3, 2, 1), (1, 4, 5)),
                ((1, 0, 2, 1, 1, 2), (1, 2, 3, 4, 5)), ((4, 4, 3, 3), (1, 2, 4, 5))],
    "replicate": [((2, 3), (2, 3, 5)), ((5, 0, 1, 4), (2, 3, 4, 5)), ((1, 2, 0, 1, 2, 0), (1, 2, 3, 4, 5)),
                  ((6, 6), (2, 1))],
    "circular": [((2, 3), (2, 3, 5)), ((5, 0, 1, 4), (2, 3, 4, 5)), ((1, 2, 0, 1, 2, 0), (1, 2, 3, 4, 5)),
                 ((-1, 2, 1, -2), (2, 3, 5, 5)), ((5, 5), (1, 2, 5)), ((2, -1), (1, 2, 5)), ((-2, -1), (1, 2, 5))],
}  # fmt: skip
PARAMS = [(mode, i) for mode, cases in CASES.items() for i in range(len(cases))]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("mode", "index"), PARAMS)
def test_pad_matches_torch(parity, mode, index, precision):
    pad, shape = CASES[mode][index]
    build = index == 1 and precision == "fp32"
    parity.check(
        parity.Fn(lambda x: F.pad(x, pad, mode)),
        lambda x: tf.pad(x, pad, mode),
        torch.randn(shape),
        precision=precision,
        build=build,
    )


@pytest.mark.parametrize("value", [0.0, 2.5, -1e4])
def test_constant_value_matches_torch(parity, value):
    pad = (1, 2, 2, 1)
    parity.check(
        parity.Fn(lambda x: F.pad(x, pad, value=value)),
        lambda x: tf.pad(x, pad, value=value),
        torch.randn(2, 3, 4, 5),
        build=value == 2.5,
    )


def test_bf16_fill_value_is_read_back_by_the_interpreter():
    # numpy cannot hold BF16 weights, so the interpreter reads the fill constant by its refit name
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    net = netdef.define(Fn(lambda x: F.pad(x, (1, 2), value=2.5)), {"x": netdef.Input(x.shape)}, precision="bf16")
    got = netdef.reference.run(net, {"x": x})["output"]
    want = tf.pad(torch.from_numpy(x), (1, 2), value=2.5).numpy()
    np.testing.assert_allclose(got, want, rtol=2**-8, atol=0)
    assert (got[..., 0] == 2.5).all() and (got[..., -2:] == 2.5).all()


def test_integer_tensor_with_integer_value(parity):
    x = torch.randint(-5, 5, (2, 3, 4), dtype=torch.int32)
    parity.check(parity.Fn(lambda x: F.pad(x, (1, 2), value=7)), lambda x: tf.pad(x, (1, 2), value=7), x)


def test_dynamic_batch_is_kept(parity):
    """Only the padded dims need static sizes: the slice names its axes."""
    model = parity.Fn(lambda x: F.pad(x, (1, 1, 2, 0), "reflect"))
    net = netdef.define(model, {"x": netdef.Input((-1, 3, 4, 5), min=(1, 3, 4, 5), max=(4, 3, 4, 5))})
    for batch in (1, 3):
        x = torch.randn(batch, 3, 4, 5)
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], tf.pad(x, (1, 1, 2, 0), "reflect"))
    parity.build(net)


REFUSED = {
    "reflect-too-wide": ((3, 0), (1, 2, 3), "reflect", "mode='reflect' needs padding smaller than the dim"),
    "reflect-crop": ((-1, 2), (1, 2, 5), "reflect", "mode='reflect' does not crop"),
    "circular-too-wide": ((6, 0), (1, 2, 5), "circular", "mode='circular' needs padding at most the dim"),
    "circular-wider-than-cropped": ((-1, 3), (1, 2, 3), "circular", r"\(0, 3\) for dim 2 of size 2"),
    "replicate-rank": ((1, 1), (5,), "replicate", "pads the last 1-3 dims of an input with 1 or 2 more dims"),
    "reflect-4-dims": ((1,) * 8, (1, 2, 3, 4, 5), "reflect", "pads the last 1-3 dims"),
    "odd-length": ((1, 2, 3), (1, 2, 5), "constant", "must have an even length"),
    "too-long": ((1,) * 8, (2, 5), "constant", "must have an even length of at most 2 x the rank"),
    "crop-all": ((-3, -3), (1, 2, 5), "constant", "leaves no elements"),
    "bad-mode": ((1, 1), (1, 2, 5), "mirror", "mode must be one of constant, reflect, replicate, circular"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_invalid_padding_is_refused(parity, case):
    pad, shape, mode, match = REFUSED[case]
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(parity.Fn(lambda x: F.pad(x, pad, mode)), {"x": netdef.Input(shape)})


def test_value_with_a_non_constant_mode_is_refused(parity):
    with pytest.raises(netdef.EmitError, match=r"value=1.0 is only meaningful with mode='constant'"):
        netdef.define(parity.Fn(lambda x: F.pad(x, (1, 1), "reflect", 1.0)), {"x": netdef.Input((1, 2, 5))})


@pytest.mark.parametrize(
    ("pad", "mode"),
    [
        ((1, 2), "constant"),
        ((2, 1, 1, 0), "reflect"),
        ((1, 1), "replicate"),
        ((2, 1), "circular"),
        ((-1, 2), "constant"),
    ],
)
def test_padding_a_dynamic_dim(parity, pad, mode):
    net = netdef.define(
        parity.Fn(lambda x: F.pad(x, pad, mode)), {"x": netdef.Input((1, -1, -1), min=(1, 3, 3), max=(1, 4, 8))}
    )
    for shape in [(1, 3, 3), (1, 4, 8), (1, 3, 5)]:
        x = torch.randn(shape)
        parity.assert_close(
            netdef.reference.run(net, {"x": x.numpy()})["output"], torch.nn.functional.pad(x, pad, mode)
        )


def test_reflect_padding_past_a_dynamic_dim_fails_at_run_time(parity):
    spec = netdef.Input((1, 2, -1), min=(1, 2, 1), max=(1, 2, 8))
    net = netdef.define(parity.Fn(lambda x: F.pad(x, (2, 2), "reflect")), {"x": spec})
    assert netdef.reference.run(net, {"x": np.zeros((1, 2, 3), np.float32)})["output"].shape == (1, 2, 7)
    with pytest.raises(netdef.InterpreterError, match=r"pad in module `<root>` \(Fn\).*mode='reflect' needs padding"):
        netdef.reference.run(net, {"x": np.zeros((1, 2, 2), np.float32)})
