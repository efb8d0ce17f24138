"""ICastLayer and IIdentityLayer semantics (the interpreter rounds to the output dtype)."""

from __future__ import annotations

from netdef.reference._registry import register


@register("CAST")
def cast(layer, inputs):
    return [inputs[0]]


@register("IDENTITY")
def identity(layer, inputs):
    return [inputs[0]]
