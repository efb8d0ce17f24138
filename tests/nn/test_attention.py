"""nn.MultiheadAttention against torch.nn.MultiheadAttention: batch_first both ways, masks, weights,
bias, unbatched inputs, fp16, dynamic shapes, state_dict names."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import nn

E, H = 16, 4


class _Call(nn.Module):
    """Calls ``attn(q, k, v, <masks by name>, **kwargs)``; returns every tensor of the result."""

    def __init__(self, attn, masks=(), **kwargs):
        super().__init__()
        self.attn, self.masks, self.kwargs = attn, masks, kwargs

    def forward(self, q, k, v, *masks):
        out, weights = self.attn(q, k, v, **dict(zip(self.masks, masks)), **self.kwargs)
        return (out,) if weights is None else (out, weights)


def _check(parity, ours, theirs, q, k, v, masks=None, precision="fp32", build=False, **kwargs):
    masks = masks or {}
    theirs.eval()
    report = ours.load_weights(parity.torch_weights(theirs))  # strict: torch's names, torch's shapes
    assert not report.missing and not report.unexpected
    with torch.no_grad():
        want = theirs(q, k, v, **masks, **kwargs)
    net = parity.define(_Call(ours, tuple(masks), **kwargs), q, k, v, *masks.values(), precision=precision)
    feeds = [q, k, v, *masks.values()]
    got = netdef.reference.run(net, {name: t.numpy() for name, t in zip(net.inputs, feeds)})  # q, k, v, x3...
    parity.assert_close(got["output0"], want[0], precision)
    if kwargs.get("need_weights", True):
        parity.assert_close(got["output1"], want[1], precision)
    else:
        assert "output1" not in got
    if build:
        parity.build(net)
    return net


def _inputs(batch_first, n=2, lq=5, lk=5, self_attention=True):
    def seq(length):
        return torch.randn(n, length, E) if batch_first else torch.randn(length, n, E)

    q = seq(lq)
    if self_attention:
        return q, q, q
    return q, seq(lk), seq(lk)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention(parity, batch_first, bias, need_weights):
    ours = nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    if bias:  # torch initializes the biases to zero: make them matter
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    build = batch_first and bias and not need_weights
    _check(parity, ours, theirs, *_inputs(batch_first), need_weights=need_weights, build=build)


@pytest.mark.parametrize("batch_first", [False, True])
def test_cross_attention_with_per_head_weights(parity, batch_first):
    q, k, v = _inputs(batch_first, n=3, lq=4, lk=7, self_attention=False)
    _check(
        parity,
        nn.MultiheadAttention(E, 2, batch_first=batch_first),
        torch.nn.MultiheadAttention(E, 2, batch_first=batch_first),
        q,
        k,
        v,
        average_attn_weights=False,
    )


def _padding(n=2, s=7, as_float=False):
    pad = torch.zeros(n, s, dtype=torch.bool)
    pad[0, -2:] = True  # the last two keys of sequence 0 are padding
    pad[1, 3] = True
    return torch.zeros(n, s).masked_fill(pad, float("-inf")) if as_float else pad


def _attn_mask(kind, lq=4, lk=7, n=2):
    shape = (lq, lk) if kind.endswith("2d") else (n * H, lq, lk)
    blocked = torch.rand(shape) > 0.7
    blocked[..., 0] = False  # every query keeps key 0
    if kind.startswith("bool"):
        return blocked
    return torch.randn(shape).masked_fill(blocked, float("-inf"))


MASKS = {
    "key_padding_mask-bool": lambda: {"key_padding_mask": _padding()},
    "key_padding_mask-float": lambda: {"key_padding_mask": _padding(as_float=True)},
    "attn_mask-bool-2d": lambda: {"attn_mask": _attn_mask("bool-2d")},
    "attn_mask-float-2d": lambda: {"attn_mask": _attn_mask("float-2d")},
    "attn_mask-bool-3d": lambda: {"attn_mask": _attn_mask("bool-3d")},
    "attn_mask-float-3d": lambda: {"attn_mask": _attn_mask("float-3d")},
    "both-bool": lambda: {"key_padding_mask": _padding(), "attn_mask": _attn_mask("bool-2d")},
    "both-float-3d": lambda: {"key_padding_mask": _padding(as_float=True), "attn_mask": _attn_mask("float-3d")},
}


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("name", list(MASKS))
def test_masks(parity, name, batch_first, need_weights):
    q, k, v = _inputs(batch_first, lq=4, lk=7, self_attention=False)
    _check(
        parity,
        nn.MultiheadAttention(E, H, batch_first=batch_first),
        torch.nn.MultiheadAttention(E, H, batch_first=batch_first),
        q,
        k,
        v,
        masks=MASKS[name](),
        need_weights=need_weights,
        build=name == "both-bool" and batch_first and not need_weights,
    )


def test_is_causal_is_a_hint_about_attn_mask(parity):
    q, k, v = _inputs(True, lq=6)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(6)
    _check(
        parity,
        nn.MultiheadAttention(E, H, batch_first=True),
        torch.nn.MultiheadAttention(E, H, batch_first=True),
        q,
        k,
        v,
        masks={"attn_mask": causal},
        is_causal=True,
        need_weights=False,
    )


@pytest.mark.parametrize("need_weights", [False, True])
def test_unbatched(parity, need_weights):
    q, k = torch.randn(5, E), torch.randn(6, E)
    mask = {"key_padding_mask": torch.tensor([False, False, True, False, False, True])}
    _check(
        parity,
        nn.MultiheadAttention(E, H),
        torch.nn.MultiheadAttention(E, H),
        q,
        k,
        k,
        masks=mask,
        need_weights=need_weights,
    )


@pytest.mark.parametrize("batch_first", [False, True])
def test_fp16(parity, batch_first):
    q, k, v = _inputs(batch_first, lq=4, lk=7, self_attention=False)
    _check(
        parity,
        nn.MultiheadAttention(E, H, batch_first=batch_first),
        torch.nn.MultiheadAttention(E, H, batch_first=batch_first),
        q,
        k,
        v,
        masks={"key_padding_mask": _padding()},
        precision="fp16",
        build=batch_first,
    )


def test_dynamic_batch_and_sequence(parity):
    ours, theirs = nn.MultiheadAttention(E, H, batch_first=True), torch.nn.MultiheadAttention(E, H, batch_first=True)
    ours.load_weights(parity.torch_weights(theirs.eval()))
    spec = netdef.Input((-1, -1, E), min=(1, 1, E), max=(4, 12, E))
    net = netdef.define(_Call(ours, need_weights=False), {"q": spec, "k": spec, "v": spec})
    for n, lq, lk in [(2, 5, 5), (1, 3, 9), (4, 12, 2)]:
        q, kv = torch.randn(n, lq, E), torch.randn(n, lk, E)
        with torch.no_grad():
            want = theirs(q, kv, kv, need_weights=False)[0]
        got = netdef.reference.run(net, {"q": q.numpy(), "k": kv.numpy(), "v": kv.numpy()})["output0"]
        parity.assert_close(got, want)
    parity.build(net)


@pytest.mark.parametrize("batch_first", [False, True])
def test_out_proj_multiplies_the_flattened_tokens(parity, batch_first):
    """out_proj is one 2-D (L * N, E) x (E, E) multiply, as in torch's forward (a 3-D one made TensorRT compile
    each encoder layer's layer norm as a kernel of its own); the output is back in the input's layout."""
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first)
    with torch.no_grad():
        theirs.out_proj.bias.normal_()
    net = _check(parity, ours, theirs, *_inputs(batch_first, n=3, lq=5), need_weights=False).network
    (out_proj,) = [net.get_layer(i) for i in range(net.num_layers) if net.get_layer(i).name.endswith("out_proj/matmul")]
    assert tuple(out_proj.get_input(0).shape) == (15, E)
    assert tuple(net.get_output(0).shape) == ((3, 5, E) if batch_first else (5, 3, E))


class _SelfCall(nn.Module):
    """Calls ``attn(x, x, x, **kwargs)``: one tensor as query, key and value (as ViT's encoder does)."""

    def __init__(self, attn, **kwargs):
        super().__init__()
        self.attn, self.kwargs = attn, kwargs

    def forward(self, x):
        out, weights = self.attn(x, x, x, **self.kwargs)
        return (out,) if weights is None else (out, weights)


@pytest.mark.parametrize(
    ("batch_first", "bias", "need_weights", "unbatched"),
    [(True, True, False, False), (False, True, True, False), (False, False, False, False), (True, True, True, True)],
)
def test_one_tensor_as_query_key_value_projects_once(parity, batch_first, bias, need_weights, unbatched):
    """Self-attention on one tensor multiplies it with all of in_proj at once, as torch's forward does
    (three projections compiled to three kernels, each ~130 KB of source in a TensorRT-RTX engine): matches
    torch, with two weight matrix multiplies (in_proj and out_proj) instead of four."""
    ours = nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first).eval()
    if bias:
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    ours.load_weights(parity.torch_weights(theirs))
    x = torch.randn(5, E) if unbatched else _inputs(batch_first, n=3)[0]
    with torch.no_grad():
        want = theirs(x, x, x, need_weights=need_weights)
    net = parity.define(_SelfCall(ours, need_weights=need_weights), x)
    got = netdef.reference.run(net, {"x": x.numpy()})
    parity.assert_close(got["output0"], want[0])
    if need_weights:
        parity.assert_close(got["output1"], want[1])
    layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    constants = {layer.get_output(0).name for layer in layers if layer.type.name == "CONSTANT"}
    projections = [
        layer for layer in layers if layer.type.name == "MATRIX_MULTIPLY" and layer.get_input(1).name in constants
    ]
    assert sorted(layer.get_input(1).shape[-2] for layer in projections) == [E, 3 * E]
    if batch_first and bias and not need_weights:
        parity.build(net)


