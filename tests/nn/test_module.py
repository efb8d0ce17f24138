"""Module: registration, traversal, state_dict key parity with torch twins, and binding weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn


# -------------------------------------------------------------------------------- a model and its twin
class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return netdef.F.relu(self.conv2(netdef.F.relu(self.bn1(self.conv1(x)))) + x)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = nn.Sequential(Block(4), Block(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.pool(self.layer1(self.stem(x))).flatten(1))


class TorchBlock(torch.nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.bn1(self.conv1(x)))) + x)


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = torch.nn.Sequential(TorchBlock(4), TorchBlock(4))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.pool(self.layer1(self.stem(x))).flatten(1))


def torch_twin() -> TorchNet:
    ref = TorchNet().eval()
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_()
    return ref


def entry(msg: str, name: str) -> str:
    """The line of a BindError message about ``name``."""
    (line,) = [ln for ln in msg.splitlines() if ln.startswith(f"  {name}: ")]
    return line


def weights_of(ref: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in ref.state_dict().items()}


# ---------------------------------------------------------------------------------------- registration
def test_state_dict_keys_order_and_shapes_match_torch():
    model, ref = Net(), TorchNet()
    assert [(k, p.shape) for k, p in model.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ref.state_dict().items()
    ]


def test_named_traversals_match_torch():
    model, ref = Net(), TorchNet()
    assert [n for n, _ in model.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in model.named_children()] == [n for n, _ in ref.named_children()]
    assert len(list(model.modules())) == len(list(ref.modules()))
    assert len(list(model.parameters())) == len(list(ref.parameters()))
    assert model.get_submodule("layer1.1.bn1") is model.layer1[1].bn1


def test_shared_module_appears_under_every_name_like_torch(parity):
    """torch's state_dict lists a module registered twice under both names (named_modules once)."""
    shared, ref_shared = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    ref = torch.nn.Sequential(ref_shared, torch.nn.ReLU(), ref_shared)
    assert list(model.state_dict()) == list(ref.state_dict())
    assert [n for n, _ in model.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in ref.named_parameters()]
    parity.check(model, ref, torch.randn(2, 3))


def test_attribute_registration():
    m = nn.Module()
    m.w = nn.Parameter(2, 3)
    m.sub = nn.Linear(3, 4)
    m.bias = None
    m.scale = 0.5
    assert m._parameters == {"w": m.w, "bias": None} and m._modules == {"sub": m.sub}
    assert m.scale == 0.5 and m.w.shape == (2, 3) and m.w.numel == 6 and m.w.data is None
    assert list(m.state_dict()) == ["w", "sub.weight", "sub.bias"]  # a None bias has no entry, as in torch
    m.w = nn.Linear(1, 1)  # re-assigning moves the name to the right table
    assert "w" not in m._parameters and "w" in m._modules
    del m.sub
    assert list(m.state_dict()) == ["w.weight", "w.bias"]
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        m.missing  # noqa: B018


def test_register_buffer():
    m = nn.Module()
    m.register_buffer("running", nn.Parameter(4))
    m.register_buffer("absent", None)
    assert list(m.state_dict()) == ["running"] and [n for n, _ in m.named_buffers()] == ["running"]
    with pytest.raises(ValueError, match="non-persistent buffers"):
        m.register_buffer("tmp", nn.Parameter(1), persistent=False)


def test_assigning_before_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) in Bad.__init__ before assigning fc"):
        Bad()


def test_calling_a_module_outside_define_is_explained():
    with pytest.raises(netdef.EmitError, match=r"inside netdef.define\(model, inputs=...\)"):
        nn.ReLU()(object())


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        netdef.define(nn.Module(), {"x": netdef.Input((1,))})


def test_repr_lists_children():
    text = repr(Net())
    assert text.startswith("Net(") and "(layer1): Sequential(" in text and "(0): Block(" in text
    assert "(fc): Linear(in_features=4, out_features=5, bias=True)" in text
    assert repr(nn.Parameter(2, 3)) == "Parameter(shape=(2, 3), dtype=float32, unbound)"


# -------------------------------------------------------------------------------------------- binding
def test_bound_model_matches_torch(parity):
    parity.check(Net(), torch_twin(), torch.randn(2, 3, 6, 6), build=True)


