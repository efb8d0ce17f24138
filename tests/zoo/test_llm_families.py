"""Decoder families beyond Llama/GPT-2 (Qwen2, Qwen3, Mistral...) against transformers, from tiny random configs:
fp32 logits, 32 greedy tokens through the cached network, the state_dict bound unchanged, ``save_pretrained``
folders picked by ``model_type`` (``netdef.zoo.hf.from_pretrained``), other families refused by name, and a
real TensorRT build."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

import netdef
from netdef.generation import define_cached
from netdef.zoo.hf import TINY, TINY_LLAMA, from_pretrained, import_transformers, tiny_pair

if importlib.util.find_spec("transformers") is None:
    pytest.skip("transformers is the oracle of the decoder LLM tests", allow_module_level=True)

LONGROPE = {
    "rope_type": "longrope",
    "rope_theta": 10000.0,
    "short_factor": [1.0, 1.1, 1.3, 1.7],
    "long_factor": [1.5, 2.0, 3.0, 4.0],
    "original_max_position_embeddings": 8,
}
GEMMA3_ROPE = {
    "full_attention": {"rope_type": "linear", "rope_theta": 1e6, "factor": 4.0},
    "sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
}
OLD8 = {"original_max_position_embeddings": 8}
YARN = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16}
#: family -> config overrides of each variant checked
VARIANTS = {
    "qwen2": ("qwen2", {}),
    "qwen2-sliding-layers": ("qwen2", {"use_sliding_window": True, "sliding_window": 4, "max_window_layers": 1}),
    "qwen2-tied": ("qwen2", {"tie_word_embeddings": True, "num_key_value_heads": 1, "initializer_range": 0.2}),
    "qwen3": ("qwen3", {}),
    "qwen3-bias-wide-heads": ("qwen3", {"attention_bias": True, "head_dim": 16}),
    "mistral": ("mistral", {"sliding_window": 4}),
    # a tied tiny Gemma (embeddings scaled by sqrt(hidden)) repeats its last token: the greedy check is weak
    # there, so the untied variant carries it
    "gemma": ("gemma", {}),
    "gemma-mqa-untied": ("gemma", {"num_key_value_heads": 1, "tie_word_embeddings": False}),
    "gemma2": ("gemma2", {}),
    "gemma2-pattern-3-untied": (
        "gemma2",
        {"layer_types": None, "sliding_window_pattern": 2, "num_hidden_layers": 3, "tie_word_embeddings": False},
    ),
    "gemma2-no-softcap": ("gemma2", {"attn_logit_softcapping": None, "final_logit_softcapping": None}),
    "gemma3": ("gemma3_text", {"tie_word_embeddings": False}),
    "gemma3-linear-global-rope-logit-cap": (
        "gemma3_text",
        {"rope_parameters": GEMMA3_ROPE, "final_logit_softcapping": 10.0, "tie_word_embeddings": False},
    ),
    "phi3": ("phi3", {}),
    "phi3-sliding-partial-rotary": ("phi3", {"sliding_window": 5, "partial_rotary_factor": 0.5}),
    # 6-token prompts and 32 new tokens cross the 8 positions: the long factors take over mid-generation
    "phi3-longrope": ("phi3", {"rope_parameters": LONGROPE, "original_max_position_embeddings": 8}),
    "llama-linear-rope": ("llama", {"rope_parameters": {"rope_type": "linear", "rope_theta": 1e4, "factor": 4.0}}),
    "llama-dynamic-rope": ("llama", {"rope_parameters": {"rope_type": "dynamic", "rope_theta": 1e4, "factor": 4.0}}),
    "qwen2-yarn-rope": ("qwen2", {"rope_parameters": YARN}),
    "llama-yarn-mscale-rope": (
        "llama",
        {"rope_parameters": {**YARN, "mscale": 0.8, "mscale_all_dim": 0.5, "beta_fast": 16}},
    ),
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reference_logits(twin, ids: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return twin(torch.from_numpy(ids)).logits.numpy()


def assert_close(got, want, tol=1e-4):
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want).max() / np.abs(want).max()
    assert err <= tol, f"error {err:.3g} of max|logit| > {tol}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_logits_and_greedy_tokens_match_transformers(variant):
    family, overrides = VARIANTS[variant]
    model, twin = tiny_pair(family, bos_token_id=None, eos_token_id=None, **overrides)
    assert set(model.state_dict()) == set(twin.state_dict()) - (
        {"lm_head.weight"} if twin.config.tie_word_embeddings else set()
    )
    net = netdef.define(model, model.default_inputs(max_batch=2, max_seq=24))
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (2, 11), (2, 24)]:
        ids = rng.integers(0, 96, shape)
        assert_close(netdef.reference.run(net, {"input_ids": ids})["logits"], reference_logits(twin, ids))
    cached = define_cached(model, max_context=40, max_batch=2)
    ids = rng.integers(0, 96, (2, 6))
    got = netdef.generate(cached, ids, max_new_tokens=32)
    with torch.no_grad():
        want = twin.generate(torch.from_numpy(ids), max_new_tokens=32, do_sample=False).numpy()
    np.testing.assert_array_equal(got, want)
    if variant != "gemma":
        assert len(set(got[:, 6:].ravel().tolist())) > 4, "a degenerate model (one repeated token) tests little"


def test_gemma_legacy_gelu_is_the_tanh_approximation():
    """Gemma 1 checkpoints say hidden_act "gelu" and were trained with the tanh approximation (transformers
    reads it so); hidden_activation, transformers 4's field, wins when set."""
    from netdef.zoo.gemma import GemmaForCausalLM

    config = import_transformers().GemmaConfig(**TINY_LLAMA, head_dim=8).to_dict()
    assert GemmaForCausalLM(**{**config, "hidden_act": "gelu"}).model.layers[0].mlp.act_fn.approximate == "tanh"
    exact = GemmaForCausalLM(**{**config, "hidden_act": "gelu", "hidden_activation": "gelu"})
    assert exact.model.layers[0].mlp.act_fn.approximate == "none"


