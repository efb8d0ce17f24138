"""The classic torchvision CNNs of the zoo carry torchvision's exact state_dict: names, shapes, sizes.

Expected key sets are written out here from torchvision's naming (not derived from the models under
test), and parameter counts are the ones torchvision publishes for its ImageNet weights, so a torchvision
checkpoint binds to the netdef model and loads into the twin unchanged.
"""

from __future__ import annotations

import importlib

import pytest
import torch

import netdef
from netdef.zoo import zoo


def _bn(prefix: str) -> list[str]:
    return [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]


def _conv_bn(prefix: str, conv: str = "conv", bn: str = "bn") -> list[str]:
    return [f"{prefix}.{conv}.weight", *_bn(f"{prefix}.{bn}")]


def resnet_keys(blocks: list[int], bottleneck: bool) -> set[str]:
    keys = ["conv1.weight", *_bn("bn1"), "fc.weight", "fc.bias"]
    for stage, n in enumerate(blocks, start=1):
        for b in range(n):
            p = f"layer{stage}.{b}"
            for c in range(1, 4 if bottleneck else 3):
                keys += [f"{p}.conv{c}.weight", *_bn(f"{p}.bn{c}")]
            if b == 0 and (stage > 1 or bottleneck):
                keys += [f"{p}.downsample.0.weight", *_bn(f"{p}.downsample.1")]
    return set(keys)


def vgg16_bn_keys() -> set[str]:
    keys = []
    for i in (0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40):  # conv, then its BatchNorm at i + 1
        keys += [f"features.{i}.weight", f"features.{i}.bias", *_bn(f"features.{i + 1}")]
    return set(keys + [f"classifier.{i}.{k}" for i in (0, 3, 6) for k in ("weight", "bias")])


def alexnet_keys() -> set[str]:
    convs = [f"features.{i}.{k}" for i in (0, 3, 6, 8, 10) for k in ("weight", "bias")]
    return set(convs + [f"classifier.{i}.{k}" for i in (1, 4, 6) for k in ("weight", "bias")])


def squeezenet1_1_keys() -> set[str]:
    keys = ["features.0.weight", "features.0.bias", "classifier.1.weight", "classifier.1.bias"]
    for i in (3, 4, 6, 7, 9, 10, 11, 12):
        keys += [
            f"features.{i}.{conv}.{k}" for conv in ("squeeze", "expand1x1", "expand3x3") for k in ("weight", "bias")
        ]
    return set(keys)


def densenet121_keys() -> set[str]:
    keys = ["features.conv0.weight", *_bn("features.norm0"), *_bn("features.norm5"), "classifier.weight"]
    keys.append("classifier.bias")
    for block, layers in enumerate((6, 12, 24, 16), start=1):
        for layer in range(1, layers + 1):
            p = f"features.denseblock{block}.denselayer{layer}"
            keys += [*_bn(f"{p}.norm1"), f"{p}.conv1.weight", *_bn(f"{p}.norm2"), f"{p}.conv2.weight"]
        if block < 4:
            keys += [*_bn(f"features.transition{block}.norm"), f"features.transition{block}.conv.weight"]
    return set(keys)


def googlenet_keys(aux_logits: bool) -> set[str]:
    keys = [*_conv_bn("conv1"), *_conv_bn("conv2"), *_conv_bn("conv3"), "fc.weight", "fc.bias"]
    for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
        p = f"inception{name}"
        keys += _conv_bn(f"{p}.branch1")
        keys += [*_conv_bn(f"{p}.branch2.0"), *_conv_bn(f"{p}.branch2.1")]
        keys += [*_conv_bn(f"{p}.branch3.0"), *_conv_bn(f"{p}.branch3.1")]
        keys += _conv_bn(f"{p}.branch4.1")  # branch4.0 is the max pool
    if aux_logits:
        for aux in ("aux1", "aux2"):
            keys += [
                *_conv_bn(f"{aux}.conv"),
                *(f"{aux}.{fc}.{k}" for fc in ("fc1", "fc2") for k in ("weight", "bias")),
            ]
    return set(keys)


def regnet_y_400mf_keys() -> set[str]:
    keys = ["stem.0.weight", *_bn("stem.1"), "fc.weight", "fc.bias"]
    for stage, depth in enumerate((1, 3, 6, 6), start=1):
        for i in range(depth):
            p = f"trunk_output.block{stage}.block{stage}-{i}"
            if i == 0:
                keys += [f"{p}.proj.0.weight", *_bn(f"{p}.proj.1")]
            for part in ("a", "b", "c"):
                keys += [f"{p}.f.{part}.0.weight", *_bn(f"{p}.f.{part}.1")]
            keys += [f"{p}.f.se.{fc}.{k}" for fc in ("fc1", "fc2") for k in ("weight", "bias")]
    return set(keys)


