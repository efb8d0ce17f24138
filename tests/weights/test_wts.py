"""Tests of the .wts reader/writer, torch export and atomic file writing."""

from __future__ import annotations

import os
import struct
import time

import numpy as np
import pytest

from netdef.errors import NetdefError, WeightsFormatError
from netdef.weights.wts import export_wts, load_wts, save_wts


def _gen_wts_value(x: float) -> str:
    """One value exactly as tensorrtx's gen_wts.py writes it."""
    return struct.pack(">f", float(x)).hex()


def _gen_wts_style(weights: dict[str, np.ndarray], *, after_count: str = "  ", newline: str = "\r\n") -> bytes:
    """A file in gen_wts.py's layout, written value by value with struct (independent of netdef)."""
    lines = [str(len(weights))]
    for name, arr in weights.items():
        values = np.asarray(arr).reshape(-1).tolist()
        lines.append(f"{name} {len(values)}{after_count}" + " ".join(_gen_wts_value(v) for v in values))
    return (newline.join(lines) + newline).encode()


def _bits(arr: np.ndarray) -> np.ndarray:
    return np.asarray(arr, dtype=np.float32).view(np.uint32)


def _expected_float32(value) -> np.ndarray:
    """What gen_wts.py stores for an array: float(v) packed as '>f', computed with struct per value."""
    flat = np.asarray(value).reshape(-1).tolist()
    return np.array([struct.unpack(">f", struct.pack(">f", float(v)))[0] for v in flat], dtype=np.float32)


# ------------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((), np.float32),
        ((1,), np.float32),
        ((0,), np.float32),
        ((7,), np.float32),
        ((3, 4), np.float64),
        ((2, 3, 4, 5), np.float32),
        ((4, 1, 3), np.float16),
        ((5,), np.int64),
        ((2, 2), np.int32),
        ((3,), np.uint8),
        ((6,), np.bool_),
    ],
)
def test_round_trip_shapes_and_dtypes(tmp_path, shape, dtype):
    rng = np.random.default_rng([len(shape), *shape, np.dtype(dtype).num])
    if np.dtype(dtype).kind == "f":
        value = (rng.standard_normal(shape) * 100).astype(dtype)
    elif dtype is np.bool_:
        value = rng.integers(0, 2, size=shape).astype(bool)
    else:
        value = rng.integers(0, 200, size=shape).astype(dtype)
    path = tmp_path / "w.wts"
    save_wts({"first": value, "second.weight": np.arange(3, dtype=np.float32)}, path)
    loaded = load_wts(path)
    assert list(loaded) == ["first", "second.weight"]
    np.testing.assert_array_equal(_bits(loaded["first"]), _bits(_expected_float32(value)))
    np.testing.assert_array_equal(loaded["second.weight"], [0.0, 1.0, 2.0])


def test_loaded_arrays_are_flat_owned_writable_float32(tmp_path):
    path = tmp_path / "w.wts"
    path.write_bytes(_gen_wts_style({"a": np.ones((2, 3)), "b": np.zeros(0)}))
    loaded = load_wts(path)
    for arr in loaded.values():
        assert arr.dtype == np.dtype(np.float32)  # native byte order
        assert arr.ndim == 1
        assert arr.flags.c_contiguous and arr.flags.writeable and arr.flags.owndata
    assert loaded["a"].shape == (6,) and loaded["b"].shape == (0,)
    loaded["a"][0] = 5.0  # writable in place


def test_many_entries_keep_file_order(tmp_path):
    names = [f"layer{i}.{kind}" for i in range(50, 0, -1) for kind in ("weight", "bias")]
    weights = {n: np.full(i % 5 + 1, i, dtype=np.float32) for i, n in enumerate(names)}
    path = tmp_path / "w.wts"
    save_wts(weights, path)
    loaded = load_wts(path)
    assert list(loaded) == names
    for i, n in enumerate(names):
        np.testing.assert_array_equal(loaded[n], np.full(i % 5 + 1, i, dtype=np.float32))


