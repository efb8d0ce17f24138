"""Crash-safe files: atomic replacement, netdef's temporary names and their cleanup, a directory lock.

Every file netdef writes goes to a temporary file beside its target first, named
``.<target>.netdef-<host>-<pid>-<random>.tmp``, and is renamed over the target once complete and flushed to
disk. Missing folders above the target are created; an error names the target, never the temporary. A writer that is killed leaves its temporary behind; the next write into that folder removes the
temporaries of netdef's naming whose writer is gone (same host, process no longer running) or that are older
than a day. Nothing else is ever removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, writers are not serialized
    fcntl = None

__all__ = [
    "atomic_write",
    "checkpoint",
    "clean_stale",
    "directory_lock",
    "fsync_directory",
    "owner_gone",
    "temp_path",
    "write_temp",
]

_MODES = ("wb", "w")
#: a temporary whose writer cannot be checked (another host) is stale after this many seconds
STALE_SECONDS = 24 * 3600
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16]
#: .<target>.netdef-<host>-<pid>-<12 hex digits>[.<anything>].<kind>
_NAME = re.compile(r"\..+\.netdef-(?P<host>[A-Za-z0-9]*)-(?P<pid>[0-9]+)-[0-9a-f]{12}(?:\.[^/]*)?\.(?P<kind>[a-z]+)")


def temp_path(path: str | os.PathLike[str]) -> str:
    """A fresh path of netdef's temporary naming beside ``path``."""
    directory, base = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(directory, f".{base}.netdef-{_HOST}-{os.getpid()}-{secrets.token_hex(6)}.tmp")


