"""Loop and if-conditional semantics of the reference interpreter, on networks written with ``F.Loop`` and
with TensorRT's own API (``add_if_conditional``), each also built with the installed TensorRT.

Expected values are written out by hand or computed with numpy, never with the interpreter.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef._trt import NETWORK_FLAGS, builder, trt


@pytest.fixture(autouse=True)
def _one_thread():
    """Loop bodies run many tiny ops: on a busy machine torch's intra-op threads add a scheduler wake-up
    (tens of ms) to each one, so these tests run single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def define(fn, **inputs) -> netdef.Network:
    return netdef.define(Fn(fn), inputs)


def seq_input(features: int = 3, longest: int = 12) -> netdef.Input:
    return netdef.Input((-1, features), min=(1, features), max=(longest, features))


def test_counting_loop_last_value_is_the_trip_count():
    def count(x):
        loop = F.Loop(5)
        i = loop.add_recurrence(F.as_tensor(np.zeros(1, np.float32)))
        i.set_next(i.value + 1.0)
        return loop.add_loop_output(i.value, "last_value") + x

    net = define(count, x=netdef.Input((1,)))
    got = netdef.reference.run(net, {"x": np.zeros(1, np.float32)})["output"]
    np.testing.assert_array_equal(got, [5.0])
    netdef.build(net)


def test_zero_trips_leave_the_recurrence_at_its_initial_value_and_concatenate_nothing():
    def none(x):
        loop = F.Loop(0)
        acc = loop.add_recurrence(x)
        acc.set_next(acc.value * 2.0)
        return loop.add_loop_output(acc.value, "last_value"), loop.add_loop_output(acc.value, "concatenate")

    net = define(none, x=netdef.Input((2,)))
    got = netdef.reference.run(net, {"x": np.array([1.5, -2.0], np.float32)})
    np.testing.assert_array_equal(got["output0"], [1.5, -2.0])
    assert got["output1"].shape == (0, 2)


def _accumulate(x):
    """Running sums of x's rows forward and backward, over a dynamic number of rows."""
    loop = F.Loop(x.shape[0])
    forward = loop.add_iterator(x)
    backward = loop.add_iterator(x, reverse=True)
    zeros = F.as_tensor(np.zeros(3, np.float32))
    fsum = loop.add_recurrence(zeros)
    bsum = loop.add_recurrence(zeros)
    fsum.set_next(fsum.value + forward)
    bsum.set_next(bsum.value + backward)
    return {
        "total": loop.add_loop_output(fsum.value, "last_value"),
        "prefix": loop.add_loop_output(fsum.next, "concatenate"),
        "suffix": loop.add_loop_output(bsum.next, "reverse"),
        "by_column": loop.add_loop_output(bsum.next, "concatenate", axis=1),
    }


@pytest.fixture(scope="module")
def accumulate() -> netdef.Network:
    return define(_accumulate, x=seq_input())


