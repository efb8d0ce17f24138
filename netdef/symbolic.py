"""Symbolic sizes: a dimension known only at run time, backed by a TensorRT shape tensor (torch.SymInt's role).

``x.shape`` gives a Python int for every static dim and a :class:`SymInt` for every dynamic one. A SymInt
supports ``+ - * // %``, :func:`sym_max` / :func:`sym_min`, unpacking and comparisons whose answer is the
same at every size the network accepts (``T >= 1`` for a dim whose profiles start at 1; ``T + 1 > T``).
Every netdef op that takes a size accepts one. Where Python itself needs a concrete int (``range``, ``if``,
``int()``, list indexing, numpy shapes) it raises an EmitError naming the module and the source line, never
a placeholder value.

A SymInt is an int64 shape tensor of shape (1,): the layers computing it (IShapeLayer, slice, elementwise)
are emitted the first time its value is used by a layer, so sizes read but never used leave no layers.
Arithmetic is tracked as linear forms over "atoms" (dims of tensors, or results of non-linear ops) with
bounds from the inputs' optimization profiles, which is what decides comparisons.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from netdef._trt import trt
from netdef.errors import EmitError


class Emitter(Protocol):
    """What symbolic sizes and Tensors need of the network being written. ``netdef.context.EmitContext`` is the
    one implementation; a protocol, so that this module and tensor.py never import context (it imports them)."""

    #: input name -> {dim: (min, max)} over the optimization profiles
    dim_bounds: dict[str, dict[int, tuple[int, int]]]
    #: input name -> the label sizes are shown with in messages
    size_labels: dict[str, str]
    #: the symbolic-size cache of this network (see ``_cache``)
    symbolic: dict

    def where(self) -> str: ...

    def error(self, op: str, message: str) -> Exception: ...

    def add_layer(self, op: str, make: Callable[[trt.INetworkDefinition], Any]) -> Any: ...

    def weights(
        self, array: np.ndarray, dtype: trt.DataType | None = None, role: str | None = None, op: str | None = None
    ) -> trt.Weights: ...


INF = math.inf
_OPS = trt.ElementWiseOperation

#: a linear form: ((atom key, coefficient), ...) sorted by key, and a constant
Linear = tuple[tuple[tuple, int], int]

_HOW = (
    "pass the size itself to netdef ops (view/reshape, expand, slicing, F.narrow, F.arange, F.zeros, "
    "interpolate(size=...) accept it), or declare this dim static in netdef.Input"
)


class SymInt:
    """A size known only at run time: an int64 TensorRT shape tensor of shape (1,) (torch.SymInt's role)."""

    __slots__ = ("_itensor", "_make", "ctx", "expr", "hi", "key", "lin", "lo")

    def __init__(
        self,
        ctx: Emitter,
        make: Callable[[], trt.ITensor],
        expr: str,
        lo: float,
        hi: float,
        key: tuple,
        lin: Linear | None = None,
    ) -> None:
        self.ctx = ctx
        self._make = make
        self._itensor: trt.ITensor | None = None
        #: how the size was computed, for messages (``ids.shape[1] + 1``)
        self.expr = expr
        #: bounds over every shape the network accepts (``INF`` when unknown)
        self.lo, self.hi = lo, hi
        #: what identifies the value: equal keys mean equal sizes
        self.key = key
        self.lin: Linear = lin if lin is not None else (((key, 1),), 0)

    @property
    def itensor(self) -> trt.ITensor:
        """The int64 (1,) shape tensor holding the size (emitted on first use)."""
        if self._itensor is None:
            self._itensor = self._make()
        return self._itensor

    def __repr__(self) -> str:
        return self.expr

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self.expr, spec)

    def __hash__(self) -> int:
        return hash(self.lin)

    # -- arithmetic ------------------------------------------------------------------------------
    def __add__(self, other):
        return _arith("+", self, other)

    def __radd__(self, other):
        return _arith("+", other, self)

    def __sub__(self, other):
        return _arith("-", self, other)

    def __rsub__(self, other):
        return _arith("-", other, self)

    def __mul__(self, other):
        return _arith("*", self, other)

    def __rmul__(self, other):
        return _arith("*", other, self)

    def __floordiv__(self, other):
        return _arith("//", self, other)

    def __rfloordiv__(self, other):
        return _arith("//", other, self)

    def __mod__(self, other):
        return _arith("%", self, other)

    def __rmod__(self, other):
        return _arith("%", other, self)

    def __neg__(self):
        return _arith("*", self, -1)

    def __pos__(self):
        return self

    def __truediv__(self, other):
        raise self._concrete(
            "/", "true division makes a float; sizes stay ints: use // (floor division), as torch code does"
        )

    __rtruediv__ = __truediv__

    # -- comparisons (answered only when the answer holds at every accepted size) ------------------
    def __eq__(self, other):
        return _compare("==", self, other)

    def __ne__(self, other):
        return _compare("!=", self, other)

    def __lt__(self, other):
        return _compare("<", self, other)

    def __le__(self, other):
        return _compare("<=", self, other)

    def __gt__(self, other):
        return _compare(">", self, other)

    def __ge__(self, other):
        return _compare(">=", self, other)

    # -- places where Python needs a concrete value ---------------------------------------------------
    def __bool__(self) -> bool:
        if self.lo >= 1 or self.hi < 0:
            return True
        if self.lo == self.hi == 0:
            return False
        raise self._concrete("bool", "Python `if`/`while`/`and`/`or` cannot branch on it; " + _HOW)

    def __index__(self) -> int:
        raise self._concrete(
            "index",
            "range(), list indexing, numpy shapes and other Python APIs need an int; for positions use "
            "F.arange(size); otherwise " + _HOW,
        )

    def __int__(self) -> int:
        raise self._concrete("int", "int() needs a concrete value; " + _HOW)

    def __float__(self) -> float:
        raise self._concrete(
            "float",
            "float()/math need a concrete value; compute with the size and a tensor directly (x / size), or make "
            "a tensor holding it: F.full((), size, dtype='float32') (0-d) or F.full_like(x, size)",
        )

    def __iter__(self):
        raise self._concrete("iter", "a size is a single int, not a sequence")

    def _concrete(self, what: str, hint: str) -> EmitError:
        return self.ctx.error(
            "symbolic size",
            f"the size `{self.expr}` is only known at run time (a TensorRT shape tensor), so it has no "
            f"Python value to use here ({what}); {hint}",
        )


