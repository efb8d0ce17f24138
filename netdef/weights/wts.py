"""The tensorrtx ``.wts`` weights format: read, write, and export from PyTorch.

Line 1 holds the number of entries; each following line is ``name count hex hex ...`` where every
``hex`` is the 8-digit big-endian bit pattern of one IEEE-754 float32, the tensor flattened in C order.
Any ASCII whitespace separates fields; the file holds no shapes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from netdef.errors import WeightsFormatError
from netdef.weights.io import atomic_write

__all__ = ["export_wts", "load_wts", "save_wts"]

# The whitespace set of bytes.split() and bytes.fromhex(): space, \t, \n, \v, \f, \r.
_WHITESPACE = b" \t\n\x0b\x0c\r"
_IS_HEX = np.zeros(256, dtype=bool)
_IS_HEX[list(b"0123456789abcdefABCDEF")] = True
_MAX_COUNT_DIGITS = 19  # more digits than this cannot describe a line that fits in memory


# --------------------------------------------------------------------------------------------- reading


def load_wts(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a ``.wts`` file into ``{name: 1-D float32 array}`` in file order, bit-exactly.

    Raises :class:`~netdef.errors.WeightsFormatError` (naming the file, line and entry) if the file
    is missing, unreadable or malformed; nothing is returned partially.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as f:
            data = f.read()
    except FileNotFoundError as exc:
        raise WeightsFormatError(f"{where}: no such weights file") from exc
    except OSError as exc:
        raise WeightsFormatError(f"{where}: cannot read weights file: {exc.strerror or exc}") from exc
    return _parse(data, where)


def _parse(data: bytes, where: str) -> dict[str, np.ndarray]:
    lines = _iter_lines(data)

    declared: int | None = None
    for lineno, line in lines:
        fields = line.split()
        if not fields:
            continue  # blank lines are whitespace, like everywhere else
        if len(fields) != 1 or not _is_uint(fields[0]) or len(fields[0]) > _MAX_COUNT_DIGITS:
            raise WeightsFormatError(
                f"{where}:{lineno}: expected a header holding the number of entries "
                f"(a non-negative integer alone on the line), got {_show(line.strip())}"
            )
        declared = int(fields[0])
        header_line = lineno
        break
    if declared is None:
        what = "is empty" if not data else "holds only whitespace"
        raise WeightsFormatError(f"{where}:1: file {what}; expected a header line with the number of entries")

    weights: dict[str, np.ndarray] = {}
    first_line: dict[str, int] = {}
    last_line = header_line
    for lineno, line in lines:
        last_line = lineno
        parts = line.split(None, 2)
        if not parts:
            continue
        name = _decode_name(parts[0], where, lineno)
        if len(weights) == declared:
            raise WeightsFormatError(
                f"{where}:{lineno}: unexpected entry {name!r}: the header (line {header_line}) "
                f"declares {declared} entries, and they all came before this line"
            )
        if name in first_line:
            raise WeightsFormatError(
                f"{where}:{lineno}: duplicate entry {name!r} (first defined on line {first_line[name]}); "
                "expected unique names"
            )
        if len(parts) < 2:
            raise WeightsFormatError(
                f"{where}:{lineno}: entry {name!r}: expected a value count after the name, found the end of the line"
            )
        count_tok = parts[1]
        if not _is_uint(count_tok):
            raise WeightsFormatError(
                f"{where}:{lineno}: entry {name!r}: expected the value count (a non-negative integer) "
                f"after the name, got {_show(count_tok)}"
            )
        payload = parts[2] if len(parts) == 3 else b""
        weights[name] = _decode_values(payload, count_tok, where, lineno, name)
        first_line[name] = lineno

    if len(weights) != declared:
        raise WeightsFormatError(
            f"{where}:{last_line + 1}: the header (line {header_line}) declares {declared} entries, "
            f"but the file ends after {len(weights)}"
        )
    return weights


def _iter_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, line) splitting on ``\\n`` only; ``\\r`` is whitespace."""
    pos = 0
    lineno = 0
    size = len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
        lineno += 1
        yield lineno, data[pos:end]
        pos = end + 1


def _is_uint(token: bytes) -> bool:
    return token.isdigit()  # ASCII digits only for bytes; no sign, no underscores


def _decode_name(token: bytes, where: str, lineno: int) -> str:
    try:
        name = token.decode("utf-8")
    except UnicodeDecodeError:
        raise WeightsFormatError(
            f"{where}:{lineno}: entry name {_show(token)} is not valid UTF-8; expected a text name "
            "(is this a .wts file?)"
        ) from None
    if not name.isprintable():
        raise WeightsFormatError(
            f"{where}:{lineno}: entry name {name!r} holds control or non-printable characters; "
            "expected a printable name (is this a .wts file?)"
        )
    return name


