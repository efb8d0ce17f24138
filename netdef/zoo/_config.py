"""Checks of the zoo's config dataclasses (transformers' field names): each field's type and range."""

from __future__ import annotations

import dataclasses
import math
import numbers

from netdef.errors import ArgumentError


def check_fields(config) -> None:
    """Type and range of a config dataclass's fields, from their annotations: sizes are ints >= 1, floats are
    finite and >= 0, token ids are ints (or lists of them), flags are bools. ArgumentError naming the field."""
    for field in dataclasses.fields(config):
        name, value, kind = field.name, getattr(config, field.name), str(field.type)
        optional = kind.endswith("| None")
        if value is None and optional:
            continue
        if name.endswith("_token_id"):
            ids = value if isinstance(value, list) and "list" in kind else [value]
            ok = bool(ids) and all(_is_int(i) for i in ids)
            expected = "an int or a list of ints" if "list" in kind else "an int"
        elif kind.startswith("int"):
            ok, expected = _is_int(value) and value >= 1, "an int >= 1"
        elif kind.startswith("float"):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
            expected = "a finite number >= 0"
        elif kind.startswith("bool"):
            ok, expected = isinstance(value, bool), "true or false"
        elif kind.startswith("str"):
            ok, expected = isinstance(value, str), "a string"
        elif kind.startswith("dict"):
            ok, expected = isinstance(value, dict), "a mapping"
        else:
            continue
        if not ok:
            raise ArgumentError(
                f"{type(config).__name__} field {name} must be {expected}{' or null' if optional else ''}, "
                f"got {value!r}"
            )


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