def test_load_weights_reports_everything_bound():
    ref = TorchNet()
    report = Net().load_weights(weights_of(ref))
    assert report.bound == list(ref.state_dict()) and report.missing == [] and report.unexpected == []
    assert str(report) == f"bound {len(ref.state_dict())} tensors"


def test_load_weights_copies_and_casts():
    ref = TorchNet()
    weights = weights_of(ref)
    model = Net()
    model.load_weights(weights)
    weights["fc.weight"][...] = 0  # binding took a copy
    assert model.fc.weight.data.any()
    assert model.layer1[0].bn1.num_batches_tracked.data.dtype == np.int64


def test_flat_arrays_bind_by_size():
    """.wts files carry no shapes: a 1-D array of the right size binds and takes the parameter's shape."""
    ref = TorchNet()
    model = Net()
    model.load_weights({k: v.reshape(-1) for k, v in weights_of(ref).items()})
    np.testing.assert_array_equal(model.stem.weight.data, ref.stem.weight.detach().numpy())


def test_missing_unexpected_and_wrong_size_are_reported_together():
    weights = weights_of(TorchNet())
    del weights["layer1.0.conv1.weight"]
    del weights["fc.bias"]
    weights["layer1.1.bn1.running_var"] = np.ones(7, np.float32)
    weights["stem.weight"] = np.ones((4, 3, 5, 5), np.float32)
    weights["head.weight"] = np.ones((2, 3), np.float32)
    model = Net()
    with pytest.raises(netdef.BindError) as info:
        model.load_weights(weights)
    msg = str(info.value)
    assert msg.startswith("cannot bind weights to Net:")
    # wrong size: the name, the module path and class, the expected shape and the size found
    assert "wrong size (2):" in msg
    bn = entry(msg, "layer1.1.bn1.running_var")
    assert "module `layer1.1.bn1` (BatchNorm2d" in bn and "expects running_var of shape (4,) (4 values)" in bn
    assert "found shape (7,) (7 values)" in bn
    stem = entry(msg, "stem.weight")
    assert "module `stem` (Conv2d" in stem and "expects weight of shape (4, 3, 3, 3) (108 values)" in stem
    assert "found shape (4, 3, 5, 5) (300 values)" in stem
    # missing: the name (module path + leaf) and the expected shape
    assert "missing (2):" in msg
    assert "layer1.0.conv1.weight: expected shape (4, 4, 3, 3)" in msg and "fc.bias: expected shape (5,)" in msg
    # unexpected: the name and its size
    assert "unexpected (1):" in msg and "head.weight: 6 values" in msg
    assert "strict=False" in msg  # how to fix
    assert isinstance(info.value, KeyError)  # a BindError is a KeyError, shown without quotes
    # all-or-nothing: nothing was bound, not even the entries that were fine
    assert all(p.data is None for p in model.state_dict().values())


def test_same_size_but_wrong_shape_is_refused():
    weights = weights_of(TorchNet())
    weights["fc.weight"] = weights["fc.weight"].T.copy()  # (4, 5) instead of (5, 4): 20 values either way
    model = Net()
    with pytest.raises(netdef.BindError) as info:
        model.load_weights(weights)
    line = entry(str(info.value), "fc.weight")
    assert "module `fc` (Linear" in line and "expects weight of shape (5, 4) (20 values), found shape (4, 5)" in line
    assert all(p.data is None for p in model.state_dict().values())


def test_root_parameters_are_named_root():
    with pytest.raises(netdef.BindError) as info:
        nn.Linear(3, 2).load_weights({"weight": np.ones(5), "bias": np.ones(2)})
    line = entry(str(info.value), "weight")
    assert "module `<root>` (Linear" in line and "expects weight of shape (2, 3)" in line