SPECIAL_PATTERNS = [
    0x00000000,  # +0
    0x80000000,  # -0
    0x00000001,  # smallest denormal
    0x807FFFFF,  # largest negative denormal
    0x00800000,  # smallest normal
    0x7F7FFFFF,  # largest finite
    0x7F800000,  # +inf
    0xFF800000,  # -inf
    0x7FC00000,  # quiet NaN
    0x7FC00001,  # quiet NaN with payload
    0xFFC12345,  # negative quiet NaN with payload
    0x7F800001,  # signalling NaN
    0x7FBFFFFF,  # signalling NaN, full payload
    0xFFFFFFFF,  # all ones
    0x3F800000,  # 1.0
]


def test_special_float32_bit_patterns_round_trip_exactly(tmp_path):
    bits = np.array(SPECIAL_PATTERNS, dtype=np.uint32)
    path = tmp_path / "special.wts"
    save_wts({"special": bits.view(np.float32)}, path)
    expected_line = f"special {len(bits)} " + " ".join(f"{b:08x}" for b in SPECIAL_PATTERNS)
    assert path.read_text().splitlines()[1] == expected_line
    np.testing.assert_array_equal(load_wts(path)["special"].view(np.uint32), bits)


def test_random_bit_patterns_round_trip_exactly(tmp_path):
    bits = np.random.default_rng(7).integers(0, 2**32, size=100_000, dtype=np.uint32)
    path = tmp_path / "random.wts"
    save_wts({"r": bits.view(np.float32)}, path)
    np.testing.assert_array_equal(load_wts(path)["r"].view(np.uint32), bits)


def test_saved_text_is_exactly_the_canonical_layout(tmp_path):
    weights = {"conv.weight": np.array([[1.0, -2.5], [0.1, 3e-40]], dtype=np.float32), "empty": np.zeros(0)}
    path = tmp_path / "w.wts"
    save_wts(weights, path)
    values = " ".join(_gen_wts_value(v) for v in [1.0, -2.5, np.float32(0.1), np.float32(3e-40)])
    assert path.read_bytes() == f"2\nconv.weight 4 {values}\nempty 0\n".encode()


def test_save_empty_mapping(tmp_path):
    path = tmp_path / "w.wts"
    save_wts({}, path)
    assert path.read_bytes() == b"0\n"
    assert load_wts(path) == {}


# -------------------------------------------------------------------------------------- reading layouts


def test_reads_gen_wts_style_file_with_two_spaces_and_crlf(tmp_path):
    rng = np.random.default_rng(3)
    source = {
        "conv1.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "conv1.bias": rng.standard_normal(4).astype(np.float32),
        "bn1.num_batches_tracked": np.array(12, dtype=np.int64),
        "fc.weight": rng.standard_normal((10, 36)).astype(np.float32),
    }
    data = _gen_wts_style(source, after_count="  ", newline="\r\n")
    assert b"conv1.bias 4  " in data and data.endswith(b"\r\n")  # the layout under test
    path = tmp_path / "gen.wts"
    path.write_bytes(data)
    loaded = load_wts(path)
    assert list(loaded) == list(source)
    for name, value in source.items():
        np.testing.assert_array_equal(_bits(loaded[name]), _bits(_expected_float32(value)), err_msg=name)
    assert loaded["bn1.num_batches_tracked"].tolist() == [12.0]


def test_reads_any_whitespace_layout(tmp_path):
    data = (
        b"\n3 \r\n"  # leading blank line, trailing spaces on the header
        b"a\t2\t3f800000\t\tC0200000   \r\n"  # tabs, upper-case hex, trailing spaces
        b"\n"  # blank line between entries
        b"  b 1    00000000\x0b\x0c\r\n"  # leading spaces, vertical tab / form feed
        b"c 0"  # empty entry, no trailing newline
    )
    path = tmp_path / "w.wts"
    path.write_bytes(data)
    loaded = load_wts(path)
    assert list(loaded) == ["a", "b", "c"]
    assert loaded["a"].tolist() == [1.0, -2.5]
    assert _bits(loaded["b"]).tolist() == [0]
    assert loaded["c"].size == 0


def test_reads_short_hex_tokens_as_the_cxx_reader_does(tmp_path):
    # tensorrtx's C++ reader does `input >> std::hex >> uint32`: "0" and "3f8" are valid values.
    tokens = ["0", "3f8", "80000000", "1", "7f8", "FFFFFFF"]
    path = tmp_path / "w.wts"
    path.write_bytes(f"1\nodd {len(tokens)} {'  '.join(tokens)}\n".encode())
    assert _bits(load_wts(path)["odd"]).tolist() == [int(t, 16) for t in tokens]