def _decode_values(payload: bytes, count_tok: bytes, where: str, lineno: int, name: str) -> np.ndarray:
    """Decode the hex tokens of one line into a float32 array, checking the declared count."""
    size = len(payload)  # without trailing whitespace (e.g. the \r of CRLF), which is not copied away
    while size and payload[size - 1] in _WHITESPACE:
        size -= 1
    # Each value takes at least one digit and one separator, so a count above (size + 1) // 2 is
    # certainly wrong; check it before int() and before anything is allocated from the count.
    if len(count_tok) > _MAX_COUNT_DIGITS or int(count_tok) > (size + 1) // 2:
        found = _count_tokens(payload)
        raise WeightsFormatError(
            f"{where}:{lineno}: entry {name!r}: declares {count_tok.decode()} values, but the line holds {found}"
        )
    count = int(count_tok)
    if count == 0 and size == 0:
        return np.empty(0, dtype=np.float32)

    # Fast path: n tokens of exactly 8 hex digits, one whitespace byte between them.
    if size == 9 * count - 1:
        raw = np.frombuffer(payload, dtype=np.uint8, count=size)
        if _space_mask(raw[8::9]).all():
            try:  # fromhex skips whitespace: the separators and the trailing whitespace
                decoded = bytes.fromhex(payload.decode("ascii"))
            except ValueError:  # includes UnicodeDecodeError; the general path reports it
                decoded = b""
            if len(decoded) == 4 * count:
                return np.frombuffer(decoded, dtype=">f4").astype(np.float32)

    return _decode_general(payload, count, where, lineno, name)


def _space_mask(raw: np.ndarray) -> np.ndarray:
    """True where a byte is ASCII whitespace (space, or \\t \\n \\v \\f \\r which are 9..13)."""
    return (raw == 32) | ((raw - np.uint8(9)) < 5)  # uint8 arithmetic wraps below 9


def _count_tokens(payload: bytes) -> int:
    solid = ~_space_mask(np.frombuffer(payload, dtype=np.uint8))
    return int(np.count_nonzero(solid[1:] & ~solid[:-1])) + int(solid[0]) if solid.size else 0


def _decode_general(payload: bytes, count: int, where: str, lineno: int, name: str) -> np.ndarray:
    """Tokenize any whitespace layout and tokens of 1 to 8 hex digits, vectorized."""
    raw = np.frombuffer(payload, dtype=np.uint8)
    solid = np.concatenate(([False], ~_space_mask(raw), [False]))
    edges = np.flatnonzero(solid[1:] != solid[:-1])
    starts, ends = edges[0::2], edges[1::2]
    if starts.size != count:
        raise WeightsFormatError(
            f"{where}:{lineno}: entry {name!r}: declares {count} values, but the line holds {starts.size}"
        )
    lengths = ends - starts
    if (lengths == 8).all():  # only the whitespace is unusual
        try:
            decoded = bytes.fromhex(payload.decode("ascii"))
        except ValueError:
            pass  # a non-hex character: reported below
        else:
            return np.frombuffer(decoded, dtype=">f4").astype(np.float32)

    # Report the first bad token, in line order: a non-hex character, or more than 8 digits.
    bad_chars = np.flatnonzero(~_IS_HEX[raw] & solid[1:-1])
    first_bad_char = int(np.searchsorted(starts, bad_chars[0], side="right")) - 1 if bad_chars.size else count
    too_long = np.flatnonzero(lengths > 8)
    first_too_long = int(too_long[0]) if too_long.size else count
    if first_bad_char < count or first_too_long < count:
        k = min(first_bad_char, first_too_long)
        token = payload[starts[k] : ends[k]]
        if k == first_bad_char:
            expected = "expected hexadecimal digits (the big-endian float32 bit pattern)"
        else:
            expected = f"{lengths[k]} digits, expected at most 8 hex digits (one float32)"
        raise WeightsFormatError(f"{where}:{lineno}: entry {name!r}: value {k + 1} is {_show(token)}; {expected}")

    # Short tokens (e.g. "0"): right-align each in an 8-column grid of '0's and decode the grid.
    grid = np.full((count, 8), ord("0"), dtype=np.uint8)
    chars = np.flatnonzero(solid[1:-1])
    token_of = np.repeat(np.arange(count), lengths)
    columns = chars - ends[token_of] + 8
    grid[token_of, columns] = raw[chars]
    decoded = bytes.fromhex(grid.tobytes().decode("ascii"))
    return np.frombuffer(decoded, dtype=">f4").astype(np.float32)


