"""Options of the classic CNNs beyond the registry's defaults, checked against their torch twins."""

from __future__ import annotations

import numpy as np
import torch

import netdef
from models.googlenet import GoogLeNet
from models.twins.googlenet import GoogLeNet as TorchGoogLeNet


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