def test_strict_false_skips_and_reports():
    weights = weights_of(TorchNet())
    del weights["fc.weight"], weights["fc.bias"]
    weights["extra.weight"] = np.zeros(3, np.float32)
    model = Net()
    report = model.load_weights(weights, strict=False)
    assert isinstance(report, nn.BindReport)
    assert report.missing == ["fc.weight", "fc.bias"] and report.unexpected == ["extra.weight"]
    assert "fc.weight" not in report.bound and "stem.weight" in report.bound
    assert "missing (left unbound): fc.weight, fc.bias" in str(report)
    assert "unexpected (ignored): extra.weight" in str(report)
    assert model.fc.weight.data is None and model.stem.weight.data is not None
    # define() refuses a model with unbound weights and names them
    with pytest.raises(netdef.EmitError, match=r"Net has 2 unbound weights \(fc.weight, fc.bias\)"):
        netdef.define(model, {"x": netdef.Input((1, 3, 4, 4))})


def test_wrong_size_raises_even_with_strict_false():
    weights = weights_of(TorchNet())
    weights["fc.bias"] = np.zeros(6, np.float32)
    del weights["stem.bias"]
    model = Net()
    with pytest.raises(netdef.BindError) as info:
        model.load_weights(weights, strict=False)
    msg = str(info.value)
    line = entry(msg, "fc.bias")
    assert (
        "module `fc` (Linear" in line and "expects bias of shape (5,) (5 values), found shape (6,) (6 values)" in line
    )
    assert "missing (" not in msg and "stem.bias" not in msg  # strict=False: missing names are not errors
    assert all(p.data is None for p in model.state_dict().values())


def test_failed_bind_keeps_earlier_weights():
    ref_a, ref_b = TorchNet(), TorchNet()
    model = Net()
    model.load_weights(weights_of(ref_a))
    bad = weights_of(ref_b)
    bad["fc.weight"] = np.zeros(3, np.float32)
    with pytest.raises(netdef.BindError):
        model.load_weights(bad)
    for name, p in model.state_dict().items():  # still exactly the first weights
        np.testing.assert_array_equal(p.data, ref_a.state_dict()[name].numpy())


def test_unconvertible_value_is_a_bind_error_and_binds_nothing():
    weights = weights_of(TorchNet())
    weights["layer1.1.bn1.num_batches_tracked"] = "many"  # one value, but not a number
    model = Net()
    with pytest.raises(netdef.BindError) as info:
        model.load_weights(weights)
    line = entry(str(info.value), "layer1.1.bn1.num_batches_tracked")
    assert "module `layer1.1.bn1` (BatchNorm2d" in line and "expects int64 num_batches_tracked" in line
    assert all(p.data is None for p in model.state_dict().values())


def test_load_weights_from_wts_path(parity, tmp_path):
    ref = torch_twin()
    path = tmp_path / "net.wts"
    netdef.export_wts(ref, path)
    for where in (path, str(path)):
        model = Net()
        report = model.load_weights(where)
        assert report.bound == list(ref.state_dict())
        x = torch.randn(1, 3, 5, 5)
        with torch.no_grad():
            want = ref(x)
        parity.assert_close(parity.run(parity.define(model, x), x), want)


def test_wts_path_with_wrong_sizes_names_the_module(tmp_path):
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    netdef.export_wts(ref, tmp_path / "mlp.wts")
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 3))
    with pytest.raises(netdef.BindError) as info:
        model.load_weights(tmp_path / "mlp.wts")
    line = entry(str(info.value), "1.weight")
    assert "module `1` (Linear" in line and "expects weight of shape (3, 4) (12 values), found shape (8,)" in line


def test_unknown_weights_file_suffix(tmp_path):
    (tmp_path / "w.xyz").write_bytes(b"")
    with pytest.raises(netdef.WeightsFormatError, match=r"unknown weights format '\.xyz'"):
        Net().load_weights(tmp_path / "w.xyz")


def test_unbound_model_cannot_be_defined():
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(Net(), {"x": netdef.Input((1, 3, 4, 4))})
    msg = str(info.value)
    n = len(TorchNet().state_dict())
    assert f"Net has {n} unbound weights (stem.weight, stem.bias, layer1.0.conv1.weight" in msg
    assert f"and {n - 8} more" in msg and "load_weights" in msg


def test_parameter_without_data_cannot_become_an_array():
    with pytest.raises(netdef.EmitError, match=r"parameter of shape \(2,\) has no data"):
        np.asarray(nn.Parameter(2))


# ------------------------------------------------------------------------ binding checks (issue 11)


