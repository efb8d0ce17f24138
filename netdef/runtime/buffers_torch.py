"""Buffers as torch CUDA tensors: zero-copy for inputs already on the GPU, a torch stream for the work."""

from __future__ import annotations

import numpy as np

from netdef.errors import EngineError


class TorchBuffers:
    """Inputs and outputs held as torch CUDA tensors; outputs are returned as CUDA tensors or numpy."""

    name = "torch"

    def __init__(self, device: int = 0) -> None:
        import torch

        if not torch.cuda.is_available():
            raise EngineError("the torch buffer provider needs a CUDA build of torch and a visible GPU")
        self._torch = torch
        self.device = torch.device("cuda", device)
        self.stream = torch.cuda.Stream(self.device)
        self._keep: dict[str, object] = {}
        self._outputs: dict[str, object] = {}

    @property
    def stream_handle(self) -> int:
        return self.stream.cuda_stream

    def __enter__(self) -> TorchBuffers:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def put(self, name: str, array) -> int:
        """The device address of ``array`` (a CUDA tensor is used in place; anything else is copied over)."""
        torch = self._torch
        if isinstance(array, torch.Tensor) and array.is_cuda:
            # the engine reads it on our stream: order it after the producer's stream
            self.stream.wait_stream(torch.cuda.current_stream(array.device))
            with torch.cuda.stream(self.stream):
                t = array.to(self.device).contiguous()  # the tensor itself when already dense on our device
        else:
            src = array if isinstance(array, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(array))
            with torch.cuda.stream(self.stream):
                t = src.contiguous().pin_memory().to(self.device, non_blocking=True)
        self._keep[name] = t
        return t.data_ptr()

    def output(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> int:
        torch = self._torch
        with torch.cuda.stream(self.stream):  # allocated for our stream, so never reused while the engine writes
            t = torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, device=self.device)
        self._outputs[name] = t
        return t.data_ptr()

    def fetch(self, as_numpy: bool = True) -> dict:
        """Wait for the stream; outputs as numpy arrays (or the CUDA tensors themselves)."""
        self.stream.synchronize()
        out = self._outputs
        self._outputs, self._keep = {}, {}
        if as_numpy:
            return {k: v.cpu().numpy() for k, v in out.items()}
        return out
