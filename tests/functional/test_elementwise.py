"""Tensor arithmetic (+ - * / and unary minus) and netdef.functional's elementwise ops against torch."""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn

OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}

# broadcasting pairs, including different ranks on either side
SHAPES = [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 1, 4), (3, 1)),
    ((3, 1), (2, 1, 4)),
    ((2, 3, 4, 5), (3, 1, 5)),
    ((1, 5), (6, 1)),
    ((2, 3, 4), (1,)),
    ((5,), (5,)),
]


def _operands(sa, sb):
    # the divisor stays away from zero
    return torch.randn(sa), torch.randn(sb).abs() + 0.5


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("sa", "sb"), SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("op", list(OPS))
def test_tensor_tensor_broadcasting(parity, op, sa, sb, precision):
    fn = OPS[op]
    build = precision == "fp32" and sa == (2, 3, 4, 5)
    parity.check(parity.Fn(fn), fn, *_operands(sa, sb), precision=precision, build=build)


SCALARS = [2, -3, 0.5, 1e-3, -2.25]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("op", list(OPS))
def test_tensor_and_python_scalar(parity, op, side, scalar, precision):
    fn = OPS[op]

    def expr(x):
        return fn(x, scalar) if side == "right" else fn(scalar, x)

    x = torch.randn(2, 3, 4).abs() + 0.5 if side == "left" else torch.randn(2, 3, 4)
    parity.check(parity.Fn(expr), expr, x, precision=precision, build=precision == "fp32" and scalar == 2)


def test_scalar_on_a_vector_and_a_matrix(parity):
    for shape in [(7,), (3, 4)]:
        parity.check(parity.Fn(lambda x: 1 - x * 2 / 4 + 3), lambda x: 1 - x * 2 / 4 + 3, torch.randn(shape))


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_unary_minus(parity, precision):
    parity.check(parity.Fn(lambda x: -x), lambda x: -x, torch.randn(2, 5), precision=precision, build=True)
    parity.check(parity.Fn(lambda x, y: -(x - y) * -y), lambda x, y: -(x - y) * -y, torch.randn(3, 1), torch.randn(4))


def test_expression_chain(parity):
    def expr(a, b, c):
        return (a + b) * c - a / (b * b + 1) + 2 * c - 1

    parity.check(parity.Fn(expr), expr, torch.randn(2, 3, 4), torch.randn(3, 1), torch.randn(4), build=True)


# F.add/sub/mul/div/maximum/minimum/pow against torch (broadcasting, ints, dynamic, methods): their samples in
# netdef/opsamples/elementwise.py, run by tests/functional/test_opinfo.py. Here: what torch has no call for.


@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum", "minimum"])
def test_functional_ops_with_scalars(parity, name):
    """netdef takes Python numbers where torch.maximum/minimum want tensors."""
    fn, ref = getattr(F, name), getattr(torch, name)
    parity.check(
        parity.Fn(lambda x: fn(fn(x, 0.25), -1)),
        lambda x: ref(ref(x, torch.tensor(0.25)), torch.tensor(-1.0)),
        torch.randn(5, 2),
    )


# --------------------------------------------------------------------------------------- integer tensors
INT_EXPRS = {
    "add": lambda x: x + 2,
    "rsub": lambda x: 7 - x,
    "mul": lambda x: x * -3,
    "neg": lambda x: -x,
    "tensor-tensor": lambda x: x * x + x,
}


@pytest.mark.parametrize("name", list(INT_EXPRS))
def test_int32_arithmetic(parity, name):
    expr = INT_EXPRS[name]
    x = torch.randint(-50, 50, (3, 4), dtype=torch.int32)
    net = parity.define(parity.Fn(expr), x)
    got = parity.run(net, x)
    want = expr(x)
    assert got.dtype == "int32" and want.dtype == torch.int32
    parity.assert_close(got, want)


