"""netdef.runtime: load engines safely and run them on a GPU (torch, pycuda or cuda-python buffers)."""

from netdef.runtime.buffers import PROVIDERS, DeviceArray, choose_provider, make_provider
from netdef.runtime.device import Gpu, current_gpu, require_gpu
from netdef.runtime.engine import Engine, ExecutionContext
from netdef.runtime.execution import FunctionContext, Pipeline, Run, StreamRunner
from netdef.runtime.graphs import CudaGraph
from netdef.runtime.metadata import BuiltEngine, read_engine, write_engine
from netdef.runtime.plan import (
    BufferPlan,
    BufferSlot,
    TensorSpec,
    check_feeds,
    plan_buffers,
    select_profile,
    specs_from_metadata,
)
from netdef.runtime.refit import refit

__all__ = [
    "PROVIDERS",
    "BufferPlan",
    "BufferSlot",
    "BuiltEngine",
    "CudaGraph",
    "DeviceArray",
    "Engine",
    "ExecutionContext",
    "FunctionContext",
    "Gpu",
    "Pipeline",
    "Run",
    "StreamRunner",
    "TensorSpec",
    "check_feeds",
    "choose_provider",
    "current_gpu",
    "make_provider",
    "plan_buffers",
    "read_engine",
    "refit",
    "require_gpu",
    "select_profile",
    "specs_from_metadata",
    "write_engine",
]
