"""Dropout: the identity at inference."""

from __future__ import annotations

from netdef.functional._common import require_tensor
from netdef.tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Returns ``input``: an engine is inference-only, so dropout emits no layer."""
    input = require_tensor("dropout", input)
    if training:
        raise input.ctx.error("dropout", "training=True has no meaning in a TensorRT engine")
    return input
