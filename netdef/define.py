"""define(): run a module's forward on Tensor proxies, writing a real INetworkDefinition."""

from __future__ import annotations

import fnmatch
import hashlib
import inspect
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from netdef._trt import LOGGER, NETWORK_FLAGS, builder, dtype_from_name, dtype_to_numpy, trt
from netdef.context import EmitContext, ModuleCall, activate
from netdef.errors import ArgumentError, EmitError, NetdefError
from netdef.functional import cast
from netdef.nn.module import Module
from netdef.tensor import Tensor

PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class Input:
    """A network input: shape (-1 for a dynamic dim), dtype, and for dynamic dims min/opt/max shapes."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    min: tuple[int, ...] | None = None
    opt: tuple[int, ...] | None = None
    max: tuple[int, ...] | None = None
    #: further optimization profiles as (min, opt, max) triples; the first profile is min/opt/max
    profiles: tuple[tuple[tuple[int, ...], ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _dims("shape", self.shape, dynamic=True))
        try:  # a name ('float32', 'fp16', 'torch.int64'), a torch or numpy dtype: kept as numpy's name ('float16')
            canonical = dtype_to_numpy(dtype_from_name(self.dtype)).name
        except NetdefError as exc:
            raise ArgumentError(f"Input: {exc}") from None
        object.__setattr__(self, "dtype", canonical)
        for key in ("min", "opt", "max"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, _dims(key, value))
        if not isinstance(self.profiles, (tuple, list)):
            raise ArgumentError(f"Input: profiles must be a list of (min, opt, max) shapes, got {self.profiles!r}")
        for p in self.profiles:
            if not isinstance(p, (tuple, list)) or len(p) != 3:
                raise ArgumentError(f"Input: each of profiles must be a (min, opt, max) triple of shapes, got {p!r}")
        if not self.is_dynamic:
            if self.min or self.max or self.profiles:
                raise EmitError(f"Input{self.shape} has no dynamic dims (-1): min/opt/max/profiles do not apply")
            return
        if self.min is None or self.max is None:
            raise EmitError(f"Input{self.shape} has dynamic dims (-1): give min= and max= shapes (opt= optional)")
        object.__setattr__(self, "opt", self.opt or self.max)
        extra = tuple(tuple(_dims(k, s) for k, s in zip(("min", "opt", "max"), p)) for p in self.profiles)
        object.__setattr__(self, "profiles", extra)
        for lo, opt, hi in self.all_profiles:
            for name, s in (("min", lo), ("opt", opt), ("max", hi)):
                if len(s) != len(self.shape) or any(d >= 0 and d != v for d, v in zip(self.shape, s)):
                    raise EmitError(f"Input{self.shape}: {name}={s} must match the rank and static dims of shape")
            if any(not a <= b <= c for a, b, c in zip(lo, opt, hi)) or min(lo) < 0:
                raise EmitError(f"Input{self.shape}: need 0 <= min <= opt <= max, got {lo}, {opt}, {hi}")

    @property
    def is_dynamic(self) -> bool:
        return any(d < 0 for d in self.shape)

    @property
    def all_profiles(self) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """Every (min, opt, max) profile; empty for a static input."""
        if not self.is_dynamic:
            return []
        return [(self.min, self.opt, self.max), *self.profiles]

    def dim_bounds(self) -> dict[int, tuple[int, int]]:
        """Each dynamic dim's (smallest min, largest max) over every profile: the bounds of its symbolic size."""
        return {
            i: (min(p[0][i] for p in self.all_profiles), max(p[2][i] for p in self.all_profiles))
            for i, d in enumerate(self.shape)
            if d < 0
        }

    def accepts(self, shape: tuple[int, ...]) -> bool:
        """Whether ``shape`` matches the static dims and lies inside some profile."""
        shape = tuple(shape)
        if len(shape) != len(self.shape) or any(d >= 0 and d != v for d, v in zip(self.shape, shape)):
            return False
        return not self.is_dynamic or any(
            all(a <= v <= c for a, v, c in zip(lo, shape, hi)) for lo, _, hi in self.all_profiles
        )

    def to_json(self) -> dict:
        return {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "min": self.min,
            "opt": self.opt,
            "max": self.max,
            "profiles": [list(map(list, p)) for p in self.profiles],
        }


#: TensorRT's Dims are int64
_DIM_MAX = 2**63 - 1


