"""The table of weight formats, filled by each format's own code with ``@weight_format``.

A format registers the suffixes it is read by, its reader of a path (a file, or a FIFO/device with that suffix)
and, for a stream without a known suffix (``<(zcat w.gz)`` is ``/dev/fd/63``), ``sniff`` (whether the stream's
first bytes are this format's) and ``read`` (read the stream). ``load_weights_file`` dispatches through it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from netdef.errors import WeightsFormatError
from netdef.weights.streams import open_weights, prefixed, read_exactly, spool

__all__ = ["FORMATS", "StreamHead", "WeightFormat", "Weights", "format_for", "read_stream", "suffixes", "weight_format"]

#: bytes of a stream's head the formats' ``sniff`` see
HEAD_BYTES = 9


class Weights(dict):
    """``name -> numpy array`` as read from a weights file, in file order.

    ``shaped`` is False for .wts (flat arrays: the module supplies the shapes) and True for formats
    that store shapes, which ``Module.load_weights`` then compares exactly.
    """

    shaped: bool = True


class StreamHead:
    """A weights stream being identified: its first bytes (``head``) and, for a zip archive, its member names.

    ``stream()`` hands the whole stream (its head included) to the format that claims it; ``seekable()`` a copy in
    an unnamed temporary file (made once). Whatever it holds is closed when the ``with`` block ends.
    """

    def __init__(self, f: IO[bytes], where: str) -> None:
        self.where = where
        try:
            self.head = read_exactly(f, HEAD_BYTES)
        except BaseException:
            f.close()
            raise
        self._file, self._spooled, self._names = prefixed(self.head, f), False, None

    @property
    def is_zip(self) -> bool:
        return self.head.startswith((b"PK\x03\x04", b"PK\x05\x06"))

    def zip_names(self) -> list[str]:
        """The member names of a zip archive ([] when it is none, or a broken one: its reader says what is wrong)."""
        if self._names is None:
            self._names = []
            if self.is_zip:
                copy = self.seekable()
                try:
                    with zipfile.ZipFile(copy) as archive:
                        self._names = archive.namelist()
                except (zipfile.BadZipFile, OSError, ValueError):
                    pass
                copy.seek(0)
        return self._names

    def stream(self) -> IO[bytes]:
        return self._file

    def seekable(self) -> IO[bytes]:
        if not self._spooled:
            with self._file:
                self._file = spool(self._file, self.where)
            self._spooled = True
        self._file.seek(0)
        return self._file

    def __enter__(self) -> StreamHead:
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()


@dataclass(frozen=True)
class WeightFormat:
    """One registered weights format (see the module docstring)."""

    name: str
    suffixes: tuple[str, ...]
    load: Callable[[str], Weights]
    sniff: Callable[[StreamHead], bool] | None
    read: Callable[[StreamHead], Weights] | None
    fallback: bool
    listed: bool


#: the registered formats, in registration order (the order streams are sniffed in; the fallback last)
FORMATS: list[WeightFormat] = []


def weight_format(
    name: str,
    *suffixes: str,
    sniff: Callable[[StreamHead], bool] | None = None,
    read: Callable[[StreamHead], Weights] | None = None,
    fallback: bool = False,
    listed: bool = True,
) -> Callable[[Callable[[str], Weights]], Callable[[str], Weights]]:
    """Register the decorated ``load(path) -> Weights`` as the reader of files ending in ``suffixes``.

    ``sniff(head)`` says whether a stream without a known suffix is this format (``read(head)`` then reads it);
    the one ``fallback`` format reads every stream no other format claims. ``listed=False`` keeps its suffixes
    out of ``suffixes()`` (the list shown in messages).
    """
    if (sniff is not None or fallback) and read is None:
        raise ValueError(f"weight format {name!r}: a format that reads streams needs read=")

    def wrap(load: Callable[[str], Weights]) -> Callable[[str], Weights]:
        lowered = tuple(s.lower() for s in suffixes)
        others = [f for f in FORMATS if f.name != name]
        taken = [s for f in others for s in f.suffixes if s in lowered]
        if taken:
            raise ValueError(f"weight format {name!r}: suffixes {taken} are registered by another format")
        if fallback and any(f.fallback for f in others):
            raise ValueError(f"weight format {name!r}: another format is the fallback already")
        FORMATS[:] = [*others, WeightFormat(name, lowered, load, sniff, read, fallback, listed)]
        return load

    return wrap


def suffixes() -> tuple[str, ...]:
    """The suffixes of every listed format, in registration order."""
    return tuple(s for f in FORMATS if f.listed for s in f.suffixes)


def format_for(path: str) -> WeightFormat | None:
    """The format whose suffix ``path`` ends in (the longest match: ``.safetensors.index.json``), else None."""
    name = os.path.basename(path).lower()
    found = [(len(s), f) for f in FORMATS for s in f.suffixes if name.endswith(s) and len(name) > len(s)]
    return max(found, key=lambda item: item[0])[1] if found else None


def read_stream(where: str) -> Weights:
    """Read the weights stream ``where`` (a FIFO or device without a known suffix), telling its format by its first
    bytes: the first format whose ``sniff`` claims it, else the fallback format."""
    with StreamHead(open_weights(where), where) as head:
        if not head.head:
            raise WeightsFormatError(
                f"{where}: the stream is empty; expected the bytes of a weights file ({', '.join(suffixes())})"
            )
        for fmt in FORMATS:
            if fmt.sniff is not None and fmt.read is not None and fmt.sniff(head):
                return fmt.read(head)
        fallback = [f for f in FORMATS if f.fallback]
        if not fallback:
            raise WeightsFormatError(
                f"{where}: no weights format recognizes this stream's first bytes {head.head!r}; name the file with "
                f"its suffix ({', '.join(suffixes())})"
            )
        return fallback[0].read(head)
