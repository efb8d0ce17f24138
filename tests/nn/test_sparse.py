"""nn.Embedding against torch: int32 and int64 indices of any rank, fp16 tables, a BERT-style embedding sum."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import nn


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("shape", [(7,), (2, 5), (2, 3, 4)], ids=lambda s: "x".join(map(str, s)))
def test_embedding_matches_torch(parity, shape, dtype, precision):
    ref = torch.nn.Embedding(11, 6)
    idx = torch.randint(0, 11, shape, dtype=dtype)
    idx.view(-1)[0], idx.view(-1)[-1] = 0, 10  # the first and last rows
    build = shape == (2, 5) and (precision == "fp32" or dtype == torch.int64)
    parity.check(nn.Embedding(11, 6), ref, idx, precision=precision, build=build)


def test_padding_idx_reads_its_row(parity):
    """padding_idx only zeroes the row's gradient; at inference it reads the (bound) row like any other."""
    ref = torch.nn.Embedding(5, 3, padding_idx=2)
    with torch.no_grad():
        ref.weight[2] = torch.tensor([1.0, -2.0, 3.0])
    parity.check(nn.Embedding(5, 3, padding_idx=2), ref, torch.tensor([[2, 0, 2, 4]]))


def test_bert_style_embeddings(parity):
    """word + position + token type embeddings, then LayerNorm: the input block of a BERT encoder."""

    class Twin(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.word_embeddings = m.Embedding(30, 8)
            self.position_embeddings = m.Embedding(16, 8)
            self.token_type_embeddings = m.Embedding(2, 8)
            self.LayerNorm = m.LayerNorm(8)

        def forward(self, ids, positions, types):
            x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings(types)
            return self.LayerNorm(x)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(30, 8)
            self.position_embeddings = nn.Embedding(16, 8)
            self.token_type_embeddings = nn.Embedding(2, 8)
            self.LayerNorm = nn.LayerNorm(8)

        forward = Twin.forward

    ids = torch.randint(0, 30, (2, 7))
    positions = torch.arange(7).expand(2, 7).contiguous()
    types = torch.randint(0, 2, (2, 7))
    parity.check(Model(), Twin(torch.nn), ids, positions, types, build=True)


def test_state_dict_matches_torch():
    assert {k: p.shape for k, p in nn.Embedding(7, 3).state_dict().items()} == {"weight": (7, 3)}
    assert tuple(torch.nn.Embedding(7, 3).state_dict()["weight"].shape) == (7, 3)


def test_float_indices_are_refused():
    model = nn.Embedding(4, 2)
    model.load_weights({"weight": torch.randn(4, 2).numpy()})
    with pytest.raises(netdef.EmitError, match="indices must be int32 or int64, got FLOAT"):
        netdef.define(model, {"input": netdef.Input((3,))})


@pytest.mark.parametrize(("max_norm", "norm_type"), [(1.0, 2.0), (0.5, 1.0), (2.5, 3.0)])
def test_max_norm_rescales_rows_as_torch(parity, max_norm, norm_type):
    ref = torch.nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    with torch.no_grad():
        ref.weight.mul_(torch.tensor([0.1, 3.0, 1.0, 0.2, 5.0, 0.05]).unsqueeze(1))  # rows under and over the norm
    model = nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    model.load_weights(parity.torch_weights(ref))  # before torch's forward rewrites its weight
    parity.check(model, ref, torch.tensor([[0, 1, 2], [5, 4, 1]]), build=max_norm == 1.0)


def test_constructor_errors():
    with pytest.raises(netdef.NetdefError, match="padding_idx=4 must be within num_embeddings=4"):
        nn.Embedding(4, 2, padding_idx=4)


def test_extra_repr():
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