def test_irregular_whitespace_large_entry_matches_values(tmp_path):
    values = np.random.default_rng(11).standard_normal(50_000).astype(np.float32)
    hexes = [_gen_wts_value(v) for v in values.tolist()]
    seps = ["  ", "\t", " \t ", " "]
    body = "".join(h + seps[i % len(seps)] for i, h in enumerate(hexes))
    path = tmp_path / "w.wts"
    path.write_text(f"1\nbig {len(hexes)}\t{body}\n")
    np.testing.assert_array_equal(_bits(load_wts(path)["big"]), _bits(values))


# ---------------------------------------------------------------------------------------------- errors

ONE = "3f800000"

MALFORMED = [
    # (id, file bytes, line number in the message, entry name in the message or None, a phrase)
    ("empty-file", b"", 1, None, "empty"),
    ("whitespace-only", b" \n\r\n\t\n", 1, None, "header"),
    ("header-not-int", b"abc\nx 1 3f800000\n", 1, None, "header"),
    ("header-negative", b"-1\n", 1, None, "non-negative integer"),
    ("header-float", b"1.0\na 1 3f800000\n", 1, None, "non-negative integer"),
    ("header-huge", b"9" * 5000 + b"\n", 1, None, "non-negative integer"),
    ("header-two-fields", b"1 2\na 1 3f800000\n", 1, None, "header"),
    ("header-missing", f"a 1 {ONE}\n".encode(), 1, None, "header"),
    ("fewer-entries", f"3\na 1 {ONE}\nb 1 {ONE}\n".encode(), 4, None, "declares 3 entries"),
    ("fewer-no-newline", f"2\na 1 {ONE}".encode(), 3, None, "declares 2 entries"),
    ("more-entries", f"1\na 1 {ONE}\nextra 1 {ONE}\n".encode(), 3, "extra", "declares 1 entries"),
    ("no-count", f"2\na 1 {ONE}\nlonely\n".encode(), 3, "lonely", "count"),
    ("count-not-int", f"1\nw x {ONE}\n".encode(), 2, "w", "non-negative integer"),
    ("count-negative", f"1\nw -1 {ONE}\n".encode(), 2, "w", "non-negative integer"),
    ("count-float", f"1\nw 1.0 {ONE}\n".encode(), 2, "w", "non-negative integer"),
    ("count-plus", f"1\nw +1 {ONE}\n".encode(), 2, "w", "non-negative integer"),
    ("count-hex", f"1\nw 0x1 {ONE}\n".encode(), 2, "w", "non-negative integer"),
    ("too-few-values", f"2\nok 1 {ONE}\nw 3 {ONE} {ONE}\n".encode(), 3, "w", "declares 3 values"),
    ("too-many-values", f"1\nw 1 {ONE} {ONE}\n".encode(), 2, "w", "declares 1 values"),
    ("zero-but-values", f"1\nw 0 {ONE}\n".encode(), 2, "w", "declares 0 values"),
    ("values-but-none", b"1\nw 2\n", 2, "w", "declares 2 values"),
    ("too-many-odd-spacing", f"1\nw 1  {ONE}\t\t{ONE}  \n".encode(), 2, "w", "holds 2"),
    ("non-hex", f"1\nw 2 {ONE} zz800000\n".encode(), 2, "w", "hexadecimal"),
    ("non-hex-short", f"1\nw 2 {ONE} g\n".encode(), 2, "w", "value 2"),
    ("hex-prefix", b"1\nw 1 0x3f8000\n", 2, "w", "hexadecimal"),
    ("too-long-token", f"1\nw 2 {ONE} 3f8000000\n".encode(), 2, "w", "at most 8"),
    ("misaligned-tokens", b"1\nw 2 000000 0000000000\n", 2, "w", "at most 8"),
    ("non-ascii-value", "1\nw 1 3f80000é\n".encode(), 2, "w", "hexadecimal"),
    ("duplicate", f"3\na 1 {ONE}\nb 1 {ONE}\na 1 {ONE}\n".encode(), 4, "a", "duplicate"),
    ("non-utf8-name", b"1\n\xff\xfeab 1 3f800000\n", 2, None, "UTF-8"),
    ("control-char-name", b"1\na\x00b 1 3f800000\n", 2, "a\x00b", "non-printable"),
    ("binary-garbage", bytes(range(256)) * 4, 1, None, "header"),
    ("binary-after-header", b"1\n" + bytes(range(128, 256)), 2, None, "UTF-8"),
]


