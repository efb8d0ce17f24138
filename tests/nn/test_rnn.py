"""nn.LSTM / nn.GRU / nn.RNN: torch's state_dict names, parity with torch through the reference interpreter
at several sequence lengths of one network (dynamic sequence dim), fp16, and real builds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn

FEATURES, HIDDEN, BATCH = 5, 8, 2
#: fp16: inputs, weights and every layer output rounded to half precision, through up to 12 steps of two
#: stacked bidirectional layers; observed <= 1.7e-3 of max|torch| (LSTM/GRU/RNN, three seeds): a 6x margin
FP16_TOL = 1e-2


@pytest.fixture(autouse=True)
def _one_thread():
    """Loop bodies run many tiny ops: on a busy machine torch's intra-op threads add a scheduler wake-up
    (tens of ms) to each one, so these tests run single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Flat(nn.Module):
    """Calls the recurrent module with an optional initial state and returns (output, h_n[, c_n]) flat."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x, *state):
        hx = None
        if state:
            hx = tuple(state) if len(state) == 2 else state[0]
        out, h = self.rnn(x, hx)
        return (out, *h) if isinstance(h, tuple) else (out, h)


def torch_outputs(module: torch.nn.Module, x: torch.Tensor, state=()) -> list[torch.Tensor]:
    hx = None
    if state:
        hx = tuple(state) if len(state) == 2 else state[0]
    with torch.no_grad():
        out, h = module(x, hx)
    return [out, *h] if isinstance(h, tuple) else [out, h]


def pair(name: str, **kwargs) -> tuple[torch.nn.Module, nn.Module]:
    reference = getattr(torch.nn, name)(FEATURES, HIDDEN, **kwargs).eval()
    model = getattr(nn, name)(FEATURES, HIDDEN, **kwargs)
    model.load_weights({k: v.numpy() for k, v in reference.state_dict().items()})
    return reference, model


def dynamic_input(batch_first: bool, longest: int = 12) -> netdef.Input:
    shape, lo, hi = (-1, BATCH, FEATURES), (1, BATCH, FEATURES), (longest, BATCH, FEATURES)
    if batch_first:
        shape, lo, hi = (shape[1], shape[0], shape[2]), (lo[1], lo[0], lo[2]), (hi[1], hi[0], hi[2])
    return netdef.Input(shape, min=lo, max=hi)


def check(net, reference, x, state=(), precision="fp32") -> None:
    feeds = {"x": x.numpy(), **{f"s{i}": s.numpy() for i, s in enumerate(state)}}
    got = netdef.reference.run(net, feeds)
    want = torch_outputs(reference, x, state)
    assert len(got) == len(want)
    tol = 1e-5 if precision == "fp32" else FP16_TOL
    for name, w in zip(net.outputs, want):
        w = w.numpy()
        assert got[name].shape == w.shape, name
        err = float(np.abs(got[name] - w).max())
        assert err <= tol * float(np.abs(w).max()), f"{name}: {err:.3g} > {tol} x {float(np.abs(w).max()):.3g}"


CASES = [
    ("LSTM", {}),
    ("GRU", {}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "bias": False}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("RNN", {"bidirectional": True, "batch_first": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{'-'.join(map(str, k.items()))}" for n, k in CASES])
def test_parity_with_torch_at_several_sequence_lengths_of_one_network(name, kwargs):
    reference, model = pair(name, **kwargs)
    batch_first = kwargs.get("batch_first", False)
    net = netdef.define(Flat(model), {"x": dynamic_input(batch_first)})
    for steps in (1, 5, 12):
        shape = (BATCH, steps, FEATURES) if batch_first else (steps, BATCH, FEATURES)
        check(net, reference, torch.randn(shape))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_initial_states_and_fp16(name):
    reference, model = pair(name, num_layers=2, bidirectional=True)
    count = 2 if name == "LSTM" else 1
    state_shape = (4, BATCH, HIDDEN)
    inputs = {"x": dynamic_input(False), **{f"s{i}": netdef.Input(state_shape) for i in range(count)}}
    state = [torch.randn(state_shape) for _ in range(count)]
    for precision in ("fp32", "fp16"):
        net = netdef.define(Flat(model), inputs, precision=precision)
        for steps in (3, 12):
            check(net, reference, torch.randn(steps, BATCH, FEATURES), state, precision)


def test_unbatched_input_and_dynamic_batch():
    reference, model = pair("LSTM")
    net = netdef.define(Flat(model), {"x": netdef.Input((-1, FEATURES), min=(1, FEATURES), max=(12, FEATURES))})
    check(net, reference, torch.randn(7, FEATURES))
    dynamic = netdef.Input((-1, -1, FEATURES), min=(1, 1, FEATURES), max=(12, 4, FEATURES))
    net = netdef.define(Flat(model), {"x": dynamic})
    for steps, batch in ((2, 1), (6, 3)):
        check(net, reference, torch.randn(steps, batch, FEATURES))


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_builds(name):
    _, model = pair(name, bidirectional=True)
    engine = netdef.build(netdef.define(Flat(model), {"x": dynamic_input(False)}))
    assert len(engine.data) > 0


def test_state_dict_names_are_torchs():
    model = nn.LSTM(FEATURES, HIDDEN, num_layers=2, bidirectional=True, bias=False)
    reference = torch.nn.LSTM(FEATURES, HIDDEN, num_layers=2, bidirectional=True, bias=False)
    assert {k: p.shape for k, p in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in reference.state_dict().items()
    }


def test_errors_name_the_problem():
    with pytest.raises(netdef.NetdefError, match="proj_size"):
        nn.LSTM(FEATURES, HIDDEN, proj_size=4)
    with pytest.raises(netdef.NetdefError, match="nonlinearity"):
        nn.RNN(FEATURES, HIDDEN, nonlinearity="gelu")
    _, model = pair("GRU")
    with pytest.raises(netdef.NetdefError, match=r"expected an input of shape \(L, N, 5\)"):
        netdef.define(Flat(model), {"x": netdef.Input((3, BATCH, FEATURES + 1))})
    with pytest.raises(netdef.NetdefError, match=r"h0 must have shape \(1, batch, 8\)"):
        netdef.define(Flat(model), {"x": netdef.Input((3, BATCH, FEATURES)), "s0": netdef.Input((2, BATCH, 8))})