class Tied(nn.Module):
    """One Linear registered under two names, as a tied embedding/head: state_dict lists it under both."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(2, 2, bias=False)
        self.decoder = self.encoder


def test_tied_parameter_given_two_values_is_refused():
    a, b = np.eye(2, dtype=np.float32), np.ones((2, 2), np.float32)
    model = Tied()
    assert list(model.state_dict()) == ["encoder.weight", "decoder.weight"]
    with pytest.raises(
        netdef.BindError, match=r"shared \(tied\) under the names \['encoder.weight', 'decoder.weight'\]"
    ):
        model.load_weights({"encoder.weight": a, "decoder.weight": b})
    assert model.encoder.weight.data is None  # all-or-nothing
    model.load_weights({"encoder.weight": a, "decoder.weight": a.copy()})
    np.testing.assert_array_equal(model.decoder.weight.data, a)


def test_tied_parameter_given_under_one_name_binds_and_is_not_missing():
    """Checkpoints that store a tied weight once (safetensors, HF tie_word_embeddings) bind strictly."""
    model = Tied()
    report = model.load_weights({"decoder.weight": np.eye(2, dtype=np.float32)})
    assert report.missing == [] and report.bound == ["decoder.weight"]
    np.testing.assert_array_equal(model.encoder.weight.data, np.eye(2))


def test_values_the_parameter_dtype_cannot_hold_are_refused():
    model = nn.Linear(2, 2)
    with pytest.raises(netdef.BindError) as info:
        model.load_weights({"weight": np.full((2, 2), 1e300), "bias": np.zeros(2)})
    assert "weight: module `<root>` (Linear) expects float32 weight, but a value of 1e+300 is beyond float32" in str(
        info.value
    )
    bn = nn.BatchNorm2d(2)
    weights = {k: np.ones(p.shape, p.dtype) for k, p in bn.state_dict().items()}
    bn.load_weights({**weights, "num_batches_tracked": np.array(2**40, np.int64)})  # int64 holds it
    bn.num_batches_tracked.dtype = np.dtype("int32")
    with pytest.raises(netdef.BindError, match="a value of 1099511627776 is outside int32's range"):
        bn.load_weights({**weights, "num_batches_tracked": np.array(2**40, np.int64)})
    with pytest.raises(netdef.BindError, match="expects float32 weight, found <U1"):
        model.load_weights({"weight": np.full((2, 2), "a"), "bias": np.zeros(2)})


@pytest.mark.parametrize("weights", [[1, 2, 3], 3, None, np.zeros(3)])
def test_load_weights_needs_a_path_or_a_mapping(weights):
    with pytest.raises(netdef.ArgumentError, match=r"Linear.load_weights: weights must be a path to a weights file"):
        nn.Linear(2, 2).load_weights(weights)


class _Weights(nn.Module):
    """Parameters and buffers used as tensors inside forward, as torch code does."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(4, 3)
        self.scale = nn.Parameter(3)
        self.register_buffer("table", nn.Parameter(1, 6, 3))

    def forward(self, x):
        n = x.shape[1]
        y = x @ self.w + self.scale * 2 - self.table[:, :n].sum(1)  # matmul, arithmetic, indexing by a size
        return 1.0 - y * self.scale + (self.w.t() @ self.w)[0] + self.table.squeeze(0)[n - 1]


def test_parameters_act_as_tensors_in_forward():
    rng = np.random.default_rng(0)
    model = _Weights()
    weights = {
        "w": rng.standard_normal((4, 3)),
        "scale": rng.standard_normal(3),
        "table": rng.standard_normal((1, 6, 3)),
    }
    model.load_weights(weights)
    spec = netdef.Input((2, -1, 4), min=(2, 1, 4), max=(2, 6, 4))
    network = netdef.define(model, {"x": spec})
    w, s, t = (torch.from_numpy(weights[k]).float() for k in ("w", "scale", "table"))
    for n in (1, 4, 6):
        x = torch.from_numpy(rng.standard_normal((2, n, 4)).astype(np.float32))
        y = x @ w + s * 2 - t[:, :n].sum(1)
        want = 1.0 - y * s + (w.t() @ w)[0] + t.squeeze(0)[n - 1]
        got = netdef.reference.run(network, {"x": x.numpy()})["output"]
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
    assert not hasattr(model.w, "view")  # outside define there is no network to make a tensor in
    assert model.w.shape == (4, 3) and model.w.numel == 12  # its own metadata stays