def test_int32_true_division_is_float_like_torch(parity):
    """torch's ``/`` of integer tensors is true division with a float32 result, not C division."""
    x = torch.tensor([[-7, -6, 5, 9]], dtype=torch.int32)
    y = torch.tensor([2, 4, -3, 9], dtype=torch.int32)
    for expr in (lambda a, b: a / b, lambda a, b: a / 2, lambda a, b: 3 / b, lambda a, b: a / 2.5):
        net = parity.define(parity.Fn(expr), x, y)
        want = expr(x, y)
        assert want.dtype == torch.float32
        parity.assert_close(parity.run(net, x, y), want)


# ------------------------------------------------------------------------------------- type promotion
# torch's result types: int with float is float, bool with int is int64, the wider of two ints or floats,
# a 0-d tensor or a Python number decides only when its category (bool < int < float) is higher
PROMOTION = {
    "int32+0.5": (lambda x, i, b: i + 0.5, None),
    "0.5*int32": (lambda x, i, b: 0.5 * i, None),
    "float*int32": (lambda x, i, b: x * i, None),
    "int32-float": (lambda x, i, b: i - x, None),
    "int32+int64": (lambda x, i, b: i + b.long(), None),
    "int32+int64-0d": (lambda x, i, b: i + b.long()[0], None),
    "int32+float-0d": (lambda x, i, b: i + x[0, 0], None),
    "half+float": (lambda x, i, b: x.half() + x, None),
    "half+float-0d": (lambda x, i, b: x.half() + x[0, 0], None),
    "bool+1": (lambda x, i, b: (x > 0) + 1, None),
    "3*bool": (lambda x, i, b: 3 * (x > 0), None),
    "bool*1.5": (lambda x, i, b: (x > 0) * 1.5, None),
    "bool+bool": (lambda x, i, b: (x > 0) + (x < 0.5), None),
    "bool*bool": (lambda x, i, b: (x > 0) * (x < 0.5), None),
    "bool>bool": (lambda x, i, b: (x > 0) > (i > 0), None),
    "bool<=bool": (lambda x, i, b: (x > 0) <= (i > 0), None),
    "bool+int32": (lambda x, i, b: (x > 0) + i, None),
    "int32>0.5": (lambda x, i, b: i > 0.5, None),
    "int32==float": (lambda x, i, b: i == x.round(), None),
    "maximum": (lambda x, i, b: None, lambda x, i, b: ("maximum", i, x)),
    "where": (lambda x, i, b: None, lambda x, i, b: ("where", x > 0, i, x)),
    "where-int-0.5": (lambda x, i, b: None, lambda x, i, b: ("where", x > 0, i, 0.5)),
    "masked_fill-int": (lambda x, i, b: i.masked_fill(x > 0, 2.7), None),
    "pow-int-float": (lambda x, i, b: i.abs() ** 0.5, None),
    "int32/int32": (lambda x, i, b: i / (b.abs() + 1), None),
}


def _ours_and_theirs(name):
    expr, call = PROMOTION[name]
    if call is None:
        return expr, expr
    op = lambda x, i, b: call(x, i, b)[0]  # noqa: E731
    return (
        lambda x, i, b: getattr(F, op(x, i, b))(*call(x, i, b)[1:]),
        lambda x, i, b: getattr(torch, op(x, i, b))(*call(x, i, b)[1:]),
    )


@pytest.mark.parametrize("name", list(PROMOTION))
def test_type_promotion_follows_torch(name):
    ours, theirs = _ours_and_theirs(name)
    x = torch.randn(3, 4) * 3
    i = torch.randint(-5, 6, (3, 4), dtype=torch.int32)
    b = torch.randint(-5, 6, (4,), dtype=torch.int32)
    want = theirs(x, i, b)
    net = netdef.testing.define_like(netdef.testing.Fn(ours), x, i, b)
    got = netdef.testing.run(net, x, i, b)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.") or (
        want.dtype == torch.float16 and got.dtype == np.float32  # float outputs are float32
    ), f"{got.dtype} != torch's {want.dtype}"
    netdef.testing.assert_close(
        got, want.float() if want.dtype == torch.float16 else want, "fp16" if "half" in name else "fp32"
    )