def owner_gone(name: str, mtime: float, now: float | None = None) -> bool:
    """Whether the netdef temporary ``name`` (a file name) was left by a writer that no longer runs.

    The writer is gone if it ran on this host and its process has exited, or if the file is older than
    ``STALE_SECONDS``. Names not of netdef's temporary naming are never stale.
    """
    m = _NAME.fullmatch(name)
    if m is None:
        return False
    if (now if now is not None else time.time()) - mtime > STALE_SECONDS:
        return True
    if m["host"] != _HOST:
        return False
    pid = int(m["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # exited, or a pid no process can have
        return True
    except OSError:  # e.g. PermissionError: it runs, under another user
        return False
    return False


def clean_stale(directory: str | os.PathLike[str], kinds: tuple[str, ...] = ("tmp",), prefix: str = ".") -> list[str]:
    """Remove the stale netdef temporaries of ``kinds`` in ``directory`` whose names start with ``prefix``.

    Returns the names removed. Errors (a folder that cannot be listed, a file already gone) are ignored:
    cleaning is best effort and never fails a write.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or ".netdef-" not in name:
            continue
        m = _NAME.fullmatch(name)
        if m is None or m["kind"] not in kinds:
            continue
        try:
            if owner_gone(name, entry.stat(follow_symlinks=False).st_mtime, now):
                os.unlink(entry.path)
                removed.append(name)
        except OSError:
            continue
    return removed


def checkpoint(step: str) -> None:
    """Mark a step of a multi-file write, for the crash tests.

    ``NETDEF_CRASH_AT=<step>#<n>`` SIGKILLs the process the n-th time it reaches ``step``;
    ``NETDEF_CRASH_TRACE=<file>`` appends every ``<step>#<n>`` reached to that file. Unset, this does nothing.
    """
    crash, trace = os.environ.get("NETDEF_CRASH_AT"), os.environ.get("NETDEF_CRASH_TRACE")
    if not crash and not trace:
        return
    _REACHED[step] = _REACHED.get(step, 0) + 1
    mark = f"{step}#{_REACHED[step]}"
    if trace:
        with open(trace, "a") as f:
            f.write(mark + "\n")
    if crash == mark:
        os.kill(os.getpid(), signal.SIGKILL)


_REACHED: dict[str, int] = {}


def _as_target(exc: OSError, tmp: str, target: str) -> OSError:
    """``exc`` naming ``target`` where it named the temporary ``tmp`` (the user never sees netdef's temp names)."""
    if tmp not in (exc.filename, exc.filename2):
        return exc
    if exc.errno is None:
        return type(exc)(str(exc).replace(tmp, target))
    return type(exc)(exc.errno, exc.strerror, target)


def _make_folder(target: str) -> str:
    """The folder of ``target`` (absolute), created with its missing parents."""
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)
    return directory


def _open_temp(path: str | os.PathLike[str]) -> tuple[str, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = temp_path(path)
        try:
            return tmp, os.open(tmp, flags, 0o666)  # the process umask applies, as for a plain open()
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        except OSError as exc:  # e.g. a folder this process may not write: say so of the target
            raise _as_target(exc, tmp, os.fspath(path)) from None


def _previous_mode(path: str) -> int | None:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


#: bytes written (and hashed) per step by ``write_temp(..., digest=...)``: small enough to stay in cache
#: between the hash and the write
_CHUNK = 1 << 20


def write_temp(path: str | os.PathLike[str], data: bytes | str, digest: Any = None) -> str:
    """Write ``data`` (str as UTF-8) to a new netdef temporary beside ``path``, flushed to disk; return its path.

    ``digest`` (a hashlib object) is updated with the bytes as they are written: one pass over ``data`` both
    hashes and writes it. The temporary takes the permission bits of an existing ``path``. The caller renames
    it into place (or removes it); if writing fails, the temporary is removed and the OSError names ``path``.
    """
    target = os.fspath(path)
    mode = _previous_mode(target)
    _make_folder(target)
    tmp, fd = _open_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            checkpoint("temp:opened")
            data = data.encode() if isinstance(data, str) else data
            if digest is None:
                f.write(data)
            else:
                view = memoryview(data).cast("B")
                for start in range(0, len(view), _CHUNK):
                    chunk = view[start : start + _CHUNK]
                    digest.update(chunk)
                    f.write(chunk)
            f.flush()
            checkpoint("temp:written")
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
    except OSError as exc:
        _remove(tmp)
        renamed = _as_target(exc, tmp, target)
        if renamed is exc:
            raise
        raise renamed from None
    except BaseException:
        _remove(tmp)
        raise
    checkpoint("temp:synced")
    return tmp


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"wb"`` (binary) or ``"w"`` (UTF-8 text). The data is flushed and fsynced before
    the rename. If the ``with`` body raises, the temporary file is removed and any previous file at
    ``path`` is left untouched. An existing file's permission bits are kept. Missing folders above
    ``path`` are created; an OSError names ``path``, never the temporary. Stale temporaries of
    killed netdef writers in the same folder are removed first.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write: mode must be one of {_MODES}, got {mode!r}")
    target = os.fspath(path)
    directory = _make_folder(target)
    clean_stale(directory)
    previous_mode = _previous_mode(target)
    tmp, fd = _open_temp(target)
    try:
        if mode == "wb":
            handle: IO[Any] = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise

    try:
        with handle:
            checkpoint("temp:opened")
            yield handle
            handle.flush()
            checkpoint("temp:written")
            os.fsync(handle.fileno())
        if previous_mode is not None:
            os.chmod(tmp, previous_mode)
        checkpoint("temp:synced")
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        renamed = _as_target(exc, tmp, target)
        if renamed is exc:
            raise
        raise renamed from None
    except BaseException:
        _remove(tmp)
        raise
    checkpoint("atomic_write:replaced")
    fsync_directory(directory)


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike[str], exclusive: bool = True) -> Iterator[bool]:
    """Hold an advisory lock (flock) on ``directory``: exclusive for writers, shared for readers.

    Yields whether the lock is held; where the platform or the folder allows no lock, the body runs
    unlocked. The lock dies with its process, so a killed writer never leaves the folder locked.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield False
        return
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError:  # pragma: no cover - a filesystem without flock
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make renames in ``directory`` durable where the platform allows fsync on a folder."""
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
