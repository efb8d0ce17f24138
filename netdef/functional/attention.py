"""Attention: scaled_dot_product_attention and the multi-head attention forward of nn.MultiheadAttention.

Where the backend's network has TensorRT's fused attention (``add_attention_v2`` / ``add_attention``, e.g.
TensorRT-RTX 1.7) and the operands fit it (4-D, one head dim for query, key and value), the attention is one
``IAttention``; otherwise, or inside ``with fused_attention(False):``, it is composed from matrix multiplies,
softmax and elementwise layers (portable to every TensorRT). Masked fp32 attention is composed too: TensorRT
has no fused fp32 kernel for it to use (see ``_fusable``).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.functional._common import constant, context_of, is_float, placeholder_reshape, unsqueeze_to, wrap
from netdef.functional.activation import softmax
from netdef.functional.dtype import cast
from netdef.functional.elementwise import add, eq, logical_and, lt, mul, ne, where
from netdef.functional.linear import linear
from netdef.functional.matmul import matmul
from netdef.functional.reduction import amax, mean
from netdef.functional.registry import register_op
from netdef.functional.shape import expand, permute, reshape, squeeze, transpose, unbind, unsqueeze
from netdef.functional.unary import logical_not
from netdef.tensor import Tensor

NEG_INF = float("-inf")
_FUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("netdef_fused_attention", default=True)


@contextmanager
def fused_attention(enabled: bool = True) -> Iterator[None]:
    """Inside, attention emits TensorRT's fused IAttention where the backend has it and the operands fit it
    (``enabled``, the default; masked fp32 attention is composed) or always the matmul/softmax composition
    (``enabled=False``)."""
    token = _FUSED.set(bool(enabled))
    try:
        yield
    finally:
        _FUSED.reset(token)


def has_fused_attention(network: trt.INetworkDefinition) -> bool:
    """Whether ``network``'s TensorRT can add a fused attention layer (IAttention)."""
    return hasattr(network, "add_attention_v2") or hasattr(network, "add_attention")


def _fusable(
    ctx: EmitContext, query: Tensor, key: Tensor, value: Tensor, grouped: bool = False, masked: bool = False
) -> bool:
    """Fused attention is on, the backend has it, and q/k/v are (B, H, S, D) with one static head dim, one
    batch and key/value heads equal to the query's, or a divisor of them with ``grouped`` (torch's enable_gqa)
    or 1 (torch broadcasts it); and not fp32 with a mask (``masked``)."""
    if not _FUSED.get() or not has_fused_attention(ctx.network):
        return False
    if masked and query.dtype == trt.float32:
        # TensorRT-RTX 1.7 has fused attention kernels for fp16/bf16 only: in fp32 it decomposes the IAttention
        # into the matrix multiplies and softmax composed here, plus a transposed copy of the keys per layer,
        # and a mask needs netdef's dead-row select after it, where the composition's safe softmax folds into
        # the softmax kernel. Composed, bert_base's engine has one compiled kernel less (32, as the ONNX
        # route's: 442,318,180 bytes against 442,447,380) and each layer one launch less. Unmasked, the
        # IAttention's decomposition came out smaller (vit_b_16: 348,471,644 bytes against 348,625,500).
        return False
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        return False
    q, k, v = query.static_shape, key.static_shape, value.static_shape  # -1: known only at run time
    d = {q[-1], k[-1], v[-1]}
    if len(d) != 1 or min(d) <= 0:
        return False
    if len({q[0], k[0], v[0]}) != 1 or k[1] != v[1]:
        return False
    hq, hk = q[1], k[1]
    return hq == hk or (hq > 0 and hk > 0 and hq % hk == 0 and (grouped or hk == 1))


