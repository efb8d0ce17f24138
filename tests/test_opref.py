"""docs/ops.md is generated from the registries: stale docs and undocumented public ops fail here."""

from __future__ import annotations

import inspect

import pytest

import netdef.functional  # noqa: F401  (registers every op and Tensor method)
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
