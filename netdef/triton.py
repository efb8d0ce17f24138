"""Triton Inference Server model repositories from netdef engines (``config.pbtxt`` + ``1/model.plan``)."""

from __future__ import annotations

import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from netdef.errors import NetdefError, NetdefWarning
from netdef.runtime.metadata import check_io_metadata, metadata_path, read_engine

#: numpy dtype name (as the engine metadata records it) -> Triton's ModelConfig DataType
TRITON_DTYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float16": "TYPE_FP16",
    "float32": "TYPE_FP32",
    "bfloat16": "TYPE_BF16",
}

#: what a model or backend name may hold: it is a folder name, a quoted string in config.pbtxt and part of the
#: server's request URLs (v2/models/NAME)
NAME_CHARS = "letters, digits, '_', '-' and '.' (not first)"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")

RTX_NOTE = (
    "this engine was built by TensorRT-RTX: Triton's standard TensorRT backend (platform tensorrt_plan) cannot "
    "deserialize it; serve it with a Triton backend built against TensorRT-RTX (pass its name with --backend), "
    "or rebuild the engine with full TensorRT for the server's GPU"
)


@dataclass(frozen=True)
class TritonTensor:
    """One input or output as Triton declares it."""

    name: str
    data_type: str
    dims: tuple[int, ...]


def check_name(name: object, what: str = "model name") -> str:
    """``name`` if it is a Triton model (or backend) name netdef can write; NetdefError listing the allowed
    characters otherwise."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        where = (
            "it names the model's folder in the repository, config.pbtxt and the server's URLs"
            if what == "model name"
            else "it names the Triton backend's folder and library"
        )
        raise NetdefError(f"{what} {name!r}: use only {NAME_CHARS}; {where}")
    return name


def _quoted(text: str) -> str:
    """``text`` as a protobuf text-format string literal (what config.pbtxt holds), escaped so any tensor name
    reads back unchanged: quotes and backslashes escaped, other bytes outside printable ASCII in octal."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _tensor(name: str, dtype: str, shape: list[int], batched: bool, where: str) -> TritonTensor:
    if dtype not in TRITON_DTYPES:
        raise NetdefError(f"{where} {name!r} has dtype {dtype}, which Triton's model config cannot declare")
    dims = tuple(int(d) for d in shape)
    if batched:
        if not dims or dims[0] != -1:
            raise NetdefError(
                f"{where} {name!r} has shape {list(dims)}: with --max-batch-size its first dim must be the dynamic "
                "batch dim (-1); build with a dynamic batch, or leave --max-batch-size at 0"
            )
        dims = dims[1:]
    return TritonTensor(name, TRITON_DTYPES[dtype], dims)


