"""nn.BatchNorm2d / nn.BatchNorm1d against torch in eval mode, with non-trivial running statistics."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F, nn
from netdef.testing import randomize_norm

# (eps, momentum, affine)
VARIANTS = {
    "default": {},
    "eps1e-3": {"eps": 1e-3},
    "eps0.5": {"eps": 0.5},
    "momentum-none": {"momentum": None},
    "no-affine": {"affine": False, "eps": 1e-4},
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batchnorm2d_matches_torch(parity, variant, precision):
    kwargs = VARIANTS[variant]
    ref = randomize_norm(torch.nn.BatchNorm2d(6, **kwargs))
    x = torch.randn(2, 6, 5, 4) * 2 + 1
    build = precision == "fp32" or variant == "default"
    parity.check(nn.BatchNorm2d(6, **kwargs), ref, x, precision=precision, build=build)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 7)], ids=["NC", "NCL"])
@pytest.mark.parametrize("variant", ["default", "eps0.5", "no-affine"])
def test_batchnorm1d_matches_torch(parity, variant, shape, precision):
    kwargs = VARIANTS[variant]
    ref = randomize_norm(torch.nn.BatchNorm1d(5, **kwargs))
    parity.check(nn.BatchNorm1d(5, **kwargs), ref, torch.randn(shape), precision=precision, build=precision == "fp32")


def test_conv_bn_relu_block(parity):
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
    randomize_norm(ref[1])
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    parity.check(model, ref, torch.randn(2, 3, 6, 6), build=True)


@pytest.mark.parametrize("affine", [True, False])
def test_state_dict_matches_torch(affine):
    for cls, ref_cls in ((nn.BatchNorm2d, torch.nn.BatchNorm2d), (nn.BatchNorm1d, torch.nn.BatchNorm1d)):
        ref = ref_cls(3, affine=affine)
        got = {k: p.shape for k, p in cls(3, affine=affine).state_dict().items()}
        assert list(got) == list(ref.state_dict())
        assert got == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


def test_binds_from_wts_file(parity, tmp_path):
    """.wts stores num_batches_tracked as float32; binding casts it back to the int64 buffer."""
    ref = randomize_norm(torch.nn.BatchNorm2d(4, eps=1e-3))
    netdef.export_wts(ref, tmp_path / "bn.wts")
    model = nn.BatchNorm2d(4, eps=1e-3)
    model.load_weights(tmp_path / "bn.wts")
    assert model.num_batches_tracked.data.dtype == "int64" and int(model.num_batches_tracked.data) == 17
    x = torch.randn(1, 4, 3, 3)
    with torch.no_grad():
        want = ref(x)
    parity.assert_close(parity.run(parity.define(model, x), x), want)


def _bound(module: nn.Module, ref: torch.nn.Module, parity) -> nn.Module:
    module.load_weights(parity.torch_weights(ref))
    return module


@pytest.mark.parametrize(
    ("cls", "ref_cls", "shape"),
    [
        (nn.BatchNorm2d, torch.nn.BatchNorm2d, (2, 4, 5)),
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (2, 4, 5, 5)),
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4,)),
    ],
)
def test_wrong_rank_is_refused(parity, cls, ref_cls, shape):
    model = _bound(cls(4), ref_cls(4), parity)
    with pytest.raises(netdef.EmitError, match=rf"{cls.__name__} expects a .*-D input, got shape"):
        netdef.define(model, {"x": netdef.Input(shape)})


def test_wrong_channel_count_is_refused(parity):
    model = _bound(nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4), parity)
    with pytest.raises(netdef.EmitError, match=r"input has 3 channels .* but num_features=4"):
        netdef.define(model, {"x": netdef.Input((1, 3, 2, 2))})


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(
    ("cls", "ref_cls", "shape"),
    [(nn.BatchNorm2d, torch.nn.BatchNorm2d, (3, 4, 5, 2)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 4))],
    ids=["2d", "1d-NC"],
)
def test_batch_statistics_without_running_stats(parity, cls, ref_cls, shape, affine, precision):
    """track_running_stats=False: torch's eval mode normalizes with the batch's mean and biased variance."""
    ref = ref_cls(4, affine=affine, track_running_stats=False)
    if affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5), ref.bias.uniform_(-0.5, 0.5)
    model = cls(4, affine=affine, track_running_stats=False)
    assert list(model.state_dict()) == list(ref.state_dict())
    x = torch.randn(shape) * 2 + 1
    parity.check(model, ref, x, precision=precision, build=precision == "fp32" and affine)


def test_batch_statistics_with_a_dynamic_batch(parity):
    ref = torch.nn.BatchNorm2d(3, track_running_stats=False).eval()
    model = nn.BatchNorm2d(3, track_running_stats=False)
    model.load_weights(parity.torch_weights(ref))
    network = netdef.define(
        model, {"x": netdef.Input((-1, 3, 4, 4), min=(1, 3, 4, 4), opt=(2, 3, 4, 4), max=(8, 3, 4, 4))}
    )
    for n in (2, 5):
        x = torch.randn(n, 3, 4, 4)
        with torch.no_grad():
            parity.assert_close(netdef.reference.run(network, {"x": x.numpy()})["output"], ref(x))


def test_functional_batch_norm_training_uses_batch_statistics(parity):
    mean, var = torch.randn(4), torch.rand(4) + 0.5
    x = torch.randn(3, 4, 5)
    parity.check(
        parity.Fn(lambda x: F.batch_norm(x, mean.numpy(), var.numpy(), training=True)),
        lambda x: torch.nn.functional.batch_norm(x, mean.clone(), var.clone(), training=True),
        x,
    )
    with pytest.raises(netdef.EmitError, match="running_mean and running_var are needed unless training=True"):
        netdef.define(parity.Fn(lambda x: F.batch_norm(x, None, None)), {"x": netdef.Input((2, 4))})


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_batchnorm3d_matches_torch(parity, precision):
    ref = randomize_norm(torch.nn.BatchNorm3d(4, eps=1e-3))
    x = torch.randn(2, 4, 3, 5, 6) * 2 + 1
    parity.check(nn.BatchNorm3d(4, eps=1e-3), ref, x, precision=precision, build=precision == "fp32")


def test_batchnorm3d_state_dict_and_rank():
    ref = torch.nn.BatchNorm3d(3)
    assert {k: p.shape for k, p in nn.BatchNorm3d(3).state_dict().items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }
    model = nn.BatchNorm3d(3)
    model.load_weights({k: v.numpy() for k, v in ref.state_dict().items()})
    with pytest.raises(netdef.EmitError, match=r"BatchNorm3d expects a 5-D input, got shape \(1, 3, 4, 4\)"):
        netdef.define(model, {"x": netdef.Input((1, 3, 4, 4))})
