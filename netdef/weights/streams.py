"""Opening weight files that may not be regular files: a FIFO (``<(...)``, ``mkfifo``), ``/dev/stdin``, a device.

Such a file has no size and cannot seek or be memory-mapped, so it is read once, front to back, as a stream; a
reader that needs random access (safetensors, .npz, torch checkpoints, the .wts window) gets a seekable copy in an
unnamed temporary file (``spool``), never the whole stream in memory. A FIFO that no process opens for writing
is an error after ``FIFO_WAIT_SECONDS``, not a read that blocks forever.
"""

from __future__ import annotations

import io
import os
import select
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import IO

from netdef.errors import WeightsFormatError

__all__ = ["FIFO_WAIT_SECONDS", "is_regular", "open_weights", "prefixed", "read_exactly", "spool"]

#: how long opening a FIFO waits for a process to open it for writing (process substitution has one already)
FIFO_WAIT_SECONDS = 2.0
_CHUNK = 1 << 20


def open_weights(path: str | os.PathLike, what: str = "weights file") -> IO[bytes]:
    """``path`` opened for binary reading (unbuffered); WeightsFormatError naming it if it cannot be read.

    A regular file opens as usual. A FIFO is opened without blocking, then waits up to ``FIFO_WAIT_SECONDS``
    for data or a writer; a character or block device opens as a stream. Folders and sockets are refused.
    """
    where = os.fspath(path)
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise WeightsFormatError(f"{where}: no such {what}") from None
    except IsADirectoryError:
        raise WeightsFormatError(f"{where}: a directory, not {_a(what)}") from None
    except OSError as exc:
        raise WeightsFormatError(f"{where}: cannot read this {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise WeightsFormatError(f"{where}: a directory, not {_a(what)}")
        first = b""
        if stat.S_ISFIFO(mode):
            first = _wait_for_writer(fd, where)
        elif not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
            raise WeightsFormatError(
                f"{where}: not a regular file, FIFO or device (a socket?), so not a readable {what}"
            )
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # reads block again: a slow writer is waited for
        f = os.fdopen(fd, "rb", buffering=0)
        return _Prefixed(first, f) if first else f
    except BaseException:
        os.close(fd)
        raise


def _wait_for_writer(fd: int, where: str) -> bytes:
    """Return once the FIFO ``fd`` (opened without blocking) has data, or a writer that came and went; raise if no
    process opens it for writing within ``FIFO_WAIT_SECONDS`` (reading on would block forever).

    Returns the byte read to tell a slow writer from none, if data came just then (else b"").
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if poller.poll(int(FIFO_WAIT_SECONDS * 1000)):
        return b""  # data, or a writer that has already closed (the stream is then empty)
    try:  # nothing came: a writer may be there and slow (no data yet), or there is none (end of file)
        first = os.read(fd, 1)
    except BlockingIOError:
        return b""
    if first:  # data arrived between the poll and the read
        return first
    raise WeightsFormatError(
        f"{where}: a FIFO that no process opened for writing within {FIFO_WAIT_SECONDS:g} s (or whose writer wrote "
        "nothing), so there is nothing to read: start its writer first (e.g. `gen_weights > FIFO &`), or pass the "
        "data with process substitution <(...)"
    )


def _a(what: str) -> str:
    return ("an " if what[:1] in "aeiou" else "a ") + what


class _Prefixed(io.RawIOBase):
    """A raw stream that yields ``prefix`` and then the rest of the file ``f``."""

    def __init__(self, prefix: bytes, f: IO[bytes]) -> None:
        self.prefix, self.file = prefix, f

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.file.fileno()

    def readinto(self, buffer) -> int:
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        return self.file.readinto(buffer)

    def close(self) -> None:
        self.file.close()
        super().close()


def prefixed(head: bytes, f: IO[bytes]) -> IO[bytes]:
    """A stream that yields ``head`` (bytes already read from ``f``) and then the rest of ``f``."""
    return _Prefixed(head, f) if head else f


def read_exactly(f: IO[bytes], count: int) -> bytes:
    """The next ``count`` bytes of ``f`` (fewer only where the stream ends), however many reads a pipe needs."""
    chunks, left = [], count
    while left:
        chunk = f.read(min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def is_regular(f: IO[bytes]) -> bool:
    """Whether the open file ``f`` is a regular file (which has a size, seeks and memory-maps)."""
    return stat.S_ISREG(os.fstat(f.fileno()).st_mode)


def spool(f: IO[bytes], where: str, check_head: Callable[[bytes], None] | None = None) -> IO[bytes]:
    """A seekable copy of the stream ``f``, read to its end, in an unnamed temporary file, at offset 0.

    ``check_head`` sees the first bytes read (up to 1 MiB) and raises if they cannot start this format, so that
    an endless stream of junk (``/dev/zero``) is refused at once instead of copied.
    """
    out = tempfile.TemporaryFile()
    try:
        try:
            head = f.read(_CHUNK) or b""
            if check_head is not None:
                check_head(head)
            out.write(head)
            shutil.copyfileobj(f, out, _CHUNK)
            out.flush()
        except OSError as exc:  # reading the stream, or writing the copy (a full disk)
            raise WeightsFormatError(
                f"{where}: cannot copy the stream to a temporary file ({tempfile.gettempdir()}): {exc.strerror or exc}"
            ) from None
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