def fused_attention_layer(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, causal: str, scale: float, op: str
) -> Tensor:
    """One IAttention: ``softmax(q k^T * scale [+ mask]) v`` over (B, H, S, D) operands.

    ``mask`` is bool (True attends) or float (added), broadcastable to (B, H, Lq, Lk); ``causal`` is
    'NONE', 'UPPER_LEFT' (key j <= query i, torch's is_causal) or 'LOWER_RIGHT' (j <= i + Lk - Lq, a decode
    step over a cache). Key/value may have fewer heads than the query (grouped-query attention). The
    scale is applied to the query first, as TensorRT requires. Rows whose keys are all masked are undefined.
    """
    ctx = query.ctx
    q = mul(query, scale) if scale != 1.0 else query
    if mask is not None and mask.dtype != trt.bool and mask.dtype != q.dtype:
        mask = cast(mask, q.dtype)
    if mask is not None and mask.ndim < 4:
        mask = unsqueeze_to(ctx, mask, 4, op + "_mask")

    def make(net):
        norm = trt.AttentionNormalizationOp.SOFTMAX
        if hasattr(net, "add_attention_v2"):
            layer = net.add_attention_v2(
                q.itensor, key.itensor, value.itensor, norm, getattr(trt.CausalMaskKind, causal)
            )
        elif causal == "LOWER_RIGHT":
            raise ValueError("this TensorRT's IAttention has only top-left causal masks; pass a mask instead")
        else:
            layer = net.add_attention(q.itensor, key.itensor, value.itensor, norm, causal != "NONE")
        if layer is not None:
            if mask is not None:
                layer.mask = mask.itensor
            layer.decomposable = True  # unfused kernels where no fused one fits (fp32, odd head dims)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def _combined_mask(masks: list[tuple[Tensor, str]], dtype: trt.DataType) -> Tensor | None:
    """One mask for the fused layer from (mask, kind) pairs: bool 'keep' if every mask is bool, else additive."""
    if not masks:
        return None
    keeps = [m if kind == "keep" else logical_not(m) for m, kind in masks if kind != "add"]
    adds = [m if m.dtype == dtype else cast(m, dtype) for m, kind in masks if kind == "add"]
    if not adds:
        out = keeps[0]
        for k in keeps[1:]:
            out = logical_and(out, k)
        return out
    out = adds[0]
    for m in adds[1:] + [where(k, 0.0, NEG_INF) for k in keeps]:
        out = add(out, m) if m.dtype == dtype else add(out, cast(m, dtype))
    return out


def _live_rows(mask: Tensor) -> Tensor:
    """Bool (..., Lq, 1): True where ``mask`` leaves the query row at least one key. Emitted once per mask
    tensor: the layers of an encoder that share one mask share this too."""
    ctx = mask.ctx
    cached = ctx.live_rows.get(id(mask))
    if cached is not None:
        return cached[1]
    if mask.dtype == trt.bool:
        live = ne(amax(where(mask, 1.0, 0.0), -1, keepdim=True), 0.0)
    else:
        live = ne(amax(mask, -1, keepdim=True), NEG_INF)
    ctx.live_rows[id(mask)] = (mask, live)  # the mask is held so that its id stays its own
    return live


def _zero_dead_rows(out: Tensor, mask: Tensor) -> Tensor:
    """Zeros where ``mask`` leaves a query row no key (torch's result), whatever the fused kernel gave there.

    Written as "keep the live rows" (x != v, which TensorRT reads as NOT(EQUAL)): TensorRT-RTX 1.7's Myelin
    compiler then computes the row test in the kernel that prepares the mask, and every layer's select
    compiles to one shared kernel. With "zero the dead rows" (x == v) it fused the test into the first
    layer's select, a kernel of its own: 130 KB more CUDA source in bert_base's engine.
    """
    return where(_live_rows(mask), out, 0.0)


