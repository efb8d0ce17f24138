"""Random small networks from netdef's op registry, run by netdef's reference interpreter and by torch.

A *program* is a list of steps over named values (``v0 = x``, ``v3 = F.add(v1, 2.5)``, ``v4 = self.m4(v3)``).
Each functional step names an op of ``netdef.functional.registry.OPS``: netdef runs ``OPS[op].function``,
torch runs the op's registered torch target (``OPS[op].torch``), so both sides read one table. Operators
(``2.0 - x``) and modules (``nn.Conv2d`` beside ``torch.nn.Conv2d``, bound to the same weights) are steps
too. ``SAMPLES`` maps an op name to the function that draws its arguments for a given input value: it is
the seed of per-op sample inputs (issue 21); an op of the registry without one is listed in
``NOT_SAMPLED`` with the reason.

Generation runs torch on two concrete sizes of every dynamic dim as it goes, so each value's shape, dtype
and range are known, and a step torch refuses, or one whose values leave a safe range, is drawn again.
Results that are 0-d are not drawn (their semantics were being fixed elsewhere, issue 20). Every value no
later step reads is an output. A program is kept only if it is well conditioned: torch in float64 (and,
for fp16/bf16, torch with every value rounded to that dtype) stays within a fifth of the tolerance, so a
failure is netdef's, not the precision's. ``case(seed)`` draws one whole case (program, precision, fold,
dynamic dims, fp32 overrides) from ``seed`` alone; ``check_case`` defines the network, runs the
interpreter at both sizes (and the first again) and compares with torch; ``program(...)`` writes one by hand.

``python tests/fuzz/generate.py --seed 17`` prints case 17 and checks it; ``--count 500`` checks 500;
``--precision bf16`` draws every case at one precision; ``--build`` also builds each engine.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import math
import operator
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import netdef
from netdef import nn
from netdef.errors import NetdefError
from netdef.functional.registry import OPS
from netdef.testing import TOLERANCES, Tolerance, randomize_norm, torch_weights

# ---------------------------------------------------------------------------------------------- program


@dataclass(frozen=True)
class Ref:
    """A value of the program, by name."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SizeOf:
    """``value.shape[dim]``: a symbolic size in netdef when the dim is dynamic, an int in torch."""

    name: str
    dim: int

    def __repr__(self) -> str:
        return f"{self.name}.shape[{self.dim}]"


@dataclass(frozen=True)
class Prod:
    """``a * b`` of two sizes (symbolic arithmetic in netdef)."""

    a: object
    b: object

    def __repr__(self) -> str:
        return f"{self.a!r} * {self.b!r}"


@dataclass(frozen=True)
class W:
    """A constant array (weights, a constant operand): numpy for netdef, a tensor for torch."""

    array: np.ndarray = field(compare=False)

    def __repr__(self) -> str:
        return f"W{tuple(self.array.shape)}:{self.array.dtype}"


@dataclass(frozen=True)
class C(W):
    """A constant operand of an op that takes tensors: emitted as its own ``F.as_tensor`` step."""


@dataclass(frozen=True)
class Dtype:
    """A dtype argument: its name for netdef, the torch dtype for torch."""

    name: str

    def __repr__(self) -> str:
        return repr(self.name)


@dataclass
class Step:
    """``out = op(*args, **kwargs)[index]``. ``op`` is a registry name, ``op:<operator>`` (Python operator)
    or ``nn:<Module>`` (a module; ``module`` holds its constructor arguments)."""

    op: str
    args: tuple
    kwargs: dict
    out: str
    index: int | None = None
    module: tuple | None = None
    #: the SAMPLES entry that drew it (not part of the program)
    sampler: str = field(default="", compare=False)

    def text(self) -> str:
        args = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        tail = "" if self.index is None else f"[{self.index}]"
        if self.op.startswith("op:"):
            name = self.op[3:]
            if name == "getitem":
                return f"{self.out} = {args[0]}[{_index_text(self.args[1])}]{tail}"
            if name in _SYMBOLS:
                return f"{self.out} = {args[0]} {_SYMBOLS[name]} {args[1]}{tail}"
            return f"{self.out} = {args[0]}.{name}({', '.join(args[1:])}){tail}"
        if self.op.startswith("nn:"):
            cargs, ckw = self.module
            ctor = ", ".join([repr(a) for a in cargs] + [f"{k}={v!r}" for k, v in ckw.items()])
            return f"{self.out} = self.{self.out}({', '.join(args)}){tail}  # nn.{self.op[3:]}({ctor})"
        return f"{self.out} = F.{self.op}({', '.join(args)}){tail}"


_SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**", "lt": "<", "gt": ">", "floordiv": "//", "mod": "%",
}  # fmt: skip


def _index_text(index) -> str:
    parts = index if isinstance(index, tuple) else (index,)

    def one(p):
        if isinstance(p, slice):
            s = f"{'' if p.start is None else p.start}:{'' if p.stop is None else p.stop}"
            return s + ("" if p.step is None else f":{p.step}")
        return "..." if p is Ellipsis else repr(p)

    return ", ".join(one(p) for p in parts)


