"""Recurrent layers (torch.nn.LSTM / GRU / RNN) as TensorRT loops, one loop per layer.

Per layer, the input projection ``x @ W_ih^T + b`` of every time step is one matrix multiply outside the
loop (``b_hh`` is folded in where that is exact: all of it for LSTM and RNN, the reset and update gates'
part for GRU). The loop iterates over the projected steps, carries ``h`` (and ``c``) as recurrences and
multiplies by ``W_hh`` once per step. A bidirectional layer runs both directions in the same loop: the
backward one iterates in reverse and its outputs are written back in reverse, so step ``t`` of both
directions lines up as in torch. The trip count is the sequence length read from the input's shape, so
the sequence dim may be dynamic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netdef.functional._common import is_float, require_tensor
from netdef.functional.activation import relu, sigmoid, tanh
from netdef.functional.creation import zeros
from netdef.functional.linear import linear
from netdef.functional.loop import Loop
from netdef.functional.registry import register_op
from netdef.functional.shape import cat, split, squeeze, stack, transpose, unsqueeze
from netdef.tensor import Tensor

#: gates per mode, in torch's weight order (LSTM: i, f, g, o; GRU: r, z, n)
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}

#: per layer and direction (layer-major, forward first): (weight_ih, weight_hh, bias_ih or None, bias_hh or None)
Weights = Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]


_LAYERS = (
    "IConstantLayer",
    "IMatrixMultiplyLayer",
    "IElementWiseLayer",
    "IActivationLayer",
    "ISliceLayer",
    "IShuffleLayer",
    "IConcatenationLayer",
    "IShapeLayer",
    "ITripLimitLayer",
    "IIteratorLayer",
    "IRecurrenceLayer",
    "ILoopOutputLayer",
    "IUnsqueezeLayer",
)
_LIMITS = "inference only (dropout ignored); no LSTM projections (proj_size)"


def _zeros(like: Tensor, hidden: int) -> Tensor:
    """Zeros of shape (batch, hidden), batch being dim 1 of the time-major ``like`` (it may be dynamic)."""
    return zeros(like.shape[1], hidden, dtype=like.dtype)


def _cell(mode: str, x_t: Tensor, h: Tensor, c: Tensor | None, w_hh: np.ndarray, b_hn, hidden: int):
    """One time step: (h', c') from the projected input ``x_t`` and the state."""
    if mode == "GRU":
        gh = linear(h, w_hh, b_hn)
        xr, xz, xn = split(x_t, hidden, -1)
        hr, hz, hn = split(gh, hidden, -1)
        r = sigmoid(xr + hr)
        z = sigmoid(xz + hz)
        n = tanh(xn + r * hn)
        return n + z * (h - n), None
    gates = x_t + linear(h, w_hh)
    if mode == "LSTM":
        i, f, g, o = split(gates, hidden, -1)
        c_next = sigmoid(f) * c + sigmoid(i) * tanh(g)
        return sigmoid(o) * tanh(c_next), c_next
    return (tanh(gates) if mode == "RNN_TANH" else relu(gates)), None


def _projection_bias(mode: str, b_ih, b_hh, rows: int, hidden: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(bias of the input projection, bias left inside the loop: GRU's b_hn, zero-padded to 3*hidden)."""
    if b_ih is None and b_hh is None:
        return None, None
    b_ih = np.zeros(rows, np.float32) if b_ih is None else np.asarray(b_ih, np.float32)
    b_hh = np.zeros(rows, np.float32) if b_hh is None else np.asarray(b_hh, np.float32)
    if mode != "GRU":
        return b_ih + b_hh, None
    folded = b_ih.copy()
    folded[: 2 * hidden] += b_hh[: 2 * hidden]
    inner = np.zeros(rows, np.float32)
    inner[2 * hidden :] = b_hh[2 * hidden :]
    return folded, inner


