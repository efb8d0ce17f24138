"""Weights files of every kind netdef binds: .wts, safetensors, .npz and torch checkpoints.

Every reader returns a :class:`Weights` (``name -> numpy array``); ``Module.load_weights(path)``
binds any of them the same strict way. Only .wts is shape-less: its arrays are flat and take the
module's shapes, while the other formats' shapes are checked against the module exactly.

Each format is validated the way its reference library reads it; a malformed file is one WeightsFormatError
naming the file, the entry and what is wrong. A FIFO (``<(...)``) or device is read as a stream
(``netdef.weights.streams``); without a known suffix its format is told by its first bytes.

Each reader registers itself with ``@weight_format`` (``netdef.weights.registry``: suffixes, and how a stream of
it is recognized and read); ``load_weights_file`` dispatches through that table, .wts (``wts.py``) included.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from netdef._io import atomic_write
from netdef.checks import readable_file
from netdef.errors import WeightsFormatError
from netdef.weights.registry import StreamHead, Weights, format_for, read_stream, suffixes, weight_format
from netdef.weights.rename import Rename, rename_weights
from netdef.weights.streams import is_regular, open_weights, read_exactly, spool

__all__ = [
    "TORCH_SUFFIXES",
    "Weights",
    "load_npz",
    "load_safetensors",
    "load_safetensors_index",
    "load_torch_checkpoint",
    "load_weights_file",
    "read_torch_state_dict",
    "save_safetensors",
]

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
#: Keys under which training checkpoints keep their state dict; unwrapped when they hold a mapping.
WRAPPER_KEYS = ("state_dict", "model")


def load_weights_file(path: str | os.PathLike, rename: Rename | Callable[[str], str] | None = None) -> Weights:
    """Read a weights file by its suffix (.wts, .safetensors, .npz, or a torch .pt/.pth/.bin/.ckpt),
    then apply ``rename`` to its names (see :class:`~netdef.weights.rename.Rename`).

    A FIFO or device without one of these suffixes (``<(zcat w.wts.gz)`` is ``/dev/fd/63``) is read by its
    first bytes: a zip is .npz or a torch checkpoint, a pickle a legacy torch checkpoint, a plausible header
    length safetensors, anything else .wts.
    """
    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):  # a transformers checkpoint folder
        where = os.fspath(path)
        index = os.path.join(where, INDEX_NAME)
        single = os.path.join(where, "model.safetensors")
        if not os.path.isfile(index) and not os.path.isfile(single):
            raise WeightsFormatError(
                f"{where}: a directory, not a weights file (a checkpoint folder from transformers' "
                f"save_pretrained holds {INDEX_NAME} or model.safetensors)"
            )
        found = readable_file(index if os.path.isfile(index) else single, "weights file", WeightsFormatError)
        weights = load_safetensors_index(found) if found == index else load_safetensors(found)
        return rename_weights(weights, rename, where)
    where = readable_file(path, "weights file", WeightsFormatError, streams=True)
    fmt = format_for(where)
    if fmt is not None:
        weights = fmt.load(where)
    elif not os.path.isfile(where):  # a FIFO or device, e.g. <(...) as /dev/fd/63: no suffix to go by
        weights = read_stream(where)
    else:
        raise WeightsFormatError(
            f"{where}: unknown weights format {Path(where).suffix.lower()!r}; netdef reads "
            f"{', '.join(suffixes())} files (rename the file if its suffix is wrong)"
        )
    return rename_weights(weights, rename, where)


INDEX_NAME = "model.safetensors.index.json"
#: safetensors dtype names -> numpy dtype names (BF16 and F8 through ml_dtypes)
_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2", "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "BOOL": "bool",
}  # fmt: skip


class MappedWeights(Weights):
    """Weights whose arrays are read-only views of memory-mapped files: nothing is read until a tensor is used.

    bfloat16 and float8 tensors are stored as ml_dtypes views and handed out as exact float32 copies, one
    tensor at a time, when looked up (``weights[name]`` / ``get``).
    """

    def __getitem__(self, name: str) -> np.ndarray:
        arr = dict.__getitem__(self, name)
        return (
            arr.astype(np.float32) if arr.dtype.kind == "V" or arr.dtype.name.startswith(("bfloat", "float8")) else arr
        )

    def get(self, name, default=None):
        return self[name] if name in self else default


def _is_safetensors(head: StreamHead) -> bool:
    """Not a zip or a pickle, and a plausible header length in the first 8 bytes."""
    first = head.head
    return (
        not head.is_zip
        and first[:1] != b"\x80"
        and len(first) >= 8
        and int.from_bytes(first[:8], "little") <= _MAX_HEADER_BYTES
    )


@weight_format(
    "safetensors",
    ".safetensors",
    sniff=_is_safetensors,
    read=lambda head: _safetensors_from(head.stream(), head.where),
)
def load_safetensors(path: str | os.PathLike) -> MappedWeights:
    """Read a safetensors file, memory-mapped: each tensor is a view of the file (see ``MappedWeights``).

    The header is validated as the safetensors library does (see ``_parse_header``): a file it would refuse is a
    WeightsFormatError naming the tensor and what is wrong. A FIFO or device is read once into an unnamed
    temporary file, exactly as long as its header says, and mapped from there.
    """
    where = os.fspath(path)
    return _safetensors_from(open_weights(where), where)


def _safetensors_from(f: IO[bytes], where: str) -> MappedWeights:
    """``load_safetensors`` of the file open as ``f`` (closed after)."""
    try:
        if not is_regular(f):
            f = _copy_stream(f, where)
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise WeightsFormatError(
                f"{where}: {_NOT_SAFETENSORS}: the file is {size} bytes long; a safetensors file starts with an "
                "8-byte header length"
            )
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise WeightsFormatError(f"{where}: {_NOT_SAFETENSORS}: {exc.strerror or exc}") from None
    finally:
        f.close()
    size = _header_length(buffer[:8], where)
    if 8 + size > len(buffer):
        raise WeightsFormatError(
            f"{where}: {_NOT_SAFETENSORS}: its header length says {size} bytes, but only {len(buffer) - 8} follow "
            "it (a truncated file, or not safetensors)"
        )
    entries, covered = _parse_header(buffer[8 : 8 + size], where)
    _check_data_length(covered, len(buffer) - 8 - size, where)
    out = MappedWeights()
    base = 8 + size
    for name, (dtype, shape, begin, _end) in entries.items():
        count = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(buffer, dtype=dtype, count=count, offset=base + begin).reshape(shape)
    return out


_NOT_SAFETENSORS = "not a readable safetensors file"
#: the safetensors library's limit on the header
_MAX_HEADER_BYTES = 100_000_000
_RESAVE = "re-save it with safetensors.torch.save_file or netdef.weights.save_safetensors"


def _header_length(first: bytes, where: str) -> int:
    size = int.from_bytes(first[:8], "little")
    if size > _MAX_HEADER_BYTES:
        raise WeightsFormatError(
            f"{where}: {_NOT_SAFETENSORS}: its first 8 bytes give a header length of {size} bytes, over the "
            f"safetensors limit of {_MAX_HEADER_BYTES} (is this a safetensors file?)"
        )
    return size


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numpy_dtype(name: str, code: str, where: str) -> np.dtype:
    kind = _SAFETENSORS_DTYPES.get(code)
    if kind is None:
        raise WeightsFormatError(
            f"{where}: tensor {name!r} has dtype {code}, which netdef cannot bind (it reads "
            f"{', '.join(_SAFETENSORS_DTYPES)}); convert it before saving"
        )
    if kind in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, kind))
    return np.dtype(kind)


def _parse_header(raw: bytes | memoryview, where: str) -> tuple[dict[str, tuple[np.dtype, tuple, int, int]], int]:
    """Validate a safetensors header the way the safetensors library does; returns ``{name: (dtype, shape, begin,
    end)}`` in header order and the number of data bytes the tensors cover.

    The header is a UTF-8 JSON object without repeated keys; ``__metadata__``, if there, maps text to text; every
    other key is a tensor with a known ``dtype``, a ``shape`` of non-negative integers and ``data_offsets``
    ``[begin, end]`` holding exactly ``prod(shape) * itemsize`` bytes. Taken in order of their offsets, the
    tensors tile the data section from byte 0 with no gap and no overlap (so no two share bytes and none reads
    the header); the caller checks that they end where the file ends.
    """
    bad = f"{where}: {_NOT_SAFETENSORS}:"
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeightsFormatError(f"{bad} its header is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        header = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise WeightsFormatError(f"{bad} in its header {exc}; a writer writes each key once ({_RESAVE})") from None
    except (ValueError, RecursionError) as exc:
        raise WeightsFormatError(f"{bad} its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WeightsFormatError(
            f"{bad} its header is a JSON {_json_kind(header)}, expected an object of tensor name -> "
            "{dtype, shape, data_offsets} (is this a safetensors file?)"
        )
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise WeightsFormatError(
                f"{bad} its __metadata__ is a JSON {_json_kind(metadata)}, expected an object of text -> text"
            )
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise WeightsFormatError(
                    f"{bad} __metadata__[{key!r}] is a JSON {_json_kind(value)}, expected text (safetensors "
                    "metadata maps text to text)"
                )
    entries: dict[str, tuple[np.dtype, tuple, int, int]] = {}
    for name, entry in header.items():
        at = f"{bad} tensor {name!r}:"
        if not isinstance(entry, dict):
            raise WeightsFormatError(
                f"{at} its entry is a JSON {_json_kind(entry)}, expected an object with dtype, shape and data_offsets"
            )
        missing = [k for k in ("dtype", "shape", "data_offsets") if k not in entry]
        if missing:
            raise WeightsFormatError(f"{at} its entry lacks {', '.join(missing)}")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str):
            raise WeightsFormatError(f'{at} dtype is a JSON {_json_kind(code)}, expected a name such as "F32"')
        if not isinstance(shape, list) or not all(_is_size(d) for d in shape):
            raise WeightsFormatError(f"{at} shape is {shape!r}, expected a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_size(o) for o in offsets)):
            raise WeightsFormatError(
                f"{at} data_offsets is {offsets!r}, expected [begin, end]: two non-negative integers"
            )
        begin, end = offsets
        if end < begin:
            raise WeightsFormatError(f"{at} data_offsets [{begin}, {end}] end before they begin")
        dtype = _numpy_dtype(name, code, where)
        needed = math.prod(shape) * dtype.itemsize
        if end - begin != needed:
            raise WeightsFormatError(
                f"{at} data_offsets [{begin}, {end}] hold {end - begin} bytes, but a {code} tensor of shape "
                f"{tuple(shape)} takes {needed}"
            )
        entries[name] = (dtype, tuple(shape), begin, end)
    covered, last = 0, None
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin < covered:
            raise WeightsFormatError(
                f"{bad} tensor {name!r} at bytes [{begin}, {end}) overlaps tensor {last[0]!r} at "
                f"[{last[1]}, {last[2]}): two tensors would share bytes ({_RESAVE})"
            )
        if begin > covered:
            raise WeightsFormatError(
                f"{bad} bytes [{covered}, {begin}) of the data section belong to no tensor (the next one is "
                f"{name!r}); safetensors requires the tensors to cover the data in order, without gaps ({_RESAVE})"
            )
        covered, last = end, (name, begin, end)
    return entries, covered


def _check_data_length(covered: int, present: int, where: str) -> None:
    if covered > present:
        raise WeightsFormatError(
            f"{where}: {_NOT_SAFETENSORS}: its tensors need {covered} bytes of data, but only {present} follow the "
            "header: the file is truncated"
        )
    if covered < present:
        raise WeightsFormatError(
            f"{where}: {_NOT_SAFETENSORS}: {present - covered} bytes follow the last tensor's data (the header "
            f"describes {covered} of the {present} data bytes); safetensors requires the tensors to end where "
            f"the file ends ({_RESAVE})"
        )


def _copy_stream(f: IO[bytes], where: str) -> IO[bytes]:
    """Copy a safetensors stream (a FIFO, a device) into an unnamed temporary file, reading exactly the bytes its
    header describes, and close ``f``; an endless or shorter stream is an error."""
    import shutil
    import tempfile

    with f:
        first = read_exactly(f, 8)
        if len(first) < 8:
            raise WeightsFormatError(
                f"{where}: {_NOT_SAFETENSORS}: the stream holds {len(first)} bytes; a safetensors file starts with "
                "an 8-byte header length"
            )
        size = _header_length(first, where)
        header = read_exactly(f, size)
        if len(header) < size:
            raise WeightsFormatError(
                f"{where}: {_NOT_SAFETENSORS}: the stream ended {len(header)} bytes into its {size}-byte header"
            )
        _, covered = _parse_header(header, where)
        out = tempfile.TemporaryFile()
        try:
            out.write(first + header)
            copied = out.tell()
            shutil.copyfileobj(_Limited(f, covered), out, 1 << 20)
            present = out.tell() - copied
            if present == covered and f.read(1):
                present += 1  # the stream goes on: say so without reading all of it
            _check_data_length(covered, present, where)
            out.flush()
            out.seek(0)
            return out
        except BaseException:
            out.close()
            raise


class _Limited:
    """The first ``limit`` bytes of a stream, for shutil.copyfileobj."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self.file, self.left = f, limit

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.file.read(n) if n else b""
        self.left -= len(data)
        return data


