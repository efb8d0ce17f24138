"""ONNX operators torch does not export (or exports only with default attributes), written by hand.

Each one-node model is parsed by TensorRT's ONNX parser and run by the reference interpreter; the oracle
is ONNX's own Python reference implementation (``onnx.reference.ReferenceEvaluator``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import netdef

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def model(node, inputs: dict[str, tuple[int, tuple[int, ...]]], initializers=(), opset: int = 17, out=FLOAT):
    """A one-node ONNX model; ``inputs`` maps names to (element type, shape); one output ``y`` of type ``out``."""
    graph = helper.make_graph(
        [node],
        node.op_type,
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info("y", out, None)],
        initializer=list(initializers),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def check(onnx_model, feeds: dict[str, np.ndarray], atol: float = 1e-5) -> np.ndarray:
    (want,) = ReferenceEvaluator(onnx_model).run(None, feeds)
    got = netdef.reference.run(netdef.onnx.parse(onnx_model), feeds)["y"]
    assert got.shape == want.shape
    if np.issubdtype(want.dtype, np.floating):
        np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)
    else:
        np.testing.assert_array_equal(got.astype(want.dtype), want)
    return got


def const(name: str, value) -> TensorProto:
    return helper.make_tensor(name, INT64, np.shape(value), np.asarray(value, np.int64).ravel().tolist())


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
def test_cumsum_exclusive_and_reverse(exclusive, reverse):
    node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    m = model(node, {"x": (FLOAT, (2, 5, 3))}, [const("axis", 1)])
    check(m, {"x": RNG.standard_normal((2, 5, 3)).astype(np.float32)})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_one_hot_axes_and_negative_indices(axis):
    node = helper.make_node("OneHot", ["i", "depth", "values"], ["y"], axis=axis)
    inits = [const("depth", 4), helper.make_tensor("values", FLOAT, (2,), [-1.0, 2.5])]
    m = model(node, {"i": (INT64, (2, 3))}, inits)
    got = check(m, {"i": np.array([[0, 3, -1], [-4, 2, 1]], np.int64)})
    assert (got == 2.5).sum() == 6  # -1 and -4 count from the end


@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_grid_sample_modes(mode, padding, align_corners):
    node = helper.make_node(
        "GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding, align_corners=align_corners
    )
    m = model(node, {"x": (FLOAT, (2, 3, 5, 4)), "g": (FLOAT, (2, 3, 6, 2))}, opset=20)
    grid = RNG.uniform(-1.3, 1.3, (2, 3, 6, 2)).astype(np.float32)  # points outside the image too
    feeds = {"x": RNG.standard_normal((2, 3, 5, 4)).astype(np.float32), "g": grid}
    if mode == "cubic" and padding == "border":
        with pytest.raises(netdef.InterpreterError, match="CUBIC with CLAMP is ambiguous"):
            netdef.reference.run(netdef.onnx.parse(m), feeds)
        return
    check(m, feeds, atol=1e-4)


def test_scatter_nd_and_elements_with_negative_indices():
    nd = helper.make_node("ScatterND", ["x", "idx", "u"], ["y"])
    m = model(nd, {"x": (FLOAT, (4, 3, 2)), "u": (FLOAT, (2, 3, 2))}, [const("idx", [[-1], [1]])])
    x = RNG.standard_normal((4, 3, 2)).astype(np.float32)
    check(m, {"x": x, "u": RNG.standard_normal((2, 3, 2)).astype(np.float32)})

    el = helper.make_node("ScatterElements", ["x", "idx", "u"], ["y"], axis=1)
    m = model(
        el,
        {"x": (FLOAT, (4, 3, 2)), "u": (FLOAT, (4, 1, 2))},
        [const("idx", [[[0, -1]], [[2, 1]], [[1, 0]], [[-3, 2]]])],
    )
    check(m, {"x": x, "u": RNG.standard_normal((4, 1, 2)).astype(np.float32)})


@pytest.mark.parametrize("equation", ["ij->ji", "bij,bjk->bik", "ii->i", "ij,ij->", "abc->ca"])
def test_einsum_equations(equation):
    operands = equation.split("->")[0].split(",")
    sizes = {"i": 3, "j": 4, "k": 2, "b": 2, "a": 2, "c": 5}
    if equation == "ii->i":
        sizes["j"] = 3
    shapes = {f"x{n}": tuple(sizes[c] for c in op) for n, op in enumerate(operands)}
    node = helper.make_node("Einsum", list(shapes), ["y"], equation=equation)
    m = model(node, {n: (FLOAT, s) for n, s in shapes.items()})
    check(m, {n: RNG.standard_normal(s).astype(np.float32) for n, s in shapes.items()})


@pytest.mark.parametrize("size", [1, 3, 5])
def test_lrn(size):
    # oracle: torch (onnx 1.23's reference LRN loops over the batch dim instead of the channels)
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=0.2, beta=0.6, bias=1.5)
    x = RNG.standard_normal((2, 7, 3, 3)).astype(np.float32) * 2
    got = netdef.reference.run(netdef.onnx.parse(model(node, {"x": (FLOAT, (2, 7, 3, 3))})), {"x": x})["y"]
    want = torch.nn.functional.local_response_norm(torch.from_numpy(x), size, 0.2, 0.6, 1.5)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("batch_axis", "time_axis"), [(0, 1), (1, 0)])
def test_reverse_sequence(batch_axis, time_axis):
    node = helper.make_node("ReverseSequence", ["x", "lens"], ["y"], batch_axis=batch_axis, time_axis=time_axis)
    shape = (3, 5, 2) if batch_axis == 0 else (5, 3, 2)
    m = model(node, {"x": (FLOAT, shape), "lens": (INT64, (3,))})
    check(m, {"x": RNG.standard_normal(shape).astype(np.float32), "lens": np.array([5, 1, 3], np.int64)})


def test_if_conditional_picks_the_branch_the_condition_selects():
    def branch(name: str, scale: float):
        mul = helper.make_node("Mul", ["x", f"{name}_s"], [f"{name}_y"])
        s = helper.make_tensor(f"{name}_s", FLOAT, (), [scale])
        out = helper.make_tensor_value_info(f"{name}_y", FLOAT, None)
        return helper.make_graph([helper.make_node("Constant", [], [f"{name}_s"], value=s), mul], name, [], [out])

    node = helper.make_node("If", ["c"], ["y"], then_branch=branch("then", 2.0), else_branch=branch("else", -3.0))
    m = model(node, {"c": (TensorProto.BOOL, ()), "x": (FLOAT, (2, 3))})
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    for c in (True, False):
        got = check(m, {"c": np.array(c), "x": x})
        np.testing.assert_allclose(got, x * (2.0 if c else -3.0), rtol=1e-6)


def test_parser_rejection_names_the_node():
    node = helper.make_node("NonZero", ["x"], ["y"], name="nz")  # TensorRT-RTX maps it to a plugin it lacks
    m = model(node, {"x": (FLOAT, (3, 4))}, out=INT64)
    try:
        network = netdef.onnx.parse(m)
    except netdef.NetdefError as exc:
        assert "node 0 `nz` (NonZero)" in str(exc)
        return
    x = (RNG.standard_normal((3, 4)) > 0).astype(np.float32)  # a TensorRT whose parser maps it to INonZeroLayer
    np.testing.assert_array_equal(netdef.reference.run(network, {"x": x})["y"], np.stack(np.nonzero(x)))


def _loop_model(stop_below: float | None):
    """ONNX Loop: ``v += x`` each iteration (trip count n), scanning ``v`` out; with ``stop_below`` the body
    also computes its condition (``sum(v) < stop_below``), which TensorRT maps to a WHILE trip limit."""
    cond = (
        [
            helper.make_node("ReduceSum", ["v_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ]
        if stop_below is not None
        else [helper.make_node("Identity", ["cond_in"], ["cond_out"])]
    )
    body = helper.make_graph(
        [helper.make_node("Add", ["v_in", "x"], ["v_out"]), *cond, helper.make_node("Identity", ["v_out"], ["scan"])],
        "body",
        [
            helper.make_tensor_value_info("i", INT64, ()),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, ()),
            helper.make_tensor_value_info("v_in", FLOAT, (2,)),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, ()),
            helper.make_tensor_value_info("v_out", FLOAT, (2,)),
            helper.make_tensor_value_info("scan", FLOAT, (2,)),
        ],
        initializer=[helper.make_tensor("limit", FLOAT, (), [stop_below or 0.0])],
    )
    node = helper.make_node("Loop", ["n", "go", "v0"], ["y", "scan"], body=body, name="accumulate")
    graph = helper.make_graph(
        [node],
        "loop",
        [helper.make_tensor_value_info(n, FLOAT, (2,)) for n in ("v0", "x")],
        [helper.make_tensor_value_info("y", FLOAT, None), helper.make_tensor_value_info("scan", FLOAT, None)],
        initializer=[const("n", 4), helper.make_tensor("go", TensorProto.BOOL, (), [True])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("stop_below", [None, 3.5])
def test_onnx_loop_runs_as_a_tensorrt_loop(stop_below):
    # oracle: onnx's reference; the parser makes a COUNT trip limit (plus WHILE with a condition), a
    # recurrence, a LAST_VALUE and a CONCATENATE output
    m = _loop_model(stop_below)
    network = netdef.onnx.parse(m)
    kinds = {network.get_layer(i).type.name for i in range(network.num_layers)}
    assert {"TRIP_LIMIT", "RECURRENCE", "LOOP_OUTPUT"} <= kinds
    feeds = {"v0": np.array([0.5, -1.0], np.float32), "x": np.array([1.0, 0.75], np.float32)}
    want = dict(zip(("y", "scan"), ReferenceEvaluator(m).run(None, feeds)))
    got = netdef.reference.run(network, feeds)
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-6)
    trips = len(want["scan"])  # 4 without the condition; 3 with it (the sum passes 3.5 in iteration 3)
    assert trips == (4 if stop_below is None else 3)
    np.testing.assert_allclose(got["scan"][:trips], want["scan"], rtol=1e-6)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_onnx_recurrent_ops_run_as_tensorrt_loops(op, direction):
    # NVIDIA's parser maps ONNX's recurrent ops onto loops (iterators, reversed ones for the backward
    # direction, CONCATENATE/REVERSE and LAST_VALUE outputs): an independent check of the loop semantics
    seq, batch, size, hidden = 5, 2, 3, 4
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    dirs = 2 if direction == "bidirectional" else 1
    w = RNG.standard_normal((dirs, gates * hidden, size)).astype(np.float32) * 0.5
    r = RNG.standard_normal((dirs, gates * hidden, hidden)).astype(np.float32) * 0.5
    b = RNG.standard_normal((dirs, 2 * gates * hidden)).astype(np.float32) * 0.5
    inits = [helper.make_tensor(n, FLOAT, a.shape, a.ravel().tolist()) for n, a in (("W", w), ("R", r), ("B", b))]
    node = helper.make_node(op, ["x", "W", "R", "B"], ["y", "y_h"], hidden_size=hidden, direction=direction)
    graph = helper.make_graph(
        [node],
        op,
        [helper.make_tensor_value_info("x", FLOAT, (seq, batch, size))],
        [helper.make_tensor_value_info("y", FLOAT, None), helper.make_tensor_value_info("y_h", FLOAT, None)],
        initializer=inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feeds = {"x": RNG.standard_normal((seq, batch, size)).astype(np.float32)}
    want = ReferenceEvaluator(m).run(None, feeds)
    got = netdef.reference.run(netdef.onnx.parse(m), feeds)
    for name, ref in zip(("y", "y_h"), want):
        np.testing.assert_allclose(got[name], ref, atol=1e-5, rtol=1e-5)
