"""Differential fuzzing: random small networks from the op registry, netdef's interpreter against torch.

Each case (tests/fuzz/generate.py) draws 2-8 steps over 1-2 inputs from its seed alone: unary and binary
elementwise ops (broadcasting, Python scalars, reflected operators), activations, comparisons and logical
ops, reductions with keepdim, shape ops and slicing, softmax, pooling, interpolation, convs, linears,
norms (batch norm folding on and off) as functional ops and as ``nn`` modules bound to torch's weights;
fp32 or fp16; static or dynamic dims (the interpreter runs at two sizes). A wrong answer or a crash fails
with the program and its seed; a clear refusal (a NetdefError at definition) passes.

``make test`` checks ``FUZZ_EXAMPLES`` cases (default 200, about 25 s of one core) and builds the first
``FUZZ_BUILDS`` (default 3) into engines; ``make fuzz`` checks 2000. ``FUZZ_SEED=N`` checks the one case N;
``FUZZ_START`` moves the first seed. A failure the fuzzer
finds becomes a named test in tests/fuzz/test_regressions.py.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from netdef.functional.registry import OPS


def _load_generator():
    """tests/fuzz/generate.py as a module (the test tree is not a package)."""
    name = "netdef_fuzz_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("generate.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


gen = _load_generator()

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
START = int(os.environ.get("FUZZ_START", "0"))
SEEDS = [int(os.environ["FUZZ_SEED"])] if os.environ.get("FUZZ_SEED") else range(START, START + EXAMPLES)
#: the first this many cases are also built into engines (TensorRT-RTX builds on CPU, ~1 s each)
BUILDS = int(os.environ.get("FUZZ_BUILDS", "3"))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_network_matches_torch(seed):
    result = gen.check_case(gen.case(seed), build=seed - START < BUILDS)
    assert result == "ok" or result.startswith("refused: "), result


def test_every_registered_op_is_sampled_or_says_why_not():
    sampled, skipped = set(gen.SAMPLES), set(gen.NOT_SAMPLED)
    assert not sampled & skipped, f"ops both sampled and listed as not sampled: {sorted(sampled & skipped)}"
    missing = set(OPS) - sampled - skipped
    assert not missing, (
        f"ops of the registry the fuzzer neither samples nor lists: {sorted(missing)}; add a sampler to "
        "SAMPLES in tests/fuzz/generate.py (or an entry with the reason to NOT_SAMPLED)"
    )
    unknown = (sampled | skipped) - set(OPS)
    assert not unknown, f"fuzzer tables name ops that are not registered: {sorted(unknown)}"


def test_a_seed_gives_one_case():
    for seed in (3, 11, 40):
        a, b = gen.case(seed), gen.case(seed)
        assert a.text() == b.text() and a.precision == b.precision and a.fold == b.fold
        for fa, fb in zip(a.feeds, b.feeds):
            assert all((fa[k] == fb[k]).all() for k in fa)
    assert gen.case(3).text() != gen.case(4).text()


def test_the_samplers_reach_most_ops():
    """Over a few dozen cases the generator draws most sampled ops (a sampler that never fits is dead)."""
    drawn = set()
    for seed in range(80):
        g = gen.Gen(seed, "fp32")
        drawn |= {s.sampler for s in gen._draw(g, seed, "fp32", True, 8).steps}
    dead = {op for op in gen.SAMPLES if op not in drawn}
    assert len(dead) < len(gen.SAMPLES) // 10, f"never drawn in 80 programs: {sorted(dead)}"


def test_a_wrong_answer_fails_with_the_program_and_seed(monkeypatch):
    """The harness itself: with relu's torch target swapped for gelu's, a relu case must fail and print
    the program and its seed."""
    monkeypatch.setitem(OPS, "relu", replace(OPS["relu"], torch="torch.nn.functional.gelu"))
    x = gen.np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    case = gen.Case(
        seed=123,
        precision="fp32",
        fold=True,
        inputs={"x": ((2, 5), (2, 5), (2, 5))},
        steps=[gen.Step("relu", (gen.Ref("x"),), {}, "v1")],
        outputs=["v1"],
        feeds=({"x": x}, {"x": x}),
    )
    with pytest.raises(AssertionError, match=r"(?s)elements off by more than.*seed=123.*v1 = F\.relu\(x\)"):
        gen.check_case(case)
