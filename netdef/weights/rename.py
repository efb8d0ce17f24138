"""Renaming checkpoint keys to a module's state_dict names (prefix strip/add, regex map)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from netdef.errors import WeightsFormatError

__all__ = ["Rename", "rename_weights"]

V = TypeVar("V")


class Rename:
    """Rules mapping checkpoint names to state_dict names, applied in this order:

    1. ``strip_prefix``: each prefix, in order, is removed from names that start with it
       (``"module."`` from DataParallel checkpoints, ``"model."`` from Lightning ones);
    2. ``regex``: each ``(pattern, replacement)`` in order, as ``re.sub(pattern, replacement, name)``
       (e.g. ``(r"^backbone\\.", "")`` or ``(r"\\.gamma$", ".weight")``);
    3. ``add_prefix`` is put in front of every name.

    Two source keys that end up with the same name are an error naming both.
    """

    def __init__(
        self,
        strip_prefix: str | Sequence[str] = (),
        add_prefix: str = "",
        regex: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> None:
        self.strip_prefix: tuple[str, ...] = (strip_prefix,) if isinstance(strip_prefix, str) else tuple(strip_prefix)
        if any(not p for p in self.strip_prefix):
            raise ValueError("Rename: strip_prefix holds an empty prefix; pass the text to remove, e.g. 'module.'")
        self.add_prefix = add_prefix
        pairs = list(regex.items()) if isinstance(regex, Mapping) else [tuple(p) for p in regex]
        compiled: list[tuple[re.Pattern[str], str]] = []
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"Rename: regex rule {pair!r} is not a (pattern, replacement) pair")
            pattern, replacement = pair
            try:
                compiled.append((re.compile(pattern), replacement))
            except re.error as exc:
                raise ValueError(f"Rename: bad regex {pattern!r}: {exc}") from None
        self.regex: tuple[tuple[re.Pattern[str], str], ...] = tuple(compiled)

    def __call__(self, name: str) -> str:
        for prefix in self.strip_prefix:
            if name.startswith(prefix):
                name = name[len(prefix) :]
        for pattern, replacement in self.regex:
            name = pattern.sub(replacement, name)
        return self.add_prefix + name

    def __repr__(self) -> str:
        parts = []
        if self.strip_prefix:
            parts.append(f"strip_prefix={self.strip_prefix!r}")
        if self.add_prefix:
            parts.append(f"add_prefix={self.add_prefix!r}")
        if self.regex:
            parts.append(f"regex={[(p.pattern, r) for p, r in self.regex]!r}")
        return f"Rename({', '.join(parts)})"


def rename_weights(
    weights: Mapping[str, V], rename: Rename | Callable[[str], str] | None, where: str = "weights"
) -> dict[str, V]:
    """``{rename(name): value}`` in the same order; a collision or an empty result name is an error.

    The result is of the same class as ``weights`` when that is a dict subclass (so a
    :class:`~netdef.weights.formats.Weights` keeps its ``shaped`` flag).
    """
    if rename is None:
        return weights if isinstance(weights, dict) else dict(weights)
    out = type(weights)() if isinstance(weights, dict) else {}
    if hasattr(weights, "shaped"):
        out.shaped = weights.shaped  # type: ignore[attr-defined]
    source_of: dict[str, str] = {}
    for key, value in weights.items():
        new = rename(key)
        if not isinstance(new, str) or not new:
            raise WeightsFormatError(f"{where}: renaming {key!r} gave {new!r}; expected a non-empty name ({rename})")
        if new in source_of:
            raise WeightsFormatError(
                f"{where}: renaming maps both {source_of[new]!r} and {key!r} to {new!r} ({rename}); "
                "make the rules keep them apart or drop one of them from the checkpoint"
            )
        source_of[new] = key
        out[new] = value
    return out
