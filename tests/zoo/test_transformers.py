"""The zoo's transformer models beyond the registry's inputs: BERT without the optional inputs, int32 ids,
bf16/fp16 masks and a dynamic batch and sequence length; ViT with a dynamic batch, its engine's growth per
encoder layer; the errors for sizes the models cannot take."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import bert, vision_transformer
from netdef.zoo.twins import bert as bert_twin
from netdef.zoo.twins import vision_transformer as vit_twin

TINY_BERT = {
    "vocab_size": 50,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 16,
    "hidden_act": "gelu_new",
}
TINY_VIT = {"image_size": 16, "patch_size": 4, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64}


def _pair(netdef_cls, twin_cls, **kwargs):
    torch.manual_seed(0)
    twin = twin_cls(**kwargs).eval()
    model = netdef_cls(**kwargs)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    return model, twin


def _close(got: np.ndarray, want: torch.Tensor, tol: float) -> None:
    want = want.numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tol * np.abs(want).max()


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_bert_input_ids_only(dtype):
    model, twin = _pair(bert.BertModel, bert_twin.BertModel, **TINY_BERT)
    ids = np.random.default_rng(0).integers(0, 50, (3, 7)).astype(dtype)
    net = netdef.define(model, {"input_ids": netdef.Input(ids.shape, dtype)})
    got = netdef.reference.run(net, {"input_ids": ids})
    with torch.no_grad():
        want = twin(torch.from_numpy(ids).long())
    for g, w in zip(got.values(), want):
        _close(g, w, 1e-5)
    netdef.build(net)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_bert_padding_mask_in_reduced_precision(precision):
    """Padding masked with the dtype's lowest value (HF), which must stay finite in fp16 and bf16."""
    model, twin = _pair(bert.BertModel, bert_twin.BertModel, **TINY_BERT)
    ids = np.random.default_rng(1).integers(0, 50, (2, 6)).astype(np.int64)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], np.int64)
    inputs = {"input_ids": netdef.Input(ids.shape, "int64"), "attention_mask": netdef.Input(mask.shape, "int64")}
    net = netdef.define(model, inputs, precision=precision)
    got = netdef.reference.run(net, {"input_ids": ids, "attention_mask": mask})
    with torch.no_grad():
        want = twin(torch.from_numpy(ids), torch.from_numpy(mask))
    tol = 1e-2 if precision == "fp16" else 5e-2
    for g, w in zip(got.values(), want):
        assert np.isfinite(g).all()
        _close(g, w, tol)


