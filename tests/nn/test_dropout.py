"""Dropout is the identity in an engine (torch in eval mode)."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F, nn


@pytest.mark.parametrize("p", [0.0, 0.5, 0.9])
def test_dropout_is_identity_like_torch_eval(parity, p):
    ref = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Dropout(p), torch.nn.ReLU())
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(p), nn.ReLU())
    net = parity.check(model, ref, torch.randn(3, 4), build=p == 0.5)
    assert "DROPOUT" not in {r["type"] for r in net.layers()}
    assert not any(r["name"].startswith("1/") for r in net.layers())  # nn.Dropout emitted no layer


def test_dropout_alone_returns_its_input(parity):
    parity.check(nn.Dropout(0.3, inplace=True), torch.nn.Dropout(0.3, inplace=True), torch.randn(2, 5))


def test_functional_dropout(parity):
    parity.check(
        parity.Fn(lambda x: F.dropout(x, 0.2) * 2),
        lambda x: torch.nn.functional.dropout(x, 0.2, False) * 2,
        torch.randn(4),
    )


def test_functional_dropout_in_training_is_refused():
    with pytest.raises(netdef.EmitError, match="training=True has no meaning"):
        netdef.define(_Train(), {"x": netdef.Input((2,))})


class _Train(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.5, training=True)
