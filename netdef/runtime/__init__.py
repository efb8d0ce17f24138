"""netdef.runtime: load engines safely and run them on a GPU (torch or pycuda buffers)."""

from netdef.runtime.device import Gpu, current_gpu, require_gpu
from netdef.runtime.engine import Engine, ExecutionContext
from netdef.runtime.metadata import read_engine
from netdef.runtime.plan import TensorSpec, check_feeds, specs_from_metadata
from netdef.runtime.refit import refit

__all__ = [
    "Engine",
    "ExecutionContext",
    "Gpu",
    "TensorSpec",
    "check_feeds",
    "current_gpu",
    "read_engine",
    "refit",
    "require_gpu",
    "specs_from_metadata",
]
