"""Engine and ExecutionContext: load a built engine safely and run it on a GPU.

One ``Engine`` serves many ``ExecutionContext``s; each context has its own TensorRT execution context, CUDA
stream, device buffers and page-locked staging memory. Threads: use one context per thread
(``engine.create_context()``); ``Engine.infer``/``Engine.enqueue`` do so for you (a default context per thread
and provider). A context shared between threads stays correct (it locks) but runs their calls one at a time.

Async use: ``run = context.enqueue(feeds)`` queues the input copies, the engine and the output copies on the
context's stream and returns at once; ``run.result()`` waits. Several contexts overlap one batch's copies with
another's compute (``engine.pipeline()``).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from netdef._trt import LOGGER, dtype_to_numpy, trt
from netdef.errors import EngineError, NetdefWarning
from netdef.feeds import check_mapping
from netdef.runtime.device import check_engine_bytes, explain_invalid_engine, require_gpu
from netdef.runtime.execution import (
    ContextBase,
    Pipeline,
    Run,
    _as_dtype,  # noqa: F401  (re-exported: tests and older callers import it from here)
    decide_graph_mode,
    shape_of,
)
from netdef.runtime.graphs import graph_api
from netdef.runtime.metadata import read_engine
from netdef.runtime.output_allocator import OutputAllocator
from netdef.runtime.plan import TensorSpec, check_feeds, plan_buffers


def _problems(mark: int) -> str:
    return "; ".join(LOGGER.errors_since(mark)) or "TensorRT gave no reason"


class Engine:
    """A deserialized TensorRT engine. Load with ``Engine.load(path)``; run with ``infer``, ``enqueue``,
    ``pipeline`` or your own contexts (``create_context``)."""

    def __init__(self, engine: trt.ICudaEngine, metadata: dict | None = None, path: Path | None = None) -> None:
        self.engine = engine
        self.metadata = metadata or {}
        self.path = path
        self._runtime = None
        self._local = threading.local()
        self.specs: list[TensorSpec] = []
        count = getattr(engine, "num_optimization_profiles", 1)
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(engine.get_tensor_shape(name))
            lo = hi = None
            profiles = ()
            if is_input and any(d < 0 for d in shape):
                profiles = tuple(
                    tuple(tuple(s) for s in engine.get_tensor_profile_shape(name, k)) for k in range(count)
                )
                lo, _, hi = profiles[0]
            dtype = dtype_to_numpy(engine.get_tensor_dtype(name))
            self.specs.append(TensorSpec(name, is_input, dtype, shape, lo, hi, profiles))

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> Engine:
        """Check the file against its metadata (size, checksum, backend, version), the GPU, and the backend's
        validity query, then deserialize. Every refusal says what to do."""
        data, meta = read_engine(path, verify=verify)
        return cls.from_bytes(data, meta, Path(path))

    @classmethod
    def from_bytes(cls, data: bytes, metadata: dict | None = None, path: Path | None = None) -> Engine:
        where = str(path) if path else "the engine"
        check_engine_bytes(data, where)
        gpu = require_gpu(f"load {where}")
        runtime = trt.Runtime(LOGGER)
        mark = len(LOGGER.messages)
        if hasattr(runtime, "get_engine_validity"):  # TensorRT-RTX says why an engine cannot run here
            validity, diagnostics = runtime.get_engine_validity(data)
            if validity.name == "INVALID":
                raise EngineError(explain_invalid_engine(where, diagnostics, gpu, LOGGER.errors_since(mark)))
            if validity.name == "SUBOPTIMAL":
                warnings.warn(
                    f"{where} runs on {gpu.name} but not at its best (TensorRT-RTX: SUBOPTIMAL); rebuilding it for "
                    "this GPU may make it faster",
                    NetdefWarning,
                    stacklevel=2,
                )
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise EngineError(
                f"TensorRT could not deserialize {where}: {_problems(mark)}; rebuild it on this machine "
                "with `netdef build`"
            )
        self = cls(engine, metadata, path)
        self._runtime = runtime  # the runtime must outlive the engine
        return self

    @property
    def inputs(self) -> list[TensorSpec]:
        return [s for s in self.specs if s.is_input]

    @property
    def outputs(self) -> list[TensorSpec]:
        return [s for s in self.specs if not s.is_input]

    @property
    def has_builtin_graphs(self) -> bool:
        """Whether the backend captures CUDA graphs itself (TensorRT-RTX's runtime config)."""
        return hasattr(self.engine, "create_runtime_config") and hasattr(trt, "CudaGraphStrategy")

    def create_context(
        self, provider: str = "auto", *, cuda_graph: bool | str = False, depth: int = 2, device: int = 0
    ) -> ExecutionContext:
        """A new execution context with its own stream, device buffers and ``depth`` sets of page-locked staging
        buffers (runs that may be in flight at once). ``cuda_graph``: see ``ExecutionContext``."""
        return ExecutionContext(self, provider, cuda_graph=cuda_graph, depth=depth, device=device)

    def _default(self, provider: str) -> ExecutionContext:
        contexts = self._local.__dict__.setdefault("contexts", {})
        if provider not in contexts:
            contexts[provider] = self.create_context(provider)
        return contexts[provider]

    def infer(self, feeds: Mapping[str, object], provider: str = "auto", outputs: str = "numpy") -> dict:
        """Run once and wait, on this thread's default context; inputs as numpy arrays or torch tensors (CPU or
        CUDA), outputs as numpy arrays (``outputs="device"``: torch CUDA tensors / device arrays)."""
        return self._default(provider).infer(feeds, outputs=outputs)

    def enqueue(self, feeds: Mapping[str, object], provider: str = "auto", outputs: str = "numpy") -> Run:
        """Queue one run on this thread's default context; ``.result()`` on the handle waits for it."""
        return self._default(provider).enqueue(feeds, outputs=outputs)

    def pipeline(
        self,
        batches: Iterable[Mapping[str, object]],
        contexts: int = 2,
        provider: str = "auto",
        outputs: str = "numpy",
        cuda_graph: bool | str = False,
    ) -> Iterator[dict]:
        """Outputs of every batch in order, run on ``contexts`` contexts (streams) so that copies overlap compute."""
        made = [self.create_context(provider, cuda_graph=cuda_graph) for _ in range(contexts)]
        return Pipeline(made).map(batches, outputs=outputs)


class ExecutionContext(ContextBase):
    """An IExecutionContext plus the stream, buffers and staging memory it runs with.

    ``cuda_graph``: False (default); True/'auto' uses the backend's built-in CUDA graphs where it has them
    (TensorRT-RTX) and else netdef's capture; 'capture' captures ``execute_async_v3`` once and replays it
    (static shapes only: the first run goes uncaptured so TensorRT finishes its lazy initialization);
    'builtin' asks for the backend's. Whenever a graph was asked for and is not used, a NetdefWarning says why,
    and ``cuda_graph_note`` keeps the reason.
    """

    def __init__(
        self,
        engine: Engine,
        provider: str = "auto",
        *,
        cuda_graph: bool | str = False,
        depth: int = 2,
        device: int = 0,
    ) -> None:
        super().__init__(provider, depth, device)
        self.engine = engine
        self.specs = engine.specs
        prefer = "torch" if self.provider.name == "torch" else "cuda-python"
        mode, note = decide_graph_mode(cuda_graph, self.specs, engine.has_builtin_graphs, graph_api(prefer))
        self._set_graph_mode(mode, note, None if mode != "capture" else graph_api(prefer)[0])
        mark = len(LOGGER.messages)
        if mode == "builtin":
            config = engine.engine.create_runtime_config()
            config.cuda_graph_strategy = trt.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
            self.context = engine.engine.create_execution_context(config)
            self._runtime_config = config
        else:
            self.context = engine.engine.create_execution_context()
        if self.context is None:
            raise EngineError(f"TensorRT could not create an execution context: {_problems(mark)}")
        self._profile: int | None = None
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._allocator: OutputAllocator | None = None
        self._last: Run | None = None

    def _select(self, shapes: dict[str, tuple[int, ...]]):
        """Profile and input shapes into the TensorRT context; returns the run's buffer plan."""
        ctx, stream = self.context, self.provider.stream_handle
        profile = check_feeds(self.specs, shapes)
        mark = len(LOGGER.messages)
        dynamic = any(s.is_input and s.is_dynamic for s in self.specs)
        if dynamic and profile != self._profile:  # set before the first run too: only one context gets 0 implicitly
            if not ctx.set_optimization_profile_async(profile, stream):
                raise EngineError(
                    f"TensorRT refused optimization profile {profile} for shapes {shapes}: {_problems(mark)} "
                    "(a profile may be held by another live context: give each context its own, or use fewer contexts)"
                )
            self._shapes = {}
            self.graph = None
        self._profile = profile
        for spec in self.specs:
            if spec.is_input and spec.is_dynamic and self._shapes.get(spec.name) != shapes[spec.name]:
                if not ctx.set_input_shape(spec.name, shapes[spec.name]):
                    raise EngineError(
                        f"TensorRT refused shape {shapes[spec.name]} for input {spec.name!r}: {_problems(mark)}"
                    )
                self._shapes[spec.name] = shapes[spec.name]
        reported = {s.name: tuple(ctx.get_tensor_shape(s.name)) for s in self.specs if not s.is_input}
        plan = plan_buffers(self.specs, shapes, reported)
        if plan.deferred and self._allocator is None:
            self._allocator = OutputAllocator(self.runner)
            for name in plan.deferred:
                if not ctx.set_output_allocator(name, self._allocator):
                    raise EngineError(f"TensorRT refused an output allocator for {name!r}: {_problems(mark)}")
        return plan

    def enqueue(self, feeds: Mapping[str, object], outputs: str = "numpy") -> Run:
        """Queue input copies, the engine and output copies on this context's stream; returns the run's handle."""
        shapes = {name: shape_of(value) for name, value in check_mapping(feeds, "enqueue").items()}
        with self.runner.lock, self.provider.activate():
            plan = self._select(shapes)
            self._last = self.runner.submit(
                plan, feeds, lambda addresses: self._launch(plan, addresses), outputs, fixed=self.cuda_graph != "off"
            )
            return self._last

    def _launch(self, plan, addresses: dict[str, int]) -> dict:
        ctx, stream = self.context, self.provider.stream_handle
        for name, address in addresses.items():
            ctx.set_tensor_address(name, address)

        def execute() -> None:
            mark = len(LOGGER.messages)
            if not ctx.execute_async_v3(stream):
                extra = f"; output allocator: {'; '.join(self._allocator.errors)}" if self._allocator else ""
                raise EngineError(f"execute_async_v3 failed: {_problems(mark)}{extra}")

        if self.cuda_graph == "capture" and hasattr(ctx, "is_stream_capturable") and self._warm and self.graph is None:
            if not ctx.is_stream_capturable(stream):
                self._disable_graph("not captured: TensorRT says this context cannot be captured on its stream")
        self._launch_graphed(addresses, execute)
        produced = {}
        for name in plan.deferred:
            got = self._allocator.take(name)
            if got is None:
                raise EngineError(f"TensorRT ran but reported no shape for the data-dependent output {name!r}")
            produced[name] = got
        return produced

    def infer(self, feeds: Mapping[str, object], outputs: str = "numpy") -> dict:
        """enqueue + wait."""
        return self.enqueue(feeds, outputs).result()

    def fetch(self) -> dict:
        """The outputs of the last queued run (waits for it); prefer the handle ``enqueue`` returns."""
        if self._last is None:
            raise EngineError("nothing was queued on this context: call enqueue(feeds) first")
        return self._last.result()
