"""Qwen2 / Qwen2.5 decoders with transformers' ``Qwen2ForCausalLM`` module tree and state_dict names.

Llama's blocks (``netdef.zoo.llama``) with biases on ``q_proj``, ``k_proj`` and ``v_proj`` (none on ``o_proj``)
and Qwen2's per-layer sliding window (``use_sliding_window``, ``max_window_layers`` or ``layer_types``).
Build it from ``Qwen2Config``'s fields (``Qwen2ForCausalLM(**hf_config.to_dict())``) or a ``save_pretrained``
directory (``Qwen2ForCausalLM.from_pretrained(path)``); other families' checkpoints are refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netdef.zoo._decoder import check_layer_types
from netdef.zoo.llama import LlamaConfig, LlamaForCausalLM


@dataclass
class Qwen2Config(LlamaConfig):
    """The Qwen2Config fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "Qwen2ForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("qwen2",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("Qwen2ForCausalLM",)
    UNIMPLEMENTED: ClassVar[dict] = {
        k: v for k, v in LlamaConfig.UNIMPLEMENTED.items() if k not in ("use_sliding_window", "layer_types")
    }

    vocab_size: int = 151936
    intermediate_size: int = 22016
    max_position_embeddings: int = 32768
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    sliding_window: int | None = 4096
    use_sliding_window: bool = False
    max_window_layers: int = 28
    #: "full_attention" or "sliding_attention" per layer; by default layers from max_window_layers on slide
    layer_types: list[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.layer_types is None:
            self.layer_types = [
                "sliding_attention" if self.use_sliding_window and i >= self.max_window_layers else "full_attention"
                for i in range(self.num_hidden_layers)
            ]
        check_layer_types(self)

    def layer_window(self, layer_idx: int, positions: int) -> int | None:
        """``sliding_window`` on the layers ``layer_types`` marks sliding, with ``use_sliding_window`` on."""
        if not self.use_sliding_window or self.layer_types[layer_idx] != "sliding_attention":
            return None
        return self.window(positions)

    def projection_bias(self) -> tuple[bool, bool]:
        return True, False


class Qwen2ForCausalLM(LlamaForCausalLM):
    """transformers.Qwen2ForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size); with
    ``past_length`` and ``cache_inputs()`` the KV-cached network (see ``netdef.zoo._decoder``)."""

    config_class: ClassVar[type] = Qwen2Config
