"""Running work on a stream: feeds staged in page-locked memory, copies queued around the work, a handle per run.

``StreamRunner`` is the machinery every context shares, whatever runs between the copies (a TensorRT engine
in ``ExecutionContext``, a torch function in ``FunctionContext``):

- host inputs are copied into page-locked staging memory, then to the device, asynchronously;
- inputs already on the device (torch CUDA tensors, ``__cuda_array_interface__`` arrays) are read in place;
- outputs come back to page-locked memory (or stay on the device), and ``Run.result()`` hands them over;
- each queued run has its own staging memory (``depth`` sets per runner, used in turn), so queuing a run never
  overwrites the inputs or outputs of one still in flight: reusing a set first waits for its run and copies
  that run's outputs out of it.

Threads: a runner (and the context that owns it) serializes its calls with a lock, so sharing one between
threads is safe but serial; give each thread its own context for parallel work.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from netdef.errors import EngineError, NetdefWarning
from netdef.feeds import check_mapping, check_torch_values, convert_array, needs_conversion
from netdef.runtime.buffers import Provider, make_provider, torch_dtype
from netdef.runtime.graphs import CudaGraph, capture_blockers, graph_api
from netdef.runtime.plan import BufferPlan, BufferSlot, TensorSpec, aligned, nbytes, plan_buffers

OUTPUTS = ("numpy", "device")


def _is_torch(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "is_cuda")


def shape_of(value) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    if shape is None:
        raise EngineError(f"a feed must be a numpy array or a torch tensor, got {type(value).__name__}")
    return tuple(int(d) for d in shape)


def dtype_name(value) -> str:
    """A feed's dtype as numpy names it ('float32', 'bfloat16', 'int64' ...)."""
    if _is_torch(value):
        return str(value.dtype).removeprefix("torch.")
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is not None and not isinstance(value, np.ndarray):
        return str(np.dtype(cai["typestr"]))
    return str(np.asarray(value).dtype) if not hasattr(value, "dtype") else str(value.dtype)


def check_dtype(slot: BufferSlot | TensorSpec, value) -> bool:
    """Whether ``value`` needs converting to the input's dtype (see netdef.feeds: floats to floats and integers
    to integers convert; other kinds must match)."""
    return needs_conversion(slot.name, dtype_name(value), str(slot.dtype), EngineError, "engine")


def _converted(slot: BufferSlot | TensorSpec, value):
    """A host or torch ``value`` converted to the input's dtype, refusing values that dtype cannot hold."""
    if _is_torch(value):
        converted = value.to(torch_dtype(slot.dtype))
        check_torch_values(slot.name, value, converted, EngineError, "engine")
        return converted
    return convert_array(slot.name, np.asarray(value), slot.dtype, EngineError, "engine")


def _as_dtype(spec: TensorSpec, value):
    """``value`` (numpy array or torch tensor) in the input's dtype: floats convert, other kinds must match."""
    if not check_dtype(spec, value):
        return value
    return _converted(spec, value)


class Run:
    """One queued run. ``done()`` polls, ``wait()`` blocks, ``result()`` waits and returns the outputs
    (``{name: numpy array}``, or device arrays for ``outputs="device"``); calling it again returns the same."""

    def __init__(self, runner: StreamRunner, event, pending: dict, keep: list) -> None:
        self._runner = runner
        self._event = event
        self._pending = pending
        self._keep = keep
        self._result: dict | None = None

    def done(self) -> bool:
        if self._result is not None:
            return True
        with self._runner.provider.activate():
            return self._event.done()

    def wait(self) -> None:
        self.result()

    def result(self) -> dict:
        if self._result is None:
            with self._runner.lock:
                self._materialize()
        return self._result

    def _materialize(self) -> None:
        """Wait for the run, copy its outputs out of the staging memory, let go of what it held."""
        if self._result is not None:
            return
        with self._runner.provider.activate():
            self._event.synchronize()
        out = {}
        for name, item in self._pending.items():
            if item[0] == "host":
                _, view, shape, dtype = item
                out[name] = view.view(dtype).reshape(shape).copy()
            else:
                out[name] = item[1]
        self._result, self._pending, self._keep = out, {}, []


class _Staging:
    """Page-locked host buffers for one run in flight, by tensor name (grown, never shrunk)."""

    def __init__(self) -> None:
        self.host: dict[str, np.ndarray] = {}
        self.run: Run | None = None

    def buffer(self, provider: Provider, name: str, size: int) -> np.ndarray:
        have = self.host.get(name)
        if have is None or have.nbytes < size:
            grown = max(aligned(size), int(have.nbytes * 1.5) if have is not None else 0)
            self.host[name] = have = provider.host_buffer(grown)
        return have[:size]


