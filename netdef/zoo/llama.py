"""Llama-family decoders (Llama 2/3, Mistral-style, TinyLlama...) with transformers' ``LlamaForCausalLM`` module
tree and state_dict names: RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU.

``model.embed_tokens``, ``model.layers.N.{self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, input_layernorm,
post_attention_layernorm}``, ``model.norm``, ``lm_head`` (absent with ``tie_word_embeddings``: the logits
reuse ``model.embed_tokens.weight``). Build it from the same fields as transformers' ``LlamaConfig``:
``LlamaForCausalLM(**hf_config.to_dict())``, or from a ``save_pretrained`` directory with
``LlamaForCausalLM.from_pretrained(path)``. Either way the config is checked: model types and architectures
other than Llama and Mistral (Gemma, Granite, Qwen2...: same weight names, other math) and fields this decoder
does not compute (``LlamaConfig.UNIMPLEMENTED``) are refused by name. Mistral's ``sliding_window`` is computed
(a banded causal mask). Inputs and outputs are described in ``netdef.zoo._decoder``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from netdef import F, Input, nn
from netdef.errors import ArgumentError
from netdef.functional.kv_cache import kv_cache_update
from netdef.functional.rotary import rope_cache, rotary_embedding
from netdef.zoo._config import check_fields
from netdef.zoo._decoder import (
    RMSNorm,
    cache_inputs,
    cache_mask,
    check_length,
    config_from_kwargs,
    equals,
    from_pretrained,
    position_ids,
    token_inputs,
    unused,
    window_mask,
)
from netdef.zoo.bert import ACTIVATIONS


@dataclass
class LlamaConfig:
    """The LlamaConfig fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "LlamaForCausalLM"
    #: transformers' model types and architectures whose math this decoder computes
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("llama", "mistral")
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("LlamaForCausalLM", "MistralForCausalLM")
    #: fields of related families that change the math, with the value that changes nothing: anything else is
    #: refused by name (a checkpoint carrying them is not a Llama, whatever its model_type says)
    UNIMPLEMENTED: ClassVar[dict] = {
        "embedding_multiplier": (equals(1), "Granite's scale of the token embeddings"),
        "residual_multiplier": (equals(1), "Granite's scale of each block's output"),
        "attention_multiplier": (unused, "Granite's attention scale instead of 1/sqrt(head_dim)"),
        "logits_scaling": (equals(1), "Granite's divisor of the logits"),
        "attn_logit_softcapping": (unused, "Gemma 2's tanh cap of the attention scores"),
        "final_logit_softcapping": (unused, "Gemma 2's tanh cap of the logits"),
        "query_pre_attn_scalar": (unused, "Gemma 2's query scale"),
        "hidden_activation": (unused, "Gemma's activation field"),
        "use_bidirectional_attention": (unused, "attention without the causal mask"),
        "use_sliding_window": (unused, "Qwen2's per-layer sliding window"),
        "layer_types": (
            lambda v: v is None or all(t == "full_attention" for t in v),
            "per-layer attention kinds other than full_attention",
        ),
        "use_qk_norm": (unused, "RMSNorm of q and k per head"),
        "qk_layernorm": (unused, "RMSNorm of q and k per head"),
        "partial_rotary_factor": (equals(1), "RoPE over part of each head"),
        "clip_qkv": (unused, "a clip of the q/k/v projections"),
    }

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    #: transformers >= 5 keeps rope_theta and the scaling here ({"rope_type": "default", "rope_theta": ...})
    rope_parameters: dict | None = None
    #: transformers < 5's name for the scaling dict
    rope_scaling: dict | None = None
    attention_bias: bool = False
    mlp_bias: bool = False
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    pad_token_id: int | None = None
    #: Mistral's window; a window at least as long as the context changes nothing
    sliding_window: int | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_attention_heads % self.num_key_value_heads:
            raise ArgumentError(
                f"LlamaConfig field num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ArgumentError(
                f"LlamaConfig field hidden_act {self.hidden_act!r} is not supported; use one of "
                f"{', '.join(ACTIVATIONS)}"
            )
        if self.head_dim % 2:
            raise ArgumentError(f"LlamaConfig field head_dim must be even (RoPE rotates pairs), got {self.head_dim}")
        if self.rope_scaling and self.rope_parameters:
            old = dict(self.rope_scaling)
            old.setdefault("rope_type", old.pop("type", "default"))
            if any(self.rope_parameters.get(k, v) != v for k, v in old.items()):
                raise ArgumentError(
                    f"LlamaConfig fields rope_scaling {self.rope_scaling!r} and rope_parameters "
                    f"{self.rope_parameters!r} disagree: keep the one the checkpoint was trained with"
                )
        try:
            self.inv_freq()
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            field = "rope_parameters" if self.rope_parameters else "rope_scaling"
            detail = f"misses {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ArgumentError(f"LlamaConfig field {field} {self.rope()!r}: {detail}") from None

    def rope(self) -> dict:
        params = dict(self.rope_scaling or {})
        params.update(self.rope_parameters or {})
        params.setdefault("rope_theta", self.rope_theta)
        params.setdefault("rope_type", params.pop("type", "default"))
        return params

    def inv_freq(self) -> np.ndarray:
        """RoPE's inverse frequencies per feature pair (default, linear and llama3 scaling)."""
        params = self.rope()
        dim = self.head_dim
        inv = 1.0 / float(params["rope_theta"]) ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
        kind = params["rope_type"]
        if kind == "default":
            return inv
        if kind == "linear":
            return inv / float(params["factor"])
        if kind == "llama3":
            factor, low, high = (float(params[k]) for k in ("factor", "low_freq_factor", "high_freq_factor"))
            old = float(params["original_max_position_embeddings"])
            wavelen = 2 * math.pi / inv
            scaled = np.where(wavelen > old / low, inv / factor, inv)
            smooth = (old / wavelen - low) / (high - low)
            medium = (wavelen >= old / high) & (wavelen <= old / low)
            return np.where(medium, (1 - smooth) * scaled / factor + smooth * scaled, scaled)
        raise ValueError(f"rope_type {kind!r} is not supported; netdef implements default, linear and llama3")

    def positions(self, max_context: int | None = None) -> int:
        """How many positions a network sees: ``max_position_embeddings``, or a cache's ``max_context``."""
        return self.max_position_embeddings if max_context is None else max(max_context, self.max_position_embeddings)

    def window(self, positions: int) -> int | None:
        """Mistral's sliding window where it masks anything within ``positions`` positions, else None."""
        return self.sliding_window if self.sliding_window is not None and self.sliding_window < positions else None


