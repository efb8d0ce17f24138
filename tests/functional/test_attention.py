"""scaled_dot_product_attention and bmm against torch: masks (bool / float / fully masked rows), causal,
scale, grouped-query heads, fp16, dynamic sequence lengths."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

import netdef
from netdef import F
from netdef.testing import Fn as _Fn


def _qkv(lq=5, lk=7, e=8, ev=4, heads=(3, 3), batch=2):
    return (
        torch.randn(batch, heads[0], lq, e),
        torch.randn(batch, heads[1], lk, e),
        torch.randn(batch, heads[1], lk, ev),
    )


CASES = {
    "plain": ({}, {}),
    "causal": ({"is_causal": True}, {}),
    "causal-more-queries": ({"is_causal": True}, {"lq": 7, "lk": 5}),
    "scale": ({"scale": 0.3}, {}),
    "gqa": ({"enable_gqa": True}, {"heads": (4, 2)}),
    "gqa-causal": ({"enable_gqa": True, "is_causal": True, "scale": 0.5}, {"heads": (6, 2), "lq": 6, "lk": 6}),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(CASES))
def test_sdpa(parity, name, precision):
    kwargs, shapes = CASES[name]
    q, k, v = _qkv(**shapes)

    def fn(q, k, v):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, **kwargs)

    build = precision == "fp32" and name in ("causal", "gqa")
    parity.check(parity.Fn(fn), fn, q, k, v, precision=precision, build=build)


MASKS = {
    "bool-2d": lambda: torch.rand(5, 7) > 0.3,
    "bool-4d": lambda: torch.rand(2, 1, 5, 7) > 0.3,
    "float-2d": lambda: torch.randn(5, 7),
    "float-broadcast-keys": lambda: torch.randn(2, 1, 1, 7),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(MASKS))
def test_sdpa_masks(parity, name, precision):
    q, k, v = _qkv()
    mask = MASKS[name]()
    if mask.dtype == torch.bool:
        mask[..., 0] = True  # every query row keeps a key

    def fn(q, k, v, m):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, attn_mask=m)

    parity.check(parity.Fn(fn), fn, q, k, v, mask, precision=precision, build=precision == "fp32" and name == "bool-2d")


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zeros_like_torch(parity, kind):
    q, k, v = _qkv(batch=1)
    keep = torch.rand(5, 7) > 0.5
    keep[:, 0] = True
    keep[2] = False  # query 2 may attend to nothing
    mask = keep if kind == "bool" else torch.zeros(5, 7).masked_fill(~keep, float("-inf"))

    def fn(q, k, v, m):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, attn_mask=m)

    with torch.no_grad():
        assert torch.all(fn(q, k, v, mask)[:, :, 2] == 0)  # torch's own behavior, which netdef matches
    parity.check(parity.Fn(fn), fn, q, k, v, mask)


def test_sdpa_3d_inputs(parity):
    q, k, v = torch.randn(3, 4, 16), torch.randn(3, 6, 16), torch.randn(3, 6, 16)
    parity.check(
        parity.Fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        q,
        k,
        v,
    )


def test_sdpa_dynamic_sequence_lengths(parity):
    def fn(q, k, v):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, is_causal=True)

    spec = netdef.Input((-1, 2, -1, 8), min=(1, 2, 1, 8), max=(4, 2, 16, 8))
    net = netdef.define(parity.Fn(fn), {"x0": spec, "x1": spec, "x2": spec})
    for b, lq, lk in [(2, 5, 5), (1, 9, 4), (3, 3, 11)]:
        q, k, v = torch.randn(b, 2, lq, 8), torch.randn(b, 2, lk, 8), torch.randn(b, 2, lk, 8)
        got = netdef.reference.run(net, {"x0": q.numpy(), "x1": k.numpy(), "x2": v.numpy()})["output"]
        parity.assert_close(got, fn(q, k, v))
    parity.build(net)


@pytest.mark.parametrize(
    ("kwargs", "shapes", "match"),
    [
        ({"dropout_p": 0.1}, {}, r"dropout_p=0.1: an inference engine applies no dropout"),
        ({"is_causal": True, "attn_mask": "mask"}, {}, r"pass either attn_mask or is_causal=True, not both"),
        ({}, {"k": (2, 3, 7, 6)}, r"query and key must have the same last dim"),
        ({}, {"v": (2, 3, 6, 4)}, r"key and value must have the same sequence length"),
        ({"enable_gqa": True}, {"q": (2, 4, 5, 8), "k": (2, 3, 7, 8), "v": (2, 3, 7, 4)}, r"enable_gqa needs"),
    ],
)
def test_sdpa_errors(kwargs, shapes, match):
    q, k, v = shapes.get("q", (2, 3, 5, 8)), shapes.get("k", (2, 3, 7, 8)), shapes.get("v", (2, 3, 7, 4))

    def fn(q, k, v):
        kw = {key: (q[0, 0] > 0) if val == "mask" else val for key, val in kwargs.items()}
        return F.scaled_dot_product_attention(q, k, v, **kw)

    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(fn), {"q": netdef.Input(q), "k": netdef.Input(k), "v": netdef.Input(v)})


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_bmm(parity, precision):
    a, b = torch.randn(3, 4, 5), torch.randn(3, 5, 2)
    parity.check(parity.Fn(F.bmm), torch.bmm, a, b, precision=precision, build=precision == "fp32")
    parity.check(parity.Fn(lambda a, b: a.bmm(b)), lambda a, b: a.bmm(b), a, b, precision=precision)


def test_bmm_refuses_broadcasting_and_other_ranks():
    with pytest.raises(netdef.EmitError, match=r"batch sizes differ.*bmm does not broadcast; use matmul"):
        netdef.define(_Fn(F.bmm), {"a": netdef.Input((3, 4, 5)), "b": netdef.Input((1, 5, 2))})
    with pytest.raises(netdef.EmitError, match=r"`mat2` must be a 3-D tensor, got shape \(5, 2\)"):
        netdef.define(_Fn(F.bmm), {"a": netdef.Input((3, 4, 5)), "b": netdef.Input((5, 2))})
