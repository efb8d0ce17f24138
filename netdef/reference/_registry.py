"""The table from TensorRT layer type to the function that evaluates it on CPU."""

from __future__ import annotations

import contextvars
from collections.abc import Callable

import torch

from netdef._trt import trt

#: handler(layer, inputs) -> outputs; ``layer`` is already cast to its concrete I*Layer class and
#: float inputs arrive as float32 (the interpreter rounds outputs to each layer's declared dtype).
Handler = Callable[[object, list], list]
HANDLERS: dict[str, tuple[type, Handler]] = {}


def register(layer_type: str, layer_class: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the semantics of ``trt.LayerType.<layer_type>`` (read as ``trt.<layer_class>``)."""

    def wrap(fn: Handler) -> Handler:
        HANDLERS[layer_type] = (getattr(trt, layer_class), fn)
        return fn

    return wrap


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
        from netdef.errors import InterpreterError

        raise InterpreterError(f"the reference interpreter has no storage for TensorRT dtype {dtype.name}") from None


#: refit name -> array of the network being interpreted, when it is a netdef Network. TensorRT's Python
#: API cannot hand back BF16 weights, so the interpreter reads those from here.
NAMED_WEIGHTS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("netdef_named_weights", default=None)


def read_weights(weights, layer=None, role: str | None = None):
    """A layer's weights as a numpy array (BF16 ones from the netdef Network that holds them)."""
    import numpy as np

    if not isinstance(weights, trt.Weights):
        return np.asarray(weights)
    if weights.size == 0:
        return np.empty(0, np.float32)
    named = NAMED_WEIGHTS.get() or {}
    if layer is not None:
        for key in (f"{layer.name}.{role}" if role else None, layer.name):
            if key in named and named[key].size == weights.size:
                return np.asarray(named[key], dtype=np.float32)
    from netdef.errors import InterpreterError

    where = f"layer `{layer.name}`" if layer is not None else "a layer"
    raise InterpreterError(
        f"{where} holds {weights.dtype.name} weights, which TensorRT's Python API cannot read back; the "
        "interpreter reads them only from a netdef Network (pass the Network, not its .network)"
    )


def weights_tensor(weights, shape=None, layer=None, role: str | None = None) -> torch.Tensor | None:
    """A layer's weights (kernel, bias, scale...) as a float32/int torch tensor, or None when empty.

    float32 and integer weights are a zero-copy view of the array TensorRT holds: handlers must not
    write to them. Half-precision weights are converted to a new float32 tensor.
    """
    import numpy as np

    memo = getattr(layer, "memo", None)  # a finished network's layer: converted once per plan
    key = (role, None if shape is None else tuple(shape))
    if memo is not None and key in memo:
        return memo[key]
    arr = read_weights(weights, layer, role)
    if arr.size == 0:
        return None
    if not arr.flags.writeable or not arr.flags.c_contiguous:  # torch views only writable C-ordered arrays
        arr = np.array(arr, copy=True)
    t = torch.from_numpy(arr)
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    t = t.reshape(shape) if shape is not None else t
    if memo is not None:
        memo[key] = t
    return t


def explicit_padding(layer, spatial: tuple[int, ...], kernel, stride, dilation) -> tuple[list[int], list[int]]:
    """(pre, post) padding of a convolution/pooling layer, resolving SAME_* and ROUND_UP modes."""
    mode = layer.padding_mode.name
    pre, post = list(layer.pre_padding), list(layer.post_padding)
    n = len(spatial)
    if len(pre) != n:  # TensorRT reports the padding with the layer's own rank
        pre, post = (pre + [0] * n)[:n], (post + [0] * n)[:n]
    for i in range(n):
        eff = dilation[i] * (kernel[i] - 1) + 1
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-spatial[i] // stride[i])
            total = max((out - 1) * stride[i] + eff - spatial[i], 0)
            small, big = total // 2, total - total // 2
            pre[i], post[i] = (small, big) if mode == "SAME_UPPER" else (big, small)
        elif mode == "EXPLICIT_ROUND_UP":
            span = spatial[i] + pre[i] + post[i] - eff
            out = -(-span // stride[i]) + 1
            post[i] += max((out - 1) * stride[i] + eff - (spatial[i] + pre[i] + post[i]), 0)
    return pre, post


def torch_pad(pre: list[int], post: list[int]) -> list[int]:
    """F.pad's argument order (last dim first) for per-dim (pre, post) padding."""
    out: list[int] = []
    for a, b in zip(reversed(pre), reversed(post)):
        out += [a, b]
    return out
