"""Engine and ExecutionContext: deserialize a built engine and run it on a GPU."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from netdef._trt import LOGGER, dtype_to_numpy, trt
from netdef.errors import EngineError
from netdef.runtime.device import require_gpu
from netdef.runtime.metadata import read_engine
from netdef.runtime.plan import TensorSpec, check_feeds

PROVIDERS = ("torch", "pycuda")


def _make_buffers(provider: str):
    if provider == "auto":
        try:
            import torch

            provider = "torch" if torch.cuda.is_available() else "pycuda"
        except ImportError:
            provider = "pycuda"
    if provider == "torch":
        from netdef.runtime.buffers_torch import TorchBuffers

        return TorchBuffers()
    if provider == "pycuda":
        from netdef.runtime.buffers_pycuda import PycudaBuffers

        return PycudaBuffers()
    raise EngineError(f"unknown buffer provider {provider!r}; use 'auto' or one of {', '.join(PROVIDERS)}")


def _as_dtype(spec: TensorSpec, value):
    """``value`` (numpy array or torch tensor) in the input's dtype: floats convert, other kinds must match."""
    if isinstance(value, np.ndarray):
        got, kind = value.dtype, value.dtype.kind
    else:  # a torch tensor: its dtype's name (float32, float16, bfloat16, int32 ...) is numpy's name too
        got = str(value.dtype).removeprefix("torch.")
        kind = "f" if value.is_floating_point() else "?"
    if str(got) == str(spec.dtype):
        return value
    if kind != "f" or spec.dtype.kind not in "fV":  # ml_dtypes' bfloat16 has kind 'V'
        raise EngineError(f"input {spec.name!r} is {got}; the engine expects {spec.dtype}")
    if isinstance(value, np.ndarray):
        return value.astype(spec.dtype)
    import torch

    return value.to(getattr(torch, str(spec.dtype)))


class Engine:
    """A deserialized TensorRT engine. Load with ``Engine.load(path)``; run with ``infer`` or contexts."""

    def __init__(self, engine: trt.ICudaEngine, metadata: dict | None = None, path: Path | None = None) -> None:
        self.engine = engine
        self.metadata = metadata or {}
        self.path = path
        self._runtime = None
        self._default: ExecutionContext | None = None
        self.specs: list[TensorSpec] = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(engine.get_tensor_shape(name))
            lo = hi = None
            if is_input and any(d < 0 for d in shape):
                lo, _, hi = (tuple(s) for s in engine.get_tensor_profile_shape(name, 0))
            self.specs.append(TensorSpec(name, is_input, dtype_to_numpy(engine.get_tensor_dtype(name)), shape, lo, hi))

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> Engine:
        """Check the file against its metadata (size, checksum, backend, version) and the GPU, then deserialize."""
        data, meta = read_engine(path, verify=verify)
        return cls.from_bytes(data, meta, Path(path))

    @classmethod
    def from_bytes(cls, data: bytes, metadata: dict | None = None, path: Path | None = None) -> Engine:
        where = str(path) if path else "the engine"
        require_gpu(f"load {where}")
        runtime = trt.Runtime(LOGGER)
        if hasattr(runtime, "get_engine_validity"):  # TensorRT-RTX says why an engine cannot run here
            validity, diagnostics = runtime.get_engine_validity(data)
            if validity.name == "INVALID":
                flags = trt.EngineInvalidityDiagnostics.__members__
                reasons = [name for name, flag in flags.items() if int(diagnostics) & int(flag)]
                raise EngineError(
                    f"{where} cannot run on this machine ({', '.join(reasons) or 'reason not given'}); "
                    "rebuild it here, for this GPU, with this TensorRT"
                )
        mark = len(LOGGER.messages)
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            problems = "; ".join(LOGGER.errors_since(mark)) or "TensorRT gave no reason"
            raise EngineError(f"TensorRT could not deserialize {where}: {problems}")
        self = cls(engine, metadata, path)
        self._runtime = runtime  # the runtime must outlive the engine
        return self

    @property
    def inputs(self) -> list[TensorSpec]:
        return [s for s in self.specs if s.is_input]

    @property
    def outputs(self) -> list[TensorSpec]:
        return [s for s in self.specs if not s.is_input]

    def create_context(self, provider: str = "auto") -> ExecutionContext:
        """A new execution context with its own stream and buffers (one per thread or stream)."""
        return ExecutionContext(self, provider)

    def infer(self, feeds: Mapping[str, object], provider: str = "auto") -> dict:
        """Run once on a default context and wait; inputs as numpy or torch, outputs as numpy."""
        if self._default is None or (provider != "auto" and self._default.buffers.name != provider):
            self._default = self.create_context(provider)
        return self._default.infer(feeds)


class ExecutionContext:
    """An IExecutionContext plus the stream and buffers it runs with."""

    def __init__(self, engine: Engine, provider: str = "auto") -> None:
        self.engine = engine
        self.context = engine.engine.create_execution_context()
        if self.context is None:
            raise EngineError("TensorRT could not create an execution context (out of GPU memory?)")
        self.buffers = _make_buffers(provider)

    def enqueue(self, feeds: Mapping[str, object]) -> None:
        """Queue input copies, the engine and output allocation on this context's stream; no waiting."""
        shapes = {name: tuple(value.shape) for name, value in feeds.items()}
        check_feeds(self.engine.specs, shapes)
        ctx = self.context
        with self.buffers:
            for spec in self.engine.inputs:
                value = _as_dtype(spec, feeds[spec.name])
                if any(d < 0 for d in spec.shape):
                    ctx.set_input_shape(spec.name, shapes[spec.name])
                ctx.set_tensor_address(spec.name, self.buffers.put(spec.name, value))
            for spec in self.engine.outputs:
                shape = tuple(ctx.get_tensor_shape(spec.name))
                if any(d < 0 for d in shape):
                    raise EngineError(f"output {spec.name!r} has a data-dependent shape {shape}, not supported yet")
                ctx.set_tensor_address(spec.name, self.buffers.output(spec.name, shape, spec.dtype))
            mark = len(LOGGER.messages)
            if not ctx.execute_async_v3(self.buffers.stream_handle):
                raise EngineError("execute_async_v3 failed: " + ("; ".join(LOGGER.errors_since(mark)) or "no reason"))

    def fetch(self) -> dict:
        """Wait for the queued run and return its outputs as numpy arrays."""
        with self.buffers:
            return self.buffers.fetch()

    def infer(self, feeds: Mapping[str, object]) -> dict:
        """enqueue + fetch."""
        self.enqueue(feeds)
        return self.fetch()
