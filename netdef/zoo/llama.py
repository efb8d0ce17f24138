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
    softcapped_attention,
    token_inputs,
    unpadded_positions,
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
    #: RMSNorm of each query and key head before RoPE (Qwen3's q_norm / k_norm)
    QK_NORM: ClassVar[bool] = False
    #: one ``qkv_proj`` and one ``gate_up_proj`` instead of q/k/v and gate/up (Phi-3)
    FUSED_PROJECTIONS: ClassVar[bool] = False
    #: RMSNorms scale by ``1 + weight`` (Gemma)
    NORM_UNIT_OFFSET: ClassVar[bool] = False
    #: norms after attention and around the MLP too: ``pre/post_feedforward_layernorm`` (Gemma 2)
    SANDWICH_NORM: ClassVar[bool] = False
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
                f"{type(self).__name__} field num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ArgumentError(
                f"{type(self).__name__} field hidden_act {self.hidden_act!r} is not supported; use one of "
                f"{', '.join(ACTIVATIONS)}"
            )
        if self.head_dim % 2:
            raise ArgumentError(
                f"{type(self).__name__} field head_dim must be even (RoPE rotates pairs), got {self.head_dim}"
            )
        if self.rope_scaling and self.rope_parameters:
            old = dict(self.rope_scaling)
            old.setdefault("rope_type", old.pop("type", "default"))
            if any(self.rope_parameters.get(k, v) != v for k, v in old.items()):
                raise ArgumentError(
                    f"{type(self).__name__} fields rope_scaling {self.rope_scaling!r} and rope_parameters "
                    f"{self.rope_parameters!r} disagree: keep the one the checkpoint was trained with"
                )
        try:
            for key in dict.fromkeys(self.rope_key(i) for i in range(self.num_hidden_layers)):
                self.inv_freq(False, key), self.inv_freq(True, key), self.attention_factor(key)
                dim = self.rotary_dim(key)
                if not 0 < dim <= self.head_dim or dim % 2:
                    raise ValueError(f"partial_rotary_factor gives {dim} rotated features of {self.head_dim}")
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            field = "rope_parameters" if self.rope_parameters else "rope_scaling"
            detail = f"misses {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ArgumentError(
                f"{type(self).__name__} field {field} {self.rope_parameters or self.rope_scaling!r}: {detail}"
            ) from None

    def rope_key(self, layer_idx: int) -> str | None:
        """Which RoPE parameters layer ``layer_idx`` takes (Gemma 3: its layer type); None: the one set."""
        return None

    def rope(self, key: str | None = None) -> dict:
        params = dict(self.rope_scaling or {})
        params.update(self.rope_parameters or {})
        params.setdefault("rope_theta", self.rope_theta)
        params.setdefault("rope_type", params.pop("type", "default"))
        return params

    def rotary_dim(self, key: str | None = None) -> int:
        """How many features of each head RoPE rotates (``partial_rotary_factor`` of ``head_dim``)."""
        return int(self.head_dim * float(self.rope(key).get("partial_rotary_factor", 1.0)))

    def _original_positions(self, params: dict) -> int:
        return int(params.get("original_max_position_embeddings") or self.max_position_embeddings)

    def inv_freq(self, long: bool = False, key: str | None = None) -> np.ndarray:
        """RoPE's inverse frequencies per feature pair: default, linear, dynamic (the default within the
        positions it was trained on: see ``rope_limit``), llama3, yarn, longrope (``long``: the factors for
        sequences past ``original_max_position_embeddings``)."""
        params = self.rope(key)
        dim = self.rotary_dim(key)
        inv = 1.0 / float(params["rope_theta"]) ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
        kind = params["rope_type"]
        if kind in ("default", "dynamic"):
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
        if kind == "yarn":
            factor, base, old = float(params["factor"]), float(params["rope_theta"]), self._original_positions(params)
            fast, slow = float(params.get("beta_fast") or 32), float(params.get("beta_slow") or 1)

            def dim_of(rotations: float) -> float:  # the feature index that turns ``rotations`` times in ``old``
                return dim * math.log(old / (rotations * 2 * math.pi)) / (2 * math.log(base))

            low, high = dim_of(fast), dim_of(slow)
            if params.get("truncate", True):
                low, high = math.floor(low), math.ceil(high)
            low, high = max(low, 0), min(high, dim - 1)
            ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / ((high - low) or 0.001), 0, 1)
            return inv / factor * ramp + inv * (1 - ramp)
        if kind == "longrope":
            factors = np.asarray(params["long_factor" if long else "short_factor"], np.float64)
            if factors.shape != inv.shape:
                raise ValueError(f"long_factor/short_factor need {inv.shape[0]} values (rotary_dim / 2)")
            return inv / factors
        raise ValueError(
            f"rope_type {kind!r} is not supported; netdef implements default, linear, dynamic, llama3, yarn, longrope"
        )

    def attention_factor(self, key: str | None = None) -> float:
        """The factor of RoPE's cos and sin (yarn's and longrope's attention scaling; 1 otherwise)."""
        params = self.rope(key)
        kind = params["rope_type"]
        if kind not in ("yarn", "longrope"):
            return 1.0
        if params.get("attention_factor") is not None:
            return float(params["attention_factor"])
        old = self._original_positions(params)
        factor = params.get("factor")
        factor = float(factor) if factor is not None else self.max_position_embeddings / old
        if kind == "longrope":
            return 1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(old))

        def mscale(scale: float, m: float = 1.0) -> float:
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        if params.get("mscale") and params.get("mscale_all_dim"):
            return mscale(factor, float(params["mscale"])) / mscale(factor, float(params["mscale_all_dim"]))
        return mscale(factor)

    def rope_switch(self, key: str | None = None) -> int | None:
        """longrope's ``original_max_position_embeddings``: a sequence whose last position is past it takes the
        long factors (for the whole forward, as transformers), else the short ones. None for other types."""
        params = self.rope(key)
        return self._original_positions(params) if params["rope_type"] == "longrope" else None

    def rope_limit(self, key: str | None = None) -> int | None:
        """The last position + 1 the RoPE tables are exact for: dynamic scaling recomputes its frequencies
        for longer sequences (netdef does not), so it is the default RoPE within the trained positions."""
        params = self.rope(key)
        return self._original_positions(params) if params["rope_type"] == "dynamic" else None

    def rope_tables(self, max_positions: int, key: str | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(cos, sin) tables (max_positions, rotary_dim / 2), times ``attention_factor``; longrope's short and
        long tables."""
        scale = self.attention_factor(key)
        kinds = (False, True) if self.rope_switch(key) is not None else (False,)
        tables = []
        for long in kinds:
            cos, sin = rope_cache(self.rotary_dim(key), max_positions, inv_freq=self.inv_freq(long, key))
            tables.append(((cos * scale).astype(np.float32), (sin * scale).astype(np.float32)))
        return tables

    def positions(self, max_context: int | None = None) -> int:
        """How many positions a network sees: ``max_position_embeddings``, or a cache's ``max_context``."""
        return self.max_position_embeddings if max_context is None else max(max_context, self.max_position_embeddings)

    def window(self, positions: int) -> int | None:
        """Mistral's sliding window where it masks anything within ``positions`` positions, else None."""
        return self.sliding_window if self.sliding_window is not None and self.sliding_window < positions else None

    def layer_window(self, layer_idx: int, positions: int) -> int | None:
        """The sliding window of layer ``layer_idx`` where it masks anything within ``positions`` positions
        (Mistral: every layer's), else None."""
        return self.window(positions)

    def projection_bias(self) -> tuple[bool, bool]:
        """Whether q/k/v_proj and o_proj have biases (Llama: both ``attention_bias``)."""
        return self.attention_bias, self.attention_bias

    def activation(self) -> str:
        """The MLP's activation (a key of ``netdef.zoo.bert.ACTIVATIONS``)."""
        return self.hidden_act

    def embedding_scale(self) -> float | None:
        """Factor of the token embeddings (Gemma: sqrt(hidden_size)), None for none."""
        return None

    def attention_scale(self) -> float:
        """Scale of the attention scores (1/sqrt(head_dim))."""
        return self.head_dim**-0.5

    def attention_softcap(self) -> float | None:
        """``cap * tanh(scores / cap)`` of the attention scores (Gemma 2), None for none."""
        return None

    def logit_softcap(self) -> float | None:
        """``cap * tanh(logits / cap)`` of the logits (Gemma 2), None for none."""
        return None


@dataclass
class MistralConfig(LlamaConfig):
    """The MistralConfig fields (transformers' names and defaults): LlamaConfig's with a sliding window."""

    MODEL: ClassVar[str] = "MistralForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("mistral",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("MistralForCausalLM",)

    intermediate_size: int = 14336
    num_key_value_heads: int | None = 8
    max_position_embeddings: int = 4096 * 32
    sliding_window: int | None = 4096


def rope_inputs(config: LlamaConfig, positions, max_positions: int, key: str | None = None):
    """The (cos, sin) tables the attention layers index by position; longrope's short or long ones, picked at
    run time by the sequence's last position (``LlamaConfig.rope_switch``)."""
    tables = [tuple(F.as_tensor(t) for t in pair) for pair in config.rope_tables(max_positions, key)]
    if len(tables) == 1:
        return tables[0]
    (short_cos, short_sin), (long_cos, long_sin) = tables
    longer = F.amax(positions, (0, 1)) + 1 > config.rope_switch(key)
    return F.where(longer, long_cos, short_cos), F.where(longer, long_sin, short_sin)


class LlamaAttention(nn.Module):
    """q/k/v/o projections, RoPE on q and k, grouped-query scaled dot-product attention."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads, self.num_key_value_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        bias, o_bias = config.projection_bias()
        self.fused = config.FUSED_PROJECTIONS
        sizes = [self.num_heads * self.head_dim] + [self.num_key_value_heads * self.head_dim] * 2
        if self.fused:
            self.qkv_proj = nn.Linear(config.hidden_size, sum(sizes), bias=bias)
            self.qkv_sizes = sizes
        else:
            self.q_proj = nn.Linear(config.hidden_size, sizes[0], bias=bias)
            self.k_proj = nn.Linear(config.hidden_size, sizes[1], bias=bias)
            self.v_proj = nn.Linear(config.hidden_size, sizes[2], bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=o_bias)
        self.qk_norm = config.QK_NORM
        if self.qk_norm:
            self.q_norm = RMSNorm(self.head_dim, eps=config.rms_norm_eps, unit_offset=config.NORM_UNIT_OFFSET)
            self.k_norm = RMSNorm(self.head_dim, eps=config.rms_norm_eps, unit_offset=config.NORM_UNIT_OFFSET)
        self.scale = config.attention_scale()
        rotary_dim = config.rotary_dim(config.rope_key(layer_idx))
        self.rotary_dim = rotary_dim if rotary_dim < self.head_dim else 0  # 0: every feature
        self.softcap = config.attention_softcap()

    def forward(self, hidden_states, rope, positions, mask=None, cache=None, past_length=None):
        batch, length, _ = hidden_states.shape
        if self.fused:
            q, k, v = F.split(self.qkv_proj(hidden_states), self.qkv_sizes, -1)
        else:
            q, k, v = self.q_proj(hidden_states), self.k_proj(hidden_states), self.v_proj(hidden_states)
        q = q.view(batch, length, self.num_heads, self.head_dim)
        k = k.view(batch, length, self.num_key_value_heads, self.head_dim)
        v = v.view(batch, length, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = rotary_embedding(q, *rope, position_ids=positions, rotary_dim=self.rotary_dim)
        k = rotary_embedding(k, *rope, position_ids=positions, rotary_dim=self.rotary_dim)
        present = None
        if cache is not None:
            k = kv_cache_update(cache[0], k, past_length)
            v = kv_cache_update(cache[1], v, past_length)
            present = (k, v)
        if self.softcap is not None:
            out = softcapped_attention(q, k, v, mask, self.scale, self.softcap)
        else:
            causal = mask is None and cache is None
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=causal, scale=self.scale, enable_gqa=True
            )
        out = out.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)
        return self.o_proj(out), present


class LlamaMLP(nn.Module):
    """SwiGLU: ``down_proj(act(gate_proj(x)) * up_proj(x))``."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        bias = config.mlp_bias
        self.fused = config.FUSED_PROJECTIONS
        if self.fused:  # Phi-3: gate and up halves of one projection
            self.gate_up_proj = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=bias)
        else:
            self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
            self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)
        self.act_fn = ACTIVATIONS[config.activation()]()

    def forward(self, x):
        if self.fused:
            gate, up = F.chunk(self.gate_up_proj(x), 2, -1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(self.act_fn(gate) * up)


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)). With ``SANDWICH_NORM`` (Gemma 2) the
    attention's output is normed too (``post_attention_layernorm``), and the MLP runs between
    ``pre_feedforward_layernorm`` and ``post_feedforward_layernorm``."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.sandwich = config.SANDWICH_NORM
        names = ["input_layernorm", "post_attention_layernorm"]
        names += ["pre_feedforward_layernorm", "post_feedforward_layernorm"] if self.sandwich else []
        for name in names:
            setattr(self, name, RMSNorm(config.hidden_size, config.rms_norm_eps, config.NORM_UNIT_OFFSET))

    def forward(self, hidden_states, rope, positions, mask=None, cache=None, past_length=None):
        attn, present = self.self_attn(self.input_layernorm(hidden_states), rope, positions, mask, cache, past_length)
        if self.sandwich:
            hidden_states = hidden_states + self.post_attention_layernorm(attn)
            mlp = self.mlp(self.pre_feedforward_layernorm(hidden_states))
            return hidden_states + self.post_feedforward_layernorm(mlp), present
        hidden_states = hidden_states + attn
        hidden_states = hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))
        return hidden_states, present


