"""F.layer_norm, F.group_norm and F.instance_norm with torch's parameters, against torch.nn.functional."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F

tf = torch.nn.functional


def test_layer_norm_matches_torch(parity):
    w, b = torch.randn(4, 5), torch.randn(4, 5)
    parity.check(
        parity.Fn(lambda x: F.layer_norm(x, (4, 5), w.numpy(), b.numpy(), eps=1e-3)),
        lambda x: tf.layer_norm(x, (4, 5), w, b, eps=1e-3),
        torch.randn(2, 3, 4, 5) + 3,
    )


def test_layer_norm_weight_only_and_plain(parity):
    w = torch.randn(6)
    parity.check(
        parity.Fn(lambda x: F.layer_norm(x, [6], w.numpy()) + F.layer_norm(x, 6)),
        lambda x: tf.layer_norm(x, [6], w) + tf.layer_norm(x, [6]),
        torch.randn(3, 6) * 4,
    )


def test_group_norm_matches_torch(parity):
    w, b = torch.randn(6), torch.randn(6)
    parity.check(
        parity.Fn(lambda x: F.group_norm(x, 3, w.numpy(), b.numpy(), eps=0.1)),
        lambda x: tf.group_norm(x, 3, w, b, eps=0.1),
        torch.randn(2, 6, 4, 5) - 1,
    )


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_matches_torch(parity, use_input_stats):
    mean, var, w, b = torch.randn(3), torch.rand(3) + 0.5, torch.randn(3), torch.randn(3)

    def fn(x):
        return F.instance_norm(x, mean.numpy(), var.numpy(), w.numpy(), b.numpy(), use_input_stats=use_input_stats)

    def ref(x):
        return tf.instance_norm(x, mean.clone(), var.clone(), w, b, use_input_stats=use_input_stats)

    parity.check(parity.Fn(fn), ref, torch.randn(2, 3, 4, 5) * 2)


def test_instance_norm_without_affine_keeps_a_dynamic_channel_dim(parity):
    net = netdef.define(
        parity.Fn(lambda x: F.instance_norm(x)),
        {"x": netdef.Input((1, -1, 4, 4), min=(1, 1, 4, 4), max=(1, 8, 4, 4))},
    )
    for c in (2, 5):
        x = torch.randn(1, c, 4, 4)
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], tf.instance_norm(x))


@pytest.mark.parametrize(
    ("call", "shape", "match"),
    [
        (lambda x: F.layer_norm(x, (3,), torch.randn(4).numpy()), (2, 3), r"weight must have shape \(3,\)"),
        (lambda x: F.group_norm(x, 4), (2, 6, 3), "num_groups=4 must divide the 6 channels"),
        (lambda x: F.instance_norm(x, use_input_stats=False), (2, 3, 4), "use_input_stats=False needs running_mean"),
        (lambda x: F.layer_norm(x, (3,)), (2, 3), "expected a float input, got INT32"),
    ],
    ids=["ln-weight", "gn-groups", "in-stats", "ln-int"],
)
def test_functional_normalization_errors(parity, call, shape, match):
    dtype = "int32" if "int" in match.lower() and "INT32" in match else "float32"
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(parity.Fn(call), {"x": netdef.Input(shape, dtype=dtype)})
