"""netdef.nn: torch.nn-style modules whose state_dict names match torch's."""

from netdef.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softmax, Tanh
from netdef.nn.batchnorm import BatchNorm1d, BatchNorm2d
from netdef.nn.container import ModuleDict, ModuleList, Sequential
from netdef.nn.conv import Conv2d
from netdef.nn.dropout import Dropout
from netdef.nn.flatten import Flatten
from netdef.nn.linear import Identity, Linear
from netdef.nn.module import BindReport, Module, Parameter
from netdef.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

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
