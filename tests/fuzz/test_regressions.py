"""Failures the differential fuzzer found (tests/fuzz/generate.py), each as its minimal program.

Each test names the seed and generator run that found it; the program is written out by hand (a seed's
program changes when the generator does) and checked through the same harness: netdef's interpreter
against torch, at both sizes of any dynamic dim. A failure that cannot be fixed where it was found is
marked ``xfail(strict=True, reason=...)`` until it is.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest


def _load_generator():
    name = "netdef_fuzz_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("generate.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


gen = _load_generator()
Step, Ref, C = gen.Step, gen.Ref, gen.C


def _ok(case) -> None:
    result = gen.check_case(case)
    assert result == "ok", result


def test_arithmetic_of_two_bool_tensors():
    """Seed 7039 (first run): ``mask * mask`` leaked TensorRT's "PROD requires inputs with type kFLOAT..."
    Now torch's meaning: ``*`` and ``minimum`` are and, ``+`` and ``maximum`` are or, all bool."""
    case = gen.program(
        {"x": ((-1, 4), (2, 4), (5, 4)), "y": (1, 4)},
        [
            Step("gt", (Ref("x"), 0), {}, "v1"),
            Step("lt", (Ref("y"), 0.5), {}, "v2"),
            Step("op:mul", (Ref("v1"), Ref("v2")), {}, "v3"),
            Step("op:add", (Ref("v1"), Ref("v2")), {}, "v4"),
            Step("maximum", (Ref("v2"), Ref("v1")), {}, "v5"),
            Step("minimum", (Ref("v1"), Ref("v2")), {}, "v6"),
        ],
        ["v3", "v4", "v5", "v6"],
    )
    _ok(case)


def test_bool_times_a_number_promotes_as_torch():
    """Seed 7039's neighbour: torch promotes ``mask * 2`` to int64 (netdef refused it before type promotion)."""
    case = gen.program(
        {"x": (2, 3)}, [Step("gt", (Ref("x"), 0), {}, "v1"), Step("mul", (Ref("v1"), 2), {}, "v2")], ["v2"]
    )
    _ok(case)


def test_amax_amin_of_a_bool_tensor():
    """Seeds 5141 and 7124: ``amax``/``amin`` of a comparison leaked TensorRT's "input has type Bool"."""
    case = gen.program(
        {"x": ((2, -1, 3), (2, 3, 3), (2, 6, 3))},
        [
            Step("gt", (Ref("x"), 0), {}, "v1"),
            Step("amax", (Ref("v1"),), {"dim": 1, "keepdim": True}, "v2"),
            Step("amin", (Ref("v1"),), {"dim": (0, 2), "keepdim": False}, "v3"),
        ],
        ["v2", "v3"],
    )
    _ok(case)


def test_a_constant_that_fp16_makes_zero_is_refused():
    """Probing the fuzzer's fp16 cases: ``x * 1e-8`` gave zeros in fp16 without a word (1e5 was refused)."""
    case = gen.program({"x": (1, 4)}, [Step("op:mul", (Ref("x"), 1e-8), {}, "v1")], ["v1"], precision="fp16")
    result = gen.check_case(case)
    assert result.startswith("refused: EmitError") and "every nonzero value would become 0" in result, result


def test_the_harness_checks_a_conv_batch_norm_fold_read_twice():
    """The fold pattern the generator draws on purpose: ``bn(conv(x)) + conv(x)`` with folding on."""
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3
    case = gen.program(
        {"x": ((1, 3, -1, -1), (1, 3, 5, 6), (1, 3, 8, 7))},
        [
            Step("conv2d", (Ref("x"), gen.W(w), None), {"padding": 1}, "v1"),
            Step("nn:BatchNorm2d", (Ref("v1"),), {}, "v2", module=((4,), {})),
            Step("op:add", (Ref("v2"), Ref("v1")), {}, "v3"),
        ],
        ["v3"],
        fold=True,
    )
    _ok(case)
    types = [row["type"] for row in gen.define_case(case, gen.torch_modules(case)[1]).layers()]
    assert types.count("CONVOLUTION") == 2 and "SCALE" not in types, types  # folded, and the conv emitted again


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_hand_written_cases_run_in_both_precisions(precision):
    """``program`` itself: a two-input broadcast with a Python scalar, at both precisions."""
    case = gen.program(
        {"x": ((-1, 3, 4), (1, 3, 4), (3, 3, 4)), "y": (1, 1, 4)},
        [Step("op:sub", (2.0, Ref("x")), {}, "v1"), Step("mul", (Ref("v1"), Ref("y")), {}, "v2")],
        ["v2"],
        precision=precision,
    )
    _ok(case)


def test_an_in_place_operator_is_seen_by_every_alias():
    """Found writing the fuzzer's operator steps: ``z = y; y += 1; return z`` is ``y + 1`` in torch (an
    in-place write every alias sees), but netdef rebound ``y`` and returned the old value without a word.
    In-place writes now rebind the proxy itself (and views of it), as torch's aliasing has it."""
    case = gen.program(
        {"x": (2, 3)},
        [
            Step("op:mul", (Ref("x"), 2.0), {}, "v1"),
            Step("op:iadd", (Ref("v1"), 1.0), {}, "v2"),  # v2 is v1 itself in torch
            Step("op:mul", (Ref("v1"), 3.0), {}, "v3"),  # reads v1 after the in-place add
        ],
        ["v3"],
    )
    _ok(case)
