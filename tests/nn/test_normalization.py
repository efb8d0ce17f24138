"""nn.LayerNorm, nn.GroupNorm and nn.InstanceNorm1d/2d/3d against torch (eval mode)."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import nn
from netdef.testing import randomize_norm

LAYER_NORM = {
    "last-dim": ((8,), {}, (2, 5, 8)),
    "int-shape": (8, {}, (3, 8)),
    "two-dims": ((4, 6), {}, (2, 3, 4, 6)),
    "all-dims": ((3, 4, 5), {}, (3, 4, 5)),
    "no-affine": ((6,), {"elementwise_affine": False}, (2, 4, 6)),
    "no-bias": ((6,), {"bias": False}, (2, 4, 6)),
    "eps": ((5, 7), {"eps": 0.3}, (2, 5, 7)),
    "1d": (9, {}, (9,)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(LAYER_NORM))
def test_layer_norm_matches_torch(parity, case, precision):
    shape, kwargs, input_shape = LAYER_NORM[case]
    ref = randomize_norm(torch.nn.LayerNorm(shape, **kwargs))
    x = torch.randn(input_shape) * 3 + 2  # a mean and a spread that the normalization must remove
    build = case in ("two-dims", "no-bias") and (precision == "fp32" or case == "two-dims")
    parity.check(nn.LayerNorm(shape, **kwargs), ref, x, precision=precision, build=build)


GROUP_NORM = {
    "4-groups": (4, 8, {}, (2, 8, 5, 6)),
    "1-group": (1, 6, {}, (2, 6, 4, 4)),
    "per-channel": (6, 6, {}, (2, 6, 3, 5)),
    "no-affine": (2, 6, {"affine": False}, (2, 6, 4, 3)),
    "eps": (3, 6, {"eps": 0.5}, (1, 6, 5)),
    "rank-2": (2, 6, {}, (4, 6)),
    "rank-5": (2, 4, {}, (1, 4, 3, 4, 5)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(GROUP_NORM))
def test_group_norm_matches_torch(parity, case, precision):
    groups, channels, kwargs, shape = GROUP_NORM[case]
    ref = randomize_norm(torch.nn.GroupNorm(groups, channels, **kwargs))
    build = case in ("4-groups", "rank-2") and (precision == "fp32" or case == "4-groups")
    x = torch.randn(shape) * 2 - 1
    parity.check(nn.GroupNorm(groups, channels, **kwargs), ref, x, precision=precision, build=build)


INSTANCE_NORM = {
    "2d": ("InstanceNorm2d", {}, (2, 3, 5, 6)),
    "2d-affine": ("InstanceNorm2d", {"affine": True}, (2, 3, 5, 6)),
    "2d-running": ("InstanceNorm2d", {"track_running_stats": True}, (2, 3, 5, 6)),
    "2d-affine-running": ("InstanceNorm2d", {"affine": True, "track_running_stats": True, "eps": 1e-3}, (2, 3, 4, 4)),
    "2d-unbatched": ("InstanceNorm2d", {"affine": True}, (3, 5, 6)),
    "1d": ("InstanceNorm1d", {"affine": True}, (2, 3, 9)),
    "1d-running": ("InstanceNorm1d", {"track_running_stats": True}, (2, 3, 9)),
    "3d": ("InstanceNorm3d", {"affine": True}, (1, 3, 3, 4, 5)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(INSTANCE_NORM))
def test_instance_norm_matches_torch(parity, case, precision):
    name, kwargs, shape = INSTANCE_NORM[case]
    ref = randomize_norm(getattr(torch.nn, name)(3, **kwargs))
    build = precision == "fp32" and case in ("2d-affine", "2d-affine-running", "3d")
    x = torch.randn(shape) * 2 + 1
    parity.check(getattr(nn, name)(3, **kwargs), ref, x, precision=precision, build=build)


@pytest.mark.parametrize(
    ("module", "ref"),
    [
        (nn.LayerNorm((4, 5)), torch.nn.LayerNorm((4, 5))),
        (nn.LayerNorm(5, bias=False), torch.nn.LayerNorm(5, bias=False)),
        (nn.LayerNorm(5, elementwise_affine=False), torch.nn.LayerNorm(5, elementwise_affine=False)),
        (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
        (nn.GroupNorm(2, 4, affine=False), torch.nn.GroupNorm(2, 4, affine=False)),
        (nn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3)),
        (nn.InstanceNorm2d(3, affine=True, track_running_stats=True), torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)),
    ],
    ids=["ln", "ln-no-bias", "ln-no-affine", "gn", "gn-no-affine", "in", "in-affine-running"],
)  # fmt: skip
def test_state_dicts_match_torch(module, ref):
    got = {k: p.shape for k, p in module.state_dict().items()}
    assert list(got) == list(ref.state_dict())
    assert got == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


def test_transformer_block_norms(parity):
    """LayerNorm before and after a linear, as in a pre-norm transformer MLP."""
    ref = torch.nn.Sequential(torch.nn.LayerNorm(16), torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.LayerNorm(32))
    for m in (ref[0], ref[3]):
        randomize_norm(m)
    model = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 32), nn.GELU(), nn.LayerNorm(32))
    parity.check(model, ref, torch.randn(2, 7, 16), build=True)


def _bound(module, ref, parity):
    module.load_weights(parity.torch_weights(ref))
    return module


@pytest.mark.parametrize(
    ("make", "shape", "match"),
    [
        (lambda: nn.LayerNorm((4, 5)), (2, 5, 4), r"normalized_shape \(4, 5\) must equal the last 2 dims"),
        (lambda: nn.GroupNorm(2, 4), (2, 6, 3, 3), r"input has 6 channels .* but num_channels=4"),
        (lambda: nn.InstanceNorm2d(3, affine=True), (2, 4, 3, 3), r"input has 4 channels .* but num_features=3"),
        (lambda: nn.InstanceNorm2d(3), (2, 3), r"expects a 4-D \(batched\) or 3-D input, got shape"),
        (lambda: nn.InstanceNorm1d(3), (2, 3, 4, 5), r"expects a 3-D \(batched\) or 2-D input"),
    ],
    ids=["ln-shape", "gn-channels", "in-channels", "in-rank-2d", "in-rank-1d"],
)
def test_wrong_inputs_are_refused(parity, make, shape, match):
    module = make()
    module.load_weights({k: torch.randn(p.shape).numpy() for k, p in module.state_dict().items()})
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(module, {"x": netdef.Input(shape)})


def test_constructor_errors_match_torch():
    with pytest.raises(ValueError, match="num_channels=6 must be divisible by num_groups=4"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError):
        torch.nn.GroupNorm(4, 6)


def test_extra_repr():
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert "track_running_stats=False" in repr(nn.InstanceNorm2d(3))
