"""Weights files of every kind netdef binds: .wts, safetensors, .npz and torch checkpoints.

Every reader returns a :class:`Weights` (``name -> numpy array``); ``Module.load_weights(path)``
binds any of them the same strict way. Only .wts is shape-less: its arrays are flat and take the
module's shapes, while the other formats' shapes are checked against the module exactly.
"""

from __future__ import annotations

import json
import mmap
import os
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from netdef._io import atomic_write
from netdef.checks import readable_file
from netdef.errors import WeightsFormatError
from netdef.weights.rename import Rename, rename_weights
from netdef.weights.wts import load_wts

__all__ = [
    "SUFFIXES",
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
SUFFIXES = (".wts", ".safetensors", ".npz", *TORCH_SUFFIXES)
#: Keys under which training checkpoints keep their state dict; unwrapped when they hold a mapping.
WRAPPER_KEYS = ("state_dict", "model")


class Weights(dict):
    """``name -> numpy array`` as read from a weights file, in file order.

    ``shaped`` is False for .wts (flat arrays: the module supplies the shapes) and True for formats
    that store shapes, which ``Module.load_weights`` then compares exactly.
    """

    shaped: bool = True


def load_weights_file(path: str | os.PathLike, rename: Rename | Callable[[str], str] | None = None) -> Weights:
    """Read a weights file by its suffix (.wts, .safetensors, .npz, or a torch .pt/.pth/.bin/.ckpt),
    then apply ``rename`` to its names (see :class:`~netdef.weights.rename.Rename`)."""
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
    where = readable_file(path, "weights file", WeightsFormatError)
    suffix = Path(where).suffix.lower()
    if where.lower().endswith(".safetensors.index.json"):
        weights = load_safetensors_index(where)
    elif suffix == ".wts":
        weights = Weights(load_wts(where))
        weights.shaped = False
    elif suffix == ".safetensors":
        weights = load_safetensors(where)
    elif suffix == ".npz":
        weights = load_npz(where)
    elif suffix in TORCH_SUFFIXES:
        weights = load_torch_checkpoint(where)
    else:
        raise WeightsFormatError(
            f"{where}: unknown weights format {suffix!r}; netdef reads {', '.join(SUFFIXES)} files "
            "(rename the file if its suffix is wrong)"
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


def load_safetensors(path: str | os.PathLike) -> MappedWeights:
    """Read a safetensors file, memory-mapped: each tensor is a view of the file (see ``MappedWeights``)."""
    where = os.fspath(path)
    if not os.path.isfile(where):
        raise WeightsFormatError(f"{where}: no such weights file")
    out = MappedWeights()
    try:
        with open(where, "rb") as f:
            buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        size = int.from_bytes(buffer[:8], "little")
        if len(buffer) < 8 or 8 + size > len(buffer):
            raise ValueError("the header is longer than the file")
        header = json.loads(bytes(buffer[8 : 8 + size]))
        header.pop("__metadata__", None)
        for name, entry in header.items():
            out[name] = _mapped_tensor(buffer, 8 + size, name, entry)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise WeightsFormatError(f"{where}: not a readable safetensors file: {exc}") from None
    return out


def _mapped_tensor(buffer: mmap.mmap, base: int, name: str, entry: dict) -> np.ndarray:
    kind = _SAFETENSORS_DTYPES.get(entry["dtype"])
    if kind is None:
        raise ValueError(f"entry {name!r} has dtype {entry['dtype']}, which netdef cannot bind")
    if kind in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        dtype = np.dtype(getattr(ml_dtypes, kind))
    else:
        dtype = np.dtype(kind)
    begin, end = (int(v) for v in entry["data_offsets"])
    shape = tuple(int(d) for d in entry["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    if end - begin != count * dtype.itemsize or base + end > len(buffer):
        raise ValueError(
            f"entry {name!r}: offsets [{begin}, {end}) do not hold a {entry['dtype']} tensor of shape {shape}"
        )
    return np.frombuffer(buffer, dtype=dtype, count=count, offset=base + begin).reshape(shape)


def load_safetensors_index(path: str | os.PathLike) -> MappedWeights:
    """Read a sharded safetensors checkpoint from its index (``model.safetensors.index.json``, as
    transformers' ``save_pretrained`` writes it), every shard memory-mapped."""
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except FileNotFoundError:
        raise WeightsFormatError(f"{where}: no such index file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsFormatError(f"{where}: not a safetensors index (a JSON object with a weight_map): {exc}") from None
    folder = os.path.dirname(where)
    out = MappedWeights()
    for shard in sorted(set(weight_map.values())):
        shard_path = os.path.join(folder, shard)
        if not os.path.isfile(shard_path):
            raise WeightsFormatError(f"{where}: shard {shard} is missing from {folder or '.'}")
        tensors = load_safetensors(shard_path)
        wanted = [n for n, s in weight_map.items() if s == shard]
        absent = [n for n in wanted if n not in tensors]
        if absent:
            raise WeightsFormatError(f"{where}: shard {shard} lacks {absent[:5]} listed in the index")
        for name in wanted:
            out[name] = dict.__getitem__(tensors, name)
    return out


def load_npz(path: str | os.PathLike) -> Weights:
    """Read the named arrays of an ``.npz`` (``numpy.savez``) file; pickled object arrays are refused."""
    where = os.fspath(path)
    try:
        npz = np.load(where, allow_pickle=False)
    except FileNotFoundError:
        raise WeightsFormatError(f"{where}: no such weights file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise WeightsFormatError(f"{where}: not a readable .npz file: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise WeightsFormatError(
            f"{where}: holds a single array, not named arrays; save weights with numpy.savez(path, **state_dict)"
        )
    out = Weights()
    with npz:
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
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise WeightsFormatError(f"{where}: entry {name!r} cannot be read: {exc}") from None
            if not isinstance(arr, np.ndarray):  # a zip member that is no .npy file
                raise WeightsFormatError(f"{where}: member {name!r} is not a .npy array; is this an .npz file?")
            out[name] = _check_numeric(arr, name, where)
    return out


def load_torch_checkpoint(path: str | os.PathLike) -> Weights:
    """Read a torch checkpoint's state dict as numpy arrays (see :func:`read_torch_state_dict`)."""
    where = os.fspath(path)
    return Weights((name, _tensor_to_numpy(t, name, where)) for name, t in read_torch_state_dict(where).items())


def read_torch_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Read a torch checkpoint with ``torch.load(weights_only=True)``: ``{name: torch.Tensor}``.

    A state dict is taken as is; a training checkpoint's ``'state_dict'`` or ``'model'`` mapping is
    unwrapped. A file holding pickled Python objects (a whole ``nn.Module``) is refused: unpickling
    can run arbitrary code.
    """
    import torch

    where = os.fspath(path)
    if not os.path.isfile(where):
        raise WeightsFormatError(f"{where}: no such weights file")
    try:
        obj = torch.load(where, map_location="cpu", weights_only=True)
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
        except Exception as exc:
            raise WeightsFormatError(
                f"{where}: entry {name!r}: cannot convert {type(value).__name__} to a tensor: {exc}"
            ) from None
        tensor = tensor.detach().cpu().contiguous()
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
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.is_quantized or tensor.is_sparse or tensor.is_complex():
        raise WeightsFormatError(
            f"{where}: entry {name!r}: a {tensor.dtype} {tensor.layout} tensor cannot be bound; expected a dense "
            "real tensor"
        )
    if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
        tensor = tensor.to(torch.float32)  # bfloat16 / float8: numpy has no such dtype; the cast is exact
    return _check_numeric(tensor.resolve_conj().resolve_neg().numpy(), name, where)


def _check_numeric(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise WeightsFormatError(f"{where}: entry {name!r}: dtype {arr.dtype} cannot be bound; expected real numbers")
    return arr


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