def _check_weights(ctx, op: str, weights, mode: str, features: int, hidden: int, num_layers: int, dirs: int):
    """Every weight's shape, up front, named as torch's state_dict names it (weight_hh_l1_reverse...)."""
    if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
        raise ctx.error(op, f"hidden_size must be a positive int, got {hidden!r}")
    if len(weights) != num_layers * dirs:
        raise ctx.error(
            op,
            f"expected {num_layers * dirs} weight sets (num_layers={num_layers} x {dirs} direction(s), each "
            f"(weight_ih, weight_hh, bias_ih, bias_hh)), got {len(weights)}",
        )
    rows = GATES[mode] * hidden
    for index, entry in enumerate(weights):
        layer, d = divmod(index, dirs)
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        if not isinstance(entry, (tuple, list)) or len(entry) != 4:
            raise ctx.error(
                op, f"weight set {index} (layer {layer}{', reverse' if d else ''}) must be (weight_ih, weight_hh, "
                "bias_ih, bias_hh) with None for a missing bias"
            )  # fmt: skip
        inputs = features if layer == 0 else hidden * dirs
        expected = {
            "weight_ih": (rows, inputs),
            "weight_hh": (rows, hidden),
            "bias_ih": (rows,),
            "bias_hh": (rows,),
        }
        for (name, want), value in zip(expected.items(), entry):
            if value is None and name.startswith("bias"):
                continue
            got = np.shape(value)
            if len(got) != len(want) or any(w >= 0 and g != w for g, w in zip(got, want)):
                shown = "(" + ", ".join("?" if w < 0 else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"
                source = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
                why = f"{GATES[mode]} gate(s) x hidden_size={hidden}" + (
                    f", by {inputs} input features" if name == "weight_ih" and inputs >= 0 else ""
                )
                raise ctx.error(
                    op,
                    f"{name}{suffix} has shape {got}, expected {shown} ({why}); pass the weights in torch's order "
                    f"and shapes, as torch.nn.{source}'s state_dict holds them",
                )


def recurrent(
    mode: str,
    input: Tensor,
    hx: Tensor | None,
    cx: Tensor | None,
    weights: Weights,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """torch's LSTM/GRU/RNN forward: ``(output, h_n, c_n or None)`` for a batched ``input``.

    ``mode`` is one of LSTM, GRU, RNN_TANH, RNN_RELU. ``input`` is (L, N, H_in), or (N, L, H_in) with
    ``batch_first``; ``hx``/``cx`` are (num_layers * D, N, hidden_size) or None (zeros).
    """
    op = mode.lower()
    input = require_tensor(op, input)
    ctx = input.ctx
    if mode not in GATES:
        raise ctx.error(op, f"mode must be one of {sorted(GATES)}, got {mode!r}")
    dirs = 2 if bidirectional else 1
    if input.ndim != 3 or not is_float(input):
        raise ctx.error(op, f"expected a float input of rank 3 (sequence, batch, features), got {input.static_shape}")
    _check_weights(ctx, op, weights, mode, input.static_shape[-1], hidden_size, num_layers, dirs)
    x = transpose(input, 0, 1) if batch_first else input  # time-major from here on
    states = {}
    for what, t in (("h0", hx), ("c0", cx)):
        if t is None:
            continue
        t = require_tensor(op, t, what)
        if t.ndim != 3 or t.static_shape[0] != num_layers * dirs or t.static_shape[2] != hidden_size:
            raise ctx.error(
                op, f"{what} must have shape ({num_layers * dirs}, batch, {hidden_size}), got {t.static_shape}"
            )
        if t.dtype != input.dtype:
            raise ctx.error(op, f"{what} is {t.dtype.name} but the input is {input.dtype.name}")
        tb, xb = t.static_shape[1], x.static_shape[1]
        if tb >= 0 and xb >= 0 and tb != xb:
            raise ctx.error(op, f"{what} has a batch of {tb}, the input {xb} (shape {input.static_shape})")
        states[what] = t
    steps = x.shape[0]  # an int, or a symbolic size read from the input's shape at run time
    h_n, c_n = [], []
    for layer in range(num_layers):
        loop = Loop(steps, f"l{layer}")
        outputs = []
        for d in range(dirs):
            index = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh = weights[index]
            rows = GATES[mode] * hidden_size
            bias, b_hn = _projection_bias(mode, b_ih, b_hh, rows, hidden_size)
            projected = linear(x, w_ih, bias)  # every time step at once, outside the loop
            x_t = loop.add_iterator(projected, 0, reverse=d == 1)
            h0 = states["h0"][index] if "h0" in states else _zeros(projected, hidden_size)
            h = loop.add_recurrence(h0)
            c = None
            if mode == "LSTM":
                c0 = states["c0"][index] if "c0" in states else _zeros(projected, hidden_size)
                c = loop.add_recurrence(c0)
            h_next, c_next = _cell(mode, x_t, h.value, None if c is None else c.value, w_hh, b_hn, hidden_size)
            h.set_next(h_next)
            outputs.append(loop.add_loop_output(h_next, "reverse" if d == 1 else "concatenate"))
            h_n.append(loop.add_loop_output(h.value, "last_value"))
            if c is not None:
                c.set_next(c_next)
                c_n.append(loop.add_loop_output(c.value, "last_value"))
        x = outputs[0] if dirs == 1 else cat(outputs, -1)
    output = transpose(x, 0, 1) if batch_first else x
    return output, stack(h_n, 0), (stack(c_n, 0) if c_n else None)


def _unbatched(mode, input, hx, cx, weights, hidden_size, num_layers, bidirectional, batch_first):
    """``recurrent`` for an input of rank 2 (L, H_in) and states of rank 2: a batch of one, removed after."""
    one = [None if t is None else unsqueeze(t, 1) for t in (hx, cx)]
    out, h, c = recurrent(mode, unsqueeze(input, 1), *one, weights, hidden_size, num_layers, bidirectional, False)
    return squeeze(out, 1), squeeze(h, 1), (None if c is None else squeeze(c, 1))


def _dispatch(mode, input, hx, cx, weights, hidden_size, num_layers, bidirectional, batch_first):
    input = require_tensor(mode.lower(), input)
    if input.ndim == 2:
        return _unbatched(mode, input, hx, cx, weights, hidden_size, num_layers, bidirectional, batch_first)
    return recurrent(mode, input, hx, cx, weights, hidden_size, num_layers, bidirectional, batch_first)


@register_op(*_LAYERS, torch="torch.nn.LSTM", limits=_LIMITS)
def lstm(
    input: Tensor,
    hx: tuple[Tensor, Tensor] | None,
    weights: Weights,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """torch.nn.LSTM's forward: ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` or None (zeros)."""
    h0, c0 = (None, None) if hx is None else hx
    out, h, c = _dispatch("LSTM", input, h0, c0, weights, hidden_size, num_layers, bidirectional, batch_first)
    return out, (h, c)


@register_op(*_LAYERS, torch="torch.nn.GRU", limits=_LIMITS)
def gru(
    input: Tensor,
    hx: Tensor | None,
    weights: Weights,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
) -> tuple[Tensor, Tensor]:
    """torch.nn.GRU's forward: ``(output, h_n)``; ``hx`` is ``h_0`` or None (zeros)."""
    out, h, _ = _dispatch("GRU", input, hx, None, weights, hidden_size, num_layers, bidirectional, batch_first)
    return out, h


@register_op(*_LAYERS, torch="torch.nn.RNN", limits=_LIMITS)
def rnn(
    input: Tensor,
    hx: Tensor | None,
    weights: Weights,
    hidden_size: int,
    num_layers: int = 1,
    nonlinearity: str = "tanh",
    bidirectional: bool = False,
    batch_first: bool = False,
) -> tuple[Tensor, Tensor]:
    """torch.nn.RNN's forward (Elman, ``tanh`` or ``relu``): ``(output, h_n)``; ``hx`` is ``h_0`` or None."""
    if nonlinearity not in ("tanh", "relu"):
        raise require_tensor("rnn", input).ctx.error(
            "rnn", f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
        )
    mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
    out, h, _ = _dispatch(mode, input, hx, None, weights, hidden_size, num_layers, bidirectional, batch_first)
    return out, h
