"""A BERT encoder with Hugging Face ``BertModel``'s module tree and state_dict names.

``embeddings.{word,position,token_type}_embeddings`` + ``embeddings.LayerNorm``, then
``encoder.layer.N.{attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
output.{dense,LayerNorm}}``, and ``pooler.dense`` (tanh) on the first token. Inputs are int token ids
(N, L) and optionally ``attention_mask`` (1 = attend, 0 = padding) and ``token_type_ids``; the batch and the
sequence length may be dynamic (``Input((-1, -1), "int64", min=(1, 1), max=(8, 512))``), the sequence length
up to ``max_position_embeddings`` (checked while defining, or by an IAssertionLayer at run time). Outputs are ``(last_hidden_state, pooler_output)``.

As in transformers >= 4.31 the ``embeddings.position_ids`` buffer is not part of the state_dict; checkpoints
saved by older versions carry it (an arange): drop that entry before binding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

import netdef
from netdef import F, Input, nn
from netdef.zoo._config import check_fields

#: hidden_act names of transformers' ACT2FN that map onto netdef modules
ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
    "silu": lambda: nn.SiLU(),
    "swish": lambda: nn.SiLU(),
    "tanh": lambda: nn.Tanh(),
}


#: torch.finfo(dtype).min of the reduced precisions, by TensorRT type name (HF's mask value for padding)
LOWEST = {"HALF": float(np.finfo(np.float16).min), "BF16": -3.3895313892515355e38}


@dataclass
class BertConfig:
    """The BertConfig fields the encoder uses (defaults: bert-base-uncased)."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        check_fields(self)
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads ({self.num_attention_heads})"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported; use one of {', '.join(ACTIVATIONS)}")

    @classmethod
    def from_kwargs(cls, config: BertConfig | None, kwargs: dict) -> BertConfig:
        if config is not None and kwargs:
            raise ValueError("pass either a BertConfig or config fields as keyword arguments, not both")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"unknown BertConfig fields {unknown}; known: {sorted(known)}")
        return config or cls(**kwargs)


class BertEmbeddings(nn.Module):
    """word + token_type + absolute position embeddings, then LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.max_position_embeddings = config.max_position_embeddings

    def forward(self, input_ids, token_type_ids=None):
        if input_ids.ndim != 2:
            raise input_ids.ctx.error("bert_embeddings", f"input_ids must be (batch, seq_len), got {input_ids.shape}")
        seq_length = input_ids.shape[1]  # an int, or a symbolic size for a dynamic sequence length
        netdef.sym_check(
            seq_length,
            "<=",
            self.max_position_embeddings,
            f"seq_len exceeds max_position_embeddings={self.max_position_embeddings}",
        )
        position_ids = F.arange(seq_length)[None]
        if token_type_ids is None:
            token_type_ids = F.zeros(1, seq_length, dtype="int64")
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product attention with separate ``query``/``key``/``value`` projections."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def transpose_for_scores(self, x):
        n, length, _ = x.shape
        return x.view(n, length, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask=None):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attention_mask, scale=1.0 / math.sqrt(self.attention_head_size)
        )
        n, _, length, _ = context.shape
        return context.permute(0, 2, 1, 3).reshape(n, length, self.all_head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, attention_mask=None):
        return self.output(self.self(hidden_states, attention_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACTIVATIONS[config.hidden_act]()

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    """Post-norm transformer layer: attention + residual + LayerNorm, feed-forward + residual + LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, attention_mask=None):
        attention_output = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask=None):
        for layer in self.layer:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states


class BertPooler(nn.Module):
    """tanh(dense(first token))."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        return self.activation(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    """transformers.BertModel (absolute positions, no decoder/cross-attention): embeddings, encoder, pooler.

    Build it from a ``BertConfig`` or from config fields as keyword arguments (``BertModel(hidden_size=64, ...)``).
    """

    def __init__(self, config: BertConfig | None = None, add_pooling_layer: bool = True, **kwargs) -> None:
        super().__init__()
        self.config = BertConfig.from_kwargs(config, kwargs)
        self.embeddings = BertEmbeddings(self.config)
        self.encoder = BertEncoder(self.config)
        self.pooler = BertPooler(self.config) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        extended = None
        if attention_mask is not None:
            if attention_mask.ndim != 2:
                raise attention_mask.ctx.error(
                    "bert", f"attention_mask must be (batch, seq_len), got {attention_mask.shape}"
                )
            # (N, L) 1/0 -> (N, 1, 1, L): 0 where attended, the dtype's most negative value where masked (as HF)
            mask = attention_mask.to(attention_mask.ctx.compute_dtype).unsqueeze(1).unsqueeze(2)
            lowest = LOWEST.get(mask.dtype.name, float(np.finfo(np.float32).min))
            extended = (1.0 - mask) * lowest
        sequence_output = self.encoder(self.embeddings(input_ids, token_type_ids), extended)
        if self.pooler is None:
            return sequence_output
        return sequence_output, self.pooler(sequence_output)

    def default_inputs(self, batch: int = 1, seq_len: int = 128) -> dict[str, Input]:
        return {
            "input_ids": Input((batch, seq_len), "int64"),
            "attention_mask": Input((batch, seq_len), "int64"),
            "token_type_ids": Input((batch, seq_len), "int64"),
        }


def bert_base_uncased(**kwargs) -> BertModel:
    return BertModel(BertConfig(**kwargs))
