"""F.embedding with a torch table, against torch.nn.functional.embedding."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F


def test_functional_embedding_matches_torch(parity):
    table = torch.randn(9, 4)
    parity.check(
        parity.Fn(lambda idx: F.embedding(idx, table.numpy())),
        lambda idx: torch.nn.functional.embedding(idx, table),
        torch.randint(0, 9, (3, 5)),
    )


def test_negative_indices_count_from_the_end(parity):
    """TensorRT's gather reads index -1 as the last row (torch would raise; a Python-style reading)."""
    table = torch.randn(6, 3)
    idx = torch.tensor([[-1, 0, -6]])
    net = parity.define(parity.Fn(lambda i: F.embedding(i, table.numpy())), idx)
    parity.assert_close(parity.run(net, idx), table[idx % 6])


@pytest.mark.parametrize(
    ("weight", "match"),
    [(torch.randn(4), r"weight must be 2-D \(num_embeddings, embedding_dim\)"), (torch.randn(4, 2), "max_norm")],
)
def test_functional_embedding_errors(parity, weight, match):
    kwargs = {"max_norm": 1.0} if match == "max_norm" else {}
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(
            parity.Fn(lambda i: F.embedding(i, weight.numpy(), **kwargs)), {"x": netdef.Input((3,), dtype="int64")}
        )
