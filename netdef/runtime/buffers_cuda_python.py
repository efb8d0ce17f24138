"""Buffers through NVIDIA's cuda-python (``cuda.bindings.runtime``): cudaHostAlloc, cudaMalloc, cudaMemcpyAsync."""

from __future__ import annotations

import ctypes
import weakref

import numpy as np

from netdef.errors import EngineError
from netdef.runtime.buffers import (
    CUDA_PYTHON_INSTALL,
    Event,
    Provider,
    cuda_error_text,
    cuda_runtime,
    register_provider,
)


def problem() -> str | None:
    """Why cuda-python cannot hold buffers here: not installed, or CUDA fails or finds no GPU."""
    try:
        cudart = cuda_runtime()
    except EngineError:
        return "cuda-python is not installed"
    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0:
        return f"cuda-python cannot initialize CUDA ({cuda_error_text(cudart, err)})"
    return None if count else "cuda-python sees no CUDA GPU"


def check(cudart, result, what: str):
    """The values of a cuda-python call after its error code, or an EngineError naming the call and the error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise EngineError(f"{what} failed: {cuda_error_text(cudart, err)}")
    return values[0] if len(values) == 1 else tuple(values)


class _CudaEvent(Event):
    def __init__(self, cudart, stream) -> None:
        self._cudart = cudart
        self.event = check(cudart, cudart.cudaEventCreateWithFlags(cudart.cudaEventDisableTiming), "cudaEventCreate")
        weakref.finalize(self, cudart.cudaEventDestroy, self.event)
        check(cudart, cudart.cudaEventRecord(self.event, stream), "cudaEventRecord")

    def done(self) -> bool:
        (err,) = self._cudart.cudaEventQuery(self.event)
        if err == self._cudart.cudaError_t.cudaErrorNotReady:
            return False
        check(self._cudart, (err,), "cudaEventQuery")
        return True

    def synchronize(self) -> None:
        check(self._cudart, self._cudart.cudaEventSynchronize(self.event), "cudaEventSynchronize")


class _DeviceMemory:
    """A cudaMalloc allocation, freed when dropped."""

    def __init__(self, cudart, size: int) -> None:
        self.address = int(check(cudart, cudart.cudaMalloc(size), f"cudaMalloc({size})"))
        weakref.finalize(self, cudart.cudaFree, self.address)

    def __int__(self) -> int:
        return self.address


@register_provider("cuda-python", install=CUDA_PYTHON_INSTALL, problem=problem, auto=1)
class CudaPythonBuffers(Provider):
    """Page-locked host memory (cudaHostAlloc), device memory (cudaMalloc) and a non-blocking stream, all
    through the runtime API on the device's primary context (the one TensorRT and torch use)."""

    name = "cuda-python"

    def __init__(self, device: int = 0) -> None:
        cudart = cuda_runtime()
        self._cudart = cudart
        self.device = device
        self._set_device()
        self.stream = check(
            cudart, cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags"
        )
        weakref.finalize(self, cudart.cudaStreamDestroy, self.stream)
        self._kind = cudart.cudaMemcpyKind

    def _set_device(self) -> None:
        check(self._cudart, self._cudart.cudaSetDevice(self.device), f"cudaSetDevice({self.device})")

    @property
    def stream_handle(self) -> int:
        return int(self.stream)

    def activate(self):
        self._set_device()  # the runtime API's current device is per thread
        return super().activate()

    def device_buffer(self, size: int) -> _DeviceMemory:
        return _DeviceMemory(self._cudart, max(int(size), 1))

    def host_buffer(self, size: int) -> np.ndarray:
        size = max(int(size), 1)
        cudart = self._cudart
        address = int(check(cudart, cudart.cudaHostAlloc(size, cudart.cudaHostAllocDefault), f"cudaHostAlloc({size})"))
        raw = (ctypes.c_uint8 * size).from_address(address)
        weakref.finalize(raw, cudart.cudaFreeHost, address)  # the array's base keeps ``raw`` alive
        return np.frombuffer(raw, dtype=np.uint8)

    def h2d(self, dst: int, src: np.ndarray) -> None:
        call = self._cudart.cudaMemcpyAsync(
            dst, src.ctypes.data, src.nbytes, self._kind.cudaMemcpyHostToDevice, self.stream
        )
        check(self._cudart, call, "cudaMemcpyAsync (host to device)")

    def d2h(self, dst: np.ndarray, src: int) -> None:
        call = self._cudart.cudaMemcpyAsync(
            dst.ctypes.data, src, dst.nbytes, self._kind.cudaMemcpyDeviceToHost, self.stream
        )
        check(self._cudart, call, "cudaMemcpyAsync (device to host)")

    def d2d(self, dst: int, src: int, size: int) -> None:
        call = self._cudart.cudaMemcpyAsync(dst, src, size, self._kind.cudaMemcpyDeviceToDevice, self.stream)
        check(self._cudart, call, "cudaMemcpyAsync (device to device)")

    def record(self) -> Event:
        return _CudaEvent(self._cudart, self.stream)

    def synchronize(self) -> None:
        check(self._cudart, self._cudart.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
