"""Tensor: a proxy for a TensorRT ITensor that emits layers when you compute with it."""

from __future__ import annotations

from netdef._trt import trt
from netdef.symbolic import Emitter, Size, SymInt, tensor_shape


class Device:
    """What ``x.device`` gives: the engine's GPU, as a placeholder that ``device=`` arguments accept and ignore
    (``F.arange(T, device=x.device)``, ``x.to(y.device)``)."""

    type = "cuda"
    index = None

    def __repr__(self) -> str:
        return "device(type='cuda')"

    def __str__(self) -> str:
        return "cuda"

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) or str(other).split(":", 1)[0] == "cuda"

    __hash__ = object.__hash__


#: the one Device every netdef Tensor reports
DEVICE = Device()


class Tensor:
    """A tensor of the network being defined. Operators and methods follow torch and emit layers."""

    __slots__ = ("ctx", "itensor", "uncast")

    def __init__(self, itensor: trt.ITensor, ctx: Emitter) -> None:
        self.itensor = itensor
        self.ctx = ctx
        #: at a precision-override boundary, the tensor before its cast back to the outer dtype
        self.uncast: Tensor | None = None

    # -- metadata ----------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The shape, as torch: an int per static dim, a ``SymInt`` per dim known only at run time."""
        return tensor_shape(self.itensor, self.ctx)

    @property
    def static_shape(self) -> tuple[int, ...]:
        """TensorRT's build-time shape (``ITensor.shape``): -1 marks a dim known only at run time."""
        return tuple(self.itensor.shape)

    @property
    def dtype(self) -> trt.DataType:
        """The TensorRT data type of the tensor."""
        return self.itensor.dtype

    @property
    def ndim(self) -> int:
        """Number of dims (rank)."""
        return len(self.itensor.shape)

    @property
    def name(self) -> str:
        """The TensorRT tensor's name (network inputs and outputs keep theirs)."""
        return self.itensor.name

    @property
    def device(self) -> Device:
        """The engine's GPU: a placeholder that ``device=`` arguments accept (``F.arange(T, device=x.device)``)."""
        return DEVICE

    def dim(self) -> int:
        """Number of dims, as ``torch.Tensor.dim``."""
        return self.ndim

    def size(self, dim: int | None = None) -> Size | int | SymInt:
        """``x.size()`` is ``x.shape``; ``x.size(i)`` is ``x.shape[i]`` (an int, or a SymInt when dynamic)."""
        if dim is None:
            return self.shape
        if not -self.ndim <= dim < self.ndim:
            raise self.ctx.error("size", f"dim {dim} is out of range for a tensor of rank {self.ndim}")
        return self.shape[dim]

    def numel(self) -> int | SymInt:
        """Number of elements: an int, or a SymInt when a dim is dynamic."""
        return self.shape.numel()

    def __repr__(self) -> str:
        return f"netdef.Tensor(name={self.name!r}, shape={self.static_shape}, dtype={self.dtype.name})"

    def __bool__(self) -> bool:
        raise TypeError(
            "a netdef.Tensor has no value while the network is being defined; "
            "data-dependent Python control flow cannot be written into a TensorRT network"
        )

    # Operators (+, *, @, [], ==, ...) and methods that emit layers (.view, .sum, .relu, ...) are installed
    # by the ops that implement them: ``@register_op(..., methods=...)`` in netdef/functional (registry.py).

    def contiguous(self) -> Tensor:
        """The tensor itself: TensorRT tensors have no strides to make contiguous."""
        return self

    __hash__ = object.__hash__  # __eq__ (functional.eq) emits a layer; identity stays the hash, as in torch

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        n = self.shape[0]
        if isinstance(n, SymInt):
            raise n._concrete("len", "len() must return an int; use x.shape[0] (or x.size(0)) as a size instead")
        return n
