"""Phi-3 / Phi-4-mini decoders with transformers' ``Phi3ForCausalLM`` module tree and state_dict names, as options
of Llama's blocks (``netdef.zoo.llama``): one ``self_attn.qkv_proj`` and one ``mlp.gate_up_proj`` (gate half
first), RoPE over ``partial_rotary_factor`` of each head, longrope ("su") scaling whose short or long factors
are picked by the sequence's last position, a sliding window over every layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netdef.errors import ArgumentError
from netdef.zoo.llama import LlamaConfig, LlamaForCausalLM


@dataclass
class Phi3Config(LlamaConfig):
    """The Phi3Config fields the decoder uses (transformers' names and defaults)."""

    MODEL: ClassVar[str] = "Phi3ForCausalLM"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("phi3",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("Phi3ForCausalLM",)
    UNIMPLEMENTED: ClassVar[dict] = {k: v for k, v in LlamaConfig.UNIMPLEMENTED.items() if k != "partial_rotary_factor"}
    FUSED_PROJECTIONS: ClassVar[bool] = True

    vocab_size: int = 32064
    hidden_size: int = 3072
    intermediate_size: int = 8192
    max_position_embeddings: int = 4096
    rms_norm_eps: float = 1e-5
    #: the positions of pretraining: longrope switches to its long factors past it
    original_max_position_embeddings: int | None = None
    #: transformers 4's place of the factor (5 keeps it in rope_parameters; both must agree)
    partial_rotary_factor: float | None = None
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 32000
    pad_token_id: int | None = 32000

    def __post_init__(self) -> None:
        if self.partial_rotary_factor is not None and not 0 < self.partial_rotary_factor <= 1:
            raise ArgumentError(
                f"Phi3Config field partial_rotary_factor must be in (0, 1], got {self.partial_rotary_factor!r}"
            )
        params = {**(self.rope_scaling or {}), **(self.rope_parameters or {})}
        for name in ("partial_rotary_factor", "original_max_position_embeddings"):
            top = getattr(self, name)
            if top is not None and params.get(name) is not None and params[name] != top:
                raise ArgumentError(
                    f"Phi3Config fields {name}={top!r} and rope_parameters' {name}={params[name]!r} disagree: "
                    "keep the one the checkpoint was trained with"
                )
        super().__post_init__()

    def rope(self, key: str | None = None) -> dict:
        params = super().rope(key)
        for name in ("partial_rotary_factor", "original_max_position_embeddings"):
            if getattr(self, name) is not None:
                params.setdefault(name, getattr(self, name))
        if params["rope_type"] == "su":  # the name Phi-3's first checkpoints gave longrope
            params["rope_type"] = "longrope"
        return params

    def projection_bias(self) -> tuple[bool, bool]:
        return False, False


class Phi3ForCausalLM(LlamaForCausalLM):
    """transformers.Phi3ForCausalLM for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size); with
    ``past_length`` and ``cache_inputs()`` the KV-cached network (see ``netdef.zoo._decoder``)."""

    config_class: ClassVar[type] = Phi3Config
