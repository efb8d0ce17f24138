"""netdef: write TensorRT networks the PyTorch way, bind .wts weights, build, run, and prove parity."""

from netdef import functional, nn, reference
from netdef import functional as F
from netdef.define import Input, Network, define
from netdef.errors import (
    BindError,
    BuildError,
    EmitError,
    EngineError,
    InterpreterError,
    NetdefError,
    WeightsFormatError,
)
from netdef.tensor import Tensor
from netdef.weights import export_wts, load_wts, save_wts

__version__ = "0.1.0"

__all__ = [
    "BindError",
    "BuildError",
    "EmitError",
    "EngineError",
    "F",
    "Input",
    "InterpreterError",
    "NetdefError",
    "Network",
    "Tensor",
    "WeightsFormatError",
    "__version__",
    "define",
    "export_wts",
    "functional",
    "load_wts",
    "nn",
    "reference",
    "save_wts",
]