def _dims(what: str, value, dynamic: bool = False) -> tuple[int, ...]:
    """``value`` as a shape: a sequence of integer dims (-1 for a dynamic one when ``dynamic``)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ArgumentError(f"Input: {what} must be a tuple of ints, e.g. (1, 3, 224, 224), got {value!r}")
    dims = []
    for d in value:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise ArgumentError(f"Input: {what}={tuple(value)!r} holds {d!r}; dims are ints")
        if d < (-1 if dynamic else 0):
            allowed = "-1 (dynamic) or >= 0" if dynamic else ">= 0"
            raise ArgumentError(f"Input: {what}={tuple(value)!r} holds {d}; dims are {allowed}")
        if d > _DIM_MAX:
            raise ArgumentError(
                f"Input: {what}={tuple(value)!r} holds {d}, beyond the largest dim TensorRT takes "
                f"(its dims are int64: at most {_DIM_MAX})"
            )
        dims.append(int(d))
    count = 1
    for d in dims:
        count *= max(d, 1)  # static dims only: -1 is dynamic
    if count > _DIM_MAX:
        raise ArgumentError(
            f"Input: {what}={tuple(dims)!r} has more elements than TensorRT can count (int64: at most {_DIM_MAX})"
        )
    return tuple(dims)


@dataclass(frozen=True)
class InputBinding:
    """How ``define`` passes the inputs to ``forward``: the names given positionally (in order) and by keyword.

    ``checked`` is True when every input went to the parameter of its name; False when some went to
    ``*args`` (by position, in the order given) or ``**kwargs``, or when ``forward``'s signature could not
    be read (a builtin: every input by position, in the order given).
    """

    positional: tuple[str, ...]
    keyword: tuple[str, ...] = ()
    checked: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """Every input name, in the order the network declares them."""
        return self.positional + self.keyword

    def arguments(self, values: Mapping[str, object]) -> tuple[list, dict]:
        """(args, kwargs) for ``forward`` from ``values`` keyed by input name."""
        return [values[n] for n in self.positional], {n: values[n] for n in self.keyword}


@dataclass
class Network:
    """A defined network: the real ``trt.INetworkDefinition`` and everything that must outlive it."""

    network: trt.INetworkDefinition
    inputs: dict[str, Input]
    outputs: list[str]
    precision: str
    model_name: str
    keepalive: list[np.ndarray] = field(default_factory=list, repr=False)
    #: refit name (``<layer name>.<role>``) -> the array TensorRT holds for it
    named_weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: the QuantConfig it was defined with, as JSON ({"dtype", "weights_only", "skip", "calibration"})
    quantization: dict | None = None
    #: every module call of the forward, in the order the calls returned (what parity compares)
    module_calls: list[ModuleCall] = field(default_factory=list, repr=False)
    #: the bound weights it was defined from, (name, array) in state_dict order: hashed only when asked
    bound_weights: list[tuple[str, np.ndarray | None]] = field(default_factory=list, repr=False)
    #: how the inputs were passed to forward (by name; see ``bind_inputs``); None for a Network made by hand
    binding: InputBinding | None = None

    @property
    def weights_digest(self) -> str:
        """sha256 of the bound weights (names, shapes, bytes): computed on first use, once per weight set."""
        return _digest(self.bound_weights)

    def layers(self) -> list[dict]:
        """One row per layer: index, name, type, output shapes and dtypes."""
        rows = []
        for i in range(self.network.num_layers):
            layer = self.network.get_layer(i)
            outs = [layer.get_output(j) for j in range(layer.num_outputs)]
            rows.append(
                {
                    "index": i,
                    "name": layer.name,
                    "type": layer.type.name,
                    "inputs": [layer.get_input(j).name for j in range(layer.num_inputs) if layer.get_input(j)],
                    "shapes": [tuple(o.shape) for o in outs],
                    "dtypes": [o.dtype.name for o in outs],
                }
            )
        return rows

    def output_dtypes(self) -> dict[str, str]:
        return {
            self.network.get_output(i).name: str(dtype_to_numpy(self.network.get_output(i).dtype))
            for i in range(self.network.num_outputs)
        }


def weights_digest(model: Module) -> str:
    """sha256 over every bound weight's name, shape and bytes (state_dict order)."""
    return _digest(
        [(name, p.data) for name, p in model.state_dict().items()], [p.shape for p in model.state_dict().values()]
    )