def _whole(value: object, minimum: int, what: str, maximum: int = 2**31 - 1) -> int:
    """``value`` if it is an int in [minimum, maximum] (Triton reads these as int32, versions as int64)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise NetdefError(f"{what} must be a whole number from {minimum} to {maximum}, got {value!r}")
    return value


def model_config(
    meta: dict,
    name: str,
    max_batch_size: int = 0,
    dynamic_batching: bool = False,
    instances: int = 1,
    backend: str | None = None,
) -> str:
    """The ``config.pbtxt`` text for an engine described by its netdef metadata."""
    check_name(name)
    if backend is not None:
        check_name(backend, "backend name")
    _whole(max_batch_size, 0, "--max-batch-size (max_batch_size)")
    _whole(instances, 1, "--instances (instances)")
    if dynamic_batching and max_batch_size == 0:
        raise NetdefError("--dynamic-batching needs --max-batch-size N > 0 (Triton batches along the first dim)")
    check_io_metadata(meta)
    batched = max_batch_size > 0
    inputs = []
    profile_count = 1
    for input_name, spec in meta["inputs"].items():
        inputs.append(_tensor(input_name, spec["dtype"], spec["shape"], batched, "input"))
        first = (spec.get("min"), spec.get("opt"), spec.get("max"))
        profiles = [first, *(spec.get("profiles") or [])] if first[2] else []
        profile_count = max(profile_count, len(profiles))
        for k, (_, _, hi) in enumerate(profiles):
            if batched and hi[0] < max_batch_size:
                raise NetdefError(
                    f"input {input_name!r}: optimization profile {k} allows batch {hi[0]} at most, less than "
                    f"--max-batch-size {max_batch_size}; lower it or rebuild with a larger max= batch"
                )
    outputs = [_tensor(o["name"], o["dtype"], o["shape"], batched, "output") for o in meta["outputs"]]

    lines = [f"name: {_quoted(name)}"]
    if backend:
        lines.append(f"backend: {_quoted(backend)}")
    else:
        lines.append('platform: "tensorrt_plan"')
    lines.append(f"max_batch_size: {max_batch_size}")
    for key, tensors in (("input", inputs), ("output", outputs)):
        entries = [
            f"  {{\n    name: {_quoted(t.name)}\n    data_type: {t.data_type}\n    dims: [ {', '.join(map(str, t.dims))} ]\n  }}"
            for t in tensors
        ]
        lines.append(f"{key} [\n" + ",\n".join(entries) + "\n]")
    if dynamic_batching:
        lines.append("dynamic_batching { }")
    profiles = ", ".join(f'"{k}"' for k in range(profile_count))
    lines.append(
        f"instance_group [\n  {{\n    kind: KIND_GPU\n    count: {instances}\n"
        + (f"    profile: [ {profiles} ]\n" if profile_count > 1 else "")
        + "  }\n]"
    )
    return "\n".join(lines) + "\n"


def _versions(model_dir: Path) -> list[int]:
    """The version folders already in ``model_dir`` (Triton's: positive integer names), in order."""
    try:
        names = [e.name for e in os.scandir(model_dir) if e.is_dir()]
    except OSError:
        return []
    return sorted(int(n) for n in names if n.isdigit() and int(n) > 0)


def _existing(path: Path) -> bytes | None:
    """The bytes of the regular file ``path``, None if nothing is there; NetdefError for anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):
        raise NetdefError(f"{path} exists and is not a regular file; netdef never replaces it: move it away")
    return path.read_bytes()


def _first_difference(old: str, new: str) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for i, (a, b) in enumerate(zip(old_lines, new_lines)):
        if a != b:
            return f"line {i + 1} is {a.strip()!r}, netdef would write {b.strip()!r}"
    i = min(len(old_lines), len(new_lines))
    return f"the file has {len(old_lines)} lines, netdef would write {len(new_lines)} (from line {i + 1} on)"


def write_model_repository(
    engine: str | os.PathLike,
    repository: str | os.PathLike,
    name: str,
    max_batch_size: int = 0,
    dynamic_batching: bool = False,
    instances: int = 1,
    backend: str | None = None,
    version: int = 1,
    *,
    force: bool = False,
) -> Path:
    """Write ``repository/name/config.pbtxt`` and ``repository/name/<version>/model.plan``; return the model dir.

    The engine is checked against its metadata first. A TensorRT-RTX engine gets a NetdefWarning (``RTX_NOTE``)
    unless ``backend`` names the Triton backend that serves it. Nothing is lost without ``force=True``: an
    existing ``model.plan`` of that version, or a ``config.pbtxt`` that differs from the one this engine needs,
    is refused (NetdefError naming the file); a file identical to the one netdef would write is left as it is.
    Other versions in the folder are never touched: a new ``version`` goes beside them (they share the config).
    """
    from netdef._io import atomic_write

    _whole(version, 1, "--version (version)", 2**63 - 1)
    if not isinstance(force, bool):
        raise NetdefError(f"force must be True or False, got {force!r}")
    data, meta = read_engine(engine)
    check_io_metadata(meta, metadata_path(engine))
    config = model_config(meta, name, max_batch_size, dynamic_batching, instances, backend)
    if meta.get("backend") == "tensorrt_rtx" and backend is None:
        warnings.warn(RTX_NOTE, NetdefWarning, stacklevel=2)
    model_dir = Path(repository) / name
    if model_dir.exists() and not model_dir.is_dir():
        raise NetdefError(f"{model_dir} exists and is not a directory; choose another --repository or --name")
    config_path, plan_path = model_dir / "config.pbtxt", model_dir / str(version) / "model.plan"
    try:
        old_config, old_plan = _existing(config_path), _existing(plan_path)
        problems = []
        if old_plan is not None and old_plan != data:
            free = max([version, *_versions(model_dir)]) + 1
            problems.append(
                f"{plan_path} exists and holds another engine (version {version} of {name!r}): pass --version "
                f"{free} (version={free}) to add a version beside it, or --force (force=True) to replace it"
            )
        if old_config is not None and old_config != config.encode():
            diff = _first_difference(old_config.decode("utf-8", "replace"), config)
            problems.append(
                f"{config_path} exists and differs from the config this engine needs ({diff}); every version of "
                f"{name!r} shares it: pass --force (force=True) to replace it, or write under another --name"
            )
        if problems and not force:
            raise NetdefError("refusing to replace files of the model repository: " + "; and ".join(problems))
        if old_plan != data:
            with atomic_write(plan_path) as f:  # the version folder is created with it
                f.write(data)
        if old_config != config.encode():
            with atomic_write(config_path, "w") as f:
                f.write(config)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise NetdefError(f"cannot write the model repository at {model_dir}: {where}{exc.strerror or exc}") from None
    return model_dir
