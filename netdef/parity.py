"""Layerwise parity: every module's output against its torch twin's, and the first module that diverges.

``compare`` runs the torch twin with hooks on every submodule (keyed by state_dict path and call number)
and the netdef model through the reference interpreter (or, with ``engine=True``, a TensorRT engine built
with every module output marked as a network output), then compares module by module in the order the
calls returned. Tolerances are Polygraphy's: an element passes when ``|diff| <= atol + rtol * |torch|``.
"""

from __future__ import annotations

import inspect
import math
import traceback
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from netdef.build import build
from netdef.define import Input, bind_inputs, define
from netdef.errors import NetdefError
from netdef.feeds import convert_array
from netdef.runtime import Engine, require_gpu


@dataclass(frozen=True)
class Tolerance:
    """How close netdef must come to torch: an element passes when
    ``|got - want| <= atol + rtol * |want| + scaled * max|want|``.

    ``atol``/``rtol`` are Polygraphy's and torch.testing's; ``scaled`` is a fraction of the output's largest
    magnitude, which suits outputs whose elements straddle zero. A NaN where torch has a number fails.
    """

    atol: float = 0.0
    rtol: float = 0.0
    scaled: float = 0.0

    def bound(self, want: np.ndarray) -> np.ndarray:
        """The largest |got - want| allowed at each element."""
        ref = np.abs(np.asarray(want, np.float64))
        bound = np.full(ref.shape, float(self.atol))
        if self.rtol:  # (terms only when set: 0 * inf would make the bound NaN)
            bound += self.rtol * ref
        if self.scaled and ref.size:
            bound += self.scaled * max(float(ref.max()), 1e-6)
        return bound

    def mismatches(self, got: np.ndarray, want: np.ndarray, equal_nan: bool = False) -> int:
        """Elements of ``got`` outside the tolerance around ``want``; equal infinities pass, and NaN where
        ``want`` has NaN passes only with ``equal_nan``."""
        g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
        with np.errstate(invalid="ignore"):
            ok = (np.abs(g - w) <= self.bound(w)) | (g == w)
        if equal_nan:
            ok |= np.isnan(g) & np.isnan(w)
        return int(np.count_nonzero(~ok))

    def __str__(self) -> str:
        parts = [f"{k} {v:g}" for k, v in (("atol", self.atol), ("rtol", self.rtol), ("scaled", self.scaled)) if v]
        return ", ".join(parts) or "exact"


#: per element, per precision, for module-by-module reports. fp32: the interpreter computes in float32 with
#: torch, so only the order of sums and folded constants differ (~1e-6 relative). fp16/bf16: every layer's
#: output is rounded (unit roundoff 4.9e-4 / 3.9e-3) and the errors accumulate through the network. An fp32
#: engine may use TF32 for convolutions and matrix multiplies: compare one with atol/rtol near 1e-2.
TOLERANCES = {
    "fp32": Tolerance(atol=1e-4, rtol=1e-4),
    "fp16": Tolerance(atol=1e-2, rtol=1e-2),
    "bf16": Tolerance(atol=5e-2, rtol=5e-2),
}


@dataclass
class Stats:
    """Polygraphy-style statistics of one output: |netdef - torch| and |netdef - torch| / |torch|."""

    max_abs: float
    mean_abs: float
    median_abs: float
    p90_abs: float
    p99_abs: float
    max_rel: float
    mean_rel: float
    median_rel: float
    p90_rel: float
    p99_rel: float
    #: smallest atol that passes at the report's rtol, and smallest rtol that passes at its atol
    min_atol: float
    min_rtol: float
    #: elements outside ``atol + rtol * |torch|`` (NaN where torch has a number counts as outside)
    mismatches: int
    size: int


@dataclass
class ModuleParity:
    """One module call: where it is in the user's code and how its output compares with torch's."""

    path: str
    index: int
    cls: str
    #: 'ok', 'diverged' (values or shape), 'no twin' (the torch model has no such module call), or 'folded'
    #: (a batch norm after it was folded into its weights: its own output is not in the network)
    status: str
    shapes: list[tuple[int, ...]]
    #: numpy dtype names of the netdef outputs ('float16' inside an fp16 network)
    dtypes: list[str]
    torch_shapes: list[tuple[int, ...]] | None
    #: statistics of the worst output (the first failing one, else the one with the largest |diff|)
    stats: Stats | None
    reason: str
    caller: str | None
    called_at: str | None
    defined_at: str | None
    source: str | None

    @property
    def label(self) -> str:
        name = self.path or "<root>"
        return name if self.index == 0 else f"{name}#{self.index}"