def _show(token: bytes, limit: int = 40) -> str:
    """A short printable rendering of some bytes from the file, for error messages."""
    text = repr(token[:limit])
    return text + "..." if len(token) > limit else text


# --------------------------------------------------------------------------------------------- writing


def save_wts(weights: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``{name: array-like}`` to a ``.wts`` file atomically, every value as float32.

    Integer and bool values become their float32 value; float64/float16/bfloat16 are cast to
    float32 (as tensorrtx's gen_wts.py does). Names must be non-empty, printable and free of
    whitespace; a bad name or value raises :class:`~netdef.errors.WeightsFormatError` and leaves any
    existing file untouched.
    """
    where = os.fspath(path)
    arrays = _to_float32_dict(weights, where)
    _write(arrays, where)


def export_wts(model_or_state_dict: Any, path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Write a torch ``nn.Module``'s ``state_dict()`` (or a mapping of tensors/arrays) to ``.wts``.

    Returns the arrays written: ``{name: 1-D float32 array}``, the same as ``load_wts(path)``.
    """
    import torch  # optional dependency: only this function needs it

    if isinstance(model_or_state_dict, torch.nn.Module):
        state: Mapping[str, Any] = model_or_state_dict.state_dict()
    elif isinstance(model_or_state_dict, Mapping):
        state = model_or_state_dict
    else:
        raise TypeError(
            "export_wts: expected a torch.nn.Module or a mapping of name -> tensor/array, "
            f"got {type(model_or_state_dict).__name__}"
        )
    where = os.fspath(path)
    arrays = _to_float32_dict(state, where)
    _write(arrays, where)
    return arrays


def _to_float32_dict(weights: Mapping[str, Any], where: str) -> dict[str, np.ndarray]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"save_wts: expected a mapping of name -> array, got {type(weights).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        _check_name(name, where)
        arrays[name] = _to_float32(value, name, where)
    return arrays


def _check_name(name: object, where: str) -> None:
    if not isinstance(name, str):
        raise WeightsFormatError(f"{where}: entry name {name!r} is a {type(name).__name__}; expected a str")
    if not name:
        raise WeightsFormatError(f"{where}: entry name {name!r} is empty; expected a non-empty name")
    if not name.isprintable() or " " in name:
        # str.isprintable() is False for every whitespace character except the ASCII space.
        raise WeightsFormatError(
            f"{where}: entry name {name!r} holds whitespace or non-printable characters; "
            "expected a name without them (the format separates fields with whitespace)"
        )


def _to_float32(value: Any, name: str, where: str) -> np.ndarray:
    """A flat C-contiguous float32 copy of one tensor/array/scalar."""
    try:
        if type(value).__module__.split(".", 1)[0] == "torch":
            value = _torch_to_numpy(value)
        arr = np.asarray(value)
    except Exception as exc:
        raise WeightsFormatError(
            f"{where}: entry {name!r}: cannot convert {type(value).__name__} to an array: {exc}"
        ) from exc
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype.itemsize > 4:
            with np.errstate(over="ignore", invalid="ignore"):
                out = arr.astype(np.float32)
            overflow = np.isinf(out) & np.isfinite(arr)
            if overflow.any():
                bad = arr.reshape(-1)[int(np.flatnonzero(overflow.reshape(-1))[0])]
                raise WeightsFormatError(
                    f"{where}: entry {name!r}: value {bad!r} is too large for float32; "
                    "expected values within float32 range"
                )
        else:
            out = arr.astype(np.float32)
    elif kind in "biu":
        out = arr.astype(np.float64).astype(np.float32)  # float(value), then float32, like gen_wts.py
    else:
        raise WeightsFormatError(
            f"{where}: entry {name!r}: dtype {arr.dtype} cannot be stored; expected a real number array"
        )
    return np.ascontiguousarray(out.reshape(-1))


def _torch_to_numpy(tensor: Any) -> Any:
    import torch

    if not isinstance(tensor, torch.Tensor):
        return tensor
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.dtype == torch.bfloat16 or (tensor.is_floating_point() and tensor.element_size() < 4):
        tensor = tensor.to(torch.float32)  # exact; numpy has no bfloat16
    return tensor.resolve_conj().resolve_neg().numpy()


def _write(arrays: dict[str, np.ndarray], where: str) -> None:
    with atomic_write(where, "wb") as f:
        f.write(b"%d\n" % len(arrays))
        for name, arr in arrays.items():
            if arr.size:
                f.write(f"{name} {arr.size} ".encode())
                f.write(arr.astype(">f4").tobytes().hex(" ", 4).encode("ascii"))
                f.write(b"\n")
            else:
                f.write(f"{name} 0\n".encode())
