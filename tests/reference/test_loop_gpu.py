"""Loops on a GPU: TensorRT's engine of each loop network (trip limits, reversed iterators, CONCATENATE /
REVERSE / LAST_VALUE outputs, WHILE conditions, LSTM/GRU/RNN layers) must compute what the reference
interpreter computes, at several run-time trip counts of one engine.

Every test is marked ``gpu`` and skips, saying why, where no engine can run (no CUDA GPU, or a GPU the
installed backend refuses: TensorRT-RTX does not run on Hopper).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef.runtime import current_gpu
from netdef.runtime.device import backend_supports

pytestmark = pytest.mark.gpu


def _need_engine() -> None:
    gpu = current_gpu()
    if gpu is None:
        pytest.skip("no CUDA GPU visible")
    if not backend_supports(gpu.compute_capability):
        pytest.skip(f"the installed TensorRT backend cannot run engines on compute capability {gpu.compute_capability}")


class _Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _sums(x):
    loop = F.Loop(x.shape[0])
    forward, backward = loop.add_iterator(x), loop.add_iterator(x, reverse=True)
    zeros = F.as_tensor(np.zeros(3, np.float32))
    fsum, bsum = loop.add_recurrence(zeros), loop.add_recurrence(zeros)
    fsum.set_next(fsum.value + forward)
    bsum.set_next(bsum.value + backward)
    return {
        "total": loop.add_loop_output(fsum.value, "last_value"),
        "prefix": loop.add_loop_output(fsum.next, "concatenate"),
        "suffix": loop.add_loop_output(bsum.next, "reverse"),
    }


def _doubling(x):
    loop = F.Loop(None)
    v = loop.add_recurrence(x)
    loop.add_trip_limit(F.amax(v.value, 0) < 100.0, "while")
    v.set_next(v.value * 2.0)
    return loop.add_loop_output(v.value, "last_value")


def _compare(net, engine, feeds, tol):
    got = engine.infer(feeds)
    want = netdef.reference.run(net, feeds)
    for name, w in want.items():
        assert got[name].shape == w.shape, name
        assert np.abs(got[name] - w).max() <= tol * max(np.abs(w).max(), 1e-6), name


def test_loop_outputs_and_reversed_iterators_match_at_several_trip_counts():
    _need_engine()
    net = netdef.define(_Fn(_sums), {"x": netdef.Input((-1, 3), min=(1, 3), max=(12, 3))})
    engine = netdef.Engine.from_bytes(netdef.build(net).data)
    for steps in (1, 5, 12):
        _compare(net, engine, {"x": np.random.default_rng(steps).standard_normal((steps, 3)).astype(np.float32)}, 1e-5)


def test_while_loop_matches():
    _need_engine()
    net = netdef.define(_Fn(_doubling), {"x": netdef.Input((2,))})
    engine = netdef.Engine.from_bytes(netdef.build(net).data)
    for x in ([3.0, 1.0], [150.0, 1.0]):
        _compare(net, engine, {"x": np.array(x, np.float32)}, 0.0)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_match_at_several_sequence_lengths(name, precision):
    _need_engine()
    reference = getattr(torch.nn, name)(5, 16, num_layers=2, bidirectional=True).eval()
    model = getattr(nn, name)(5, 16, num_layers=2, bidirectional=True)
    model.load_weights({k: v.numpy() for k, v in reference.state_dict().items()})

    def flat(x):
        out, h = model(x)
        return (out, *h) if isinstance(h, tuple) else (out, h)

    spec = netdef.Input((-1, 2, 5), min=(1, 2, 5), max=(12, 2, 5))
    net = netdef.define(_Fn(flat), {"x": spec}, precision=precision)
    engine = netdef.Engine.from_bytes(netdef.build(net).data)
    # TF32 may serve fp32 matrix multiplies: 1e-3 of the output's scale; fp16 as tests/nn/test_rnn.py
    tol = 1e-3 if precision == "fp32" else 1e-2
    for steps in (1, 7, 12):
        _compare(
            net, engine, {"x": np.random.default_rng(steps).standard_normal((steps, 2, 5)).astype(np.float32)}, tol
        )
