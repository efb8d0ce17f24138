"""F.lstm / F.gru / F.rnn given weight lists: every weight's shape checked up front, named as torch names it."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import netdef
from netdef import F

FEATURES, HIDDEN = 3, 4
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
OPS = {"LSTM": F.lstm, "GRU": F.gru, "RNN": F.rnn}


def _weights(reference: torch.nn.Module) -> list[list[np.ndarray]]:
    """torch's weights per layer and direction (layer-major, forward first), as F.lstm/gru/rnn take them."""
    sd = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    out = []
    for layer in range(reference.num_layers):
        for suffix in ("", "_reverse")[: 2 if reference.bidirectional else 1]:
            out.append([sd[f"{k}_l{layer}{suffix}"] for k in NAMES])
    return out


def _define(mode: str, weights, num_layers: int = 2):
    def forward(x):
        return OPS[mode](x, None, weights, HIDDEN, num_layers=num_layers, bidirectional=True)[0]

    return netdef.define(netdef.testing.Fn(forward), {"x": netdef.Input((5, 2, FEATURES))})


@pytest.mark.parametrize("mode", list(OPS))
def test_weights_in_torchs_shapes_match_torch(mode):
    reference = getattr(torch.nn, mode)(FEATURES, HIDDEN, num_layers=2, bidirectional=True).eval()
    x = torch.randn(5, 2, FEATURES)
    got = netdef.reference.run(_define(mode, _weights(reference)), {"x": x.numpy()})["output"]
    netdef.testing.assert_close(got, reference(x)[0])


# (weight set index, weight, wrong shape): a bias of one value (it would broadcast over every gate), a
# weight_hh of the wrong hidden size, a second layer's weight_ih sized for the network's input
WRONG = [(1, "bias_ih", lambda rows: (1,)), (0, "weight_hh", lambda rows: (rows, HIDDEN + 1)),
         (2, "weight_ih", lambda rows: (rows, FEATURES)), (3, "bias_hh", lambda rows: (rows, 1))]  # fmt: skip


@pytest.mark.parametrize(("index", "name", "shape"), WRONG, ids=[w[1] for w in WRONG])
@pytest.mark.parametrize("mode", list(OPS))
def test_a_weight_of_the_wrong_shape_is_named(mode, index, name, shape):
    reference = getattr(torch.nn, mode)(FEATURES, HIDDEN, num_layers=2, bidirectional=True)
    weights = _weights(reference)
    rows = weights[0][0].shape[0]
    want = weights[index][NAMES.index(name)].shape  # torch's own shape
    bad = np.zeros(shape(rows), np.float32)
    weights[index][NAMES.index(name)] = bad
    torch_name = f"{name}_l{index // 2}" + ("_reverse" if index % 2 else "")
    message = f"{torch_name} has shape {bad.shape}, expected {want}"
    with pytest.raises(netdef.EmitError, match=re.escape(message)):
        _define(mode, weights)


def test_the_number_of_weight_sets_and_their_size_are_checked():
    weights = _weights(torch.nn.GRU(FEATURES, HIDDEN, num_layers=2, bidirectional=True))
    with pytest.raises(netdef.EmitError, match=r"expected 4 weight sets \(num_layers=2 x 2 direction\(s\)"):
        _define("GRU", weights[:3])
    weights[1] = weights[1][:2]
    with pytest.raises(netdef.EmitError, match=r"weight set 1 \(layer 0, reverse\) must be \(weight_ih, weight_hh"):
        _define("GRU", weights)