@dataclass
class ParityReport:
    """Per-module comparison of a netdef model with its torch twin (``str()`` is a readable table)."""

    model: str
    twin: str
    precision: str
    target: str
    atol: float
    rtol: float
    rows: list[ModuleParity]
    #: the first module call (in the order calls returned) whose output diverges
    first: ModuleParity | None = None
    #: whether the inputs of ``first`` match torch's (None when they could not be compared)
    first_inputs_match: bool | None = None
    #: path of the module whose code the first divergence comes from: ``first`` itself when its inputs
    #: match torch's, else the module whose forward made the call (the difference arose before it)
    culprit: str | None = None
    explanation: str = ""
    #: torch module calls that the netdef model never made ("path#n")
    missing_calls: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.first is None

    def name(self, path: str) -> str:
        """How the report names a module path: `path`, or the root model by its class."""
        return f"`{path}`" if path else f"the root model ({self.model})"

    def summary(self) -> str:
        """One line: everything matches, or the first divergence and where to look."""
        if self.first is None:
            return f"every module call of {self.model} matches torch ({len(self.rows)} compared)"
        f = self.first
        if self.culprit == f.path:
            where = f"look at {self.name(f.path)} (created at {f.defined_at}, called at {f.called_at})"
        else:
            where = f"look at the code of {self.name(self.culprit)} before the call at {f.called_at}"
        return f"`{f.label}` ({f.cls}) is the first module whose output differs from torch's; {where}"

    def row(self, path: str, index: int = 0) -> ModuleParity:
        """The row of ``path``'s ``index``-th call."""
        for r in self.rows:
            if r.path == path and r.index == index:
                return r
        raise KeyError(f"no call {index} of module {path!r} in the report")

    def to_dict(self) -> dict:
        """Plain data (JSON-ready: infinities and NaN become the strings 'inf' and 'nan')."""

        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        rows = []
        for r in self.rows:
            d = {k: v for k, v in vars(r).items() if k != "stats"}
            d["stats"] = None if r.stats is None else vars(r.stats)
            rows.append(d)
        return clean(
            {
                "model": self.model,
                "twin": self.twin,
                "precision": self.precision,
                "target": self.target,
                "atol": self.atol,
                "rtol": self.rtol,
                "passed": self.passed,
                "first": None if self.first is None else {"path": self.first.path, "index": self.first.index},
                "first_inputs_match": self.first_inputs_match,
                "culprit": self.culprit,
                "explanation": self.explanation,
                "missing_calls": self.missing_calls,
                "modules": rows,
            }
        )

    def __str__(self) -> str:
        head = (
            f"parity of {self.model} ({self.target}, {self.precision}) against torch {self.twin}: an element passes "
            f"when |diff| <= {self.atol:g} + {self.rtol:g} * |torch|"
        )
        cols = ["#", "module", "class", "shape", "max abs", "mean abs", "median", "p90", "p99", "max rel"]
        cols += ["min atol", "min rtol", "status"]
        table = []
        for i, r in enumerate(self.rows):
            s = r.stats
            shape = " ".join(str(tuple(x)) for x in r.shapes)
            nums = (
                [s.max_abs, s.mean_abs, s.median_abs, s.p90_abs, s.p99_abs, s.max_rel, s.min_atol, s.min_rtol]
                if s is not None
                else []
            )
            cells = [f"{v:.3g}" for v in nums] or ["-"] * 8
            status = r.status if r.status != "diverged" else f"DIVERGED{' <- first' if r is self.first else ''}"
            if r.status == "diverged" and s is None:
                status += f" ({r.reason})"
            table.append([str(i), r.label, r.cls, shape, *cells, status])
        widths = [max(len(c), *(len(row[j]) for row in table)) for j, c in enumerate(cols)] if table else []
        lines = [head, ""]
        if table:
            fmt = lambda cells: "  ".join(  # noqa: E731
                c.ljust(w) if j in (1, 2, 3, len(cols) - 1) else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths))
            )
            lines.append(fmt(cols).rstrip())
            lines.extend(fmt(row).rstrip() for row in table)
        lines.append("")
        if self.first is None:
            lines.append(f"every module matches torch within tolerance ({len(self.rows)} module calls compared)")
        else:
            f = self.first
            lines.append(f"first divergence: `{f.label}` ({f.cls}): {f.reason}")
            lines.append(f"  {self.explanation}")
            lines.append(f"  module created at {f.defined_at}; called at {f.called_at}")
            if f.source:
                lines.append(f"  {f.cls}.forward is at {f.source}")
            diverged = sum(r.status == "diverged" for r in self.rows)
            lines.append(f"{diverged} of {len(self.rows)} module calls diverge")
        if self.missing_calls:
            shown = ", ".join(self.missing_calls[:10]) + (" ..." if len(self.missing_calls) > 10 else "")
            lines.append(f"torch module calls the netdef model never made: {shown}")
        return "\n".join(lines)


