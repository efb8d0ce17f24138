"""Qwen3 decoders with transformers' ``Qwen3ForCausalLM`` module tree and state_dict names.

Qwen2's blocks (``netdef.zoo.qwen2``) with an RMSNorm over each query and key head before RoPE
(``self_attn.q_norm`` / ``k_norm``), ``attention_bias`` on all four projections and ``head_dim`` a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netdef.zoo.llama import LlamaForCausalLM
from netdef.zoo.qwen2 import Qwen2Config


@dataclass
class Qwen3Config(Qwen2Config):
    """The Qwen3Config fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "Qwen3ForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("qwen3",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("Qwen3ForCausalLM",)
    QK_NORM: ClassVar[bool] = True

    head_dim: int | None = 128

    def projection_bias(self) -> tuple[bool, bool]:
        return self.attention_bias, self.attention_bias


class Qwen3ForCausalLM(LlamaForCausalLM):
    """transformers.Qwen3ForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size); with
    ``past_length`` and ``cache_inputs()`` the KV-cached network (see ``netdef.zoo._decoder``)."""

    config_class: ClassVar[type] = Qwen3Config
