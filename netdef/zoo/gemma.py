"""Gemma and Gemma 2 decoders with transformers' ``GemmaForCausalLM`` / ``Gemma2ForCausalLM`` module trees and
state_dict names, as options of Llama's blocks (``netdef.zoo.llama``).

Gemma: token embeddings scaled by sqrt(hidden_size), RMSNorms scaling by ``1 + weight`` (the stored weight is
bound unchanged), a gelu-tanh gated MLP, the head tied to the embeddings. Gemma 2 adds norms after attention
and around the MLP (``pre_feedforward_layernorm``, ``post_feedforward_layernorm``), ``tanh`` soft-capping of
the attention scores and of the logits (attention written out: no fused kernel caps), the attention scale
``query_pre_attn_scalar ** -0.5``, and sliding-window layers alternating with full ones (``layer_types``, or
``sliding_window_pattern``: every pattern-th layer full).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

from netdef import NetdefWarning
from netdef.errors import ArgumentError
from netdef.zoo._config import check_fields
from netdef.zoo._decoder import LAYER_TYPES, check_layer_types
from netdef.zoo.bert import ACTIVATIONS
from netdef.zoo.llama import LlamaConfig, LlamaForCausalLM

_GEMMA2_FIELDS = (
    "hidden_activation",
    "query_pre_attn_scalar",
    "attn_logit_softcapping",
    "final_logit_softcapping",
    "layer_types",
)


@dataclass
class GemmaConfig(LlamaConfig):
    """The GemmaConfig fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "GemmaForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("gemma",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("GemmaForCausalLM",)
    UNIMPLEMENTED: ClassVar[dict] = {k: v for k, v in LlamaConfig.UNIMPLEMENTED.items() if k != "hidden_activation"}
    NORM_UNIT_OFFSET: ClassVar[bool] = True

    vocab_size: int = 256000
    hidden_size: int = 3072
    intermediate_size: int = 24576
    num_hidden_layers: int = 28
    num_attention_heads: int = 16
    num_key_value_heads: int | None = 16
    head_dim: int | None = 256
    hidden_act: str = "gelu_pytorch_tanh"
    #: transformers 4's name of the activation (Gemma 1 checkpoints may carry both)
    hidden_activation: str | None = None
    max_position_embeddings: int = 8192
    tie_word_embeddings: bool = True
    pad_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 1
    bos_token_id: int | None = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden_activation is not None and self.hidden_activation not in ACTIVATIONS:
            raise ArgumentError(
                f"{type(self).__name__} field hidden_activation {self.hidden_activation!r} is not supported; use "
                f"one of {', '.join(ACTIVATIONS)}"
            )

    def activation(self) -> str:
        """``hidden_activation`` if set, else ``hidden_act`` with Gemma's legacy ``gelu`` meaning the tanh
        approximation (as transformers reads it)."""
        if self.hidden_activation is not None:
            return self.hidden_activation
        return "gelu_pytorch_tanh" if self.hidden_act == "gelu" else self.hidden_act

    def embedding_scale(self) -> float:
        return self.hidden_size**0.5


