"""Which GPU is here, and whether the installed TensorRT backend can run engines on it."""

from __future__ import annotations

from dataclasses import dataclass

from netdef._trt import BACKEND, trt
from netdef.errors import EngineError

#: TensorRT-RTX runs on Turing, Ampere, Ada and Blackwell consumer/workstation GPUs, not Hopper.
RTX_SUPPORTED = {(7, 5), (8, 0), (8, 6), (8, 9)}


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int]


def gpu_from(library: str) -> Gpu | None:
    """Device 0 (torch: the current device) as ``library`` ('torch', 'pycuda', 'cuda-python') sees it; None when
    the library is missing or sees no GPU."""
    try:
        if library == "torch":
            import torch

            if torch.cuda.is_available():
                i = torch.cuda.current_device()
                return Gpu(torch.cuda.get_device_name(i), tuple(torch.cuda.get_device_capability(i)))
        elif library == "pycuda":
            import pycuda.driver as cuda

            cuda.init()
            if cuda.Device.count():
                dev = cuda.Device(0)
                return Gpu(dev.name(), tuple(dev.compute_capability()))
        elif library == "cuda-python":
            from netdef.runtime.buffers import cuda_runtime

            cudart = cuda_runtime()
            err, count = cudart.cudaGetDeviceCount()
            if int(err) == 0 and count:
                err, props = cudart.cudaGetDeviceProperties(0)
                if int(err) == 0:
                    raw = props.name
                    name = raw.split(b"\0", 1)[0].decode() if isinstance(raw, bytes) else str(raw)
                    return Gpu(name, (int(props.major), int(props.minor)))
    except Exception:  # the library is missing, or the driver refuses: both mean "no GPU it can use"
        pass
    return None


def current_gpu() -> Gpu | None:
    """The current CUDA device, found through torch, pycuda or cuda-python; None when there is no usable GPU."""
    for library in ("torch", "pycuda", "cuda-python"):
        gpu = gpu_from(library)
        if gpu is not None:
            return gpu
    return None


def backend_supports(cc: tuple[int, int], backend: str = BACKEND) -> bool:
    if backend == "tensorrt_rtx":
        return cc in RTX_SUPPORTED or cc[0] == 12
    return cc >= (7, 5)


_FULL_TENSORRT = (
    "TensorRT-RTX does not support this GPU (it runs on compute capability 7.5, 8.0, 8.6, 8.9 and 12.x; "
    "Hopper 9.0 and data-center Blackwell 10.x need full TensorRT): install full TensorRT "
    "(`pip install tensorrt` from NVIDIA's index), then rebuild the engine with NETDEF_BACKEND=tensorrt"
)


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
        hint = _FULL_TENSORRT if BACKEND == "tensorrt_rtx" else "this TensorRT does not support it"
        raise EngineError(f"cannot {action} on {gpu.name} (compute capability {major}.{minor}): {hint}")
    return gpu


#: the first bytes of a serialized engine, per backend (TensorRT-RTX "vtrt", full TensorRT "ftrt")
ENGINE_MAGIC = {"tensorrt": b"ftrt", "tensorrt_rtx": b"vtrt"}
_NAMES = {"tensorrt": "full TensorRT", "tensorrt_rtx": "TensorRT-RTX"}


def check_engine_bytes(data: bytes, where: str, backend: str = BACKEND) -> None:
    """Raise EngineError when ``data`` cannot be an engine of ``backend``: empty, or another backend's engine.

    Needs no GPU; what it cannot tell, the backend's validity query and deserializer tell.
    """
    if len(data) < 16:
        raise EngineError(
            f"{where} holds {len(data)} bytes: not a serialized engine (an empty or truncated file); "
            "rebuild it with `netdef build`"
        )
    for other, magic in ENGINE_MAGIC.items():
        if other != backend and data[:4] == magic:
            raise EngineError(
                f"{where} is a {_NAMES[other]} engine but this process uses {_NAMES.get(backend, backend)}: "
                f"engines load only in the backend that built them; set NETDEF_BACKEND={other} if it is installed, "
                "or rebuild the engine with this backend"
            )


#: what to do about each of TensorRT-RTX's EngineInvalidityDiagnostics
INVALIDITY_ADVICE = {
    "VERSION_MISMATCH": "it was built by another TensorRT-RTX version: rebuild it with the installed one",
    "UNSUPPORTED_CC": "it was built for other GPUs: rebuild it with compute_capabilities naming this GPU "
    "(e.g. --compute-capability SM{cc}) or on this machine",
    "OLD_CUDA_DRIVER": "the NVIDIA driver is too old for this TensorRT-RTX: update the driver",
    "OLD_CUDA_RUNTIME": "the CUDA runtime is too old for this engine: install the CUDA runtime the "
    "tensorrt-rtx wheel was made for",
    "INSUFFICIENT_GPU_MEMORY": "the GPU lacks the memory this engine needs: free GPU memory, or rebuild with "
    "a smaller workspace or batch",
    "MALFORMED_ENGINE": "the bytes are not a whole TensorRT-RTX engine (corrupt, truncated, or from another "
    "backend): rebuild it",
    "CUDA_ERROR": "a CUDA error stopped the check (see TensorRT's messages)",
}


def explain_invalid_engine(where: str, diagnostics: int, gpu: Gpu | None, problems: list[str] = ()) -> str:
    """The message for an engine the backend's validity query calls INVALID: each reason with what to do."""
    flags = trt.EngineInvalidityDiagnostics.__members__ if hasattr(trt, "EngineInvalidityDiagnostics") else {}
    reasons = [name for name, flag in flags.items() if int(diagnostics) & int(flag)]
    cc = "".join(map(str, gpu.compute_capability)) if gpu else "XY"
    advice = [f"{name}: {INVALIDITY_ADVICE.get(name, 'see TensorRT messages').format(cc=cc)}" for name in reasons]
    if gpu is not None and "UNSUPPORTED_CC" in reasons and not backend_supports(gpu.compute_capability):
        advice[reasons.index("UNSUPPORTED_CC")] = f"UNSUPPORTED_CC: {_FULL_TENSORRT}"
    on = f" on {gpu.name} (compute capability {'.'.join(map(str, gpu.compute_capability))})" if gpu else ""
    text = f"{where} cannot run{on}: " + ("; ".join(advice) or "TensorRT-RTX gave no reason")
    if problems:
        text += f" (TensorRT: {'; '.join(problems)})"
    return text