#: digests of recent weight sets: (name, id(array)) per weight -> (digest, weak references to the arrays).
#: Bound arrays are not written in place (load_weights binds new ones), so a live set of the same arrays
#: has the same digest; a weak reference that died (or now names another array) is a different set.
_DIGESTS: dict[tuple, tuple[str, list]] = {}
_DIGESTS_KEPT = 8


def _digest(weights: list[tuple[str, np.ndarray | None]], shapes: list | None = None) -> str:
    shapes = shapes or [None if a is None else a.shape for _, a in weights]
    key = tuple((name, id(a), tuple(s) if s is not None else None) for (name, a), s in zip(weights, shapes))
    hit = _DIGESTS.get(key)
    if hit is not None and all(ref() is a for ref, (_, a) in zip(hit[1], weights)):
        return hit[0]
    h = hashlib.sha256()
    for (name, a), shape in zip(weights, shapes):
        h.update(name.encode())
        h.update(repr(tuple(shape) if shape is not None else shape).encode())
        if a is not None:  # floats bind in their stored dtype: the same bytes in fp16 and bf16 are other weights
            h.update(a.dtype.name.encode())
            h.update(np.ascontiguousarray(a).view(np.uint8).data)  # the buffer itself: no bytes copy
    digest = h.hexdigest()
    refs = [(weakref.ref(a) if a is not None else (lambda: None)) for _, a in weights]
    _DIGESTS[key] = (digest, refs)
    while len(_DIGESTS) > _DIGESTS_KEPT:
        del _DIGESTS[next(iter(_DIGESTS))]
    return digest


def define(
    model: Module,
    inputs: Mapping[str, Input],
    precision: str = "fp32",
    overrides: Mapping[str | type, str] | None = None,
    output_dtype: str | Mapping[str, str] = "float32",
    quantization=None,
    fold: bool = True,
) -> Network:
    """Emit ``model.forward`` into a new INetworkDefinition.

    ``inputs`` maps input names to ``Input`` specs; each is passed to the ``forward`` parameter of its name
    (in ``forward``'s order, whatever the order given), and a name ``forward`` does not take, or a parameter
    without a default that gets no input, is an EmitError. Inputs named after none of the parameters go to
    ``forward``'s ``*args`` in the order given (or to its ``**kwargs`` by name): the one case where names
    are not checked (``bind_inputs``). The network declares its inputs in the order they are passed.
    ``precision`` ('fp32', 'fp16', 'bf16') is the compute dtype: float inputs are cast to it on entry
    and weights are emitted in it. ``overrides`` gives some modules another precision, keyed by module
    path (fnmatch patterns allowed, e.g. ``"blocks.*.norm"``) or module class (``nn.LayerNorm``); casts
    are placed at those modules' boundaries. Float outputs are cast to ``output_dtype`` (one dtype, or
    one per output name). ``quantization`` (a ``netdef.quantization.QuantConfig``) puts INT8/FP8 Q/DQ
    layers on the inputs and weights of convs and matmuls: the emission context carries it as its
    quantization hook (any ``netdef.context.Quantizer``), which those ops ask. ``fold`` folds each batch
    norm into the conv, linear or batch norm right before it (computed in float64, rounded once; the refit
    names stay the conv's, holding the folded values); ``fold=False`` emits one scale layer per batch norm.
    """
    if precision not in PRECISIONS:
        raise EmitError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if not isinstance(model, Module):
        raise EmitError(f"define() takes a netdef.nn.Module, got {type(model).__name__}")
    if not isinstance(inputs, Mapping):
        signature = _signature(model.forward)
        raise ArgumentError(
            f"define(): inputs must map names to netdef.Input, e.g. {{'x': netdef.Input((1, 3, 224, 224))}}, "
            f"got {type(inputs).__name__}; each is passed to the forward parameter of its name"
            + (f" ({type(model).__name__}.forward{signature})" if signature is not None else "")
        )
    if not inputs:
        raise EmitError("define() needs at least one input, e.g. inputs={'x': netdef.Input((1, 3, 224, 224))}")
    for name, spec in inputs.items():
        if not isinstance(name, str) or not name:
            raise ArgumentError(f"define(): input names must be non-empty strings, got {name!r}")
        if not isinstance(spec, Input):
            raise EmitError(f"input {name!r} must be a netdef.Input, got {type(spec).__name__}")
    binding = bind_inputs(model, list(inputs))
    inputs = {name: inputs[name] for name in binding.names}
    unbound = [name for name, p in model.state_dict().items() if p.data is None]
    if unbound:
        shown = ", ".join(unbound[:8]) + (f" and {len(unbound) - 8} more" if len(unbound) > 8 else "")
        first = unbound[0].rpartition(".")[0]
        owner = model.get_submodule(first)
        raise EmitError(
            f"{type(model).__name__} has {len(unbound)} unbound weights ({shown}); the first belongs to module "
            f"`{first or '<root>'}` ({type(owner).__name__}, created at {owner.defined_at}); "
            "bind them first with model.load_weights('model.wts')"
        )

    compute = dtype_from_name(PRECISIONS[precision])
    network = builder().create_network(NETWORK_FLAGS)
    network.name = type(model).__name__
    ctx = EmitContext(network, compute)
    ctx.module_paths = {id(m): path for path, m in model.named_modules()}
    ctx.precision_overrides = _resolve_overrides(model, overrides or {})
    ctx.quantizer = quantization
    ctx.fold_affine = bool(fold)
    with activate(ctx):
        tensors = {}
        for name, spec in inputs.items():
            dtype = dtype_from_name(spec.dtype)
            mark = len(LOGGER.messages)
            itensor = network.add_input(name, dtype, spec.shape)
            if itensor is None:
                why = "; ".join(LOGGER.errors_since(mark)) or "no tensor returned"
                raise EmitError(f"input {name!r}: TensorRT refused Input{spec.shape} ({spec.dtype}): {why}")
            t = Tensor(itensor, ctx)
            bounds = spec.dim_bounds()
            ctx.dim_bounds[name] = bounds
            if dtype.name in ("FLOAT", "HALF", "BF16") and dtype != compute:
                t = cast(t, compute)
                ctx.dim_bounds[t.name] = bounds
                ctx.size_labels[t.name] = name
            tensors[name] = t
        args, kwargs = binding.arguments(tensors)
        result = model(*args, **kwargs)
        outputs = _mark_outputs(ctx, result, output_dtype)
    return Network(
        network=network,
        inputs=dict(inputs),
        binding=binding,
        outputs=outputs,
        precision=precision,
        bound_weights=[(name, p.data) for name, p in model.state_dict().items()],
        model_name=type(model).__name__,
        keepalive=ctx.keepalive,
        named_weights=ctx.named_weights,
        module_calls=ctx.module_calls,
        quantization=quantization.to_json() if quantization is not None else None,
    )


