"""Exceptions raised by netdef. Every error says what went wrong, where, and how to fix it."""

from __future__ import annotations


class NetdefError(Exception):
    """Base class of every netdef error."""


class WeightsFormatError(NetdefError, ValueError):
    """A weights file is malformed; the message names the file, the line and the entry."""


class BindError(NetdefError, KeyError):
    """Weights do not match a model's parameters (missing, unexpected or wrongly sized)."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plain
        return str(self.args[0]) if self.args else ""


class EmitError(NetdefError, ValueError):
    """A module's forward could not be written into the network (shape, dtype, argument)."""


class BuildError(NetdefError, RuntimeError):
    """The TensorRT builder rejected the network or the build options."""


class EngineError(NetdefError, RuntimeError):
    """An engine file cannot be loaded or run here (missing, corrupt, wrong backend, no GPU)."""


class InterpreterError(NetdefError, RuntimeError):
    """The reference interpreter cannot evaluate a layer (unsupported type or attribute)."""


class ArgumentError(NetdefError, TypeError, ValueError):
    """A public function got an argument of the wrong type or value; the message names the argument."""


class UnsupportedOpError(NetdefError, AttributeError):
    """An op netdef does not support yet (``F.fractional_max_pool2d``, ``Tensor.cumsum``, a torch function on a netdef
    Tensor); the message says where the supported ops are listed."""


class NetdefWarning(UserWarning):
    """Something the target runs differently than asked (e.g. INT8 activations on TensorRT-RTX)."""
