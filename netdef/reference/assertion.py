"""IAssertionLayer semantics: every element of the bool input must be true, else the run stops."""

from __future__ import annotations

from netdef.errors import InterpreterError
from netdef.reference._registry import register


@register("ASSERTION")
def assertion(layer, inputs):
    if not bool(inputs[0].bool().all()):
        raise InterpreterError(f"assertion `{layer.name}` failed: {layer.message}")
    return []
