"""Every zoo model, module by module: each module call's output in the reference interpreter against its
torch twin's (netdef.parity.compare, fp32, Polygraphy-style atol/rtol 1e-4 per element).

The end-to-end test (test_zoo.py) compares final outputs only. With random weights a deep network's
output can hardly depend on its early layers (in mobilenet_v2 a 10% change of the stem conv moves the
logits by ~1e-7 of their scale), so an error there could pass it; here it fails at the module it is in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from models import upstream, zoo


def _twin_and_model(entry: zoo.ZooEntry):
    torch.manual_seed(0)
    try:
        twin = entry.torch_model().eval()
    except upstream.Unavailable as exc:  # a twin that is the upstream library itself (models/twins/yolo.py)
        pytest.skip(str(exc))
    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():  # BatchNorm statistics away from (0, 1), so folding them is exercised
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)
    model = entry.netdef_model()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()}, strict=True)
    return twin, model


def _feeds(entry: zoo.ZooEntry) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for name, (shape, dtype) in entry.test_inputs.items():
        bound = entry.int_bound(name)
        feeds[name] = rng.integers(0, bound, shape).astype(dtype) if bound else rng.standard_normal(shape).astype(dtype)
    return feeds


@pytest.mark.parametrize("name", zoo.names())
def test_every_module_matches_torch(name):
    entry = zoo.get(name)
    twin, model = _twin_and_model(entry)
    report = netdef.parity.compare(model, twin, _feeds(entry), "fp32")
    compared = [r for r in report.rows if r.status != "no twin"]
    assert report.passed, str(report)
    assert len(compared) >= 0.5 * len(report.rows), f"{name}: most module calls have no torch counterpart\n{report}"