#: name -> (expected keys, torchvision's published parameter count, a few (key, shape) facts)
EXPECTED = {
    "resnet18": (resnet_keys([2, 2, 2, 2], False), 11_689_512, {"layer2.0.downsample.0.weight": (128, 64, 1, 1)}),
    "resnet34": (resnet_keys([3, 4, 6, 3], False), 21_797_672, {"layer4.2.conv2.weight": (512, 512, 3, 3)}),
    "resnet50": (
        resnet_keys([3, 4, 6, 3], True),
        25_557_032,
        {"layer1.0.downsample.0.weight": (256, 64, 1, 1), "fc.weight": (1000, 2048)},
    ),
    "resnet101": (resnet_keys([3, 4, 23, 3], True), 44_549_160, {"layer3.22.conv3.weight": (1024, 256, 1, 1)}),
    "vgg16_bn": (vgg16_bn_keys(), 138_365_992, {"classifier.0.weight": (4096, 25088)}),
    "alexnet": (
        alexnet_keys(),
        61_100_840,
        {"features.0.weight": (64, 3, 11, 11), "classifier.1.weight": (4096, 9216)},
    ),
    "squeezenet1_1": (squeezenet1_1_keys(), 1_235_496, {"features.12.expand3x3.weight": (256, 64, 3, 3)}),
    "densenet121": (
        densenet121_keys(),
        7_978_856,
        {"features.denseblock4.denselayer16.conv1.weight": (128, 992, 1, 1), "classifier.weight": (1000, 1024)},
    ),
    # torchvision's "5x5" branch has a 3x3 kernel; its published count is without the aux classifiers
    "googlenet": (googlenet_keys(False), 6_624_904, {"inception3a.branch3.1.conv.weight": (32, 16, 3, 3)}),
    "regnet_y_400mf": (
        regnet_y_400mf_keys(),
        4_344_144,
        {"trunk_output.block1.block1-0.f.b.0.weight": (48, 8, 3, 3), "fc.weight": (1000, 440)},
    ),
}
#: models too big to initialize for a naming test: their twins are built on the meta device
META = {"vgg16_bn", "alexnet", "resnet101"}


def _twin(name: str, **kwargs) -> torch.nn.Module:
    entry = zoo.get(name)
    cls = getattr(importlib.import_module(f"netdef.zoo.twins.{entry.module}"), entry.cls)
    if name in META:
        with torch.device("meta"):
            return cls(**entry.kwargs, **kwargs)
    return cls(**entry.kwargs, **kwargs)


def _netdef(name: str, **kwargs):
    entry = zoo.get(name)
    return getattr(importlib.import_module(f"netdef.zoo.{entry.module}"), entry.cls)(**entry.kwargs, **kwargs)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_state_dict_is_torchvisions(name):
    keys, count, shapes = EXPECTED[name]
    extra = {"aux_logits": False} if name == "googlenet" else {}
    twin = _twin(name, **extra).state_dict()
    model = _netdef(name, **extra)
    ours = model.state_dict()
    assert set(twin) == keys, f"twin: missing {sorted(keys - set(twin))[:5]}, unexpected {sorted(set(twin) - keys)[:5]}"
    assert set(ours) == keys, (
        f"netdef: missing {sorted(keys - set(ours))[:5]}, unexpected {sorted(set(ours) - keys)[:5]}"
    )
    assert {k: tuple(v.shape) for k, v in twin.items()} == {k: p.shape for k, p in ours.items()}
    assert sum(p.numel for _, p in model.named_parameters()) == count
    for key, shape in shapes.items():
        assert ours[key].shape == shape, key


def test_googlenet_keeps_the_aux_classifiers_of_torchvisions_checkpoint():
    """torchvision's published GoogLeNet checkpoint holds aux1/aux2 (the class default aux_logits=True)."""
    keys = googlenet_keys(True)
    assert set(_twin("googlenet").state_dict()) == keys
    assert set(_netdef("googlenet").state_dict()) == keys


def _old_densenet_checkpoint(state: dict) -> dict:
    """``state`` as torchvision's published DenseNet checkpoints hold it: saved before torch 0.4.1, so no
    ``num_batches_tracked``, and with the dense layers' old names ('norm.1' for today's 'norm1')."""
    old = {}
    for key, value in state.items():
        if key.endswith(".num_batches_tracked"):
            continue
        if ".denselayer" in key:
            for part in ("norm1", "norm2", "conv1", "conv2"):
                key = key.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
        old[key] = value
    return old


def test_torchvisions_old_densenet_checkpoint_binds():
    from netdef.zoo.twins.densenet import rename_checkpoint_key

    twin = _twin("densenet121")
    old = _old_densenet_checkpoint(twin.state_dict())
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    assert "features.transition1.norm.weight" in old  # not a dense layer: never renamed
    renamed = {rename_checkpoint_key(k): v for k, v in old.items()}
    model = _netdef("densenet121")
    report = model.load_weights({k: v.numpy() for k, v in renamed.items()}, strict=True)
    assert not report.missing and not report.unexpected
    assert model.features.norm0.num_batches_tracked.data == 0  # what torch gives a pre-0.4.1 checkpoint
    twin.load_state_dict(renamed, strict=False)  # the twin too (torch fills num_batches_tracked alike)
    del renamed["features.norm5.running_var"]  # any other entry is still required
    with pytest.raises(netdef.BindError, match=r"missing \(1\):\n  features\.norm5\.running_var"):
        _netdef("densenet121").load_weights({k: v.numpy() for k, v in renamed.items()}, strict=True)


def test_regnet_widths_are_torchvisions():
    """The netdef RegNet computes its stage widths without torch; they equal the twin's torch computation."""
    from netdef.zoo.regnet import CONFIGS, BlockParams
    from netdef.zoo.twins.regnet import block_params

    for name, config in CONFIGS.items():
        ours = BlockParams.from_init_params(*config)
        assert (ours.depths, ours.widths, ours.group_widths) == block_params(*config)[:3], name
    assert BlockParams.from_init_params(*CONFIGS["regnet_y_400mf"]).widths == [48, 104, 208, 440]