def test_promotion_with_a_dynamic_shape():
    spec = {
        "x": netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3)),
        "i": netdef.Input((-1, 3), "int32", min=(1, 3), opt=(2, 3), max=(8, 3)),
    }
    network = netdef.define(netdef.testing.Fn(lambda x, i: (i + 0.5) * x + (x > 0)), spec)
    for n in (2, 5):
        x, i = torch.randn(n, 3), torch.randint(-5, 5, (n, 3), dtype=torch.int32)
        got = netdef.reference.run(network, {"x": x.numpy(), "i": i.numpy()})["output"]
        netdef.testing.assert_close(got, (i + 0.5) * x + (x > 0))


# --------------------------------------------------------------------------------------------- errors
def _define(fn, *shapes_dtypes):
    class Model(nn.Module):
        def forward(self, *xs):
            return fn(*xs)

    inputs = {f"x{i}": netdef.Input(s, dtype=d) for i, (s, d) in enumerate(shapes_dtypes)}
    return netdef.define(Model(), inputs)


def test_bool_subtraction_is_refused_as_in_torch():
    with pytest.raises(netdef.EmitError, match=r"sub of two bool tensors is not defined.*cast them with .int\(\)"):
        _define(lambda x: (x > 0) - (x < 1), ((2,), "float32"))
    with pytest.raises(netdef.EmitError, match=r"-x of the bool tensor .* use ~x"):
        _define(lambda x: -(x > 0), ((2,), "float32"))


#: torch keeps these bool: + and maximum are or, * and minimum are and (found by tests/fuzz, seed 7039)
BOOL_EXPRS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "maximum": lambda a, b: F.maximum(a, b) if isinstance(a, netdef.Tensor) else torch.maximum(a, b),
    "minimum": lambda a, b: F.minimum(a, b) if isinstance(a, netdef.Tensor) else torch.minimum(a, b),
    "mul-python-bool": lambda a, b: True * a * b,
}


@pytest.mark.parametrize("name", list(BOOL_EXPRS))
def test_arithmetic_of_two_bools_stays_bool_as_torch(name):
    from netdef.testing import Fn, check

    fn = BOOL_EXPRS[name]
    x, y = torch.randn(3, 4), torch.randn(4)
    net = check(Fn(lambda x, y: fn(x > 0, y < 0).to("float32")), lambda x, y: fn(x > 0, y < 0).float(), x, y)
    assert {row["type"] for row in net.layers()} >= {"ELEMENTWISE"}


def test_non_number_operand_is_refused():
    with pytest.raises(netdef.EmitError, match=r"expected a netdef.Tensor or a Python number, got str"):
        _define(lambda x: x + "1", ((2,), "float32"))


def test_two_scalars_are_refused():
    with pytest.raises(netdef.EmitError, match=r"at least one operand must be a netdef.Tensor"):
        _define(lambda x: F.add(1, 2), ((2,), "float32"))


@pytest.mark.parametrize(("sa", "sb"), [((2, 3), (4,)), ((2, 3, 4), (3, 3, 4)), ((5,), (2, 4))])
def test_shapes_that_do_not_broadcast_are_refused(sa, sb):
    with pytest.raises(netdef.EmitError, match=re.escape(f"shapes {sa} and {sb} cannot be broadcast together")):
        _define(operator.add, (sa, "float32"), (sb, "float32"))