def compare(
    model,
    torch_model,
    feeds: Mapping[str, np.ndarray],
    precision: str = "fp32",
    engine: bool = False,
    *,
    inputs: Mapping | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    overrides: Mapping | None = None,
    fold: bool = True,
) -> ParityReport:
    """Compare every module call of ``model`` (a netdef Module with bound weights) with ``torch_model``'s.

    ``feeds`` maps input names to arrays, passed to ``model.forward``'s parameters of those names (as
    ``netdef.define`` binds them), and to the twin's by name when its forward takes every name, else in
    the order the netdef forward takes them; ``inputs`` (netdef Input specs, of the same names) default to
    the feeds' static shapes. ``engine=True`` builds a TensorRT engine
    with every module output marked as a network output and runs it on this machine's GPU instead of the
    reference interpreter. ``overrides`` are ``netdef.define``'s per-module precisions (to see, say,
    whether keeping one module in fp32 removes an fp16 divergence). ``fold`` is ``netdef.define``'s: a module
    whose batch norm was folded into its weights is compared at the batch norm (status 'folded'), and when
    such a pair diverges first, the comparison is made again without folding to tell the two apart.
    ``torch_model`` is put in eval mode.
    Errors in the netdef model's definition (shapes, channels, unbound weights) raise from
    ``netdef.define`` naming the module and source line.
    """
    import torch

    if precision not in TOLERANCES:
        raise NetdefError(f"precision must be one of {', '.join(TOLERANCES)}, got {precision!r}")
    if not isinstance(torch_model, torch.nn.Module):
        raise NetdefError(f"the twin must be a torch.nn.Module, got {type(torch_model).__name__}")
    atol = TOLERANCES[precision].atol if atol is None else float(atol)
    rtol = TOLERANCES[precision].rtol if rtol is None else float(rtol)
    feeds = {name: np.asarray(v) for name, v in feeds.items()}
    if inputs is None:
        inputs = {name: Input(a.shape, _dtype_name(a)) for name, a in feeds.items()}
    missing, extra = [n for n in inputs if n not in feeds], [n for n in feeds if n not in inputs]
    if missing or extra:
        raise NetdefError(
            f"the feeds must name the inputs {list(inputs)}: missing {missing or 'none'}, "
            f"unexpected {extra or 'none'}; give one array per input, keyed by its name"
        )
    feeds = {
        n: convert_array(n, a, np.float32, NetdefError, "network") if a.dtype == np.float64 else a
        for n, a in feeds.items()
    }

    network = define(model, inputs, precision=precision, overrides=overrides, fold=fold)
    calls = network.module_calls
    args, kwargs = _twin_arguments(torch_model, network, {n: torch.from_numpy(np.array(a)) for n, a in feeds.items()})
    twin = _run_torch(torch_model, args, kwargs)  # copies of the feeds: a twin may write its inputs in place
    names = list(dict.fromkeys(t.name for c in calls for t in (*c.outputs, *c.inputs)))
    if engine:
        values = _run_engine(network, feeds, calls)
        target = "TensorRT engine"
    else:
        from netdef.reference import run

        values = run(network, feeds, outputs=names)
        target = "reference interpreter"

    rows: list[ModuleParity] = []
    first_call = None
    for call in calls:
        got = [values[t.name] for t in call.outputs]
        want = twin.get((call.path, call.index))
        row = _row(call, got, None if want is None else want[1], atol, rtol)
        rows.append(row)
        if first_call is None and row.status == "diverged":
            first_call = (call, row)
    made = {(c.path, c.index) for c in calls}
    report = ParityReport(
        model=type(model).__name__,
        twin=type(torch_model).__name__,
        precision=precision,
        target=target,
        atol=atol,
        rtol=rtol,
        rows=rows,
        missing_calls=[p + ("" if i == 0 else f"#{i}") for (p, i) in twin if (p, i) not in made],
    )
    if first_call is not None:
        call, row = first_call
        report.first = row
        if fold and any(c.folded_into is not None for c in calls if _feeds(c, call)):
            # a batch norm folded into the layer before it: tell the two apart in the network without folding
            return compare(
                model, torch_model, feeds, precision, engine, inputs=inputs, atol=atol, rtol=rtol,
                overrides=overrides, fold=False,
            )  # fmt: skip
        want = twin.get((call.path, call.index))
        report.first_inputs_match = _inputs_match(call, want, values, feeds, atol, rtol)
        if report.first_inputs_match is False and call.caller is not None:
            report.culprit = call.caller
            report.explanation = (
                f"its inputs already differ from torch's while every module call before it matches: the "
                f"difference comes from the code of {report.name(call.caller)} before this call "
                f"(at {call.site}) — a missing or extra op between modules, or a module the torch twin lacks"
            )
        else:
            report.culprit = call.path
            report.explanation = (
                "its inputs match torch's, so the difference comes from this module (its arguments, weights or forward)"
                if report.first_inputs_match
                else "the difference comes from this module (its inputs could not be compared)"
            )
    return report