class StreamRunner:
    """Stages feeds, launches work and fetches outputs on one provider's stream; see the module docstring."""

    def __init__(self, provider: Provider, depth: int = 2) -> None:
        if depth < 1:
            raise EngineError(f"depth={depth}: a runner needs at least one set of staging buffers")
        self.provider = provider
        self.depth = depth
        self.lock = threading.RLock()
        self._device: dict[str, object] = {}
        self._capacity: dict[str, int] = {}
        self._staging = [_Staging() for _ in range(depth)]
        self._turn = 0
        self._keep: list = []
        #: bytes copied each way, and inputs read in place (what tests and benchmarks look at)
        self.stats = {"h2d": 0, "d2h": 0, "d2d": 0, "in_place": 0, "runs": 0}

    def device_buffer(self, name: str, size: int) -> int:
        """The address of this runner's device buffer ``name``, grown to at least ``size`` bytes.

        A buffer that grows is released only after the run being queued finishes.
        """
        have = self._device.get(name)
        if have is None or self._capacity[name] < size:
            if have is not None:
                self._keep.append(have)
            grown = max(aligned(size), int(self._capacity.get(name, 0) * 1.5))
            self._device[name] = have = self.provider.device_buffer(grown)
            self._capacity[name] = grown
        return int(have)

    def _input(self, slot: BufferSlot, value, staging: _Staging, fixed: bool, keep: list) -> int:
        provider, size = self.provider, slot.nbytes
        convert = check_dtype(slot, value)
        if _is_torch(value) and value.is_cuda:
            if value.device.index != provider.device:
                raise EngineError(
                    f"input {slot.name!r} is on {value.device}; this context runs on cuda:{provider.device}"
                )
            t = _converted(slot, value) if convert else value
            t = t.contiguous()
            provider.wait_torch(t)  # the producer's work (and the conversion) come first
            keep.append(t)
            if not fixed:
                self.stats["in_place"] += 1
                return t.data_ptr()
            address = self.device_buffer(slot.name, size)
            if size:
                provider.d2d(address, t.data_ptr(), size)
                self.stats["d2d"] += size
            return address
        cai = None if isinstance(value, np.ndarray) else getattr(value, "__cuda_array_interface__", None)
        if cai is not None:
            if convert or (cai.get("strides") and cai["strides"] != _c_strides(slot.shape, slot.dtype)):
                raise EngineError(
                    f"input {slot.name!r} is a device array of {dtype_name(value)} with strides "
                    f"{cai.get('strides')}: pass a contiguous {slot.dtype} array (or a torch tensor, converted here)"
                )
            keep.append(value)
            if not fixed:
                self.stats["in_place"] += 1
                return int(cai["data"][0])
            address = self.device_buffer(slot.name, size)
            if size:
                provider.d2d(address, int(cai["data"][0]), size)
                self.stats["d2d"] += size
            return address
        if convert:
            value = _converted(slot, value)
        view = staging.buffer(provider, slot.name, size)
        if _is_torch(value):
            import torch

            target = torch.from_numpy(view).view(torch_dtype(slot.dtype)).view(slot.shape)
            target.copy_(value)
        else:
            np.copyto(view.view(slot.dtype).reshape(slot.shape), np.asarray(value), casting="unsafe")
        address = self.device_buffer(slot.name, size)
        if size:
            provider.h2d(address, view)
            self.stats["h2d"] += size
        return address

    def submit(
        self,
        plan: BufferPlan,
        feeds: Mapping[str, object],
        launch: Callable[[dict[str, int]], Mapping[str, tuple[int, tuple[int, ...]]] | None],
        outputs: str = "numpy",
        fixed: bool = False,
    ) -> Run:
        """Queue one run: stage ``feeds`` for ``plan``'s inputs, ``launch(addresses)`` the work on the stream,
        queue the output copies; returns its handle at once.

        ``launch`` returns ``{name: (address, shape)}`` for the outputs the plan could not size (data-dependent).
        ``fixed=True`` keeps every address the work sees in this runner's own buffers (what a CUDA graph
        replay needs): device inputs are copied in, device outputs copied out.
        """
        if outputs not in OUTPUTS:
            raise EngineError(f"outputs={outputs!r}; use one of {', '.join(OUTPUTS)}")
        with self.lock, self.provider.activate():
            staging = self._staging[self._turn]
            self._turn = (self._turn + 1) % self.depth
            if staging.run is not None:  # its host memory is about to be reused
                staging.run._materialize()
            keep: list = []
            self._keep = keep
            addresses: dict[str, int] = {}
            pending: dict[str, tuple] = {}
            for slot in plan.inputs:
                addresses[slot.name] = self._input(slot, feeds[slot.name], staging, fixed, keep)
            for slot in plan.outputs:
                if slot.shape is None:
                    continue
                if outputs == "device" and not fixed:
                    array, addresses[slot.name] = self.provider.device_array(slot.shape, slot.dtype)
                    pending[slot.name] = ("device", array)
                else:
                    addresses[slot.name] = self.device_buffer(slot.name, slot.nbytes)
            produced = dict(launch(addresses) or {})
            for slot in plan.outputs:
                if slot.name in pending:
                    continue
                if slot.shape is None:
                    if slot.name not in produced:
                        raise EngineError(f"output {slot.name!r} has a data-dependent shape, and the run gave none")
                    address, shape = produced[slot.name]
                else:
                    address, shape = addresses[slot.name], slot.shape
                size = nbytes(shape, slot.dtype)
                if outputs == "device":
                    array, target = self.provider.device_array(shape, slot.dtype)
                    if size:
                        self.provider.d2d(target, address, size)
                        self.stats["d2d"] += size
                    pending[slot.name] = ("device", array)
                else:
                    view = staging.buffer(self.provider, slot.name, size)
                    if size:
                        self.provider.d2h(view, address)
                        self.stats["d2h"] += size
                    pending[slot.name] = ("host", view, shape, slot.dtype)
            self.stats["runs"] += 1
            run = Run(self, self.provider.record(), pending, keep)
            staging.run = run
            return run

    def synchronize(self) -> None:
        """Wait for every queued run."""
        with self.lock, self.provider.activate():
            self.provider.synchronize()