class LlamaAttention(nn.Module):
    """q/k/v/o projections, RoPE on q and k, grouped-query scaled dot-product attention."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads, self.num_key_value_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        bias = config.attention_bias
        self.q_proj = nn.Linear(config.hidden_size, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=bias)

    def forward(self, hidden_states, rope, positions, mask=None, cache=None, past_length=None):
        batch, length, _ = hidden_states.shape
        q = self.q_proj(hidden_states).view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(batch, length, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(batch, length, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        q = rotary_embedding(q, *rope, position_ids=positions)
        k = rotary_embedding(k, *rope, position_ids=positions)
        present = None
        if cache is None:
            causal = mask is None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)
        else:
            k = kv_cache_update(cache[0], k, past_length)
            v = kv_cache_update(cache[1], v, past_length)
            present = (k, v)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        out = out.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)
        return self.o_proj(out), present


class LlamaMLP(nn.Module):
    """SwiGLU: ``down_proj(act(gate_proj(x)) * up_proj(x))``."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        bias = config.mlp_bias
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)
        self.act_fn = ACTIVATIONS[config.hidden_act]()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, hidden_states, rope, positions, mask=None, cache=None, past_length=None):
        attn, present = self.self_attn(self.input_layernorm(hidden_states), rope, positions, mask, cache, past_length)
        hidden_states = hidden_states + attn
        hidden_states = hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))
        return hidden_states, present


