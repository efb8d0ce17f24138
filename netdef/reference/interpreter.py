"""Run any INetworkDefinition layer by layer on CPU with torch, reading TensorRT's own layer attributes."""

from __future__ import annotations

import functools
import heapq
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from netdef._trt import dtype_to_numpy, trt
from netdef.errors import ArgumentError, InterpreterError
from netdef.feeds import check_mapping, convert_array
from netdef.reference import loop
from netdef.reference._dtypes import torch_dtype
from netdef.reference._registry import HANDLERS
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
    values: dict[str, torch.Tensor] = {}
    names = [net.get_input(i).name for i in range(net.num_inputs)]
    missing = [n for n in names if n not in feeds]
    extra = [n for n in feeds if n not in names]
    if missing or extra:
        raise InterpreterError(
            f"feeds do not match the network's inputs {names}: missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
    for i in range(net.num_inputs):
        itensor = net.get_input(i)
        spec = specs.get(itensor.name) if isinstance(specs, Mapping) else None
        values[itensor.name] = _feed(itensor, _host_array(itensor.name, feeds[itensor.name]), spec)

    token = NAMED_WEIGHTS.set(getattr(network, "named_weights", None))
    try:
        return _run(net, values, outputs, observe, _plan(network, net))
    finally:
        NAMED_WEIGHTS.reset(token)


#: INetworkDefinition of a netdef Network -> its plan. A Network is finished when define() returns, so its
#: plan is made once; any other network (the ONNX parser's, one built by hand) is planned on every run.
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Plan:
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
    branches: dict[int, list[tuple[str, bool]]]


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
        steps[index] = (layer, kind, HANDLERS[kind][1], [o.name for o in outs], [torch_dtype(o.dtype) for o in outs])
    if any(steps[i][1] in loop.BOUNDARY for i in order):
        order = loop.plan_loops(layers, kinds, names, order, ordering)[0]
    plan = _Plan(names, order, steps, outputs, _last_uses(order, names, set(outputs)), branches)
    if cached:
        _PLANS[net] = plan
    return plan


def _run(net, values, outputs, observe, plan: _Plan):
    # marked outputs are read again: parity marks more on a defined network for its engine path
    wanted = outputs or [net.get_output(i).name for i in range(net.num_outputs)]
    names, order, steps, branches = plan.names, plan.order, plan.steps, plan.branches
    last_use = plan.last_use if wanted == plan.outputs else _last_uses(order, names, set(wanted))

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
                continue
            inputs.append(v.float() if v.is_floating_point() and v.dtype != torch.float32 else v)
        try:
            results = handler(layer, inputs)
        except InterpreterError:
            raise
        except Exception as exc:
            raise InterpreterError(f"layer {index} `{layer.name}` ({kind}) failed: {exc}") from exc
        for name, dtype, r in zip(out_names, out_dtypes, results):
            values[name] = r.to(dtype)
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


def _feed(itensor: trt.ITensor, arr: np.ndarray, spec) -> torch.Tensor:
    declared = tuple(itensor.shape)
    name = itensor.name
    if arr.ndim != len(declared) or any(d >= 0 and d != a for d, a in zip(declared, arr.shape)):
        raise InterpreterError(f"input {name!r} has shape {arr.shape}, the network declares {declared}")
    if spec is not None and spec.is_dynamic and not spec.accepts(arr.shape):
        ranges = "; ".join(f"min={lo} max={hi}" for lo, _, hi in spec.all_profiles)
        raise InterpreterError(f"input {name!r} has shape {arr.shape}, outside every optimization profile ({ranges})")
    want = dtype_to_numpy(itensor.dtype)
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
