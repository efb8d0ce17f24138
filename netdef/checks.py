"""Argument checks of the public API: the files netdef reads and writes (build options: ``build.BuildOptions``).

Each raises a netdef error naming the argument and what to pass instead, before any work is done.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from netdef.errors import ArgumentError, NetdefError


def readable_file(path, what: str, error: type[NetdefError] = NetdefError, streams: bool = False) -> str:
    """``path`` as a str when it names a regular file this process may read; ``error`` saying why not.

    Checked before opening: a directory, a FIFO (which would block the read) or a device is refused, unless
    ``streams``: then a FIFO or device passes, for a reader that reads it as a stream and does not block forever
    on a FIFO without a writer (``netdef.weights.streams.open_weights``).
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ArgumentError(f"{what} must be a file path, got {path!r}")
    where = os.fspath(path)
    try:
        mode = os.stat(where).st_mode
    except FileNotFoundError:
        raise error(f"{where}: no such {what}") from None
    except OSError as exc:
        raise error(f"{where}: cannot read this {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{where}: a directory, not {_a(what)}")
    if streams and not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
        raise error(f"{where}: not a regular file, FIFO or device (a socket?), so not a usable {what}")
    if not streams and not stat.S_ISREG(mode):
        raise error(f"{where}: not a regular file (a FIFO, socket or device), so not a usable {what}")
    if not os.access(where, os.R_OK):
        raise error(f"{where}: cannot read this {what}: permission denied")
    return where


def writable_path(path, what: str, error: type[NetdefError] = NetdefError) -> str:
    """``path`` as a str when a file may be written there (missing folders are created later); ``error`` if not."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise error(f"{what} must be a file path, got {path!r}")
    where = os.fspath(path)
    if os.path.isdir(where):
        raise error(f"{what} {where} is a directory; give a file path (inside it)")
    if os.path.lexists(where) and not os.path.isfile(where):
        raise error(f"{what} {where} exists and is not a regular file (a FIFO, socket, device or broken link)")
    parent = os.path.dirname(os.path.abspath(where))
    while not os.path.exists(parent):  # the nearest existing folder is where the file (or its folders) go
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise error(f"{what} {where}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise error(f"{what} {where}: the folder {parent} is not writable")
    return where


def new_output(
    path, what: str, force: bool = False, error: type[NetdefError] = NetdefError, inputs: Sequence = ()
) -> str:
    """``path`` as a str when a file may be written there and nothing there would be lost: ``error`` if ``path``
    exists, unless ``force`` (never a folder or other non-regular file, see ``writable_path``; never one of
    ``inputs``, the files this run reads)."""
    where = writable_path(path, what, error)
    for given in inputs:
        if given is not None and os.path.exists(where) and os.path.exists(given) and os.path.samefile(given, where):
            raise error(f"{what} {where} would overwrite {given}, an input of this run: choose another path")
    if not force and os.path.lexists(where):
        raise error(f"{what} {where} exists; refusing to replace it (--force or force=True replaces it)")
    return where


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
