"""Dropout: the identity at inference."""

from __future__ import annotations

from netdef.functional._common import require_tensor
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op(torch="torch.nn.functional.dropout", limits="training=True is refused (an engine is inference-only)")
def dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Returns ``input``: an engine is inference-only, so dropout emits no layer."""
    input = require_tensor("dropout", input)
    if training:
        raise input.ctx.error("dropout", "training=True has no meaning in a TensorRT engine")
    return input
