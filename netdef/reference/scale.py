"""IScaleLayer semantics: (x * scale + shift) ** power, uniform, per channel or per element."""

from __future__ import annotations

import torch

from netdef.reference._registry import register
from netdef.reference._weights import weights_tensor


@register("SCALE")
def scale(layer, inputs):
    x = inputs[0]
    mode = layer.mode.name
    axis = layer.channel_axis
    if mode == "CHANNEL":
        view = [1] * x.dim()
        view[axis] = x.shape[axis]
    elif mode == "ELEMENTWISE":
        view = [1] * (axis) + list(x.shape[axis:])
    else:
        view = [1] * x.dim()
    shift, mul, power = (
        weights_tensor(w, layer, role)
        for w, role in ((layer.shift, "shift"), (layer.scale, "scale"), (layer.power, "power"))
    )
    if mode == "CHANNEL" and axis == 1 and power is None and x.dim() >= 2 and x.dtype == torch.float32:
        # batch_norm with mean 0, var 1 and eps 0 computes exactly x * scale + shift, in one fast pass
        stats = torch.zeros(x.shape[1]), torch.ones(x.shape[1])
        return [torch.nn.functional.batch_norm(x, *stats, mul, shift, False, 0.0, 0.0)]
    out = x
    if mul is not None:
        out = out * mul.reshape(view).to(x.dtype)
    if shift is not None:  # in place when ``out`` is new (torch's out-of-place broadcast add is slow)
        shift = shift.reshape(view).to(x.dtype)
        out = out.add_(shift) if out is not x and out.shape == x.shape else out + shift
    if power is not None:
        out = out ** power.reshape(view).to(x.dtype)
    return [out]