def test_state_dict_names_match_torch():
    for bias in (True, False):
        ours, theirs = nn.MultiheadAttention(E, H, bias=bias), torch.nn.MultiheadAttention(E, H, bias=bias)
        want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert {k: p.shape for k, p in ours.state_dict().items()} == want
        assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kdim": 8}, r"kdim=8 / vdim=None differ from embed_dim=16; separate q/k/v projection weights"),
        ({"vdim": 12}, r"separate q/k/v projection weights"),
        ({"add_bias_kv": True}, r"add_bias_kv=True and add_zero_attn=True are not supported"),
        ({"add_zero_attn": True}, r"not supported"),
        ({"num_heads": 3}, r"embed_dim \(16\) must be a positive multiple of num_heads \(3\)"),
    ],
)
def test_unsupported_configurations(kwargs, match):
    args = {"embed_dim": E, "num_heads": H, **kwargs}
    with pytest.raises(netdef.EmitError, match=match):
        nn.MultiheadAttention(**args)


def _bound(**kwargs):
    m = nn.MultiheadAttention(E, H, **kwargs)
    m.load_weights({k: torch.randn(p.shape).numpy() for k, p in m.state_dict().items()})
    return m


@pytest.mark.parametrize(
    ("masks", "kwargs", "match"),
    [
        ({"attn_mask": (3, 7)}, {}, r"attn_mask should have shape \(4, 7\), got \(3, 7\)"),
        ({"attn_mask": (2, 4, 7)}, {}, r"attn_mask should have shape \(8, 4, 7\), got \(2, 4, 7\)"),
        ({"key_padding_mask": (2, 1, 7)}, {}, r"key_padding_mask must be \(N, S\)"),
        ({}, {"is_causal": True}, r"is_causal=True is a hint that attn_mask is the causal mask: pass attn_mask too"),
    ],
)
def test_mask_errors(masks, kwargs, match):
    inputs = {"q": netdef.Input((4, 2, E)), "k": netdef.Input((7, 2, E)), "v": netdef.Input((7, 2, E))}
    inputs.update({name: netdef.Input(shape, dtype="bool") for name, shape in masks.items()})
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Call(_bound(), tuple(masks), **kwargs), inputs)
