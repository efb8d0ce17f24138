"""The tensorrtx ``.wts`` weights format: read, write, and export from PyTorch.

Line 1 holds the number of entries; each following line is ``name count hex hex ...`` where every
``hex`` is the 8-digit big-endian bit pattern of one IEEE-754 float32, the tensor flattened in C order.
Any ASCII whitespace separates fields; the file holds no shapes.

Reading streams the file through a window of a few MB and decodes the canonical layout (8-digit
tokens one separator byte apart, as netdef and tensorrtx's gen_wts.py write it) in large chunks
straight into the result arrays; any other layout takes a slower, equally strict path. Peak memory
while reading is the float32 result plus the window (a whole line, for a line in another layout).
"""

from __future__ import annotations

import binascii
import codecs
import os
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

import numpy as np

from netdef._io import atomic_write
from netdef.errors import WeightsFormatError
from netdef.progress import Line, track
from netdef.progress import enabled as progress_enabled
from netdef.weights.registry import StreamHead, Weights, weight_format
from netdef.weights.streams import is_regular, open_weights, spool

__all__ = ["export_wts", "load_wts", "read_wts", "save_wts"]

# The whitespace set of bytes.split() and bytes.fromhex(): space, \t, \n, \v, \f, \r. Inside a line
# every one of them but \n separates fields (so CRLF files read like LF files).
_FIELD = re.compile(rb"[ \t\x0b\x0c\r]*(\S*)")  # skip inline whitespace, then take one field
_SKIP = re.compile(rb"[ \t\x0b\x0c\r]*()")
_LINE_END = re.compile(rb"[ \t\x0b\x0c\r]*()(?:\n|\Z)")  # trailing whitespace, then \n or the end
_IS_HEX = np.zeros(256, dtype=bool)
_IS_HEX[list(b"0123456789abcdefABCDEF")] = True
_MAX_COUNT_DIGITS = 19  # more digits than this cannot describe a line that fits in memory
_DECODE_VALUES = 1 << 18  # values per fromhex call on the canonical layout (2.3 MB of text)
_WINDOW_BYTES = 1 << 18  # bytes per window of the general tokenizer (its temporaries are ~30x this)
_READ_BYTES = 1 << 22  # the reading window; it grows only for a field (a name) longer than it
_FIELD_BYTES = 1 << 20  # a name, count or header longer than this is an error, not a reason to read on
_INLINE_SPACES = tuple(b" \t\x0b\x0c\r")


class _LongField(Exception):
    """A field ran past ``_FIELD_BYTES``; ``args[0]`` holds its first bytes."""


# --------------------------------------------------------------------------------------------- reading


