"""The table from TensorRT layer type to the function that evaluates it on CPU."""

from __future__ import annotations

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
}


def torch_dtype(dtype: trt.DataType) -> torch.dtype:
    """torch dtype that stores a TensorRT DataType."""
    try:
        return _TORCH_DTYPES[dtype.name]
    except KeyError:
        from netdef.errors import InterpreterError

        raise InterpreterError(f"the reference interpreter has no storage for TensorRT dtype {dtype.name}") from None


def weights_tensor(weights, shape=None) -> torch.Tensor | None:
    """trt.Weights-as-numpy (what the bindings return) as a torch tensor, or None when empty."""
    import numpy as np

    arr = np.asarray(weights)
    if arr.size == 0:
        return None
    t = torch.from_numpy(np.array(arr, copy=True))
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.reshape(shape) if shape is not None else t


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
