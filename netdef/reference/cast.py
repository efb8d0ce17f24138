"""ICastLayer and IIdentityLayer semantics (the interpreter rounds to the output dtype)."""

from __future__ import annotations

from netdef.reference._registry import register


@register("CAST", "ICastLayer")
def cast(layer, inputs):
    return [inputs[0]]


@register("IDENTITY", "IIdentityLayer")
def identity(layer, inputs):
    return [inputs[0]]