def keep_lead_reshape(input: Tensor, lead: int, tail: tuple[int, ...], op: str) -> Tensor:
    """Reshape to ``input.static_shape[:lead] + tail``, copying the leading dims (which may be dynamic)."""
    ctx = input.ctx

    def make(net):
        layer = net.add_shuffle(input.itensor)
        layer.zero_is_placeholder = True  # 0 copies the input dim at that position
        layer.reshape_dims = (0,) * lead + tuple(tail)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def _causal_keep(ctx: EmitContext, scores: Tensor, op: str) -> Tensor:
    """Bool mask, True where key position j <= query position i (torch's top-left aligned tril)."""
    L, S = scores.static_shape[-2:]
    if L >= 0 and S >= 0:
        return constant(ctx, np.tril(np.ones((L, S), dtype=bool)), trt.bool, op + "_causal_mask")
    # dynamic sizes: IFillLayer writes j - i over the scores' run-time shape
    from netdef.functional.indexing import int_vector, shape_of

    shape = shape_of(scores, op + "_causal_shape")
    alpha = ctx.weights(np.zeros((), np.int64), trt.int64)
    start = wrap(ctx.add_layer(op + "_causal_start", lambda net: net.add_constant((), alpha)).get_output(0), ctx)
    delta = int_vector(ctx, [0] * (scores.ndim - 2) + [-1, 1], op + "_causal_delta")

    def make(net):
        layer = net.add_fill((0,) * scores.ndim, trt.FillOperation.LINSPACE, trt.int64)
        layer.set_input(0, shape.itensor)
        layer.set_input(1, start.itensor)
        layer.set_input(2, delta.itensor)
        return layer

    offset = wrap(ctx.add_layer(op + "_causal_offset", make).get_output(0), ctx)
    return lt(offset, 1)


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    masks: list[tuple[Tensor, str]],
    is_causal: bool,
    scale: float,
    safe_softmax: bool,
    op: str,
) -> tuple[Tensor, Tensor]:
    """``softmax(q k^T * scale + masks) v`` and the softmax weights.

    ``masks`` are (tensor, kind): 'keep' (bool, True attends), 'drop' (bool, True is masked out) or
    'add' (float, added to the scores). With ``safe_softmax`` a row whose scores are all -inf gets zero
    weights (torch's scaled_dot_product_attention) instead of NaN.
    """
    ctx = query.ctx
    q = mul(query, scale) if scale != 1.0 else query
    scores = matmul(q, transpose(key, -2, -1))
    if is_causal:
        scores = where(_causal_keep(ctx, scores, op), scores, NEG_INF)
    for mask, kind in masks:
        if kind == "add":
            scores = add(scores, mask if mask.dtype == scores.dtype else cast(mask, scores.dtype))
        elif kind == "keep":
            scores = where(mask, scores, NEG_INF)
        else:
            scores = where(mask, NEG_INF, scores)
    weights = softmax(scores, -1)
    if safe_softmax and masks:
        fully_masked = eq(amax(scores, -1, keepdim=True), NEG_INF)
        weights = where(fully_masked, 0.0, weights)
    return matmul(weights, value), weights


def _check_qkv(ctx: EmitContext, op: str, query, key, value) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise ctx.error(op, f"`{name}` must be a netdef.Tensor, got {type(t).__name__}")
        if not is_float(t) or t.ndim < 2:
            raise ctx.error(op, f"`{name}` must be a float tensor of rank >= 2, got {t.dtype.name} {t.static_shape}")
        if t.dtype != query.dtype:
            raise ctx.error(op, f"query, key and value must share a dtype, got {query.dtype.name} and {t.dtype.name}")
    e, ek = query.static_shape[-1], key.static_shape[-1]
    if e >= 0 and ek >= 0 and e != ek:
        raise ctx.error(
            op, f"query and key must have the same last dim, got {query.static_shape} and {key.static_shape}"
        )
    s, sv = key.static_shape[-2], value.static_shape[-2]
    if s >= 0 and sv >= 0 and s != sv:
        raise ctx.error(
            op,
            f"key and value must have the same sequence length (dim -2), got {key.static_shape} and {value.static_shape}",
        )


def _repeat_heads(t: Tensor, groups: int, op: str) -> Tensor:
    """(..., Hk, S, E) -> (..., Hk * groups, S, E), each head repeated ``groups`` times in a row."""
    lead = t.ndim - 3
    h, e = t.static_shape[-3], t.static_shape[-1]
    x = unsqueeze(t, -3)
    x = expand(x, *([-1] * (lead + 1) + [groups, -1, -1]))
    return keep_lead_reshape(x, lead, (h * groups, -1, e), op + "_gqa_reshape")


#: every TensorRT layer the attention ops may emit (the fused IAttention pair, or matmul/softmax and masks)
ATTENTION_LAYERS = (
    "IAssertionLayer",
    "IAttentionInputLayer",
    "IAttentionOutputLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IFillLayer",
    "IMatrixMultiplyLayer",
    "IReduceLayer",
    "ISelectLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "ISoftMaxLayer",
    "IUnaryLayer",
)