def test_the_sliding_window_matters_in_the_tests():
    """Qwen2's per-layer window changes the logits past the window: the variant above checks something."""
    windowed, twin = tiny_pair("qwen2", **VARIANTS["qwen2-sliding-layers"][1])
    full, _ = tiny_pair("qwen2")
    ids = np.random.default_rng(2).integers(0, 96, (1, 12))
    a, b = (
        netdef.reference.run(netdef.define(m, m.default_inputs()), {"input_ids": ids})["logits"]
        for m in (windowed, full)
    )
    assert np.abs(a - b)[:, 4:].max() > 1e-3 and np.abs(a - b)[:, :4].max() < 1e-5
    assert twin.config.layer_types == ["full_attention", "sliding_attention"]


@pytest.mark.parametrize(
    "family", ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "gpt2"]
)
def test_from_pretrained_picks_the_class_by_model_type(tmp_path, family):
    model, twin = tiny_pair(family)
    twin.save_pretrained(tmp_path)
    loaded = from_pretrained(tmp_path)
    assert type(loaded) is type(model) and type(loaded).__name__ == type(twin).__name__
    ids = np.random.default_rng(3).integers(0, 96, (1, 7))
    got = netdef.reference.run(netdef.define(loaded, loaded.default_inputs()), {"input_ids": ids})["logits"]
    assert_close(got, reference_logits(twin, ids))


def test_from_pretrained_refuses_other_model_types_by_name(tmp_path):
    transformers = import_transformers()
    transformers.GraniteConfig(**TINY_LLAMA).save_pretrained(tmp_path)
    with pytest.raises(
        netdef.ArgumentError, match=r"config\.json: model_type 'granite' has no netdef decoder; .*qwen3"
    ):
        from_pretrained(tmp_path)
    fields = json.loads((tmp_path / "config.json").read_text())
    del fields["model_type"]
    (tmp_path / "config.json").write_text(json.dumps(fields))
    with pytest.raises(netdef.ArgumentError, match="no model_type field"):
        from_pretrained(tmp_path)


@pytest.mark.parametrize(
    ("saved", "loader"),
    [
        ("qwen2", "Qwen3ForCausalLM"),
        ("qwen3", "Qwen2ForCausalLM"),
        ("llama", "Qwen2ForCausalLM"),
        ("mistral", "Qwen3ForCausalLM"),
        ("qwen2", "MistralForCausalLM"),
        ("llama", "MistralForCausalLM"),
        ("gemma", "Gemma2ForCausalLM"),
        ("gemma2", "GemmaForCausalLM"),
        ("gemma", "Qwen2ForCausalLM"),
        ("qwen3", "GemmaForCausalLM"),
        ("phi3", "Qwen2ForCausalLM"),
        ("gemma2", "Gemma3ForCausalLM"),
        ("gemma3_text", "Gemma2ForCausalLM"),
        ("llama", "Phi3ForCausalLM"),
    ],
)
def test_each_class_refuses_the_other_families(tmp_path, saved, loader):
    from netdef.zoo import hf

    _, twin = tiny_pair(saved)
    twin.save_pretrained(tmp_path)
    cls = next(c for c in map(hf.model_class, hf.MODELS) if c.__name__ == loader)
    with pytest.raises(netdef.ArgumentError, match=rf"model_type '{saved}' is not what {loader} implements"):
        cls.from_pretrained(tmp_path)


