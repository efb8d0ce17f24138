"""Property and fuzz tests of the .wts reader (hypothesis), against a tiny reference reader.

The reference below is the format's definition written the obvious way (split lines, split fields,
one ``int(token, 16)`` per value, the tensorrtx C++ reader's acceptance of 1-8 hex digits). For any
bytes at all, netdef's reader must agree with it: the same arrays, bit for bit, or a
WeightsFormatError naming the same line (and entry, and value) as the reference's first complaint.
Nothing else may happen: no other exception, no partial result, no hang (hypothesis' deadline).
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import netdef.weights.wts as wts_module  # noqa: E402
from netdef.errors import WeightsFormatError  # noqa: E402
from netdef.weights.wts import load_wts  # noqa: E402

HEX = set(b"0123456789abcdefABCDEF")


class RefError(Exception):
    def __init__(self, lineno: int, name: str | None = None, value: int | None = None) -> None:
        super().__init__(lineno, name, value)
        self.lineno, self.name, self.value = lineno, name, value


def reference_read(data: bytes) -> dict[str, list[int]]:
    """The .wts format by definition: {name: [bit pattern, ...]} or RefError(line, entry, value)."""
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()  # the newline ends the last line; no line follows it
    numbered = list(enumerate(lines, start=1))
    header = next(((n, line.split()) for n, line in numbered if line.split()), None)
    if header is None:
        raise RefError(1)
    header_line, fields = header
    if len(fields) != 1 or not fields[0].isdigit() or len(fields[0]) > 19:
        raise RefError(header_line)
    declared = int(fields[0])
    out: dict[str, list[int]] = {}
    for n, line in numbered[header_line:]:
        fields = line.split()
        if not fields:
            continue
        try:
            name = fields[0].decode("utf-8")
        except UnicodeDecodeError:
            raise RefError(n) from None
        if not name.isprintable():
            raise RefError(n, name)
        if len(out) == declared or name in out or len(fields) < 2 or not fields[1].isdigit():
            raise RefError(n, name)
        tokens = fields[2:]
        if len(fields[1]) > 19 or int(fields[1]) != len(tokens):
            raise RefError(n, name)
        values = []
        for k, token in enumerate(tokens, start=1):
            if len(token) > 8 or not set(token) <= HEX:
                raise RefError(n, name, k)
            values.append(int(token, 16))
        out[name] = values
    if len(out) != declared:
        raise RefError(len(lines) + 1)
    return out


@contextlib.contextmanager
def tiny_chunks():
    """Every chunk, window and read block tiny, so that every boundary is crossed."""
    saved = {k: getattr(wts_module, k) for k in ("_DECODE_VALUES", "_WINDOW_BYTES", "_READ_BYTES")}
    wts_module._DECODE_VALUES, wts_module._WINDOW_BYTES, wts_module._READ_BYTES = 2, 8, 3
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(wts_module, k, v)


def check_against_reference(path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        expected = reference_read(data)
    except RefError as ref:
        for mode in (contextlib.nullcontext, tiny_chunks):
            with mode(), pytest.raises(WeightsFormatError) as info:
                load_wts(path)
            message = str(info.value)
            assert message.startswith(f"{path}:{ref.lineno}:"), (message, ref.args)
            if ref.name is not None:
                assert repr(ref.name) in message, (message, ref.args)
            if ref.value is not None:
                assert f"value {ref.value} " in message, (message, ref.args)
        return
    for mode in (contextlib.nullcontext, tiny_chunks):
        with mode():
            loaded = load_wts(path)
        assert list(loaded) == list(expected)
        for name, bits in expected.items():
            assert loaded[name].dtype == np.float32
            assert loaded[name].view(np.uint32).tolist() == bits, name


# ------------------------------------------------------------------------------------------ strategies

names = st.text(st.sampled_from("abcxyz019._-é"), min_size=1, max_size=8)
bit_patterns = st.lists(st.integers(0, 2**32 - 1), max_size=12)
separators = st.sampled_from([" ", "  ", "\t", " \t", "\x0b", "\x0c", "\r"])


@st.composite
def wts_files(draw) -> bytes:
    """A well-formed file in any of the layouts writers produce (CRLF, gen_wts' two spaces, tabs,
    blank lines, short or upper-case hex tokens)."""
    entries = draw(st.dictionaries(names, bit_patterns, max_size=5))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [str(len(entries))]
    for name, bits in entries.items():
        sep = draw(separators)
        tokens = [f"{b:08x}" for b in bits]
        style = draw(st.sampled_from(["canonical", "upper", "short"]))
        if style == "upper":
            tokens = [t.upper() for t in tokens]
        elif style == "short":
            tokens = [t.lstrip("0") or "0" for t in tokens]
        lines.append(f"{name} {len(bits)}{draw(st.sampled_from([' ', '  ']))}" + sep.join(tokens))
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append("")  # a blank line
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return text.encode()


@st.composite
def mutated_files(draw) -> bytes:
    """A well-formed file with one of the damages a .wts meets in the wild."""
    data = draw(wts_files())
    lines = data.split(b"\n")
    kind = draw(
        st.sampled_from(
            [
                "truncate",
                "cut_line",
                "non_hex",
                "whitespace",
                "swap",
                "count",
                "huge_count",
                "duplicate",
                "no_header",
                "garbage",
                "splice",
            ]
        )
    )
    if kind == "truncate":  # the file ends anywhere
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "cut_line" and len(lines) > 1:  # a line loses its tail (a token boundary or mid-token)
        i = draw(st.integers(1, len(lines) - 1))
        lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    elif kind == "non_hex":  # one byte of the file becomes something that is neither hex nor whitespace
        if data:
            i = draw(st.integers(0, len(data) - 1))
            bad = draw(st.sampled_from([b"g", b"x", b"-", b".", b"\x00", b"\xff", b"\x7f", b"Z"]))
            return data[:i] + bad + data[i + 1 :]
    elif kind == "whitespace" and data:  # a byte (often a separator) becomes other whitespace
        spaces = [i for i, b in enumerate(data) if b == 32]
        i = draw(st.sampled_from(spaces)) if spaces and draw(st.booleans()) else draw(st.integers(0, len(data) - 1))
        return data[:i] + draw(st.sampled_from([b" ", b"\n", b"\t", b"\r"])) + data[i + 1 :]
    elif kind == "swap" and len(data) > 2:  # a separator (or any byte) trades places with a neighbour
        spaces = [i for i, b in enumerate(data) if b == 32]
        i = draw(st.sampled_from(spaces)) if spaces and draw(st.booleans()) else draw(st.integers(0, len(data) - 1))
        j = min(max(i + draw(st.sampled_from([-3, -2, -1, 1, 2, 3])), 0), len(data) - 1)
        b = bytearray(data)
        b[i], b[j] = b[j], b[i]
        return bytes(b)
    elif kind == "count" and len(lines) > 1:  # a declared count off by a few
        i = draw(st.integers(1, len(lines) - 1))
        fields = lines[i].split(b" ", 2)
        if len(fields) >= 2 and fields[1].isdigit():
            fields[1] = str(max(0, int(fields[1]) + draw(st.sampled_from([-2, -1, 1, 2, 9])))).encode()
            lines[i] = b" ".join(fields)
    elif kind == "huge_count" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        fields = lines[i].split(b" ", 2)
        if len(fields) >= 2:
            fields[1] = draw(st.sampled_from([b"1000000000000", b"18446744073709551616", b"9" * 40]))
            lines[i] = b" ".join(fields)
    elif kind == "duplicate" and len(lines) > 2:  # a line repeated (same name twice)
        i = draw(st.integers(1, len(lines) - 1))
        lines.insert(draw(st.integers(1, len(lines))), lines[i])
    elif kind == "no_header":
        lines = lines[1:]
    elif kind == "garbage":  # binary garbage inserted anywhere
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.binary(min_size=1, max_size=40)) + data[i:]
    elif kind == "splice":  # bytes deleted from the middle (a broken copy)
        i = draw(st.integers(0, len(data)))
        return data[:i] + data[i + draw(st.integers(1, 20)) :]
    return b"\n".join(lines)


FUZZ = settings(
    max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(data=wts_files())
def test_well_formed_files_of_any_layout_read_exactly(tmp_path, data):
    check_against_reference(tmp_path / "w.wts", data)


@FUZZ
@given(data=mutated_files())
@example(data=b"2\r\na 1 3f800000\r\nb 2 3f800000\r\n")  # CRLF, a count one too high
@example(data=b"1\na 1000000000000 3f800000\n")  # a count of 10**12: no allocation, no hang
@example(data=b"2\na 1 3f800000\na 1 3f800000\n")  # a duplicate name
@example(data=b"a 1 3f800000\n")  # no header
@example(data=b"1\nw 2 3f800000 3f80")  # a truncated last line: a short token, but one value missing
@example(data=b"1\nw 2 3f800000 3f80000\xff\n")  # a non-hex byte
@example(data=b"1\nw 2 3f8000 0040000000\n")  # a separator moved by two: 6 and 10 digits
@example(data=b"2\nw 2 3f800000\n40000000\n")  # a separator became a newline
@example(data=b"1\nw 2 3f  0000 40000000\n")  # whitespace inside a token, at the canonical length
def test_damaged_files_are_refused_where_the_reference_refuses_them(tmp_path, data):
    check_against_reference(tmp_path / "w.wts", data)


@FUZZ
@given(data=st.binary(max_size=300))
@example(data=bytes(range(256)))
@example(data=b"0\n")
def test_arbitrary_bytes_never_crash(tmp_path, data):
    check_against_reference(tmp_path / "w.wts", data)


@settings(max_examples=60, deadline=2000)
@given(bits=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_every_float32_bit_pattern_round_trips(tmp_path_factory, bits):
    path = tmp_path_factory.mktemp("rt") / "w.wts"
    values = np.array(bits, dtype=np.uint32).view(np.float32)
    wts_module.save_wts({"v": values}, path)
    line = path.read_bytes().split(b"\n")[1]
    assert line == b"v %d " % len(bits) + b" ".join(struct.pack(">I", b).hex().encode() for b in bits)
    assert load_wts(path)["v"].view(np.uint32).tolist() == bits
