"""netdef.nn: torch.nn-style modules whose state_dict names match torch's."""

from netdef.errors import UnsupportedOpError
from netdef.functional.unsupported import missing_name_message
from netdef.nn.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from netdef.nn.attention import MultiheadAttention
from netdef.nn.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from netdef.nn.container import ModuleDict, ModuleList, Sequential
from netdef.nn.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from netdef.nn.dropout import Dropout
from netdef.nn.flatten import Flatten
from netdef.nn.linear import Identity, Linear
from netdef.nn.module import BindReport, Module, Parameter
from netdef.nn.normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm
from netdef.nn.padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from netdef.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from netdef.nn.rnn import GRU, LSTM, RNN
from netdef.nn.sparse import Embedding
from netdef.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BindReport",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GELU",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "MultiheadAttention",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]

__all__ += [  # convolutions, normalization, activations, pooling, resizing, padding, embedding
    "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d", "BatchNorm3d", "CircularPad1d",
    "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "Conv1d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "ELU", "Embedding", "GroupNorm", "Hardsigmoid",
    "Hardswish", "Hardtanh", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "LogSoftmax",
    "MaxPool1d", "Mish", "PReLU", "ReLU6", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "SELU", "Softplus", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]  # fmt: skip

__all__ += [  # the rarer activations
    "CELU", "GLU", "Hardshrink", "LogSigmoid", "RReLU", "Softmax2d", "Softmin", "Softshrink", "Softsign",
    "Tanhshrink", "Threshold",
]  # fmt: skip

__all__ += ["GRU", "LSTM", "RNN"]  # recurrent layers (TensorRT loops)


def __getattr__(name: str):
    """``nn.PixelShuffle`` and other modules netdef lacks: say so, and where the supported ones are listed."""
    if name.startswith("_"):
        raise AttributeError(f"module 'netdef.nn' has no attribute {name!r}")
    raise UnsupportedOpError(missing_name_message("netdef.nn", name, __all__))
