"""Shape-moving layers: IShuffleLayer (transpose, reshape, transpose), IUnsqueezeLayer, ISqueezeLayer."""

from __future__ import annotations

from netdef.errors import InterpreterError
from netdef.reference._registry import Handler, register, register_specialized


@register("SHUFFLE")
def shuffle(layer, inputs):
    x = inputs[0]
    rank = x.dim()
    if rank:  # a 0-d tensor has nothing to transpose (torch's permute needs at least one dim)
        perm = _tuple(layer.first_transpose)[:rank]
        if perm != _IDENTITY[rank]:
            x = x.permute(perm)
    if len(inputs) > 1 and inputs[1] is not None:
        dims = [int(v) for v in inputs[1].tolist()]
    else:
        try:
            dims = layer.reshape_dims
        except ValueError:  # no reshape set (some TensorRT versions raise, others return None)
            dims = None
        dims = None if dims is None else list(dims)
    if dims is not None and len(dims) and (dims != list(x.shape)):
        if layer.zero_is_placeholder:
            if any(d == 0 and i >= x.dim() for i, d in enumerate(dims)):
                raise InterpreterError(f"reshape dims {dims} copy a dim the input {tuple(x.shape)} does not have")
            dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        x = x.reshape(dims)
    elif dims is not None and len(dims) == 0:
        x = x.reshape(())
    rank = x.dim()
    if not rank:
        return [x]
    perm = _tuple(layer.second_transpose)[:rank]
    return [x if perm == _IDENTITY[rank] else x.permute(perm)]


@register_specialized("SHUFFLE")
def shuffle_specialized(layer) -> Handler | None:
    """A shuffle with static reshape dims: its permutations and dims read once, identities dropped."""
    if layer.num_inputs > 1 and layer.get_input(1) is not None:
        return None
    rank = len(layer.get_input(0).shape)
    try:
        dims = layer.reshape_dims
    except ValueError:
        dims = None
    dims = None if dims is None else tuple(dims)
    if dims is not None and layer.zero_is_placeholder and 0 in dims:
        return None
    out_rank = rank if dims is None else len(dims)
    first = _tuple(layer.first_transpose)[:rank] if rank else _IDENTITY[0]
    second = _tuple(layer.second_transpose)[:out_rank] if out_rank else _IDENTITY[0]
    first = None if first == _IDENTITY[rank] else first
    second = None if second == _IDENTITY[out_rank] else second

    def run(layer, inputs):
        x = inputs[0]
        if first is not None:
            x = x.permute(first)
        if dims is not None:
            x = x.reshape(dims)
        return [x if second is None else x.permute(second)]

    return run


#: rank -> the identity permutation (TensorRT's Permutation holds 8 entries)
_IDENTITY = {n: tuple(range(n)) for n in range(9)}


def _tuple(perm) -> tuple[int, ...]:
    """A Permutation as a tuple (a planned network's layers hand out tuples already)."""
    return perm if isinstance(perm, tuple) else tuple(perm)


@register("UNSQUEEZE")
def unsqueeze(layer, inputs):
    x, axes = inputs
    rank = x.dim() + axes.numel()
    for a in sorted(int(v) % rank for v in axes.tolist()):
        x = x.unsqueeze(a)
    return [x]


@register("SQUEEZE")
def squeeze(layer, inputs):
    x = inputs[0]
    if len(inputs) > 1 and inputs[1] is not None:
        dims = sorted((int(v) % x.dim() for v in inputs[1].tolist()), reverse=True)
    else:  # no axes: every dim that is statically 1 in the network definition (dynamic dims stay)
        declared = tuple(layer.get_input(0).shape)
        dims = [i for i in reversed(range(len(declared))) if declared[i] == 1]
    for a in dims:
        x = x.squeeze(a)
    return [x]
