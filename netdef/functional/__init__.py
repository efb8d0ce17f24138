"""netdef.functional: torch.nn.functional-style ops that emit TensorRT layers."""

from netdef.functional.activation import gelu, leaky_relu, relu, sigmoid, silu, softmax, tanh
from netdef.functional.conv import conv2d
from netdef.functional.dropout import dropout
from netdef.functional.dtype import cast
from netdef.functional.elementwise import add, div, maximum, minimum, mul, pow, sub
from netdef.functional.linear import linear
from netdef.functional.matmul import matmul
from netdef.functional.normalization import batch_norm
from netdef.functional.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from netdef.functional.shape import cat, flatten, permute, reshape, transpose, view

__all__ = [
    "adaptive_avg_pool2d",
    "add",
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
