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


def _layer_types(net: netdef.Network) -> set[str]:
    return {row["type"] for row in net.layers()}


FUSED_CASES = {
    "plain": ({}, {}, None),
    "causal": ({"is_causal": True}, {}, None),
    "causal-more-keys": ({"is_causal": True}, {"lq": 3, "lk": 7}, None),
    "gqa-causal": ({"enable_gqa": True, "is_causal": True, "scale": 0.5}, {"heads": (6, 2), "lq": 6, "lk": 6}, None),
    "bool-mask-dead-row": ({}, {}, "bool"),
    "float-mask-dead-row": ({}, {"heads": (4, 2)}, "float"),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(FUSED_CASES))
def test_sdpa_fused_layer_matches_torch_and_builds(parity, name, precision):
    """Operands with one head dim get TensorRT's IAttention (where the backend has it); dead rows still give 0."""
    from netdef.functional.attention import has_fused_attention

    kwargs, shapes, mask_kind = FUSED_CASES[name]
    q, k, v = _qkv(ev=8, **shapes)
    extra = []
    if mask_kind:
        keep = torch.rand(5, 7) > 0.4
        keep[:, 0], keep[3] = True, False  # query 3 attends to nothing: torch gives zeros
        extra = [keep if mask_kind == "bool" else torch.zeros(5, 7).masked_fill(~keep, float("-inf"))]
        kwargs = {**kwargs, "enable_gqa": True}

    def fn(q, k, v, *m):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, *m, **kwargs)

    build = precision == "fp32" or mask_kind is not None
    net = parity.check(parity.Fn(fn), fn, q, k, v, *extra, precision=precision, build=build)
    # masked fp32 attention is composed: TensorRT has no fused fp32 kernel, and the composition is smaller
    fused = has_fused_attention(net.network) and not (mask_kind and precision == "fp32")
    assert ("ATTENTION_INPUT" in _layer_types(net)) == fused
    assert ("SOFTMAX" in _layer_types(net)) != fused


def test_sdpa_fused_attention_off_composes_matmul_softmax(parity):
    from netdef.functional.attention import fused_attention

    q, k, v = _qkv(ev=8, heads=(4, 2))

    def fn(q, k, v):
        sdpa = F.scaled_dot_product_attention if isinstance(q, netdef.Tensor) else TF.scaled_dot_product_attention
        return sdpa(q, k, v, is_causal=True, enable_gqa=True)

    with fused_attention(False):
        net = parity.check(parity.Fn(fn), fn, q, k, v)
    assert "ATTENTION_INPUT" not in _layer_types(net) and "SOFTMAX" in _layer_types(net)


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_fuses_only_without_weights(need_weights):
    """The fused layer does not expose the softmax weights: need_weights=True keeps the composition."""
    from netdef.functional.attention import has_fused_attention

    attn = netdef.nn.MultiheadAttention(16, 4, batch_first=True)
    twin = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    attn.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    net = netdef.define(_Fn(lambda x: attn(x, x, x, need_weights=need_weights)[0]), {"x": netdef.Input((2, 5, 16))})
    fused = "ATTENTION_INPUT" in _layer_types(net)
    assert fused == (has_fused_attention(net.network) and not need_weights)
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        want = twin(x, x, x, need_weights=need_weights)[0]
    got = netdef.reference.run(net, {"x": x.numpy()})["output"]
    assert abs(got - want.numpy()).max() <= 1e-5 * abs(want.numpy()).max()
