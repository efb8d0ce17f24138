"""Tensor: a proxy for a TensorRT ITensor that emits layers when you compute with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdef._trt import trt
from netdef.errors import UnsupportedOpError

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

    def log_softmax(self, dim: int) -> Tensor:
        from netdef.functional import log_softmax

        return log_softmax(self, dim)

    def prelu(self, weight) -> Tensor:
        from netdef.functional import prelu

        return prelu(self, weight)

    def relu(self) -> Tensor:
        from netdef.functional import relu

        return relu(self)

    def sigmoid(self) -> Tensor:
        from netdef.functional import sigmoid

        return sigmoid(self)

    def tanh(self) -> Tensor:
        from netdef.functional import tanh

        return tanh(self)

    # -- indexing, comparisons and math (netdef/functional/{indexing,elementwise,unary,reduction}.py) --
    __hash__ = object.__hash__  # __eq__ below emits a layer; identity stays the hash, as in torch

    def __getitem__(self, index) -> Tensor:
        from netdef.functional.indexing import getitem

        return getitem(self, index)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        if self.shape[0] < 0:
            raise TypeError(f"len() of a tensor whose dim 0 is dynamic (shape {self.shape})")
        return self.shape[0]

    def __iter__(self):
        from netdef.functional import unbind

        return iter(unbind(self, 0))

    def __pow__(self, exponent):
        from netdef.functional import pow

        return pow(self, exponent)

    def __rpow__(self, base):
        from netdef.functional import pow

        return pow(base, self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def __eq__(self, other):  # type: ignore[override]
        from netdef.functional import eq

        return eq(self, other)

    def __ne__(self, other):  # type: ignore[override]
        from netdef.functional import ne

        return ne(self, other)

    def __lt__(self, other):
        from netdef.functional import lt

        return lt(self, other)

    def __le__(self, other):
        from netdef.functional import le

        return le(self, other)

    def __gt__(self, other):
        from netdef.functional import gt

        return gt(self, other)

    def __ge__(self, other):
        from netdef.functional import ge

        return ge(self, other)

    def __and__(self, other):
        from netdef.functional import logical_and

        return logical_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        from netdef.functional import logical_or

        return logical_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        from netdef.functional import logical_xor

        return logical_xor(self, other)

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        from netdef.functional import logical_not

        return logical_not(self)

    # methods that forward to netdef.functional.<name>(self, ...)
    def _f(name: str, doc: str):
        def method(self, *args, **kwargs):
            import netdef.functional as F

            return getattr(F, name)(self, *args, **kwargs)

        method.__name__ = name
        method.__doc__ = doc
        return method

    unsqueeze = _f("unsqueeze", "torch.Tensor.unsqueeze")
    squeeze = _f("squeeze", "torch.Tensor.squeeze")
    expand = _f("expand", "torch.Tensor.expand (-1 keeps a dim)")
    expand_as = _f("expand_as", "torch.Tensor.expand_as")
    repeat = _f("repeat", "torch.Tensor.repeat")
    split = _f("split", "torch.Tensor.split")
    chunk = _f("chunk", "torch.Tensor.chunk")
    unbind = _f("unbind", "torch.Tensor.unbind")
    index_select = _f("index_select", "torch.Tensor.index_select")
    sum = _f("sum", "torch.Tensor.sum")
    mean = _f("mean", "torch.Tensor.mean")
    amax = _f("amax", "torch.Tensor.amax")
    amin = _f("amin", "torch.Tensor.amin")
    prod = _f("prod", "torch.Tensor.prod")
    max = _f("max", "torch.Tensor.max: the maximum, (values, indices) along a dim, or elementwise with a tensor")
    min = _f("min", "torch.Tensor.min: the minimum, (values, indices) along a dim, or elementwise with a tensor")
    argmax = _f("argmax", "torch.Tensor.argmax")
    argmin = _f("argmin", "torch.Tensor.argmin")
    topk = _f("topk", "torch.Tensor.topk")
    clamp = _f("clamp", "torch.Tensor.clamp")
    clip = clamp
    pow = _f("pow", "torch.Tensor.pow")
    sqrt = _f("sqrt", "torch.Tensor.sqrt")
    rsqrt = _f("rsqrt", "torch.Tensor.rsqrt")
    exp = _f("exp", "torch.Tensor.exp")
    log = _f("log", "torch.Tensor.log")
    abs = _f("abs", "torch.Tensor.abs")
    neg = _f("neg", "torch.Tensor.neg")
    reciprocal = _f("reciprocal", "torch.Tensor.reciprocal")
    erf = _f("erf", "torch.Tensor.erf")
    sin = _f("sin", "torch.Tensor.sin")
    cos = _f("cos", "torch.Tensor.cos")
    floor = _f("floor", "torch.Tensor.floor")
    ceil = _f("ceil", "torch.Tensor.ceil")
    round = _f("round", "torch.Tensor.round")
    sign = _f("sign", "torch.Tensor.sign")
    eq = _f("eq", "torch.Tensor.eq")
    ne = _f("ne", "torch.Tensor.ne")
    lt = _f("lt", "torch.Tensor.lt")
    le = _f("le", "torch.Tensor.le")
    gt = _f("gt", "torch.Tensor.gt")
    ge = _f("ge", "torch.Tensor.ge")
    logical_and = _f("logical_and", "torch.Tensor.logical_and")
    logical_or = _f("logical_or", "torch.Tensor.logical_or")
    logical_xor = _f("logical_xor", "torch.Tensor.logical_xor")
    logical_not = _f("logical_not", "torch.Tensor.logical_not")
    masked_fill = _f("masked_fill", "torch.Tensor.masked_fill")
    matmul = _f("matmul", "torch.Tensor.matmul")
    bmm = _f("bmm", "torch.Tensor.bmm")
    del _f

    # -- torch functions and ops netdef lacks (errors that say what to do) ------------------------------
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """A netdef Tensor reached a torch function (``torch.sigmoid(x)``): say which netdef op to call."""
        found = _first_tensor([*args, *(kwargs or {}).values()])
        where = f"{found.ctx.where()}: " if found is not None else ""
        raise UnsupportedOpError(where + _torch_function_message(func))

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a torch.Tensor method netdef does not have
        if name.startswith("_") or name in Tensor.__slots__:
            raise AttributeError(f"'netdef.Tensor' object has no attribute {name!r}")
        raise UnsupportedOpError(_missing_method_message(name))


#: where the supported ops are listed, for error messages
SUPPORTED_OPS = "the supported ops are listed in netdef.functional.__all__ and dir(netdef.Tensor)"


def _first_tensor(values) -> Tensor | None:
    for v in values:
        if isinstance(v, Tensor):
            return v
        if isinstance(v, (list, tuple)):
            found = _first_tensor(v)
            if found is not None:
                return found
    return None


def _torch_function_message(func) -> str:
    import netdef.functional as F

    name = getattr(func, "__name__", str(func))
    module = (getattr(func, "__module__", None) or "torch").replace("torch._C._nn", "torch.nn.functional")
    if name in F.__all__:
        method = f" or x.{name}(...)" if hasattr(Tensor, name) else ""
        fix = f"use netdef's op instead: F.{name}(...) (from netdef import F){method}"
    elif hasattr(Tensor, name):
        fix = f"use the netdef.Tensor method instead: x.{name}(...)"
    else:
        fix = f"netdef has no `{name}` op yet; {SUPPORTED_OPS}"
    return f"{module}.{name} was called on a netdef.Tensor, which torch cannot compute with; {fix}"


def unsupported_function_message(package: str, name: str, available: list[str]) -> str:
    """Why ``<package>.<name>`` (netdef.functional, netdef.nn) does not exist, with the closest names ``available``."""
    import difflib

    close = difflib.get_close_matches(name, available, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listed = SUPPORTED_OPS if package == "netdef.functional" else f"the supported ones are listed in {package}.__all__"
    return f"{package} has no `{name}`: it is not supported yet ({listed}){hint}"


def _missing_method_message(name: str) -> str:
    import difflib

    import netdef.functional as F

    if name in F.__all__:
        return f"netdef.Tensor has no method `{name}`; call it as a function: F.{name}(x, ...) (from netdef import F)"
    if name.endswith("_") and (hasattr(Tensor, name[:-1]) or name[:-1] in F.__all__):
        return f"netdef.Tensor has no in-place `{name}`: a network has no in-place ops; use y = x.{name[:-1]}(...)"
    close = difflib.get_close_matches(name, [n for n in dir(Tensor) if not n.startswith("_")], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"netdef.Tensor has no method `{name}`: the op is not supported yet ({SUPPORTED_OPS}){hint}"
