"""Atomic file writing: a file is either fully replaced or left exactly as it was."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_write"]

_MODES = ("wb", "w")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"wb"`` (binary) or ``"w"`` (UTF-8 text). The data is flushed and fsynced before
    the rename. If the ``with`` body raises, the temporary file is removed and any previous file at
    ``path`` is left untouched. An existing file's permission bits are kept.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write: mode must be one of {_MODES}, got {mode!r}")
    target = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(target))
    try:
        previous_mode: int | None = os.stat(target).st_mode & 0o7777
    except OSError:
        previous_mode = None

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the process umask applies, as for a plain open()
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue

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
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if previous_mode is not None:
            os.chmod(tmp, previous_mode)
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_directory(directory)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable where the platform allows fsync on a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    finally:
        os.close(fd)
