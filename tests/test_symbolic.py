"""Symbolic sizes: a transformer written as torch code, with dynamic batch and sequence length.

One network is defined once and checked against its torch twin at every batch in [1, max] and every
sequence length in [1, max] (the reference interpreter; a real build separately).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn

VOCAB, DIM, HEADS, MAX_LEN, MAX_BATCH = 11, 8, 2, 9, 3


class TinyGPT(nn.Module):
    """The torch idioms of issue 10: ``B, T = ids.shape``, ``self.pos[:, :T]``, ``q.view(B, T, h, -1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCAB, DIM)
        self.pos = nn.Parameter(1, MAX_LEN, DIM)
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, ids):
        B, T = ids.shape
        x = self.tok(ids) + self.pos[:, :T]
        q, k, v = self.qkv(x).split(DIM, dim=2)
        q = q.view(B, T, HEADS, -1).transpose(1, 2)
        k = k.view(B, T, HEADS, -1).transpose(1, 2)
        v = v.view(B, T, HEADS, -1).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        future = F.arange(T)[None, :] > F.arange(T)[:, None]
        att = att.masked_fill(future, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)
        return self.proj(y)[:, -1] + x.flatten(1).sum(1, keepdim=True)[:, :1]


class TorchTinyGPT(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tok = torch.nn.Embedding(VOCAB, DIM)
        self.pos = torch.nn.Parameter(torch.randn(1, MAX_LEN, DIM))
        self.qkv = torch.nn.Linear(DIM, 3 * DIM)
        self.proj = torch.nn.Linear(DIM, DIM)

    def forward(self, ids):
        B, T = ids.shape
        x = self.tok(ids) + self.pos[:, :T]
        q, k, v = self.qkv(x).split(DIM, dim=2)
        q = q.view(B, T, HEADS, -1).transpose(1, 2)
        k = k.view(B, T, HEADS, -1).transpose(1, 2)
        v = v.view(B, T, HEADS, -1).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        future = torch.arange(T)[None, :] > torch.arange(T)[:, None]
        att = att.masked_fill(future, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)
        return self.proj(y)[:, -1] + x.flatten(1).sum(1, keepdim=True)[:, :1]


IDS = netdef.Input((-1, -1), dtype="int64", min=(1, 1), opt=(2, 5), max=(MAX_BATCH, MAX_LEN))


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    twin = TorchTinyGPT().eval()
    model = TinyGPT()
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return netdef.define(model, {"ids": IDS}), twin


def test_one_network_matches_torch_at_every_batch_and_length(gpt):
    network, twin = gpt
    rng = np.random.default_rng(0)
    for batch in range(1, MAX_BATCH + 1):
        for length in range(1, MAX_LEN + 1):
            ids = rng.integers(0, VOCAB, (batch, length))
            got = netdef.reference.run(network, {"ids": ids})["output"]
            with torch.no_grad():
                want = twin(torch.from_numpy(ids)).numpy()
            assert got.shape == want.shape, (batch, length)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"batch {batch}, length {length}")


def test_the_dynamic_transformer_builds(gpt):
    built = netdef.build(gpt[0])
    assert built.metadata["inputs"]["ids"]["max"] == [MAX_BATCH, MAX_LEN]
