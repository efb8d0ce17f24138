"""Flatten."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """torch.nn.Flatten (default start_dim=1: keeps the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)