@pytest.mark.parametrize(
    ("data", "lineno", "name", "phrase"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_raise_with_location(tmp_path, data, lineno, name, phrase):
    path = tmp_path / "bad.wts"
    path.write_bytes(data)
    with pytest.raises(WeightsFormatError) as info:
        load_wts(path)
    message = str(info.value)
    assert f"{path}:{lineno}:" in message
    if name is not None:
        assert repr(name) in message
    assert phrase in message
    assert isinstance(info.value, NetdefError) and isinstance(info.value, ValueError)


def test_non_utf8_name_message_shows_the_bytes(tmp_path):
    path = tmp_path / "bad.wts"
    path.write_bytes(b"1\n\xff\xfeab 1 3f800000\n")
    with pytest.raises(WeightsFormatError, match=r"\\xff\\xfeab"):
        load_wts(path)


def test_error_in_last_entry_returns_nothing(tmp_path):
    # Everything before the bad line is fine; the reader must still raise rather than return a prefix.
    good = " ".join([ONE] * 100)
    path = tmp_path / "bad.wts"
    path.write_bytes(f"3\na 100 {good}\nb 100 {good}\nc 2 {ONE}\n".encode())
    with pytest.raises(WeightsFormatError, match="'c'"):
        load_wts(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wts"
    with pytest.raises(WeightsFormatError, match="no such") as info:
        load_wts(path)
    assert str(path) in str(info.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(WeightsFormatError) as info:
        load_wts(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("count", ["1000000000000", "9" * 30, "9" * 5000])
def test_huge_declared_count_fails_fast_without_allocating(tmp_path, count):
    path = tmp_path / "huge.wts"
    path.write_bytes(f"1\nfc.weight {count} {ONE} {ONE}\n".encode())
    start = time.perf_counter()
    with pytest.raises(WeightsFormatError) as info:
        load_wts(path)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert f"{path}:2:" in message and "'fc.weight'" in message and "holds 2" in message


# --------------------------------------------------------------------------------------- writer errors


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "a\nb", "a\rb", "a\u00a0b", "a\x00b", " lead"])
def test_save_rejects_bad_names_and_keeps_previous_file(tmp_path, name):
    path = tmp_path / "w.wts"
    path.write_bytes(b"previous")
    with pytest.raises(WeightsFormatError) as info:
        save_wts({"fine": np.ones(2), name: np.ones(1)}, path)
    assert repr(name) in str(info.value)
    assert path.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["w.wts"]


def test_save_rejects_non_string_name(tmp_path):
    with pytest.raises(WeightsFormatError, match="expected a str"):
        save_wts({1: np.ones(1)}, tmp_path / "w.wts")
    assert not (tmp_path / "w.wts").exists()


def test_save_accepts_non_ascii_printable_names(tmp_path):
    path = tmp_path / "w.wts"
    save_wts({"poids.é.β": np.ones(1)}, path)
    assert list(load_wts(path)) == ["poids.é.β"]


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        (np.array([1.0, 1e300]), "too large for float32"),
        (np.array([1 + 2j]), "complex"),
        (np.array(["x"]), "<U1"),
        (np.array([object()], dtype=object), "object"),
    ],
)
def test_save_rejects_unstorable_values(tmp_path, value, phrase):
    with pytest.raises(WeightsFormatError, match=phrase) as info:
        save_wts({"bad.entry": value}, tmp_path / "w.wts")
    assert "'bad.entry'" in str(info.value)
    assert not (tmp_path / "w.wts").exists()


def test_save_casts_float64_like_gen_wts(tmp_path):
    value = np.array([0.1, 1 / 3, 3.4028235e38, -1e-46, float("inf")], dtype=np.float64)
    path = tmp_path / "w.wts"
    save_wts({"x": value}, path)
    np.testing.assert_array_equal(_bits(load_wts(path)["x"]), _bits(_expected_float32(value)))


def test_save_converts_large_int64_like_float_then_float32(tmp_path):
    # gen_wts.py does struct.pack('>f', float(v)): int -> double -> float32 (two roundings).
    value = np.array([2**53 + 1, 2**62 + 2**38 + 1, -(2**40) - 1, 16777217], dtype=np.int64)
    path = tmp_path / "w.wts"
    save_wts({"x": value}, path)
    np.testing.assert_array_equal(_bits(load_wts(path)["x"]), _bits(_expected_float32(value)))


def test_save_accepts_python_scalars_and_lists(tmp_path):
    path = tmp_path / "w.wts"
    save_wts({"s": 2.5, "l": [[1, 2], [3, 4]], "b": True}, path)
    loaded = load_wts(path)
    assert loaded["s"].tolist() == [2.5]
    assert loaded["l"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert loaded["b"].tolist() == [1.0]


def test_save_rejects_non_mapping(tmp_path):
    with pytest.raises(TypeError):
        save_wts([("a", np.ones(1))], tmp_path / "w.wts")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ torch export


def test_export_wts_from_module_with_batchnorm(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, bias=False),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 5),
    )
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 6, 6))  # updates running stats and num_batches_tracked
        model(torch.randn(2, 3, 6, 6))
    state = model.state_dict()
    path = tmp_path / "model.wts"

    written = export_wts(model, path)
    loaded = load_wts(path)

    assert list(written) == list(state) == list(loaded)
    assert "1.num_batches_tracked" in loaded
    assert loaded["1.num_batches_tracked"].tolist() == [2.0]
    assert state["1.num_batches_tracked"].dtype == torch.int64 and state["1.num_batches_tracked"].dim() == 0
    for name, tensor in state.items():
        expected = tensor.detach().to(torch.float64).reshape(-1).tolist()
        np.testing.assert_array_equal(_bits(loaded[name]), _bits(_expected_float32(expected)), err_msg=name)
        np.testing.assert_array_equal(_bits(written[name]), _bits(loaded[name]), err_msg=name)
    assert path.read_bytes().startswith(b"%d\n0.weight 108 " % len(state))


