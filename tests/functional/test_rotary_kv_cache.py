"""netdef.functional.rotary and kv_cache: the emitted layers against torch, the composed RoPE fallback, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn
from netdef.functional.kv_cache import kv_cache_update
from netdef.functional.rotary import rope_cache, rotary_composed, rotary_embedding


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def transformers_rope(x, positions, base=10000.0, rot=None):
    """transformers' apply_rotary_pos_emb (rotate_half) on the first ``rot`` features."""
    rot = rot or x.shape[-1]
    inv = 1.0 / base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    angles = positions.double()[..., None] * inv
    emb = torch.cat((angles, angles), -1)
    cos, sin = emb.cos().float()[:, None], emb.sin().float()[:, None]
    part = x[..., :rot]
    half = torch.cat((-part[..., rot // 2 :], part[..., : rot // 2]), -1)
    return torch.cat((part * cos + half * sin, x[..., rot:]), -1)


@pytest.mark.parametrize("path", ["layer", "composed"])
@pytest.mark.parametrize("rot", [None, 4])
def test_rotary_embedding_matches_transformers(path, rot):
    x = torch.randn(2, 3, 5, 8)
    positions = torch.tensor([[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]])
    cos, sin = rope_cache(rot or 8, 16)

    def fn(x, pos):
        if path == "layer":
            return rotary_embedding(x, cos, sin, position_ids=pos, rotary_dim=rot or 0)
        tables = [netdef.F.as_tensor(t) for t in (cos, sin)]
        return rotary_composed(x, *tables, pos, rot or 8)

    inputs = {"x": netdef.Input(x.shape), "pos": netdef.Input(positions.shape, "int64")}
    net = netdef.define(_Fn(fn), inputs)
    types = {row["type"] for row in net.layers()}
    assert ("ROTARY_EMBEDDING" in types) == (path == "layer")
    got = netdef.reference.run(net, {"x": x.numpy(), "pos": positions.numpy()})["output"]
    np.testing.assert_allclose(got, transformers_rope(x, positions, rot=rot).numpy(), atol=1e-5)


def test_rotary_embedding_errors():
    cos, sin = rope_cache(8, 16)
    with pytest.raises(netdef.EmitError, match=r"cos has last dim 4, expected rotary_dim / 2 = 2"):
        netdef.define(_Fn(lambda x: rotary_embedding(x, cos, sin, rotary_dim=4)), {"x": netdef.Input((1, 2, 3, 8))})
    with pytest.raises(netdef.EmitError, match=r"input must be a float \(B, N, S, H\) tensor"):
        netdef.define(_Fn(lambda x: rotary_embedding(x, cos, sin)), {"x": netdef.Input((2, 3, 8))})


def test_kv_cache_update_writes_in_place_of_a_network_input():
    cache, update = torch.randn(2, 2, 6, 4), torch.randn(2, 2, 3, 4)
    idx = torch.tensor([0, 3], dtype=torch.int32)
    inputs = {
        "cache": netdef.Input(cache.shape),
        "update": netdef.Input(update.shape),
        "idx": netdef.Input((2,), "int32"),
    }
    net = netdef.define(_Fn(lambda c, u, i: {"present": kv_cache_update(c, u, i)}), inputs)
    got = netdef.reference.run(net, {"cache": cache.numpy(), "update": update.numpy(), "idx": idx.numpy()})
    want = cache.clone()
    want[0, :, 0:3], want[1, :, 3:6] = update[0], update[1]
    np.testing.assert_array_equal(got["present"], want.numpy())
    with pytest.raises(netdef.EmitError, match=r"the cache `.*` must be a network input"):
        netdef.define(_Fn(lambda c, u, i: kv_cache_update(c * 2.0, u, i)), inputs)
