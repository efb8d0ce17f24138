"""Buffers the classic way: pycuda page-locked host memory, device allocations, async copies on a stream."""

from __future__ import annotations

import numpy as np

from netdef.errors import EngineError
from netdef.runtime.plan import nbytes


class PycudaBuffers:
    """Page-locked host + device buffer pairs per tensor name, reused while they are large enough."""

    name = "pycuda"

    def __init__(self, device: int = 0) -> None:
        try:
            import pycuda.driver as cuda
        except ImportError:
            raise EngineError("the pycuda buffer provider needs `pip install pycuda`") from None
        cuda.init()
        self._cuda = cuda
        # the primary context is the one TensorRT and torch use: share it instead of making our own
        self._context = cuda.Device(device).retain_primary_context()
        self._context.push()
        try:
            self.stream = cuda.Stream()
        finally:
            self._context.pop()
        self._host: dict[str, np.ndarray] = {}
        self._device: dict[str, object] = {}
        self._capacity: dict[str, int] = {}
        self._pending: dict[str, np.ndarray] = {}

    @property
    def stream_handle(self) -> int:
        return self.stream.handle

    def __enter__(self) -> PycudaBuffers:
        self._context.push()
        return self

    def __exit__(self, *exc) -> None:
        self._context.pop()

    def _slot(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, object]:
        size = max(nbytes(shape, dtype), 1)
        if self._capacity.get(name, -1) < size:
            if name in self._capacity:  # the old pair may still be in a queued copy: let it finish first
                self.stream.synchronize()
            self._host[name] = self._cuda.pagelocked_empty(size, np.uint8)
            self._device[name] = self._cuda.mem_alloc(size)
            self._capacity[name] = size
        host = self._host[name][: nbytes(shape, dtype)].view(dtype).reshape(shape)
        return host, self._device[name]

    def put(self, name: str, array: np.ndarray) -> int:
        """Stage ``array`` in page-locked memory and start its copy to the device; returns the device address."""
        host, dev = self._slot(name, array.shape, array.dtype)
        np.copyto(host, array)
        self._cuda.memcpy_htod_async(dev, host, self.stream)
        return int(dev)

    def output(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> int:
        """A device buffer for an output; its copy back is queued by ``fetch``."""
        host, dev = self._slot(name, shape, np.dtype(dtype))
        self._pending[name] = host
        return int(dev)

    def fetch(self) -> dict[str, np.ndarray]:
        """Queue device-to-host copies of the outputs, wait for the stream, return copies of them."""
        for name, host in self._pending.items():
            self._cuda.memcpy_dtoh_async(host, self._device[name], self.stream)
        self.stream.synchronize()
        out = {name: host.copy() for name, host in self._pending.items()}
        self._pending = {}
        return out