def test_export_wts_from_mapping_of_tensors_and_arrays(tmp_path):
    torch = pytest.importorskip("torch")
    values = [1.0, -0.5, 3.140625, 1e-3]
    mapping = {
        "grad": torch.tensor(values, requires_grad=True) * 2,  # non-leaf tensor that requires grad
        "half": torch.tensor(values, dtype=torch.float16),
        "bf16": torch.tensor(values, dtype=torch.bfloat16),
        "f64": torch.tensor(values, dtype=torch.float64),
        "param": torch.nn.Parameter(torch.tensor(values)),
        "numpy": np.array(values, dtype=np.float32),
        "neg_view": torch.tensor(values).neg().conj(),
    }
    path = tmp_path / "m.wts"
    written = export_wts(mapping, path)
    loaded = load_wts(path)
    assert list(loaded) == list(mapping)
    assert loaded["grad"].tolist() == _expected_float32([2 * v for v in values]).tolist()
    # fp16/bf16 first round the values to their own precision, then widen exactly.
    assert loaded["half"].tolist() == [float(np.float16(v)) for v in values]
    bf16 = [struct.unpack(">f", struct.pack(">f", v)[:2] + b"\0\0")[0] for v in [1.0, -0.5, 3.140625]]
    assert loaded["bf16"].tolist()[:3] == bf16  # these three are exact in bfloat16
    assert abs(loaded["bf16"].tolist()[3] - 1e-3) < 1e-5
    for name in ("f64", "param", "numpy"):
        assert loaded[name].tolist() == _expected_float32(values).tolist()
    assert loaded["neg_view"].tolist() == _expected_float32([-v for v in values]).tolist()
    for name in mapping:
        np.testing.assert_array_equal(_bits(written[name]), _bits(loaded[name]))


def test_export_wts_result_does_not_alias_the_model(tmp_path):
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(2, 2)
    written = export_wts(lin, tmp_path / "l.wts")
    before = lin.weight.detach().clone()
    written["weight"][:] = 123.0
    assert torch.equal(lin.weight.detach(), before)


def test_export_wts_rejects_other_objects(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"nn\.Module"):
        export_wts([1, 2, 3], tmp_path / "x.wts")


