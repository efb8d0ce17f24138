"""Tensor: a proxy for a TensorRT ITensor that emits layers when you compute with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdef._trt import trt

if TYPE_CHECKING:
    from netdef.context import EmitContext


class Tensor:
    """A tensor of the network being defined. Operators and methods follow torch and emit layers."""

    __slots__ = ("ctx", "itensor", "uncast")

    def __init__(self, itensor: trt.ITensor, ctx: EmitContext) -> None:
        self.itensor = itensor
        self.ctx = ctx
        #: at a precision-override boundary, the tensor before its cast back to the outer dtype
        self.uncast: Tensor | None = None

    # -- metadata ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Static shape; -1 marks a dimension only known at run time."""
        return tuple(self.itensor.shape)

    @property
    def dtype(self) -> trt.DataType:
        return self.itensor.dtype

    @property
    def ndim(self) -> int:
        return len(self.itensor.shape)

    @property
    def name(self) -> str:
        return self.itensor.name

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements; -1 when a dimension is dynamic."""
        n = 1
        for d in self.shape:
            if d < 0:
                return -1
            n *= d
        return n

    def __repr__(self) -> str:
        return f"netdef.Tensor(name={self.name!r}, shape={self.shape}, dtype={self.dtype.name})"

    def __bool__(self) -> bool:
        raise TypeError(
            "a netdef.Tensor has no value while the network is being defined; "
            "data-dependent Python control flow cannot be written into a TensorRT network"
        )

    # Operators (+, *, @, [], ==, ...) and methods that emit layers (.view, .sum, .relu, ...) are installed
    # by the ops that implement them: ``@register_op(..., methods=...)`` in netdef/functional (registry.py).

    def contiguous(self) -> Tensor:
        return self

    __hash__ = object.__hash__  # __eq__ (functional.eq) emits a layer; identity stays the hash, as in torch

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        if self.shape[0] < 0:
            raise TypeError(f"len() of a tensor whose dim 0 is dynamic (shape {self.shape})")
        return self.shape[0]