_NAMED = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _signature(forward) -> inspect.Signature | None:
    try:
        return inspect.signature(forward)
    except (TypeError, ValueError):  # a builtin or C-implemented forward: no names to check
        return None


def bind_inputs(model, names: Sequence[str]) -> InputBinding:
    """Bind the input ``names`` to ``model.forward``'s parameters by name; EmitError when they do not fit.

    Every name must be one of forward's parameters, and every parameter without a default must get an
    input; inputs given in another order than forward's parameters are passed in forward's order. Names
    that are none of forward's parameters go to its ``*args`` (in the order given, after every parameter
    before it, which must then have an input too) or, without ``*args``, to its ``**kwargs`` by name.
    A forward whose signature cannot be read takes the inputs positionally, in the order given.
    """
    forward = getattr(model, "forward", model)
    owner = f"{type(model).__name__}.forward"
    signature = _signature(forward)
    if signature is None:
        return InputBinding(tuple(names), checked=False)
    params = list(signature.parameters.values())
    var_positional = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    named = [p for p in params if p.kind in (*_NAMED, p.KEYWORD_ONLY)]
    takes = [p.name for p in named]
    takes_text = f"{owner}{signature}, which takes {takes}"
    rest = [n for n in names if n not in takes]
    if rest and var_positional is None and not var_keyword:
        listed = ", ".join(map(repr, rest))
        what = f"input {listed} is not a parameter" if len(rest) == 1 else f"inputs {listed} are not parameters"
        raise EmitError(f"{what} of {takes_text}: name each input after the forward parameter it is passed to")
    missing = [p.name for p in named if p.default is p.empty and p.name not in names]
    if missing:
        raise EmitError(
            f"no input for the parameter{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))} of "
            f"{takes_text} (the inputs are {list(names)}): add an input named {missing[0]!r}"
        )
    positional: list[str] = []
    keyword: list[str] = []
    ordered = [p for p in named if p.kind in _NAMED]
    if rest and var_positional is not None:
        skipped = [p.name for p in ordered if p.name not in names]
        if skipped:
            raise EmitError(
                f"the inputs {rest}, named after no parameter of {takes_text}, go to its *{var_positional}, which "
                f"follows {skipped}: give inputs named {skipped} too, or name the inputs after forward's parameters"
            )
        positional = [p.name for p in ordered] + rest
    else:
        for p in ordered:  # positionally up to the first parameter without an input, by keyword after it
            if p.name not in names:
                break
            positional.append(p.name)
        later = [p for p in ordered[len(positional) :] if p.name in names]
        only = [p.name for p in later if p.kind is p.POSITIONAL_ONLY]
        if only:
            first = ordered[len(positional)].name
            raise EmitError(
                f"the positional-only parameter {only[0]!r} of {takes_text} follows {first!r}, which has no "
                f"input: give an input named {first!r} too"
            )
        keyword = [p.name for p in later] + rest  # rest: names for **kwargs
    keyword += [p.name for p in named if p.kind is p.KEYWORD_ONLY and p.name in names]
    return InputBinding(tuple(positional), tuple(keyword), checked=not rest)


