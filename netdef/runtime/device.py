"""Which GPU is here, and whether the installed TensorRT backend can run engines on it."""

from __future__ import annotations

from dataclasses import dataclass

from netdef._trt import BACKEND
from netdef.errors import EngineError

#: TensorRT-RTX runs on Turing, Ampere, Ada and Blackwell consumer/workstation GPUs, not Hopper.
RTX_SUPPORTED = {(7, 5), (8, 0), (8, 6), (8, 9)}


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int]


def current_gpu() -> Gpu | None:
    """The current CUDA device, found through torch or pycuda; None when there is no usable GPU."""
    try:
        import torch

        if torch.cuda.is_available():
            i = torch.cuda.current_device()
            return Gpu(torch.cuda.get_device_name(i), tuple(torch.cuda.get_device_capability(i)))
    except ImportError:
        pass
    try:
        import pycuda.driver as cuda

        cuda.init()
        if cuda.Device.count():
            dev = cuda.Device(0)
            return Gpu(dev.name(), tuple(dev.compute_capability()))
    except Exception:  # pycuda missing, or no driver: both mean "no GPU we can use"
        pass
    return None


def backend_supports(cc: tuple[int, int], backend: str = BACKEND) -> bool:
    if backend == "tensorrt_rtx":
        return cc in RTX_SUPPORTED or cc[0] == 12
    return cc >= (7, 5)


def require_gpu(action: str = "run an engine") -> Gpu:
    """The current GPU, or an EngineError saying why ``action`` cannot happen on this machine."""
    gpu = current_gpu()
    if gpu is None:
        raise EngineError(
            f"cannot {action}: no CUDA GPU is visible to this process (check `nvidia-smi` and the driver). "
            "Building engines and the CPU reference interpreter (netdef.reference.run) work without one."
        )
    if not backend_supports(gpu.compute_capability):
        major, minor = gpu.compute_capability
        hint = (
            "TensorRT-RTX does not support this GPU (it runs on compute capability 7.5, 8.0, 8.6, 8.9 and 12.x; "
            "Hopper 9.0 and data-center Blackwell 10.x need full TensorRT): install full TensorRT "
            "(`pip install tensorrt` from NVIDIA's index), then rebuild the engine with NETDEF_BACKEND=tensorrt"
            if BACKEND == "tensorrt_rtx"
            else "this TensorRT does not support it"
        )
        raise EngineError(f"cannot {action} on {gpu.name} (compute capability {major}.{minor}): {hint}")
    return gpu