SizeLike = int | SymInt


def _cache(ctx: Emitter) -> dict:
    return ctx.symbolic


# -- shape tensors --------------------------------------------------------------------------------------


def int64_constant(ctx: Emitter, values: Sequence[int], op: str = "size") -> trt.ITensor:
    """An int64 1-D constant (shared by every use of the same values in one network)."""
    values = tuple(int(v) for v in values)
    cache = _cache(ctx)
    hit = cache.get(("const", values))
    if hit is not None:
        return hit
    arr = np.asarray(values, dtype=np.int64).reshape(-1)
    weights = ctx.weights(arr, trt.int64)
    out = ctx.add_layer(op, lambda net: net.add_constant((len(values),), weights)).get_output(0)
    cache[("const", values)] = out
    return out


def shape_tensor(itensor: trt.ITensor, ctx: Emitter) -> trt.ITensor:
    """The run-time shape of ``itensor`` as an int64 1-D tensor (one IShapeLayer per tensor)."""
    cache = _cache(ctx)
    key = ("shape", id(itensor), itensor.name)
    hit = cache.get(key)
    if hit is None:
        hit = ctx.add_layer("shape", lambda net: net.add_shape(itensor)).get_output(0)
        cache[key] = hit
        cache.setdefault("_alive", []).append(itensor)  # ids stay unique while the network is defined
    return hit