# -- torch side --------------------------------------------------------------------------------------


def _twin_arguments(torch_model, network, tensors: Mapping) -> tuple[list, dict]:
    """(args, kwargs) for the twin: by name when its forward takes the inputs' names, else as netdef's took them."""
    try:
        binding = bind_inputs(torch_model, network.binding.names)
    except NetdefError:
        binding = None
    if binding is None or not binding.checked:  # the twin names its parameters otherwise: it mirrors netdef's
        binding = network.binding
    return binding.arguments(tensors)


def _run_torch(torch_model, args, kwargs) -> dict[tuple[str, int], tuple[list, list]]:
    """(path, call number) -> (inputs, outputs) of every module call, copied as they happened."""
    import torch

    calls: dict[tuple[str, int], tuple[list, list]] = {}
    counts: Counter = Counter()
    pending: dict[int, list[list]] = {}
    handles = []

    def pre_hook(module, args, kwargs):
        pending.setdefault(id(module), []).append([t.detach().clone() for t in _torch_tensors((args, kwargs))])

    def make_hook(path):
        def hook(module, args, output):
            ins = pending[id(module)].pop()
            outs = [t.detach().clone() for t in _torch_tensors(output)]
            calls[(path, counts[path])] = (ins, outs)
            counts[path] += 1

        return hook

    for path, m in torch_model.named_modules():
        handles.append(m.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(m.register_forward_hook(make_hook(path)))
    torch_model.eval()
    try:
        with torch.no_grad():
            torch_model(*args, **kwargs)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        raise NetdefError(
            f"the torch twin {type(torch_model).__name__} failed on the feeds: {type(exc).__name__}: {exc}{where}. "
            "Check the feeds' values: token ids and indices must lie inside the model's tables "
            "(`netdef parity` takes them as --feed NAME=file.npy)"
        ) from exc
    finally:
        for h in handles:
            h.remove()
    return calls


def _torch_tensors(value) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _torch_tensors(v)]
    return []


# -- engine side -------------------------------------------------------------------------------------


def _run_engine(network, feeds: Mapping[str, np.ndarray], calls) -> dict[str, np.ndarray]:
    """Build the network with every module tensor marked as an output and run it on this GPU."""
    require_gpu("run the engine for a parity check")
    built = build_with_module_outputs(network, calls)
    values = dict(Engine.from_bytes(built.data, built.metadata).infer(feeds))
    for name, value in feeds.items():
        values.setdefault(name, value)
    return values


def build_with_module_outputs(network, calls):
    """Mark every module call's input and output tensors as network outputs, then build (no GPU needed)."""
    net = network.network
    marked = {net.get_output(i).name for i in range(net.num_outputs)}
    for call in calls:
        for t in (*call.outputs, *call.inputs):
            if not t.is_network_input and t.name not in marked:
                net.mark_output(t)
                marked.add(t.name)
    return build(network)


# -- comparison --------------------------------------------------------------------------------------