def _c_strides(shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    strides, step = [], np.dtype(dtype).itemsize
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


# ------------------------------------------------------------------------------------------------ graphs

GRAPH_MODES = ("off", "capture", "builtin", "auto")


def decide_graph_mode(
    requested: bool | str, specs: list[TensorSpec], builtin: bool, api: tuple[str | None, str]
) -> tuple[str, str]:
    """How a context will use CUDA graphs, and a note saying what happens (or why not): ``(mode, note)``.

    ``requested``: False/'off', True/'auto' (the backend's built-in strategy where it has one, else netdef's
    capture), 'capture' (netdef captures ``execute_async_v3`` once and replays it), 'builtin' (the backend's).
    ``builtin``: whether the backend has a built-in strategy (TensorRT-RTX's ``CudaGraphStrategy``);
    ``api``: ``graph_api()``'s answer. Mode 'off' with a non-empty note means a graph was asked for and not used.
    """
    if requested is False or requested is None or requested == "off":
        return "off", ""
    if requested is True:
        requested = "auto"
    if requested not in GRAPH_MODES:
        raise EngineError(f"cuda_graph={requested!r}; use True, False or one of {', '.join(GRAPH_MODES)}")
    if requested in ("auto", "builtin") and builtin:
        return "builtin", "the backend captures and replays CUDA graphs itself (CudaGraphStrategy.WHOLE_GRAPH_CAPTURE)"
    prefix = "this backend has no built-in CUDA graph strategy; " if requested == "builtin" else ""
    blockers = capture_blockers(specs)
    if blockers:
        return "off", prefix + "not captured: " + "; ".join(blockers)
    chosen, why = api
    if chosen is None:
        return "off", prefix + f"not captured: {why}"
    return "capture", prefix + f"netdef captures the run once and replays it (through {chosen})"


class ContextBase:
    """What ExecutionContext and FunctionContext share: a runner on its own stream, and graph capture/replay."""

    specs: list[TensorSpec]

    def __init__(self, provider: str | Provider = "auto", depth: int = 2, device: int = 0) -> None:
        self.provider = provider if isinstance(provider, Provider) else make_provider(provider, device)
        self.runner = StreamRunner(self.provider, depth)
        self.cuda_graph = "off"
        self.cuda_graph_note = ""
        self.graph: CudaGraph | None = None
        self._graph_key: tuple | None = None
        self._graph_api: str | None = None
        self._warm = False

    @property
    def buffers(self) -> Provider:
        """The buffer provider (its ``name`` and ``stream_handle``)."""
        return self.provider

    def _set_graph_mode(self, mode: str, note: str, api: str | None = None) -> None:
        self.cuda_graph, self.cuda_graph_note, self._graph_api = mode, note, api
        if mode == "off" and note:
            warnings.warn(f"netdef: CUDA graph not used: {note}", NetdefWarning, stacklevel=3)

    def _disable_graph(self, reason: str) -> None:
        self.graph = None
        self._set_graph_mode("off", reason)

    def _launch_graphed(self, addresses: dict[str, int], execute: Callable[[], None]) -> None:
        """Run ``execute`` (which enqueues the work) directly, or through a captured graph in 'capture' mode.

        The first run at a set of addresses goes uncaptured (TensorRT finishes its lazy initialization there);
        the next one is captured and replayed, and later ones replay. New addresses mean a new capture.
        """
        if self.cuda_graph != "capture":
            execute()
            return
        key = tuple(sorted(addresses.items()))
        if self.graph is not None and key == self._graph_key:
            self.graph.replay()
            return
        if not self._warm:
            execute()
            self._warm = True
            return
        try:
            graph = CudaGraph.capture(
                self.provider.stream_handle, execute, api=self._graph_api, device=self.provider.device
            )
        except EngineError as exc:
            self._disable_graph(f"not captured: {exc}; running without a graph")
            execute()
            return
        self.graph, self._graph_key = graph, key
        graph.replay()

    def synchronize(self) -> None:
        self.runner.synchronize()


class FunctionContext(ContextBase):
    """A torch function run the way an engine runs: same staging, stream, handles and CUDA graph capture.

    ``fn(inputs, outputs)`` gets dicts of torch CUDA tensors over this context's buffers and must write every
    output in place (``torch.mul(x, 2, out=outputs["y"])``), allocating nothing if it is to be captured.
    Useful for pre/post-processing stages beside engines, and to exercise the runtime on any GPU.
    """

    def __init__(
        self,
        fn: Callable[[dict, dict], None],
        specs: list[TensorSpec],
        provider: str | Provider = "auto",
        cuda_graph: bool | str = False,
        depth: int = 2,
        device: int = 0,
        graph_api_name: str | None = "torch",
    ) -> None:
        super().__init__(provider, depth, device)
        self.fn = fn
        self.specs = list(specs)
        api = graph_api(graph_api_name)
        mode, note = decide_graph_mode(cuda_graph, self.specs, False, api)
        self._set_graph_mode(mode, note, api[0])

    def enqueue(self, feeds: Mapping[str, object], outputs: str = "numpy") -> Run:
        """Queue one run of ``fn``; returns its handle."""
        check_mapping(feeds, "enqueue")
        shapes = {name: shape_of(value) for name, value in feeds.items()}
        plan = plan_buffers(self.specs, shapes, self._output_shapes(shapes))
        return self.runner.submit(
            plan, feeds, lambda addresses: self._launch(plan, addresses), outputs, fixed=self.cuda_graph != "off"
        )

    def _output_shapes(self, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        """Dynamic output dims take the first input's matching dims (batch-like); static ones stay."""
        first = next(s for s in self.specs if s.is_input)
        out = {}
        for s in self.specs:
            if not s.is_input:
                out[s.name] = tuple(shapes[first.name][i] if d < 0 else d for i, d in enumerate(s.shape))
        return out

    def _launch(self, plan: BufferPlan, addresses: dict[str, int]) -> None:
        import torch

        from netdef.runtime.buffers import DeviceArray

        device = torch.device("cuda", self.provider.device)
        views = {
            slot.name: torch.as_tensor(
                DeviceArray(None, addresses[slot.name], (max(slot.nbytes, 1),), np.uint8), device=device
            )[: slot.nbytes]
            .view(torch_dtype(slot.dtype))
            .view(slot.shape)
            for slot in plan.slots.values()
        }
        inputs = {s.name: views[s.name] for s in plan.inputs}
        outs = {s.name: views[s.name] for s in plan.outputs}
        stream = torch.cuda.ExternalStream(self.provider.stream_handle, device=device)

        def execute() -> None:
            with torch.cuda.stream(stream):
                self.fn(inputs, outs)

        self._launch_graphed(addresses, execute)

    def infer(self, feeds: Mapping[str, object], outputs: str = "numpy") -> dict:
        return self.enqueue(feeds, outputs).result()


class Pipeline:
    """Feeds a stream of batches through several contexts (one stream each) so that one batch's copies overlap
    another's compute; results come back in order. Build with ``Engine.pipeline`` or from any contexts."""

    def __init__(self, contexts: list, in_flight: int | None = None) -> None:
        if not contexts:
            raise EngineError("a pipeline needs at least one context")
        self.contexts = list(contexts)
        self.in_flight = in_flight or len(self.contexts) * min(c.runner.depth for c in self.contexts)

    def map(self, batches: Iterable[Mapping[str, object]], outputs: str = "numpy") -> Iterator[dict]:
        """Outputs of every batch, in order, with up to ``in_flight`` runs queued at once."""
        queued: deque[Run] = deque()
        for i, feeds in enumerate(batches):
            queued.append(self.contexts[i % len(self.contexts)].enqueue(feeds, outputs=outputs))
            if len(queued) >= self.in_flight:
                yield queued.popleft().result()
        while queued:
            yield queued.popleft().result()