class LlamaModel(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList([LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps, unit_offset=config.NORM_UNIT_OFFSET)

    def forward(self, input_ids, past_length=None, caches=(), pad_length=None):
        config = self.config
        slots = position_ids(input_ids, past_length)
        positions = unpadded_positions(slots, pad_length)
        keys = [config.rope_key(i) for i in range(len(self.layers))]
        limits = [config.rope_limit(k) for k in dict.fromkeys(keys) if config.rope_limit(k) is not None]
        limit = min(limits) if limits else None
        if caches:
            max_context = caches[0][0].shape[2]
            max_positions = config.positions(max_context)
            if limit is not None and max_context > limit:
                raise ArgumentError(
                    f"{type(config).__name__}: dynamic RoPE recomputes its frequencies past {limit} positions "
                    f"(original_max_position_embeddings) and netdef does not: define the cached network with "
                    f"max_context <= {limit}, got {max_context}"
                )
            windows = [config.layer_window(i, max_context) for i in range(len(self.layers))]
            masks = {w: cache_mask(slots, max_context, w, pad_length) for w in dict.fromkeys(windows)}
        else:
            max_positions = config.max_position_embeddings
            if limit is not None and limit < max_positions:
                check_length(input_ids, limit, "original_max_position_embeddings (dynamic RoPE)")
            check_length(input_ids, max_positions, "max_position_embeddings")
            windows = [config.layer_window(i, max_positions) for i in range(len(self.layers))]
            # the written-out (softcapped) attention has no is_causal: it takes the causal mask
            causal = config.attention_softcap() is not None
            masks = {w: window_mask(positions, w) if w is not None or causal else None for w in dict.fromkeys(windows)}
        ropes = {k: rope_inputs(config, positions, max_positions, k) for k in dict.fromkeys(keys)}
        hidden_states = self.embed_tokens(input_ids)
        if config.embedding_scale() is not None:
            hidden_states = hidden_states * config.embedding_scale()
        presents = []
        for i, layer in enumerate(self.layers):
            cache = caches[i] if caches else None
            hidden_states, present = layer(
                hidden_states, ropes[keys[i]], positions, masks[windows[i]], cache, past_length
            )
            presents.append(present)
        return self.norm(hidden_states), presents


class LlamaForCausalLM(nn.Module):
    """transformers.LlamaForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size).

    Build it from a ``LlamaConfig`` or from its fields as keyword arguments. With ``past_length`` and the
    cache inputs of ``cache_inputs()`` it also returns the updated caches (see ``netdef.zoo._decoder``).
    """

    #: the config dataclass (transformers' config class of the same family)
    config_class: ClassVar[type] = LlamaConfig

    def __init__(self, config: LlamaConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = config_from_kwargs(self.config_class, config, kwargs)
        self.model = LlamaModel(self.config)
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Linear(self.config.hidden_size, self.config.vocab_size, bias=False)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, strict: bool = True) -> LlamaForCausalLM:
        """The model of a ``save_pretrained`` directory: ``config.json`` checked (model_type, architectures,
        every field; errors name the file and the field), then its safetensors bound (memory-mapped)."""
        return from_pretrained(cls, cls.config_class, path, strict)

    def load_weights(self, weights, strict: bool = True, rename=None):
        """Module.load_weights; with tied embeddings a checkpoint's ``lm_head.weight`` (a copy of the
        embedding that transformers' state_dict lists) is dropped."""
        return tie_aware_load(self, weights, strict, rename, "lm_head.weight", "model.embed_tokens.weight")

    def forward(self, input_ids, past_length=None, *past_key_values, pad_length=None):
        caches = list(zip(past_key_values[0::2], past_key_values[1::2]))
        hidden_states, presents = self.model(input_ids, past_length, caches, pad_length)
        if self.config.tie_word_embeddings:
            logits = F.linear(hidden_states, self.model.embed_tokens.weight.data)
        else:
            logits = self.lm_head(hidden_states)
        cap = self.config.logit_softcap()
        if cap is not None:
            logits = F.tanh(logits / cap) * cap
        outputs = {"logits": logits}
        for i, present in enumerate(presents if caches else ()):
            outputs[f"present.{i}.key"], outputs[f"present.{i}.value"] = present
        return outputs

    def default_inputs(self, max_batch: int = 1, max_seq: int = 128) -> dict[str, Input]:
        """``input_ids`` with dynamic batch (1..max_batch) and length (1..max_seq, at most
        ``max_position_embeddings``: longer sequences stop at an assertion)."""
        return token_inputs(max_batch, min(max_seq, self.config.max_position_embeddings))

    def cache_inputs(
        self, max_context: int, max_batch: int = 1, dtype: str = "float32", padded: bool = True
    ) -> dict[str, Input]:
        """Inputs of the cached network (prefill and decode profiles), caches of ``max_context`` slots; with
        ``padded`` a ``pad_length`` input for left-padded batches."""
        c = self.config
        return cache_inputs(
            c.num_hidden_layers, c.num_key_value_heads, c.head_dim, max_context, max_batch, dtype, padded
        )


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


class MistralForCausalLM(LlamaForCausalLM):
    """transformers.MistralForCausalLM: Llama's blocks with ``sliding_window`` over every layer (computed in
    every path). ``LlamaForCausalLM`` takes Mistral checkpoints too; this class refuses other families."""

    config_class: ClassVar[type] = MistralConfig