def load_wts(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a ``.wts`` file into ``{name: 1-D float32 array}`` in file order, bit-exactly.

    Raises :class:`~netdef.errors.WeightsFormatError` (naming the file, line and entry) if the file
    is missing, unreadable or malformed; nothing is returned partially.
    """
    where = os.fspath(path)
    return read_wts(open_weights(where), where)


def read_wts(f: IO[bytes], where: str) -> dict[str, np.ndarray]:
    """Read the .wts file open as ``f`` (closed after) like ``load_wts``; ``where`` names it in errors.

    A stream (a FIFO such as ``<(...)``, a device) is read once into an unnamed temporary file first, since the
    reader's window seeks; its first bytes are checked before the copy goes on, so junk is refused at once.
    """
    try:
        with f:
            if not is_regular(f):
                f = spool(f, where, lambda head: _check_head(head, where))
            with f:
                return _parse(_Source(f, os.fstat(f.fileno()).st_size, where), where)
    except OSError as exc:
        raise WeightsFormatError(f"{where}: cannot read weights file: {exc.strerror or exc}") from exc


def _unshaped(arrays: dict[str, np.ndarray]) -> Weights:
    weights = Weights(arrays)
    weights.shaped = False  # flat arrays: the module supplies the shapes
    return weights


def _read_stream(head: StreamHead) -> Weights:
    return _unshaped(read_wts(head.stream(), head.where))


@weight_format("wts", ".wts", read=_read_stream, fallback=True)  # a stream no other format claims is read as .wts
def _load(path: str) -> Weights:
    return _unshaped(load_wts(path))


def _check_head(head: bytes, where: str) -> None:
    """Raise the header error if the first bytes of a stream cannot begin a .wts file (a count on line 1)."""
    found = re.match(rb"\s*(\S*)", head)
    token = found.group(1)
    if not token or token.isdigit():  # a count (its length and line end are checked when parsing)
        return
    lineno = head.count(b"\n", 0, found.start(1)) + 1
    raise WeightsFormatError(
        f"{where}:{lineno}: expected a header holding the number of entries (a non-negative integer alone on the "
        f"line), got {_show(token)}"
    )


class _Source:
    """The bytes of a file of known size, through a window that slides forward as parsing goes.

    Positions are offsets in the file. ``need(end)`` makes ``[keep, end)`` readable in ``buf`` (at
    ``pos - base``), reading on and dropping bytes before ``keep``, which ``release`` moves forward.
    Reads go into the same buffer over and over: no copy of the whole file is ever made.
    """

    def __init__(self, f: IO[bytes], size: int, where: str) -> None:
        self.file, self.size, self.where = f, size, where
        self.buf = bytearray(min(size, _READ_BYTES))
        self.view = memoryview(self.buf)
        self.base = 0  # file offset of buf[0]
        self.stop = 0  # file offset after the last byte read
        self.keep = 0  # nothing before this offset is needed any more

    def release(self, pos: int) -> None:
        self.keep = max(self.keep, pos)

    def need(self, end: int) -> None:
        """Read until the bytes up to ``end`` (at most the file size) are in the window."""
        end = min(end, self.size)
        if end <= self.stop:
            return
        if self.keep > self.stop:  # nothing read is needed any more; skip what lies between
            self.file.seek(self.keep)
            self.base = self.stop = self.keep
        live = self.stop - self.keep
        if end - self.keep > len(self.buf):  # a long non-canonical line: grow the window
            grown = bytearray(max(2 * len(self.buf), end - self.keep + _READ_BYTES // 2))
            grown[:live] = self.view[self.keep - self.base : self.stop - self.base]
            self.view.release()
            self.buf, self.view = grown, memoryview(grown)
        elif self.keep > self.base:  # move the bytes still needed to the front
            self.view[:live] = self.view[self.keep - self.base : self.stop - self.base]
        self.base = self.keep
        while self.stop < end:  # fill as much of the window as the file allows
            n = self.file.readinto(self.view[self.stop - self.base : min(len(self.buf), self.size - self.base)])
            if not n:
                raise WeightsFormatError(
                    f"{self.where}: the file became shorter while it was read ({self.stop} of {self.size} "
                    "bytes); is another program writing it?"
                )
            self.stop += n

    def match(self, pattern: re.Pattern[bytes], pos: int) -> tuple[bytes, int] | None:
        """``pattern.match`` at ``pos``: (its group 1, the file offset where it ends), or None.

        The window is widened until the answer cannot change with more bytes. A run of whitespace before
        group 1 slides through the window (it is released as it is skipped); a group longer than
        ``_FIELD_BYTES`` raises ``_LongField``.
        """
        step = 256  # names, counts and line ends are short; a longer field doubles the look-ahead
        limit = pos + step
        while True:
            limit = min(limit, self.size)
            self.need(limit)
            m = pattern.match(self.buf, pos - self.base, limit - self.base)
            if m is None:
                return None  # a mismatch before the limit is final
            end = m.end() + self.base
            if end < limit or limit == self.size:
                return bytes(m.group(1)), end
            field = m.start(1) + self.base
            if field == limit:  # whitespace all the way: skip it, in longer strides within the window
                pos = limit
                self.release(pos)
                step = min(2 * step, max(len(self.buf), 256))
                limit = pos + step
                continue
            if limit - field > _FIELD_BYTES:
                raise _LongField(bytes(m.group(1)[:256]))
            limit = pos + 2 * (limit - pos)

    def rewind(self, pos: int) -> None:
        """Make ``pos`` the oldest offset needed again, reading it anew if the window left it behind."""
        if pos < self.base:
            self.file.seek(pos)
            self.base = self.stop = pos
        self.keep = pos

    def bytes_at(self, start: int, stop: int) -> bytes:
        self.need(stop)
        return bytes(self.view[start - self.base : stop - self.base])


def _parse(source: _Source, where: str) -> dict[str, np.ndarray]:
    size = source.size
    pos, lineno = 0, 1
    while True:  # the header: the first non-blank line
        try:
            token, end = source.match(_FIELD, pos)
        except _LongField:
            token, end = None, pos  # not a count: reported below
        if token is None or token:
            break
        if end >= size:
            what = "is empty" if not size else "holds only whitespace"
            raise WeightsFormatError(f"{where}:1: file {what}; expected a header line with the number of entries")
        pos, lineno = end + 1, lineno + 1  # the field stopped at a \n: a blank line
        source.release(pos)
    line_end = source.match(_LINE_END, end) if token is not None else None
    if line_end is None or not _is_uint(token) or len(token) > _MAX_COUNT_DIGITS:
        raise WeightsFormatError(
            f"{where}:{lineno}: expected a header holding the number of entries "
            f"(a non-negative integer alone on the line), got {_show_line(source, pos)}"
        )
    declared = int(token)
    header_line = lineno
    pos, lineno = line_end[1], lineno + 1  # the match took the \n

    weights: dict[str, np.ndarray] = {}
    first_line: dict[str, int] = {}
    line = Line() if progress_enabled() and size > _PROGRESS_BYTES else None
    try:
        _parse_entries(source, where, pos, lineno, declared, header_line, weights, first_line, line)
    finally:
        if line is not None:
            line.close()
    return weights


#: files smaller than this load without a progress line
_PROGRESS_BYTES = 64 << 20


def _parse_entries(source, where, pos, lineno, declared, header_line, weights, first_line, line) -> None:
    size = source.size
    while pos < size:
        source.release(pos)
        try:
            token, end = source.match(_FIELD, pos)
        except _LongField as long:
            _decode_name(long.args[0], where, lineno, cut=True)
            raise WeightsFormatError(
                f"{where}:{lineno}: entry name {_show(long.args[0])} is longer than {_FIELD_BYTES} bytes; "
                "expected a name (is this a .wts file?)"
            ) from None
        if not token:  # a blank line (or trailing whitespace at the end of the file)
            pos, lineno = end + 1, lineno + 1
            continue
        name = _decode_name(token, where, lineno)
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
        try:
            count_tok, end = source.match(_FIELD, end)
        except _LongField as long:
            raise WeightsFormatError(
                f"{where}:{lineno}: entry {name!r}: expected the value count (a non-negative integer) "
                f"after the name, got {_show(long.args[0])}"
            ) from None
        if not count_tok:
            raise WeightsFormatError(
                f"{where}:{lineno}: entry {name!r}: expected a value count after the name, found the end of the line"
            )
        if not _is_uint(count_tok):
            raise WeightsFormatError(
                f"{where}:{lineno}: entry {name!r}: expected the value count (a non-negative integer) "
                f"after the name, got {_show(count_tok)}"
            )
        start = source.match(_SKIP, end)[1]
        weights[name], pos = _read_values(source, start, count_tok, where, lineno, name)
        first_line[name] = lineno
        lineno += 1
        if line is not None:
            line.show(f"reading {where}  {len(weights)}/{declared} entries")

    if len(weights) != declared:
        raise WeightsFormatError(
            f"{where}:{lineno}: the header (line {header_line}) declares {declared} entries, "
            f"but the file ends after {len(weights)}"
        )


def _after(line_end: int, size: int) -> int:
    """The start of the next line, given where a line's content ends (at its \\n or the file end)."""
    return min(line_end + 1, size) if line_end < size else size


def _is_uint(token: bytes) -> bool:
    return token.isdigit()  # ASCII digits only for bytes; no sign, no underscores


def _decode_name(token: bytes, where: str, lineno: int, cut: bool = False) -> str:
    """``token`` as a name, or a WeightsFormatError; ``cut``: these are the first bytes of a longer name."""
    try:
        name = codecs.utf_8_decode(token, "strict", not cut)[0]  # a cut name may end inside a character
    except UnicodeDecodeError:
        raise WeightsFormatError(
            f"{where}:{lineno}: entry name {_show(token)} is not valid UTF-8; expected a text name "
            "(is this a .wts file?)"
        ) from None
    if not name.isprintable():
        shown = repr(name) if len(name) <= 200 and not cut else repr(name[:40]) + "..."
        raise WeightsFormatError(
            f"{where}:{lineno}: entry name {shown} holds control or non-printable characters; "
            "expected a printable name (is this a .wts file?)"
        )
    return name


def _read_values(
    source: _Source, start: int, count_tok: bytes, where: str, lineno: int, name: str
) -> tuple[np.ndarray, int]:
    """Decode the values of the line whose payload begins at ``start``; returns (array, next line's start)."""
    if len(count_tok) <= _MAX_COUNT_DIGITS:
        count = int(count_tok)
        end = start + 9 * count - 1 if count else start  # where the canonical layout ends
        if end <= source.size:  # so nothing below is allocated from a count the file cannot hold
            # Decode first (chunk by chunk, as the window slides), then check that the line ends there.
            values = _decode_canonical(source, start, count) if count else np.empty(0, dtype=np.float32)
            if values is not None:
                tail = source.match(_LINE_END, end)
                if tail is not None:
                    return values, tail[1]
    source.rewind(start)  # the canonical attempt may have slid the window past the line's start
    values, line_end = _decode_general(source, start, count_tok, where, lineno, name)
    return values, _after(line_end, source.size)


def _decode_canonical(source: _Source, start: int, count: int) -> np.ndarray | None:
    """Decode ``count`` tokens of exactly 8 hex digits, one separator byte apart, or return None."""
    out = np.empty(count, dtype=np.float32)  # count <= file size / 9 here
    bits = out.view(np.uint32)
    i = 0
    while i < count:
        first = start + 9 * i
        source.release(first)
        # Decode what the window holds (up to a chunk), so that refilling it moves almost nothing.
        n = min((source.stop - first + 1) // 9, count - i, _DECODE_VALUES)
        if n and i + n < count and 9 * n > source.stop - first:
            n -= 1  # the separator after the last whole token has not been read yet
        if not n:
            source.need(first + 9 * min(count - i, _DECODE_VALUES))
            continue
        length = 9 * n - (i + n == count)  # up to the next chunk's first digit; no separator at the end
        local = first - source.base
        raw = np.frombuffer(source.buf, dtype=np.uint8, count=length, offset=local)
        separators = raw[8::9]
        if not (separators == 32).all() and not _inline_space_mask(separators).all():
            return None
        try:  # fromhex skips the separators; any other whitespace shortens the result
            decoded = bytes.fromhex(codecs.ascii_decode(source.view[local : local + length])[0])
        except ValueError:  # includes UnicodeDecodeError; the general path reports it
            return None
        if len(decoded) != 4 * n:
            return None
        bits[i : i + n] = np.frombuffer(decoded, dtype=">u4")  # integer byte swap: NaN payloads survive
        i += n
    return out


def _space_mask(raw: np.ndarray) -> np.ndarray:
    """True where a byte is ASCII whitespace (space, or \\t \\n \\v \\f \\r which are 9..13)."""
    return (raw == 32) | ((raw - np.uint8(9)) < 5)  # uint8 arithmetic wraps below 9


def _inline_space_mask(raw: np.ndarray) -> np.ndarray:
    """True where a byte separates fields inside a line: whitespace other than \\n."""
    return _space_mask(raw) & (raw != 10)


def _tokens(data: bytearray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The raw bytes of a window, its non-whitespace mask, and its token start/end offsets."""
    raw = np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start)
    solid = np.concatenate(([False], ~_space_mask(raw), [False]))
    edges = np.flatnonzero(solid[1:] != solid[:-1])
    return raw, solid, edges[0::2], edges[1::2]


def _decode_general(
    source: _Source, start: int, count_tok: bytes, where: str, lineno: int, name: str
) -> tuple[np.ndarray, int]:
    """Tokenize any whitespace layout and tokens of 1 to 8 hex digits, streaming the line window by window.

    Returns the values and the offset where the line ends. Memory: the result (the declared count, allocated
    only if the rest of the file could hold that many values) plus one window, whatever the line holds; the
    first bad token is reported as soon as it is seen.
    """
    declared = int(count_tok) if len(count_tok) <= _MAX_COUNT_DIGITS else -1
    fits = 0 <= declared <= (source.size - start + 1) // 2  # a value takes a digit and a separator
    out = np.empty(declared if fits else 0, dtype=np.float32)
    bits = out.view(np.uint32)
    found, pos, span = 0, start, max(min(_WINDOW_BYTES, _READ_BYTES), 64)
    while True:
        source.release(pos)
        source.need(pos + span)
        base, data = source.base, source.buf
        stop = min(source.stop, pos + span)
        newline = data.find(b"\n", pos - base, stop - base)
        last = newline >= 0 or stop >= source.size
        if newline >= 0:
            end = newline + base
        elif last:
            end = source.size
        else:  # end the window at its last whitespace, so that no token is cut
            end = max(data.rfind(c, pos - base, stop - base) for c in _INLINE_SPACES) + base
            if end <= pos:  # no whitespace after the first token: it is longer than the window
                first = pos + (data[pos - base] in _INLINE_SPACES)
                token = bytes(data[first - base : first - base + 48])
                _bad_token(token, found + 1, where, lineno, name, too_long=bool(_IS_HEX[list(token)].all()), cut=True)
        raw, solid, starts, ends = _tokens(data, pos - base, end - base)
        n = starts.size
        lengths = ends - starts
        # The first bad token of the window, in line order: a non-hex character, or more than 8 digits.
        bad_chars = np.flatnonzero(~_IS_HEX[raw] & solid[1:-1])
        first_bad_char = int(np.searchsorted(starts, bad_chars[0], side="right")) - 1 if bad_chars.size else n
        too_long = np.flatnonzero(lengths > 8)
        first_too_long = int(too_long[0]) if too_long.size else n
        if first_bad_char < n or first_too_long < n:
            k = min(first_bad_char, first_too_long)
            token = bytes(data[pos - base + starts[k] : pos - base + ends[k]])
            _bad_token(token, found + k + 1, where, lineno, name, too_long=k != first_bad_char)
        if fits and found + n <= declared:
            bits[found : found + n] = _decode_window(data, pos - base, end - base, raw, solid, ends, lengths)
        found += n
        if last:
            break
        pos = end
    if found != declared:
        raise WeightsFormatError(
            f"{where}:{lineno}: entry {name!r}: declares {count_tok.decode()} values, but the line holds {found}"
        )
    return out, end


def _decode_window(
    data: bytearray, a: int, b: int, raw: np.ndarray, solid: np.ndarray, ends: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """The bit patterns of the (valid) hex tokens in ``data[a:b]``."""
    n = ends.size
    if (lengths == 8).all():  # only the whitespace is unusual
        return np.frombuffer(bytes.fromhex(codecs.ascii_decode(memoryview(data)[a:b])[0]), dtype=">u4")
    # Short tokens (e.g. "0"): right-align each in an 8-column grid of '0's and decode the grid.
    grid = np.full((n, 8), ord("0"), dtype=np.uint8)
    chars = np.flatnonzero(solid[1:-1])
    token_of = np.repeat(np.arange(n), lengths)
    grid[token_of, chars - ends[token_of] + 8] = raw[chars]
    return np.frombuffer(bytes.fromhex(grid.tobytes().decode("ascii")), dtype=">u4")


def _bad_token(token: bytes, index: int, where: str, lineno: int, name: str, too_long: bool, cut: bool = False) -> None:
    """Raise the error for value ``index`` of an entry: ``token``, or its first bytes if ``cut``."""
    if too_long:
        length = f"more than {len(token)}" if cut else str(len(token))
        expected = f"{length} digits, expected at most 8 hex digits (one float32)"
    else:
        expected = "expected hexadecimal digits (the big-endian float32 bit pattern)"
    raise WeightsFormatError(f"{where}:{lineno}: entry {name!r}: value {index} is {_show(token)}; {expected}")


def _show(token: bytes, limit: int = 40) -> str:
    """A short printable rendering of some bytes from the file, for error messages."""
    text = repr(token[:limit])
    return text + "..." if len(token) > limit else text


def _show_line(source: _Source, pos: int, limit: int = 40) -> str:
    """The stripped line starting at ``pos``, shortened like :func:`_show` (a long line is not copied)."""
    source.rewind(pos)  # the window may have slid past it
    head = source.bytes_at(pos, min(pos + 4096, source.size))
    end = head.find(b"\n")
    return _show((head if end < 0 else head[:end]).strip(), limit)


# --------------------------------------------------------------------------------------------- writing


def save_wts(weights: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``{name: array-like}`` to a ``.wts`` file atomically, every value as float32.

    Integer and bool values become their float32 value; float64/float16/bfloat16 are cast to
    float32 (as tensorrtx's gen_wts.py does). Names must be non-empty, printable and free of
    whitespace; a bad name or value raises :class:`~netdef.errors.WeightsFormatError` and leaves any
    existing file untouched.
    """
    where = os.fspath(path)
    if not isinstance(weights, Mapping):
        raise TypeError(f"save_wts: expected a mapping of name -> array, got {type(weights).__name__}")
    for name in weights:
        _check_name(name, where)
    # Values are converted one at a time while writing; a bad one aborts the (atomic) write.
    _write(
        ((name, _to_float32(value, name, where, copy=False)) for name, value in weights.items()), len(weights), where
    )


def export_wts(model_or_state_dict: Any, path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Write a torch ``nn.Module``'s ``state_dict()`` (or a mapping of tensors/arrays) to ``.wts``.

    Returns the arrays written: ``{name: 1-D float32 array}``, the same as ``load_wts(path)``.
    """
    from netdef.weights.torch_state import state_dict_of  # torch is imported only when exporting

    state = state_dict_of(model_or_state_dict, "export_wts")
    where = os.fspath(path)
    arrays = _to_float32_dict(state, where)
    _write(arrays.items(), len(arrays), where)
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


def _to_float32(value: Any, name: str, where: str, copy: bool = True) -> np.ndarray:
    """A flat C-contiguous float32 version of one tensor/array/scalar (a copy unless ``copy=False``)."""
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
            out = arr.astype(np.float32, copy=copy)
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


_ENCODE_VALUES = 1 << 18  # values per hexlify() call (2.3 MB of text, reused from chunk to chunk)


def _write(items: Iterable[tuple[str, np.ndarray]], count: int, where: str) -> None:
    # One thread: hexlify runs at ~3 GB/s and the writes are page-cache copies; a writer thread
    # was measured to gain nothing here, unlike the reader's.
    with atomic_write(where, "wb") as f:
        f.write(b"%d\n" % count)
        for name, arr in track(items, f"writing {where}", total=count):
            n = arr.size
            if not n:
                f.write(f"{name} 0\n".encode())
                continue
            f.write(f"{name} {n} ".encode())
            for i in range(0, n, _ENCODE_VALUES):
                f.write(binascii.hexlify(arr[i : i + _ENCODE_VALUES].astype(">f4"), b" ", 4))
                f.write(b"\n" if i + _ENCODE_VALUES >= n else b" ")
