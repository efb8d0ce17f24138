"""MultiheadAttention with torch's state_dict names (in_proj_weight, in_proj_bias, out_proj.*)."""

from __future__ import annotations

from netdef.errors import EmitError
from netdef.functional.attention import multi_head_attention_forward
from netdef.nn.linear import Linear
from netdef.nn.module import Module, Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention for inference.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(attn_output, attn_weights or None)`` with
    torch's shapes. ``dropout`` is accepted and ignored (inference). Separate key/value sizes
    (``kdim``/``vdim`` other than ``embed_dim``), ``add_bias_kv`` and ``add_zero_attn`` are not supported.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise EmitError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
            )
        if (kdim is not None and kdim != embed_dim) or (vdim is not None and vdim != embed_dim):
            raise EmitError(
                f"MultiheadAttention: kdim={kdim} / vdim={vdim} differ from embed_dim={embed_dim}; separate "
                "q/k/v projection weights (q_proj_weight, k_proj_weight, v_proj_weight) are not supported"
            )
        if add_bias_kv or add_zero_attn:
            raise EmitError("MultiheadAttention: add_bias_kv=True and add_zero_attn=True are not supported")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(3 * embed_dim, embed_dim)
        self.in_proj_bias = Parameter(3 * embed_dim) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        return multi_head_attention_forward(
            query,
            key,
            value,
            self.num_heads,
            self.in_proj_weight.data,
            None if self.in_proj_bias is None else self.in_proj_bias.data,
            self.out_proj,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
            batch_first=self.batch_first,
        )

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
