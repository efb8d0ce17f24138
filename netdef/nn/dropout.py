"""Dropout: the identity in an inference engine."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Identity at inference: TensorRT engines are built for eval mode (torch.nn.Dropout)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p)