def _row(call, got: list[np.ndarray], want: list | None, atol: float, rtol: float) -> ModuleParity:
    module = call.module
    row = ModuleParity(
        path=call.path,
        index=call.index,
        cls=type(module).__name__,
        status="ok",
        shapes=[tuple(g.shape) for g in got],
        dtypes=[str(g.dtype) for g in got],
        torch_shapes=None if want is None else [tuple(w.shape) for w in want],
        stats=None,
        reason="",
        caller=call.caller,
        called_at=call.site,
        defined_at=getattr(module, "defined_at", None),
        source=_source(type(module)),
    )
    if want is None:
        row.status, row.reason = "no twin", "the torch model made no such module call"
        return row
    want = [w.float().numpy() if w.is_floating_point() else w.numpy() for w in want]
    if len(got) != len(want):
        row.status, row.reason = "diverged", f"returns {len(got)} tensors, torch's returns {len(want)}"
        return row
    for g, w in zip(got, want):
        if g.shape != w.shape:
            row.status, row.reason = "diverged", f"output shape {tuple(g.shape)} != torch's {tuple(w.shape)}"
            return row
    if call.folded_into is not None:  # its output now carries the folded batch norm: compared at that module
        row.status, row.reason = "folded", f"`{call.folded_into}` was folded into its weights; compared there"
        return row
    all_stats = [_stats(g, w, atol, rtol) for g, w in zip(got, want)]
    failing = [s for s in all_stats if s.mismatches]
    row.stats = failing[0] if failing else max(all_stats, key=lambda s: s.max_abs, default=None)
    if failing:
        s = failing[0]
        row.status = "diverged"
        row.reason = (
            f"max |diff| {s.max_abs:.3g}, {s.mismatches} of {s.size} elements out of tolerance; passes only "
            f"with atol >= {s.min_atol:.3g} (at rtol {rtol:g}) or rtol >= {s.min_rtol:.3g} (at atol {atol:g})"
        )
    return row


def _feeds(source, call) -> bool:
    """Whether an output of the module call ``source`` is an input of ``call``."""
    names = {t.name for t in call.inputs}
    return any(t.name in names for t in source.outputs)


def _inputs_match(call, want, values, feeds, atol: float, rtol: float) -> bool | None:
    """Whether the netdef call's input tensors equal torch's within tolerance (None if not comparable)."""
    if want is None:
        return None
    ins = want[0]
    if len(ins) != len(call.inputs):
        return None
    for t, w in zip(call.inputs, ins):
        g = values.get(t.name, feeds.get(t.name))
        if g is None:
            return None
        w = w.float().numpy() if w.is_floating_point() else w.numpy()
        if g.shape != w.shape or _stats(g, w, atol, rtol).mismatches:
            return False
    return True


def _stats(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> Stats:
    g = np.asarray(got, dtype=np.float64).ravel()
    w = np.asarray(want, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(g - w)
        same = (g == w) | (np.isnan(g) & np.isnan(w))  # equal infinities and NaN where torch has NaN
        diff = np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))
        ref = np.abs(w)
        rel = np.where(diff == 0, 0.0, diff / ref)
        bad = diff > Tolerance(atol, rtol).bound(w)
        over_atol = np.maximum(diff - rtol * ref, 0.0)
        over_rtol = np.where(diff > atol, (diff - atol) / ref, 0.0)
    if diff.size == 0:
        return Stats(*([0.0] * 12), mismatches=0, size=0)
    with np.errstate(invalid="ignore"):  # inf - inf between two infinite neighbours: the percentile is inf
        pct = np.nan_to_num(np.percentile(diff, [50, 90, 99]), nan=np.inf)
        rel_pct = np.nan_to_num(np.percentile(rel, [50, 90, 99]), nan=np.inf)
    return Stats(
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        median_abs=float(pct[0]),
        p90_abs=float(pct[1]),
        p99_abs=float(pct[2]),
        max_rel=float(rel.max()),
        mean_rel=float(rel.mean()),
        median_rel=float(rel_pct[0]),
        p90_rel=float(rel_pct[1]),
        p99_rel=float(rel_pct[2]),
        min_atol=float(over_atol.max()),
        min_rtol=float(over_rtol.max()),
        mismatches=int(bad.sum()),
        size=int(diff.size),
    )


def _source(cls: type) -> str | None:
    """'file:line' of ``cls.forward``."""
    try:
        fn = cls.forward
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError, AttributeError):
        return None


def _dtype_name(a: np.ndarray) -> str:
    if a.dtype == np.float64:
        return "float32"
    return "bfloat16" if a.dtype.name == "bfloat16" else a.dtype.name
