"""If-conditionals (IIfConditional): the condition, input and output layers, and lazy branches.

The output layer returns its true-branch or false-branch input as the condition says; the interpreter hands
it the tested condition as a last input. As in TensorRT, only the taken branch runs: ``plan_branches`` finds
the layers that read the conditional's inputs and whose every use leads into one branch input of its
output layers, and the interpreter skips them when the condition selects the other branch (so an untaken branch that would fail
on this input, e.g. a reshape that only fits the other case, does not stop the run).
"""

from __future__ import annotations

from collections import defaultdict

from netdef.reference._registry import register


@register("CONDITION")
def condition(layer, inputs):
    return []


@register("CONDITIONAL_INPUT")
def conditional_input(layer, inputs):
    return [inputs[0]]


@register("CONDITIONAL_OUTPUT")
def conditional_output(layer, inputs):
    if_true, if_false, condition = inputs
    return [if_true if bool(condition.reshape(-1)[0]) else if_false]


#: layer types never skipped: the conditional's own boundary layers and loops' (a loop runs whole)
_ALWAYS = {
    "CONDITION",
    "CONDITIONAL_INPUT",
    "CONDITIONAL_OUTPUT",
    "TRIP_LIMIT",
    "ITERATOR",
    "RECURRENCE",
    "LOOP_OUTPUT",
}


def plan_branches(
    layers: dict[int, object], kinds: dict[int, str], names: list[list[str | None]], keep: set[str]
) -> dict[int, list[tuple[str, bool]]]:
    """Layer index -> the (condition tensor, branch) pairs it runs under, for the layers of a branch.

    ``layers`` maps every index to its layer cast to its I*Layer class, ``kinds`` to its LayerType name;
    ``names`` are the layers' input
    tensor names (a conditional output's last one is its condition); tensors in ``keep`` (the network's
    outputs) are always computed.
    """
    outputs: dict[object, list[int]] = defaultdict(list)  # conditional -> its output layers
    inputs: dict[object, list[int]] = defaultdict(list)  # and its input layers
    for i, layer in layers.items():
        if kinds[i] == "CONDITIONAL_OUTPUT":
            outputs[layer.conditional].append(i)
        elif kinds[i] == "CONDITIONAL_INPUT":
            inputs[layer.conditional].append(i)
    if not outputs:
        return {}
    producer: dict[str, int] = {}
    users: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, layer in layers.items():
        for j in range(layer.num_outputs):
            producer[layer.get_output(j).name] = i
        for position, name in enumerate(names[i]):
            if name is not None:
                users[name].append((i, position))
    guards: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for handle, outs in outputs.items():
        condition = names[outs[0]][-1]
        # only layers that read the conditional's inputs: the others (constants, values computed outside,
        # perhaps outside an enclosing loop) run where they are, unguarded
        inside: set[int] = set()
        stack = list(inputs.get(handle, ()))
        while stack:
            i = stack.pop()
            for j in range(layers[i].num_outputs):
                for u, _ in users[layers[i].get_output(j).name]:
                    if u not in inside and kinds[u] not in _ALWAYS:
                        inside.add(u)
                        stack.append(u)
        for branch, position in ((True, 0), (False, 1)):
            sinks = {(o, position) for o in outs}
            candidates: set[int] = set()
            stack = [names[o][position] for o in outs]
            while stack:
                i = producer.get(stack.pop())
                if i is None or i in candidates or i not in inside:
                    continue
                candidates.add(i)
                stack.extend(n for n in names[i] if n is not None)
            exclusive: set[int] = set()
            changed = True
            while changed:  # a layer is in the branch when every use of every output is
                changed = False
                for i in candidates - exclusive:
                    outs_i = [layers[i].get_output(j).name for j in range(layers[i].num_outputs)]
                    if (
                        outs_i
                        and not any(n in keep for n in outs_i)
                        and all(users[n] and all(u in sinks or u[0] in exclusive for u in users[n]) for n in outs_i)
                    ):
                        exclusive.add(i)
                        changed = True
            for i in exclusive:
                guards[i].append((condition, branch))
    return dict(guards)