def test_a_config_of_another_family_is_refused_by_the_class():
    from netdef.zoo.qwen2 import Qwen2Config
    from netdef.zoo.qwen3 import Qwen3ForCausalLM

    with pytest.raises(netdef.ArgumentError, match="Qwen3ForCausalLM takes a Qwen3Config, got a Qwen2Config"):
        Qwen3ForCausalLM(Qwen2Config(**TINY_LLAMA))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("layer_types", ["full_attention"], r"layer_types must list one attention kind per layer \(2\)"),
        ("layer_types", ["full_attention", "chunked"], r"layer_types: 'chunked' is not one of"),
        ("max_window_layers", 0, r"max_window_layers must be an int >= 1"),
        ("attn_logit_softcapping", 50.0, r"attn_logit_softcapping=50.0 .* Qwen2ForCausalLM does not implement"),
    ],
)
def test_qwen2_fields_are_checked_by_name(field, value, match):
    from netdef.zoo.qwen2 import Qwen2ForCausalLM

    config = import_transformers().Qwen2Config(**TINY_LLAMA).to_dict()
    with pytest.raises(netdef.ArgumentError, match=match):
        Qwen2ForCausalLM(**{**config, field: value})


BUILDS = {
    "qwen2": {"use_sliding_window": True, "sliding_window": 8, "max_window_layers": 1},
    "qwen3": {},
    "gemma": {},
    "gemma2": {"sliding_window": 8},
    "gemma3_text": {"rope_parameters": GEMMA3_ROPE},
    "phi3": {"rope_parameters": LONGROPE, "original_max_position_embeddings": 8, "partial_rotary_factor": 1.0},
}


@pytest.mark.parametrize("family", list(BUILDS))
def test_cached_network_builds_with_the_installed_builder(family):
    model, _ = tiny_pair(family, **BUILDS[family])
    engine = netdef.build(define_cached(model, max_context=32, max_batch=2, precision="fp16"))
    assert engine.data and engine.metadata["precision"] == "fp16"


def test_dynamic_rope_is_refused_past_the_positions_it_is_exact_for():
    """Dynamic RoPE recomputes its frequencies past original_max_position_embeddings: netdef's tables are the
    default RoPE, exact only within them."""
    model, _ = tiny_pair("llama", rope_parameters={"rope_type": "dynamic", "rope_theta": 1e4, "factor": 4.0})
    with pytest.raises(netdef.NetdefError, match=r"dynamic RoPE .* max_context <= 64, got 80"):
        define_cached(model, max_context=80)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"partial_rotary_factor": 0.0}, r"partial_rotary_factor must be in \(0, 1\], got 0.0"),
        ({"partial_rotary_factor": 0.1}, r"partial_rotary_factor=0.1 and rope_parameters' partial_rotary_factor=1.0"),
        (
            {"partial_rotary_factor": 0.1, "rope_parameters": {"rope_type": "default", "rope_theta": 1e4}},
            r"partial_rotary_factor gives 0 rotated features of 8",
        ),
        ({"rope_parameters": {**LONGROPE, "long_factor": [1.0]}, **OLD8}, r"long_factor/short_factor need 4 values"),
        ({"rope_parameters": {**LONGROPE, "short_factor": None}, **OLD8}, r"rope_parameters .*short_factor"),
        ({"rope_parameters": LONGROPE}, r"original_max_position_embeddings=64 and rope_parameters' .*=8 disagree"),
        ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}}, r"rope_parameters .*misses 'factor'"),
    ],
)
def test_phi3_and_rope_fields_are_checked_by_name(overrides, match):
    from netdef.zoo.phi3 import Phi3ForCausalLM

    config = import_transformers().Phi3Config(**TINY["phi3"]).to_dict()
    with pytest.raises(netdef.ArgumentError, match=match):
        Phi3ForCausalLM(**{**config, **overrides})


RAGGED = {
    "llama": ("llama", {}),
    "gpt2": ("gpt2", {"initializer_range": 0.3}),
    "mistral-sliding": ("mistral", {"sliding_window": 5}),
    "qwen2": ("qwen2", {}),
    "qwen3": ("qwen3", {}),
    "gemma": ("gemma", {}),
    "gemma2": ("gemma2", {}),
    "gemma3": ("gemma3_text", {}),
    "phi3": ("phi3", {}),
    "phi3-longrope": ("phi3", {"rope_parameters": LONGROPE, **OLD8}),  # long factors once a row passes 8
}


