"""Embedding: a lookup table whose ``weight`` is (num_embeddings, embedding_dim), as torch.nn.Embedding."""

from __future__ import annotations

from netdef import functional as F
from netdef.errors import ArgumentError
from netdef.nn.module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """torch.nn.Embedding; feed int32 or int64 indices (``netdef.Input(shape, dtype='int64')``).

    ``check_ids=True`` (netdef's, also settable as an attribute) makes an engine turn the row of an index
    outside ``[0, num_embeddings)`` into NaN; see ``F.embedding``."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        *,
        check_ids: bool = False,
    ) -> None:
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ArgumentError(
                f"Embedding: padding_idx={padding_idx} must be within num_embeddings={num_embeddings} "
                f"(-{num_embeddings} <= padding_idx < {num_embeddings})"
            )
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.weight = Parameter(num_embeddings, embedding_dim)
        self.check_ids = check_ids

    def forward(self, input):
        return F.embedding(
            input, self.weight.data, self.padding_idx, self.max_norm, self.norm_type, check_ids=self.check_ids
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