@register_op(
    *ATTENTION_LAYERS,
    torch="torch.nn.functional.scaled_dot_product_attention",
)
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """torch.nn.functional.scaled_dot_product_attention for inference (``dropout_p`` must be 0).

    ``attn_mask`` is bool (True = attend) or float (added to the scores), broadcast to (..., L, S);
    ``is_causal`` masks key j > query i (top-left aligned, as torch). A query row with every key masked
    out gives zeros, as torch does. ``enable_gqa`` repeats key/value heads (dim -3) to the query's.
    """
    op = "sdpa"
    ctx = context_of(query, key, value)
    _check_qkv(ctx, op, query, key, value)
    if dropout_p != 0.0:
        raise ctx.error(op, f"dropout_p={dropout_p}: an inference engine applies no dropout; pass dropout_p=0.0")
    if is_causal and attn_mask is not None:
        raise ctx.error(op, "pass either attn_mask or is_causal=True, not both (torch refuses both too)")
    masks: list[tuple[Tensor, str]] = []
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise ctx.error(op, f"`attn_mask` must be a netdef.Tensor, got {type(attn_mask).__name__}")
        if attn_mask.dtype == trt.bool:
            masks.append((attn_mask, "keep"))
        elif is_float(attn_mask):
            masks.append((attn_mask, "add"))
        else:
            raise ctx.error(op, f"`attn_mask` must be bool or float, got {attn_mask.dtype.name}")
    if scale is None:
        e = query.static_shape[-1]
        if e < 0:
            raise ctx.error(op, f"the embedding dim of query {query.static_shape} is dynamic: pass scale=")
        scale = 1.0 / math.sqrt(e)
    if enable_gqa:
        hq, hk = query.static_shape[-3] if query.ndim >= 3 else 1, key.static_shape[-3] if key.ndim >= 3 else 1
        if query.ndim < 3 or hq < 0 or hk < 0 or hq % hk:
            raise ctx.error(
                op,
                f"enable_gqa needs static head dims (-3) with query heads a multiple of key heads, got {query.static_shape} and {key.static_shape}",
            )
    if _fusable(ctx, query, key, value, grouped=enable_gqa, masked=bool(masks)):
        mask = _combined_mask(masks, query.dtype)
        out = fused_attention_layer(query, key, value, mask, "UPPER_LEFT" if is_causal else "NONE", float(scale), op)
        return out if mask is None else _zero_dead_rows(out, mask)
    if enable_gqa:
        if hq != hk:
            key, value = _repeat_heads(key, hq // hk, op + "_key"), _repeat_heads(value, hq // hk, op + "_value")
    return attention(query, key, value, masks, is_causal, float(scale), True, op)[0]


@register_op(
    *ATTENTION_LAYERS,
    torch="torch.nn.functional.multi_head_attention_forward",
)
def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    in_proj_weight: np.ndarray,
    in_proj_bias: np.ndarray | None,
    out_proj,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
    batch_first: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """The forward of torch.nn.MultiheadAttention (inference); ``out_proj`` is the output Linear module.

    Inputs are (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E). Bool masks are True
    where attention is NOT allowed; float masks are added. ``attn_mask`` is (L, S) or (N * num_heads, L, S).
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask (torch requires the mask with it).
    Fully masked query rows give zeros with ``need_weights=False`` and NaN with ``need_weights=True``, as torch.
    """
    op = "mha"
    ctx = context_of(query, key, value)
    _check_qkv(ctx, op, query, key, value)
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ctx.error(
            op,
            f"query, key and value must all be 3-D (batched) or 2-D (unbatched), got {query.static_shape}, {key.static_shape}, {value.static_shape}",
        )
    if is_causal and attn_mask is None:
        raise ctx.error(op, "is_causal=True is a hint that attn_mask is the causal mask: pass attn_mask too (as torch)")
    unbatched = query.ndim == 2
    # self-attention (one tensor as query, key and value, as torch tells it: by identity) projects once
    packed = query is key and key is value
    if unbatched:  # one batch entry, batch first
        query, key, value = (unsqueeze(t, 0) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(key_padding_mask, 0)
        if attn_mask is not None and attn_mask.ndim == 3:
            attn_mask = unsqueeze(attn_mask, 0)
        batch_first = True
    n_ax, l_ax = (0, 1) if batch_first else (1, 0)
    embed = query.static_shape[-1]
    head_dim = embed // num_heads
    n, tgt, src = query.static_shape[n_ax], query.static_shape[l_ax], key.static_shape[l_ax]
    for name, t in (("key", key), ("value", value)):
        if t.static_shape[n_ax] >= 0 and n >= 0 and t.static_shape[n_ax] != n:
            raise ctx.error(op, f"{name} has batch size {t.static_shape[n_ax]}, query has {n}")

    w = np.asarray(in_proj_weight)
    b = None if in_proj_bias is None else np.asarray(in_proj_bias)

    def heads(x: Tensor, part: int, name: str) -> Tensor:
        """Project with the ``part``-th third of in_proj, then (N, H, L, D)."""
        rows = slice(part * embed, (part + 1) * embed)
        y = linear(x, w[rows], None if b is None else b[rows])
        y = keep_lead_reshape(y, 2, (num_heads, head_dim), f"{op}_{name}_heads")
        return permute(y, (0, 2, 1, 3) if batch_first else (1, 2, 0, 3))

    if packed:
        # one matrix multiply with all of in_proj, its bias and the head split compile to one kernel; three
        # projections compiled to three (TensorRT-RTX 1.7 stores each kernel's source, ~130 KB, in the
        # engine: the zoo's tiny vit was 1.04x the ONNX route's bytes with three, 0.88x with one)
        qkv = linear(query, w, b)  # (N, L, 3E) or (L, N, 3E)
        qkv = keep_lead_reshape(qkv, 2, (3, num_heads, head_dim), f"{op}_qkv_heads")
        q, k, v = unbind(permute(qkv, (2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4)), 0)
    else:
        q, k, v = heads(query, 0, "q"), heads(key, 1, "k"), heads(value, 2, "v")

    masks: list[tuple[Tensor, str]] = []
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise ctx.error(op, f"`attn_mask` must be a netdef.Tensor, got {type(attn_mask).__name__}")
        if attn_mask.ndim == 2:
            want = (tgt, src)
        elif attn_mask.ndim == 3:
            want = (n * num_heads if n >= 0 else -1, tgt, src)
        elif attn_mask.ndim == 4 and unbatched:  # an unbatched (H, L, S) mask, batch dim added above
            want = (1, num_heads, tgt, src)
        else:
            raise ctx.error(
                op, f"attn_mask must be 2-D (L, S) or 3-D (N * num_heads, L, S), got {attn_mask.static_shape}"
            )
        if any(a >= 0 and b >= 0 and a != b for a, b in zip(attn_mask.static_shape, want)):
            raise ctx.error(op, f"attn_mask should have shape {want}, got {attn_mask.static_shape}")
        if attn_mask.ndim == 3:  # (N * H, L, S) -> (N, H, L, S)
            if any(d < 0 for d in attn_mask.static_shape[1:]):
                raise ctx.error(op, "a 3-D attn_mask needs static query and key lengths")
            attn_mask = reshape(attn_mask, -1, num_heads, attn_mask.static_shape[1], attn_mask.static_shape[2])
        masks.append(_mask_kind(ctx, op, attn_mask, "attn_mask"))
    if key_padding_mask is not None:
        if key_padding_mask.ndim != 2:
            raise ctx.error(op, f"key_padding_mask must be (N, S), got shape {key_padding_mask.static_shape}")
        kpm = unsqueeze(unsqueeze(key_padding_mask, 1), 1)  # (N, 1, 1, S)
        masks.append(_mask_kind(ctx, op, kpm, "key_padding_mask"))

    if not need_weights and _fusable(ctx, q, k, v, masked=bool(masks)):
        mask = _combined_mask(masks, q.dtype)
        out = fused_attention_layer(q, k, v, mask, "NONE", 1.0 / math.sqrt(head_dim), op)
        out, weights = (out if mask is None else _zero_dead_rows(out, mask)), None
    else:
        out, weights = attention(q, k, v, masks, False, 1.0 / math.sqrt(head_dim), not need_weights, op)
    # (N, H, L, D) -> (L * N, E) or (N * L, E) -> out_proj -> (L, N, E) or (N, L, E). out_proj runs on the
    # flattened tokens, as torch's own forward does. With a 2-D matrix multiply TensorRT's Myelin compiler fuses
    # the bias and the residual add into it, and the layer norms after it compile to kernels that every encoder
    # layer shares; on the 3-D tensor it fused them into the layer norms, which it then compiled anew for each
    # layer (TensorRT-RTX 1.7: 35 kernels instead of 15 in vit_b_16's engine, 2.7 MiB more CUDA source)
    out = permute(out, (0, 2, 1, 3) if batch_first else (2, 0, 1, 3))
    lead = out.shape[:2]  # ints, or symbolic sizes where dynamic
    out = out_proj(placeholder_reshape(ctx, out, (-1, embed), op + "_merge_heads"))
    out = reshape(out, *lead, embed)
    if unbatched:
        out = squeeze(out, 0)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = mean(weights, 1)
    return out, (squeeze(weights, 0) if unbatched else weights)


def _mask_kind(ctx: EmitContext, op: str, mask, name: str) -> tuple[Tensor, str]:
    if not isinstance(mask, Tensor):
        raise ctx.error(op, f"`{name}` must be a netdef.Tensor, got {type(mask).__name__}")
    if mask.dtype == trt.bool:
        return mask, "drop"
    if is_float(mask):
        return mask, "add"
    raise ctx.error(op, f"`{name}` must be bool or float, got {mask.dtype.name}")
