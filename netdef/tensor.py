"""Tensor: a proxy for a TensorRT ITensor that emits layers when you compute with it."""

from __future__ import annotations

from collections.abc import Callable

from netdef._trt import trt
from netdef.symbolic import Emitter, Size, SymInt, tensor_shape

#: ``view_of``'s ``how`` for a reshape of a view whose entries are not in order: torch copies or views
#: depending on strides, so writes into it and reads after its base changed are refused
MAYBE_COPY = "reshape of a view not in order"


def _index_keeps_order(items: tuple) -> bool:
    """Whether ``x[items]`` keeps ``x``'s element order contiguous: ints, then one slice of step 1, then only
    whole dims (Nones anywhere)."""
    sliced = False
    for it in items:
        if it is None:
            continue
        whole = it is Ellipsis or (isinstance(it, slice) and it == slice(None))
        if sliced and not whole:
            return False
        if isinstance(it, slice) and it.step not in (None, 1):
            return False
        if whole or isinstance(it, slice):
            sliced = True
        elif not isinstance(it, (int, SymInt)):
            return False
    return True


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
    """A tensor of the network being defined. Operators and methods follow torch and emit layers.

    In-place writes (``x[:, 0] = 1``, ``x.add_(y)``) rebind the proxy to the layer computing the new value
    (:meth:`rebind`). Views follow torch's aliasing: a view (``v = x[0]``, ``x.view(-1)``, ``x.permute(...)``)
    remembers its base, how to compute it from the base, and the base's ``version``; read after the base was
    written, it is computed again from the new base, and a write into it is written into the base.
    """

    __slots__ = ("_itensor", "ctx", "uncast", "version", "view_of")

    def __init__(self, itensor: trt.ITensor, ctx: Emitter) -> None:
        self._itensor = itensor
        self.ctx = ctx
        #: at a precision-override boundary, the tensor before its cast back to the outer dtype
        self.uncast: Tensor | None = None
        #: how many in-place writes changed this proxy's value
        self.version = 0
        #: for a view: (base, the base's version it was computed from, how a write goes back into the base
        #: (the index of ``base[index]``, "reshape" for the base's elements in another shape, a function
        #: from the view's value to the base's, or None: a write is refused), the function computing the
        #: view from the base)
        self.view_of: tuple[Tensor, int, object, Callable[[Tensor], Tensor]] | None = None

    @property
    def itensor(self) -> trt.ITensor:
        """The TensorRT tensor this proxy stands for now (a view is computed again after its base changed)."""
        if self.view_of is not None:
            self._refresh()
        return self._itensor

    def _refresh(self) -> None:
        base, version, how, forward = self.view_of
        base.itensor  # noqa: B018 - a base that is a view itself is brought up to date first
        if base.version != version:
            if isinstance(how, str) and how == MAYBE_COPY:
                raise self.ctx.error(
                    "read",
                    f"`{self._itensor.name}` is a reshape of `{base._itensor.name}`, a view whose entries are not in "
                    f"order, and `{base._itensor.name}` was written in place after it: torch's reshape is then a copy "
                    "or a view depending on strides, so whether it sees the write is not decided here; reshape after "
                    "the write, or copy before it (y = x.reshape(...) + 0)",
                )
            self._itensor = forward(base).itensor
            self.uncast = None
            self.version += 1  # views of this view are computed again in turn
            self.view_of = (base, base.version, how, forward)

    def rebind(self, new: Tensor, data: bool = True) -> Tensor:
        """Make this proxy stand for ``new``'s TensorRT tensor: an in-place write (returns ``self``).

        ``data=False`` for a change of shape only (``unsqueeze_``): views taken before keep their values.
        """
        if type(self) is not Tensor:
            self.itensor  # noqa: B018 - a proxy whose value was folded into the next op becomes a plain one
        self._itensor = new.itensor
        self.uncast = None
        self.version += data
        if self.view_of is not None:
            base, _, how, forward = self.view_of
            self.view_of = (base, base.version, how, forward)
        return self

    def as_view_of(self, base: Tensor, how, forward: Callable[[Tensor], Tensor]) -> Tensor:
        """This tensor (a new proxy when it is ``base`` itself), marked as the view ``forward(base)`` of ``base``;
        ``how`` says how a write into it goes back into the base (see ``view_of``)."""
        out = Tensor(base.itensor, base.ctx) if self is base else self
        out.view_of = (base, base.version, how, forward)
        return out

    def is_contiguous(self) -> bool:
        """Whether torch's tensor would be contiguous, as far as netdef knows: a tensor that is not a view,
        or a view keeping its base's element order (``x[0]``, ``x[1:3]``, a reshape of such); False where
        unsure (a permute, ``x[:, 1:3]``)."""
        if self.view_of is None:
            return True
        base, _, how, _ = self.view_of
        if how == "reshape":
            return base.is_contiguous()
        if isinstance(how, (tuple, int, slice, SymInt)) or how is Ellipsis:
            return _index_keeps_order(how if isinstance(how, tuple) else (how,)) and base.is_contiguous()
        return False

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