@pytest.mark.parametrize("steps", [1, 4, 12])
def test_recurrence_with_concatenate_and_reverse_outputs_at_dynamic_trip_counts(accumulate, steps):
    x = np.random.default_rng(steps).standard_normal((steps, 3)).astype(np.float32)
    got = netdef.reference.run(accumulate, {"x": x})
    suffix = np.cumsum(x[::-1], axis=0)  # suffix sums, the last row's first
    np.testing.assert_allclose(got["total"], x.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["prefix"], np.cumsum(x, axis=0), rtol=1e-5, atol=1e-6)
    # REVERSE puts iteration i at position steps-1-i: row t holds the sum of rows t.. (aligned with x)
    np.testing.assert_allclose(got["suffix"], suffix[::-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["by_column"], suffix.T, rtol=1e-5, atol=1e-6)


def test_loop_network_builds(accumulate):
    netdef.build(accumulate)


def test_while_loop_stops_when_its_condition_turns_false():
    # doubles v while max(v) < 100: from 3 -> 6, 12, 24, 48, 96, 192 (six iterations)
    def doubling(x):
        loop = F.Loop(None)
        v = loop.add_recurrence(x)
        loop.add_trip_limit(F.amax(v.value, 0) < 100.0, "while")
        v.set_next(v.value * 2.0)
        steps = loop.add_recurrence(F.as_tensor(np.zeros((), np.int32)))
        steps.set_next(steps.value + 1)
        return loop.add_loop_output(v.value, "last_value"), loop.add_loop_output(steps.value, "last_value")

    net = netdef.define(
        Fn(doubling), {"x": netdef.Input((2,))}, output_dtype={"output0": "float32", "output1": "int32"}
    )
    got = netdef.reference.run(net, {"x": np.array([3.0, 1.0], np.float32)})
    np.testing.assert_array_equal(got["output0"], [192.0, 64.0])
    assert got["output1"].shape == () and got["output1"].item() == 6  # a 0-d recurrence stays 0-d
    got = netdef.reference.run(net, {"x": np.array([150.0, 1.0], np.float32)})  # false at once: no iteration
    np.testing.assert_array_equal(got["output0"], [150.0, 1.0])
    assert got["output1"].shape == () and got["output1"].item() == 0
    netdef.build(net)


def test_iterating_past_the_end_of_a_tensor_is_an_error():
    def too_long(x):
        loop = F.Loop(4)
        row = loop.add_iterator(x)
        acc = loop.add_recurrence(F.as_tensor(np.zeros(2, np.float32)))
        acc.set_next(acc.value + row)
        return loop.add_loop_output(acc.value, "last_value")

    net = define(too_long, x=netdef.Input((-1, 2), min=(1, 2), max=(8, 2)))
    with pytest.raises(netdef.InterpreterError, match=r"reads slice 3 of axis 0 .* shape \(3, 2\)"):
        netdef.reference.run(net, {"x": np.ones((3, 2), np.float32)})


def test_nested_loops_are_refused_naming_the_layer():
    def nested(x):
        outer = F.Loop(2)
        row = outer.add_iterator(x)
        inner = F.Loop(3)
        acc = inner.add_recurrence(row)
        acc.set_next(acc.value + row)
        total = outer.add_recurrence(F.as_tensor(np.zeros(2, np.float32)))
        total.set_next(total.value + inner.add_loop_output(acc.value, "last_value"))
        return outer.add_loop_output(total.value, "last_value")

    net = define(nested, x=netdef.Input((2, 2)))
    with pytest.raises(netdef.InterpreterError, match="nested loops are not supported"):
        netdef.reference.run(net, {"x": np.ones((2, 2), np.float32)})


# -- if-conditionals (TensorRT's API: condition, input and output layers) ------------------------------


def _if_network(in_loop: bool) -> tuple[trt.INetworkDefinition, list]:
    """y = x * 2 if sum(x) > 0 else x - 1; with ``in_loop`` applied to each row of x inside a loop."""
    network = builder().create_network(NETWORK_FLAGS)
    keep = [np.zeros((1,), np.float32), np.full((1,), 2.0, np.float32), np.ones((1,), np.float32)]
    x = network.add_input("x", trt.float32, (4, 3))
    loop = None
    value = x
    if in_loop:
        loop = network.add_loop()
        count = network.add_constant((), trt.Weights(np.array(4, np.int64)))
        keep.append(np.array(4, np.int64))
        loop.add_trip_limit(count.get_output(0), trt.TripLimit.COUNT)
        value = loop.add_iterator(x).get_output(0)
    rank = len(value.shape)
    total = network.add_reduce(value, trt.ReduceOperation.SUM, (1 << rank) - 1, False).get_output(0)
    zero = network.add_constant((), trt.Weights(keep[0].reshape(()))).get_output(0)
    positive = network.add_elementwise(total, zero, trt.ElementWiseOperation.GREATER).get_output(0)
    conditional = network.add_if_conditional()
    conditional.set_condition(positive)
    inside = conditional.add_input(value).get_output(0)
    two = network.add_constant((1,) * rank, trt.Weights(keep[1])).get_output(0)
    one = network.add_constant((1,) * rank, trt.Weights(keep[2])).get_output(0)
    doubled = network.add_elementwise(inside, two, trt.ElementWiseOperation.PROD).get_output(0)
    lowered = network.add_elementwise(inside, one, trt.ElementWiseOperation.SUB).get_output(0)
    y = conditional.add_output(doubled, lowered).get_output(0)
    if in_loop:
        out = loop.add_loop_output(y, trt.LoopOutput.CONCATENATE, 0)
        out.set_input(1, count.get_output(0))
        y = out.get_output(0)
    y.name = "y"
    network.mark_output(y)
    return network, keep


@pytest.mark.parametrize("in_loop", [False, True], ids=["top_level", "in_a_loop"])
def test_if_conditional_picks_the_branch_its_condition_selects(in_loop):
    network, keep = _if_network(in_loop)
    x = np.array([[1, 2, 3], [-1, -2, -3], [0, 0, 0], [5, -1, -1]], np.float32)
    got = netdef.reference.run(network, {"x": x})["y"]
    if in_loop:  # per row
        want = np.where(x.sum(1, keepdims=True) > 0, x * 2, x - 1)
    else:  # the whole tensor: sum 3 > 0
        want = x * 2
    np.testing.assert_array_equal(got, want)
    if not in_loop:
        np.testing.assert_array_equal(netdef.reference.run(network, {"x": -x})["y"], -x - 1)
    config = builder().create_builder_config()
    assert builder().build_serialized_network(network, config) is not None
    del keep


@pytest.mark.parametrize("with_loop", [False, True], ids=["plain", "beside_a_loop"])
def test_only_the_taken_branch_runs(with_loop):
    # y = (x viewed as 2x2, transposed, flattened) if len(x) == 4 else x - 1: the reshape fits only the true
    # case, so running both branches on a 3-vector would fail; TensorRT (and the interpreter) run one. The
    # condition is added after the branches (so it must be ordered before them), and beside an unrelated
    # loop the loop planner orders the top level
    network = builder().create_network(NETWORK_FLAGS)
    keep = [np.array(4, np.int64), np.ones((1,), np.float32), np.array(3, np.int64)]
    x = network.add_input("x", trt.float32, (-1,))
    conditional = network.add_if_conditional()
    inside = conditional.add_input(x).get_output(0)
    square = network.add_shuffle(inside)
    square.reshape_dims = (2, 2)
    square.second_transpose = (1, 0)
    square.name = "square"
    flat = network.add_shuffle(square.get_output(0))
    flat.reshape_dims = (-1,)
    one = network.add_constant((1,), trt.Weights(keep[1])).get_output(0)
    lowered = network.add_elementwise(inside, one, trt.ElementWiseOperation.SUB).get_output(0)
    length = network.add_shuffle(network.add_shape(x).get_output(0))
    length.reshape_dims = ()
    four = network.add_constant((), trt.Weights(keep[0])).get_output(0)
    is_four = network.add_elementwise(length.get_output(0), four, trt.ElementWiseOperation.EQUAL).get_output(0)
    conditional.set_condition(is_four)
    y = conditional.add_output(flat.get_output(0), lowered).get_output(0)
    y.name = "y"
    network.mark_output(y)
    if with_loop:  # y2 = y + 3
        loop = network.add_loop()
        loop.add_trip_limit(network.add_constant((), trt.Weights(keep[2])).get_output(0), trt.TripLimit.COUNT)
        acc = loop.add_recurrence(y)
        acc.set_input(1, network.add_elementwise(acc.get_output(0), one, trt.ElementWiseOperation.SUM).get_output(0))
        y2 = loop.add_loop_output(acc.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
        y2.name = "y2"
        network.mark_output(y2)

    ran: list[str] = []
    got = netdef.reference.run(
        network, {"x": np.arange(4, dtype=np.float32)}, observe=lambda layer, _: ran.append(layer.name)
    )
    np.testing.assert_array_equal(got["y"], [0, 2, 1, 3])
    assert "square" in ran
    ran.clear()
    got = netdef.reference.run(
        network, {"x": np.arange(3, dtype=np.float32)}, observe=lambda layer, _: ran.append(layer.name)
    )
    np.testing.assert_array_equal(got["y"], [-1, 0, 1])
    if with_loop:
        np.testing.assert_array_equal(got["y2"], [2, 3, 4])
    assert "square" not in ran
    with pytest.raises(netdef.InterpreterError, match="in a branch of an if-conditional that the condition did not"):
        netdef.reference.run(network, {"x": np.arange(3, dtype=np.float32)}, outputs=[square.get_output(0).name])
    if with_loop:  # TensorRT-RTX builds no loop over y: its shape depends on the branch taken (data-dependent)
        return
    config = builder().create_builder_config()
    profile = builder().create_optimization_profile()
    profile.set_shape("x", (1,), (4,), (8,))
    config.add_optimization_profile(profile)
    assert builder().build_serialized_network(network, config) is not None
    del keep
