"""docs/ops.md is generated from the registries: stale docs and undocumented public ops fail here."""

from __future__ import annotations

import inspect

import pytest

import netdef
import netdef.functional
import netdef.nn as nn
from netdef._trt import BACKEND
from netdef.functional.registry import OPS
from netdef.opref import DOC, render
from netdef.tensor import Tensor


@pytest.mark.skipif(BACKEND != "tensorrt_rtx", reason="docs/ops.md lists TensorRT-RTX's layer types (CI's backend)")
def test_ops_md_is_current():
    assert DOC.is_file(), "docs/ops.md is missing: run `python -m netdef.opref --write`"
    assert DOC.read_text() == render(), "docs/ops.md is stale: run `python -m netdef.opref --write`"


def test_every_public_op_module_and_method_has_a_docstring():
    ops = [name for name, op in OPS.items() if not inspect.getdoc(op.function)]
    modules = [n for n in nn.__all__ if inspect.isclass(getattr(nn, n)) and not getattr(nn, n).__doc__]
    methods = [
        n for n, m in vars(Tensor).items()
        if not n.startswith("_") and (callable(m) or isinstance(m, property)) and not inspect.getdoc(m)
    ]  # fmt: skip
    assert not ops and not modules and not methods, f"no docstring: F {ops}, nn {modules}, Tensor {methods}"


def test_coverage_names_what_netdef_has_and_refuses_with_reasons():
    """docs/ops.md's coverage section: 'supported' names exist in netdef; every refusal rule is used."""
    import re

    import netdef.functional as F
    from netdef.functional.unsupported import REFUSALS, refusal
    from netdef.opref import coverage

    table = coverage()
    where = {"nn": nn, "F": F, "Tensor": Tensor}
    for kind, states in table.items():
        supported = [n for n, s in states.items() if s == "supported"]
        assert supported and all(hasattr(where[kind], n) for n in supported), kind
        for n, s in states.items():
            assert (s == "refused") == (refusal(f"{kind}.{n}") is not None), f"{kind}.{n}"
    assert table["nn"]["Conv2d"] == "supported" and table["F"]["mse_loss"] == "refused"
    assert table["Tensor"]["item"] == "refused" and table["Tensor"]["sort"] in ("missing", "supported")
    everything = [f"{kind}.{n}" for kind, states in table.items() for n in states]
    unused = [p for p, _ in REFUSALS if not any(re.fullmatch(p, q) for q in everything)]
    assert not unused, f"refusal rules that match no torch name: {unused}"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: netdef.F.mse_loss, r"netdef.functional has no `mse_loss`: a training loss"),
        (lambda: nn.LazyLinear, r"netdef.nn has no `LazyLinear`: infers its sizes from the first input"),
    ],
)
def test_refused_names_say_why(call, match):
    with pytest.raises(netdef.UnsupportedOpError, match=match):
        call()


def test_refused_tensor_method_says_why():
    from netdef.testing import Fn

    with pytest.raises(netdef.UnsupportedOpError, match=r"has no `item`: gives a Python value"):
        netdef.define(Fn(lambda x: x.item()), {"x": netdef.Input((1,))})
    with pytest.raises(netdef.UnsupportedOpError, match=r"has no `double`: .*TensorRT has no 64-bit float"):
        netdef.define(Fn(lambda x: x.double()), {"x": netdef.Input((1,))})
