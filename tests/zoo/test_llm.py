"""Decoder LLMs (netdef.zoo.llama, netdef.zoo.gpt2) against transformers: logits at every precision, the KV-cached
network (prefill + decode), greedy and sampled generation, sharded safetensors, real builds, and on a GPU
the engine. transformers is the oracle (random tiny configs, nothing downloaded)."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import torch

import netdef
from netdef.generation import SamplingConfig, define_cached, next_tokens
from netdef.zoo.hf import TINY_LLAMA, import_transformers, tiny_pair

if importlib.util.find_spec("transformers") is None:
    pytest.skip("transformers is the oracle of the decoder LLM tests", allow_module_level=True)

#: fp32 logits: within 1e-4 of their largest magnitude (measured ~2e-7). fp16 rounds every layer's output
#: (unit roundoff 4.9e-4; measured ~7e-4 of max|logit|), bf16 keeps 8 bits (3.9e-3; measured ~5e-3).
TOLERANCE = {"fp32": 1e-4, "fp16": 5e-3, "bf16": 2e-2}
#: GPT-2's default init (std 0.02) makes a tiny random model repeat one token; a wider init makes greedy
#: generation pick varied tokens, so the comparison with transformers can fail
WIDE = {"initializer_range": 0.3}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: torch's thread pool only adds contention on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reference_logits(twin, ids: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return twin(torch.from_numpy(ids)).logits.numpy()


def assert_close(got, want, precision="fp32"):
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want).max() / np.abs(want).max()
    assert err <= TOLERANCE[precision], f"{precision}: error {err:.3g} of max|logit| > {TOLERANCE[precision]}"


VARIANTS = {
    "llama-gqa": ("llama", {}),
    "llama-tied-bias-llama3-rope": (
        "llama",
        {
            "tie_word_embeddings": True,
            "attention_bias": True,
            "mlp_bias": True,
            "num_key_value_heads": 1,
            "rope_parameters": {
                "rope_type": "llama3",
                "rope_theta": 500000.0,
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 16,
            },
        },
    ),
    "gpt2": ("gpt2", {}),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fp32_logits_match_transformers_for_any_batch_and_length(variant):
    family, overrides = VARIANTS[variant]
    model, twin = tiny_pair(family, **overrides)
    net = netdef.define(model, model.default_inputs(max_batch=3, max_seq=24))
    assert net.outputs == ["logits"] and net.inputs["input_ids"].shape == (-1, -1)
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (3, 11), (2, 24)]:
        ids = rng.integers(0, 96, shape)
        assert_close(netdef.reference.run(net, {"input_ids": ids})["logits"], reference_logits(twin, ids))


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_reduced_precision_logits(family, precision):
    model, twin = tiny_pair(family)
    net = netdef.define(model, model.default_inputs(2, 16), precision=precision)
    ids = np.random.default_rng(2).integers(0, 96, (2, 9))
    assert_close(netdef.reference.run(net, {"input_ids": ids})["logits"], reference_logits(twin, ids), precision)


def test_fused_and_unfused_attention_agree():
    from netdef.functional.attention import fused_attention, has_fused_attention

    model, twin = tiny_pair("llama")
    with fused_attention(False):
        unfused = netdef.define(model, model.default_inputs(2, 16))
    fused = netdef.define(model, model.default_inputs(2, 16))
    types = [{row["type"] for row in n.layers()} for n in (fused, unfused)]
    assert "ATTENTION_INPUT" not in types[1]
    assert ("ATTENTION_INPUT" in types[0]) == has_fused_attention(fused.network)
    ids = np.random.default_rng(3).integers(0, 96, (2, 7))
    for net in (fused, unfused):
        assert_close(netdef.reference.run(net, {"input_ids": ids})["logits"], reference_logits(twin, ids))


@pytest.mark.parametrize(("family", "precision"), [("llama", "fp32"), ("gpt2", "fp32"), ("llama", "fp16")])
def test_cached_network_prefill_then_decode_per_sequence_positions(family, precision):
    """Two prompts of different lengths prefilled separately, then decoded together with their own past lengths:
    every step's logits equal transformers' over the whole sequence."""
    model, twin = tiny_pair(family)
    net = define_cached(model, max_context=16, max_batch=2, precision=precision)
    dtype = np.float16 if precision == "fp16" else np.float32
    names = [n for n in net.inputs if n.startswith("past_key_values")]
    assert net.outputs == ["logits"] + [n.replace("past_key_values", "present") for n in names]
    rng = np.random.default_rng(4)
    seqs = [rng.integers(0, 96, 4), rng.integers(0, 96, 6)]
    caches = []
    for seq in seqs:
        feeds = {"input_ids": seq[None], "past_length": np.zeros(1, np.int32)}
        feeds.update({n: np.zeros((1, *net.inputs[n].shape[1:]), dtype) for n in names})
        out = netdef.reference.run(net, feeds)
        assert all(out[n.replace("past_key_values", "present")].dtype == dtype for n in names)
        assert_close(out["logits"], reference_logits(twin, seq[None]), precision)
        caches.append(out)
    for _ in range(3):
        step = rng.integers(0, 96, (2, 1))
        feeds = {"input_ids": step, "past_length": np.array([len(s) for s in seqs], np.int32)}
        for n in names:
            present = n.replace("past_key_values", "present")
            feeds[n] = np.concatenate([c[present] for c in caches])
        out = netdef.reference.run(net, feeds)
        seqs = [np.append(s, t) for s, t in zip(seqs, step[:, 0])]
        for b, s in enumerate(seqs):
            assert_close(out["logits"][b : b + 1], reference_logits(twin, s[None])[:, -1:], precision)
        caches = [{k: v[b : b + 1] for k, v in out.items()} for b in range(2)]


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_greedy_generation_matches_transformers_token_for_token(family):
    model, twin = tiny_pair(family, bos_token_id=None, eos_token_id=None, **(WIDE if family == "gpt2" else {}))
    net = define_cached(model, max_context=40, max_batch=2)
    ids = np.random.default_rng(5).integers(0, 96, (2, 6))
    streamed = []
    got = netdef.generate(net, ids, max_new_tokens=32, streamer=streamed.append)
    with torch.no_grad():
        want = twin.generate(torch.from_numpy(ids), max_new_tokens=32, do_sample=False).numpy()
    assert got.shape == (2, 38)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.stack(streamed, 1), got[:, 6:])  # streamed in order
    assert len(set(got[:, 6:].ravel().tolist())) > 4, "a degenerate model (one repeated token) tests little"


def test_sampling_is_seeded_and_streams():
    from netdef.generation import stream

    model, _ = tiny_pair("llama")
    net = define_cached(model, max_context=20)
    ids = np.arange(1, 5)
    kwargs = {"do_sample": True, "temperature": 1.5, "top_k": 20, "top_p": 0.9, "seed": 7}
    a = netdef.generate(net, ids, 12, **kwargs)
    b = netdef.generate(net, ids, 12, **kwargs)
    c = netdef.generate(net, ids, 12, **{**kwargs, "seed": 8})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.concatenate(list(stream(net, ids, 12, **kwargs))), a[0, 4:])
    greedy = netdef.generate(net, ids, 6)
    np.testing.assert_array_equal(netdef.generate(net, ids, 6, do_sample=True, top_k=1, seed=3), greedy)
    stop = int(greedy[0, 6])  # the 3rd new token: generation ends there
    assert netdef.generate(net, ids, 6, eos_token_id=stop).shape == (1, 7)
    with pytest.raises(netdef.NetdefError, match="needs 21 cache slots; the network holds 20"):
        netdef.generate(net, np.arange(1, 6), 17)
    with pytest.raises(netdef.NetdefError, match=r"define it with netdef\.generation\.define_cached"):
        netdef.generate(netdef.define(model, model.default_inputs()), ids, 2)


@pytest.fixture(scope="module")
def cached_llama():
    model, _ = tiny_pair("llama")
    return define_cached(model, max_context=20, max_batch=2)


@pytest.mark.parametrize(
    ("ids", "kwargs", "match"),
    [
        ([[1, 2, 3], [4, 5]], {}, r"prompts have different lengths \[3, 2\].*call it once per length"),
        (np.array([[1.0, 2.7]]), {}, r"input_ids must be integer token ids, got dtype float64"),
        ([[1, 96]], {}, r"input_ids\[0, 1\] is 96, outside \[0, 96\)"),
        ([[-1, 3]], {}, r"input_ids\[0, 0\] is -1, outside \[0, 96\)"),
        ([[2**33, 3]], {}, r"input_ids\[0, 0\] is 8589934592, outside"),
        ([[1, 2]], {"max_new_tokens": -3}, r"max_new_tokens must be an int >= 0, got -3"),
        ([[1, 2]], {"max_new_tokens": 2.5}, r"max_new_tokens must be an int >= 0, got 2.5"),
        ([[1, 2]], {"do_sample": True, "temperature": float("nan")}, r"temperature must be a finite number > 0"),
        ([[1, 2]], {"temperature": float("inf")}, r"temperature must be a finite number > 0"),
        ([[1, 2]], {"do_sample": True, "top_k": 2.5}, r"top_k must be an int >= 0"),
        ([[1, 2]], {"top_k": -1}, r"top_k must be an int >= 0"),
        ([[1, 2]], {"top_p": float("nan")}, r"top_p must be a number in \(0, 1\]"),
        ([[1, 2]], {"top_p": 1.5}, r"top_p must be a number in \(0, 1\]"),
        ([[1, 2]], {"eos_token_id": 96}, r"eos_token_id 96 is outside \[0, 96\)"),
        ([[1, 2]], {"eos_token_id": [3, -2]}, r"eos_token_id -2 is outside"),
        ([[1, 2]], {"eos_token_id": [3, 4.0]}, r"eos_token_id must be an int, a non-empty list of ints"),
        ([[1, 2]], {"eos_token_id": []}, r"eos_token_id must be an int, a non-empty list of ints"),
        ([[1, 2]], {"seed": 1.5}, r"seed must be an int or None"),
        ([[1], [2], [3]], {}, r"3 prompts in one batch, and the network takes at most 2: .*max_batch=3"),
    ],
)
def test_generate_checks_every_argument_before_running(cached_llama, ids, kwargs, match):
    """Each of these used to run (ids read a wrong row, -3 returned the prompt) or end in a numpy error."""
    kwargs = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(netdef.NetdefError, match=match):
        netdef.generate(cached_llama, ids, **kwargs)
    with pytest.raises(netdef.NetdefError, match=match):
        netdef.generation.stream(cached_llama, ids, **kwargs)  # at the call, not at the first token


def test_a_finished_sequence_is_padded_with_the_eos_id_it_produced(cached_llama):
    ids = np.array([[1, 2, 3], [7, 8, 9]])
    greedy = netdef.generate(cached_llama, ids, 6)
    stop = int(greedy[0, 3])  # row 0 ends at its first new token
    assert stop not in greedy[1, 3:], "row 1 must keep running for the test to mean something"
    other = min(set(range(96)) - set(greedy.ravel().tolist()))  # an eos id nothing produces, below stop
    assert other < stop
    got = netdef.generate(cached_llama, ids, 6, eos_token_id=[other, stop])
    np.testing.assert_array_equal(got[0, 3:], [stop] * 6)
    np.testing.assert_array_equal(got[1], greedy[1])
    assert netdef.generate(cached_llama, ids, 0).shape == (2, 3)  # 0 new tokens: the prompts


def test_next_tokens_top_k_top_p_and_temperature():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    rng = np.random.default_rng(0)

    def support(**kw):
        return {int(next_tokens(logits, SamplingConfig(True, **kw), rng)[0]) for _ in range(300)}

    assert support() == {0, 1, 2, 3}
    assert support(top_k=2) == {0, 1}
    assert support(top_p=0.75) == {0, 1}  # 0.5 < 0.75, 0.5 + 0.3 >= 0.75: the third is cut
    assert support(top_p=0.85) == {0, 1, 2}
    assert support(temperature=0.01) == {0}
    assert next_tokens(logits, SamplingConfig(), rng).tolist() == [0]
    with pytest.raises(netdef.NetdefError, match="top_p must be a number in"):
        SamplingConfig(True, top_p=0.0)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_sharded_safetensors_from_save_pretrained_bind_memory_mapped(tmp_path, family):
    from netdef.weights import load_weights_file

    model, twin = tiny_pair(family, tie_word_embeddings=True)
    twin.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    weights = load_weights_file(tmp_path)
    arr = dict.__getitem__(weights, next(iter(weights)))
    assert not arr.flags.owndata and not arr.flags.writeable  # a view of the mapped file
    for source in (tmp_path, tmp_path / "model.safetensors.index.json"):
        fresh = type(model)(**twin.config.to_dict())
        report = fresh.load_weights(source)
        assert not report.missing and not report.unexpected
    ids = np.random.default_rng(6).integers(0, 96, (1, 5))
    got = netdef.reference.run(netdef.define(fresh, fresh.default_inputs()), {"input_ids": ids})["logits"]
    assert_close(got, reference_logits(twin, ids))


def test_config_fields_are_transformers_names():
    from netdef.zoo.llama import LlamaForCausalLM

    transformers = import_transformers()
    config = transformers.LlamaConfig(**TINY_LLAMA).to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LlamaForCausalLM(**config)  # transformers' bookkeeping fields pass silently
    assert model.config.num_key_value_heads == 2 and model.config.head_dim == 8
    with pytest.warns(netdef.NetdefWarning, match=r"ignoring config fields netdef does not use: \['shiny_new_field'\]"):
        LlamaForCausalLM(**config, shiny_new_field=1)
    with pytest.raises(ValueError, match="rope_type 'yarn' is not supported"):
        LlamaForCausalLM(**{**config, "rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 2.0}})
    state = {
        k: v.numpy()
        for k, v in transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY_LLAMA)).state_dict().items()
    }
    assert set(state) == set(model.state_dict())


@pytest.mark.parametrize("overrides", [{}, {"sliding_window": 4}], ids=["full", "sliding-window"])
def test_cached_network_builds_with_the_installed_builder(overrides):
    model, _ = tiny_pair("llama", **overrides)
    engine = netdef.build(define_cached(model, max_context=32, max_batch=2, precision="fp16"))
    assert engine.data and engine.metadata["precision"] == "fp16"


# ------------------------------------------------------------------------------------------------ GPU


@pytest.mark.gpu
@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_engine_generation_matches_transformers_on_gpu(tmp_path, family):
    from netdef.runtime.device import backend_supports, current_gpu

    gpu = current_gpu()
    if gpu is None or not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to torch")
    if not backend_supports(gpu.compute_capability):
        pytest.skip(f"this TensorRT backend cannot run engines on compute capability {gpu.compute_capability}")
    model, twin = tiny_pair(family, bos_token_id=None, eos_token_id=None, **(WIDE if family == "gpt2" else {}))
    path = tmp_path / f"{family}.engine"
    netdef.build(define_cached(model, max_context=40, max_batch=2), output=path)
    ids = np.random.default_rng(5).integers(0, 96, (2, 6))
    got = netdef.generate(netdef.Engine.load(path), ids, max_new_tokens=32)
    with torch.no_grad():
        want = twin.generate(torch.from_numpy(ids), max_new_tokens=32, do_sample=False).numpy()
    # fp32 engines may use TF32 matmuls: compare the first 8 tokens exactly, which near-ties cannot flip at this size
    np.testing.assert_array_equal(got[:, :14], want[:, :14])


# ------------------------------------------------------------------------------------ checkpoints and configs

#: families whose save_pretrained folders bind to LlamaForCausalLM's weight names (some of them) but compute
#: something else: Gemma scales the embeddings and adds 1 to its norms, Granite has multipliers, Qwen2 biases...
OTHER_FAMILIES = {
    "Gemma": "gemma",
    "Gemma2": "gemma2",
    "Granite": "granite",
    "Qwen2": "qwen2",
    "Qwen3": "qwen3",
    "Phi3": "phi3",
}


@pytest.mark.parametrize("family", list(OTHER_FAMILIES))
def test_checkpoints_of_another_family_are_refused_by_model_type(tmp_path, family):
    import json

    from netdef.zoo.llama import LlamaForCausalLM

    transformers = import_transformers()
    getattr(transformers, f"{family}Config")(**TINY_LLAMA, architectures=[f"{family}ForCausalLM"]).save_pretrained(
        tmp_path
    )
    kind = OTHER_FAMILIES[family]
    with pytest.raises(netdef.NetdefError, match=rf"config\.json: model_type '{kind}' is not what LlamaForCausalLM"):
        LlamaForCausalLM.from_pretrained(tmp_path)
    fields = json.loads((tmp_path / "config.json").read_text())
    with pytest.raises(netdef.NetdefError, match=rf"model_type '{kind}' is not what LlamaForCausalLM implements"):
        LlamaForCausalLM(**fields)  # the README's spelling
    fields["model_type"] = "llama"  # renamed by hand: the architecture still tells
    with pytest.raises(netdef.NetdefError, match=rf"architectures \['{family}ForCausalLM'\] are not what"):
        LlamaForCausalLM(**fields)


def test_a_gemma_checkpoint_that_binds_by_name_is_refused_before_binding(tmp_path):
    """Gemma's weights carry Llama's names exactly: before, they bound and gave logits 104% off."""
    from netdef.zoo.llama import LlamaForCausalLM

    transformers = import_transformers()
    torch.manual_seed(0)
    transformers.GemmaForCausalLM(transformers.GemmaConfig(**TINY_LLAMA, head_dim=8)).save_pretrained(tmp_path)
    with pytest.raises(netdef.NetdefError, match="model_type 'gemma'"):
        LlamaForCausalLM.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("embedding_multiplier", 12.0),
        ("residual_multiplier", 0.22),
        ("attention_multiplier", 0.0078125),
        ("logits_scaling", 8.0),
        ("attn_logit_softcapping", 50.0),
        ("final_logit_softcapping", 30.0),
        ("query_pre_attn_scalar", 256),
        ("use_sliding_window", True),
        ("layer_types", ["sliding_attention", "full_attention"]),
    ],
)
def test_fields_that_change_the_math_are_refused_by_name(field, value):
    from netdef.zoo.llama import LlamaForCausalLM

    config = import_transformers().LlamaConfig(**TINY_LLAMA).to_dict()
    with pytest.raises(netdef.NetdefError, match=rf"{field}=.* changes the model's output and LlamaForCausalLM does"):
        LlamaForCausalLM(**config, **{field: value})


def test_neutral_values_of_those_fields_load():
    from netdef.zoo.llama import LlamaForCausalLM

    config = import_transformers().LlamaConfig(**TINY_LLAMA).to_dict()
    neutral = {"embedding_multiplier": 1.0, "logits_scaling": 1, "use_sliding_window": False}
    model = LlamaForCausalLM(**config, **neutral, layer_types=["full_attention"] * 2)
    assert model.config.hidden_size == 32


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("num_attention_heads", "4", r"num_attention_heads must be an int >= 1, got '4'"),
        ("num_attention_heads", 0, r"num_attention_heads must be an int >= 1, got 0"),
        ("num_key_value_heads", 3, r"num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)"),
        ("hidden_size", -32, r"hidden_size must be an int >= 1, got -32"),
        ("vocab_size", 96.5, r"vocab_size must be an int >= 1, got 96.5"),
        ("rms_norm_eps", float("nan"), r"rms_norm_eps must be a finite number >= 0"),
        ("tie_word_embeddings", "yes", r"tie_word_embeddings must be true or false"),
        ("sliding_window", 0, r"sliding_window must be an int >= 1 or null"),
        ("eos_token_id", [2, "3"], r"eos_token_id must be an int or a list of ints"),
        ("rope_parameters", {"rope_type": "linear", "rope_theta": 1e4}, r"rope_parameters .*misses 'factor'"),
        ("rope_scaling", {"type": "linear", "factor": 2.0}, r"rope_scaling .* and rope_parameters .* disagree"),
    ],
)
def test_config_fields_are_checked_naming_the_field_and_the_file(tmp_path, field, value, match):
    import json

    from netdef.zoo.llama import LlamaForCausalLM

    config = import_transformers().LlamaConfig(**TINY_LLAMA).to_dict()
    config[field] = value
    with pytest.raises(netdef.ArgumentError, match=match):
        LlamaForCausalLM(**config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(netdef.ArgumentError, match=rf"{tmp_path / 'config.json'}: .*{match}"):
        LlamaForCausalLM.from_pretrained(tmp_path)


def test_from_pretrained_loads_a_save_pretrained_folder(tmp_path):
    from netdef.zoo.gpt2 import GPT2LMHeadModel
    from netdef.zoo.llama import LlamaForCausalLM

    for family, cls in (("llama", LlamaForCausalLM), ("gpt2", GPT2LMHeadModel)):
        _, twin = tiny_pair(family)
        twin.save_pretrained(tmp_path / family)
        model = cls.from_pretrained(tmp_path / family)
        ids = np.random.default_rng(1).integers(0, 96, (1, 5))
        got = netdef.reference.run(netdef.define(model, model.default_inputs()), {"input_ids": ids})["logits"]
        assert_close(got, reference_logits(twin, ids))
    with pytest.raises(netdef.NetdefError, match="model_type 'llama' is not what GPT2LMHeadModel implements"):
        GPT2LMHeadModel.from_pretrained(tmp_path / "llama")


def test_unexpected_weights_of_the_models_modules_are_refused_even_with_strict_false():
    """A Qwen2 checkpoint has q/k/v biases: the BindError used to advise strict=False, which then computed
    logits without them (argmax agreement 0-50%)."""
    from netdef.zoo.llama import LlamaForCausalLM

    transformers = import_transformers()
    torch.manual_seed(0)
    qwen = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**TINY_LLAMA)).eval()
    state = {k: v.detach().numpy() for k, v in qwen.state_dict().items()}
    llama = {k: v for k, v in qwen.config.to_dict().items() if k not in ("model_type", "architectures")}
    llama = {k: v for k, v in llama.items() if k not in ("layer_types", "use_sliding_window", "max_window_layers")}
    for strict in (True, False):
        with pytest.raises(netdef.BindError) as info:
            LlamaForCausalLM(**llama).load_weights(state, strict=strict)
        message = str(info.value)
        assert (
            "model.layers.0.self_attn.q_proj.bias: module `model.layers.0.self_attn.q_proj` (Linear) has no bias"
            in message
        )
        assert "strict=False to skip" not in message


def test_sliding_window_attention_matches_mistral_in_every_path():
    """A user-written Input longer than the window used to compute full attention (120% off past the window)."""
    from netdef.zoo.llama import LlamaForCausalLM

    transformers = import_transformers()
    torch.manual_seed(0)
    twin = transformers.MistralForCausalLM(transformers.MistralConfig(**TINY_LLAMA, sliding_window=4)).eval()
    model = LlamaForCausalLM(**twin.config.to_dict())
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    ids = np.random.default_rng(2).integers(0, 96, (2, 12))
    net = netdef.define(model, {"input_ids": netdef.Input((2, 12), "int64")})
    want = reference_logits(twin, ids)
    assert_close(netdef.reference.run(net, {"input_ids": ids})["logits"], want)
    cached = define_cached(model, max_context=16, max_batch=2)
    got = netdef.generate(cached, ids[:, :9], 3)
    with torch.no_grad():
        expected = twin.generate(torch.from_numpy(ids[:, :9]), max_new_tokens=3, do_sample=False).numpy()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_a_sequence_past_the_position_limit_stops_at_an_assertion(family):
    limit = {"llama": {"max_position_embeddings": 8}, "gpt2": {"n_positions": 8}}[family]
    model, twin = tiny_pair(family, **limit)
    ids = netdef.Input((1, -1), "int64", min=(1, 1), opt=(1, 8), max=(1, 16))
    net = netdef.define(model, {"input_ids": ids})
    tokens = np.arange(1, 13)[None]
    assert_close(
        netdef.reference.run(net, {"input_ids": tokens[:, :8]})["logits"], reference_logits(twin, tokens[:, :8])
    )
    with pytest.raises(
        netdef.InterpreterError, match=r"input_ids is longer than (max_position_embeddings|n_positions)=8"
    ):
        netdef.reference.run(net, {"input_ids": tokens})