@dataclass
class Case:
    """One fuzz case: inputs (shapes at two sizes of the dynamic dims), steps, precision, fold."""

    seed: int
    precision: str
    fold: bool
    #: name -> (shape with -1 for dynamic dims, shape at size A, shape at size B)
    inputs: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
    steps: list[Step]
    #: the values the network returns: every value no later step reads (at most 4), the last one first
    outputs: list[str]
    #: the inputs at size A and at size B (float32)
    feeds: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
    #: define's ``overrides``: modules (by step name) kept in fp32 inside an fp16 network
    overrides: dict[str, str] = field(default_factory=dict)
    #: the precision ``case(seed, precision=...)`` was asked for ('' when drawn from the seed)
    forced: str = ""

    def text(self) -> str:
        lines = [f"# fuzz case seed={self.seed} precision={self.precision} fold={self.fold}"]
        if self.overrides:
            lines[0] += f" overrides={self.overrides}"
        for name, (shape, a, b) in self.inputs.items():
            dyn = f"  # dynamic: run at {a} and {b}" if a != b else ""
            lines.append(f"{name} = Input({shape}){dyn}")
        lines += [s.text() for s in self.steps]
        lines.append(f"return {', '.join(self.outputs)}")
        if self.forced:
            lines.append(f"# reproduce: python tests/fuzz/generate.py --seed {self.seed} --precision {self.forced}")
        else:
            lines.append(
                f"# reproduce: FUZZ_SEED={self.seed} pytest tests/fuzz/test_fuzz.py  (or generate.py --seed {self.seed})"
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- execution


def _torch_target(path: str) -> Callable:
    module, _, rest = path.partition(".")
    obj = importlib.import_module(module)
    for part in rest.split("."):
        obj = getattr(obj, part)
    return obj


def _module_pair(step: Step, seed: int) -> tuple[torch.nn.Module, nn.Module]:
    """The torch module and the netdef module of an ``nn:`` step, netdef bound to torch's random weights."""
    cls = step.op[3:]
    cargs, ckw = step.module
    torch.manual_seed(seed)
    twin = getattr(torch.nn, cls)(*cargs, **ckw)
    if "Norm" in cls:
        randomize_norm(twin)
    twin.eval()
    mine = getattr(nn, cls)(*cargs, **ckw)
    mine.load_weights(torch_weights(twin), strict=True)
    return twin, mine


#: emulating backends -> the dtype every value is rounded to
HALF = {"torch-fp16": torch.float16, "torch-bf16": torch.bfloat16}


def _round_half(t, dtype: torch.dtype = torch.float16):
    if isinstance(t, torch.Tensor) and t.is_floating_point():
        return t.to(dtype).float()
    return t


class Runner:
    """Runs a program's steps on one backend: 'torch', 'torch-fp16' (torch, every value and constant
    rounded to half precision: how far fp16 can move the answer), 'torch-fp64' (torch in double
    precision: how far float32 itself is from the answer) or 'netdef' (inside define's forward)."""

    def __init__(self, backend: str, modules: dict[str, object]) -> None:
        self.backend, self.modules = backend, modules

    def arg(self, a, env):
        if isinstance(a, Ref):
            return env[a.name]
        if isinstance(a, SizeOf):
            return env[a.name].shape[a.dim]
        if isinstance(a, Prod):
            return self.arg(a.a, env) * self.arg(a.b, env)
        if isinstance(a, W):
            if self.backend == "netdef":
                return a.array
            t = torch.from_numpy(a.array.copy())
            if self.backend == "torch-fp64" and t.is_floating_point():
                return t.double()
            return _round_half(t, HALF[self.backend]) if self.backend in HALF else t
        if isinstance(a, Dtype):
            if self.backend == "torch-fp64" and a.name == "float32":
                return torch.float64
            return a.name if self.backend == "netdef" else getattr(torch, a.name)
        if isinstance(a, (list, tuple)) and not isinstance(a, str):
            return type(a)(self.arg(x, env) for x in a)
        return a

    def step(self, step: Step, env: dict) -> None:
        args = [self.arg(a, env) for a in step.args]
        kwargs = {k: self.arg(v, env) for k, v in step.kwargs.items()}
        if step.op.startswith("op:"):
            fn = getattr(operator, step.op[3:])
        elif step.op.startswith("nn:"):
            fn = self.modules[step.out]
        elif self.backend == "netdef":
            fn = OPS[step.op].function
        else:
            fn = _torch_target(OPS[step.op].torch)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using padding='same'")  # torch's note on even kernels
            out = fn(*args, **kwargs)
        if step.index is not None:
            out = out[step.index]
        if self.backend in HALF:
            out = _round_half(out, HALF[self.backend])
        env[step.out] = out

    def run(self, steps: list[Step], env: dict, outputs: list[str]) -> list:
        for s in steps:
            self.step(s, env)
        return [env[o] for o in outputs]


class Program(nn.Module):
    """The netdef side of a case: its ``nn:`` steps as submodules, ``forward`` runs every step."""

    def __init__(self, case: Case, modules: dict[str, nn.Module]) -> None:
        super().__init__()
        self._case = case
        for name, m in modules.items():
            setattr(self, name, m)
        self._modules_by_step = modules

    def forward(self, *xs):
        env = dict(zip(self._case.inputs, xs))
        outs = Runner("netdef", self._modules_by_step).run(self._case.steps, env, self._case.outputs)
        return outs[0] if len(outs) == 1 else tuple(outs)


def torch_modules(case: Case) -> tuple[dict, dict]:
    """The (torch, netdef) modules of every ``nn:`` step, bound to the same weights (seeded by the case)."""
    pairs = {s.out: _module_pair(s, case.seed * 1000 + i) for i, s in enumerate(case.steps) if s.module}
    return {k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}


def run_torch(case: Case, which: int, backend: str = "torch", modules: dict | None = None) -> list[torch.Tensor]:
    if modules is None:
        modules = torch_modules(case)[0]
    feeds = case.feeds[which]
    env = {n: torch.from_numpy(v.copy()) for n, v in feeds.items()}
    if backend in HALF:
        env = {n: _round_half(v, HALF[backend]) for n, v in env.items()}
        modules = {k: _half_module(m, HALF[backend]) for k, m in modules.items()}
    if backend == "torch-fp64":
        env = {n: v.double() for n, v in env.items()}
        modules = {k: copy.deepcopy(m).double() for k, m in modules.items()}
    with torch.no_grad():
        return Runner(backend, modules).run(case.steps, env, case.outputs)


def _half_module(m: torch.nn.Module, dtype: torch.dtype) -> Callable:
    """``m`` with its parameters rounded to ``dtype`` and its output rounded too."""
    h = copy.deepcopy(m)
    with torch.no_grad():
        for p in list(h.parameters()) + list(h.buffers()):
            if p.is_floating_point():
                p.copy_(p.to(dtype).float())
    return lambda *a: _round_half(h(*a), dtype)


# ---------------------------------------------------------------------------------------------- checking


def define_case(case: Case, netdef_modules: dict) -> netdef.Network:
    specs = {}
    for name, (shape, a, b) in case.inputs.items():
        if a == b:
            specs[name] = netdef.Input(a)
        else:
            lo = tuple(min(p, q) for p, q in zip(a, b))
            hi = tuple(max(p, q) for p, q in zip(a, b))
            specs[name] = netdef.Input(shape, min=lo, opt=hi, max=hi)
    return netdef.define(
        Program(case, netdef_modules), specs, precision=case.precision, fold=case.fold, overrides=case.overrides
    )


def check_case(case: Case, build: bool = False) -> str:
    """Define the case's network, run the interpreter at both sizes, compare with torch. Returns 'ok' or
    'refused: <message>' (a NetdefError at definition that is netdef's own); raises AssertionError, with
    the program and seed in the message, for a wrong answer, a crash, or TensorRT's raw error leaking.
    With ``build`` the network is also built into an engine (TensorRT-RTX builds on CPU: ~1 s)."""
    tmods, nmods = torch_modules(case)
    try:
        net = define_case(case, nmods)
    except NetdefError as e:
        if "Error Code" in str(e):  # TensorRT's own API error passed through: no name, no fix
            raise AssertionError(f"unclear refusal (TensorRT's error leaked): {e}\n{case.text()}") from e
        return f"refused: {type(e).__name__}: {e}"
    except Exception as e:
        raise AssertionError(f"define crashed: {type(e).__name__}: {e}\n{case.text()}") from e
    tol = FUZZ_TOLERANCES[case.precision]
    for which in (0, 1, 0):  # size A again: what the interpreter kept from the first run must still hold
        wants = run_torch(case, which, modules=tmods)
        feeds = case.feeds[which]
        kept = {k: v.copy() for k, v in feeds.items()}
        try:
            got = netdef.reference.run(net, feeds)
        except Exception as e:
            raise AssertionError(
                f"interpreter raised at input shapes {_shapes(feeds)}: {type(e).__name__}: {e}\n{case.text()}"
            ) from e
        changed = [k for k in feeds if not np.array_equal(feeds[k], kept[k])]
        assert not changed, f"the interpreter wrote into the caller's input arrays {changed}\n{case.text()}"
        names = net.outputs
        assert len(names) == len(wants), f"{len(names)} outputs, torch {len(wants)}\n{case.text()}"
        for name, value, want in zip(names, case.outputs, wants):
            try:
                compare(got[name], want, tol)
            except AssertionError as e:
                raise AssertionError(
                    f"output {name} ({value}) at input shapes {_shapes(feeds)}: {e}\n{case.text()}"
                ) from None
    if build:
        try:
            netdef.build(net)
        except Exception as e:
            raise AssertionError(
                f"the interpreter ran it but the build failed: {type(e).__name__}: {e}\n{case.text()}"
            ) from e
    return "ok"


def _shapes(feeds):
    return {k: v.shape for k, v in feeds.items()}


def compare(got: np.ndarray, want: torch.Tensor, tol: Tolerance) -> None:
    want = want.detach().numpy()
    got = np.asarray(got)
    assert got.shape == want.shape, f"shape {got.shape} != torch's {want.shape}"
    if want.dtype == np.bool_ or np.issubdtype(want.dtype, np.integer):
        assert got.dtype == want.dtype or np.issubdtype(got.dtype, np.integer), f"dtype {got.dtype} != {want.dtype}"
        bad = int(np.count_nonzero(got != want))
        assert not bad, f"{bad} of {want.size} elements differ (exact dtype {want.dtype})"
        return
    bad = tol.mismatches(got, want)
    if bad:
        err = float(np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        where = np.unravel_index(int(np.nanargmax(np.abs(got - want))), want.shape) if want.size else ()
        raise AssertionError(
            f"{bad} of {want.size} elements off by more than {tol} (max |diff| {err:.3g} at {where}: "
            f"got {got[where]!r}, torch {want[where]!r}; max |torch| {np.abs(want).max():.3g})"
        )


# ---------------------------------------------------------------------------------------------- generation


@dataclass
class Value:
    """A value while generating: its torch values at both sizes (shapes, dtype, range known)."""

    name: str
    a: torch.Tensor
    b: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.a.shape)

    @property
    def ndim(self) -> int:
        return self.a.ndim

    @property
    def dynamic(self) -> set[int]:
        """Dims whose size differs between the two runs."""
        return {i for i, (p, q) in enumerate(zip(self.a.shape, self.b.shape)) if p != q}

    @property
    def static(self) -> list[int]:
        return [i for i in range(self.ndim) if i not in self.dynamic]

    @property
    def is_float(self) -> bool:
        return self.a.is_floating_point()

    @property
    def is_bool(self) -> bool:
        return self.a.dtype == torch.bool

    def positive(self, low: float = 0.05) -> bool:
        return self.is_float and min(float(self.a.min()), float(self.b.min())) > low if self.a.numel() else False

    def absmax(self) -> float:
        if not self.is_float or not self.a.numel():
            return 0.0
        return max(float(self.a.abs().max()), float(self.b.abs().max()))


class Gen:
    """Draws programs. ``rng`` is the only source of randomness, so a seed gives one program."""

    def __init__(self, seed: int, precision: str) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.precision = precision

    # small helpers for samplers
    def pick(self, seq):
        seq = list(seq)
        return seq[int(self.rng.integers(len(seq)))]

    def coin(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p)

    def int(self, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def dim(self, v: Value, static: bool = False, negative: bool = True) -> int | None:
        dims = v.static if static else list(range(v.ndim))
        if not dims:
            return None
        d = self.pick(dims)
        return d - v.ndim if negative and self.coin(0.3) else d

    def scalar(self) -> float | int:
        return self.pick([2, -1, 3, 0.5, -1.5, 0.25, 1.75])

    def weights(self, *shape: int, scale: float | None = None) -> W:
        fan = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = scale if scale is not None else 1.0 / np.sqrt(max(fan, 1))
        return W((self.rng.standard_normal(shape) * s).astype(np.float32))

    def broadcastable(self, v: Value) -> tuple[int, ...]:
        """A shape that broadcasts against ``v`` (1 at dynamic dims, maybe fewer leading dims)."""
        shape = [1 if (i in v.dynamic or self.coin(0.4)) else n for i, n in enumerate(v.shape)]
        drop = self.int(0, max(v.ndim - 1, 0)) if self.coin(0.4) else 0
        return tuple(shape[drop:])


#: ops whose output jumps (a rounding in fp16 moves an element across a step): fp32 programs only
DISCONTINUOUS = {
    "ceil", "floor", "round", "sign", "eq", "ne", "gt", "ge", "lt", "le", "argmax", "argmin", "trunc", "fix", "frac",
    "hardshrink", "threshold", "floor_divide", "remainder", "fmod", "copysign",
}  # fmt: skip
#: ops that need a positive input: the generator puts ``abs(x) + 0.5`` in front when the value is not
POSITIVE = {"log", "sqrt", "rsqrt", "reciprocal", "log2", "log10", "log1p"}
_UNARY_KW: dict[str, Callable[[Gen], dict]] = {
    "elu": lambda g: {"alpha": g.pick([1.0, 0.5, 2.0])},
    "gelu": lambda g: {"approximate": g.pick(["none", "tanh"])},
    "hardtanh": lambda g: {"min_val": g.pick([-1.0, -0.5]), "max_val": g.pick([1.0, 2.0])},
    "leaky_relu": lambda g: {"negative_slope": g.pick([0.01, 0.2, -0.5])},
    "softplus": lambda g: {"beta": g.pick([1.0, 2.0]), "threshold": g.pick([20.0, 1.0])},
    "dropout": lambda g: {"p": g.pick([0.1, 0.5]), "training": False},
    "celu": lambda g: {"alpha": g.pick([1.0, 0.5, 2.0])},
    "hardshrink": lambda g: {"lambd": g.pick([0.5, 0.25])},
    "softshrink": lambda g: {"lambd": g.pick([0.5, 0.25])},
    "threshold": lambda g: {"threshold": g.pick([0.0, 0.5]), "value": g.pick([-1.0, 2.0])},
    "rrelu": lambda g: {"lower": g.pick([0.125, 0.05]), "upper": g.pick([1.0 / 3, 0.5])},
    "nan_to_num": lambda g: {"nan": g.pick([0.0, 1.5])},
}
UNARY = [
    "abs", "ceil", "cos", "erf", "exp", "floor", "log", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign",
    "sin", "sqrt", "tanh", "relu", "relu6", "elu", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu",
    "mish", "selu", "silu", "softplus", "dropout", "atan", "asinh", "sinh", "cosh", "tan", "square", "expm1", "log1p",
    "log2", "log10", "softsign", "tanhshrink", "logsigmoid", "celu", "rrelu", "hardshrink", "softshrink", "threshold",
    "trunc", "frac", "isnan", "isinf", "isfinite", "nan_to_num",
]  # fmt: skip
#: unary ops defined on part of the line: the largest |x| the sampler lets in (tan's poles, asin's domain, overflow)
BOUNDED = {"exp": 4.0, "expm1": 4.0, "sinh": 4.0, "cosh": 4.0, "tan": 1.2}


def _unary(op):
    def sample(g: Gen, v: Value):
        if not v.is_float or v.absmax() > BOUNDED.get(op, math.inf):
            return None
        return Step(op, (Ref(v.name),), _UNARY_KW.get(op, lambda g: {})(g), "")

    return sample


def _other(g: Gen, v: Value, values: list[Value]) -> tuple | None:
    """The second operand of a binary op: a Python scalar, a constant that broadcasts, or another value
    whose shape broadcasts against ``v``."""
    r = g.rng.random()
    if r < 0.35:
        return (g.scalar(),)
    if r < 0.65:
        return (C(g.weights(*g.broadcastable(v), scale=1.0).array),)
    same = [u for u in values if u.name != v.name and u.is_float and _broadcasts(u, v)]
    return (Ref(g.pick(same).name),) if same else (g.scalar(),)


def _broadcasts(u: Value, v: Value) -> bool:
    try:
        return torch.broadcast_shapes(u.a.shape, v.a.shape) == v.a.shape and (
            torch.broadcast_shapes(u.b.shape, v.b.shape) == v.b.shape
        )
    except RuntimeError:
        return False


_OPERATORS = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv"}


def _int_other(g: Gen, v: Value, values: list[Value]) -> tuple:
    """The second operand of a binary op on an integer or bool value: a Python int or float, an int32
    constant, or another integer or bool value (torch's type promotion decides the result's dtype)."""
    r = g.rng.random()
    if r < 0.5:
        return (g.pick([2, -3, 1.5, True]),)
    if r < 0.7:
        return (C(g.rng.integers(-3, 4, g.broadcastable(v)).astype(np.int32)),)
    same = [u for u in values if u.name != v.name and not u.is_float and _broadcasts(u, v)]
    return (Ref(g.pick(same).name),) if same else (g.pick([2, -3]),)


def _binary(op):
    def sample(g: Gen, v: Value, values: list[Value]):
        if not v.is_float:
            a, b = Ref(v.name), _int_other(g, v, values)[0]
            if op == "div" and not isinstance(b, (int, float)):
                return None  # integer division by zero: inf in torch
            if op in _OPERATORS and g.coin(0.5) and isinstance(b, (int, float)):
                return Step(f"op:{_OPERATORS[op]}", (b, a) if g.coin() else (a, b), {}, "")
            if isinstance(b, (int, float)) and op in ("maximum", "minimum"):
                return None
            return Step(op, (a, b), {}, "")
        other = _other(g, v, values)
        if other is None:
            return None
        if op == "div" and (
            (isinstance(other[0], (int, float)) and other[0] == 0)
            or (isinstance(other[0], Ref) and not next(u for u in values if u.name == other[0].name).positive(0.2))
        ):
            other = (g.pick([2, -4.0, 0.5]),)
        a, b = Ref(v.name), other[0]
        if op in _OPERATORS and g.coin(0.5):  # as a Python operator, maybe reflected (2 - x)
            if isinstance(b, (int, float)) and g.coin(0.5) and not (op == "div"):
                return Step(f"op:{_OPERATORS[op]}", (b, a), {}, "")
            return Step(f"op:{_OPERATORS[op]}", (a, b), {}, "")
        if isinstance(b, (int, float)) and op in ("maximum", "minimum"):
            return None  # torch.maximum takes tensors only
        return Step(op, (a, b), {}, "")

    return sample


def _compare(op):
    def sample(g: Gen, v: Value, values: list[Value]):
        if not v.is_float:
            return None
        other = _other(g, v, values)
        if isinstance(other[0], Ref) and _near_ties(v, next(u for u in values if u.name == other[0].name)):
            return None
        return Step(op, (Ref(v.name), other[0]), {}, "")

    return sample


def _near_ties(v: Value, u: Value) -> bool:
    """Elements of two values equal or within rounding (``cumprod(x)[0]`` and ``x``): a comparison of them flips
    on the last bit, which ops exact in torch but rounded in netdef (cumprod through exp/log) legitimately differ in."""
    return any(((a - b).abs() <= 1e-4 * (1 + a.abs())).any() for a, b in ((v.a, u.a), (v.b, u.b)))


def _logical(op):
    def sample(g: Gen, v: Value, values: list[Value]):
        if not v.is_bool:
            return None
        if op == "logical_not":
            return Step(op, (Ref(v.name),), {}, "")
        others = [u for u in values if u.is_bool and u.name != v.name and _broadcasts(u, v)]
        if not others:
            return None
        return Step(op, (Ref(v.name), Ref(g.pick(others).name)), {}, "")

    return sample


def _where(g: Gen, v: Value, values: list[Value]):
    conds = [u for u in values if u.is_bool and _broadcasts(u, v)]
    if not v.is_float or not conds:
        return None
    other = _other(g, v, values)
    return Step("where", (Ref(g.pick(conds).name), Ref(v.name), other[0]), {}, "")


def _masked_fill(g: Gen, v: Value, values: list[Value]):
    conds = [u for u in values if u.is_bool and _broadcasts(u, v)]
    if not v.is_float or not conds:
        return None
    return Step("masked_fill", (Ref(v.name), Ref(g.pick(conds).name), g.scalar()), {}, "")


def _pow(g: Gen, v: Value, values: list[Value]):
    if not v.is_float or v.absmax() > 8:
        return None
    if g.coin(0.3):  # scalar base, tensor exponent
        if v.absmax() > 4:
            return None
        return Step("pow", (g.pick([2.0, 0.5, 3]), Ref(v.name)), {}, "")
    e = g.pick([2, 3, 2.0, 0.5, -1, 1.5]) if v.positive() else g.pick([2, 3, 2.0])
    if g.coin(0.5):
        return Step("op:pow", (Ref(v.name), e), {}, "")
    return Step("pow", (Ref(v.name), e), {}, "")


def _clamp(g: Gen, v: Value):
    if not v.is_float:
        return None
    lo, hi = g.pick([None, -0.5, 0]), g.pick([None, 0.5, 1])
    if lo is None and hi is None:
        lo = -0.25
    return Step(g.pick(["clamp", "clip"]), (Ref(v.name),), {"min": lo, "max": hi}, "")


def _reduce(op):
    def sample(g: Gen, v: Value):
        if (
            v.ndim == 0
            or (not v.is_float and op in ("mean", "argmax", "argmin"))
            or (v.is_bool and op in ("max", "min"))
        ):
            return None
        keep = g.coin()
        if op in ("sum", "mean", "amax", "amin") and g.coin(0.4) and v.ndim > 1:
            dims = sorted({g.dim(v, negative=False) for _ in range(2)})
            dim = tuple(dims) if len(dims) > 1 or g.coin() else dims[0]
            return Step(op, (Ref(v.name),), {"dim": dim, "keepdim": keep}, "")
        d = g.dim(v)
        if op == "prod" and v.shape[d] > 6:
            return None
        if op in ("max", "min") and not v.is_float:
            return Step(op, (Ref(v.name), d), {"keepdim": keep}, "", index=0)  # values only: ints tie
        if op in ("max", "min"):
            if d is None or not _distinct(v, d):
                return None
            index = g.pick([0, 0, 1]) if g.precision == "fp32" else 0  # fp16 rounding makes ties
            return Step(op, (Ref(v.name), d), {"keepdim": keep}, "", index=index)
        if op in ("argmax", "argmin"):
            if not _distinct(v, d):
                return None
            return Step(op, (Ref(v.name),), {"dim": d, "keepdim": keep}, "")
        return Step(op, (Ref(v.name),), {"dim": d, "keepdim": keep}, "")

    return sample


def _distinct(v: Value, d: int) -> bool:
    """No ties along ``d`` (indices of ties differ by implementation, legitimately)."""
    for t in (v.a, v.b):
        s = t.sort(dim=d).values
        if s.shape[d] > 1 and (s.diff(dim=d).abs() < 1e-4).any():
            return False
    return True


def _softmax(op):
    def sample(g: Gen, v: Value):
        if not v.is_float or v.ndim == 0:
            return None
        return Step(op, (Ref(v.name),), {"dim": g.dim(v)}, "")

    return sample


def _cumsum(g: Gen, v: Value):
    if not v.is_float or v.ndim == 0:
        return None
    return Step("cumsum", (Ref(v.name),), {"dim": g.dim(v)}, "")


def _topk(g: Gen, v: Value):
    d = g.dim(v, static=True)
    if v.is_bool or d is None or v.shape[d] < 2 or not _distinct(v, d):
        return None
    k = g.int(1, v.shape[d])
    index = g.pick([0, 0, 1]) if g.precision == "fp32" else 0  # fp16 rounding makes ties
    return Step("topk", (Ref(v.name), k), {"dim": d, "largest": g.coin()}, "", index=index)


def _reshape(g: Gen, v: Value):
    """Split one static dim in two, or merge two adjacent dims; dynamic dims stay (as -1 or v.shape[i])."""
    if v.ndim == 0:
        return None
    target: list = []
    if g.coin() and v.ndim < 5:  # split
        cands = [i for i in v.static if v.shape[i] % 2 == 0 and v.shape[i] > 2]
        if not cands:
            return None
        i = g.pick(cands)
        f = g.pick([k for k in (2, 3, 4) if v.shape[i] % k == 0])
        for j in range(v.ndim):
            target += [f, v.shape[i] // f] if j == i else [_size(g, v, j)]
    else:  # merge i, i+1
        if v.ndim < 2:
            return None
        i = g.int(0, v.ndim - 2)
        for j in range(v.ndim):
            if j == i:
                if i in v.dynamic or i + 1 in v.dynamic:
                    target.append(-1 if g.coin() else Prod(_size(g, v, i, sym=True), _size(g, v, i + 1, sym=True)))
                else:
                    target.append(v.shape[i] * v.shape[i + 1])
            elif j != i + 1:
                target.append(_size(g, v, j))
    if target.count(-1) > 1:
        return None
    op = g.pick(["reshape", "view", "op:reshape"])
    if op == "op:reshape":  # the Tensor method, sizes spread
        return Step("reshape", (Ref(v.name), tuple(target)), {}, "")
    return Step(op, (Ref(v.name), tuple(target)), {}, "")


def _unflatten(g: Gen, v: Value):
    cands = [i for i in v.static if v.shape[i] % 2 == 0 and v.shape[i] > 2]
    if not cands or v.ndim >= 5:
        return None
    d = g.pick(cands)
    f = g.pick([k for k in (2, 3, 4) if v.shape[d] % k == 0])
    sizes = (f, v.shape[d] // f) if g.coin() else (f, -1)
    return Step("unflatten", (Ref(v.name), d - v.ndim if g.coin(0.3) else d, sizes), {}, "")


def _size(g: Gen, v: Value, j: int, sym: bool = False):
    if j in v.dynamic:
        return SizeOf(v.name, j) if sym or g.coin(0.7) else -1
    return SizeOf(v.name, j) if sym and g.coin(0.3) else v.shape[j]


def _flatten(g: Gen, v: Value):
    if v.ndim < 2:
        return None
    s = g.int(0, v.ndim - 2)
    e = g.int(s + 1, v.ndim - 1)
    return Step("flatten", (Ref(v.name),), {"start_dim": s, "end_dim": e - v.ndim if g.coin() else e}, "")


def _permute(g: Gen, v: Value):
    if v.ndim < 2:
        return None
    perm = tuple(int(i) for i in g.rng.permutation(v.ndim))
    return Step("permute", (Ref(v.name), perm), {}, "")


def _transpose(g: Gen, v: Value):
    if v.ndim < 2:
        return None
    a, b = g.rng.choice(v.ndim, 2, replace=False)
    return Step("transpose", (Ref(v.name), int(a), int(b) - (v.ndim if g.coin(0.3) else 0)), {}, "")


def _t(g: Gen, v: Value):
    return Step("t", (Ref(v.name),), {}, "") if v.ndim == 2 else None


def _unsqueeze(g: Gen, v: Value):
    if v.ndim >= 5:
        return None
    return Step("unsqueeze", (Ref(v.name), g.int(-v.ndim - 1, v.ndim)), {}, "")


def _squeeze(g: Gen, v: Value):
    ones = [i for i in v.static if v.shape[i] == 1]
    if not ones or v.ndim == 1:
        return None
    return Step("squeeze", (Ref(v.name), g.pick(ones)), {}, "")


def _expand(g: Gen, v: Value, values: list[Value]):
    """Dims of size 1 to 2 or 3, or to the size of a dynamic dim of another value (``u.shape[j]``), maybe
    with a new leading dim; others kept (-1 or their own size)."""
    ones = [i for i in v.static if v.shape[i] == 1]
    if not ones and v.ndim >= 4:
        return None
    dyn = [(u, j) for u in values for j in u.dynamic]
    sizes: list = []
    for i in range(v.ndim):
        if i in ones and g.coin(0.7):
            if dyn and g.coin(0.4):
                u, j = g.pick(dyn)
                sizes.append(SizeOf(u.name, j))
            else:
                sizes.append(g.pick([2, 3]))
        else:
            sizes.append(-1 if g.coin(0.6) or i in v.dynamic else v.shape[i])
    if g.coin(0.3):
        sizes.insert(0, 2)
    return Step("expand", (Ref(v.name), *sizes), {}, "")


def _repeat(g: Gen, v: Value):
    if v.ndim == 0 or v.a.numel() > 256:
        return None
    reps = tuple(g.pick([1, 1, 2]) for _ in range(v.ndim + (1 if g.coin(0.2) else 0)))
    return Step("repeat", (Ref(v.name), *reps), {}, "")


#: slices and indices on a dynamic dim (they mean different elements at the two sizes)
DYNAMIC_INDEX = [
    slice(None), slice(1, None), slice(None, -1), slice(-2, None), slice(None, None, 2), slice(1, -1, 2),
    slice(0, 2), slice(-3, -1), slice(None, 100), -1, 0, 1, -2,
]  # fmt: skip


def _getitem(g: Gen, v: Value):
    if v.ndim == 0:
        return None
    parts: list = []
    for i in range(v.ndim):
        n = v.shape[i]
        r = g.rng.random()
        if r < 0.35:
            parts.append(slice(None))
        elif i in v.dynamic:
            parts.append(g.pick(DYNAMIC_INDEX))
        elif r < 0.6 and n > 1:
            parts.append(g.int(-n, n - 1))
        else:
            start = g.pick([None, 0, 1, -n, -1])
            stop = g.pick([None, n, -1, n + 3, 1])
            step = g.pick([None, 1, 2, 3])
            parts.append(slice(start, stop, step))
    if g.coin(0.2):
        parts.insert(g.int(0, len(parts)), None)
    while parts and parts[-1] == slice(None) and g.coin(0.6):
        parts.pop()
    if g.coin(0.15) and parts:
        parts = [Ellipsis, *parts[1:]]
    index = tuple(parts) if len(parts) != 1 or g.coin() else parts[0]
    return Step("op:getitem", (Ref(v.name), index), {}, "")


def _small(v: Value, d: int) -> int:
    """The size of dim ``d`` at the smaller of the two runs."""
    return min(v.a.shape[d], v.b.shape[d])


def _narrow(g: Gen, v: Value):
    d = g.dim(v)
    if d is None or _small(v, d) < 2:
        return None
    n = _small(v, d)
    start = g.int(0, n - 1)
    if d % v.ndim in v.dynamic and g.coin():  # up to the end, whatever the size: v.shape[d] - start
        return Step("narrow", (Ref(v.name), d, start, SizeOf(v.name, d % v.ndim)), {}, "")
    return Step("narrow", (Ref(v.name), d, g.pick([start, start - n]), g.int(1, n - start)), {}, "")


def _select(g: Gen, v: Value):
    d = g.dim(v)
    if d is None or _small(v, d) < 1 or v.ndim < 2:
        return None
    n = _small(v, d)
    return Step("select", (Ref(v.name), d, g.int(-n, n - 1)), {}, "")


def _split(op):
    def sample(g: Gen, v: Value):
        d = g.dim(v, static=True)  # pieces of a dynamic dim: a count known only at run time, refused by name
        if d is None or _small(v, d) < 2:
            return None
        n = _small(v, d)
        if op == "chunk":
            c = g.int(2, min(n, 4))
            pieces = -(-n // -(-n // c))
            return Step("chunk", (Ref(v.name), c), {"dim": d}, "", index=g.int(0, pieces - 1))
        if op == "unbind":
            return Step("unbind", (Ref(v.name),), {"dim": d}, "", index=g.int(0, n - 1)) if v.ndim > 1 else None
        if g.coin() or d % v.ndim in v.dynamic:
            s = g.int(1, n - 1)
            return Step("split", (Ref(v.name), s), {"dim": d}, "", index=g.int(0, -(-n // s) - 1))
        a = g.int(1, n - 1)
        return Step("split", (Ref(v.name), [a, n - a]), {"dim": d}, "", index=g.int(0, 1))

    return sample


def _cat(op):
    def sample(g: Gen, v: Value, values: list[Value]):
        if v.ndim == 0 or v.is_bool:
            return None
        if op == "stack":
            same = [u for u in values if u.a.shape == v.a.shape and u.b.shape == v.b.shape and u.a.dtype == v.a.dtype]
            if v.ndim >= 5:
                return None
            parts = [Ref(v.name), Ref(g.pick(same).name)]
            return Step("stack", (parts,), {"dim": g.int(-v.ndim - 1, v.ndim)}, "")
        d = g.dim(v)
        others = [
            u
            for u in values
            if u.ndim == v.ndim
            and u.a.dtype == v.a.dtype
            and all(
                u.a.shape[i] == v.a.shape[i] and u.b.shape[i] == v.b.shape[i] for i in range(v.ndim) if i != d % v.ndim
            )
            and (d % v.ndim not in u.dynamic or d % v.ndim in v.dynamic)
        ]
        parts = [Ref(v.name), Ref(g.pick(others).name)]
        if g.coin(0.3):
            parts.reverse()
        return Step("cat", (parts,), {"dim": d}, "")

    return sample


def _index_select(g: Gen, v: Value):
    d = g.dim(v)
    if d is None or _small(v, d) < 1:
        return None
    idx = g.rng.integers(0, _small(v, d), g.int(1, 4)).astype(g.pick([np.int64, np.int32]))
    return Step("index_select", (Ref(v.name), d, W(idx) if g.coin() else C(idx)), {}, "")


def _pad(g: Gen, v: Value):
    if not v.is_float or v.ndim < 2:
        return None
    k = g.int(1, min(2, v.ndim - 1))
    mode = g.pick(["constant", "constant", "reflect", "replicate"])
    dims = list(range(v.ndim - k, v.ndim))
    if mode == "reflect" and any(v.a.shape[i] < 3 or v.b.shape[i] < 3 for i in dims):
        return None
    if mode != "constant" and not 2 <= v.ndim - 1 <= 4:
        return None
    pad = tuple(g.int(0, 2 if mode != "reflect" else 1) for _ in range(2 * k))
    if mode == "constant":
        pad = tuple(p - (1 if g.coin(0.2) and v.shape[dims[-1 - i // 2]] > 2 else 0) for i, p in enumerate(pad))
        kw = {"mode": mode, "value": g.pick([0.0, 1.5])}
    else:
        kw = {"mode": mode}
    return Step("pad", (Ref(v.name), pad), kw, "")


def _pool(op):
    nd = 2 if op.endswith("2d") else 1

    def sample(g: Gen, v: Value):
        if not v.is_float or v.ndim != nd + 2:
            return None
        spatial = [min(v.a.shape[i], v.b.shape[i]) for i in range(2, v.ndim)]
        if op.startswith("adaptive"):
            out = tuple(g.int(1, max(s, 1)) for s in spatial)
            if any(i + 2 in v.dynamic for i in range(nd)):
                out = (1,) * nd  # netdef refuses other sizes over dynamic dims, by name
            size = out[0] if nd == 1 or (g.coin() and len(set(out)) == 1) else out
            return Step(op, (Ref(v.name), size), {}, "")
        k = g.int(1, min(3, min(spatial)))
        stride = g.pick([None, 1, 2])
        pad = g.int(0, k // 2)
        # ceil_mode over dynamic dims: refused by name
        kw = {"stride": stride, "padding": pad, "ceil_mode": g.coin(0.3) and not v.dynamic & {2, 3}}
        if op.startswith("avg"):
            kw["count_include_pad"] = g.coin()
        return Step(op, (Ref(v.name), k), kw, "")

    return sample


def _interpolate(g: Gen, v: Value):
    if not v.is_float or v.ndim not in (3, 4):
        return None
    mode = g.pick(["nearest", "linear" if v.ndim == 3 else "bilinear"])
    kw: dict = {"mode": mode}
    if mode != "nearest":
        kw["align_corners"] = g.coin()
    if g.coin() or any(i >= 2 for i in v.dynamic):
        kw["scale_factor"] = g.pick([2, 2.0, 3])
    else:
        kw["size"] = tuple(g.int(1, 2 * v.shape[i]) for i in range(2, v.ndim))
    return Step("interpolate", (Ref(v.name),), kw, "")


def _conv(nd: int):
    return lambda g, v: _conv_nd(g, v, nd)


def _conv_nd(g: Gen, v: Value, nd: int):
    """nn.Conv1d/Conv2d (a module) or F.conv1d/conv2d (numpy weights), channels static."""
    if not v.is_float or v.ndim != nd + 2 or 1 in v.dynamic:
        return None
    cin = v.shape[1]
    groups = g.pick([1, 1, cin]) if cin > 1 else 1
    cout = g.pick([1, 2, 3]) * groups if groups > 1 else g.pick([2, 4, 6])
    spatial = [min(v.a.shape[i], v.b.shape[i]) for i in range(2, v.ndim)]
    k = g.int(1, min(3, min(spatial)))
    stride, dil = g.pick([1, 1, 2]), 1
    pad = g.pick([0, k // 2, "same"]) if stride == 1 else g.pick([0, k // 2])
    if stride == 1 and pad != "same" and g.coin(0.2) and min(spatial) > 2 * (k - 1):
        dil = 2
    bias = g.coin(0.7)
    if g.coin():
        cls = f"Conv{nd}d"
        kw = {"stride": stride, "padding": pad, "dilation": dil, "groups": groups, "bias": bias}
        return Step(f"nn:{cls}", (Ref(v.name),), {}, "", module=((cin, cout, k), kw))
    w = g.weights(cout, cin // groups, *([k] * nd))
    b = g.weights(cout, scale=0.5) if bias else None
    return Step(
        f"conv{nd}d", (Ref(v.name), w, b), {"stride": stride, "padding": pad, "dilation": dil, "groups": groups}, ""
    )


def _conv_transpose(g: Gen, v: Value):
    """nn.ConvTranspose2d on static spatial dims only (dynamic: being fixed elsewhere, issue 20)."""
    if not v.is_float or v.ndim != 4 or v.dynamic & {1, 2, 3}:
        return None
    cin = v.shape[1]
    k, stride = g.int(1, 3), g.pick([1, 2])
    pad = g.int(0, (k - 1) // 2) if k > 1 else 0
    opad = g.int(0, stride - 1) if stride > 1 else 0
    kw = {"stride": stride, "padding": pad, "output_padding": opad, "bias": g.coin()}
    return Step("nn:ConvTranspose2d", (Ref(v.name),), {}, "", module=((cin, g.pick([2, 3]), k), kw))


def _linear(g: Gen, v: Value):
    if not v.is_float or v.ndim < 1 or v.ndim - 1 in v.dynamic:
        return None
    fin, fout = v.shape[-1], g.pick([1, 3, 5, 8])
    bias = g.coin(0.7)
    if g.coin():
        return Step("nn:Linear", (Ref(v.name),), {}, "", module=((fin, fout), {"bias": bias}))
    return Step("linear", (Ref(v.name), g.weights(fout, fin), g.weights(fout, scale=0.5) if bias else None), {}, "")


def _batch_norm(g: Gen, v: Value):
    """nn.BatchNorm1d/2d (a module, statistics randomized) or F.batch_norm (numpy arrays)."""
    if not v.is_float or v.ndim not in (2, 3, 4) or 1 in v.dynamic:
        return None
    c = v.shape[1]
    if g.coin():
        cls = "BatchNorm2d" if v.ndim == 4 else "BatchNorm1d"
        return Step(f"nn:{cls}", (Ref(v.name),), {}, "", module=((c,), {"affine": g.coin(0.8)}))
    mean = W((g.rng.standard_normal(c) * 0.5).astype(np.float32))
    var = W((g.rng.random(c) * 2 + 0.1).astype(np.float32))
    weight = g.weights(c, scale=1.0) if g.coin(0.8) else None
    bias = g.weights(c, scale=1.0) if g.coin(0.8) else None
    return Step("batch_norm", (Ref(v.name), mean, var, weight, bias), {"training": False, "eps": 1e-5}, "")


def _layer_norm(g: Gen, v: Value):
    if not v.is_float or v.ndim < 1 or v.ndim - 1 in v.dynamic:
        return None
    k = 2 if v.ndim >= 2 and v.ndim - 2 not in v.dynamic and g.coin(0.3) else 1
    shape = v.shape[-k:]
    if g.coin():
        return Step("nn:LayerNorm", (Ref(v.name),), {}, "", module=((shape,), {"elementwise_affine": g.coin(0.8)}))
    w = g.weights(*shape, scale=1.0) if g.coin(0.8) else None
    b = g.weights(*shape, scale=1.0) if w is not None and g.coin(0.8) else None
    return Step("layer_norm", (Ref(v.name), shape, w, b), {}, "")


def _group_norm(g: Gen, v: Value):
    if not v.is_float or v.ndim < 3 or 1 in v.dynamic:
        return None
    c = v.shape[1]
    groups = g.pick([d for d in range(1, c + 1) if c % d == 0])
    w = g.weights(c, scale=1.0) if g.coin(0.7) else None
    b = g.weights(c, scale=1.0) if w is not None and g.coin(0.7) else None
    return Step("group_norm", (Ref(v.name), groups, w, b), {}, "")


def _instance_norm(g: Gen, v: Value):
    if not v.is_float or v.ndim not in (3, 4) or 1 in v.dynamic:
        return None
    c = v.shape[1]
    w = g.weights(c, scale=1.0) if g.coin(0.7) else None
    b = g.weights(c, scale=1.0) if w is not None and g.coin(0.7) else None
    return Step("instance_norm", (Ref(v.name),), {"weight": w, "bias": b}, "")


def _prelu(g: Gen, v: Value):
    if not v.is_float or v.ndim < 1:
        return None
    n = v.shape[1] if v.ndim >= 2 and 1 not in v.dynamic and g.coin() else 1
    return Step("prelu", (Ref(v.name), g.weights(n, scale=0.5)), {}, "")


def _matmul(op):
    def sample(g: Gen, v: Value, values: list[Value]):
        if not v.is_float or v.ndim < 1 or v.ndim - 1 in v.dynamic:
            return None
        if op == "bmm":
            if v.ndim != 3 or v.dynamic:
                return None
            return Step("bmm", (Ref(v.name), C(g.weights(v.shape[0], v.shape[2], g.int(1, 4)).array)), {}, "")
        others = [u for u in values if u.ndim == 2 and u.is_float and not u.dynamic and u.shape[0] == v.shape[-1]]
        if others and g.coin(0.3):  # v @ u with another value of the program
            return Step("op:matmul", (Ref(v.name), Ref(g.pick(others).name)), {}, "")
        shape = (v.shape[-1],) if g.coin(0.2) else (v.shape[-1], g.int(1, 5))
        if v.ndim == 1 and len(shape) == 1:
            return None  # a 0-d result (0-d semantics are being fixed elsewhere, issue 20)
        return Step(op, (Ref(v.name), C(g.weights(*shape).array)), {}, "")

    return sample


def _cast(g: Gen, v: Value):
    if v.is_bool:
        return Step("cast", (Ref(v.name), Dtype("float32")), {}, "")
    if v.a.dtype == torch.int64:
        return Step("cast", (Ref(v.name), Dtype("float32")), {}, "")
    if v.is_float and g.precision == "fp32" and v.absmax() < 100:
        return Step("cast", (Ref(v.name), Dtype(g.pick(["int32", "bool"]))), {}, "")
    return None


def _division(op):
    """``//``, ``%`` and fmod by a divisor away from 0 (floats or integers)."""

    def sample(g: Gen, v: Value):
        if v.is_bool:
            return None
        b = g.pick([2.0, -1.5, 0.75, 3.0]) if v.is_float else g.pick([2, -3, 4])
        if op in ("floor_divide", "remainder") and g.coin(0.5):
            return Step("op:floordiv" if op == "floor_divide" else "op:mod", (Ref(v.name), b), {}, "")
        return Step(op, (Ref(v.name), b), {}, "")

    return sample


def _flip(g: Gen, v: Value):
    if v.ndim == 0:
        return None
    dims = sorted({g.dim(v) % v.ndim for _ in range(g.int(1, v.ndim))})
    return Step("flip", (Ref(v.name), tuple(d - v.ndim if g.coin(0.3) else d for d in dims)), {}, "")


def _roll(g: Gen, v: Value):
    if v.ndim == 0:
        return None
    if g.coin(0.2):  # no dims: over the flattened tensor
        return Step("roll", (Ref(v.name), g.int(-7, 7)), {}, "")
    d = g.dim(v)
    return Step("roll", (Ref(v.name), g.int(-7, 7), d), {}, "")


def _movedim(g: Gen, v: Value):
    if v.ndim < 2:
        return None
    src, dst = (int(i) for i in g.rng.choice(v.ndim, 2, replace=False))
    return Step("movedim", (Ref(v.name), src, dst - v.ndim if g.coin(0.3) else dst), {}, "")


def _broadcast_to(g: Gen, v: Value):
    ones = [i for i in v.static if v.shape[i] == 1]
    if not ones and v.ndim >= 4:
        return None
    sizes: list = [
        g.pick([2, 3]) if i in ones else (-1 if i in v.dynamic or g.coin() else v.shape[i]) for i in range(v.ndim)
    ]
    if g.coin(0.3) and v.ndim < 4:
        sizes.insert(0, 2)
    return Step("broadcast_to", (Ref(v.name), tuple(sizes)), {}, "")


def _tile(g: Gen, v: Value):
    if v.ndim == 0 or v.a.numel() > 256:
        return None
    reps = tuple(g.pick([1, 1, 2]) for _ in range(g.int(1, min(v.ndim + 1, 4))))
    return Step("tile", (Ref(v.name), reps), {}, "")


def _repeat_interleave(g: Gen, v: Value):
    if v.ndim == 0 or v.a.numel() > 256:
        return None
    if g.coin(0.2):  # no dim: over the flattened tensor
        return Step("repeat_interleave", (Ref(v.name), 2), {}, "")
    return Step("repeat_interleave", (Ref(v.name), g.pick([2, 3])), {"dim": g.dim(v)}, "")


def _triangle(op):
    def sample(g: Gen, v: Value):
        if v.ndim < 2:
            return None
        return Step(op, (Ref(v.name), g.int(-2, 2)), {}, "")

    return sample


def _two_floats(op):
    """atan2, hypot, copysign: a second float operand (atan2's other kept away from 0)."""

    def sample(g: Gen, v: Value, values: list[Value]):
        if not v.is_float:
            return None
        other = _other(g, v, values)[0]
        if op == "atan2" and not (isinstance(other, (int, float)) and other != 0):
            other = g.pick([2.0, -1.5, 0.5])
        return Step(op, (Ref(v.name), other), {}, "")

    return sample


def _cumprod(g: Gen, v: Value):
    """Float values away from 0 (a product's relative error is the sum of its factors'), a short static dim."""
    d = g.dim(v, static=True)
    if not v.is_float or d is None or v.shape[d] > 6:
        return None
    return Step("cumprod", (Ref(v.name),), {"dim": d}, "")


def _pixel_shuffle(g: Gen, v: Value):
    c = v.ndim - 3
    if v.ndim < 3 or c not in v.static or v.ndim > 4:
        return None
    r = g.pick([r for r in (2, 3) if v.shape[c] % (r * r) == 0] or [0])
    return Step("pixel_shuffle", (Ref(v.name), r), {}, "") if r else None


def _pixel_unshuffle(g: Gen, v: Value):
    if v.ndim < 3 or v.ndim > 4:
        return None
    fits = [r for r in (2, 3) if all(t.shape[-1] % r == 0 and t.shape[-2] % r == 0 for t in (v.a, v.b))]
    return Step("pixel_unshuffle", (Ref(v.name), g.pick(fits)), {}, "") if fits else None


def _channel_shuffle(g: Gen, v: Value):
    if v.ndim < 3 or 1 not in v.static:
        return None
    groups = [k for k in (2, 3, 4) if v.shape[1] % k == 0]
    return Step("channel_shuffle", (Ref(v.name), g.pick(groups)), {}, "") if groups else None


def _sort(op):
    def sample(g: Gen, v: Value):
        d = g.dim(v)
        if v.is_bool or d is None or not _distinct(v, d):
            return None
        index = g.pick([0, 1]) if g.precision == "fp32" else 0  # fp16 rounding makes ties
        if op == "argsort":
            return Step(op, (Ref(v.name),), {"dim": d, "descending": g.coin()}, "") if g.precision == "fp32" else None
        return Step(op, (Ref(v.name),), {"dim": d, "descending": g.coin()}, "", index=index)

    return sample


def _lerp(g: Gen, v: Value, values: list[Value]):
    if not v.is_float:
        return None
    end = [u for u in values if u.name != v.name and u.is_float and _broadcasts(u, v)]
    if not end:
        return None
    return Step("lerp", (Ref(v.name), Ref(g.pick(end).name), g.pick([0.25, 0.5, 0.8, -0.5])), {}, "")


def _glu(g: Gen, v: Value):
    even = [d for d in range(v.ndim) if v.a.shape[d] % 2 == 0 and v.b.shape[d] % 2 == 0 and v.a.shape[d] > 0]
    if not v.is_float or not even:
        return None
    return Step("glu", (Ref(v.name),), {"dim": g.pick(even)}, "")


#: op name -> sampler(gen, value[, values]) -> Step | None (None: this op does not fit this value)
SAMPLES: dict[str, Callable] = {
    **{op: _unary(op) for op in UNARY},
    **{op: _binary(op) for op in ("add", "sub", "mul", "div", "maximum", "minimum")},
    **{op: _compare(op) for op in ("eq", "ne", "gt", "ge", "lt", "le")},
    **{op: _logical(op) for op in ("logical_and", "logical_or", "logical_xor", "logical_not")},
    **{op: _division(op) for op in ("floor_divide", "remainder", "fmod")},
    **{op: _two_floats(op) for op in ("atan2", "hypot", "copysign")},
    "lerp": _lerp,
    "glu": _glu,
    "softmin": _softmax("softmin"),
    "where": _where,
    "masked_fill": _masked_fill,
    "pow": _pow,
    "clamp": _clamp,
    **{op: _reduce(op) for op in ("sum", "mean", "amax", "amin", "prod", "max", "min", "argmax", "argmin")},
    "softmax": _softmax("softmax"),
    "log_softmax": _softmax("log_softmax"),
    "cumsum": _cumsum,
    "topk": _topk,
    "reshape": _reshape,
    "flatten": _flatten,
    "unflatten": _unflatten,
    "permute": _permute,
    "transpose": _transpose,
    "t": _t,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "expand": _expand,
    "repeat": _repeat,
    "getitem": _getitem,
    "narrow": _narrow,
    "select": _select,
    **{op: _split(op) for op in ("chunk", "split", "unbind")},
    "cat": _cat("cat"),
    "stack": _cat("stack"),
    "index_select": _index_select,
    "pad": _pad,
    **{
        op: _pool(op)
        for op in (
            "max_pool1d",
            "max_pool2d",
            "avg_pool1d",
            "avg_pool2d",
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_max_pool1d",
            "adaptive_max_pool2d",
        )
    },
    "interpolate": _interpolate,
    "conv1d": _conv(1),
    "conv2d": _conv(2),
    "conv_transpose2d": _conv_transpose,
    "linear": _linear,
    "batch_norm": _batch_norm,
    "layer_norm": _layer_norm,
    "group_norm": _group_norm,
    "instance_norm": _instance_norm,
    "prelu": _prelu,
    "matmul": _matmul("matmul"),
    "bmm": _matmul("bmm"),
    "cast": _cast,
    "flip": _flip,
    "roll": _roll,
    "movedim": _movedim,
    "broadcast_to": _broadcast_to,
    "tile": _tile,
    "repeat_interleave": _repeat_interleave,
    "tril": _triangle("tril"),
    "triu": _triangle("triu"),
    "cumprod": _cumprod,
    "pixel_shuffle": _pixel_shuffle,
    "pixel_unshuffle": _pixel_unshuffle,
    "channel_shuffle": _channel_shuffle,
    "sort": _sort("sort"),
    "argsort": _sort("argsort"),
}

#: ops of the registry the generator does not draw, with the reason (a new op lands in neither table and
#: tests/fuzz/test_fuzz.py says so)
NOT_SAMPLED: dict[str, str] = {
    "arange": "no tensor input (a constant)",
    "full": "no tensor input (a constant)",
    "ones": "no tensor input (a constant)",
    "zeros": "no tensor input (a constant)",
    "as_tensor": "drawn by the samplers: every constant tensor operand is an F.as_tensor step",
    "full_like": "constant of the input's shape: covered by zeros_like/ones_like tests",
    "ones_like": "constant of the input's shape",
    "zeros_like": "constant of the input's shape",
    "expand_as": "expand is drawn",
    "reshape_as": "reshape is drawn",
    "view_as": "reshape is drawn",
    "conv3d": "5-d inputs: too slow for a small-case fuzzer",
    "conv_transpose1d": "conv_transpose2d is drawn",
    "conv_transpose3d": "5-d inputs: too slow for a small-case fuzzer",
    "embedding": "integer inputs (being changed elsewhere, issue 20)",
    "gru": "recurrent (being changed elsewhere, issue 20)",
    "lstm": "recurrent (being changed elsewhere, issue 20)",
    "rnn": "recurrent (being changed elsewhere, issue 20)",
    "nms": "boxes and scores of a detector (being changed elsewhere, issue 20)",
    "multi_head_attention_forward": "weights of attention: tests/functional/test_attention.py",
    "scaled_dot_product_attention": "tests/functional/test_attention.py",
    "sym_check": "an assertion, no value",
    "upsample": "interpolate is drawn (upsample is its deprecated alias in torch)",
    "upsample_bilinear": "interpolate is drawn",
    "upsample_nearest": "interpolate is drawn",
    "clip": "drawn by the clamp sampler",
    "view": "drawn by the reshape sampler",
    "acosh": "defined from 1 up: tests/functional/test_unary.py",
    "asin": "defined on [-1, 1], which random values rarely fit: tests/functional/test_unary.py",
    "acos": "defined on [-1, 1], which random values rarely fit: tests/functional/test_unary.py",
    "atanh": "defined on (-1, 1), which random values rarely fit: tests/functional/test_unary.py",
    "bitwise_and": "the layers of logical_and on bools, which is drawn",
    "bitwise_or": "the layers of logical_or on bools, which is drawn",
    "bitwise_xor": "the layers of logical_xor on bools, which is drawn",
    "bitwise_not": "the layer of logical_not on bools, which is drawn",
    "fix": "trunc is drawn (fix is its alias)",
    "subtract": "sub is drawn (subtract is its alias)",
    "multiply": "mul is drawn (multiply is its alias)",
    "divide": "div is drawn (divide is its alias)",
    "clone": "emits nothing (the input itself)",
    "detach": "emits nothing (the input itself)",
    "arctan2": "atan2 is drawn",
    "moveaxis": "an alias of movedim, which is drawn",
    "native_channel_shuffle": "an alias of channel_shuffle, which is drawn",
    "eye": "no tensor input (a constant)",
    "linspace": "no tensor input (a constant)",
    "diag": "1-d or 2-d inputs only, and its output's rank differs with the input's: "
    "tests/functional/test_matrix.py and its opsamples",
    "meshgrid": "1-d inputs only (the generator draws rank 2-4): its opsamples",
    "one_hot": "integer class indices below num_classes (the generator's ints are not indices): its opsamples",
    "gather": "an int64 index tensor within the input's sizes (values drawn are data): its opsamples",
    "scatter": "an int64 index tensor within bounds and without repeats (a repeated index's winner is "
    "unspecified): its opsamples",
    "setitem": "an assignment (x[i] = v), not a call: tests/functional/test_inplace.py and its opsamples",
    "fold": "its input's block count must match output_size exactly: tests/functional/test_rearrange.py "
    "and its opsamples",
    "unfold": "4-d inputs with a kernel fitting both sizes of every dynamic dim: tests/functional/"
    "test_rearrange.py and its opsamples",
}

# ---------------------------------------------------------------------------------------------- cases

PRECISION_WEIGHTS = {"fp32": 0.7, "fp16": 0.3}
#: netdef.testing's tolerances, and bf16's (not drawn by default: ``--precision bf16``): its unit roundoff
#: 2**-8 is 8 times fp16's, so 8 times fp16's tolerance
FUZZ_TOLERANCES = {**TOLERANCES, "bf16": Tolerance(scaled=8 * TOLERANCES["fp16"].scaled)}
#: ops drawn more often than the others (weight 1): those with weights, folding and precision edges
HEAVY = {"conv1d": 4.0, "conv2d": 4.0, "linear": 4.0, "batch_norm": 3.0, "layer_norm": 2.0, "conv_transpose2d": 2.0}
#: a value leaving this range is drawn again (fp16 holds up to 65504; products of such values stay finite)
MAX_ABS = 200.0
MAX_NUMEL = 4096


def _inputs(g: Gen) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """1-2 inputs of rank 2-4; dynamic dims (-1) on the batch dim and/or the last dims, or none."""
    rank = g.pick([2, 3, 4, 4])
    base = [g.int(1, 3)] + [g.pick([2, 3, 4, 5, 6, 8]) for _ in range(rank - 1)]
    mode = g.pick(["static", "batch", "spatial", "both"])
    dyn = set()
    if mode in ("batch", "both"):
        dyn.add(0)
    if mode in ("spatial", "both") and rank >= 3:
        dyn.add(rank - 1)
        if rank == 4 and g.coin():
            dyn.add(rank - 2)
    a = tuple(max(n, 3) if i in dyn and i else n for i, n in enumerate(base))
    b = tuple(n + g.int(1, 3) if i in dyn else n for i, n in enumerate(a))
    shape = tuple(-1 if i in dyn else n for i, n in enumerate(a))
    out = {"x": (shape, a, b)}
    if g.coin(0.3):  # a second input that broadcasts against the first
        s2 = tuple(n if i in dyn or g.coin(0.6) else 1 for i, n in enumerate(shape))
        a2 = tuple(p if s != 1 else 1 for p, s in zip(a, s2))
        b2 = tuple(p if s != 1 else 1 for p, s in zip(b, s2))
        out["y"] = (s2, a2, b2)
    return out


def _emulated_error(case: Case, backend: str) -> float:
    """How far torch moves when run by ``backend`` ('torch-fp16': every value rounded to half precision;
    'torch-fp64': in double precision), as a fraction of the output's largest magnitude: a case whose
    answer the precision cannot hold (cancellation, a norm over constant values) is not a fair case."""
    errs = []
    for which in (0, 1):
        wants = run_torch(case, which)
        default = torch.get_default_dtype()
        try:  # in double, int / int is double too
            torch.set_default_dtype(torch.float64 if backend == "torch-fp64" else default)
            halves = run_torch(case, which, backend=backend)
        except RuntimeError:  # a dtype torch cannot mix at this precision: not a fair case
            return float("inf")
        finally:
            torch.set_default_dtype(default)
        for want, half in zip(wants, halves):
            half = half.to(want.dtype)
            if not want.is_floating_point() or not want.numel():
                if not torch.equal(want, half):
                    return float("inf")
                continue
            scale = float(want.abs().max()) or 1.0
            errs.append(float((want - half).abs().max()) / scale)
    return max(errs, default=0.0)


def case(seed: int, steps: int | None = None, precision: str | None = None) -> Case:
    """The fuzz case of ``seed``: precision (unless given), folding, inputs and 2-8 steps, all drawn from ``seed``."""
    g0 = np.random.default_rng([seed, 0])
    drawn = "fp32" if g0.random() < PRECISION_WEIGHTS["fp32"] else "fp16"
    precision = precision or drawn
    fold = bool(g0.random() < 0.5)
    for attempt in range(10):
        g = Gen(seed * 100 + attempt, precision)
        c = _draw(g, seed, precision, fold, steps or g.int(2, 8))
        modules = [st.out for st in c.steps if st.module]
        if precision != "fp32" and modules and g.coin(0.4):  # some modules kept in fp32 (casts at their edges)
            c.overrides = {name: "fp32" for name in modules if g.coin()} or {modules[0]: "fp32"}
        if _emulated_error(c, "torch-fp64") < TOLERANCES["fp32"].scaled / 10 and (
            precision == "fp32" or _emulated_error(c, f"torch-{precision}") < FUZZ_TOLERANCES[precision].scaled / 5
        ):
            c.forced = precision if precision != drawn else ""
            return c
    # no well-conditioned program drawn: the last, with its steps cut to the inputs (identity)
    c.precision, c.steps, c.outputs = "fp32", [], [next(iter(c.inputs))]
    return c


def _draw(g: Gen, seed: int, precision: str, fold: bool, n_steps: int) -> Case:
    inputs = _inputs(g)
    feeds = tuple(
        {n: g.rng.standard_normal(spec[1 + w]).astype(np.float32) for n, spec in inputs.items()} for w in (0, 1)
    )
    values = [Value(n, torch.from_numpy(feeds[0][n]), torch.from_numpy(feeds[1][n])) for n in inputs]
    ops = [op for op in SAMPLES if precision == "fp32" or op not in DISCONTINUOUS]
    weights = np.array([HEAVY.get(op, 1.0) for op in ops])
    weights /= weights.sum()
    steps: list[Step] = []
    case = Case(seed, precision, fold, inputs, steps, [values[-1].name], feeds)
    modules: dict = {}
    count = 0
    while count < n_steps:
        for _ in range(50):
            op = ops[int(g.rng.choice(len(ops), p=weights))]
            v = values[-1] if g.coin(0.7) else g.pick(values)
            new = _sample(g, op, v, values)
            if new is None:
                continue
            added = _try(case, new, values, modules, len(steps))
            if added:
                count += 1
                if new[-1].op.startswith(("nn:Conv", "conv", "nn:Linear", "linear")) and g.coin(0.5):
                    conv = values[-1]
                    bn = _batch_norm(g, conv)  # what folding is about
                    if bn is not None and _try(case, [bn], values, modules, len(steps)) and g.coin(0.3):
                        # the conv's own output read again after the fold: ``bn(y) + y``
                        _try(
                            case,
                            [Step("op:add", (Ref(values[-1].name), Ref(conv.name)), {}, "")],
                            values,
                            modules,
                            len(steps),
                        )
                break
        else:
            break
    read = {a.name for s in steps for a in _refs(s)}
    dangling = [v.name for v in values[len(inputs) :] if v.name not in read]
    last = values[-1].name
    case.outputs = [last, *[n for n in dangling if n != last][-3:]]
    return case


def _refs(step: Step) -> list[Ref]:
    """The values a step reads."""
    found: list = []

    def walk(a):
        if isinstance(a, (Ref, SizeOf)):
            found.append(Ref(a.name))
        elif isinstance(a, Prod):
            walk(a.a)
            walk(a.b)
        elif isinstance(a, (list, tuple)):
            for x in a:
                walk(x)

    walk(step.args)
    walk(list(step.kwargs.values()))
    return found


def _sample(g: Gen, op: str, v: Value, values: list[Value]) -> list[Step] | None:
    fn = SAMPLES[op]
    pre: list[Step] = []
    if op in POSITIVE and not v.positive():
        if not v.is_float:
            return None
        pre = [Step("abs", (Ref(v.name),), {}, ""), Step("op:add", (Ref("@0"), 0.5), {}, "")]
        v = Value("@P", (v.a.abs() + 0.5), (v.b.abs() + 0.5))  # the output of pre[-1]
    try:
        new = fn(g, v, values) if fn.__code__.co_argcount == 3 else fn(g, v)
    except (ValueError, IndexError):  # a sampler's draw from an empty range: this op does not fit
        return None
    if new is None:
        return None
    new = new if isinstance(new, list) else [new]
    for step in new:
        step.sampler = op
    new = _constants(new)
    if pre:
        shift = len(pre)
        new = [_renumber(s, shift) for s in new]
    return pre + new


def _constants(steps: list[Step]) -> list[Step]:
    """Each ``C`` operand as an ``F.as_tensor`` step of its own, in front."""
    out: list[Step] = []
    for s in steps:
        consts = [a for a in s.args if isinstance(a, C)]
        if not consts:
            out.append(s)
            continue
        shift = len(consts)
        s = _renumber(s, shift)
        args, k = [], 0
        for a in s.args:
            if isinstance(a, C):
                args.append(Ref(f"@{len(out) + k}"))
                out.append(Step("as_tensor", (W(a.array),), {}, ""))
                k += 1
            else:
                args.append(a)
        out.append(Step(s.op, tuple(args), s.kwargs, s.out, s.index, s.module, s.sampler))
    return out


def _renumber(step: Step, shift: int) -> Step:
    def fix(a):
        if isinstance(a, Ref) and a.name == "@P":
            return Ref(f"@{shift - 1}")
        if isinstance(a, Ref) and a.name.startswith("@"):
            return Ref(f"@{int(a.name[1:]) + shift}")
        if isinstance(a, (list, tuple)):
            return type(a)(fix(x) for x in a)
        return a

    kwargs = {k: fix(v) for k, v in step.kwargs.items()}
    return Step(step.op, fix(step.args), kwargs, step.out, step.index, step.module, step.sampler)


def _try(case: Case, new: list[Step], values: list[Value], modules: dict, first: int) -> bool:
    """Append ``new`` (naming its outputs, resolving ``@i``) when torch runs it at both sizes and every
    value stays in range; otherwise leave the case as it was."""
    named: list[Step] = []
    for i, s in enumerate(new):
        out = f"v{first + i + 1}"

        def fix(a, i=i):
            if isinstance(a, Ref) and a.name.startswith("@"):
                return Ref(f"v{first + int(a.name[1:]) + 1}")
            if isinstance(a, (list, tuple)):
                return type(a)(fix(x) for x in a)
            return a

        named.append(
            Step(s.op, fix(s.args), {k: fix(v) for k, v in s.kwargs.items()}, out, s.index, s.module, s.sampler)
        )
    env_a = {v.name: v.a for v in values}
    env_b = {v.name: v.b for v in values}
    added_modules = dict(modules)
    try:
        with torch.no_grad():
            for k, s in enumerate(named):
                if s.module:
                    added_modules[s.out] = _module_pair(s, case.seed * 1000 + first + k)[0]
                runner = Runner("torch", added_modules)
                runner.step(s, env_a)
                runner.step(s, env_b)
    except (RuntimeError, ValueError, TypeError, IndexError):
        return False
    outs = [(env_a[s.out], env_b[s.out]) for s in named]
    for a, b in outs:
        if not isinstance(a, torch.Tensor) or a.ndim == 0 or a.ndim > 5 or not a.numel() or not b.numel():
            return False  # 0-d results: their semantics are being fixed elsewhere (issue 20)
        if a.numel() > MAX_NUMEL or b.numel() > MAX_NUMEL:
            return False
        if a.is_floating_point() and not (
            torch.isfinite(a).all() and torch.isfinite(b).all() and a.abs().max() < MAX_ABS and b.abs().max() < MAX_ABS
        ):
            return False
        if a.dtype not in (torch.float32, torch.bool, torch.int64, torch.int32):
            return False
        if a.ndim != b.ndim:
            return False
    for s, (a, b) in zip(named, outs):
        values.append(Value(s.out, a, b))
    case.steps.extend(named)
    modules.update(added_modules)
    return True


def program(
    inputs: dict[str, tuple[int, ...] | tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]],
    steps: list[Step],
    outputs: list[str],
    precision: str = "fp32",
    fold: bool = True,
    seed: int = 0,
) -> Case:
    """A hand-written case (a regression test's minimal program). ``inputs`` maps a name to its shape, or
    to (shape with -1 for dynamic dims, shape at size A, shape at size B); feeds are standard normal."""
    rng = np.random.default_rng(seed)
    specs = {n: (s, s, s) if isinstance(s[0], int) else s for n, s in inputs.items()}
    feeds = tuple({n: rng.standard_normal(spec[1 + w]).astype(np.float32) for n, spec in specs.items()} for w in (0, 1))
    return Case(seed, precision, fold, specs, steps, outputs, feeds)


# ---------------------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--count", type=int, default=1, help="cases to check")
    parser.add_argument("--quiet", action="store_true", help="print failures only")
    parser.add_argument("--build", action="store_true", help="also build each network into an engine")
    parser.add_argument("--precision", choices=sorted(FUZZ_TOLERANCES), help="every case at this precision")
    args = parser.parse_args(argv)
    failures, refused, t0 = 0, 0, time.time()
    for seed in range(args.seed, args.seed + args.count):
        c = case(seed, precision=args.precision)
        if not args.quiet and args.count == 1:
            print(c.text())
        try:
            result = check_case(c, build=args.build)
        except Exception as e:
            failures += 1
            print(f"=== FAIL seed={seed}: {type(e).__name__}: {e}")
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            sys.stdout.flush()
            continue
        if result != "ok":
            refused += 1
            print(f"=== REFUSED seed={seed}: {result}\n{c.text()}")
        elif not args.quiet:
            print(f"seed={seed} ok ({c.precision}, fold={c.fold}, {len(c.steps)} steps)")
    n = args.count
    print(f"{n} cases, {failures} failed, {refused} refused, {time.time() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
