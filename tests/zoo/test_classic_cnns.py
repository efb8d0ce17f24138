"""Options of the classic CNNs beyond the registry's defaults, checked against their torch twins."""

from __future__ import annotations

import numpy as np
import torch

import netdef
from netdef.zoo.googlenet import GoogLeNet
from netdef.zoo.twins.googlenet import GoogLeNet as TorchGoogLeNet


def test_googlenet_transform_input(parity):
    """transform_input=True (what torchvision's pretrained GoogLeNet uses) rescales each input channel."""
    twin = TorchGoogLeNet(num_classes=10, aux_logits=False, transform_input=True).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        untransformed = TorchGoogLeNet(num_classes=10, aux_logits=False).eval()
        untransformed.load_state_dict(twin.state_dict())
        assert not torch.allclose(untransformed(x), twin(x), atol=1e-3)  # the flag changes the result
    parity.check(GoogLeNet(num_classes=10, aux_logits=False, transform_input=True), twin, x)


def test_googlenet_aux_classifiers_emit_nothing():
    """aux_logits=True binds the aux weights but the eval-mode network has one output and no aux layers."""
    twin = TorchGoogLeNet(num_classes=10).eval()
    model = GoogLeNet(num_classes=10)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    net = netdef.define(model, {"x": netdef.Input((1, 3, 32, 32))})
    assert net.outputs == ["output"]
    assert not [row["name"] for row in net.layers() if row["name"].startswith("aux")]
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    got = netdef.reference.run(net, {"x": x})["output"]
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def _repvgg_twin(deploy: bool = False):
    from netdef.zoo.twins.repvgg import repvgg_a0

    torch.manual_seed(0)
    twin = repvgg_a0(num_classes=10, deploy=deploy).eval()
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # statistics and affines a trained network could have
            for t, lo, hi in (
                (m.running_mean, -0.2, 0.2),
                (m.running_var, 0.5, 1.5),
                (m.weight, 0.5, 1.5),
                (m.bias, -0.2, 0.2),
            ):
                t.data.uniform_(lo, hi)
    return twin


def _layer_types(net) -> list[str]:
    return [row["type"] for row in net.layers()]


def test_repvgg_names_are_the_original_repositorys():
    from netdef.zoo.repvgg import repvgg_a0

    keys = set(repvgg_a0(num_classes=10).state_dict())
    assert {"stage0.rbr_dense.conv.weight", "stage0.rbr_1x1.bn.running_var", "stage1.1.rbr_identity.weight"} <= keys
    assert not any(k.startswith("stage1.0.rbr_identity") for k in keys)  # a stride-2 block has no identity branch
    assert keys == set(_repvgg_twin().state_dict())
    deploy = set(repvgg_a0(num_classes=10, deploy=True).state_dict())
    assert deploy == set(_repvgg_twin(deploy=True).state_dict()) and "stage3.13.rbr_reparam.bias" in deploy


def test_repvgg_is_reparameterized_at_emission(parity):
    """Training-time weights emit one 3x3 conv per block; fused, unfused and deploy networks all match torch."""
    from netdef.zoo.repvgg import repvgg_a0
    from netdef.zoo.twins.repvgg import deploy_state_dict

    twin = _repvgg_twin()
    x = torch.randn(1, 3, 64, 64)
    fused = parity.check(repvgg_a0(num_classes=10), twin, x)
    assert _layer_types(fused).count("CONVOLUTION") == 22  # stage0 + 2 + 4 + 14 + 1 blocks
    assert "SCALE" not in _layer_types(fused)  # no batch norm left
    assert _layer_types(fused).count("ELEMENTWISE") == 1  # no branch sums: only the classifier's bias
    branches = parity.check(repvgg_a0(num_classes=10, fuse=False), twin, x)
    assert _layer_types(branches).count("CONVOLUTION") == 44
    deploy = repvgg_a0(num_classes=10, deploy=True)
    deploy.load_weights({k: v.numpy() for k, v in deploy_state_dict(twin).items()})
    with torch.no_grad():
        want = twin(x)
    parity.assert_close(parity.run(parity.define(deploy, x), x), want)
    parity.check(repvgg_a0(num_classes=10), twin, x, precision="fp16")
