"""Sequential, ModuleList and ModuleDict: indexing, nesting, state_dict keys identical to torch's."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

import netdef
from netdef import nn


def keys_and_shapes(module) -> list[tuple[str, tuple[int, ...]]]:
    if isinstance(module, torch.nn.Module):
        return [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
    return [(k, p.shape) for k, p in module.state_dict().items()]


def test_sequential_keys_and_parity(parity):
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 2)
    )
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))
    assert keys_and_shapes(model) == keys_and_shapes(ref)
    parity.check(model, ref, torch.randn(2, 3, 6, 6), build=True)


def test_sequential_indexing_like_torch():
    mods = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Tanh()]
    seq = nn.Sequential(*mods)
    assert len(seq) == 4
    assert seq[0] is mods[0] and seq[-1] is mods[-1] and seq[2] is mods[2]
    assert list(seq) == mods
    with pytest.raises(IndexError):
        seq[4]
    ref = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 4), torch.nn.Tanh())
    for sl in (slice(1, None), slice(None, 2), slice(2, 4), slice(None, None, 2)):
        part = seq[sl]
        assert isinstance(part, nn.Sequential)
        assert list(part) == mods[sl]
        # torch keeps the children's names in a slice, so their state_dict keys stay the same
        assert keys_and_shapes(part) == keys_and_shapes(ref[sl])


def test_sequential_ordered_dict_names_and_append():
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU()), ("fc", nn.Linear(2, 3))]))
    ref = torch.nn.Sequential(
        OrderedDict([("conv", torch.nn.Conv2d(1, 2, 3)), ("act", torch.nn.ReLU()), ("fc", torch.nn.Linear(2, 3))])
    )
    assert keys_and_shapes(seq) == keys_and_shapes(ref)
    seq.append(nn.Linear(3, 1))
    ref.append(torch.nn.Linear(3, 1))
    assert keys_and_shapes(seq) == keys_and_shapes(ref)


def test_nested_sequential_keys_parity_and_layer_names(parity):
    def block(cls_seq, cls_conv, cls_bn, cls_relu, c):
        return cls_seq(cls_conv(c, c, 3, padding=1, bias=False), cls_bn(c), cls_relu())

    ref = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 1),
        torch.nn.Sequential(block(torch.nn.Sequential, torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.ReLU, 4)),
        block(torch.nn.Sequential, torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.ReLU, 4),
    )
    model = nn.Sequential(
        nn.Conv2d(2, 4, 1),
        nn.Sequential(block(nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, 4)),
        block(nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, 4),
    )
    assert keys_and_shapes(model) == keys_and_shapes(ref)
    assert "1.0.1.running_var" in model.state_dict()
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
    net = parity.check(model, ref, torch.randn(1, 2, 5, 5))
    names = [r["name"] for r in net.layers()]
    # each batch norm folds into the conv before it, so the conv layers hold both
    assert names == ["0/conv", "1.0.0/conv", "1.0.2/relu", "2.0/conv", "2.2/relu"]
    unfolded = netdef.define(model, {"x": netdef.Input((1, 2, 5, 5))}, fold=False)
    assert [r["name"] for r in unfolded.layers()] == [
        "0/conv", "1.0.0/conv", "1.0.1/batch_norm", "1.0.2/relu", "2.0/conv", "2.1/batch_norm", "2.2/relu"
    ]  # fmt: skip


class _Stack(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = blocks

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class _TorchStack(torch.nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = blocks

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def test_module_list_keys_and_parity(parity):
    ref = _TorchStack(torch.nn.ModuleList([torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 3)]))
    model = _Stack(nn.ModuleList([nn.Linear(4, 8), nn.GELU()]).extend([nn.Linear(8, 3)]))
    assert keys_and_shapes(model) == keys_and_shapes(ref)
    assert list(model.state_dict()) == ["blocks.0.weight", "blocks.0.bias", "blocks.2.weight", "blocks.2.bias"]
    net = parity.check(model, ref, torch.randn(5, 4), build=True)
    assert [r["name"] for r in net.layers()][:3] == [
        "blocks.0/linear_weight",
        "blocks.0/matmul",
        "blocks.0/linear_bias",
    ]


def test_module_list_indexing_like_torch():
    mods = [nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3)]
    ml = nn.ModuleList(mods)
    ref = torch.nn.ModuleList([torch.nn.Linear(1, 2), torch.nn.ReLU(), torch.nn.Linear(2, 3)])
    assert len(ml) == 3 and ml[0] is mods[0] and ml[-1] is mods[2] and list(ml) == mods
    part = ml[1:]
    assert isinstance(part, nn.ModuleList) and list(part) == mods[1:]
    # torch renumbers a ModuleList slice from 0
    assert keys_and_shapes(part) == keys_and_shapes(ref[1:])
    ml.append(nn.Linear(3, 1))
    ref.append(torch.nn.Linear(3, 1))
    assert keys_and_shapes(ml) == keys_and_shapes(ref)


class _Heads(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.trunk = nn.Linear(6, 6)
        self.heads = heads

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}


class _TorchHeads(torch.nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.trunk = torch.nn.Linear(6, 6)
        self.heads = heads

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}


def test_module_dict_keys_and_parity(parity):
    ref = _TorchHeads(
        torch.nn.ModuleDict(
            {"cls": torch.nn.Linear(6, 3), "box": torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Sigmoid())}
        )
    )
    model = _Heads(nn.ModuleDict({"cls": nn.Linear(6, 3), "box": nn.Sequential(nn.Linear(6, 4), nn.Sigmoid())}))
    assert keys_and_shapes(model) == keys_and_shapes(ref)
    model.load_weights(parity.torch_weights(ref))
    x = torch.randn(2, 6)
    net = netdef.define(model, {"x": netdef.Input((2, 6))})
    assert net.outputs == ["cls", "box"]
    got = netdef.reference.run(net, {"x": x.numpy()})
    with torch.no_grad():
        want = ref(x)
    for name in ("cls", "box"):
        parity.assert_close(got[name], want[name])
    assert {r["name"].split("/")[0] for r in net.layers()} == {"trunk", "heads.cls", "heads.box.0", "heads.box.1"}


def test_module_dict_mapping_api():
    a, b = nn.Linear(1, 1), nn.ReLU()
    md = nn.ModuleDict({"a": a})
    md["b"] = b
    assert len(md) == 2 and "a" in md and "c" not in md
    assert list(md) == ["a", "b"] and list(md.keys()) == ["a", "b"]
    assert list(md.values()) == [a, b] and list(md.items()) == [("a", a), ("b", b)]
    assert md["b"] is b
    with pytest.raises(KeyError):
        md["c"]