def test_a_weight_of_a_module_the_model_has_but_does_not_hold_is_refused_even_with_strict_false():
    """fc.bias where the model's fc has no bias: skipping it (strict=False) would compute fc without its bias, so
    the error does not advise strict=False and strict=False does not skip it."""

    class NoBias(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2, bias=False)

    weights = {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.ones(2, np.float32)}
    for strict in (True, False):
        model = NoBias()
        with pytest.raises(netdef.BindError) as info:
            model.load_weights(weights, strict=strict)
        line = entry(str(info.value), "fc.bias")
        assert "module `fc` (Linear) has no bias" in line
        assert "strict=False to skip" not in str(info.value)
        assert model.fc.weight.data is None  # all-or-nothing
    outside = {"fc.weight": weights["fc.weight"], "rotary.inv_freq": np.ones(4, np.float32)}
    with pytest.raises(netdef.BindError, match="pass strict=False to skip them"):
        NoBias().load_weights(outside)
    report = NoBias().load_weights(outside, strict=False)
    assert report.unexpected == ["rotary.inv_freq"]  # outside the model's modules: skipped when asked


def _mapped_root(array: np.ndarray):
    """The object at the bottom of ``array``'s chain of views."""
    while isinstance(array, np.ndarray) and array.base is not None:
        array = array.base
    return array.obj if isinstance(array, memoryview) else array


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_safetensors_bind_as_views_of_the_mapped_file(tmp_path, dtype):
    import mmap

    from netdef.weights import save_safetensors

    torch.manual_seed(0)
    twin = torch.nn.Linear(8, 4).to(dtype)
    save_safetensors(twin, tmp_path / "w.safetensors")
    model = nn.Linear(8, 4)
    model.load_weights(tmp_path / "w.safetensors")
    for name, tensor in twin.state_dict().items():
        bound = getattr(model, name).data
        assert isinstance(_mapped_root(bound), mmap.mmap), f"{name}: bound a copy, not a view of the file"
        assert not bound.flags.writeable
        assert str(bound.dtype) == str(tensor.dtype).removeprefix("torch.")  # the stored dtype, not float32
        np.testing.assert_array_equal(bound.astype(np.float32), tensor.float().numpy())
    # a network in the stored dtype hands TensorRT the file's own bytes; another precision casts once
    precision = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32"}[dtype]
    # (a 3-D input: a 2-D Linear with a bias keeps a private copy in the stored dtype, which a batch norm after it
    # may fold into)
    net = netdef.define(model, {"x": netdef.Input((1, 2, 8))}, precision=precision)
    assert any(np.shares_memory(a, model.weight.data) for a in net.keepalive)
    net32 = netdef.define(model, {"x": netdef.Input((1, 2, 8))}, precision="fp32")
    assert all(a.dtype == np.float32 for a in net32.keepalive if a.dtype.kind in "fV")
    y = torch.from_numpy(np.ones((1, 2, 8), np.float32))
    np.testing.assert_allclose(
        netdef.reference.run(net32, {"x": y.numpy()})["output"],
        twin.float()(y).detach().numpy(),
        rtol=1e-6,
        atol=1e-6,
    )


def test_writable_arrays_bind_as_copies_read_only_ones_as_views():
    weight = np.ones((4, 8), np.float32)
    model = nn.Linear(8, 4, bias=False)
    model.load_weights({"weight": weight})
    assert not np.shares_memory(model.weight.data, weight)  # the caller may write it: a snapshot is bound
    weight[:] = 2
    assert (model.weight.data == 1).all()
    frozen = np.ones((4, 8), np.float16)
    frozen.flags.writeable = False
    model.load_weights({"weight": frozen})
    assert np.shares_memory(model.weight.data, frozen) and model.weight.data.dtype == np.float16
    view = np.ones((4, 8), np.float32)[:, :]  # a read-only view of a writable array is still copied
    view.flags.writeable = False
    model.load_weights({"weight": view})
    assert not np.shares_memory(model.weight.data, view)