@pytest.mark.parametrize("variant", list(RAGGED))
def test_a_ragged_batch_matches_transformers_with_its_attention_mask(variant):
    """Three prompts of different lengths, left-padded: per-row positions and cache lengths, token for token
    equal to transformers given the same mask; as a list, as padded ids with attention_mask, and row by row."""
    family, overrides = RAGGED[variant]
    model, twin = tiny_pair(family, bos_token_id=None, eos_token_id=None, pad_token_id=None, **overrides)
    net = define_cached(model, max_context=44, max_batch=3)
    rng = np.random.default_rng(7)
    prompts = [rng.integers(1, 96, n).tolist() for n in (3, 7, 5)]
    ids = np.array([[0] * (7 - len(p)) + p for p in prompts])
    mask = (ids != 0).astype(np.int64)
    with torch.no_grad():
        want = twin.generate(
            torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), max_new_tokens=32, do_sample=False
        ).numpy()
    np.testing.assert_array_equal(netdef.generate(net, prompts, 32), want)
    np.testing.assert_array_equal(netdef.generate(net, ids, 32, attention_mask=mask), want)
    for p, row in zip(prompts, want):
        np.testing.assert_array_equal(netdef.generate(net, [p], 32)[0, len(p) :], row[7:])
    padded = netdef.generate(net, prompts, 1, pad_token_id=5)  # another pad id: masked, the same tokens
    assert padded[0].tolist() == [5] * 4 + prompts[0] + [int(want[0, 7])]


def test_a_network_without_pad_length_refuses_padded_prompts():
    model, _ = tiny_pair("llama")
    net = define_cached(model, max_context=16, padded=False)
    assert "pad_length" not in net.inputs
    assert netdef.generate(net, [[1, 2, 3]], 2).shape == (1, 5)
    with pytest.raises(netdef.NetdefError, match=r"no pad_length input: define it with .*padded=True"):
        netdef.generate(net, [[1, 2, 3], [4]], 2)
    with pytest.raises(netdef.NetdefError, match=r"no pad_length input"):
        netdef.generate(net, [[1, 2, 3]], 2, attention_mask=[[0, 1, 1]])


@pytest.mark.parametrize("family", ["qwen3", "gemma", "gemma2", "phi3"])
def test_fp16_logits_of_the_cached_network(family):
    """fp16 rounds every layer (measured ~4e-4..1.1e-3 of max|logit|): Gemma 2's written-out soft-capped
    attention and the (1 + weight) norms stay within the bound Llama's fp16 logits are held to."""
    model, twin = tiny_pair(family)
    net = define_cached(model, max_context=16, max_batch=2, precision="fp16")
    ids = np.random.default_rng(8).integers(0, 96, (2, 12))
    feeds = {"input_ids": ids, "past_length": np.zeros(2, np.int32), "pad_length": np.zeros(2, np.int32)}
    for name, spec in net.inputs.items():
        if name.startswith("past_key_values"):
            feeds[name] = np.zeros((2, *spec.shape[1:]), np.float16)
    assert_close(netdef.reference.run(net, feeds)["logits"], reference_logits(twin, ids), 5e-3)


def test_gemma3_reads_transformers_4_rope_fields_and_ignores_attention_softcapping_as_transformers():
    """Gemma 3 checkpoints written by transformers 4 keep the full layers' RoPE in rope_theta / rope_scaling and
    the sliding layers' base in rope_local_base_freq; its attention never soft-caps (transformers ignores the
    field; netdef says so)."""
    from netdef.zoo.gemma import Gemma3ForCausalLM

    _, twin = tiny_pair("gemma3_text", rope_parameters=GEMMA3_ROPE)
    fields = twin.config.to_dict()
    fields.update(rope_parameters=None, rope_theta=1e6, rope_local_base_freq=1e4)
    fields["rope_scaling"] = {"type": "linear", "factor": 4.0}
    with pytest.warns(netdef.NetdefWarning, match="attn_logit_softcapping=50.0 is ignored"):
        model = Gemma3ForCausalLM(**{**fields, "attn_logit_softcapping": 50.0})
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    ids = np.random.default_rng(9).integers(0, 96, (2, 12))
    got = netdef.reference.run(netdef.define(model, model.default_inputs(2, 16)), {"input_ids": ids})["logits"]
    assert_close(got, reference_logits(twin, ids))