def dim_size(itensor: trt.ITensor, dim: int, ctx: Emitter) -> SymInt:
    """The run-time size of dim ``dim`` of ``itensor`` (which TensorRT reports as -1)."""
    name = itensor.name
    key = ("dim", id(itensor), name, dim)
    cache = _cache(ctx)
    hit = cache.get(key)
    if hit is not None:
        return hit
    lo, hi = ctx.dim_bounds.get(name, {}).get(dim, (0, INF))

    def make() -> trt.ITensor:
        shape = shape_tensor(itensor, ctx)
        return ctx.add_layer(f"shape_dim{dim}", lambda net: net.add_slice(shape, (dim,), (1,), (1,))).get_output(0)

    sym = SymInt(ctx, make, f"{ctx.size_labels.get(name, name)}.shape[{dim}]", lo, hi, key)
    cache[key] = sym
    cache[("atom", key)] = sym
    cache.setdefault("_alive", []).append(itensor)
    return sym


def size_tensor(ctx: Emitter, sizes: Iterable[SizeLike], op: str) -> trt.ITensor | None:
    """``sizes`` as one int64 1-D shape tensor, or None when every size is a Python int."""
    sizes = list(sizes)
    if not any(isinstance(s, SymInt) for s in sizes):
        return None
    parts: list[trt.ITensor] = []
    run: list[int] = []
    for s in sizes:
        if isinstance(s, SymInt):
            if run:
                parts.append(int64_constant(ctx, run, op + "_sizes"))
                run = []
            parts.append(s.itensor)
        else:
            run.append(int(s))
    if run:
        parts.append(int64_constant(ctx, run, op + "_sizes"))
    if len(parts) == 1:
        return parts[0]
    key = ("cat", tuple(id(p) for p in parts))
    cache = _cache(ctx)
    hit = cache.get(key)
    if hit is None:
        layer = ctx.add_layer(op + "_shape", lambda net: net.add_concatenation(parts))
        layer.axis = 0
        hit = layer.get_output(0)
        cache[key] = hit
        cache.setdefault("_alive", []).extend(parts)
    return hit


def check_size(ctx: Emitter, op: str, value, what: str) -> SizeLike:
    """``value`` as a size (a Python int or a SymInt); anything else is an EmitError."""
    if isinstance(value, SymInt):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise ctx.error(op, f"{what} must be an int or a size from x.shape, got {type(value).__name__} {value!r}")


def assert_true(ctx: Emitter, condition: trt.ITensor, op: str, message: str) -> None:
    """An IAssertionLayer: the engine (and the reference interpreter) stop with ``message`` when false."""
    full = f"{op} in {ctx.where()}: {message}"
    ctx.add_layer(op + "_assert", lambda net: net.add_assertion(condition, full))


def assert_equal(ctx: Emitter, a: SizeLike, b: SizeLike, op: str, message: str) -> None:
    """``assert_compare(ctx, a, "==", b, op, message)``."""
    assert_compare(ctx, a, "==", b, op, message)


def assert_compare(ctx: Emitter, a: SizeLike, cmp: str, b: SizeLike, op: str, message: str) -> None:
    """``a <cmp> b`` for sizes: nothing when it holds at every size, an EmitError when it never does,
    else an IAssertionLayer that stops the engine (and the reference interpreter) with ``message``."""
    ok = decide(cmp, a, b)
    if ok:
        return
    if ok is False:
        raise ctx.error(op, f"{message} ({a} {cmp} {b} is false)")
    ta, tb = _operand(ctx, a), _operand(ctx, b)
    base, negate = {
        "==": (_OPS.EQUAL, False),
        "!=": (_OPS.EQUAL, True),
        "<": (_OPS.LESS, False),
        ">": (_OPS.GREATER, False),
        "<=": (_OPS.GREATER, True),
        ">=": (_OPS.LESS, True),
    }[cmp]
    cond = ctx.add_layer(op + "_check", lambda net: net.add_elementwise(ta, tb, base)).get_output(0)
    if negate:
        src = cond
        cond = ctx.add_layer(op + "_check_not", lambda net: net.add_unary(src, trt.UnaryOperation.NOT)).get_output(0)
    assert_true(ctx, cond, op, message)


def assert_in_range(ctx: Emitter, v: SizeLike, lo: SizeLike, hi: SizeLike, op: str, message: str) -> None:
    """``lo <= v < hi``, decided while defining where possible, else checked at run time."""
    assert_compare(ctx, v, ">=", lo, op, message)
    assert_compare(ctx, v, "<", hi, op, message)


