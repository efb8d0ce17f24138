"""The engine's metadata sidecar: read it and check the engine file against it before TensorRT does."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from netdef._trt import BACKEND, VERSION
from netdef.build import METADATA_FORMAT, metadata_path
from netdef.errors import EngineError

_REBUILD = "rebuild it on this machine with `netdef build` (engines are not portable across TensorRT versions)"


def read_engine(path: str | os.PathLike, verify: bool = True) -> tuple[bytes, dict]:
    """The engine's bytes and metadata, after checking file, checksum, backend and version.

    With ``verify=False`` the engine is not checked against its sidecar, and an engine without one loads
    with empty metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"{path}: no such engine file; build one with `netdef build ... --output {path}`")
    meta_file = metadata_path(path)
    if not meta_file.is_file():
        if not verify:
            return path.read_bytes(), {}
        raise EngineError(
            f"{path}: its metadata sidecar {meta_file.name} is missing, so netdef cannot tell which TensorRT "
            f"built it; {_REBUILD}, or load it with verify=False if you know it matches"
        )
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:
        raise EngineError(f"{meta_file}: unreadable metadata ({exc}); {_REBUILD}") from None
    if not isinstance(meta, dict) or meta.get("format") != METADATA_FORMAT:
        raise EngineError(f"{meta_file}: not a {METADATA_FORMAT} metadata file; {_REBUILD}")
    data = path.read_bytes()
    if verify:
        check(path, data, meta)
    return data, meta


def check(path: Path, data: bytes, meta: dict) -> None:
    """Raise EngineError if ``data`` is not the engine ``meta`` describes, or was built by another TensorRT."""
    if len(data) != meta.get("engine_bytes"):
        raise EngineError(
            f"{path}: the file has {len(data)} bytes but its metadata says {meta.get('engine_bytes')}: "
            f"it is truncated or was overwritten; {_REBUILD}"
        )
    if hashlib.sha256(data).hexdigest() != meta.get("engine_sha256"):
        raise EngineError(f"{path}: the file's checksum does not match its metadata: it is corrupt; {_REBUILD}")
    if meta.get("backend") != BACKEND:
        raise EngineError(
            f"{path} was built with {meta.get('backend')} but this process uses {BACKEND}; engines only load in "
            f"the backend that built them (set NETDEF_BACKEND={meta.get('backend')} if it is installed, or rebuild)"
        )
    if meta.get("backend_version") != VERSION:
        raise EngineError(
            f"{path} was built with {BACKEND} {meta.get('backend_version')} but {VERSION} is installed; {_REBUILD}"
        )