# 0-d tensors combined with Python numbers (and with each other) stay 0-d, as in torch:
# (netdef expression, torch expression); both get the same (2, 3) input
ZERO_DIM = {
    "sum*2": (lambda x: x.sum() * 2, lambda x: x.sum() * 2),
    "2*sum": (lambda x: 2 * x.sum(), lambda x: 2 * x.sum()),
    "mean+1": (lambda x: x.mean() + 1, lambda x: x.mean() + 1),
    "1-mean": (lambda x: 1 - x.mean(), lambda x: 1 - x.mean()),
    "1/mean": (lambda x: 1 / (x.abs().mean() + 0.5), lambda x: 1 / (x.abs().mean() + 0.5)),
    "-sum": (lambda x: -x.sum(), lambda x: -x.sum()),
    "item*2": (lambda x: x[0, 0] * 2, lambda x: x[0, 0] * 2),
    "sum>0": (lambda x: x.sum() > 0, lambda x: x.sum() > 0),
    "where": (lambda x: F.where(x[0, 0] > 0, x[0, 1], 0.5), lambda x: torch.where(x[0, 0] > 0, x[0, 1], 0.5)),
    "where-numbers": (lambda x: F.where(x.sum() > 0, 1.0, -1.0), lambda x: torch.where(x.sum() > 0, 1.0, -1.0)),
    "clamp": (lambda x: x.sum().clamp(-0.5, 0.5), lambda x: x.sum().clamp(-0.5, 0.5)),
    "maximum": (lambda x: F.maximum(x.sum(), x[1, 2] * 3), lambda x: torch.maximum(x.sum(), x[1, 2] * 3)),
    "full": (lambda x: F.full((), 1.5) * x.mean(), lambda x: torch.full((), 1.5) * x.mean()),
    "as_tensor": (lambda x: x.sum() + F.as_tensor(2.0), lambda x: x.sum() + torch.as_tensor(2.0)),
    "stack": (lambda x: F.stack([x.sum() * 2, x.mean() + 1]), lambda x: torch.stack([x.sum() * 2, x.mean() + 1])),
    "stack-last": (
        lambda x: F.stack([x[0, 0] - 1, x.amax() * 2], dim=-1),
        lambda x: torch.stack([x[0, 0] - 1, x.amax() * 2], dim=-1),
    ),
    "0-d+tensor": (lambda x: x.mean() * 2 + x, lambda x: x.mean() * 2 + x),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(ZERO_DIM))
def test_zero_dim_tensors_stay_zero_dim(parity, case, precision):
    ours, theirs = ZERO_DIM[case]
    x = torch.tensor([[0.5, -1.25, 2.0], [0.75, -0.5, 1.5]])  # sums and means away from 0 (fp16's error is relative)
    parity.check(parity.Fn(ours), theirs, x, precision=precision)  # compares shapes too


def test_zero_dim_scalar_with_a_symbolic_size_stays_zero_dim():
    spec = netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3))
    network = netdef.define(netdef.testing.Fn(lambda x: x.sum() / x.shape[0] + 1), {"x": spec})
    assert tuple(network.network.get_output(0).shape) == ()
    for n in (2, 5):
        x = torch.randn(n, 3)
        got = netdef.reference.run(network, {"x": x.numpy()})["output"]
        netdef.testing.assert_close(got, x.sum() / n + 1)


def test_an_engine_whose_output_is_zero_dim_builds_with_a_zero_dim_output():
    network = netdef.define(netdef.testing.Fn(lambda x: x.sum() * 2 + F.full((), 1.5)), {"x": netdef.Input((2, 3))})
    assert tuple(network.network.get_output(0).shape) == ()
    built = netdef.build(network)  # the real builder accepts the 0-d constant and output
    assert built.metadata["outputs"] == [{"name": "output", "shape": [], "dtype": "float32"}]


# ---------------------------------------------------------------------------- //, %, fmod, rounding modes
DIVISIONS = {
    "a//b": lambda a, b: a // b,
    "a//3": lambda a, b: a // 3,
    "-7//b": lambda a, b: -7 // b,
    "a%b": lambda a, b: a % b,
    "a%-3": lambda a, b: a % -3,
    "7%b": lambda a, b: 7 % b,
    "remainder": lambda a, b: (F if isinstance(a, netdef.Tensor) else torch).remainder(a, b),
    "fmod": lambda a, b: (F if isinstance(a, netdef.Tensor) else torch).fmod(a, b),
    "fmod-method": lambda a, b: a.fmod(-3),
    "floor_divide": lambda a, b: a.floor_divide(b),
    "div-trunc": lambda a, b: (F if isinstance(a, netdef.Tensor) else torch).div(a, b, rounding_mode="trunc"),
    "div-floor": lambda a, b: (F if isinstance(a, netdef.Tensor) else torch).div(a, b, rounding_mode="floor"),
    "div-method-trunc": lambda a, b: a.div(2, rounding_mode="trunc"),
    "int//float": lambda a, b: a // 2.5,
}


