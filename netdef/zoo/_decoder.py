"""Pieces the zoo's decoder LLMs share: config-field handling, RMSNorm, positions and the KV-cache mask.

Each decoder is built from the same config field names as its transformers config and takes either
``input_ids`` alone (full causal attention, dynamic batch and length) or ``input_ids, past_length`` and one
``past_key_values.{i}.key`` / ``.value`` cache input per layer (B, kv_heads, max_context, head_dim), which
the model updates with TensorRT's KV-cache-update layer and returns as ``present.{i}.key`` / ``.value``.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np

from netdef import F, Input, NetdefWarning, nn
from netdef._trt import trt
from netdef.errors import ArgumentError
from netdef.functional._common import wrap
from netdef.functional.assertion import sym_check
from netdef.functional.indexing import int_vector, shape_of

#: PretrainedConfig fields that do not change the network (generation, bookkeeping, training-only)
GENERIC_FIELDS = frozenset(
    {
        "_name_or_path", "add_cross_attention", "architectures", "attention_dropout", "bad_words_ids",
        "begin_suppress_tokens", "chunk_size_feed_forward", "cross_attention_hidden_size", "decoder_start_token_id",
        "diversity_penalty", "do_sample", "dtype", "early_stopping", "embd_pdrop", "encoder_no_repeat_ngram_size",
        "exponential_decay_length_penalty", "finetuning_task", "forced_bos_token_id", "forced_eos_token_id",
        "id2label", "initializer_range", "is_decoder", "is_encoder_decoder", "label2id", "length_penalty",
        "max_length", "min_length", "model_type", "no_repeat_ngram_size", "num_beam_groups", "num_beams",
        "num_return_sequences", "output_attentions", "output_hidden_states", "output_scores", "prefix",
        "pretraining_tp", "problem_type", "pruned_heads", "remove_invalid_values", "repetition_penalty",
        "resid_pdrop", "attn_pdrop", "return_dict", "return_dict_in_generate", "sep_token_id", "suppress_tokens",
        "task_specific_params", "temperature", "tf_legacy_loss", "tie_encoder_decoder", "tokenizer_class",
        "top_k", "top_p", "torch_dtype", "torchscript", "transformers_version", "typical_p", "use_bfloat16",
        "use_cache", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
        "summary_first_dropout", "mlp_bias_dropout",
    }
)  # fmt: skip


def config_from_kwargs(cls, config, kwargs: dict, source: str | None = None):
    """``config`` or ``cls(**kwargs)`` for kwargs that are a transformers config (``config.json``'s fields).

    Refused, naming the field and ``source`` (the config file) or the class: a ``model_type`` or
    ``architectures`` the model does not implement (another family's checkpoint binds to the same weight names
    but computes something else), a field in ``cls.UNIMPLEMENTED`` that changes the math with a value the model
    does not compute, and a field of the wrong type or range. transformers' bookkeeping fields are dropped;
    other unknown fields are dropped with a NetdefWarning (they may change the model: check them).
    """
    if config is not None:
        if kwargs:
            raise ValueError(f"pass either a {cls.__name__} or config fields as keyword arguments, not both")
        if type(config) is not cls:
            raise ArgumentError(
                f"{cls.MODEL} takes a {cls.__name__}, got a {type(config).__name__}: build the model class of "
                f"that config ({getattr(config, 'MODEL', '?')})"
            )
        return config
    where = source or f"the {cls.__name__} fields"
    model = cls.MODEL
    kind = kwargs.get("model_type")
    if kind is not None and kind not in cls.MODEL_TYPES:
        raise ArgumentError(
            f"{where}: model_type {kind!r} is not what {model} implements ({', '.join(cls.MODEL_TYPES)}); a "
            f"{kind} checkpoint may bind to the same weight names but computes something else: load it with a "
            f"model class that implements {kind} (netdef.zoo has {', '.join(cls.MODEL_TYPES)} in {model})"
        )
    architectures = kwargs.get("architectures")
    if architectures is not None:
        names = [architectures] if isinstance(architectures, str) else list(architectures)
        other = [a for a in names if a not in cls.ARCHITECTURES]
        if other:
            raise ArgumentError(
                f"{where}: architectures {other} are not what {model} implements ({', '.join(cls.ARCHITECTURES)}): "
                f"load the checkpoint with a model class that implements {other[0]}"
            )
    for name, (neutral, meaning) in cls.UNIMPLEMENTED.items():
        if name in kwargs and not _holds(neutral, kwargs[name]):
            raise ArgumentError(
                f"{where}: {name}={kwargs[name]!r} ({meaning}) changes the model's output and {model} does not "
                f"implement it; this checkpoint needs a model class that does"
            )
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(k for k in kwargs if k not in known and k not in GENERIC_FIELDS and k not in cls.UNIMPLEMENTED)
    if unknown:
        warnings.warn(
            f"{cls.__name__}: ignoring config fields netdef does not use: {unknown}", NetdefWarning, stacklevel=3
        )
    try:
        return cls(**{k: v for k, v in kwargs.items() if k in known})
    except ArgumentError as exc:
        if source is None:
            raise
        raise ArgumentError(f"{source}: {exc}") from None


def read_config(path) -> tuple[dict, str]:
    """``config.json`` of a checkpoint directory (or the file itself) as a dict, and the file's path."""
    path = Path(path)
    file = path / "config.json" if path.is_dir() else path
    try:
        fields = json.loads(file.read_text())
    except FileNotFoundError:
        raise ArgumentError(f"{file}: no such file; a save_pretrained directory holds config.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArgumentError(f"{file}: not a readable JSON config ({exc})") from None
    if not isinstance(fields, dict):
        raise ArgumentError(f"{file}: a config is a JSON object of fields, got {type(fields).__name__}")
    return fields, str(file)


def from_pretrained(model_cls, config_cls, path, strict: bool = True):
    """``model_cls`` of a ``save_pretrained`` directory (or its config.json): the config checked, errors naming
    the file and the field, then the directory's weights bound."""
    fields, source = read_config(path)
    model = model_cls(config_from_kwargs(config_cls, None, fields, source))
    model.load_weights(Path(source).parent, strict=strict)
    return model


def _holds(neutral, value) -> bool:
    try:
        return bool(neutral(value))
    except (TypeError, ValueError):  # a value of an unexpected type is not neutral
        return False


def unused(value) -> bool:
    """Neutral value of an UNIMPLEMENTED field: absent (None) or off."""
    return value is None or value is False


def equals(neutral):
    """Neutral value of an UNIMPLEMENTED field: None or ``neutral``."""
    return lambda value: value is None or value == neutral


class RMSNorm(nn.Module):
    """``weight * x / sqrt(mean(x^2) + eps)`` over the last dim, computed in float32 (as transformers).

    ``unit_offset``: Gemma's ``(1 + weight) * ...`` (the checkpoint stores ``weight``, bound unchanged), the
    product taken in float32 before the cast back, as Gemma does.
    """

    def __init__(self, hidden_size: int, eps: float = 1e-6, unit_offset: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(hidden_size)
        self.variance_epsilon = eps
        self.unit_offset = unit_offset

    def forward(self, hidden_states):
        dtype = hidden_states.dtype
        x = hidden_states if dtype == trt.float32 else hidden_states.to("float32")
        variance = F.mean(x * x, -1, keepdim=True)
        x = x * F.rsqrt(variance + self.variance_epsilon)
        if self.unit_offset:
            weight = F.as_tensor(self.weight)
            weight = weight if weight.dtype == trt.float32 else weight.to("float32")
            x = x * (weight + 1.0)
            return x if dtype == trt.float32 else x.to(dtype)
        if dtype != trt.float32:
            x = x.to(dtype)
        return x * F.as_tensor(self.weight)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.variance_epsilon}" + (", unit_offset" if self.unit_offset else "")


def position_ids(input_ids, past_length=None):
    """(B, S) int64 positions: ``past_length[b] + s`` (``s`` without a cache), for any run-time B and S.

    One IFillLayer over ``input_ids``' run-time shape: ``F.arange(S)`` expanded to ``(B, S)`` would take B as
    static when the profiles pin it to 1, and TensorRT's rotary layer wants the input's (dynamic) batch dim.
    """
    ctx = input_ids.ctx
    shape = shape_of(input_ids, "positions_shape")
    zero = ctx.weights(np.zeros((), np.int64), trt.int64)
    start = wrap(ctx.add_layer("positions_start", lambda net: net.add_constant((), zero)).get_output(0), ctx)
    delta = int_vector(ctx, [0, 1], "positions_delta")

    def make(net):
        layer = net.add_fill((0, 0), trt.FillOperation.LINSPACE, trt.int64)
        layer.set_input(0, shape.itensor)
        layer.set_input(1, start.itensor)
        layer.set_input(2, delta.itensor)
        return layer

    positions = wrap(ctx.add_layer("positions", make).get_output(0), ctx)
    if past_length is None:
        return positions
    return positions + past_length.to("int64").unsqueeze(1)


def cache_mask(positions, max_context: int, window: int | None = None, pad_length=None):
    """(B, 1, S, max_context) bool: query s of sequence b (at cache slot ``positions[b, s]``) sees cache slot j
    iff j <= its slot (and, with a sliding ``window``, its slot - j < window). With ``pad_length`` (B,) the
    first ``pad_length[b]`` slots of row b hold left padding: no query sees them but a padding query sees
    itself (a row of nothing would be NaN, and its K/V feed later layers' padding slots)."""
    slots = F.as_tensor(np.arange(max_context, dtype=np.int64).reshape(1, 1, 1, max_context))
    query = positions.unsqueeze(1).unsqueeze(3)
    mask = slots <= query
    if window is not None:
        mask = mask & (query - slots < window)
    if pad_length is not None:
        first = pad_length.to("int64").reshape(-1, 1, 1, 1)
        mask = mask & ((slots >= first) | (slots == query))
    return mask


def unpadded_positions(positions, pad_length):
    """Token positions of left-padded rows: cache slot - ``pad_length[b]`` (padding at 0, as it is masked)."""
    if pad_length is None:
        return positions
    return F.clamp(positions - pad_length.to("int64").unsqueeze(1), min=0)


def window_mask(positions, window: int | None):
    """(B, 1, S, S) bool for attention without a cache: causal, and each query sees the ``window`` positions
    ending at its own (Mistral's sliding window; None: causal only)."""
    query = positions.unsqueeze(1).unsqueeze(3)
    key = positions.unsqueeze(1).unsqueeze(2)
    return key <= query if window is None else (key <= query) & (query - key < window)


LAYER_TYPES = ("full_attention", "sliding_attention")


def check_layer_types(config) -> None:
    """``config.layer_types`` is one of LAYER_TYPES per layer; ArgumentError naming the field otherwise."""
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
        raise ArgumentError(
            f"{name}: layer_types has sliding_attention layers but sliding_window is null: set the window"
        )


def softcapped_attention(q, k, v, mask, scale: float, softcap: float | None):
    """Grouped-query attention written out (no fused kernel computes it): ``softmax(cap * tanh(q k^T * scale /
    cap) masked) v`` with the softmax in float32; q (B, H, S, D), k/v (B, KV, T, D), mask (B, 1, S, T) bool."""
    batch, heads, length, dim = q.shape
    kv_heads = k.shape[1]
    groups = heads // kv_heads
    dtype = q.dtype
    q5 = q.reshape(batch, kv_heads, groups, length, dim)
    scores = F.matmul(q5, k.unsqueeze(2).transpose(-1, -2))
    scores = scores if dtype == trt.float32 else scores.to("float32")
    scores = scores * scale
    if softcap is not None:
        scores = F.tanh(scores / softcap) * softcap
    scores = F.where(mask.unsqueeze(1), scores, float(np.finfo(np.float32).min))
    probs = F.softmax(scores, -1)
    probs = probs if dtype == trt.float32 else probs.to(dtype)
    return F.matmul(probs, v.unsqueeze(2)).reshape(batch, heads, length, dim)


def check_length(input_ids, limit: int, field: str) -> None:
    """An IAssertionLayer (engine and interpreter) that stops a sequence longer than ``limit`` positions, and an
    EmitError where every length the inputs allow is longer."""
    sym_check(
        input_ids.shape[1],
        "<=",
        limit,
        f"input_ids is longer than {field}={limit} positions the model has: keep the sequence within it",
    )


def token_inputs(max_batch: int, max_seq: int) -> dict[str, Input]:
    """``input_ids`` (B, S) int64 with dynamic batch and sequence length."""
    return {"input_ids": Input((-1, -1), "int64", min=(1, 1), opt=(max_batch, max_seq), max=(max_batch, max_seq))}


def cache_inputs(
    num_layers: int,
    kv_heads: int,
    head_dim: int,
    max_context: int,
    max_batch: int,
    dtype: str,
    padded: bool = True,
) -> dict[str, Input]:
    """Inputs of a cached decoder: ``input_ids`` and ``past_length`` (dynamic batch; prefill and decode
    profiles for the sequence length), with ``padded`` ``pad_length`` (B,) int32 (how many cache slots of
    each row hold left padding: batches of prompts of different lengths), and the per-layer key/value caches
    of ``max_context`` slots."""
    ids = Input(
        (-1, -1),
        "int64",
        min=(1, 1),
        opt=(max_batch, max_context),
        max=(max_batch, max_context),
        profiles=[((1, 1), (max_batch, 1), (max_batch, 1))],
    )
    batch = {"min": (1,), "opt": (max_batch,), "max": (max_batch,), "profiles": [((1,), (max_batch,), (max_batch,))]}
    out = {"input_ids": ids, "past_length": Input((-1,), "int32", **batch)}
    if padded:
        out["pad_length"] = Input((-1,), "int32", **batch)
    lo, hi = (1, kv_heads, max_context, head_dim), (max_batch, kv_heads, max_context, head_dim)
    for i in range(num_layers):
        for kind in ("key", "value"):
            out[f"past_key_values.{i}.{kind}"] = Input(
                (-1, kv_heads, max_context, head_dim), dtype, min=lo, opt=hi, max=hi, profiles=[(lo, hi, hi)]
            )
    return out
