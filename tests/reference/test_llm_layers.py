"""The LLM layers of TensorRT-RTX's network API, built by hand: IAttention (its boundary layers), IRotaryEmbeddingLayer
and IKVCacheUpdateLayer, against straightforward torch implementations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import netdef
from netdef._trt import NETWORK_FLAGS, builder, trt

pytestmark = pytest.mark.skipif(
    not hasattr(trt.INetworkDefinition, "add_attention_v2"), reason="this TensorRT has no IAttention v2"
)
G = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=G)


def run(network, feeds):
    return netdef.reference.run(network, {k: v.numpy() for k, v in feeds.items()})


def attention_network(shapes, causal="NONE", norm="SOFTMAX", mask=None, lengths=False):
    net = builder().create_network(NETWORK_FLAGS)
    q, k, v = (net.add_input(n, trt.float32, s) for n, s in zip("qkv", shapes))
    layer = net.add_attention_v2(
        q, k, v, getattr(trt.AttentionNormalizationOp, norm), getattr(trt.CausalMaskKind, causal)
    )
    if mask is not None:
        layer.mask = net.add_input("m", trt.bool if mask[0] == "bool" else trt.float32, mask[1])
    if lengths:
        layer.key_value_lengths = net.add_input("lengths", trt.int32, (shapes[0][0],))
    layer.decomposable = True
    net.mark_output(layer.get_output(0))
    return net


def torch_attention(q, k, v, keep=None, add=None, norm=True):
    groups = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
    scores = q @ k.transpose(-1, -2)
    if add is not None:
        scores = scores + add
    if keep is not None:
        scores = scores.masked_fill(~keep, float("-inf"))
    return (scores.softmax(-1) if norm else scores) @ v


@pytest.mark.parametrize("heads", [(4, 4), (4, 2), (6, 1)], ids=["mha", "gqa", "mqa"])
def test_attention_unscaled_softmax_with_grouped_heads(heads):
    q, k, v = randn(2, heads[0], 3, 8), randn(2, heads[1], 5, 8), randn(2, heads[1], 5, 8)
    net = attention_network([q.shape, k.shape, v.shape])
    (got,) = run(net, {"q": q, "k": k, "v": v}).values()
    np.testing.assert_allclose(got, torch_attention(q, k, v).numpy(), atol=1e-5)
    # the torch operator agrees once its 1/sqrt(D) scale is undone
    want = TF.scaled_dot_product_attention(q, k, v, scale=1.0, enable_gqa=True)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


@pytest.mark.parametrize("sizes", [(4, 4), (3, 7), (1, 6), (6, 4)])
@pytest.mark.parametrize("kind", ["UPPER_LEFT", "LOWER_RIGHT"])
def test_attention_causal_kinds(kind, sizes):
    sq, skv = sizes
    q, k, v = randn(1, 2, sq, 4), randn(1, 2, skv, 4), randn(1, 2, skv, 4)
    net = attention_network([q.shape, k.shape, v.shape], causal=kind)
    (got,) = run(net, {"q": q, "k": k, "v": v}).values()
    offset = skv - sq if kind == "LOWER_RIGHT" else 0
    keep = torch.ones(sq, skv, dtype=torch.bool).tril(offset)
    want = torch_attention(q, k, v, keep=keep)
    rows = keep.any(-1)  # a row with no key is undefined (NaN here): compare the others
    np.testing.assert_allclose(got[..., rows.numpy(), :], want[..., rows, :].numpy(), atol=1e-5)
    if kind == "LOWER_RIGHT" and sq == 1:  # decode: the one query sees every key
        np.testing.assert_allclose(got, torch_attention(q, k, v).numpy(), atol=1e-5)


@pytest.mark.parametrize("mask_shape", [(1, 1, 3, 5), (2, 1, 3, 5), (2, 4, 3, 5)])
def test_attention_bool_mask_keeps_true(mask_shape):
    q, k, v = randn(2, 4, 3, 8), randn(2, 2, 5, 8), randn(2, 2, 5, 8)
    keep = torch.rand(mask_shape, generator=G) > 0.4
    keep[..., 0] = True
    net = attention_network([q.shape, k.shape, v.shape], mask=("bool", mask_shape))
    (got,) = run(net, {"q": q, "k": k, "v": v, "m": keep}).values()
    np.testing.assert_allclose(got, torch_attention(q, k, v, keep=keep).numpy(), atol=1e-5)


def test_attention_float_mask_is_added_and_norm_none_skips_softmax():
    q, k, v = randn(2, 2, 3, 8), randn(2, 2, 5, 8), randn(2, 2, 5, 8)
    add = randn(1, 2, 3, 5)
    net = attention_network([q.shape, k.shape, v.shape], mask=("float", add.shape))
    (got,) = run(net, {"q": q, "k": k, "v": v, "m": add}).values()
    np.testing.assert_allclose(got, torch_attention(q, k, v, add=add).numpy(), atol=1e-5)
    net = attention_network([q.shape, k.shape, v.shape], norm="NONE")
    (got,) = run(net, {"q": q, "k": k, "v": v}).values()
    np.testing.assert_allclose(got, torch_attention(q, k, v, norm=False).numpy(), atol=1e-4)


def test_attention_key_value_lengths_mask_padding():
    q, k, v = randn(3, 2, 2, 4), randn(3, 2, 6, 4), randn(3, 2, 6, 4)
    lengths = torch.tensor([6, 1, 4], dtype=torch.int32)
    net = attention_network([q.shape, k.shape, v.shape], lengths=True)
    (got,) = run(net, {"q": q, "k": k, "v": v, "lengths": lengths}).values()
    for b, n in enumerate(lengths.tolist()):
        want = torch_attention(q[b : b + 1], k[b : b + 1, :, :n], v[b : b + 1, :, :n])
        np.testing.assert_allclose(got[b : b + 1], want.numpy(), atol=1e-5)


def rotary_network(x_shape, cache_shape, interleaved, dim, positions=None):
    net = builder().create_network(NETWORK_FLAGS)
    x = net.add_input("x", trt.float32, x_shape)
    cos, sin = (net.add_input(n, trt.float32, cache_shape) for n in ("cos", "sin"))
    layer = net.add_rotary_embedding(x, cos, sin, interleaved, dim)
    if positions is not None:
        layer.set_input(3, net.add_input("pos", trt.int64, positions))
    net.mark_output(layer.get_output(0))
    return net


def torch_rope(x, cos, sin, interleaved, dim):
    """RoPE as complex multiplication of feature pairs (a + ib) * (cos + i sin)."""
    rot = dim or x.shape[-1]
    part = x[..., :rot]
    if interleaved:
        pairs = part.reshape(*part.shape[:-1], rot // 2, 2)
    else:
        pairs = torch.stack((part[..., : rot // 2], part[..., rot // 2 :]), -1)
    z = torch.view_as_complex(pairs.contiguous()) * torch.polar(torch.ones_like(cos), torch.atan2(sin, cos))[:, None]
    r = torch.view_as_real(z)
    out = r.flatten(-2) if interleaved else torch.cat((r[..., 0], r[..., 1]), -1)
    return torch.cat((out, x[..., rot:]), -1)


def angles(positions, half, base=10000.0):
    inv = 1.0 / base ** (torch.arange(half, dtype=torch.float64) / half)
    a = positions.double()[..., None] * inv
    return a.cos().float(), a.sin().float()


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("dim", [0, 4])
def test_rotary_embedding_per_batch_caches(interleaved, dim):
    x = randn(2, 3, 5, 8)
    half = (dim or 8) // 2
    cos, sin = angles(torch.arange(5).expand(2, 5) + torch.tensor([[0], [7]]), half)
    net = rotary_network(x.shape, cos.shape, interleaved, dim)
    (got,) = run(net, {"x": x, "cos": cos, "sin": sin}).values()
    np.testing.assert_allclose(got, torch_rope(x, cos, sin, interleaved, dim).numpy(), atol=1e-5)
    if dim:
        np.testing.assert_array_equal(got[..., dim:], x[..., dim:].numpy())  # the rest passes through


@pytest.mark.parametrize("interleaved", [False, True])
def test_rotary_embedding_position_ids_index_the_caches(interleaved):
    x = randn(2, 2, 3, 6)
    cos, sin = angles(torch.arange(16), 3)
    pos = torch.tensor([[4, 5, 6], [0, 9, 15]])
    net = rotary_network(x.shape, cos.shape, interleaved, 0, positions=pos.shape)
    (got,) = run(net, {"x": x, "cos": cos, "sin": sin, "pos": pos}).values()
    np.testing.assert_allclose(got, torch_rope(x, cos[pos], sin[pos], interleaved, 0).numpy(), atol=1e-5)
    with pytest.raises(netdef.InterpreterError, match="position ids span"):
        run(net, {"x": x, "cos": cos, "sin": sin, "pos": pos + 1})


def test_rotary_embedding_matches_transformers_rotate_half():
    x = randn(1, 2, 4, 8)
    cos, sin = angles(torch.arange(4)[None], 4)
    full_cos, full_sin = torch.cat((cos, cos), -1)[:, None], torch.cat((sin, sin), -1)[:, None]
    rotate_half = torch.cat((-x[..., 4:], x[..., :4]), -1)
    want = x * full_cos + rotate_half * full_sin  # transformers' apply_rotary_pos_emb
    (got,) = run(rotary_network(x.shape, cos.shape, False, 0), {"x": x, "cos": cos, "sin": sin}).values()
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def kv_network(cache_shape, update_shape, index_dtype=trt.int32):
    net = builder().create_network(NETWORK_FLAGS)
    cache = net.add_input("cache", trt.float32, cache_shape)
    update = net.add_input("update", trt.float32, update_shape)
    idx = net.add_input("idx", index_dtype, (cache_shape[0],))
    layer = net.add_kv_cache_update(cache, update, idx, trt.KVCacheMode.LINEAR)
    layer.get_output(0).name = "present"
    net.mark_output(layer.get_output(0))
    return net


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_kv_cache_update_writes_each_sequence_at_its_index(index_dtype):
    cache, update = randn(3, 2, 8, 4), randn(3, 2, 3, 4)
    idx = torch.tensor([0, 5, 2], dtype=getattr(torch, index_dtype))
    net = kv_network(cache.shape, update.shape, getattr(trt, index_dtype))
    got = run(net, {"cache": cache, "update": update, "idx": idx})["present"]
    want = cache.clone()
    for b, i in enumerate(idx.tolist()):
        want[b, :, i : i + 3] = update[b]
    np.testing.assert_array_equal(got, want.numpy())
    assert not np.array_equal(got, cache.numpy())


def test_kv_cache_update_refuses_writes_past_the_cache():
    net = kv_network((1, 1, 4, 2), (1, 1, 2, 2))
    feeds = {
        "cache": torch.zeros(1, 1, 4, 2),
        "update": torch.ones(1, 1, 2, 2),
        "idx": torch.tensor([3], dtype=torch.int32),
    }
    with pytest.raises(netdef.InterpreterError, match=r"writes positions \[3, 5\) outside the cache's 4"):
        run(net, feeds)


def test_llm_layers_build_with_the_installed_builder():
    """The real builder accepts each layer (fp16 attention with GQA and causal, rotary, KV-cache update)."""
    net = builder().create_network(NETWORK_FLAGS)
    x = net.add_input("x", trt.float16, (1, 4, 8, 16))
    cache = net.add_input("cache", trt.float16, (1, 2, 16, 16))
    cos = net.add_input("cos", trt.float16, (32, 8))
    sin = net.add_input("sin", trt.float16, (32, 8))
    pos = net.add_input("pos", trt.int64, (1, 8))
    idx = net.add_input("idx", trt.int32, (1,))
    rope = net.add_rotary_embedding(x, cos, sin, False, 0)
    rope.set_input(3, pos)
    kv = net.add_slice(rope.get_output(0), (0, 0, 0, 0), (1, 2, 8, 16), (1, 1, 1, 1))
    update = net.add_kv_cache_update(cache, kv.get_output(0), idx, trt.KVCacheMode.LINEAR)
    attn = net.add_attention_v2(
        rope.get_output(0),
        update.get_output(0),
        update.get_output(0),
        trt.AttentionNormalizationOp.SOFTMAX,
        trt.CausalMaskKind.LOWER_RIGHT,
    )
    attn.decomposable = True
    for t in (attn.get_output(0), update.get_output(0)):
        net.mark_output(t)
    config = builder().create_builder_config()
    engine = builder().build_serialized_network(net, config)
    assert engine is not None and engine.nbytes > 0
