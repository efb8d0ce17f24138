"""split / chunk / unbind / stack / squeeze / unsqueeze / expand / expand_as / repeat against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn as _Fn


def _check_all(parity, fn, *xs, precision="fp32", build=False):
    """Every output of ``fn`` (a tuple of tensors) against torch's."""
    net = parity.define(parity.Fn(fn), *xs, precision=precision)
    got = netdef.reference.run(
        net, {name: x.numpy() for name, x in zip(["x"] if len(xs) == 1 else [f"x{i}" for i in range(len(xs))], xs)}
    )
    want = fn(*xs)
    assert len(got) == len(want)
    for i, w in enumerate(want):
        parity.assert_close(got[f"output{i}"], w, precision)
    if build:
        parity.build(net)


SPLITS = {
    "split-int": lambda x: x.split(2, 1),
    "split-int-uneven": lambda x: x.split(2),
    "split-int-bigger": lambda x: x.split(10, -1),
    "split-sizes": lambda x: x.split([1, 3, 1], dim=1),
    "split-sizes-zero": lambda x: (
        torch.split(x, [0, 5], dim=1) if isinstance(x, torch.Tensor) else F.split(x, [0, 5], 1)
    ),
    "chunk": lambda x: x.chunk(2, 2),
    "chunk-uneven": lambda x: x.chunk(3),
    "chunk-fewer": lambda x: F.chunk(x, 4, -1) if not isinstance(x, torch.Tensor) else torch.chunk(x, 4, -1),
    "unbind": lambda x: x.unbind(1),
    "unbind-functional": lambda x: F.unbind(x, -1) if not isinstance(x, torch.Tensor) else torch.unbind(x, -1),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_split_family(parity, name):
    _check_all(parity, SPLITS[name], torch.randn(3, 5, 6), build=name == "split-sizes")


def test_split_fp16_and_dynamic_batch(parity):
    _check_all(parity, SPLITS["chunk"], torch.randn(3, 5, 6), precision="fp16")
    net = netdef.define(parity.Fn(lambda x: x.split([2, 4], -1)), {"x": netdef.Input((-1, 6), min=(1, 6), max=(9, 6))})
    for n in (1, 7):
        x = torch.randn(n, 6)
        got = netdef.reference.run(net, {"x": x.numpy()})
        parity.assert_close(got["output0"], x[:, :2])
        parity.assert_close(got["output1"], x[:, 2:])
    parity.build(net)


EXPRS = {
    "stack": lambda x: torch.stack([x, x * 2, -x], 1) if isinstance(x, torch.Tensor) else F.stack([x, x * 2, -x], 1),
    "stack-last": lambda x: torch.stack([x, x], -1) if isinstance(x, torch.Tensor) else F.stack([x, x], -1),
    "stack-first": lambda x: torch.stack((x,), 0) if isinstance(x, torch.Tensor) else F.stack((x,), 0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "unsqueeze-end": lambda x: x.unsqueeze(-1),
    "unsqueeze-negative": lambda x: x.unsqueeze(-3),
    "squeeze-all": lambda x: x[:, :1].unsqueeze(0).squeeze(),
    "squeeze-dim": lambda x: x[:, :1].squeeze(1),
    "squeeze-not-one-is-kept": lambda x: x.squeeze(0),
    "squeeze-tuple": lambda x: x[:1, :1].squeeze((0, 1, 2)),
    "expand": lambda x: x[:, :1].expand(3, 4, 6),
    "expand-minus1": lambda x: x[:1].expand(-1, 5, -1).expand(2, -1, -1, -1),
    "expand-tuple": lambda x: x[:, :, :1].expand((3, 5, 4)),
    "expand-same": lambda x: x.expand(3, 5, 6) + 0,
    "expand-as": lambda x: x[0, :1].expand_as(x),
    "repeat": lambda x: x.repeat(2, 1, 3),
    "repeat-new-dims": lambda x: x[0].repeat(2, 2, 1),
    "repeat-ones": lambda x: x.repeat(1, 1, 1) + 0,
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(EXPRS))
def test_shape_ops(parity, name, precision):
    expr = EXPRS[name]
    build = precision == "fp32" and name in ("stack", "expand-minus1", "repeat", "squeeze-tuple")
    parity.check(parity.Fn(expr), expr, torch.randn(3, 5, 6), precision=precision, build=build)


DYNAMIC = {
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze-static-dim": lambda x: x.unsqueeze(2).squeeze(2),
    "expand": lambda x: x[:, :, None].expand(-1, -1, 3, -1),
    "expand-as": lambda x: x[:1, :1].expand_as(x),
    "expand-as-static-input": lambda x: x[:1, :1, :1].reshape(1, 1, 1).expand_as(x),
    "stack": lambda x: torch.stack([x, x + 1], 1) if isinstance(x, torch.Tensor) else F.stack([x, x + 1], 1),
}


@pytest.mark.parametrize("name", list(DYNAMIC))
def test_shape_ops_dynamic(parity, name):
    expr = DYNAMIC[name]
    net = netdef.define(parity.Fn(expr), {"x": netdef.Input((-1, 4, -1), min=(1, 4, 1), max=(6, 4, 7))})
    for shape in [(2, 4, 3), (5, 4, 7)]:
        x = torch.randn(shape)
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], expr(x))
    if name in ("expand", "expand-as"):
        parity.build(net)


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        (lambda x: x.split([2, 2]), r"split sizes \[2, 2\] must sum to the size 3 of dim 0"),
        (lambda x: x.split(0), r"split_size must be a positive int"),
        (lambda x: x.chunk(0), r"chunks must be a positive int"),
        (lambda x: F.stack([x, x[:, 1:]]), r"stack expects each tensor to be equal size"),
        (lambda x: F.stack([]), r"expected a non-empty sequence"),
        (lambda x: x.unsqueeze(4), r"dim 4 is out of range for a tensor of rank 4"),
        (lambda x: x.expand(3, 7, 6), r"the expanded size 7 must match the existing size 5 at non-singleton dim 1"),
        (lambda x: x.expand(5, 6), r"got 2 sizes \(5, 6\) for a tensor of rank 3"),
        (lambda x: x.expand(-1, 3, 5, 6), r"size -1 is not allowed for the new leading dim 0"),
        (lambda x: x.repeat(2, 2), r"got 2 repeats"),
        (
            lambda x: x[0].expand_as(x[:, :2]),
            r"the expanded size 2 must match the existing size 5 at non-singleton dim 1 \(target sizes \(3, 2, 6\)",
        ),
    ],
)
def test_errors(expr, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(expr), {"x": netdef.Input((3, 5, 6))})


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        (lambda x: x.squeeze(0), r"dim 0 of shape \(-1, 5\) is dynamic"),
        (lambda x: x.squeeze(), r"is dynamic"),
        (lambda x: x.split(1), r"gives a number of pieces only known at run time; give the piece sizes as a list"),
        (lambda x: x.unbind(0), r"size `x.shape\[0\]` is only known at run time"),
    ],
)
def test_dynamic_dim_errors(expr, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(expr), {"x": netdef.Input((-1, 5), min=(1, 5), max=(4, 5))})