def test_save_wts_failure_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "w.wts"
    save_wts({"a": np.ones(3)}, path)
    before = path.read_bytes()

    import binascii

    import netdef.weights.wts as wts_module

    calls = []

    class DiskFullAfterOneChunk:
        @staticmethod
        def hexlify(*args):
            calls.append(1)
            if len(calls) > 1:
                raise OSError("disk full")
            return binascii.hexlify(*args)

    monkeypatch.setattr(wts_module, "binascii", DiskFullAfterOneChunk)
    with pytest.raises(OSError, match="disk full"):
        save_wts({"a": np.ones(3), "b": np.ones(2)}, path)
    assert len(calls) == 2  # the first entry was written into the temporary file
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.wts"]


def test_save_wts_bad_value_after_good_ones_keeps_previous_file(tmp_path):
    path = tmp_path / "w.wts"
    save_wts({"a": np.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(WeightsFormatError, match=r"'b'.*too large"):
        save_wts({"a": np.arange(1000.0), "b": np.array([1e300])}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.wts"]


# --------------------------------------------------------------------- chunked decoding, threaded reading


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Shrink every chunk, window and read block so that small files cross all their boundaries."""
    import netdef.weights.wts as wts_module

    monkeypatch.setattr(wts_module, "_DECODE_VALUES", 3)
    monkeypatch.setattr(wts_module, "_ENCODE_VALUES", 4)
    monkeypatch.setattr(wts_module, "_WINDOW_BYTES", 16)
    monkeypatch.setattr(wts_module, "_READ_BYTES", 5)
    return wts_module


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 11, 12, 100])
def test_chunk_boundaries_round_trip(tmp_path, tiny_chunks, size):
    bits = np.random.default_rng(size).integers(0, 2**32, size=size, dtype=np.uint32)
    path = tmp_path / "w.wts"
    save_wts({"x": bits.view(np.float32), "tail": np.ones(size + 1, np.float32)}, path)
    expected = f"x {size} " + " ".join(f"{b:08x}" for b in bits.tolist())
    assert path.read_text().splitlines()[1] == expected  # chunked hexlify wrote the canonical line
    loaded = load_wts(path)
    np.testing.assert_array_equal(loaded["x"].view(np.uint32), bits)
    np.testing.assert_array_equal(loaded["tail"], np.ones(size + 1))


def test_chunked_gen_wts_layout_and_irregular_whitespace(tmp_path, tiny_chunks):
    rng = np.random.default_rng(5)
    source = {"a": rng.standard_normal(20).astype(np.float32), "b": rng.standard_normal(7).astype(np.float32)}
    path = tmp_path / "gen.wts"
    path.write_bytes(_gen_wts_style(source))
    for name, value in load_wts(path).items():
        np.testing.assert_array_equal(_bits(value), _bits(source[name]))

    tokens = [_gen_wts_value(v) for v in source["a"].tolist()]
    tokens[4] = tokens[4].lstrip("0") or "0"  # a short token, as the C++ reader accepts
    body = "".join(t + ("\t \x0b" if i % 3 else " ") for i, t in enumerate(tokens))
    path.write_bytes(f"1\na {len(tokens)}   {body}  \r\n".encode())
    np.testing.assert_array_equal(_bits(load_wts(path)["a"]), _bits(source["a"]))


@pytest.mark.parametrize("where", [0, 2, 3, 10, 19])
def test_chunked_errors_name_the_value(tmp_path, tiny_chunks, where):
    tokens = [ONE] * 20
    tokens[where] = "3f80zz00"
    path = tmp_path / "bad.wts"
    path.write_bytes(f"2\nok 1 {ONE}\nw 20 {' '.join(tokens)}\n".encode())
    with pytest.raises(WeightsFormatError, match=rf"bad\.wts:3: entry 'w': value {where + 1} is b'3f80zz00'"):
        load_wts(path)


@pytest.mark.parametrize(
    ("data", "lineno", "name", "phrase"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_raise_with_location_when_streamed(tmp_path, tiny_chunks, data, lineno, name, phrase):
    path = tmp_path / "bad.wts"
    path.write_bytes(data)
    with pytest.raises(WeightsFormatError) as info:
        load_wts(path)
    assert f"{path}:{lineno}:" in str(info.value) and phrase in str(info.value)
    if name is not None:
        assert repr(name) in str(info.value)


def test_long_name_and_header_tokens_are_read_across_blocks(tmp_path, tiny_chunks):
    name = "layer." * 2000 + "weight"  # far longer than the tokenizer's first look (256 bytes)
    path = tmp_path / "w.wts"
    path.write_bytes(f"{' ' * 5000}1{' ' * 5000}\n{name}{' ' * 9000}2 {ONE} {ONE}{' ' * 5000}\n".encode())
    assert load_wts(path)[name].tolist() == [1.0, 1.0]


class _FakeFile:
    """A file that hands out at most ``step`` bytes per read, may end early (it shrank), or fail."""

    def __init__(self, data: bytes, step: int = 7, error: BaseException | None = None) -> None:
        self.data, self.pos, self.step, self.error = data, 0, step, error

    def readinto(self, view) -> int:
        if self.error is not None and self.pos:
            raise self.error
        n = min(len(view), len(self.data) - self.pos, self.step)
        view[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def seek(self, pos: int) -> None:
        self.pos = pos


def test_partial_reads_and_a_late_failing_canonical_line(tiny_chunks):
    rng = np.random.default_rng(9)
    source = {f"layer{i}.weight": rng.standard_normal(i + 3).astype(np.float32) for i in range(6)}
    tokens = [_gen_wts_value(v) for v in source["layer5.weight"].tolist()]
    tokens[6] = tokens[6].lstrip("0")[:-1] or "0"  # 7 digits or fewer: this line is not canonical ...
    source["layer5.weight"][6] = np.uint32(int(tokens[6], 16)).view(np.float32)
    line5 = f"layer5.weight {len(tokens)} " + " ".join(tokens) + " " * (8 - len(tokens[6]))  # ... but as long
    data = _gen_wts_style({k: v for k, v in source.items() if k != "layer5.weight"}, after_count=" ", newline="\n")
    assert data.startswith(b"5\n")
    data = b"6\n" + line5.encode() + b"\n" + data[2:]
    data = data.replace(b"layer2.weight 5 ", b"layer2.weight\t 5 \t")  # and one more layout
    for step in (1, 3, 7, 1 << 20):
        stream = tiny_chunks._Source(_FakeFile(data, step), len(data), "w.wts")
        loaded = tiny_chunks._parse(stream, "w.wts")
        assert sorted(loaded) == sorted(source)
        for name, value in source.items():
            np.testing.assert_array_equal(_bits(loaded[name]), _bits(value), err_msg=name)


def test_lines_stream_through_a_window_that_never_grows(tmp_path, monkeypatch):
    import netdef.weights.wts as wts_module

    monkeypatch.setattr(wts_module, "_READ_BYTES", 64)
    monkeypatch.setattr(wts_module, "_DECODE_VALUES", 5)
    bits = np.random.default_rng(2).integers(0, 2**32, size=10_000, dtype=np.uint32)
    path = tmp_path / "w.wts"
    save_wts({"a": bits.view(np.float32), "b": np.ones(3)}, path)
    data = path.read_bytes()
    stream = wts_module._Source(_FakeFile(data, 1 << 20), len(data), "w.wts")
    loaded = wts_module._parse(stream, "w.wts")
    np.testing.assert_array_equal(loaded["a"].view(np.uint32), bits)
    assert len(stream.buf) <= 512  # a 90 kB line went through a window of the 256-byte look-ahead

    first = data.index(b"a 10000 ") + 8
    irregular = data[: first + 8] + b"\t\t" + data[first + 9 :]  # one other separator: the general tokenizer
    stream = wts_module._Source(_FakeFile(irregular, 1 << 20), len(irregular), "w.wts")
    np.testing.assert_array_equal(wts_module._parse(stream, "w.wts")["a"].view(np.uint32), bits)
    assert len(stream.buf) <= 512  # which streams too


def test_file_that_shrinks_while_read_is_an_error(tiny_chunks):
    data = f"2\na 3 {ONE} {ONE} {ONE}\nb 1 {ONE}\n".encode()
    stream = tiny_chunks._Source(_FakeFile(data[:20]), len(data), "w.wts")
    with pytest.raises(WeightsFormatError, match="became shorter"):
        tiny_chunks._parse(stream, "w.wts")


def test_read_error_is_a_weights_error(tmp_path, monkeypatch):
    import netdef.weights.wts as wts_module

    path = tmp_path / "w.wts"
    save_wts({"a": np.ones(3)}, path)

    class FailingSource(wts_module._Source):
        def __init__(self, f, size, where):
            super().__init__(_FakeFile(path.read_bytes(), 4, OSError(5, "Input/output error")), size, where)

    monkeypatch.setattr(wts_module, "_Source", FailingSource)
    with pytest.raises(WeightsFormatError, match=r"w\.wts: cannot read weights file: Input/output error"):
        load_wts(path)


def test_load_wts_peak_memory_is_the_payload_plus_a_window(tmp_path):
    import tracemalloc

    bits = np.random.default_rng(4).integers(0, 2**32, size=2_000_000, dtype=np.uint32)
    path = tmp_path / "w.wts"
    save_wts({f"t{i}": bits[i::4].view(np.float32) for i in range(4)}, path)
    file_size, payload = path.stat().st_size, bits.nbytes
    tracemalloc.start()
    try:
        loaded = load_wts(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(a.nbytes for a in loaded.values()) == payload
    assert peak <= file_size + 1.5 * payload  # the bound
    assert peak <= payload + (12 << 20)  # in fact: the result, a 4 MB window and a chunk's buffers


def test_huge_declared_count_allocates_nothing(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.wts"
    path.write_bytes(f"1\nfc.weight {10**12} {ONE} {ONE}\n".encode())
    tracemalloc.start()
    try:
        with pytest.raises(WeightsFormatError, match="declares 1000000000000 values, but the line holds 2"):
            load_wts(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


JUNK_MB = 24
JUNK = {
    # (the file's bytes after the header line, a phrase of the error)
    "nul-values": (b"w 100 " + bytes(JUNK_MB << 20), "value 1 is b'\\x00"),
    "nul-everything": (bytes(JUNK_MB << 20), "non-printable"),
    "one-long-hex-token": (b"w 3 " + b"a" * (JUNK_MB << 20), "more than 48 digits"),
    "random-bytes": (b"w 100 " + np.random.default_rng(0).bytes(JUNK_MB << 20), "entry 'w': value 1"),
    "whitespace": (b"w 3" + b" \t" * (JUNK_MB << 19), "declares 3 values, but the line holds 0"),
    "short-tokens-wrong-count": (b"w 5 " + b"0 " * (4 << 20), "declares 5 values, but the line holds 4194304"),
    "long-digit-count": (b"w " + b"7" * (JUNK_MB << 20), "expected the value count"),
}


@pytest.mark.parametrize("case", list(JUNK))
def test_junk_costs_a_bounded_window_not_a_multiple_of_the_file(tmp_path, case):
    """Tens of MB of junk: the reader fails on the first bad byte or token it streams past, in a few MB."""
    import tracemalloc

    body, phrase = JUNK[case]
    path = tmp_path / "junk.wts"
    path.write_bytes(b"1\n" + body)
    tracemalloc.start()
    try:
        with pytest.raises(WeightsFormatError) as info:
            load_wts(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(f"{path}:2: ") and phrase in str(info.value)
    assert len(str(info.value)) < 400
    assert peak < 12 << 20, f"{peak / 2**20:.1f} MiB for a {len(body) / 2**20:.0f} MiB file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("layout", ["netdef", "gen_wts"])
def test_load_wts_reads_a_fifo_as_a_stream(tmp_path, layout):
    """A .wts from a FIFO (``<(zcat w.wts.gz)``) was "empty": its st_size is 0. Several MB, so that the reading
    window slides, written in pieces by a thread; the bits are the file's."""
    import threading

    rng = np.random.default_rng(0)
    weights = {"big": rng.standard_normal(600_000).astype(np.float32), "b": np.arange(3, dtype=np.float32)}
    weights["nan"] = np.array([np.nan, -0.0, np.inf], np.float32)
    source = tmp_path / "src.wts"
    if layout == "netdef":
        save_wts(weights, source)
    else:
        source.write_bytes(_gen_wts_style(weights))
    data = source.read_bytes()
    fifo = tmp_path / "w.wts"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as f:
            for i in range(0, len(data), 65536):
                f.write(data[i : i + 65536])

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    got = load_wts(fifo)
    writer.join(10)
    assert list(got) == list(weights)
    for name, value in weights.items():
        np.testing.assert_array_equal(_bits(got[name]), _bits(value), err_msg=name)
