"""Tensor proxy: metadata, repr, dtype conversions."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef._trt import trt


def test_metadata_and_repr(parity):
    seen = {}

    def probe(x):
        seen.update(shape=x.shape, ndim=x.ndim, dim=x.dim(), size=x.size(), size0=x.size(0), numel=x.numel())
        seen.update(dtype=x.dtype, name=x.name, repr=repr(x))
        return x.contiguous()

    netdef.define(parity.Fn(probe), {"x": netdef.Input((2, 3, 4))})
    assert seen == {
        "shape": (2, 3, 4), "ndim": 3, "dim": 3, "size": (2, 3, 4), "size0": 2, "numel": 24,
        "dtype": trt.float32, "name": "x", "repr": "netdef.Tensor(name='x', shape=(2, 3, 4), dtype=FLOAT)",
    }  # fmt: skip


def test_dynamic_dims_are_symbolic_sizes(parity):
    seen = {}

    def probe(x):
        seen.update(shape=x.shape, static=x.static_shape, numel=x.numel(), size0=x.size(0))
        return x * 2

    netdef.define(parity.Fn(probe), {"x": netdef.Input((-1, 3), min=(1, 3), max=(4, 3))})
    n, c = seen["shape"]
    assert isinstance(n, netdef.SymInt) and c == 3 and seen["size0"] is n
    assert seen["static"] == (-1, 3)  # TensorRT's view: -1 marks the dynamic dim
    assert isinstance(seen["numel"], netdef.SymInt) and (n.lo, n.hi) == (1, 4)


@pytest.mark.parametrize(
    ("expr", "ref"),
    [
        (lambda x: x.half(), lambda x: x.half().float()),
        (lambda x: x.half().float() * 3, lambda x: x.half().float() * 3),
        (lambda x: x.to("float16") + x.to("float16"), lambda x: (x.half() + x.half()).float()),
    ],
    ids=["half", "half-float", "to-str"],
)
def test_dtype_conversions(parity, expr, ref):
    x = torch.randn(3, 4) * 100
    parity.check(parity.Fn(expr), ref, x)


# ------------------------------------------------------------------------ torch functions and missing ops


def test_torch_function_on_a_netdef_tensor_names_netdefs_op(parity):
    with pytest.raises(netdef.UnsupportedOpError) as info:
        netdef.define(parity.Fn(lambda x: torch.sigmoid(x)), {"x": netdef.Input((1, 3))})
    message = str(info.value)
    assert "torch.sigmoid was called on a netdef.Tensor" in message and "F.sigmoid(...)" in message
    assert "x.sigmoid(...)" in message and "test_tensor.py:" in message  # the user's line
    assert "must be Tensor, not Tensor" not in message
    with pytest.raises(netdef.UnsupportedOpError, match=r"torch.nn.functional.gelu .*F.gelu\(...\)"):
        netdef.define(parity.Fn(lambda x: torch.nn.functional.gelu(x)), {"x": netdef.Input((1, 3))})
    with pytest.raises(netdef.UnsupportedOpError, match=r"torch.cat .*F.cat"):
        netdef.define(parity.Fn(lambda x: torch.cat([x, x])), {"x": netdef.Input((1, 3))})
    with pytest.raises(netdef.UnsupportedOpError, match="netdef has no `histc` op yet; the supported ops are listed"):
        netdef.define(parity.Fn(lambda x: torch.histc(x)), {"x": netdef.Input((1, 3))})


def test_missing_tensor_methods_say_they_are_not_supported(parity):
    cases = [
        (lambda x: x.histc(), "no method `histc`: the op is not supported yet (the supported ops are listed in"),
        (lambda x: x.gelu(), "no method `gelu`; call it as a function: F.gelu(x, ...)"),
        (lambda x: x.histc_(), "no method `histc_`: the op is not supported yet"),
        (lambda x: x.sofmax(1), "did you mean softmax"),
    ]
    for fn, phrase in cases:
        with pytest.raises(netdef.UnsupportedOpError) as info:
            netdef.define(parity.Fn(fn), {"x": netdef.Input((1, 3))})
        assert phrase in str(info.value)
        assert isinstance(info.value, AttributeError)


def test_missing_functional_ops_and_modules_say_where_the_list_is():
    from netdef import F, nn

    with pytest.raises(netdef.UnsupportedOpError, match=r"netdef.functional has no `embedding_bag`: it is not"):
        F.embedding_bag  # noqa: B018
    with pytest.raises(netdef.UnsupportedOpError, match=r"netdef.nn has no `EmbeddingBag`.*netdef.nn.__all__"):
        nn.EmbeddingBag  # noqa: B018
    with pytest.raises(netdef.UnsupportedOpError, match="did you mean softmax"):
        F.softmx  # noqa: B018
    assert hasattr(F, "relu") and not hasattr(F, "embedding_bag") and not hasattr(F, "_private")
    assert set(netdef.F.__all__) >= {"relu", "softmax", "conv2d"}


def test_an_attribute_error_inside_a_property_is_not_reported_as_a_missing_op(parity, monkeypatch):
    def broken(self):
        raise AttributeError("the real bug")

    monkeypatch.setattr(netdef.Tensor, "broken", property(broken), raising=False)
    with pytest.raises(AttributeError, match="the real bug"):
        netdef.define(parity.Fn(lambda x: x.broken), {"x": netdef.Input((1, 3))})
