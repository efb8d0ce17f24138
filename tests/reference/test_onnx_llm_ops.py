"""ONNX's Attention and RotaryEmbedding (opset 23) and TensorScatter (opset 24), parsed by TensorRT's own ONNX
parser onto IAttention, IRotaryEmbeddingLayer and IKVCacheUpdateLayer and run by the reference interpreter; the oracle is ``onnx.reference``. An independent
check of the interpreter's reading of those layers: NVIDIA decides how the ONNX semantics map onto them.

Not cross-checkable this way (TensorRT-RTX 1.7's parser): Attention with past_key/past_value (the parser takes
Attention nodes with one output only), so IAttention's LOWER_RIGHT causal kind rests on TensorRT's documentation
alone; netdef's cached decoders use an explicit mask instead."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import netdef

FLOAT, INT64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
RNG = np.random.default_rng(0)


def model(node, inputs: dict[str, tuple[int, tuple[int, ...]]], opset: int = 23):
    graph = helper.make_graph(
        [node],
        node.op_type,
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info("y", FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def check(onnx_model, feeds, layer_type: str) -> None:
    network = netdef.onnx.parse(onnx_model)
    types = {network.get_layer(i).type.name for i in range(network.num_layers)}
    assert layer_type in types, f"the parser mapped the node onto {sorted(types)}"
    (want,) = ReferenceEvaluator(onnx_model).run(None, feeds)
    got = netdef.reference.run(network, feeds)["y"]
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-5)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


ATTENTION = {
    "mha": ({}, (4, 4), (3, 5), None),
    "gqa": ({}, (4, 2), (3, 5), None),
    "mqa-scale": ({"scale": 0.3}, (3, 1), (4, 4), None),
    "causal": ({"is_causal": 1}, (2, 2), (4, 4), None),
    "causal-rect": ({"is_causal": 1}, (4, 2), (3, 6), None),
    "bool-mask": ({}, (2, 2), (3, 5), "bool"),
    "float-mask": ({}, (4, 2), (3, 5), "float"),
}


@pytest.mark.parametrize("name", list(ATTENTION))
def test_onnx_attention_maps_onto_iattention(name):
    attrs, (hq, hkv), (sq, skv), mask = ATTENTION[name]
    names = ["q", "k", "v"] + (["m"] if mask else [])
    inputs = {"q": (FLOAT, (2, hq, sq, 8)), "k": (FLOAT, (2, hkv, skv, 8)), "v": (FLOAT, (2, hkv, skv, 8))}
    feeds = {n: randn(*s) for n, (_, s) in inputs.items()}
    if mask == "bool":
        inputs["m"] = (BOOL, (sq, skv))
        feeds["m"] = RNG.random((sq, skv)) > 0.4
        feeds["m"][:, 0] = True
    elif mask == "float":
        inputs["m"] = (FLOAT, (1, hq, sq, skv))
        feeds["m"] = randn(1, hq, sq, skv)
    check(model(helper.make_node("Attention", names, ["y"], **attrs), inputs), feeds, "ATTENTION_INPUT")


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rotary_dim", [0, 4])
def test_onnx_rotary_embedding_maps_onto_the_rotary_layer(interleaved, rotary_dim):
    half = (rotary_dim or 8) // 2
    node = helper.make_node(
        "RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], interleaved=interleaved, rotary_embedding_dim=rotary_dim
    )
    inputs = {
        "x": (FLOAT, (2, 3, 5, 8)),
        "cos": (FLOAT, (12, half)),
        "sin": (FLOAT, (12, half)),
        "pos": (INT64, (2, 5)),
    }
    theta = RNG.uniform(0, 6.3, (12, half))
    feeds = {
        "x": randn(2, 3, 5, 8),
        "cos": np.cos(theta).astype(np.float32),
        "sin": np.sin(theta).astype(np.float32),
        "pos": RNG.integers(0, 12, (2, 5)),
    }
    check(model(node, inputs), feeds, "ROTARY_EMBEDDING")


@pytest.mark.parametrize("length", [1, 3])
def test_onnx_tensor_scatter_maps_onto_the_kv_cache_update_layer(length):
    node = helper.make_node("TensorScatter", ["past", "update", "idx"], ["y"], axis=2)
    inputs = {"past": (FLOAT, (2, 3, 8, 4)), "update": (FLOAT, (2, 3, length, 4)), "idx": (INT64, (2,))}
    feeds = {"past": randn(2, 3, 8, 4), "update": randn(2, 3, length, 4), "idx": np.array([0, 8 - length])}
    check(model(node, inputs, opset=24), feeds, "KV_CACHE_UPDATE")
