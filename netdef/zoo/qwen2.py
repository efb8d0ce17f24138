"""Qwen2 / Qwen2.5 decoders with transformers' ``Qwen2ForCausalLM`` module tree and state_dict names.

Llama's blocks (``netdef.zoo.llama``) with biases on ``q_proj``, ``k_proj`` and ``v_proj`` (none on ``o_proj``)
and Qwen2's per-layer sliding window (``use_sliding_window``, ``max_window_layers`` or ``layer_types``).
Build it from ``Qwen2Config``'s fields (``Qwen2ForCausalLM(**hf_config.to_dict())``) or a ``save_pretrained``
directory (``Qwen2ForCausalLM.from_pretrained(path)``); other families' checkpoints are refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netdef.errors import ArgumentError
from netdef.zoo.llama import LlamaConfig, LlamaForCausalLM

LAYER_TYPES = ("full_attention", "sliding_attention")


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


def check_layer_types(config) -> None:
    """``layer_types`` is one of LAYER_TYPES per layer; ArgumentError naming the field otherwise."""
    types = config.layer_types
    name = type(config).__name__
    if not isinstance(types, list) or len(types) != config.num_hidden_layers:
        raise ArgumentError(
            f"{name} field layer_types must list one attention kind per layer ({config.num_hidden_layers}), "
            f"got {types!r}"
        )
    bad = [t for t in types if t not in LAYER_TYPES]
    if bad:
        raise ArgumentError(f"{name} field layer_types: {bad[0]!r} is not one of {', '.join(LAYER_TYPES)}")
    if "sliding_attention" in types and getattr(config, "use_sliding_window", True) and config.sliding_window is None:
        raise ArgumentError(f"{name}: layer_types has sliding_attention layers but sliding_window is null")


class Qwen2ForCausalLM(LlamaForCausalLM):
    """transformers.Qwen2ForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size); with
    ``past_length`` and ``cache_inputs()`` the KV-cached network (see ``netdef.zoo._decoder``)."""

    config_class: ClassVar[type] = Qwen2Config
