"""Samples of attention and the recurrent ops, whose torch side is a module (netdef/functional/attention.py, rnn.py).

A module-pair sample holds a torch module (weights drawn from the samples' generator) and passes the same
weights to the netdef op; torch's side calls the module.
"""

from __future__ import annotations

import numpy as np
import torch

from netdef.opsamples import E, S, bools, randn, samples


def _module(cls, *args, **kwargs) -> torch.nn.Module:
    """A torch module in eval mode with every parameter redrawn from the samples' generator."""
    module = cls(*args, **kwargs).eval()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(randn(*p.shape, scale=0.5))
    return module


@samples("scaled_dot_product_attention")
def _sdpa():
    q, k, v = randn(2, 3, 5, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 8)
    yield S(q, k, v)
    yield S(randn(2, 3, 5, 8), randn(2, 3, 5, 8), randn(2, 3, 5, 8), is_causal=True)
    yield S(q, k, v, attn_mask=bools(5, 6) | torch.eye(5, 6, dtype=torch.bool))
    yield S(q, k, v, randn(2, 1, 5, 6))  # a float mask, added
    yield S(q, k, v, scale=0.3)
    yield S(randn(1, 4, 5, 8), randn(1, 2, 6, 8), randn(1, 2, 6, 8), enable_gqa=True)
    yield (
        S(randn(2, 2, 5, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 4), is_causal=True)
        .dyn(0, 2)
        .dyn(0, 2, input=1)
        .dyn(0, 2, input=2)
    )


def _mha(embed: int, heads: int, batch_first: bool = False, bias: bool = True):
    """(torch module, netdef module bound to its weights)."""
    from netdef import nn

    ref = _module(torch.nn.MultiheadAttention, embed, heads, bias=bias, batch_first=batch_first)
    ours = nn.MultiheadAttention(embed, heads, bias=bias, batch_first=batch_first)
    ours.load_weights({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ref, ours


def _mha_sample(q, k, v, heads: int, batch_first: bool = False, bias: bool = True, **kwargs) -> E:
    ref, ours = _mha(q.shape[-1], heads, batch_first, bias)
    in_bias = None if ours.in_proj_bias is None else ours.in_proj_bias.data

    def call(op, q, k, v, *masks):
        named = dict(zip(kwargs.get("masks", ()), masks))
        flags = {n: f for n, f in kwargs.items() if n != "masks"}
        return op(q, k, v, heads, ours.in_proj_weight.data, in_bias, ours.out_proj, batch_first=batch_first,
                  **named, **flags)  # fmt: skip

    def torch_call(q, k, v, *masks):
        named = dict(zip(kwargs.get("masks", ()), masks))
        flags = {n: f for n, f in kwargs.items() if n != "masks"}
        return ref(q, k, v, **named, **flags)

    return call, torch_call


@samples("multi_head_attention_forward")
def _multi_head_attention():
    def sample(*tensors, heads, **kwargs):
        call, torch_call = _mha_sample(*tensors[:3], heads, **kwargs)
        return E(call, *tensors, ref=torch_call)

    x = randn(5, 2, 8)
    yield sample(x, x, x, heads=2)
    yield sample(randn(5, 2, 8), randn(6, 2, 8), randn(6, 2, 8), heads=4, need_weights=False)
    yield sample(randn(2, 5, 8), randn(2, 6, 8), randn(2, 6, 8), heads=2, batch_first=True,
                 average_attn_weights=False)  # fmt: skip
    yield sample(randn(5, 8), randn(6, 8), randn(6, 8), heads=2, bias=False)  # unbatched
    yield sample(x, x, x, torch.tensor([[False] * 4 + [True], [False] * 5]), heads=2, masks=("key_padding_mask",))
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    yield sample(x, x, x, causal, heads=2, masks=("attn_mask",), need_weights=False, is_causal=True)
    yield (
        sample(randn(4, 2, 8), randn(4, 2, 8), randn(4, 2, 8), heads=2).dyn(0, 1).dyn(0, 1, input=1).dyn(0, 1, input=2)
    )


def _flat(ref: torch.nn.Module) -> list[list[np.ndarray]]:
    """torch's recurrent weights per layer and direction (layer-major, forward first), as F.lstm/gru/rnn take them."""
    sd = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    out = []
    for layer in range(ref.num_layers):
        for suffix in ("", "_reverse")[: 2 if ref.bidirectional else 1]:
            out.append([sd.get(f"{k}_l{layer}{suffix}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")])
    return out


def _recurrent(cls, x, hx=(), **kwargs):
    hidden = kwargs.pop("hidden_size", 4)
    ref = _module(cls, x.shape[-1], hidden, **kwargs)
    weights = _flat(ref)
    options = {k: kwargs[k] for k in ("num_layers", "bidirectional", "batch_first", "nonlinearity") if k in kwargs}

    def call(op, x, *state):
        h = None if not state else (tuple(state) if len(state) == 2 else state[0])
        return op(x, h, weights, hidden, **options)

    def torch_call(x, *state):
        h = None if not state else (tuple(state) if len(state) == 2 else state[0])
        return ref(x, h)

    return E(call, x, *hx, ref=torch_call)


def _recurrent_samples(cls, states: int):
    def state(layers: int, batch: int) -> tuple:
        return tuple(randn(layers, batch, 4) for _ in range(states))

    yield _recurrent(cls, randn(5, 2, 3))
    yield _recurrent(cls, randn(2, 5, 3), num_layers=2, bidirectional=True, batch_first=True)
    yield _recurrent(cls, randn(5, 2, 3), state(1, 2))
    yield _recurrent(cls, randn(5, 2, 3), state(2, 2), num_layers=2, bias=False)
    yield _recurrent(cls, randn(5, 3))  # unbatched
    yield _recurrent(cls, randn(4, 2, 3), bidirectional=True).dyn(0, 1)


@samples("lstm")
def _lstm():
    yield from _recurrent_samples(torch.nn.LSTM, 2)


@samples("gru")
def _gru():
    yield from _recurrent_samples(torch.nn.GRU, 1)


@samples("rnn")
def _rnn():
    yield from _recurrent_samples(torch.nn.RNN, 1)
    yield _recurrent(torch.nn.RNN, randn(5, 2, 3), nonlinearity="relu")
