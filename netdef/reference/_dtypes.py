"""The torch dtype that stores each TensorRT DataType in the interpreter."""

from __future__ import annotations

import torch

from netdef._trt import trt
from netdef.errors import InterpreterError

_TORCH_DTYPES = {
    "FLOAT": torch.float32,
    "HALF": torch.float16,
    "BF16": torch.bfloat16,
    "INT32": torch.int32,
    "INT64": torch.int64,
    "INT8": torch.int8,
    "UINT8": torch.uint8,
    "BOOL": torch.bool,
    "FP8": torch.float8_e4m3fn,
}


def torch_dtype(dtype: trt.DataType) -> torch.dtype:
    """torch dtype that stores a TensorRT DataType."""
    try:
        return _TORCH_DTYPES[dtype.name]
    except KeyError:
        raise InterpreterError(f"the reference interpreter has no storage for TensorRT dtype {dtype.name}") from None