def _division_operands(dtype):
    if dtype == torch.int32:
        a = torch.tensor([[-7, -6, -1, 0, 1, 5, 9, 13]], dtype=dtype).repeat(2, 1)
        b = torch.tensor([2, -4, 3, -3, 2, -2, 4, -5], dtype=dtype)
    else:
        a = torch.tensor([[-7.5, -6.0, -0.25, 0.0, 1.0, 5.5, 9.0, 13.25]]).repeat(2, 1)
        b = torch.tensor([2.0, -4.0, 3.0, -3.0, 0.75, -2.5, 4.0, -5.0])
    return a, b


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32])
@pytest.mark.parametrize("name", list(DIVISIONS))
def test_division_and_modulo_follow_torch(name, dtype):
    """Floor division and Python's modulo (sign of the divisor); fmod and trunc keep the dividend's sign."""
    expr = DIVISIONS[name]
    a, b = _division_operands(dtype)
    want = expr(a, b)
    net = netdef.testing.define_like(netdef.testing.Fn(expr), a, b)
    got = netdef.testing.run(net, a, b)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch."), f"{got.dtype} != torch's {want.dtype}"
    netdef.testing.assert_close(got, want)


@pytest.mark.parametrize("name", ["a//b", "a%b", "fmod", "div-trunc"])
def test_division_fp16_and_build(parity, name):
    a, b = _division_operands(torch.float32)
    parity.check(parity.Fn(DIVISIONS[name]), DIVISIONS[name], a, b, precision="fp16", build=name in ("a//b", "a%b"))


def test_floor_division_with_a_dynamic_shape():
    spec = netdef.Input((-1, 4), "int32", min=(1, 4), opt=(2, 4), max=(8, 4))
    network = netdef.define(netdef.testing.Fn(lambda x: x // 3 + x % -4), {"x": spec})
    for n in (2, 5):
        x = torch.randint(-20, 20, (n, 4), dtype=torch.int32)
        got = netdef.reference.run(network, {"x": x.numpy()})["output"]
        netdef.testing.assert_close(got, x // 3 + x % -4)


def test_bad_rounding_mode_is_refused():
    with pytest.raises(netdef.EmitError, match=r"rounding_mode must be None, 'trunc' or 'floor', got 'round'"):
        _define(lambda x: F.div(x, 2, rounding_mode="round"), ((2,), "float32"))


def test_promoted_networks_build():
    """The builder takes what promotion emits: casts, bool comparisons (as int32), or/and for bool arithmetic,
    int64 running sums of a mask, integer floor division."""

    def expr(x, i):
        mask = x > 0
        return ((i + 0.5) * x + (mask > (i > 0)) + mask * (x < 1) + mask.cumsum(1) + i // 3 + i % -4).sum()

    x, i = torch.randn(2, 3), torch.randint(-5, 6, (2, 3), dtype=torch.int32)
    network = netdef.testing.check(netdef.testing.Fn(expr), expr, x, i)
    netdef.testing.build_engine(network)


METHODS = {
    "add-alpha": lambda x, y: x.add(y, alpha=2),
    "F.add-alpha": lambda x, y: (F if isinstance(x, netdef.Tensor) else torch).add(x, 3, alpha=-0.5),
    "sub-alpha": lambda x, y: x.sub(y, alpha=0.5),
    "subtract": lambda x, y: (F if isinstance(x, netdef.Tensor) else torch).subtract(x, y),
    "mul": lambda x, y: x.mul(0.5) + x.mul(y),
    "multiply": lambda x, y: (F if isinstance(x, netdef.Tensor) else torch).multiply(x, y),
    "div": lambda x, y: x.div(y.abs() + 1),
    "divide": lambda x, y: (F if isinstance(x, netdef.Tensor) else torch).divide(x, 2),
    "maximum": lambda x, y: x.maximum(y) + x.minimum(y),
    "where": lambda x, y: x.where(x > 0, y),
    "where-scalar": lambda x, y: x.where(x > y, 0.0),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_arithmetic_methods_and_aliases_follow_torch(name):
    x, y = torch.randn(3, 4), torch.randn(4)
    netdef.testing.check(netdef.testing.Fn(METHODS[name]), METHODS[name], x, y)
