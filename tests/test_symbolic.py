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


# -- what a symbolic size can and cannot do ------------------------------------------------------------

SEQ = netdef.Input((-1, -1, 4), min=(1, 2, 4), max=(4, 9, 4))


def _define(fn, spec=SEQ):
    class Probe(nn.Module):
        def forward(self, x):
            return fn(x)

    return netdef.define(Probe(), {"x": spec})


def test_sizes_are_never_minus_one():
    seen = {}

    def fn(x):
        B, T, C = x.shape
        seen.update(B=B, T=T, C=C, static=x.static_shape, numel=x.numel(), tail=x.shape[1:])
        return x

    _define(fn)
    assert isinstance(seen["B"], netdef.SymInt) and isinstance(seen["T"], netdef.SymInt) and seen["C"] == 4
    assert seen["static"] == (-1, -1, 4)
    assert isinstance(seen["tail"], netdef.Size) and seen["tail"][1] == 4
    assert (seen["T"].lo, seen["T"].hi) == (2, 9)  # bounds from the Input's profiles
    assert seen["T"] != -1 and seen["B"] >= 1  # decidable: sizes are never -1, B starts at 1


def test_decidable_comparisons_and_arithmetic():
    seen = {}

    def fn(x):
        _, T, _ = x.shape
        seen.update(
            gt=T + 1 > T,
            eq=(T * 2 - T) == T,
            zero=T - T,
            ge=T >= 2,
            le=T <= 9,
            big=T < 10,
            max=max(T, 1) is T,
            min=netdef.sym_min(T, 20) is T,
            mod1=T % 1,
            floordiv1=T // 1 is T,
            truthy=bool(T),
        )
        return x

    _define(fn)
    assert seen == {
        "gt": True, "eq": True, "zero": 0, "ge": True, "le": True, "big": True, "max": True, "min": True,
        "mod1": 0, "floordiv1": True, "truthy": True,
    }  # fmt: skip


MISUSE = {
    "range": (lambda x: [x[:, i] for i in range(x.shape[1])], r"range\(\), list indexing, numpy shapes"),
    "if": (lambda x: x * 2 if x.shape[1] > 4 else x, r"`x.shape\[1\] > 4` depends on the run-time size"),
    "int": (lambda x: x.view(int(x.shape[0]), -1), r"int\(\) needs a concrete value"),
    "numpy": (lambda x: x + F.as_tensor(np.zeros((x.shape[1], 4), np.float32)), r"numpy shapes"),
    "list-index": (lambda x: x * [1.0, 2.0, 3.0][x.shape[0]], r"list indexing"),
    "float": (lambda x: x * math.sqrt(x.shape[1]), r"float\(\)/math need a concrete value"),
    "true-div": (lambda x: x.view(x.shape[0] / 2, -1), r"true division makes a float; sizes stay ints: use //"),
    "max": (lambda x: x[:, : max(x.shape[1], 5)], r"netdef.sym_max/sym_min instead of max\(\)/min\(\)"),
    "len": (lambda x: x * len(x), r"len\(\) must return an int"),
}


@pytest.mark.parametrize("case", list(MISUSE))
def test_concrete_uses_name_the_module_and_line(case):
    fn, match = MISUSE[case]
    with pytest.raises(netdef.EmitError, match=match) as info:
        _define(fn)
    message = str(info.value)
    assert "module `<root>` (Probe)" in message
    assert f"{__file__}:" in message  # the user's source line, not netdef's
    assert "-1" not in message.split(":", 3)[-1].split("(")[0]


def test_run_time_shape_checks_name_the_module():
    network = _define(lambda x: x.view(x.shape[0], 3, -1))  # T * 4 must be a multiple of 3
    assert netdef.reference.run(network, {"x": np.zeros((2, 3, 4), np.float32)})["output"].shape == (2, 3, 4)
    with pytest.raises(netdef.InterpreterError, match=r"reshape in module `<root>` \(Probe\), at .*test_symbolic"):
        netdef.reference.run(network, {"x": np.zeros((2, 4, 4), np.float32)})


def test_expanding_a_dynamic_dim_checks_it_at_run_time():
    class Expand(nn.Module):
        def forward(self, x, y):
            return x.expand(y.shape[0], -1) + y

    spec = {
        "x": netdef.Input((-1, 3), min=(1, 3), max=(5, 3)),
        "y": netdef.Input((-1, 3), min=(1, 3), max=(5, 3)),
    }
    network = netdef.define(Expand(), spec)
    for a, b in [(1, 4), (4, 4), (1, 1)]:
        x, y = np.ones((a, 3), np.float32), np.arange(b * 3, dtype=np.float32).reshape(b, 3)
        np.testing.assert_array_equal(netdef.reference.run(network, {"x": x, "y": y})["output"], x + y)
    with pytest.raises(netdef.InterpreterError, match=r"expand in module `<root>` \(Expand\).*unless that is 1"):
        netdef.reference.run(network, {"x": np.ones((2, 3), np.float32), "y": np.ones((3, 3), np.float32)})


def test_bounds_cover_every_profile_and_any_number_of_dynamic_dims():
    spec = netdef.Input(
        (-1, -1, -1, 2),
        min=(1, 1, 1, 2),
        max=(2, 4, 3, 2),
        profiles=[((5, 8, 1, 2), (6, 8, 2, 2), (8, 16, 3, 2))],
    )
    seen = {}

    def fn(x):
        B, T, H, _ = x.shape
        seen.update(B=(B.lo, B.hi), T=(T.lo, T.hi), H=(H.lo, H.hi))
        return x.reshape(B * T, H, -1).flatten(1)[:, : H + 1]

    network = _define(fn, spec)
    assert seen == {"B": (1, 8), "T": (1, 16), "H": (1, 3)}
    for shape in [(1, 1, 1, 2), (2, 3, 3, 2), (7, 11, 2, 2), (8, 16, 3, 2)]:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        t = torch.from_numpy(x)
        want = t.reshape(shape[0] * shape[1], shape[2], -1).flatten(1)[:, : shape[2] + 1]
        np.testing.assert_array_equal(netdef.reference.run(network, {"x": x})["output"], want.numpy())


def test_the_float_advice_works_a_size_as_a_fill_value():
    """float(T) is refused, and what its message recommends (F.full / F.full_like with the size) runs."""
    with pytest.raises(netdef.EmitError, match=r"float\(\)/math need a concrete value") as info:
        _define(lambda x: x * float(x.shape[1]))
    assert "F.full((), size, dtype='float32')" in str(info.value) and "F.full_like(x, size)" in str(info.value)
    cases = {
        "0-d float": (
            lambda x: F.full((), x.shape[1], dtype="float32"),
            lambda x: torch.full((), x.shape[1], dtype=torch.float32),
        ),
        "int64": (lambda x: F.full((2,), x.shape[1] - 1), lambda x: torch.full((2,), x.shape[1] - 1)),
        "symbolic sizes": (
            lambda x: F.full((x.shape[0], x.shape[1]), x.shape[1] * 2, dtype="float32"),
            lambda x: torch.full((x.shape[0], x.shape[1]), x.shape[1] * 2, dtype=torch.float32),
        ),
        "full_like": (lambda x: F.full_like(x, x.shape[1]) * x, lambda x: torch.full_like(x, x.shape[1]) * x),
    }
    for ours, theirs in cases.values():
        network = _define(ours)
        for t in (2, 7):
            x = torch.randn(2, t, 4)
            want = theirs(x)
            got = netdef.reference.run(network, {"x": x.numpy()})["output"]
            assert got.dtype == want.numpy().dtype
            netdef.testing.assert_close(got, want)
