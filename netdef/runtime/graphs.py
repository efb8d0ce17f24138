"""CUDA graphs: capture the work a callable enqueues on a stream once, then replay it with one launch.

``CudaGraph.capture(stream, work)`` works on any raw stream handle (torch's, pycuda's, cuda-python's), through
cuda-python's runtime API when it is installed, else through torch's ``CUDAGraph``. The engine path captures
``execute_async_v3`` with it; tests capture torch work with the same helper. A replay reads and writes the very
addresses the captured work used, so the buffers must stay where they were.

``capture_blockers`` says, without a GPU, why an engine's runs cannot be captured (dynamic input shapes,
data-dependent outputs).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from netdef.errors import EngineError
from netdef.runtime.plan import TensorSpec

GRAPH_APIS = ("cuda-python", "torch")


def graph_api(prefer: str | None = None) -> tuple[str | None, str]:
    """The API that can capture here, and (when none can) why not. ``prefer`` is tried first."""
    order = [prefer] if prefer in GRAPH_APIS else []
    order += [a for a in GRAPH_APIS if a not in order]
    problems = []
    for api in order:
        if api == "cuda-python":
            if importlib.util.find_spec("cuda") is not None and (
                importlib.util.find_spec("cuda.bindings") is not None or importlib.util.find_spec("cuda.cudart")
            ):
                return api, ""
            problems.append("cuda-python is not installed")
        else:
            if importlib.util.find_spec("torch") is not None:
                import torch

                if torch.cuda.is_available():
                    return api, ""
            problems.append("torch has no CUDA here")
    return None, "no CUDA graph API (" + ", ".join(problems) + "; pycuda cannot capture streams)"


def capture_blockers(specs: list[TensorSpec]) -> list[str]:
    """Why netdef cannot capture and replay this engine's runs as one CUDA graph (empty: it can)."""
    reasons = []
    dynamic = [f"{s.name} {s.shape}" for s in specs if s.is_input and s.is_dynamic]
    if dynamic:
        reasons.append(
            f"the engine has dynamic input shapes ({', '.join(dynamic)}): a replay repeats the captured shapes; "
            "build with static shapes to capture"
        )
    deferred = [f"{s.name} {s.shape}" for s in specs if not s.is_input and s.is_dynamic]
    if deferred and not dynamic:
        reasons.append(
            f"outputs {', '.join(deferred)} have data-dependent shapes: TensorRT sizes them during the run, "
            "which a replay cannot do"
        )
    return reasons


class CudaGraph:
    """A captured, instantiated CUDA graph bound to the stream it was captured on."""

    def __init__(self, stream_handle: int, api: str, graph, exec_, device: int = 0) -> None:
        self.stream_handle = stream_handle
        self.api = api
        self._graph = graph
        self._exec = exec_
        self.device = device
        self.replays = 0

    @classmethod
    def capture(
        cls, stream_handle: int, work: Callable[[], object], api: str | None = None, device: int = 0
    ) -> CudaGraph:
        """Capture what ``work()`` enqueues on ``stream_handle`` (nothing runs yet: call ``replay``).

        Raises EngineError with the CUDA error (or the exception ``work`` raised) when the capture fails; the
        stream is out of capture mode again either way.
        """
        chosen, why = graph_api(api)
        if chosen is None:
            raise EngineError(f"cannot capture a CUDA graph: {why}")
        if chosen == "cuda-python":
            return cls._capture_cuda_python(stream_handle, work, device)
        return cls._capture_torch(stream_handle, work, device)

    @classmethod
    def _capture_cuda_python(cls, stream: int, work: Callable[[], object], device: int) -> CudaGraph:
        from netdef.runtime.buffers import cuda_error_text, cuda_runtime
        from netdef.runtime.buffers_cuda_python import check

        cudart = cuda_runtime()
        check(cudart, cudart.cudaSetDevice(device), "cudaSetDevice")
        mode = cudart.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        check(cudart, cudart.cudaStreamBeginCapture(stream, mode), "cudaStreamBeginCapture")
        failure = None
        try:
            work()
        except Exception as exc:  # end the capture before reporting, or the stream stays unusable
            failure = exc
        err, graph = cudart.cudaStreamEndCapture(stream)
        if failure is not None or int(err) != 0:
            if graph is not None and int(err) == 0:
                cudart.cudaGraphDestroy(graph)
            why = f"{type(failure).__name__}: {failure}" if failure else cuda_error_text(cudart, err)
            raise EngineError(f"CUDA graph capture failed: {why}") from failure
        try:
            exec_ = check(cudart, cudart.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")
        except EngineError:
            cudart.cudaGraphDestroy(graph)
            raise
        return cls(stream, "cuda-python", graph, exec_, device)

    @classmethod
    def _capture_torch(cls, stream: int, work: Callable[[], object], device: int) -> CudaGraph:
        import torch

        graph = torch.cuda.CUDAGraph()
        external = torch.cuda.ExternalStream(stream, device=torch.device("cuda", device))
        with torch.cuda.device(device), torch.cuda.stream(external):
            graph.capture_begin(capture_error_mode="thread_local")
            failure = None
            try:
                work()
            except Exception as exc:
                failure = exc
            try:
                graph.capture_end()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise EngineError(f"CUDA graph capture failed: {type(failure).__name__}: {failure}") from failure
        return cls(stream, "torch", graph, external, device)

    def replay(self) -> None:
        """Launch the captured work on its stream (asynchronously, like the work itself)."""
        if self.api == "cuda-python":
            from netdef.runtime.buffers import cuda_runtime
            from netdef.runtime.buffers_cuda_python import check

            cudart = cuda_runtime()
            check(cudart, cudart.cudaGraphLaunch(self._exec, self.stream_handle), "cudaGraphLaunch")
        else:
            import torch

            with torch.cuda.device(self.device), torch.cuda.stream(self._exec):
                self._graph.replay()
        self.replays += 1

    def close(self) -> None:
        """Free the graph (also done when it is garbage collected)."""
        if self.api == "cuda-python" and self._exec is not None:
            from netdef.runtime.buffers import cuda_runtime

            cudart = cuda_runtime()
            cudart.cudaGraphExecDestroy(self._exec)
            cudart.cudaGraphDestroy(self._graph)
        self._graph = self._exec = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may already be gone
            pass