def select_size(v: SymInt, n: SizeLike) -> SymInt:
    """``v + n`` where ``v < 0`` else ``v``: a torch index whose sign is only known at run time (ISelectLayer)."""
    ctx = v.ctx
    key = ("wrap", _key_of(v), _key_of(n))
    hit = _cache(ctx).get(key)
    if hit is not None:
        return hit
    lo, hi = _interval("+", _bounds_of(v), (min(_bounds_of(n)[0], 0), max(_bounds_of(n)[1], 0)))

    def make() -> trt.ITensor:
        tv, tn = v.itensor, _operand(ctx, n)
        zero = int64_constant(ctx, [0])
        neg = ctx.add_layer("size_is_negative", lambda net: net.add_elementwise(tv, zero, _OPS.LESS)).get_output(0)
        added = ctx.add_layer("size_from_end", lambda net: net.add_elementwise(tv, tn, _OPS.SUM)).get_output(0)
        return ctx.add_layer("size_wrap", lambda net: net.add_select(neg, added, tv)).get_output(0)

    sym = SymInt(ctx, make, f"wrap({v}, {n})", lo, hi, key)
    _cache(ctx)[key] = sym
    _cache(ctx)[("atom", key)] = sym
    return sym


# -- arithmetic ---------------------------------------------------------------------------------------


def _lin_add(a: Linear, b: Linear, sign: int = 1) -> Linear:
    terms = dict(a[0])
    for k, c in b[0]:
        terms[k] = terms.get(k, 0) + sign * c
    return tuple(sorted(((k, c) for k, c in terms.items() if c), key=repr)), a[1] + sign * b[1]


def _lin_scale(a: Linear, c: int) -> Linear:
    if c == 0:
        return (), 0
    return tuple((k, v * c) for k, v in a[0]), a[1] * c


def _lin_of(v: SizeLike) -> Linear:
    return ((), int(v)) if not isinstance(v, SymInt) else v.lin


def _bounds_of(v: SizeLike) -> tuple[float, float]:
    return (v.lo, v.hi) if isinstance(v, SymInt) else (int(v), int(v))


def _mul_bound(x: float, y: float) -> float:
    return 0 if x == 0 or y == 0 else x * y


