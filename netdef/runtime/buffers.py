"""Buffer providers: who allocates page-locked host memory and device memory, and queues copies on a stream.

Three providers do the same job with different libraries: ``torch`` (torch CUDA tensors and streams),
``pycuda`` (the classic TensorRT route) and ``cuda-python`` (NVIDIA's ``cuda.bindings``). Each execution
context owns one provider instance: one stream, and the memory that context runs with. A provider is not
thread-safe; the execution context that owns it serializes its use.

``choose_provider`` picks one: an explicit name wins, then the ``NETDEF_PROVIDER`` environment variable, then
the first of torch, cuda-python, pycuda that can see a GPU.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from netdef.errors import EngineError

ENV = "NETDEF_PROVIDER"
#: the install hint of cuda-python, shared by its provider and the other users of ``cuda_runtime``
CUDA_PYTHON_INSTALL = "`pip install cuda-python` (or `pip install netdef[gpu]`)"


@dataclass(frozen=True)
class ProviderEntry:
    """A registered buffer provider: its name, how to install its library, why it cannot run here (None when
    it can), and ``auto``: its place in the order ``auto`` tries providers in (None: never picked by auto)."""

    name: str
    install: str
    problem: Callable[[], str | None]
    factory: Callable[[int], Provider]
    auto: int | None


_ENTRIES: dict[str, ProviderEntry] = {}


def register_provider(
    name: str, *, install: str, problem: Callable[[], str | None], auto: int | None = None
) -> Callable[[type[Provider]], type[Provider]]:
    """Register the decorated ``Provider`` subclass (built as ``cls(device)``) as buffer provider ``name``.

    A provider lives in ``netdef/runtime/buffers_<name>.py``, which registers itself; ``providers()`` loads
    every such file, so adding one touches that file only. ``problem()`` must not raise when the library is
    missing, and must import it only inside the function.
    """

    def wrap(cls: type[Provider]) -> type[Provider]:
        taken = [e.name for e in _ENTRIES.values() if e.name != name and auto is not None and e.auto == auto]
        if taken:
            raise ValueError(f"buffer provider {name!r}: auto={auto} is {taken[0]}'s place already")
        _ENTRIES[name] = ProviderEntry(name, install, problem, cls, auto)
        return cls

    return wrap


@functools.cache
def _load_provider_files() -> None:
    """Import every ``buffers_<name>.py`` beside this file once; each registers its provider."""
    for found in sorted(pkgutil.iter_modules([os.path.dirname(__file__)]), key=lambda m: m.name):
        if found.name.startswith("buffers_"):
            importlib.import_module(f"{__package__}.{found.name}")


def providers() -> dict[str, ProviderEntry]:
    """Every registered provider, those ``auto`` tries first (in its order), then the rest by name."""
    _load_provider_files()
    order = sorted(_ENTRIES.values(), key=lambda e: (e.auto is None, e.auto if e.auto is not None else 0, e.name))
    return {e.name: e for e in order}


def __getattr__(name: str):
    """``PROVIDERS`` (every provider's name), ``AUTO_ORDER`` (the order ``auto`` tries them in) and ``INSTALL``
    (name -> install hint), read from the registered providers."""
    if name == "PROVIDERS":
        return tuple(providers())
    if name == "AUTO_ORDER":
        return tuple(n for n, e in providers().items() if e.auto is not None)
    if name == "INSTALL":
        return {n: e.install for n, e in providers().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def provider_problem(name: str) -> str | None:
    """Why provider ``name`` cannot run here (None when it can): the library is missing or sees no GPU."""
    entry = providers().get(name)
    if entry is None:
        raise EngineError(_unknown(name))
    return entry.problem()


def _unknown(name: str, source: str = "") -> str:
    return f"unknown buffer provider {name!r}{source}; use 'auto' or one of {', '.join(providers())}"


def choose_provider(provider: str | None = "auto", problem: Callable[[str], str | None] = provider_problem) -> str:
    """The provider to use: ``provider`` unless it is 'auto'/None, then ``$NETDEF_PROVIDER``, then the first
    of torch, cuda-python, pycuda that works here (``problem`` says why one does not)."""
    source = ""
    if provider in (None, "auto"):
        provider = os.environ.get(ENV, "").strip() or "auto"
        source = f" (from {ENV})"
    entries = providers()
    if provider == "auto":
        problems = {}
        for name, entry in entries.items():
            if entry.auto is None:
                continue
            problems[name] = problem(name)
            if problems[name] is None:
                return name
        listed = "; ".join(f"{name}: {why}" for name, why in problems.items())
        raise EngineError(
            f"no buffer provider can run here ({listed}); an engine needs a CUDA GPU and one of: "
            + ", ".join(e.install for e in entries.values() if e.auto is not None)
        )
    if provider not in entries:
        raise EngineError(_unknown(provider, source))
    return provider


def make_provider(provider: str | None = "auto", device: int = 0) -> Provider:
    """A new provider instance (its own stream) on GPU ``device``."""
    return providers()[choose_provider(provider)].factory(device)


def cuda_runtime():
    """cuda-python's runtime API module (``cuda.bindings.runtime``; ``cuda.cudart`` in cuda-python < 12.6)."""
    try:
        from cuda.bindings import runtime

        return runtime
    except ImportError:
        pass
    try:
        from cuda import cudart

        return cudart
    except ImportError:
        raise EngineError(f"the cuda-python buffer provider needs {CUDA_PYTHON_INSTALL}") from None


def cuda_error_text(cudart, err) -> str:
    name = getattr(err, "name", str(err))
    _, text = cudart.cudaGetErrorString(err)
    return f"{name}: {text.decode() if isinstance(text, bytes) else text}"


class Event:
    """A point on a stream: ``done()`` without waiting, ``synchronize()`` to wait for it."""

    def done(self) -> bool:
        raise NotImplementedError

    def synchronize(self) -> None:
        raise NotImplementedError


class QueryEvent(Event):
    """An Event over a library event with ``query()`` and ``synchronize()`` (torch's and pycuda's)."""

    def __init__(self, event) -> None:
        self.event = event

    def done(self) -> bool:
        return self.event.query()

    def synchronize(self) -> None:
        self.event.synchronize()


class Provider:
    """The interface every buffer provider implements (addresses are plain ints, host buffers numpy uint8)."""

    name = "?"
    device = 0

    @property
    def stream_handle(self) -> int:
        """The raw ``cudaStream_t`` TensorRT enqueues on."""
        raise NotImplementedError

    @contextlib.contextmanager
    def activate(self) -> Iterator[Provider]:
        """Make this provider's CUDA context current (pycuda needs it; the others use the primary context)."""
        yield self

    def device_buffer(self, size: int) -> object:
        """``size`` bytes of device memory; ``int(buffer)`` is its address; freed when dropped."""
        raise NotImplementedError

    def host_buffer(self, size: int) -> np.ndarray:
        """``size`` bytes of page-locked host memory as a numpy uint8 array."""
        raise NotImplementedError

    def h2d(self, dst: int, src: np.ndarray) -> None:
        """Queue a copy of ``src`` (page-locked, uint8) to device address ``dst``."""
        raise NotImplementedError

    def d2h(self, dst: np.ndarray, src: int) -> None:
        """Queue a copy of ``dst.nbytes`` bytes at device address ``src`` into ``dst`` (page-locked, uint8)."""
        raise NotImplementedError

    def d2d(self, dst: int, src: int, size: int) -> None:
        """Queue a device-to-device copy of ``size`` bytes."""
        raise NotImplementedError

    def record(self) -> Event:
        """An event recorded on the stream now."""
        raise NotImplementedError

    def synchronize(self) -> None:
        raise NotImplementedError

    def wait_torch(self, tensor) -> None:
        """Order this stream after the work torch queued so far for ``tensor``'s device (its current stream)."""
        import torch

        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(tensor.device))
        torch.cuda.ExternalStream(self.stream_handle, device=tensor.device).wait_event(done)

    def device_array(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[object, int]:
        """A new device array handed to the caller as an output, and its address."""
        buffer = self.device_buffer(max(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize, 1))
        return DeviceArray(buffer, int(buffer), shape, dtype), int(buffer)


class DeviceArray:
    """Device memory with a shape and dtype, readable by torch/cupy/numba without a copy
    (``__cuda_array_interface__``), e.g. ``torch.as_tensor(array, device="cuda")``."""

    def __init__(self, owner: object, address: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.owner = owner  # keeps the allocation alive
        self.address = address
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def __cuda_array_interface__(self) -> dict:
        return {
            "shape": self.shape,
            "typestr": self.dtype.str,
            "data": (self.address, False),
            "strides": None,
            "version": 3,
        }

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype}, address={self.address:#x})"


def torch_dtype(dtype: np.dtype):
    """The torch dtype of a numpy dtype (bfloat16 included)."""
    import torch

    name = "bfloat16" if str(dtype) == "bfloat16" else np.dtype(dtype).name
    table = {"bool": torch.bool, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    found = table.get(name, getattr(torch, name, None))
    if not isinstance(found, torch.dtype):
        raise EngineError(f"no torch dtype for {dtype}")
    return found