@dataclass
class Gemma2Config(GemmaConfig):
    """The Gemma2Config fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "Gemma2ForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("gemma2",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("Gemma2ForCausalLM",)
    UNIMPLEMENTED: ClassVar[dict] = {k: v for k, v in LlamaConfig.UNIMPLEMENTED.items() if k not in _GEMMA2_FIELDS}
    SANDWICH_NORM: ClassVar[bool] = True

    hidden_size: int = 2304
    intermediate_size: int = 9216
    num_hidden_layers: int = 26
    num_attention_heads: int = 8
    num_key_value_heads: int | None = 4
    hidden_activation: str | None = "gelu_pytorch_tanh"
    query_pre_attn_scalar: float = 256
    sliding_window: int | None = 4096
    final_logit_softcapping: float | None = 30.0
    attn_logit_softcapping: float | None = 50.0
    layer_types: list[str] | None = None
    #: every pattern-th layer full, the others sliding (Gemma 3's legacy field); layer_types wins
    sliding_window_pattern: int | None = None

    #: every how many layers one is full when neither layer_types nor sliding_window_pattern say
    PATTERN: ClassVar[int] = 2

    def __post_init__(self) -> None:
        check_fields(self)  # before the layer types are derived from num_hidden_layers
        if self.layer_types is None:
            pattern = self.sliding_window_pattern or getattr(self, "_sliding_window_pattern", None) or self.PATTERN
            self.layer_types = [
                "sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(self.num_hidden_layers)
            ]
        check_layer_types(self)
        super().__post_init__()
        for name in ("query_pre_attn_scalar", "final_logit_softcapping", "attn_logit_softcapping"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ArgumentError(f"{type(self).__name__} field {name} must be > 0 (or null), got {value!r}")

    def activation(self) -> str:
        return self.hidden_activation or "gelu_pytorch_tanh"

    def layer_window(self, layer_idx: int, positions: int) -> int | None:
        return self.window(positions) if self.layer_types[layer_idx] == "sliding_attention" else None

    def attention_scale(self) -> float:
        return float(self.query_pre_attn_scalar) ** -0.5

    def attention_softcap(self) -> float | None:
        return self.attn_logit_softcapping

    def logit_softcap(self) -> float | None:
        return self.final_logit_softcapping


@dataclass
class Gemma3TextConfig(Gemma2Config):
    """The Gemma3TextConfig fields the decoder uses (transformers' names and defaults): Gemma 2's with RMSNorms of
    each query and key head, five sliding layers per full one, no soft-capping by default, and RoPE per layer
    type (``rope_parameters`` keyed by layer type, or transformers 4's ``rope_theta`` and ``rope_scaling`` for
    full layers and ``rope_local_base_freq`` for sliding ones)."""

    MODEL: ClassVar[str] = "Gemma3ForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("gemma3_text",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("Gemma3ForCausalLM",)
    QK_NORM: ClassVar[bool] = True
    PATTERN: ClassVar[int] = 6

    vocab_size: int = 262208
    max_position_embeddings: int = 131072
    rope_theta: float = 1000000.0
    rope_local_base_freq: float = 10000.0
    final_logit_softcapping: float | None = None
    attn_logit_softcapping: float | None = None
    #: transformers 5's name of sliding_window_pattern
    _sliding_window_pattern: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attn_logit_softcapping is not None:
            warnings.warn(
                f"Gemma3TextConfig field attn_logit_softcapping={self.attn_logit_softcapping!r} is ignored: Gemma 3 "
                "computes attention without it (transformers' Gemma3ForCausalLM ignores it too)",
                NetdefWarning,
                stacklevel=4,
            )

    def attention_softcap(self) -> None:
        return None

    def rope_key(self, layer_idx: int) -> str:
        return self.layer_types[layer_idx]

    def rope(self, key: str | None = None) -> dict:
        layered = self.rope_parameters or {}
        if layered and set(layered) <= set(LAYER_TYPES):
            if key not in layered:
                raise KeyError(f"{key} (rope_parameters has one set per layer type)")
            params = dict(layered[key])
            params.setdefault("rope_type", params.pop("type", "default"))
            params.setdefault(
                "rope_theta", self.rope_local_base_freq if key == "sliding_attention" else self.rope_theta
            )
            return params
        if key == "sliding_attention":
            return {"rope_type": "default", "rope_theta": self.rope_local_base_freq}
        return super().rope(key)


class GemmaForCausalLM(LlamaForCausalLM):
    """transformers.GemmaForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size); with
    ``past_length`` and ``cache_inputs()`` the KV-cached network (see ``netdef.zoo._decoder``)."""

    config_class: ClassVar[type] = GemmaConfig


class Gemma2ForCausalLM(LlamaForCausalLM):
    """transformers.Gemma2ForCausalLM for inference (soft-capped attention written out, alternating sliding
    windows); inputs and outputs as ``GemmaForCausalLM``."""

    config_class: ClassVar[type] = Gemma2Config


class Gemma3ForCausalLM(LlamaForCausalLM):
    """transformers.Gemma3ForCausalLM (the text model, model_type gemma3_text) for inference; inputs and
    outputs as ``GemmaForCausalLM``."""

    config_class: ClassVar[type] = Gemma3TextConfig