def _resolve_overrides(model: Module, overrides: Mapping[str | type, str]) -> dict[int, trt.DataType]:
    """id(module) -> compute dtype, for every module an override key matches (paths win over classes)."""
    resolved: dict[int, trt.DataType] = {}
    used: set = set()
    for key, precision in overrides.items():
        if precision not in PRECISIONS:
            raise EmitError(f"override {key!r}: precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    for path, module in model.named_modules():
        by_class = [k for k in overrides if isinstance(k, type) and isinstance(module, k)]
        by_path = [k for k in overrides if isinstance(k, str) and fnmatch.fnmatchcase(path, k)]
        for key in by_class + by_path:  # later (path) keys win
            resolved[id(module)] = dtype_from_name(PRECISIONS[overrides[key]])
            used.add(key)
    unused = [k for k in overrides if k not in used]
    if unused:
        names = [k.__name__ if isinstance(k, type) else k for k in unused]
        raise EmitError(f"precision overrides match no module: {names}; keys are module paths or classes")
    return resolved


def _mark_outputs(ctx: EmitContext, result, output_dtype: str | Mapping[str, str]) -> list[str]:
    if isinstance(result, Tensor):
        named = {"output": result}
    elif isinstance(result, Mapping):
        named = dict(result)
    elif isinstance(result, Sequence) and not isinstance(result, str):
        named = {f"output{i}": t for i, t in enumerate(result)}
    else:
        raise EmitError(f"forward must return a Tensor, a tuple/list or a dict of Tensors, got {type(result).__name__}")
    inputs = {ctx.network.get_input(i).name for i in range(ctx.network.num_inputs)}
    names = []
    for name, t in named.items():
        if not isinstance(name, str) or not name:
            raise EmitError(f"forward returned a dict whose key {name!r} is not a non-empty string (an output name)")
        if name in inputs:
            raise EmitError(
                f"the forward's output would be named {name!r}, the name of an input: TensorRT tensors need "
                "distinct names; rename the input, or return a dict {'name': tensor} naming the outputs"
            )
        if not isinstance(t, Tensor):
            raise EmitError(f"output {name!r} is a {type(t).__name__}, not a netdef.Tensor")
        wanted = output_dtype.get(name, "float32") if isinstance(output_dtype, Mapping) else output_dtype
        if t.uncast is not None and t.uncast.dtype == dtype_from_name(wanted):
            t = t.uncast  # an override module's output: skip the round trip through the outer precision
        if t.dtype.name in ("FLOAT", "HALF", "BF16") and t.dtype != dtype_from_name(wanted):
            t = cast(t, dtype_from_name(wanted))
        elif t.itensor.is_network_input or t.itensor.is_network_output:
            layer = ctx.add_layer("output", lambda net, t=t: net.add_identity(t.itensor))
            t = Tensor(layer.get_output(0), ctx)
        t.itensor.name = name
        ctx.network.mark_output(t.itensor)
        names.append(name)
    return names
