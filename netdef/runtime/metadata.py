"""Engine files: the serialized engine and its JSON metadata sidecar, written and read as one unit.

An engine ``m.engine`` is the raw TensorRT plan (loadable by any TensorRT tool); ``m.engine.json`` describes it
(backend, version, inputs, outputs, size and sha256 of the plan). The pair is replaced as one unit:

1. the new plan is written to a temporary file, flushed, and renamed to a *pending* file whose name holds its
   sha256 (``.m.engine.netdef-<host>-<pid>-<random>.<sha>.pending``);
2. the new sidecar is written to a temporary file and flushed;
3. under an exclusive lock on the folder, the sidecar is renamed over ``m.engine.json`` -- the commit point --
   and the pending plan over ``m.engine``.

A writer killed before step 3 leaves the old pair untouched. One killed inside step 3 leaves the new sidecar and
the pending plan it names; a reader then reads that plan, and moves it into place once its writer is gone.
Readers open both files under a shared lock, so they never see one writer's sidecar beside another's plan.
The next write into the folder finishes what killed writers committed and removes the rest they left.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
from dataclasses import InitVar, dataclass, field
from pathlib import Path

from netdef._io import checkpoint, clean_stale, directory_lock, fsync_directory, owner_gone, write_temp
from netdef._trt import BACKEND, VERSION
from netdef.errors import EngineError

METADATA_FORMAT = "netdef-engine/1"
_REBUILD = "rebuild it on this machine with `netdef build` (engines are not portable across TensorRT versions)"
_SHA_CHARS = 24  # hex digits of the sha256 in a pending file's name (96 bits)
#: what to do about a sidecar that lacks what netdef writes into it
_EDITED = (
    "it was edited, or not written by netdef: regenerate it by rebuilding the engine "
    "(`netdef build MODEL -o ENGINE` writes ENGINE and ENGINE.json)"
)
_KINDS = {int: "an int", str: "a string", list: "a list", dict: "an object"}


def metadata_path(engine_path: str | os.PathLike) -> Path:
    """Where the sidecar of ``engine_path`` lives: ``<engine>.json``."""
    return Path(str(engine_path) + ".json")


@dataclass
class BuiltEngine:
    """A serialized engine and the facts needed to load it safely.

    ``engine_sha256`` is the sha256 of ``data`` when the caller computed it from these very bytes (``build``) or
    verified them against it (the engine cache): the plan is then not hashed again when saved.
    """

    data: bytes
    metadata: dict
    path: Path | None = None
    #: True when ``build(cache=...)`` returned it from the engine cache without building
    cached: bool = False
    engine_sha256: InitVar[str | None] = None
    #: (the data object, its sha256): the digest is reused only while ``data`` is that same object
    _digest: tuple[object, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self, engine_sha256: str | None) -> None:
        if engine_sha256 is not None:
            self._digest = (self.data, engine_sha256)

    def sha256(self) -> str:
        """The sha256 of ``data`` (hex), computed at most once per data object."""
        if self._digest is None or self._digest[0] is not self.data:
            self._digest = (self.data, hashlib.sha256(self.data).hexdigest())
        return self._digest[1]

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the engine and its sidecar as one unit (see ``write_engine``); a plan not hashed yet is hashed
        while it is written."""
        self.path = self.write(path, force=force)
        return self.path

    def write(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """``save`` without recording ``path`` as this engine's (the engine cache writes its copy so)."""
        known = self._digest[1] if self._digest is not None and self._digest[0] is self.data else None
        written, sha = _write_engine(path, self.data, self.metadata, force, known)
        self._digest = (self.data, sha)
        return written


# --------------------------------------------------------------------------------------------- writing


def check_replaceable(path: str | os.PathLike, force: bool = False) -> None:
    """Raise EngineError if writing an engine to ``path`` would destroy something that is not a netdef engine.

    ``path`` may be replaced when neither it nor its sidecar exists, or when its sidecar is netdef metadata;
    ``force`` allows replacing other files, never folders or other non-regular files.
    """
    path = Path(path)
    sidecar = metadata_path(path)
    for p in (path, sidecar):
        if p.exists() and not p.is_file():
            kind = "a directory" if p.is_dir() else "not a regular file"
            raise EngineError(f"{p} is {kind}; an engine and its sidecar must be regular files: choose another path")
    if force or (not path.exists() and not sidecar.exists()):
        return
    if not sidecar.exists():
        problem = f"{path} exists and is not a netdef engine (it has no {sidecar.name} beside it)"
    else:
        try:
            meta = json.loads(sidecar.read_bytes())
        except (OSError, ValueError):
            meta = None
        if isinstance(meta, dict) and meta.get("format") == METADATA_FORMAT:
            return
        problem = f"{sidecar} exists and is not netdef engine metadata"
    raise EngineError(f"{problem}; refusing to replace it with an engine (force=True or --force replaces it)")


def write_engine(
    path: str | os.PathLike, data: bytes, metadata: dict, *, force: bool = False, sha256: str | None = None
) -> Path:
    """Replace the engine at ``path`` and its sidecar with ``data`` and ``metadata``, as one unit.

    Refuses (EngineError) to replace a file that is not a netdef engine unless ``force``. The sidecar records
    the format and the size and sha256 of ``data`` (added when ``metadata`` lacks them; a mismatch is an error).
    ``sha256`` is the digest of ``data`` if the caller already has it from these very bytes (``BuiltEngine.save``
    passes the one its build computed): it is trusted, not recomputed; the size is always checked.
    If anything fails, the previous engine and sidecar stay as they were.
    """
    return _write_engine(path, data, metadata, force, sha256)[0]


def _write_engine(
    path: str | os.PathLike, data: bytes, metadata: dict, force: bool, sha256: str | None
) -> tuple[Path, str]:
    """``write_engine``, returning (path, sha256 of ``data``): without ``sha256`` the plan is hashed while it
    is written (one pass over its bytes)."""
    path = Path(path)
    meta = {"format": METADATA_FORMAT, **metadata}
    if meta.setdefault("engine_bytes", len(data)) != len(data):
        raise EngineError(
            f"the metadata's engine_bytes is {meta['engine_bytes']!r} but the engine data has {len(data)!r}"
        )
    json.dumps(meta)  # before touching files: a value JSON cannot hold changes nothing
    check_replaceable(path, force)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    clean_stale(directory)
    made = []
    try:
        digest = hashlib.sha256() if sha256 is None else None
        tmp = write_temp(path, data, digest)
        made.append(tmp)
        sha = sha256 if digest is None else digest.hexdigest()
        if meta.setdefault("engine_sha256", sha) != sha:
            raise EngineError(
                f"the metadata's engine_sha256 is {meta['engine_sha256']!r} but the engine data has {sha!r}"
            )
        text = json.dumps(meta, indent=2) + "\n"
        pending = f"{tmp[: -len('.tmp')]}.{sha[:_SHA_CHARS]}.pending"
        os.replace(tmp, pending)
        made[-1] = pending
        fsync_directory(directory)  # the pending name is durable before the sidecar names it
        checkpoint("engine:staged")
        made.append(write_temp(metadata_path(path), text))
        with directory_lock(directory):
            checkpoint("engine:locked")
            os.replace(made[-1], metadata_path(path))  # the commit point: from here on the pending file is
            made = []  # the engine, and stays if anything fails (readers use it and move it into place)
            checkpoint("engine:committed")
            os.replace(pending, path)
            checkpoint("engine:moved")
            fsync_directory(directory)
            for engine in {path, *_engines_left_pending(directory)}:
                _settle(engine)
            checkpoint("engine:settled")
    finally:
        for leftover in made:
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return path, sha


def _pending_files(path: Path) -> list[os.DirEntry]:
    prefix = f".{path.name}.netdef-"
    try:
        return [e for e in os.scandir(path.parent) if e.name.startswith(prefix) and e.name.endswith(".pending")]
    except OSError:
        return []


def _engines_left_pending(directory: Path) -> set[Path]:
    """The engines in ``directory`` with pending files whose writer is gone (each may need settling)."""
    found = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            name = entry.name
            if name.endswith(".pending") and ".netdef-" in name and owner_gone(name, entry.stat().st_mtime):
                found.add(directory / name[1:].rpartition(".netdef-")[0])
    return found


def _committed_sha(path: Path) -> str | None:
    try:
        meta = json.loads(metadata_path(path).read_bytes())
    except (OSError, ValueError):
        return None
    sha = meta.get("engine_sha256") if isinstance(meta, dict) else None
    return sha if isinstance(sha, str) else None


def _pending_for(path: Path, sha: str | None) -> Path | None:
    """The pending plan of ``path`` whose content is ``sha``, if a writer committed it but did not move it."""
    if not sha:
        return None
    suffix = f".{sha[:_SHA_CHARS]}.pending"
    for entry in _pending_files(path):
        if entry.name.endswith(suffix):
            return Path(entry.path)
    return None


def _settle(path: Path) -> None:
    """Under the folder's exclusive lock: finish the replacement a killed writer committed, and remove the pending
    files killed writers left.

    Only pending files whose writer is gone are touched: a live writer moves its own (inside the lock that
    readers wait for), and its pending file before its commit may have the committed content too.
    """
    sha = _committed_sha(path)
    suffix = f".{sha[:_SHA_CHARS]}.pending" if sha else None
    for entry in _pending_files(path):
        with contextlib.suppress(OSError):
            if not owner_gone(entry.name, entry.stat().st_mtime):
                continue
            if suffix and entry.name.endswith(suffix):
                os.replace(entry.path, path)  # the committed plan (or a copy of it)
                checkpoint("engine:rolled-forward")
            else:
                os.unlink(entry.path)  # never committed
    clean_stale(path.parent, prefix=f".{path.name}")


# --------------------------------------------------------------------------------------------- reading


def read_engine(path: str | os.PathLike, verify: bool = True) -> tuple[bytes, dict]:
    """The engine's bytes and metadata, after checking file, checksum, backend and version.

    With ``verify=False`` the engine is not checked against its sidecar, and an engine without one loads
    with empty metadata.
    """
    path = Path(path)
    meta_file = metadata_path(path)
    text, handle, pending = _open_pair(path, meta_file)
    with handle:
        try:
            data = handle.read()
        except OSError as exc:
            raise EngineError(f"{path}: cannot read the engine file: {exc.strerror or exc}") from None
    if pending is not None:  # a writer was killed after its commit: finish its work if this folder allows
        with contextlib.suppress(OSError), directory_lock(path.parent) as locked:
            if locked:
                _settle(path)
    if text is None:
        if not verify:
            return data, {}
        raise EngineError(
            f"{path}: its metadata sidecar {meta_file.name} is missing, so netdef cannot tell which TensorRT "
            f"built it; {_REBUILD}, or load it with verify=False if you know it matches"
        )
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise EngineError(f"{meta_file}: unreadable metadata ({exc}); {_REBUILD}") from None
    if not isinstance(meta, dict) or meta.get("format") != METADATA_FORMAT:
        raise EngineError(f"{meta_file}: not a {METADATA_FORMAT} metadata file; {_REBUILD}")
    if verify:
        check(path, data, meta)
    return data, meta


def _open_pair(path: Path, meta_file: Path):
    """(sidecar text or None, an open handle on the plan it describes, the pending file used or None).

    Both are opened under the folder's shared lock: no writer commits in between, and the open handle keeps
    reading the file it opened whatever is renamed later.
    """
    with directory_lock(path.parent, exclusive=False):
        try:
            with _open_regular(meta_file, "an engine's metadata sidecar") as f:
                text = f.read().decode("utf-8")
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            raise EngineError(f"{meta_file}: unreadable metadata ({exc}); {_REBUILD}") from None
        pending = None
        if text is not None:
            try:
                meta = json.loads(text)
            except ValueError:
                meta = None
            if isinstance(meta, dict) and isinstance(meta.get("engine_sha256"), str):
                pending = _pending_for(path, meta["engine_sha256"])
        try:
            handle = _open_regular(pending or path, "an engine file")
        except FileNotFoundError:
            raise EngineError(
                f"{path}: no such engine file; build one with `netdef build ... --output {path}`"
            ) from None
        except OSError as exc:
            raise EngineError(f"{path}: cannot read the engine file: {exc.strerror or exc}") from None
    return text, handle, pending


def _open_regular(path: Path, what: str) -> io.BufferedReader:
    """``path`` opened for reading; EngineError if it is a folder, FIFO or device (which could block or mislead)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        kind = "a directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "not a regular file"
        os.close(fd)
        raise EngineError(f"{path} is {kind}, not {what}")
    return os.fdopen(fd, "rb")


def check(path: Path, data: bytes, meta: dict) -> None:
    """Raise EngineError if ``data`` is not the engine ``meta`` describes, or was built by another TensorRT."""
    for key, kind in (("engine_bytes", int), ("engine_sha256", str), ("backend", str), ("backend_version", str)):
        if key not in meta:
            raise EngineError(f"{metadata_path(path)}: the metadata has no {key!r}; {_EDITED}")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise EngineError(
                f"{metadata_path(path)}: the metadata's {key!r} is {meta[key]!r}, not {_KINDS[kind]}; {_EDITED}"
            )
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


def _dims_ok(value, dynamic: bool = True) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= (-1 if dynamic else 0) for d in value
    )


def check_io_metadata(meta: dict, where: str | os.PathLike = "the engine metadata") -> None:
    """Raise EngineError naming ``where`` (the sidecar), the key and the fix unless ``meta`` describes the
    engine's inputs and outputs the way netdef writes them: ``inputs`` maps each name to ``{shape, dtype,
    min, opt, max, profiles}``, ``outputs`` lists ``{name, shape, dtype}``."""

    def bad(key: str, value, expected: str) -> EngineError:
        got = "missing" if value is _MISSING else f"{value!r}"
        return EngineError(f"{where}: the metadata's {key} is {got}, expected {expected}; {_EDITED}")

    inputs = meta.get("inputs", _MISSING)
    if not isinstance(inputs, dict):
        raise bad("'inputs'", inputs, "an object mapping each input name to its shape and dtype")
    outputs = meta.get("outputs", _MISSING)
    if not isinstance(outputs, list):
        raise bad("'outputs'", outputs, "a list of {name, shape, dtype}")
    tensors = [(f"inputs[{n!r}]", n, spec) for n, spec in inputs.items()]
    tensors += [
        (f"outputs[{i}]", o.get("name", _MISSING) if isinstance(o, dict) else o, o) for i, o in enumerate(outputs)
    ]
    for key, name, spec in tensors:
        if not isinstance(spec, dict):
            raise bad(key, spec, "an object with shape and dtype")
        if not isinstance(name, str) or not name:
            raise bad(f"{key}'s name", name, "a non-empty string")
        shape = spec.get("shape", _MISSING)
        if not _dims_ok(shape):
            raise bad(f"{key}['shape']", shape, "a list of dims (ints, -1 for a dynamic one)")
        if not isinstance(spec.get("dtype"), str):
            raise bad(f"{key}['dtype']", spec.get("dtype", _MISSING), "a dtype name such as 'float32'")
        for k in ("min", "opt", "max"):
            value = spec.get(k)
            if value is not None and not (_dims_ok(value, dynamic=False) and len(value) == len(shape)):
                raise bad(f"{key}[{k!r}]", value, f"null or a list of {len(shape)} dims >= 0")
        profiles = spec.get("profiles") or []
        if not isinstance(profiles, list) or not all(
            isinstance(p, list) and len(p) == 3 and all(_dims_ok(s, False) and len(s) == len(shape) for s in p)
            for p in profiles
        ):
            raise bad(f"{key}['profiles']", profiles, "a list of [min, opt, max] shapes")


_MISSING = object()
