"""Loops (ILoop): trip limits, iterators, recurrences and loop outputs, run iteration by iteration.

TensorRT defines a loop by its boundary layers, which all name the same ``ILoop``; the layers of its body
are not listed anywhere. The interpreter finds them by data flow: a layer belongs to a loop's body when it
reads (directly or through other body layers) an output of that loop's iterators or recurrences. Every
other layer is loop-invariant and runs once, outside, which computes the same values (layers have no side
effects). The recurrences' second inputs are the only back edges; the plan orders layers without them.

Semantics (TensorRT's "Working with Loops"):

- ``TRIP_LIMIT`` COUNT: a 0-D int tensor from outside the loop, the number of iterations; WHILE: a 0-D bool
  tensor computed in the body, tested before each iteration (the iteration runs while it is true).
- ``ITERATOR``: slice ``i`` of its input along ``axis`` in iteration ``i`` (``M - 1 - i`` when ``reverse``,
  M the COUNT trip limit).
- ``RECURRENCE``: its first input in iteration 0, then the value its second input had in the iteration
  before.
- ``LOOP_OUTPUT`` LAST_VALUE: the value of a recurrence after the last iteration (its initial value when the
  loop runs no iteration); CONCATENATE / REVERSE: the input of every iteration stacked along a new ``axis``
  of the length the second input gives (REVERSE in reverse order). TensorRT leaves entries past the last
  iteration undefined; the interpreter writes zeros there.

Nested loops (a loop inside another loop's body) are refused with an InterpreterError naming the layer.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register

#: the layer types that make a loop
BOUNDARY = ("TRIP_LIMIT", "ITERATOR", "RECURRENCE", "LOOP_OUTPUT")


@dataclass
class LoopPlan:
    """One loop of a network as the interpreter runs it (tensor names, layer indices, body steps)."""

    name: str
    #: tensor of the COUNT trip limit (None: no COUNT limit), of the WHILE trip limit (None: none)
    count: str | None = None
    condition: str | None = None
    #: (layer index, input, output, axis, reverse)
    iterators: list[tuple[int, str, str, int, bool]] = field(default_factory=list)
    #: (layer index, initial value, next value, output)
    recurrences: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: (layer index, kind, input, length or None, axis, output)
    outputs: list[tuple[int, str, str, str | None, int, str]] = field(default_factory=list)
    #: body layers the WHILE condition needs (run before the test), then the rest of the body
    head: list[int] = field(default_factory=list)
    body: list[int] = field(default_factory=list)
    #: tensors from outside the loop that it reads
    reads: set[str] = field(default_factory=set)
    #: tensors it computes in every iteration (dropped once the loop ends)
    locals: set[str] = field(default_factory=set)
    #: layer indices of its boundary layers
    boundary: list[int] = field(default_factory=list)


def _no_direct_call(layer, inputs):
    raise InterpreterError(f"layer `{layer.name}` ({layer.type.name}) runs only as part of its loop")


for _kind, _cls in zip(BOUNDARY, ("ITripLimitLayer", "IIteratorLayer", "IRecurrenceLayer", "ILoopOutputLayer")):
    register(_kind, _cls)(_no_direct_call)


def acyclic(net, names: list[list[str | None]]) -> list[list[str | None]]:
    """``names`` without the back edges (each recurrence's second input), for ordering the layers."""
    out = names
    for i in range(net.num_layers):
        if net.get_layer(i).type.name == "RECURRENCE" and len(names[i]) > 1:
            if out is names:
                out = list(names)
            out[i] = names[i][:1]
    return out


def plan_loops(
    layers: dict[int, object],
    kinds: dict[int, str],
    names: list[list[str | None]],
    order: list[int],
    ordering: list[list[str | None]] | None = None,
) -> tuple[list, dict[int, LoopPlan]]:
    """The top-level steps (layer indices and LoopPlans, producers first) of a network with loops.

    ``layers`` maps each layer index to the layer cast to its I*Layer class, ``kinds`` to its LayerType
    name (read before the cast: IActivationLayer's ``type`` is its activation); ``order`` lists every index,
    producers first, without the back edges, and ``ordering`` the per-layer tensors ``order`` was made from
    (``names`` by default; the interpreter adds the condition each if-conditional branch layer waits for).
    Returns the steps and, by layer index, the loop each loop layer (boundary or body) belongs to.
    """
    ordering = names if ordering is None else ordering
    loops: list[LoopPlan] = []
    keep = []  # the ILoop wrappers: their identity is stable only while they are alive
    key_of: dict[object, int] = {}
    loop_of_boundary: dict[int, int] = {}
    for i in order:
        layer = layers[i]
        if kinds[i] in BOUNDARY:
            handle = layer.loop
            if handle not in key_of:
                key_of[handle] = len(loops)
                keep.append(handle)
                loops.append(LoopPlan(name=handle.name))
            loop_of_boundary[i] = key_of[handle]

    scope: dict[str, int | None] = {}  # tensor -> the loop it varies with (None: invariant)
    member: dict[int, int] = {}  # layer index -> loop

    def outer_scope(i: int, inputs) -> int | None:
        found = {scope.get(n) for n in inputs if n is not None} - {None}
        if len(found) > 1:
            raise InterpreterError(
                f"layer {i} `{layers[i].name}` reads tensors of two loops "
                f"({', '.join(repr(loops[k].name) for k in sorted(found))}); nested loops are not supported by "
                "the reference interpreter yet"
            )
        return found.pop() if found else None

    for i in order:
        layer = layers[i]
        kind = kinds[i]
        outs = [layer.get_output(j).name for j in range(layer.num_outputs)]
        if kind not in BOUNDARY:
            k = outer_scope(i, names[i])
            if k is not None:
                member[i] = k
            for n in outs:
                scope[n] = k
            continue
        k = loop_of_boundary[i]
        plan = loops[k]
        member[i] = k
        plan.boundary.append(i)
        ins = names[i]
        outside = {"TRIP_LIMIT": ins[:1], "ITERATOR": ins[:1], "RECURRENCE": ins[:1], "LOOP_OUTPUT": ins[1:]}[kind]
        if kind == "TRIP_LIMIT" and layer.kind.name == "WHILE":
            outside = []
        if outer_scope(i, outside) is not None:
            raise InterpreterError(
                f"layer {i} `{layer.name}` ({kind}) of loop {plan.name!r} takes a tensor computed in another "
                "loop's body; nested loops are not supported by the reference interpreter yet"
            )
        if kind == "TRIP_LIMIT":
            if layer.kind.name == "COUNT":
                plan.count = ins[0]
            else:
                plan.condition = ins[0]
        elif kind == "ITERATOR":
            plan.iterators.append((i, ins[0], outs[0], int(layer.axis), bool(layer.reverse)))
        elif kind == "RECURRENCE":
            if len(ins) < 2 or ins[1] is None:
                raise InterpreterError(f"recurrence layer {i} `{layer.name}` has no second input (its next value)")
            plan.recurrences.append((i, ins[0], ins[1], outs[0]))
        else:
            length = ins[1] if len(ins) > 1 else None
            plan.outputs.append((i, layer.kind.name, ins[0], length, int(layer.axis), outs[0]))
        for n in outs:
            scope[n] = k if kind in ("ITERATOR", "RECURRENCE") else None

    for k, plan in enumerate(loops):
        if plan.count is None and plan.condition is None:
            raise InterpreterError(f"loop {plan.name!r} has no trip limit (add_trip_limit COUNT or WHILE)")
        produced = {o for _, _, o, _, _ in plan.iterators} | {o for _, _, _, o in plan.recurrences}
        body = [i for i in order if member.get(i) == k and i not in plan.boundary]
        for i in body:
            layer = layers[i]
            produced |= {layer.get_output(j).name for j in range(layer.num_outputs)}
        plan.locals = produced
        for i in body + plan.boundary:
            plan.reads |= {n for n in names[i] if n is not None and n not in produced}
        plan.head, plan.body = _split_head(layers, names, body, plan.condition)

    # top level: invariant layers and whole loops, producers first (ties: the smaller layer index)
    items: list = [i for i in order if i not in member]
    items += loops
    first = {id(p): min(p.boundary) for p in loops}
    writes: dict[str, int] = {}
    reads: list[set[str]] = []
    for n, item in enumerate(items):
        if isinstance(item, LoopPlan):
            reads.append(item.reads)
            for *_, out in item.outputs:
                writes[out] = n
        else:
            layer = layers[item]
            reads.append({x for x in ordering[item] if x is not None})
            for j in range(layer.num_outputs):
                writes[layer.get_output(j).name] = n
    users: list[list[int]] = [[] for _ in items]
    pending = [0] * len(items)
    for n, rs in enumerate(reads):
        deps = {writes[r] for r in rs if r in writes and writes[r] != n}
        pending[n] = len(deps)
        for d in deps:
            users[d].append(n)

    def rank(n: int) -> int:
        item = items[n]
        return first[id(item)] if isinstance(item, LoopPlan) else item

    ready = [(rank(n), n) for n in range(len(items)) if pending[n] == 0]
    heapq.heapify(ready)
    steps = []
    while ready:
        _, n = heapq.heappop(ready)
        steps.append(items[n])
        for u in users[n]:
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(ready, (rank(u), u))
    if len(steps) != len(items):
        raise InterpreterError("the network has a cycle: a loop's outputs feed its own inputs")
    return steps, {i: loops[k] for i, k in member.items()}


def _split_head(layers, names, body: list[int], condition: str | None) -> tuple[list[int], list[int]]:
    """(the body layers the WHILE condition depends on, the others), each in body order."""
    if condition is None:
        return [], body
    producer = {}
    for i in body:
        layer = layers[i]
        for j in range(layer.num_outputs):
            producer[layer.get_output(j).name] = i
    needed: set[int] = set()
    stack = [condition]
    while stack:
        i = producer.get(stack.pop())
        if i is not None and i not in needed:
            needed.add(i)
            stack.extend(n for n in names[i] if n is not None)
    return [i for i in body if i in needed], [i for i in body if i not in needed]


def _scalar(value: torch.Tensor, what: str, plan: LoopPlan) -> int:
    if value.dim() != 0:  # as TensorRT's builder checks
        raise InterpreterError(f"loop {plan.name!r}: the {what} must be 0-D, got shape {tuple(value.shape)}")
    return int(value.reshape(-1)[0])


def run_loop(
    plan: LoopPlan,
    values: dict[str, torch.Tensor],
    run_layer: Callable[[int], None],
    layer_of: Callable[[int], tuple[object, torch.dtype]],
    observe: Callable | None = None,
) -> None:
    """Run ``plan`` on ``values`` (the tensors computed so far), writing its loop outputs into ``values``.

    ``run_layer(i)`` evaluates body layer ``i`` in place; ``layer_of(i)`` gives a boundary layer and the
    torch dtype of its output.
    """
    trips = _scalar(values[plan.count], "COUNT trip limit", plan) if plan.count is not None else None
    if trips is not None and trips < 0:
        raise InterpreterError(f"loop {plan.name!r}: the COUNT trip limit is negative ({trips})")
    for i, _, _, _, reverse in plan.iterators:
        if reverse and trips is None:
            raise InterpreterError(
                f"iterator layer {i} `{layer_of(i)[0].name}` runs in reverse, which needs a COUNT trip limit"
            )
    state = {out: values[init] for _, init, _, out in plan.recurrences}
    collected: dict[int, list[torch.Tensor]] = {i: [] for i, kind, *_ in plan.outputs if kind != "LAST_VALUE"}
    invariant_condition = plan.condition is not None and plan.condition not in plan.locals
    n = 0
    while trips is None or n < trips:
        for i, _, _, out in plan.recurrences:
            values[out] = state[out]
            if observe is not None:
                observe(layer_of(i)[0], [values[out]])
        for i, source, out, axis, reverse in plan.iterators:
            data = values[source]
            length = data.shape[axis]
            step = trips - 1 - n if reverse else n
            if not 0 <= step < length:
                raise InterpreterError(
                    f"iterator layer {i} `{layer_of(i)[0].name}` reads slice {step} of axis {axis} of a tensor of "
                    f"shape {tuple(data.shape)}: the loop runs more iterations than the tensor has slices"
                )
            values[out] = data.select(axis, step).to(layer_of(i)[1])
            if observe is not None:
                observe(layer_of(i)[0], [values[out]])
        for i in plan.head:
            run_layer(i)
        if plan.condition is not None:
            if not bool(_scalar(values[plan.condition], "WHILE trip limit", plan)):
                break
            if invariant_condition and trips is None:
                raise InterpreterError(
                    f"loop {plan.name!r} never ends: its WHILE condition is true and does not change in the loop"
                )
        for i in plan.body:
            run_layer(i)
        for i, kind, source, *_ in plan.outputs:
            if kind != "LAST_VALUE":
                collected[i].append(values[source])
        state = {out: values[nxt].to(state[out].dtype) for _, _, nxt, out in plan.recurrences}
        n += 1

    for i, kind, source, length_name, axis, out in plan.outputs:
        layer, dtype = layer_of(i)
        if kind == "LAST_VALUE":
            if source not in state:
                raise InterpreterError(
                    f"loop output layer {i} `{layer.name}` (LAST_VALUE) must read a recurrence of its loop"
                )
            result = state[source]
        else:
            result = _stack(plan, layer, collected[i], values[length_name], axis, kind == "REVERSE", n)
        values[out] = result.to(dtype)
        if observe is not None:
            observe(layer, [values[out]])
    for name in plan.locals:
        values.pop(name, None)


def _stack(plan, layer, items: list[torch.Tensor], length_value, axis: int, reverse: bool, trips: int):
    length = _scalar(length_value, f"length of loop output `{layer.name}`", plan)
    if length < trips:
        raise InterpreterError(
            f"loop output layer `{layer.name}` concatenates {trips} iterations into a length of {length}; "
            "its second input must be at least the trip count"
        )
    if items:
        element = items[0]
    else:
        shape = tuple(layer.get_input(0).shape)
        if any(d < 0 for d in shape):
            raise InterpreterError(
                f"loop output layer `{layer.name}`: the loop ran no iteration and the input's shape {shape} is dynamic"
            )
        element = torch.zeros(shape)
    items = items[::-1] if reverse else list(items)
    items += [torch.zeros_like(element)] * (length - trips)  # TensorRT leaves these undefined
    return torch.stack(items, dim=axis) if items else torch.zeros((*element.shape[:axis], 0, *element.shape[axis:]))
