"""``@`` / netdef.functional.matmul against torch.matmul: 2-D, batched, broadcast batch dims, 1-D vectors."""

from __future__ import annotations

import operator
import re

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn as _Fn

CASES = [
    ((3, 4), (4, 5)),  # 2-D
    ((1, 7), (7, 1)),
    ((2, 3, 4), (2, 4, 5)),  # batched
    ((2, 2, 3, 4), (2, 2, 4, 6)),
    ((2, 3, 4), (1, 4, 5)),  # broadcast batch
    ((1, 3, 4), (6, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 6)),  # broadcast batch of different ranks
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((4,), (4,)),  # 1-D vectors: dot product
    ((3, 4), (4,)),  # matrix-vector
    ((4,), (4, 5)),  # vector-matrix
    ((2, 3, 4), (4,)),  # batched matrix-vector
    ((2, 2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),  # vector-batched matrix
    ((4,), (3, 2, 4, 5)),
]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("sa", "sb"), CASES, ids=lambda s: "x".join(map(str, s)))
def test_matmul_operator_matches_torch(parity, sa, sb, precision):
    build = precision == "fp32" or sa == (2, 3, 4)
    parity.check(parity.Fn(operator.matmul), operator.matmul, torch.randn(sa), torch.randn(sb), precision=precision, build=build)  # fmt: skip


@pytest.mark.parametrize(
    ("sa", "sb", "layers"), [((4,), (4,), 1), ((3, 4), (4,), 1), ((2, 3, 4), (4,), 2), ((2, 3, 4), (4, 5), 2)]
)
def test_only_the_needed_layers_are_emitted(parity, sa, sb, layers):
    """Operands of equal batch rank go straight to the matmul; others get one reshape."""
    net = parity.define(parity.Fn(operator.matmul), torch.randn(sa), torch.randn(sb))
    types = [r["type"] for r in net.layers()]
    assert types[-1] == "MATRIX_MULTIPLY" and len(types) == layers


def test_functional_matmul_and_chain(parity):
    def expr(a, b, v):
        return F.matmul(a, b) @ v

    parity.check(parity.Fn(expr), lambda a, b, v: a @ b @ v, torch.randn(2, 3, 4), torch.randn(4, 5), torch.randn(5))


def test_attention_like_block(parity):
    def expr(q, k, v):
        return (q @ k.transpose(-1, -2) / 2.0).softmax(-1) @ v

    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    parity.check(parity.Fn(expr), expr, q, k, v, build=True)


@pytest.mark.parametrize(
    ("sa", "sb", "match"),
    [
        ((3, 4), (5, 6), "shapes (3, 4) and (5, 6) cannot be multiplied (4 != 5)"),
        ((4,), (5,), "shapes (4,) and (5,) cannot be multiplied (4 != 5)"),
        ((2, 3, 4), (3,), "shapes (2, 3, 4) and (3,) cannot be multiplied (4 != 3)"),
        ((2, 3, 4), (3, 4, 5), "shapes (2,) and (3,) cannot be broadcast together"),
    ],
)
def test_matmul_shape_errors(sa, sb, match):
    with pytest.raises(netdef.EmitError, match=re.escape(match)):
        netdef.define(_Fn(operator.matmul), {"a": netdef.Input(sa), "b": netdef.Input(sb)})


def test_matmul_dtype_and_operand_errors():
    with pytest.raises(netdef.EmitError, match=r"operands have different dtypes \(FLOAT `a` and INT32 `b`\)"):
        netdef.define(_Fn(operator.matmul), {"a": netdef.Input((2, 2)), "b": netdef.Input((2, 2), dtype="int32")})
    with pytest.raises(netdef.EmitError, match=r"`other` must be a netdef.Tensor, got float"):
        netdef.define(_Fn(lambda a: F.matmul(a, 2.0)), {"a": netdef.Input((2, 2))})
