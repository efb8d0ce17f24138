"""Padding modules (torch.nn.ZeroPad2d, ConstantPad*, ReflectionPad*, ReplicationPad*, CircularPad*)."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


class _PadNd(Module):
    _dims = 2
    _mode = "constant"

    def __init__(self, padding, value: float | None = None) -> None:
        super().__init__()
        n = self._dims
        self.padding = (padding,) * (2 * n) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * n:
            raise ValueError(f"{type(self).__name__} takes an int or {2 * n} ints of padding, got {padding}")
        self.value = value

    def forward(self, x):
        return F.pad(x, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.value is not None else "")


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, float(value))


class ConstantPad1d(_ConstantPadNd):
    """Pad the last 1 dim with a constant ``value`` (torch.nn.ConstantPad1d)."""

    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with a constant ``value`` (torch.nn.ConstantPad2d)."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with a constant ``value`` (torch.nn.ConstantPad3d)."""

    _dims = 3


class ZeroPad1d(_ConstantPadNd):
    """Pad the last 1 dim with zeros (torch.nn.ZeroPad1d)."""

    _dims = 1

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_ConstantPadNd):
    """Pad the last 2 dims with zeros (torch.nn.ZeroPad2d)."""

    _dims = 2

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ZeroPad3d(_ConstantPadNd):
    """Pad the last 3 dims with zeros (torch.nn.ZeroPad3d)."""

    _dims = 3

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    """Pad the last 1 dim with the reflection of the input (torch.nn.ReflectionPad1d)."""

    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 dims with the reflection of the input (torch.nn.ReflectionPad2d)."""

    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last 3 dims with the reflection of the input (torch.nn.ReflectionPad3d)."""

    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last 1 dim with the edge values (torch.nn.ReplicationPad1d)."""

    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 dims with the edge values (torch.nn.ReplicationPad2d)."""

    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last 3 dims with the edge values (torch.nn.ReplicationPad3d)."""

    _dims, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last 1 dim with the values from the opposite edge (torch.nn.CircularPad1d)."""

    _dims, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pad the last 2 dims with the values from the opposite edge (torch.nn.CircularPad2d)."""

    _dims, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Pad the last 3 dims with the values from the opposite edge (torch.nn.CircularPad3d)."""

    _dims, _mode = 3, "circular"
