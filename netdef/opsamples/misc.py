"""Samples of the ops of the smaller families: cast, dropout, sym_check, linear/matmul, embedding."""

from __future__ import annotations

import torch

from netdef.opsamples import E, S, ints, randn, samples, weight

_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "int32": torch.int32, "int64": torch.int64}


def _to(x, dtype):
    return x.to(_TORCH_DTYPES[dtype])


@samples("cast")
def _cast():
    yield S(randn(3, 4, scale=5), "int32").also(ref=_to)
    yield S(ints(3, 4), "float32").also(ref=_to)
    yield S(randn(3, 4), "float16").also(ref=_to)
    yield S(ints(2, 3, dtype=torch.int32), "int64").also(ref=_to).dyn(0)


@samples("dropout")
def _dropout():  # torch's default is training=True (random); netdef's is False, an engine being inference-only
    yield S(randn(3, 4), training=False)
    yield S(randn(3, 4), 0.3, False)
    yield S(randn(2, 5), p=0.1, training=False).dyn(0)


def _checked(op, x):
    if op is not torch._check:
        op(x.shape[0], "!=", 3, "dim 0 must not be 3")
    return x * 1.0


@samples("sym_check")
def _sym_check():
    yield E(_checked, randn(2, 3)).also(fp16=False).dyn(0)  # undecided at define time: an IAssertionLayer


@samples("linear")
def _linear():
    yield S(randn(4, 7), weight(5, 7), weight(5))
    yield S(randn(7), weight(5, 7))
    yield S(randn(2, 3, 7), weight(5, 7), weight(5))
    yield S(randn(2, 3, 7), weight(5, 7), weight(5)).dyn(0, 1)


@samples("matmul")
def _matmul():
    yield S(randn(3, 4), randn(4, 5))
    yield S(randn(2, 3, 4), randn(4, 5))
    yield S(randn(4), randn(4, 5))
    yield S(randn(3, 4), randn(4))
    yield S(randn(2, 1, 3, 4), randn(5, 4, 2))
    yield S(randn(2, 3, 4), randn(2, 4, 5)).dyn(0, 1).dyn(0, input=1)


@samples("bmm")
def _bmm():
    yield S(randn(2, 3, 4), randn(2, 4, 5))
    yield S(randn(2, 3, 4), randn(2, 4, 5)).dyn(0).dyn(0, input=1)


@samples("embedding")
def _embedding():
    yield S(ints(2, 5, low=0, high=10, dtype=torch.int64), weight(10, 4))
    yield S(ints(6, low=0, high=10, dtype=torch.int32), weight(10, 4))
    yield S(ints(2, 5, low=0, high=10, dtype=torch.int64), weight(10, 4), padding_idx=0)
    yield S(ints(2, 5, low=0, high=10, dtype=torch.int64), weight(10, 4)).dyn(0, 1)


@samples("clone", "detach")
def _identity():
    yield S(randn(3, 4))
    yield S(randn(2, 5)).dyn(0)
