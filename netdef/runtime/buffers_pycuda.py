"""Buffers the classic way: pycuda page-locked host memory, device allocations, async copies on a stream."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

import numpy as np

from netdef.errors import EngineError
from netdef.runtime.buffers import Provider, QueryEvent, register_provider

INSTALL = "`pip install pycuda` (or `pip install netdef[gpu]`)"


def problem() -> str | None:
    """Why pycuda cannot hold buffers here: not installed, or no GPU it can initialize."""
    if importlib.util.find_spec("pycuda") is None:
        return "pycuda is not installed"
    try:
        import pycuda.driver as cuda

        cuda.init()
        return None if cuda.Device.count() else "pycuda sees no CUDA GPU"
    except Exception as exc:  # the driver is missing or refuses: both mean no GPU for pycuda
        return f"pycuda cannot initialize CUDA ({exc})"


#: CU_STREAM_NON_BLOCKING: no implicit ordering with the legacy default stream (torch's default stream)
_NON_BLOCKING = 1


@register_provider("pycuda", install=INSTALL, problem=problem, auto=2)  # the classic route, auto's last
class PycudaBuffers(Provider):
    """``pagelocked_empty`` host memory, ``mem_alloc`` device memory, ``memcpy_*_async`` on a ``Stream``, in the
    device's primary context (the one TensorRT and torch use)."""

    name = "pycuda"

    def __init__(self, device: int = 0) -> None:
        try:
            import pycuda.driver as cuda
        except ImportError:
            raise EngineError(f"the pycuda buffer provider needs {INSTALL}") from None
        try:
            cuda.init()
            self._context = cuda.Device(device).retain_primary_context()
        except cuda.Error as exc:
            raise EngineError(f"pycuda cannot use GPU {device}: {exc}") from None
        self._cuda = cuda
        self.device = device
        with self.activate():
            self.stream = cuda.Stream(_NON_BLOCKING)

    @property
    def stream_handle(self) -> int:
        return self.stream.handle

    @contextlib.contextmanager
    def activate(self) -> Iterator[PycudaBuffers]:
        self._context.push()
        try:
            yield self
        finally:
            self._cuda.Context.pop()

    def device_buffer(self, size: int):
        return self._cuda.mem_alloc(max(int(size), 1))

    def host_buffer(self, size: int) -> np.ndarray:
        return self._cuda.pagelocked_empty(max(int(size), 1), np.uint8)

    def h2d(self, dst: int, src: np.ndarray) -> None:
        self._cuda.memcpy_htod_async(dst, src, self.stream)

    def d2h(self, dst: np.ndarray, src: int) -> None:
        self._cuda.memcpy_dtoh_async(dst, src, self.stream)

    def d2d(self, dst: int, src: int, size: int) -> None:
        self._cuda.memcpy_dtod_async(dst, src, size, self.stream)

    def record(self) -> QueryEvent:
        event = self._cuda.Event()
        event.record(self.stream)
        return QueryEvent(event)

    def synchronize(self) -> None:
        self.stream.synchronize()
