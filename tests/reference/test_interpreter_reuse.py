"""Running one network many times: the interpreter plans a netdef Network once and reads its weights in place."""

from __future__ import annotations

import numpy as np
import torch

import netdef
from netdef.zoo.twins.resnet import resnet18 as torch_resnet18


def test_repeated_runs_agree_and_leave_the_weights_untouched(parity):
    from netdef.zoo.resnet import resnet18

    twin = torch_resnet18(num_classes=10).eval()
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.75, 1.25)
    model = resnet18(num_classes=10)
    model.load_weights(parity.torch_weights(twin))
    net = netdef.define(model, {"x": netdef.Input((1, 3, 32, 32))})
    before = {k: v.copy() for k, v in net.named_weights.items()}
    xs = [np.random.default_rng(i).standard_normal((1, 3, 32, 32)).astype(np.float32) for i in range(3)]
    first = [netdef.reference.run(net, {"x": x})["output"] for x in xs]
    again = [netdef.reference.run(net, {"x": x})["output"] for x in xs]
    raw = [netdef.reference.run(net.network, {"x": x})["output"] for x in xs]  # unplanned path
    for x, a, b, c in zip(xs, first, again, raw):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        with torch.no_grad():
            parity.assert_close(a, twin(torch.from_numpy(x)))
    assert before.keys() == net.named_weights.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(net.named_weights[k], v, err_msg=k)
