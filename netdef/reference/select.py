"""ISelectLayer semantics (torch.where; the three inputs broadcast over equal ranks)."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("SELECT")
def select(layer, inputs):
    condition, then, otherwise = inputs
    return [torch.where(condition.bool(), then, otherwise)]
