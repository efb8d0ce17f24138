"""Reading a layer's trt.Weights back (kernels, biases, scales, constants) as numpy arrays and torch tensors."""

from __future__ import annotations

import contextvars
import warnings

import numpy as np
import torch

from netdef._trt import trt
from netdef.errors import InterpreterError

#: refit name -> array of the network being interpreted, when it is a netdef Network. TensorRT's Python
#: API cannot hand back BF16 weights, so the interpreter reads those from here.
NAMED_WEIGHTS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("netdef_named_weights", default=None)


def read_weights(weights, layer, role: str | None = None) -> np.ndarray:
    """``layer``'s weights as a numpy array; BF16 ones come from the netdef Network, by the refit name
    ``<layer name>.<role>`` (or the layer name) that ``EmitContext.add_layer`` gave them."""
    if not isinstance(weights, trt.Weights):
        return np.asarray(weights)
    if weights.size == 0:
        return np.empty(0, np.float32)
    named = NAMED_WEIGHTS.get() or {}
    for key in (f"{layer.name}.{role}" if role else None, layer.name):
        if key in named and named[key].size == weights.size:
            return np.asarray(named[key], dtype=np.float32)
    raise InterpreterError(
        f"layer `{layer.name}` holds {weights.dtype.name} weights, which TensorRT's Python API cannot read back; "
        "the interpreter reads them only from a netdef Network (pass the Network, not its .network)"
    )


def weights_tensor(weights, layer, role: str, shape=None) -> torch.Tensor | None:
    """``layer``'s weights of ``role`` ('kernel', 'bias', 'scale'...) as a float32/int tensor, or None when empty.

    float32 and integer weights are a zero-copy view of the array TensorRT holds: handlers must not
    write to them. Half-precision weights are converted to a new float32 tensor.
    """
    memo = getattr(layer, "memo", None)  # a planned network's layer: converted once per plan
    key = (role, None if shape is None else tuple(shape))
    if memo is not None and key in memo:
        return memo[key]
    arr = read_weights(weights, layer, role)
    if arr.size == 0:
        return None
    t = torch_view(arr)
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    t = t.reshape(shape) if shape is not None else t
    if memo is not None:
        memo[key] = t
    return t


def torch_view(arr: np.ndarray) -> torch.Tensor:
    """``arr`` as a torch tensor sharing its memory, a read-only one (a memory-mapped weight) included: handlers
    never write to weights or inputs. A non-C-ordered array is copied (torch views C order only)."""
    if not arr.flags.c_contiguous:
        return torch.from_numpy(np.ascontiguousarray(arr))
    if arr.flags.writeable:
        return torch.from_numpy(arr)
    with warnings.catch_warnings():  # torch warns that it cannot mark the tensor read-only
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr)
