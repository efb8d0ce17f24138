"""GPT-2 with transformers' ``GPT2LMHeadModel`` module tree and state_dict names.

``transformer.{wte, wpe, h.N.{ln_1, attn.{c_attn, c_proj}, ln_2, mlp.{c_fc, c_proj}}, ln_f}``; the logits
reuse ``transformer.wte.weight`` (``lm_head.weight`` in a checkpoint, a tied copy, is dropped when binding).
``c_attn``/``c_proj``/``c_fc`` are transformers' ``Conv1D``: a linear layer whose weight is stored (in, out).
Build it from the same fields as transformers' ``GPT2Config``: ``GPT2LMHeadModel(**hf_config.to_dict())``.
Inputs and outputs are described in ``netdef.zoo._decoder``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import ClassVar

from netdef import F, Input, nn
from netdef.errors import ArgumentError
from netdef.functional.kv_cache import kv_cache_update
from netdef.zoo._config import check_fields
from netdef.zoo._decoder import (
    cache_inputs,
    cache_mask,
    check_length,
    config_from_kwargs,
    from_pretrained,
    position_ids,
    token_inputs,
    unpadded_positions,
)
from netdef.zoo.bert import ACTIVATIONS
from netdef.zoo.llama import tie_aware_load


@dataclass
class GPT2Config:
    """The GPT2Config fields the model uses (transformers' names and defaults: gpt2 small)."""

    MODEL: ClassVar[str] = "GPT2LMHeadModel"
    MODEL_TYPES: ClassVar[tuple[str, ...]] = ("gpt2",)
    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("GPT2LMHeadModel",)
    UNIMPLEMENTED: ClassVar[dict] = {}

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    layer_norm_epsilon: float = 1e-5
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    reorder_and_upcast_attn: bool = False
    tie_word_embeddings: bool = True
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    pad_token_id: int | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.n_embd % self.n_head:
            raise ArgumentError(f"GPT2Config field n_embd ({self.n_embd}) is not a multiple of n_head ({self.n_head})")
        if self.activation_function not in ACTIVATIONS:
            raise ArgumentError(
                f"GPT2Config field activation_function {self.activation_function!r} is not supported; use one of "
                f"{', '.join(ACTIVATIONS)}"
            )
        if not self.tie_word_embeddings:
            raise ArgumentError(
                "GPT2LMHeadModel always ties lm_head to transformer.wte; tie_word_embeddings=False is not supported"
            )


class Conv1D(nn.Module):
    """transformers' Conv1D: ``x @ weight + bias`` with ``weight`` stored (in_features, out_features)."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(nx, nf)
        self.bias = nn.Parameter(nf)

    def forward(self, x):
        return F.linear(x, self.weight.data.T, self.bias.data)

    def extra_repr(self) -> str:
        return f"nf={self.nf}, nx={self.weight.shape[0]}"


class GPT2Attention(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.embed_dim = config.n_head, config.n_embd // config.n_head, config.n_embd
        self.c_attn = Conv1D(3 * config.n_embd, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, config.n_embd)
        scale = 1.0 / math.sqrt(self.head_dim) if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def forward(self, hidden_states, mask=None, cache=None, past_length=None):
        batch, length, _ = hidden_states.shape
        q, k, v = (
            t.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
            for t in F.split(self.c_attn(hidden_states), self.embed_dim, dim=-1)
        )
        present = None
        if cache is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        else:
            k = kv_cache_update(cache[0], k, past_length)
            v = kv_cache_update(cache[1], v, past_length)
            present = (k, v)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
        out = out.transpose(1, 2).reshape(batch, length, self.embed_dim)
        return self.c_proj(out), present


class GPT2MLP(nn.Module):
    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = Conv1D(inner, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, inner)
        self.act = ACTIVATIONS[config.activation_function]()

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    """Pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, hidden_states, mask=None, cache=None, past_length=None):
        attn, present = self.attn(self.ln_1(hidden_states), mask, cache, past_length)
        hidden_states = hidden_states + attn
        return hidden_states + self.mlp(self.ln_2(hidden_states)), present


class GPT2Model(nn.Module):
    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.h = nn.ModuleList([GPT2Block(config, i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, input_ids, past_length=None, caches=(), pad_length=None):
        slots = position_ids(input_ids, past_length)
        positions = unpadded_positions(slots, pad_length)
        mask = cache_mask(slots, caches[0][0].shape[2], pad_length=pad_length) if caches else None
        if not caches:
            check_length(input_ids, self.config.n_positions, "n_positions")
        hidden_states = self.wte(input_ids) + self.wpe(positions)
        presents = []
        for i, block in enumerate(self.h):
            hidden_states, present = block(hidden_states, mask, caches[i] if caches else None, past_length)
            presents.append(present)
        return self.ln_f(hidden_states), presents


class GPT2LMHeadModel(nn.Module):
    """transformers.GPT2LMHeadModel for inference: ``input_ids`` -> ``logits`` (B, S, vocab_size).

    Positions past ``n_positions`` have no learned embedding: keep the context within it.
    """

    def __init__(self, config: GPT2Config | None = None, **kwargs) -> None:
        super().__init__()
        self.config = config_from_kwargs(GPT2Config, config, kwargs)
        self.transformer = GPT2Model(self.config)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, strict: bool = True) -> GPT2LMHeadModel:
        """The model of a ``save_pretrained`` directory: ``config.json`` checked (model_type, architectures,
        every field; errors name the file and the field), then its safetensors bound (memory-mapped)."""
        return from_pretrained(cls, GPT2Config, path, strict)

    def load_weights(self, weights, strict: bool = True, rename=None):
        """Module.load_weights, dropping a checkpoint's tied ``lm_head.weight``."""
        return tie_aware_load(self, weights, strict, rename, "lm_head.weight", "transformer.wte.weight")

    def forward(self, input_ids, past_length=None, *past_key_values, pad_length=None):
        caches = list(zip(past_key_values[0::2], past_key_values[1::2]))
        hidden_states, presents = self.transformer(input_ids, past_length, caches, pad_length)
        outputs = {"logits": F.linear(hidden_states, self.transformer.wte.weight.data)}
        for i, present in enumerate(presents if caches else ()):
            outputs[f"present.{i}.key"], outputs[f"present.{i}.value"] = present
        return outputs

    def default_inputs(self, max_batch: int = 1, max_seq: int = 128) -> dict[str, Input]:
        """``input_ids`` with dynamic batch (1..max_batch) and length (1..max_seq)."""
        return token_inputs(max_batch, min(max_seq, self.config.n_positions))

    def cache_inputs(
        self, max_context: int, max_batch: int = 1, dtype: str = "float32", padded: bool = True
    ) -> dict[str, Input]:
        """Inputs of the cached network (prefill and decode profiles), caches of ``max_context`` slots; with
        ``padded`` a ``pad_length`` input for left-padded batches."""
        c = self.config
        if max_context > c.n_positions:
            raise ValueError(f"max_context {max_context} exceeds n_positions={c.n_positions} (learned positions)")
        return cache_inputs(c.n_layer, c.n_head, c.n_embd // c.n_head, max_context, max_batch, dtype, padded)