def _interval(op: str, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    (alo, ahi), (blo, bhi) = a, b
    if op == "+":
        return alo + blo, ahi + bhi
    if op == "-":
        return alo - bhi, ahi - blo
    if op == "*":
        corners = [_mul_bound(x, y) for x in (alo, ahi) for y in (blo, bhi)]
        return min(corners), max(corners)
    if op == "max":
        return max(alo, blo), max(ahi, bhi)
    if op == "min":
        return min(alo, blo), min(ahi, bhi)
    if op == "//" and alo >= 0 and blo >= 1:
        return (alo // bhi if bhi != INF else 0), (ahi // blo if ahi != INF else INF)
    if op == "%" and blo >= 1:
        top = bhi - 1
        return 0, (min(top, ahi) if alo >= 0 else top)
    return -INF, INF


_TRT = {"+": _OPS.SUM, "-": _OPS.SUB, "*": _OPS.PROD, "//": _OPS.FLOOR_DIV, "max": _OPS.MAX, "min": _OPS.MIN}
_PY = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "//": lambda x, y: x // y,
    "%": lambda x, y: x % y,
    "max": max,
    "min": min,
}


def _operand(ctx: Emitter, v: SizeLike) -> trt.ITensor:
    return v.itensor if isinstance(v, SymInt) else int64_constant(ctx, [v])


def _arith(op: str, a, b):
    sym = a if isinstance(a, SymInt) else b
    ctx = sym.ctx
    for v in (a, b):
        if not isinstance(v, SymInt) and not (isinstance(v, numbers.Integral) and not isinstance(v, bool)):
            return NotImplemented
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        return _PY[op](int(a), int(b))
    a = a if isinstance(a, SymInt) else int(a)
    b = b if isinstance(b, SymInt) else int(b)
    if op in ("//", "%") and not isinstance(b, SymInt) and b == 0:
        raise ctx.error("symbolic size", f"`{a} {op} 0` divides by zero")
    # linear forms: + and - always, * by a constant
    lin: Linear | None = None
    if op == "+":
        lin = _lin_add(_lin_of(a), _lin_of(b))
    elif op == "-":
        lin = _lin_add(_lin_of(a), _lin_of(b), -1)
    elif op == "*" and not (isinstance(a, SymInt) and isinstance(b, SymInt)):
        sym_, c = (a, b) if isinstance(a, SymInt) else (b, a)
        lin = _lin_scale(sym_.lin, int(c))
    elif op in ("//", "%") and not isinstance(b, SymInt) and b == 1:
        return a if op == "//" else 0
    if lin is not None:
        return _from_linear(ctx, lin, op, a, b)
    key = (op, _key_of(a), _key_of(b))
    return _emit(ctx, op, a, b, key, None)


def _key_of(v: SizeLike) -> tuple:
    return ("lin", v.lin) if isinstance(v, SymInt) else ("int", int(v))


def _from_linear(ctx: Emitter, lin: Linear, op: str, a: SizeLike, b: SizeLike):
    terms, const = lin
    if not terms:
        return const  # everything cancelled: a Python int
    if len(terms) == 1 and terms[0][1] == 1 and const == 0:
        atom = _cache(ctx).get(("atom", terms[0][0]))
        if atom is not None:
            return atom
    return _emit(ctx, op, a, b, ("lin", lin), lin)


def _emit(ctx: Emitter, op: str, a: SizeLike, b: SizeLike, key: tuple, lin: Linear | None) -> SymInt:
    cache = _cache(ctx)
    hit = cache.get(key)
    if hit is not None:
        return hit
    lo, hi = _interval(op, _bounds_of(a), _bounds_of(b))
    if lin is not None:  # bounds from the atoms are tighter when terms cancel partly
        llo, lhi = _linear_bounds(ctx, lin)
        lo, hi = max(lo, llo), min(hi, lhi)
    expr = f"{op}({a}, {b})" if op in ("max", "min") else f"({a} {op} {b})"
    if lin is not None:
        expr = _render(ctx, lin) or expr

    def make() -> trt.ITensor:
        x, y = _operand(ctx, a), _operand(ctx, b)
        if op == "%":  # a - (a // b) * b: Python's (and torch's) modulo, with the divisor's sign
            q = ctx.add_layer("size_floordiv", lambda net: net.add_elementwise(x, y, _OPS.FLOOR_DIV)).get_output(0)
            qb = ctx.add_layer("size_mul", lambda net: net.add_elementwise(q, y, _OPS.PROD)).get_output(0)
            return ctx.add_layer("size_mod", lambda net: net.add_elementwise(x, qb, _OPS.SUB)).get_output(0)
        name = {"+": "add", "-": "sub", "*": "mul", "//": "floordiv"}.get(op, op)
        return ctx.add_layer(f"size_{name}", lambda net: net.add_elementwise(x, y, _TRT[op])).get_output(0)

    sym = SymInt(ctx, make, expr, lo, hi, key, lin)
    if lin is None:  # a non-linear result is an atom of later linear forms
        cache[("atom", key)] = sym
    cache[key] = sym
    return sym


def _render(ctx: Emitter, lin: Linear) -> str | None:
    """A linear form as text (``(x.shape[1] * 2 - 3)``), or None when an atom has no name here."""
    cache = _cache(ctx)
    text = ""
    for k, c in lin[0]:
        atom = cache.get(("atom", k))
        if atom is None:
            return None
        term = atom.expr if abs(c) == 1 else f"{atom.expr} * {abs(c)}"
        text += (" - " if c < 0 else " + ") + term if text else ("-" if c < 0 else "") + term
    if lin[1]:
        text += f" - {-lin[1]}" if lin[1] < 0 else f" + {lin[1]}"
    return f"({text})"


def _linear_bounds(ctx: Emitter, lin: Linear) -> tuple[float, float]:
    terms, const = lin
    lo = hi = float(const)
    cache = _cache(ctx)
    for k, c in terms:
        atom = cache.get(("atom", k))
        alo, ahi = (atom.lo, atom.hi) if atom is not None else (-INF, INF)
        lo += min(_mul_bound(c, alo), _mul_bound(c, ahi))
        hi += max(_mul_bound(c, alo), _mul_bound(c, ahi))
    return lo, hi


def sym_max(a: SizeLike, b: SizeLike) -> SizeLike:
    """The larger of two sizes (torch.sym_max): a Python int when both are, else a SymInt (IElementWiseLayer MAX)."""
    return _minmax("max", a, b)


def sym_min(a: SizeLike, b: SizeLike) -> SizeLike:
    """The smaller of two sizes (torch.sym_min)."""
    return _minmax("min", a, b)


def _minmax(op: str, a: SizeLike, b: SizeLike) -> SizeLike:
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        return _PY[op](int(a), int(b))
    sym = a if isinstance(a, SymInt) else b
    (alo, ahi), (blo, bhi) = _bounds_of(a), _bounds_of(b)
    diff = _linear_bounds(sym.ctx, _lin_add(_lin_of(a), _lin_of(b), -1))
    if diff[0] >= 0 or alo >= bhi:  # a >= b at every size
        return a if op == "max" else b
    if diff[1] <= 0 or ahi <= blo:  # a <= b at every size
        return b if op == "max" else a
    key = (op, *sorted((_key_of(a), _key_of(b)), key=repr))
    return _emit(sym.ctx, op, a, b, key, None)


# -- comparisons --------------------------------------------------------------------------------------


def decide(op: str, a: SizeLike, b: SizeLike) -> bool | None:
    """``a <op> b`` when the answer is the same at every size the network accepts, else None."""
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    ctx = (a if isinstance(a, SymInt) else b).ctx
    lo, hi = _linear_bounds(ctx, _lin_add(_lin_of(a), _lin_of(b), -1))  # bounds of a - b
    decided = {
        "==": True if lo == hi == 0 else (False if lo > 0 or hi < 0 else None),
        "!=": False if lo == hi == 0 else (True if lo > 0 or hi < 0 else None),
        "<": True if hi < 0 else (False if lo >= 0 else None),
        "<=": True if hi <= 0 else (False if lo > 0 else None),
        ">": True if lo > 0 else (False if hi <= 0 else None),
        ">=": True if lo >= 0 else (False if hi < 0 else None),
    }[op]
    return decided


def _compare(op: str, a: SymInt, b):
    if not isinstance(b, (SymInt, numbers.Integral)) or isinstance(b, bool):
        return NotImplemented
    decided = decide(op, a, b)
    if decided is not None:
        return decided
    raise a.ctx.error(
        "symbolic size",
        f"`{a} {op} {b}` depends on the run-time size (the network accepts sizes where it is true and "
        "sizes where it is false), so Python cannot branch on it. Compute it without branching: "
        "netdef.sym_max/sym_min instead of max()/min(), F.where for values; or narrow the Input's "
        "min/max so the answer is the same at every size",
    )


# -- shapes ---------------------------------------------------------------------------------------------


class Size(tuple):
    """A tensor's shape (torch.Size): Python ints for static dims, SymInts for dynamic ones."""

    __slots__ = ()

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def numel(self) -> SizeLike:
        """The number of elements: an int, or a SymInt when a dim is dynamic."""
        n: SizeLike = 1
        for d in self:
            n = n * d
        return n

    def __repr__(self) -> str:  # as a tuple, so messages read "(x.shape[0], 3, 224, 224)"
        return "(" + ", ".join(map(str, self)) + ("," if len(self) == 1 else "") + ")"


def tensor_shape(itensor: trt.ITensor, ctx: Emitter) -> Size:
    """``itensor``'s shape with a SymInt for each dim TensorRT reports as -1."""
    return Size(dim_size(itensor, i, ctx) if d < 0 else int(d) for i, d in enumerate(itensor.shape))
