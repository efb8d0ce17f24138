"""IAttention semantics, read from its boundary layers (ATTENTION_INPUT computes, ATTENTION_OUTPUT passes on).

TensorRT writes an ``IAttention`` as two layers: an input boundary that takes query (B, Hq, Sq, D), key and
value (B, Hkv, Skv, D), an optional mask (index 3), normalization quantize scale (4), query lengths (5) and
key/value lengths (6); and an output boundary whose output is the attention's result. The interpreter
evaluates the whole attention at the input boundary:

``out = norm(q @ k^T + mask) @ v`` with no scaling (TensorRT expects q or k pre-scaled). Key/value head
``h // (Hq / Hkv)`` serves query head ``h`` (grouped-query attention). A bool mask is True where a query may
attend; a float mask is added to the scores; the mask broadcasts as (a0, a1, Sq, Skv). ``causal_kind``
UPPER_LEFT keeps key j for query i when j <= i, LOWER_RIGHT when j <= i + Skv - Sq. With padded key/value
lengths (B,), keys at positions >= length[b] are masked. ``norm_op`` SOFTMAX normalizes over the keys; NONE
uses the raw scores. A query row with no key left is NaN under softmax: TensorRT leaves that case
undefined, so netdef's emitters never rely on it.
"""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import Handler, register, register_specialized

MASK, QUANTIZE_SCALE, QUERY_LENGTHS, KEY_VALUE_LENGTHS = 3, 4, 5, 6


def _keep_causal(kind: str, sq: int, skv: int) -> torch.Tensor | None:
    if kind == "NONE":
        return None
    i = torch.arange(sq).unsqueeze(1)
    j = torch.arange(skv).unsqueeze(0)
    offset = skv - sq if kind == "LOWER_RIGHT" else 0
    return j <= i + offset


@register("ATTENTION_INPUT")
def attention_input(layer, inputs):
    return _specialized(layer, check=True)(layer, inputs)


@register_specialized("ATTENTION_INPUT")
def attention_input_specialized(layer) -> Handler | None:
    """The attention's forms, causal kind and normalization read once (None: forms the interpreter refuses)."""
    return _specialized(layer, check=False)


def _specialized(layer, check: bool) -> Handler | None:
    attn = layer.attention
    where = f"attention `{layer.name}`"
    if attn.query_form.name != "PADDED_BHND" or attn.key_value_form.name != "PADDED_BHND":
        if not check:
            return None
        raise InterpreterError(f"{where}: only the PADDED_BHND query and key/value forms are supported")
    causal, softmax = attn.causal_kind.name, attn.norm_op.name == "SOFTMAX"

    def run(layer, inputs):
        return [_attention(inputs, causal, softmax, where)]

    return run


def _attention(inputs: list, causal: str, softmax: bool, where: str) -> torch.Tensor:
    q, k, v = inputs[0], inputs[1], inputs[2]
    extra = list(inputs[3:]) + [None] * (7 - len(inputs))
    if extra[QUANTIZE_SCALE - 3] is not None:
        raise InterpreterError(f"{where}: a quantized normalization output is not supported by the interpreter")
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise InterpreterError(f"{where}: query, key and value must be 4-D, got {q.shape}, {k.shape}, {v.shape}")
    hq, hkv = q.shape[1], k.shape[1]
    if hq % hkv or v.shape[1] != hkv:
        raise InterpreterError(f"{where}: {hq} query heads are not a multiple of {hkv} key/value heads")
    groups = hq // hkv
    b, sq, d, skv = q.shape[0], q.shape[2], q.shape[3], k.shape[2]
    # query head h reads key/value head h // groups: group the query heads instead of copying keys/values
    if groups == 1:
        scores = q @ k.transpose(-1, -2)
    else:
        scores = (q.reshape(b, hkv, groups, sq, d) @ k.unsqueeze(2).transpose(-1, -2)).reshape(b, hq, sq, skv)
    neg = float("-inf")
    keep = _keep_causal(causal, sq, skv)
    if keep is not None:
        scores = torch.where(keep, scores, neg)
    mask = extra[MASK - 3]
    if mask is not None:
        scores = torch.where(mask, scores, neg) if mask.dtype == torch.bool else scores + mask
    lengths = extra[KEY_VALUE_LENGTHS - 3]
    if lengths is not None:
        valid = torch.arange(skv).view(1, 1, 1, skv) < lengths.reshape(-1, 1, 1, 1).to(torch.int64)
        scores = torch.where(valid, scores, neg)
    if softmax:
        scores = torch.softmax(scores, dim=-1)
    if groups == 1:
        return scores @ v
    out = scores.reshape(scores.shape[0], hkv, groups, sq, skv) @ v.unsqueeze(2)
    return out.reshape(out.shape[0], hq, sq, v.shape[-1])


@register("ATTENTION_OUTPUT")
def attention_output(layer, inputs):
    return [inputs[0]]