def test_bert_dynamic_batch_and_sequence_length():
    """ONE network, checked at the min, the max and an odd size between of both dynamic dims."""
    model, twin = _pair(bert.BertModel, bert_twin.BertModel, **TINY_BERT)
    spec = netdef.Input((-1, -1), "int64", min=(1, 1), opt=(2, 8), max=(3, 16))
    net = netdef.define(model, {"input_ids": spec, "attention_mask": spec})
    rng = np.random.default_rng(2)
    for batch in (1, 3, 2):
        for length in (1, 16, 7):
            ids = rng.integers(0, 50, (batch, length))
            mask = np.ones_like(ids)
            mask[0, length // 2 + 1 :] = 0  # padding in the first sequence
            got = netdef.reference.run(net, {"input_ids": ids, "attention_mask": mask})
            with torch.no_grad():
                want = twin(torch.from_numpy(ids), torch.from_numpy(mask))
            for g, w in zip(got.values(), want):
                _close(g, w, 1e-5)
    netdef.build(net)


def test_bert_attention_mask_adds_one_shared_kernel():
    """In fp16 (TensorRT's fused attention) the padding mask is prepared once for every layer: one row test (a
    MAX reduction) in the network, and in the engine one compiled kernel more than without a mask (~130 KB
    of CUDA source each). When the dead-row test was written x == v, it cost two: the first layer's select
    compiled apart from the others."""
    model, _ = _pair(bert.BertModel, bert_twin.BertModel, **TINY_BERT)
    sizes = {}
    for names in (("input_ids",), ("input_ids", "attention_mask")):
        net = netdef.define(model, {k: netdef.Input((1, 16), "int64") for k in names}, precision="fp16")
        sizes[len(names)] = netdef.build(net).metadata["engine_bytes"]
    types = [row["type"] for row in net.layers()]
    assert "ATTENTION_INPUT" in types and types.count("REDUCE") == 1, types
    assert sizes[2] - sizes[1] < 200_000, sizes


def test_bert_sequence_length_must_be_within_positions():
    model, _ = _pair(bert.BertModel, bert_twin.BertModel, **TINY_BERT)
    with pytest.raises(netdef.EmitError, match="max_position_embeddings=16"):
        netdef.define(model, {"input_ids": netdef.Input((1, 17), "int64")})
    # a profile reaching past the positions: checked at run time, naming the module
    net = netdef.define(model, {"input_ids": netdef.Input((1, -1), "int64", min=(1, 1), max=(1, 20))})
    assert netdef.reference.run(net, {"input_ids": np.zeros((1, 16), np.int64)})["output0"].shape == (1, 16, 32)
    with pytest.raises(netdef.InterpreterError, match=r"module `embeddings` \(BertEmbeddings\).*max_position"):
        netdef.reference.run(net, {"input_ids": np.zeros((1, 17), np.int64)})


def test_bert_config_errors():
    with pytest.raises(ValueError, match="unknown BertConfig fields"):
        bert.BertModel(hidden_sise=8)
    with pytest.raises(ValueError, match="hidden_act"):
        bert.BertModel(**{**TINY_BERT, "hidden_act": "quick_gelu"})
    # field types and ranges, named: a string size used to fail in string formatting, 0 heads divided by zero
    with pytest.raises(
        netdef.ArgumentError, match=r"BertConfig field num_attention_heads must be an int >= 1, got '4'"
    ):
        bert.BertModel(**{**TINY_BERT, "num_attention_heads": "4"})
    with pytest.raises(netdef.ArgumentError, match=r"BertConfig field num_attention_heads must be an int >= 1, got 0"):
        bert.BertModel(**{**TINY_BERT, "num_attention_heads": 0})
    with pytest.raises(netdef.ArgumentError, match=r"BertConfig field layer_norm_eps must be a finite number >= 0"):
        bert.BertModel(**{**TINY_BERT, "layer_norm_eps": float("inf")})
    assert bert.BertModel(**{**TINY_BERT, "hidden_dropout_prob": 0.0}).config.hidden_dropout_prob == 0.0


def test_vit_dynamic_batch_expands_the_class_token():
    """ONE network with a dynamic batch, checked at the min, the max and an odd batch between."""
    model, twin = _pair(vision_transformer.VisionTransformer, vit_twin.VisionTransformer, **TINY_VIT)
    spec = netdef.Input((-1, 3, 16, 16), min=(1, 3, 16, 16), max=(4, 3, 16, 16))
    net = netdef.define(model, {"x": spec})
    for batch in (1, 4, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 16, 16)).astype(np.float32)
        got = netdef.reference.run(net, {"x": x})["output"]
        with torch.no_grad():
            _close(got, twin(torch.from_numpy(x)), 1e-5)
    netdef.build(net)


def test_vit_encoder_layers_share_their_compiled_kernels():
    """Each encoder layer adds its weights and little more to the engine: TensorRT compiles one layer's
    kernels for all of them. When it could not (out_proj on 3-D tensors), every layer added ~300 KB of
    kernel source (layer-norm kernels of its own): vit_b_16's engine was 2.7 MiB larger than the ONNX route's."""
    sizes, layer_weights = {}, 0
    for num_layers in (2, 4):
        model, twin = _pair(
            vision_transformer.VisionTransformer, vit_twin.VisionTransformer, **{**TINY_VIT, "num_layers": num_layers}
        )
        sizes[num_layers] = netdef.build(model, model.default_inputs()).metadata["engine_bytes"]
        layer_weights = sum(
            v.numel() * v.element_size()
            for k, v in twin.state_dict().items()
            if k.startswith("encoder.layers.encoder_layer_0.")
        )
    per_layer = (sizes[4] - sizes[2]) / 2
    assert per_layer <= layer_weights + 64 * 1024, f"{per_layer:.0f} bytes per layer, {layer_weights} of them weights"


def test_vit_refuses_another_image_size():
    model, _ = _pair(vision_transformer.VisionTransformer, vit_twin.VisionTransformer, **TINY_VIT)
    with pytest.raises(netdef.EmitError, match="expected 16x16 images, got 32x32"):
        netdef.define(model, {"x": netdef.Input((1, 3, 32, 32))})
