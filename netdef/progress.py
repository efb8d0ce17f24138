"""Progress for long work: shown on a terminal, silent in logs and CI.

A progress line is drawn only when the stream is a TTY, ``quiet`` is not set, and ``NETDEF_QUIET`` is unset or
``0``. Engine builds report TensorRT's own phases (``netdef.build.BuildProgress``). Nothing here imports TensorRT,
so the weights readers and writers use it too.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

T = TypeVar("T")

#: set to 1 to turn progress lines off everywhere (``netdef --quiet`` and ``progress=False`` do it per run)
QUIET_ENV = "NETDEF_QUIET"


_silenced = 0


@contextmanager
def silenced() -> Iterator[None]:
    """No progress lines inside (``netdef --quiet``)."""
    global _silenced
    _silenced += 1
    try:
        yield
    finally:
        _silenced -= 1


def enabled(stream: IO[str] | None = None, quiet: bool | None = None) -> bool:
    """Whether a progress line may be drawn on ``stream`` (stderr by default)."""
    if quiet or _silenced or os.environ.get(QUIET_ENV, "0") not in ("", "0"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class Line:
    """One status line, redrawn in place (at most ~10 times a second) and cleared when done."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 0.1) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self._last = 0.0
        self._width = 0

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = text[:119]
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def track(
    items: Iterable[T],
    description: str,
    total: int | None = None,
    stream: IO[str] | None = None,
    quiet: bool | None = None,
) -> Iterator[T]:
    """Yield ``items``, drawing ``description  k/total`` while they are consumed (nothing when not a TTY)."""
    if not enabled(stream, quiet):
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    line = Line(stream)
    try:
        for k, item in enumerate(items, 1):
            yield item
            line.show(f"{description}  {k}/{total}" if total else f"{description}  {k}", force=k == total)
    finally:
        line.close()
