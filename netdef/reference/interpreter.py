"""Run any INetworkDefinition layer by layer on CPU with torch, reading TensorRT's own layer attributes."""

from __future__ import annotations

import functools
import heapq
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from netdef._trt import dtype_to_numpy, trt
from netdef.errors import ArgumentError, InterpreterError
from netdef.feeds import check_mapping, convert_array
from netdef.reference import loop
from netdef.reference._dtypes import torch_dtype
from netdef.reference._registry import HANDLERS, IN_PLACE, SPECIALIZE
from netdef.reference._weights import NAMED_WEIGHTS
from netdef.reference.conditional import plan_branches
from netdef.reference.loop import LoopPlan

#: observe(layer, outputs) is called after each layer with its (rounded) output tensors.
Observer = Callable[[object, list], None]


@functools.cache
def _load_handlers() -> None:
    """Import every layer-family module of this package; each registers its handlers on import."""
    import importlib
    import pkgutil

    import netdef.reference as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and info.name != "interpreter":
            importlib.import_module(f"netdef.reference.{info.name}")


def run(
    network,
    feeds: Mapping[str, np.ndarray],
    outputs: list[str] | None = None,
    observe: Observer | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate ``network`` (a netdef ``Network`` or any ``trt.INetworkDefinition``) on ``feeds``.

    Returns the marked outputs (or the tensors named in ``outputs``) as numpy arrays of the network's
    dtypes. Unsupported layer types raise InterpreterError naming the layer.
    """
    _load_handlers()
    check_mapping(feeds, "reference.run")
    specs = getattr(network, "inputs", None)
    net: trt.INetworkDefinition = getattr(network, "network", network)
    if not isinstance(net, trt.INetworkDefinition):
        raise ArgumentError(
            f"reference.run: network must be a netdef Network or a trt.INetworkDefinition, got {type(network).__name__}"
        )
    plan = _plan(network, net)
    names = [name for name, _, _ in plan.inputs]
    missing = [n for n in names if n not in feeds]
    extra = [n for n in feeds if n not in names]
    if missing or extra:
        raise InterpreterError(
            f"feeds do not match the network's inputs {names}: missing {missing or 'none'}, unexpected "
            f"{extra or 'none'}; feed one array per input, keyed by its name"
        )
    values: dict[str, torch.Tensor] = {}
    for name, declared, want in plan.inputs:
        spec = specs.get(name) if isinstance(specs, Mapping) else None
        values[name] = _feed(name, declared, want, _host_array(name, feeds[name]), spec)

    token = NAMED_WEIGHTS.set(getattr(network, "named_weights", None))
    try:
        return _run(net, values, outputs, observe, plan)
    finally:
        NAMED_WEIGHTS.reset(token)


#: INetworkDefinition of a netdef Network -> its plan. A Network is finished when define() returns, so its
#: plan is made once; any other network (the ONNX parser's, one built by hand) is planned on every run.
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: layer types whose output depends on their inputs alone: with constant inputs they are computed once per plan
_PURE = frozenset(
    {
        "CONSTANT", "SHUFFLE", "CAST", "IDENTITY", "ELEMENTWISE", "UNARY", "SLICE", "CONCATENATION", "GATHER",
        "REDUCE", "MATRIX_MULTIPLY", "SQUEEZE", "UNSQUEEZE", "QUANTIZE", "DEQUANTIZE", "SELECT", "ACTIVATION",
    }
)  # fmt: skip


class _Layer:
    """A layer of a finished network whose attributes are read from TensorRT once: pybind reads (and the
    Dims/Permutation objects they return) cost more than most layers' arithmetic at small sizes. Methods
    are passed through; Dims and Permutations become tuples."""

    def __init__(self, layer) -> None:
        self.__dict__["_layer"] = layer
        #: (role, shape) -> the layer's weights as a float32 tensor (``weights_tensor`` fills it)
        self.__dict__["memo"] = {}

    def __getattr__(self, name: str):
        value = getattr(self._layer, name)
        if callable(value):
            return value
        if isinstance(value, (trt.Dims, trt.Permutation)):
            value = tuple(value)
        self.__dict__[name] = value
        return value


@dataclass
class _Plan:
    #: the network's inputs: (name, declared shape, numpy dtype)
    inputs: list[tuple[str, tuple[int, ...], np.dtype]]
    #: each layer's input tensor names
    names: list[list[str | None]]
    #: layer indices and whole loops (netdef.reference.loop.LoopPlan), producers first
    order: list[int | LoopPlan]
    #: per index: the layer (cast to its I*Layer class), its handler, its output names and torch dtypes
    steps: dict[int, tuple[object, str, Callable, list[str], list[torch.dtype]]]
    #: the network's marked outputs, and when each other tensor is last read (to free it after that step)
    outputs: list[str]
    last_use: dict[str, int]
    #: layers of if-conditional branches -> the (condition tensor, branch) pairs they run under
    branches: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)
    #: layers computed from constants alone, and the tensors of theirs that other layers (or the outputs)
    #: read; those are computed on the first run and kept, float32 for floats as handlers take them
    static: frozenset[int] = frozenset()
    kept: frozenset[str] = frozenset()
    constants: dict[str, torch.Tensor] | None = None
    #: the layers to run, precompiled (with and without the static layers), for the network's own outputs
    programs: dict[bool, list[tuple]] = field(default_factory=dict)
    #: layer index -> its specialized handler (``SPECIALIZE``), or its general one; filled as layers run
    fast: dict[int, Callable] = field(default_factory=dict)
    #: no loops and no if-conditionals: the precompiled fast path runs it
    straight: bool = field(init=False)

    def __post_init__(self) -> None:
        self.straight = not self.branches and all(isinstance(step, int) for step in self.order)


def _plan(network, net: trt.INetworkDefinition) -> _Plan:
    cached = network is not net
    plan = _PLANS.get(net) if cached else None
    if plan is not None:
        return plan
    for index in range(net.num_layers):  # before ordering: loops' back edges are cycles to a plain sort
        layer = net.get_layer(index)
        if layer.type.name not in HANDLERS:
            raise InterpreterError(
                f"layer {index} `{layer.name}` has type {layer.type.name}, which the reference interpreter does "
                "not support yet; the network was not run"
            )
    names = _input_names(net)
    outputs = [net.get_output(i).name for i in range(net.num_outputs)]
    layers, kinds = {}, {}
    for index in range(net.num_layers):
        layer = net.get_layer(index)
        kinds[index] = layer.type.name  # before the cast: IActivationLayer's `type` is its activation
        layer.__class__ = HANDLERS[kinds[index]][0]
        layers[index] = layer
    branches = plan_branches(layers, kinds, names, set(outputs))
    # order without loops' back edges, and with each branch layer after the condition that guards it
    ordering = loop.acyclic(net, names)
    if branches:
        ordering = list(ordering)
        for index, guards in branches.items():
            ordering[index] = ordering[index] + [c for c, _ in guards]
    order = _topological_order(net, ordering)
    steps = {}
    for index in order:
        layer, kind = layers[index], kinds[index]
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        view = _Layer(layer) if cached else layer
        steps[index] = (view, kind, HANDLERS[kind][1], [o.name for o in outs], [torch_dtype(o.dtype) for o in outs])
    if any(steps[i][1] in loop.BOUNDARY for i in order):
        order = loop.plan_loops(layers, kinds, names, order, ordering)[0]
    inputs = [
        (t.name, tuple(t.shape), np.dtype(dtype_to_numpy(t.dtype))) for t in map(net.get_input, range(net.num_inputs))
    ]
    plan = _Plan(inputs, names, order, steps, outputs, _last_uses(order, names, set(outputs)), branches)
    if cached:
        if plan.straight:
            plan.static, plan.kept = _static_layers(plan)
        _PLANS[net] = plan
    return plan


def _static_layers(plan: _Plan) -> tuple[frozenset[int], frozenset[str]]:
    """Pure layers whose inputs are all constant, and their outputs that non-static layers or outputs read."""
    static: set[int] = set()
    made: set[str] = set()
    for index in plan.order:
        kind, out_names = plan.steps[index][1], plan.steps[index][3]
        if kind in _PURE and all(n is None or n in made for n in plan.names[index]):
            static.add(index)
            made.update(out_names)
    read = {n for i in plan.order if i not in static for n in plan.names[i] if n is not None}
    return frozenset(static), frozenset(made & (read | set(plan.outputs)))


def _constants(plan: _Plan) -> dict[str, torch.Tensor]:
    """The plan's kept static tensors, computed once (a constant shares the array TensorRT holds)."""
    if plan.constants is None:
        values: dict[str, torch.Tensor] = {}
        with torch.inference_mode():
            for index in plan.order:
                if index in plan.static:
                    _step(plan, index, values)
        plan.constants = {n: _ready(values[n]) for n in plan.kept}
    return plan.constants


def _ready(v: torch.Tensor) -> torch.Tensor:
    """``v`` as handlers take it: float32 for any float dtype."""
    return v.float() if v.is_floating_point() and v.dtype != torch.float32 else v


def _step(plan: _Plan, index: int, values: dict[str, torch.Tensor]) -> None:
    """Run layer ``index`` on ``values`` and store its outputs, rounded to their declared dtypes."""
    layer, kind, handler, out_names, out_dtypes = plan.steps[index]
    inputs = [None if name is None else _ready(values[name]) for name in plan.names[index]]
    results = _apply(index, layer, kind, handler, inputs)
    for name, dtype, r in zip(out_names, out_dtypes, results):
        values[name] = r if r.dtype == dtype else r.to(dtype)


def _apply(index: int, layer, kind: str, handler: Callable, inputs: list) -> list:
    """``handler(layer, inputs)``, its failures reported as the layer's (the hot loops inline the call)."""
    try:
        return handler(layer, inputs)
    except InterpreterError:
        raise
    except Exception as exc:
        raise _failed(index, layer, kind, exc) from exc


def _failed(index: int, layer, kind: str, exc: Exception) -> InterpreterError:
    """A handler's failure, reported as the layer's."""
    return InterpreterError(f"layer {index} `{layer.name}` ({kind}) failed: {exc}")


def _run(net, values, outputs, observe, plan: _Plan):
    # marked outputs are read again: parity marks more on a defined network for its engine path
    if not plan.straight:
        return _run_general(values, outputs, observe, plan)
    wanted = outputs or plan.outputs
    order, names = plan.order, plan.names
    last_use = plan.last_use if wanted == plan.outputs else _last_uses(order, names, set(wanted))
    # static layers are skipped (their kept outputs precomputed) unless every layer must be observed, or an
    # output is asked for that only a static layer's intermediate holds
    static = plan.static if observe is None and plan.static else frozenset()
    if static and wanted != plan.outputs:  # (the network's own outputs are kept whenever static layers make them)
        made = {n for i in static for n in plan.steps[i][3]}
        if any(n in made and n not in plan.kept for n in wanted):
            static = frozenset()
    if static:
        values.update(_constants(plan))
    with torch.inference_mode():
        if observe is None:
            _execute(_program(plan, static, last_use, wanted == plan.outputs), values)
        else:
            for position, index in enumerate(order):
                if index in static:
                    continue
                _step(plan, index, values)
                layer, out_names = plan.steps[index][0], plan.steps[index][3]
                observe(layer, [values[name] for name in out_names])
                for name in names[index]:
                    if name is not None and last_use.get(name) == position:
                        values.pop(name, None)
    try:
        result = {}
        for name in wanted:
            v = values[name]
            if static and name in plan.kept:  # shared with the plan: a copy, in the declared dtype
                v = v.to(_declared(plan, name), copy=True)
            result[name] = _to_numpy(v)
        return result
    except KeyError as exc:
        raise InterpreterError(f"no tensor named {exc.args[0]!r} was computed") from None


def _fast(plan: _Plan, index: int) -> Callable:
    """Layer ``index``'s specialized handler when its family has one for it, else its general handler."""
    handler = plan.fast.get(index)
    if handler is None:
        layer, kind, handler = plan.steps[index][:3]
        specialize = SPECIALIZE.get(kind)
        handler = plan.fast[index] = (specialize(layer) if specialize is not None else None) or handler
    return handler


def _run_general(values, outputs, observe, plan: _Plan):
    """Networks with loops or if-conditionals: layer by layer, loops iteration by iteration, untaken branches
    skipped (``_run``'s precompiled program covers straight-line networks)."""
    wanted = outputs or plan.outputs
    names, order, steps, branches = plan.names, plan.order, plan.steps, plan.branches
    last_use = plan.last_use if wanted == plan.outputs else _last_uses(order, names, set(wanted))

    fast = plan.fast

    def run_layer(index: int) -> None:
        layer, kind, handler, out_names, out_dtypes = steps[index]
        guards = branches.get(index)
        if guards is not None and not all(_selects(values.get(c), branch) for c, branch in guards):
            for name in out_names:
                values[name] = None  # in a branch the condition did not take: not run, as in TensorRT
            return
        inputs = []
        for name in names[index]:
            v = None if name is None else values[name]
            if v is None:  # an unset optional input, or a conditional output's untaken branch
                inputs.append(None)
            else:
                inputs.append(_ready(v))
        if observe is None:  # an observed run takes the general handlers (tests compare the two)
            handler = fast.get(index) or _fast(plan, index)
        try:
            results = handler(layer, inputs)
        except InterpreterError:
            raise
        except Exception as exc:
            raise _failed(index, layer, kind, exc) from exc
        for name, dtype, r in zip(out_names, out_dtypes, results):
            values[name] = r if r.dtype == dtype else r.to(dtype)
        if observe is not None:
            observe(layer, [values[name] for name in out_names])

    def boundary(index: int) -> tuple[object, torch.dtype]:
        return steps[index][0], steps[index][4][0] if steps[index][4] else None

    with torch.inference_mode():
        for position, step in enumerate(order):
            if isinstance(step, int):
                run_layer(step)
                read = names[step]
            else:
                loop.run_loop(step, values, run_layer, boundary, observe)
                read = step.reads
            for name in read:
                if name is not None and last_use.get(name) == position:
                    values.pop(name, None)
    missing = [name for name in wanted if values.get(name) is None]
    if missing:
        skipped = [name for name in missing if name in values]
        raise InterpreterError(
            f"no tensor named {missing[0]!r} was computed"
            + (" (it lies in a branch of an if-conditional that the condition did not take)" if skipped else "")
        )
    return {name: _to_numpy(values[name]) for name in wanted}


def _selects(condition: torch.Tensor | None, branch: bool) -> bool:
    """Whether ``condition`` (None: not computed, itself in an untaken branch) takes ``branch``."""
    return condition is not None and bool(condition.reshape(-1)[0]) == branch


#: dtypes the interpreter stores but computes in float32
_UPCAST = frozenset({torch.float16, torch.bfloat16, torch.float8_e4m3fn})


def _program(plan: _Plan, static: frozenset[int], last_use: dict[str, int], reuse: bool) -> list[tuple]:
    """The layers to run, each as (index, layer, kind, handler, inputs, outputs, dtypes, names freed after it)."""
    key = bool(static)
    if reuse and key in plan.programs:
        return plan.programs[key]
    program = []
    for position, index in enumerate(plan.order):
        if index in static:
            continue
        layer, kind, handler, out_names, out_dtypes = plan.steps[index]
        handler = _fast(plan, index)
        ins = plan.names[index]
        frees = tuple(dict.fromkeys(n for n in ins if n is not None and last_use.get(n) == position))
        program.append((index, layer, kind, handler, ins, tuple(zip(out_names, out_dtypes)), frees))
    if static:
        program = _fuse_linear(program, plan, last_use)
    program = _donate(program)
    if reuse:
        plan.programs[key] = program
    return program


#: layer kinds whose handlers always return new memory, never a view of an input or of a constant
_FRESH = frozenset(
    {
        "ACTIVATION", "CONVOLUTION", "ELEMENTWISE", "MATRIX_MULTIPLY", "MATRIX_MULTIPLY+ELEMENTWISE", "NORMALIZATION",
        "PARAMETRIC_RELU", "POOLING", "SOFTMAX", "UNARY",
    }
)  # fmt: skip


def _donate(program: list[tuple]) -> list[tuple]:
    """Let a layer compute into a float32 input it reads last (``IN_PLACE``), as torch's in-place ops do:
    fewer allocations and a lower peak. Only a tensor a ``_FRESH`` layer made is donated, and only when no
    other live tensor may share its memory (a view of it made by a reshape, slice or identity layer)."""
    #: tensor -> the fresh tensors whose memory it may share; empty for network inputs and constants
    roots: dict[str, frozenset[str]] = {}
    dtypes: dict[str, torch.dtype] = {}
    live: set[str] = set()
    result = []
    for entry in program:
        index, layer, kind, handler, ins, outs, frees = entry
        in_place = IN_PLACE.get(kind)
        if in_place is not None and len(outs) == 1 and outs[0][1] == torch.float32:
            for k, name in enumerate(ins):
                if name in frees and dtypes.get(name) == torch.float32 and roots[name] == {name}:
                    if not any(name in roots[other] for other in live if other != name):
                        runner = in_place(layer)
                        if runner is not None:
                            entry = (index, layer, kind, _donating(runner, handler, k), ins, outs, frees)
                        break
        read = frozenset().union(*(roots.get(n, frozenset()) for n in ins if n is not None))
        for name, dtype in outs:
            roots[name] = frozenset({name}) if kind in _FRESH else read
            dtypes[name] = dtype
            live.add(name)
        live.difference_update(frees)
        result.append(entry)
    return result


def _donating(runner: Callable, handler: Callable, k: int) -> Callable:
    def run(layer, inputs):
        out = runner(inputs, k)
        return handler(layer, inputs) if out is None else out

    return run


def _fuse_linear(program: list[tuple], plan: _Plan, last_use: dict[str, int]) -> list[tuple]:
    """``x @ W.T`` (a constant W) whose only reader adds a constant bias, all in float32, as one step:
    ``F.linear`` and the bias added in place. Other precisions round the product before the add, so they
    keep both steps."""
    readers: dict[str, int] = {}
    for names in plan.names:
        for n in names:
            if n is not None:
                readers[n] = readers.get(n, 0) + 1
    constants = plan.constants or {}
    position = {entry[0]: k for k, entry in enumerate(program)}  # layer index -> place in the program
    fused: dict[int, tuple] = {}
    dropped: set[int] = set()
    for k, (_, layer, kind, _, ins, outs, frees) in enumerate(program):
        if kind != "MATRIX_MULTIPLY" or outs[0][1] != torch.float32 or len(ins) != 2:
            continue
        product = outs[0][0]
        w = constants.get(ins[1])
        last = last_use.get(product)  # the add, when it is the product's last (and only) reader
        j = None if last is None else position.get(plan.order[last])
        if w is None or j is None or readers.get(product) != 1 or product in plan.outputs:
            continue
        add = program[j]
        if add[2] != "ELEMENTWISE" or add[5][0][1] != torch.float32 or add[1].op.name != "SUM":
            continue
        other = add[4][1] if add[4][0] == product else add[4][0]
        b = constants.get(other)
        if layer.op0.name != "NONE" or layer.op1.name != "TRANSPOSE" or b is None or w.dtype != torch.float32:
            continue
        n = w.shape[-2]
        if w.dim() < 2 or any(d != 1 for d in w.shape[:-2]) or b.numel() != n or b.shape[-1] != n:
            continue
        if b.dtype != torch.float32 or any(d != 1 for d in b.shape[:-1]):
            continue
        weight, bias = w.reshape(w.shape[-2:]), b.reshape(n)
        fused[j] = (add[0], add[1], "MATRIX_MULTIPLY+ELEMENTWISE", _linear(weight, bias), [ins[0]], add[5],
                    tuple(dict.fromkeys((*frees, *add[6]))))  # fmt: skip
        dropped.add(k)
    return [fused.get(k, entry) for k, entry in enumerate(program) if k not in dropped]


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> Callable:
    def linear(layer, inputs):
        # the bias is added to the finished products, as the two layers do (a GEMM that starts its sums at
        # the bias rounds every step at its magnitude: a folded batch norm's shift can be far larger)
        return [torch.nn.functional.linear(inputs[0], weight).add_(bias)]

    return linear


def _execute(program: list[tuple], values: dict[str, torch.Tensor]) -> None:
    """Run ``program`` on ``values``: the interpreter's hot loop (one pass per layer, nothing looked up twice)."""
    upcast = _UPCAST
    for index, layer, kind, handler, ins, outs, frees in program:
        inputs = []
        for name in ins:
            if name is None:
                inputs.append(None)
                continue
            v = values[name]
            inputs.append(v.float() if v.dtype in upcast else v)
        try:
            results = handler(layer, inputs)
        except InterpreterError:
            raise
        except Exception as exc:
            raise _failed(index, layer, kind, exc) from exc
        for (name, dtype), r in zip(outs, results):
            values[name] = r if r.dtype == dtype else r.to(dtype)
        for name in frees:
            values.pop(name, None)


def _declared(plan: _Plan, name: str) -> torch.dtype:
    for index in plan.static:
        _, _, _, out_names, out_dtypes = plan.steps[index]
        if name in out_names:
            return out_dtypes[out_names.index(name)]
    raise KeyError(name)


def _feed(name: str, declared: tuple[int, ...], want: np.dtype, arr: np.ndarray, spec) -> torch.Tensor:
    if arr.ndim != len(declared) or any(d >= 0 and d != a for d, a in zip(declared, arr.shape)):
        raise InterpreterError(f"input {name!r} has shape {arr.shape}, the network declares {declared}")
    if spec is not None and spec.is_dynamic and not spec.accepts(arr.shape):
        ranges = "; ".join(f"min={lo} max={hi}" for lo, _, hi in spec.all_profiles)
        raise InterpreterError(f"input {name!r} has shape {arr.shape}, outside every optimization profile ({ranges})")
    if arr.dtype != want:
        arr = convert_array(name, arr, want, InterpreterError, "network")
    if want.name == "bfloat16":
        return torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(np.array(arr, order="C", copy=True))  # (ascontiguousarray makes 0-d inputs 1-d)


def _host_array(name: str, value) -> np.ndarray:
    """A feed as a numpy array: numpy arrays and torch tensors (on any device) are feeds, as for an engine."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return _to_numpy(value) if value.dtype == torch.bfloat16 else value.numpy()
    if not isinstance(value, (np.ndarray, np.generic)):
        raise ArgumentError(f"feed {name!r} must be a numpy array or a torch tensor, got {type(value).__name__}")
    return np.asarray(value)


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.contiguous().numpy()


def _input_names(net: trt.INetworkDefinition) -> list[list[str | None]]:
    """Each layer's input tensor names (None for an unset optional input). The output layer of an
    if-conditional also reads the tensor its condition layer tests, as a last input."""
    names: list[list[str | None]] = []
    conditions: dict[object, str] = {}  # holds the IIfConditional wrappers, so their identity is stable
    outputs: list[tuple[int, object]] = []
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        names.append([None if t is None else t.name for t in (layer.get_input(j) for j in range(layer.num_inputs))])
        if layer.type.name == "CONDITION":
            layer.__class__ = trt.IConditionLayer
            conditions[layer.conditional] = names[-1][0]
        elif layer.type.name == "CONDITIONAL_OUTPUT":
            layer.__class__ = trt.IIfConditionalOutputLayer
            outputs.append((i, layer.conditional))
    for i, conditional in outputs:
        if conditional not in conditions:
            raise InterpreterError(
                f"layer {i} `{net.get_layer(i).name}` belongs to an if-conditional with no condition"
            )
        names[i].append(conditions[conditional])
    return names


def _topological_order(net: trt.INetworkDefinition, names: list[list[str | None]]) -> list[int]:
    """Layer indices with every producer before its consumers (a layer rewired with ``set_input`` after
    creation, or the ONNX parser's if-conditional inputs, can sit after the layers it feeds)."""
    producer: dict[str, int] = {}
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        for j in range(layer.num_outputs):
            producer[layer.get_output(j).name] = i
    deps = [{producer[n] for n in inputs if n is not None and n in producer} for inputs in names]
    if all(all(d < i for d in ds) for i, ds in enumerate(deps)):
        return list(range(net.num_layers))
    users: dict[int, list[int]] = {i: [] for i in range(net.num_layers)}
    for i, ds in enumerate(deps):
        for d in ds:
            users[d].append(i)
    pending = [len(ds) for ds in deps]
    ready = [i for i, n in enumerate(pending) if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != net.num_layers:
        raise InterpreterError("the network has a cycle: some layers feed their own inputs")
    return order


def _last_uses(order: list[int | LoopPlan], names: list[list[str | None]], keep: set[str]) -> dict[str, int]:
    """Tensor name -> position in ``order`` of the last step that reads it (tensors in ``keep`` never)."""
    last: dict[str, int] = {}
    for position, step in enumerate(order):
        for name in names[step] if isinstance(step, int) else step.reads:
            if name is not None and name not in keep:
                last[name] = position
    return last