class LlamaModel(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList([LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, input_ids, past_length=None, caches=()):
        config = self.config
        positions = position_ids(input_ids, past_length)
        if caches:
            max_context = caches[0][0].shape[2]
            max_positions = config.positions(max_context)
            mask = cache_mask(positions, max_context, config.window(max_context))
        else:
            max_positions = config.max_position_embeddings
            check_length(input_ids, max_positions, "max_position_embeddings")
            window = config.window(max_positions)
            mask = None if window is None else window_mask(positions, window)
        rope = tuple(F.as_tensor(t) for t in rope_cache(config.head_dim, max_positions, inv_freq=config.inv_freq()))
        hidden_states = self.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            cache = caches[i] if caches else None
            hidden_states, present = layer(hidden_states, rope, positions, mask, cache, past_length)
            presents.append(present)
        return self.norm(hidden_states), presents


class LlamaForCausalLM(nn.Module):
    """transformers.LlamaForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size).

    Build it from a ``LlamaConfig`` or from its fields as keyword arguments. With ``past_length`` and the
    cache inputs of ``cache_inputs()`` it also returns the updated caches (see ``netdef.zoo._decoder``).
    """

    def __init__(self, config: LlamaConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = config_from_kwargs(LlamaConfig, config, kwargs)
        self.model = LlamaModel(self.config)
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Linear(self.config.hidden_size, self.config.vocab_size, bias=False)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, strict: bool = True) -> LlamaForCausalLM:
        """The model of a ``save_pretrained`` directory: ``config.json`` checked (model_type, architectures,
        every field; errors name the file and the field), then its safetensors bound (memory-mapped)."""
        return from_pretrained(cls, LlamaConfig, path, strict)

    def load_weights(self, weights, strict: bool = True, rename=None):
        """Module.load_weights; with tied embeddings a checkpoint's ``lm_head.weight`` (a copy of the
        embedding that transformers' state_dict lists) is dropped."""
        return tie_aware_load(self, weights, strict, rename, "lm_head.weight", "model.embed_tokens.weight")

    def forward(self, input_ids, past_length=None, *past_key_values):
        caches = list(zip(past_key_values[0::2], past_key_values[1::2]))
        hidden_states, presents = self.model(input_ids, past_length, caches)
        if self.config.tie_word_embeddings:
            logits = F.linear(hidden_states, self.model.embed_tokens.weight.data)
        else:
            logits = self.lm_head(hidden_states)
        outputs = {"logits": logits}
        for i, present in enumerate(presents if caches else ()):
            outputs[f"present.{i}.key"], outputs[f"present.{i}.value"] = present
        return outputs

    def default_inputs(self, max_batch: int = 1, max_seq: int = 128) -> dict[str, Input]:
        """``input_ids`` with dynamic batch (1..max_batch) and length (1..max_seq, at most
        ``max_position_embeddings``: longer sequences stop at an assertion)."""
        return token_inputs(max_batch, min(max_seq, self.config.max_position_embeddings))

    def cache_inputs(self, max_context: int, max_batch: int = 1, dtype: str = "float32") -> dict[str, Input]:
        """Inputs of the cached network (prefill and decode profiles), caches of ``max_context`` slots."""
        c = self.config
        return cache_inputs(c.num_hidden_layers, c.num_key_value_heads, c.head_dim, max_context, max_batch, dtype)


def tie_aware_load(model: nn.Module, weights, strict, rename, head: str, embedding: str):
    """Bind ``weights``, dropping ``head`` when the model ties it to ``embedding``."""
    if model.config.tie_word_embeddings:
        if isinstance(weights, (str, bytes)) or hasattr(weights, "__fspath__"):
            from netdef.weights import load_weights_file
            from netdef.weights.registry import freeze_weights

            weights = freeze_weights(load_weights_file(weights, rename=rename))  # read here: bound without copies
            rename = None
        if head in weights:
            weights = _without(weights, head)
    return nn.Module.load_weights(model, weights, strict=strict, rename=rename)


def _without(weights, name: str):
    """``weights`` less ``name``, keeping a netdef ``Weights``' class and flags (arrays are not read)."""
    from netdef.weights import Weights

    if not isinstance(weights, Weights):
        return {k: v for k, v in weights.items() if k != name}
    kept = type(weights)()
    kept.shaped = weights.shaped
    for key in weights:
        if key != name:
            dict.__setitem__(kept, key, dict.__getitem__(weights, key))
    return kept
