"""netdef.functional: torch.nn.functional-style ops that emit TensorRT layers."""

from netdef.functional.activation import (
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from netdef.functional.attention import multi_head_attention_forward, scaled_dot_product_attention
from netdef.functional.constant import as_tensor
from netdef.functional.conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from netdef.functional.dropout import dropout
from netdef.functional.dtype import cast
from netdef.functional.elementwise import (
    add,
    clamp,
    clip,
    div,
    eq,
    ge,
    gt,
    le,
    logical_and,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    pow,
    sub,
    where,
)
from netdef.functional.embedding import embedding
from netdef.functional.indexing import getitem, index_select
from netdef.functional.linear import linear
from netdef.functional.matmul import bmm, matmul
from netdef.functional.normalization import batch_norm, group_norm, instance_norm, layer_norm
from netdef.functional.padding import pad
from netdef.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from netdef.functional.reduction import amax, amin, argmax, argmin, max, mean, min, prod, sum, topk
from netdef.functional.resize import interpolate, upsample, upsample_bilinear, upsample_nearest
from netdef.functional.shape import (
    cat,
    chunk,
    expand,
    expand_as,
    flatten,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unbind,
    unsqueeze,
    view,
)
from netdef.functional.unary import (
    abs,
    ceil,
    cos,
    erf,
    exp,
    floor,
    log,
    logical_not,
    neg,
    reciprocal,
    round,
    rsqrt,
    sign,
    sin,
    sqrt,
)

__all__ = [
    "adaptive_avg_pool2d",
    "add",
    "as_tensor",
    "avg_pool2d",
    "batch_norm",
    "cast",
    "cat",
    "conv2d",
    "div",
    "dropout",
    "flatten",
    "gelu",
    "leaky_relu",
    "linear",
    "matmul",
    "max_pool2d",
    "maximum",
    "minimum",
    "mul",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "silu",
    "softmax",
    "sub",
    "tanh",
    "transpose",
    "view",
]

__all__ += [  # indexing, comparisons and logic, reductions, unary math, more shape ops, attention
    "abs", "amax", "amin", "argmax", "argmin", "bmm", "ceil", "chunk", "clamp", "clip", "cos", "eq", "erf", "exp",
    "expand", "expand_as", "floor", "ge", "getitem", "gt", "index_select", "le", "log", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "masked_fill", "max", "mean", "min",
    "multi_head_attention_forward", "ne", "neg", "prod", "reciprocal", "repeat", "round", "rsqrt",
    "scaled_dot_product_attention", "sign", "sin", "split", "sqrt", "squeeze", "stack", "sum", "topk", "unbind",
    "unsqueeze", "where",
]  # fmt: skip

__all__ += [  # convolutions, normalization, activations, pooling, resizing, padding, embedding
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d", "conv1d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "elu", "embedding", "group_norm", "hardsigmoid",
    "hardswish", "hardtanh", "instance_norm", "interpolate", "layer_norm", "log_softmax", "max_pool1d", "mish",
    "pad", "prelu", "relu6", "selu", "softplus", "upsample", "upsample_bilinear", "upsample_nearest",
]  # fmt: skip


def __getattr__(name: str):
    """``F.pixel_shuffle`` and other ops netdef lacks: say so, and where the supported ones are listed."""
    from netdef.errors import UnsupportedOpError
    from netdef.tensor import unsupported_function_message

    if name.startswith("_"):
        raise AttributeError(f"module 'netdef.functional' has no attribute {name!r}")
    raise UnsupportedOpError(unsupported_function_message("netdef.functional", name, __all__))
