"""netdef: write TensorRT networks the PyTorch way, bind .wts weights, build, run, and prove parity."""

import importlib

from netdef import functional, nn, runtime, weights
from netdef import functional as F
from netdef._version import __version__
from netdef.build import BuiltEngine, build
from netdef.define import Input, Network, define
from netdef.errors import (
    ArgumentError,
    BindError,
    BuildError,
    EmitError,
    EngineError,
    InterpreterError,
    NetdefError,
    NetdefWarning,
    UnsupportedOpError,
    WeightsFormatError,
)
from netdef.functional.assertion import sym_check
from netdef.runtime import Engine
from netdef.symbolic import Size, SymInt, sym_max, sym_min
from netdef.tensor import Tensor
from netdef.weights import export_wts, load_wts, save_wts

__all__ = [
    "ArgumentError",
    "BindError",
    "BuildError",
    "BuiltEngine",
    "EmitError",
    "Engine",
    "EngineError",
    "F",
    "Input",
    "InterpreterError",
    "NetdefError",
    "NetdefWarning",
    "Network",
    "Size",
    "SymInt",
    "Tensor",
    "UnsupportedOpError",
    "WeightsFormatError",
    "__version__",
    "build",
    "define",
    "detection",
    "export_wts",
    "functional",
    "generate",
    "graph",
    "load_wts",
    "nn",
    "onnx",
    "parity",
    "reference",
    "runtime",
    "save_wts",
    "sym_check",
    "sym_max",
    "sym_min",
    "testing",
    "triton",
    "weights",
]

#: subpackages that import torch or onnx, loaded on first use so `import netdef` and the CLI start fast
_LAZY = ("onnx", "parity", "quantization", "reference", "testing", "triton", "visualize", "detection", "doctor")
#: functions of lazily loaded modules, offered at the top level
_LAZY_FUNCTIONS = {"graph": "netdef.visualize", "generate": "netdef.generation"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"netdef.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'netdef' has no attribute {name!r}")
