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

    # -- arithmetic ----------------------------------------------------------------------------
    def __add__(self, other):
        from netdef.functional import add

        return add(self, other)

    def __radd__(self, other):
        from netdef.functional import add

        return add(other, self)

    def __sub__(self, other):
        from netdef.functional import sub

        return sub(self, other)

    def __rsub__(self, other):
        from netdef.functional import sub

        return sub(other, self)

    def __mul__(self, other):
        from netdef.functional import mul

        return mul(self, other)

    def __rmul__(self, other):
        from netdef.functional import mul

        return mul(other, self)

    def __truediv__(self, other):
        from netdef.functional import div

        return div(self, other)

    def __rtruediv__(self, other):
        from netdef.functional import div

        return div(other, self)

    def __neg__(self):
        from netdef.functional import mul

        return mul(self, -1.0)

    def __matmul__(self, other):
        from netdef.functional import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from netdef.functional import matmul

        return matmul(other, self)

    # -- shape ---------------------------------------------------------------------------------
    def view(self, *shape) -> Tensor:
        from netdef.functional import reshape

        return reshape(self, *shape)

    reshape = view

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        from netdef.functional import flatten

        return flatten(self, start_dim, end_dim)

    def permute(self, *dims) -> Tensor:
        from netdef.functional import permute

        return permute(self, *dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        from netdef.functional import transpose

        return transpose(self, dim0, dim1)

    def contiguous(self) -> Tensor:
        return self

    # -- dtype ---------------------------------------------------------------------------------
    def to(self, dtype: str | trt.DataType) -> Tensor:
        from netdef.functional import cast

        return cast(self, dtype)

    def float(self) -> Tensor:
        return self.to(trt.float32)

    def half(self) -> Tensor:
        return self.to(trt.float16)

    # -- reductions and activations used as methods in torch code --------------------------------
    def softmax(self, dim: int) -> Tensor:
        from netdef.functional import softmax

        return softmax(self, dim)

    def relu(self) -> Tensor:
        from netdef.functional import relu

        return relu(self)

    def sigmoid(self) -> Tensor:
        from netdef.functional import sigmoid

        return sigmoid(self)

    def tanh(self) -> Tensor:
        from netdef.functional import tanh

        return tanh(self)
