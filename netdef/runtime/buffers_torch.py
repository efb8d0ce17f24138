"""Buffers as torch CUDA tensors on a torch stream; pinned host memory from torch; outputs can stay torch tensors."""

from __future__ import annotations

import importlib.util

import numpy as np

from netdef.errors import EngineError
from netdef.runtime.buffers import Provider, QueryEvent, register_provider, torch_dtype

INSTALL = "a CUDA build of torch (https://pytorch.org, e.g. `pip install torch --index-url .../cu128`)"


def problem() -> str | None:
    """Why torch cannot hold buffers here: not installed, or a build that sees no CUDA GPU."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA GPU" + (
            " (a CPU-only build)" if torch.version.cuda is None else ""
        )
    return None


@register_provider("torch", install=INSTALL, problem=problem, auto=0)  # auto's first: zero-copy torch tensors
class TorchBuffers(Provider):
    """Device memory from torch's caching allocator (allocated for this provider's stream), pinned host memory."""

    name = "torch"

    def __init__(self, device: int = 0) -> None:
        why = problem()
        if why:
            raise EngineError(f"the torch buffer provider needs {INSTALL} and a visible GPU: {why}")
        import torch

        self._torch = torch
        self.device = device
        self.torch_device = torch.device("cuda", device)
        self.stream = torch.cuda.Stream(self.torch_device)

    @property
    def stream_handle(self) -> int:
        return self.stream.cuda_stream

    def _view(self, address: int, size: int):
        """A uint8 CUDA tensor over ``size`` bytes at ``address`` (no copy)."""
        from netdef.runtime.buffers import DeviceArray

        return self._torch.as_tensor(DeviceArray(None, address, (size,), np.uint8), device=self.torch_device)

    def device_buffer(self, size: int):
        with self._torch.cuda.stream(self.stream):  # freed memory is reused only after this stream's work
            return _TorchBuffer(self._torch.empty(max(int(size), 1), dtype=self._torch.uint8, device=self.torch_device))

    def host_buffer(self, size: int) -> np.ndarray:
        return self._torch.empty(max(int(size), 1), dtype=self._torch.uint8, pin_memory=True).numpy()

    def h2d(self, dst: int, src: np.ndarray) -> None:
        with self._torch.cuda.stream(self.stream):
            self._view(dst, src.nbytes).copy_(self._torch.from_numpy(src), non_blocking=True)

    def d2h(self, dst: np.ndarray, src: int) -> None:
        with self._torch.cuda.stream(self.stream):
            self._torch.from_numpy(dst).copy_(self._view(src, dst.nbytes), non_blocking=True)

    def d2d(self, dst: int, src: int, size: int) -> None:
        with self._torch.cuda.stream(self.stream):
            self._view(dst, size).copy_(self._view(src, size), non_blocking=True)

    def record(self) -> QueryEvent:
        event = self._torch.cuda.Event()
        event.record(self.stream)
        return QueryEvent(event)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def wait_torch(self, tensor) -> None:
        self.stream.wait_stream(self._torch.cuda.current_stream(tensor.device))

    def device_array(self, shape: tuple[int, ...], dtype: np.dtype):
        """Outputs handed over as torch CUDA tensors (bfloat16 included), allocated for this stream."""
        with self._torch.cuda.stream(self.stream):
            t = self._torch.empty(tuple(shape), dtype=torch_dtype(dtype), device=self.torch_device)
        return t, t.data_ptr()


class _TorchBuffer:
    """A uint8 CUDA tensor used as raw device memory."""

    def __init__(self, tensor) -> None:
        self.tensor = tensor

    def __int__(self) -> int:
        return self.tensor.data_ptr()