@weight_format("safetensors index", ".safetensors.index.json", listed=False)
def load_safetensors_index(path: str | os.PathLike) -> MappedWeights:
    """Read a sharded safetensors checkpoint from its index (``model.safetensors.index.json``, as
    transformers' ``save_pretrained`` writes it), every shard memory-mapped.

    The index is a JSON object whose ``weight_map`` maps each tensor name (once) to a shard file in the index's
    folder; every shard must exist and hold the tensors mapped to it.
    """
    where = os.fspath(path)
    bad = f"{where}: not a safetensors index"
    try:
        with open_weights(where, "index file") as f:
            index = json.loads(f.read().decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise WeightsFormatError(f"{bad}: {exc} (each tensor is mapped to one shard)") from None
    except OSError as exc:
        raise WeightsFormatError(f"{where}: cannot read this index file: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WeightsFormatError(f"{bad}: not JSON text ({exc})") from None
    expected = "expected a JSON object whose weight_map maps tensor names to shard file names"
    if not isinstance(index, dict):
        raise WeightsFormatError(f"{bad}: it holds a JSON {_json_kind(index)}; {expected}")
    if "weight_map" not in index:
        raise WeightsFormatError(f"{bad}: it has no weight_map; {expected}")
    weight_map = index["weight_map"]
    if not isinstance(weight_map, dict):
        raise WeightsFormatError(f"{bad}: its weight_map is a JSON {_json_kind(weight_map)}; {expected}")
    for name, shard in weight_map.items():
        if not isinstance(shard, str) or not shard:
            raise WeightsFormatError(
                f"{bad}: weight_map maps {name!r} to {json.dumps(shard)}; {expected} (a non-empty string)"
            )
        parts = shard.replace("\\", "/").split("/")
        if os.path.isabs(shard) or ".." in parts:
            raise WeightsFormatError(
                f"{bad}: weight_map maps {name!r} to {shard!r}, which is not inside the index's folder; shards "
                "are named relative to it"
            )
    folder = os.path.dirname(where)
    out = MappedWeights()
    for shard in sorted(set(weight_map.values())):
        shard_path = os.path.join(folder, shard)
        if not os.path.exists(shard_path):
            raise WeightsFormatError(
                f"{where}: shard {shard} (holding {_some(n for n, s in weight_map.items() if s == shard)}) is "
                f"missing from {folder or '.'}"
            )
        tensors = load_safetensors(shard_path)
        wanted = [n for n, s in weight_map.items() if s == shard]
        absent = [n for n in wanted if n not in tensors]
        if absent:
            raise WeightsFormatError(
                f"{where}: the index maps {_some(absent)} to shard {shard}, which does not hold "
                f"{'it' if len(absent) == 1 else 'them'} (it holds {len(tensors)} tensors); the index and its "
                "shards do not belong together"
            )
        for name in wanted:
            out[name] = dict.__getitem__(tensors, name)
    return out


def _some(names, limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _is_torch_zip(head: StreamHead) -> bool:
    return any(n == "data.pkl" or n.endswith("/data.pkl") for n in head.zip_names())


@weight_format(
    "npz",
    ".npz",
    sniff=lambda head: head.is_zip and not _is_torch_zip(head),
    read=lambda head: _npz_from(head.seekable(), head.where),
)
def load_npz(path: str | os.PathLike) -> Weights:
    """Read the named arrays of an ``.npz`` (``numpy.savez``) file; pickled object arrays are refused."""
    where = os.fspath(path)
    with open_weights(where) as f:
        if is_regular(f):
            return _npz_from(where, where)
        with spool(f, where, lambda head: _check_zip(head, where, ".npz")) as copy:
            return _npz_from(copy, where)


def _check_zip(head: bytes, where: str, kind: str) -> None:
    if head and not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise WeightsFormatError(f"{where}: not a readable {kind} file: it does not start as a zip archive")


def _npz_from(source: str | IO[bytes], where: str) -> Weights:
    """``load_npz`` of a path or a seekable file object."""
    try:
        npz = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise WeightsFormatError(f"{where}: no such weights file") from None
    except Exception as exc:  # zipfile and numpy raise OSError, ValueError, BadZipFile, NotImplementedError ...
        raise WeightsFormatError(f"{where}: not a readable .npz file: {_first_line(exc)}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise WeightsFormatError(
            f"{where}: holds a single array, not named arrays; save weights with numpy.savez(path, **state_dict)"
        )
    out = Weights()
    with npz:
        repeated = sorted({n for n in npz.files if npz.files.count(n) > 1})
        if repeated:  # zipfile lists both members; reading by name would take one of them without a word
            raise WeightsFormatError(
                f"{where}: not a readable .npz file: the archive holds {_some(repeated)} more than once; "
                "every array name must be unique (write it with numpy.savez)"
            )
        for name in npz.files:
            try:
                arr = npz[name]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise WeightsFormatError(
                        f"{where}: entry {name!r} is an object array (pickled Python objects); "
                        "netdef reads numeric arrays only"
                    ) from None
                raise WeightsFormatError(f"{where}: entry {name!r} cannot be read: {exc}") from None
            except Exception as exc:  # a bad CRC, an unsupported compression, a corrupt deflate stream ...
                raise WeightsFormatError(f"{where}: entry {name!r} cannot be read: {_first_line(exc)}") from None
            if not isinstance(arr, np.ndarray):  # a zip member that is no .npy file
                raise WeightsFormatError(f"{where}: member {name!r} is not a .npy array; is this an .npz file?")
            out[name] = _check_numeric(arr, name, where)
    return out


@weight_format(
    "torch",
    *TORCH_SUFFIXES,
    sniff=lambda head: head.head[:1] == b"\x80" or (head.is_zip and _is_torch_zip(head)),  # a pickle or a zip
    read=lambda head: Weights(_tensors_to_numpy(_torch_from(head.seekable(), head.where), head.where)),
)
def load_torch_checkpoint(path: str | os.PathLike) -> Weights:
    """Read a torch checkpoint's state dict as numpy arrays (see :func:`read_torch_state_dict`)."""
    where = os.fspath(path)
    return Weights(_tensors_to_numpy(read_torch_state_dict(where), where))


def _tensors_to_numpy(state: dict[str, Any], where: str) -> dict[str, np.ndarray]:
    return {name: _tensor_to_numpy(t, name, where) for name, t in state.items()}


def read_torch_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Read a torch checkpoint with ``torch.load(weights_only=True)``: ``{name: torch.Tensor}``.

    A state dict is taken as is; a training checkpoint's ``'state_dict'`` or ``'model'`` mapping is
    unwrapped. A file holding pickled Python objects (a whole ``nn.Module``) is refused: unpickling
    can run arbitrary code.
    """
    where = os.fspath(path)
    with open_weights(where) as f:
        if is_regular(f):
            return _torch_from(where, where)
        with spool(f, where) as copy:
            return _torch_from(copy, where)


def _torch_from(source: str | IO[bytes], where: str) -> dict[str, Any]:
    """``read_torch_state_dict`` of a path or a seekable file object."""
    import torch

    try:
        obj = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message advises retrying with weights_only=False; netdef never does (that runs the file's code)
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise WeightsFormatError(
                f"{where}: the file holds code, not only tensors: its pickle builds or calls {found.group(1)}, and "
                "unpickling it could run arbitrary code, so netdef did not load it (it reads weights-only "
                "checkpoints). If you trust the file, re-save its weights: torch.save(model.state_dict(), path)"
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
        why = detail.group(1) if detail else "a pickle the weights-only loader refuses"
        raise WeightsFormatError(
            f"{where}: not a torch checkpoint netdef can read safely ({why}); it was not loaded. "
            "Save weights with torch.save(model.state_dict(), path), or as .safetensors"
        ) from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, zipfile errors ... for other files
        raise WeightsFormatError(f"{where}: not a torch checkpoint, or a corrupt one: {_first_line(exc)}") from None

    for _ in range(4):  # {"model": {"state_dict": ...}} is two levels; a pickle may even hold a cycle
        key = next((k for k in WRAPPER_KEYS if isinstance(obj, Mapping) and isinstance(obj.get(k), Mapping)), None)
        if key is None:
            break
        obj = obj[key]
    if not isinstance(obj, Mapping):
        raise WeightsFormatError(
            f"{where}: holds a {type(obj).__name__}, not a state dict (a mapping of name -> tensor)"
        )
    others = [f"{k!r} ({type(v).__name__})" for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise WeightsFormatError(
            f"{where}: expected a state dict of name -> tensor, but found entries {shown}; a training "
            f"checkpoint's weights are usually under one of {list(WRAPPER_KEYS)}: save model.state_dict()"
        )
    for name, tensor in obj.items():  # tensors that hold no values, or not one array of them
        if tensor.device.type == "meta":
            raise WeightsFormatError(
                f"{where}: entry {name!r} is a meta tensor: it has a shape {tuple(tensor.shape)} but no values (the "
                "model was saved before its weights were created or loaded); save the state dict of a model "
                "holding real weights"
            )
        if tensor.is_nested:
            raise WeightsFormatError(f"{where}: entry {name!r} is a nested tensor; expected a dense tensor")
    return dict(obj)


def save_safetensors(model_or_state_dict: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Write a torch ``nn.Module``'s ``state_dict()`` (or a mapping of tensors/arrays) as safetensors,
    atomically, keeping each tensor's dtype and shape. Returns the tensors written."""
    import torch
    from safetensors.torch import save

    from netdef.weights.torch_state import state_dict_of

    where = os.fspath(path)
    state = state_dict_of(model_or_state_dict, "save_safetensors")
    tensors: dict[str, torch.Tensor] = {}
    storages: set[int] = set()
    for name, value in state.items():
        if not isinstance(name, str) or not name:
            raise WeightsFormatError(f"{where}: entry name {name!r} is not a non-empty str")
        try:
            tensor = value if torch.is_tensor(value) else torch.as_tensor(np.asarray(value))
            tensor = tensor.detach().cpu().contiguous()  # a meta tensor has no values to copy
        except Exception as exc:
            raise WeightsFormatError(
                f"{where}: entry {name!r}: cannot convert {type(value).__name__} to a CPU tensor: {_first_line(exc)}"
            ) from None
        storage = tensor.untyped_storage().data_ptr()
        if storage in storages and tensor.numel():  # tied weights: safetensors stores each tensor alone
            tensor = tensor.clone()
        storages.add(storage)
        tensors[name] = tensor
    try:
        data = save(tensors, metadata={"format": "pt"})
    except Exception as exc:
        raise WeightsFormatError(f"{where}: cannot write safetensors: {exc}") from None
    with atomic_write(where, "wb") as f:
        f.write(data)
    return tensors


def _tensor_to_numpy(tensor: Any, name: str, where: str) -> np.ndarray:
    """A CPU numpy array of a torch tensor; bfloat16 and float8 become float32 (exactly)."""
    import torch

    tensor = tensor.detach()
    if tensor.is_quantized or tensor.is_sparse or tensor.is_complex():
        raise WeightsFormatError(
            f"{where}: entry {name!r}: a {tensor.dtype} {tensor.layout} tensor cannot be bound; expected a dense "
            "real tensor"
        )
    try:
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
            tensor = tensor.to(torch.float32)  # bfloat16 / float8: numpy has no such dtype; the cast is exact
        array = tensor.resolve_conj().resolve_neg().numpy()
    except Exception as exc:  # a tensor kind torch cannot hand to numpy
        raise WeightsFormatError(
            f"{where}: entry {name!r}: a {tensor.dtype} tensor on {tensor.device} that netdef cannot read as an "
            f"array ({_first_line(exc)}); save a dense CPU state dict"
        ) from None
    return _check_numeric(array, name, where)


def _check_numeric(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise WeightsFormatError(f"{where}: entry {name!r}: dtype {arr.dtype} cannot be bound; expected real numbers")
    return arr


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
