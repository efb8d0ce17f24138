"""Every zoo model: strict binding of its torch twin's weights, a real fp32 and fp16 build, and CPU parity.

Weights are the twin's random initialization (BatchNorm statistics randomized so folding is exercised);
inputs are small but real sizes from the registry. Tolerances are per model in models/zoo.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from models import upstream, zoo


def _randomize_norm_stats(twin: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)


def _feeds(entry: zoo.ZooEntry) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for name, (shape, dtype) in entry.test_inputs.items():
        if entry.int_bound(name) and dtype.startswith("int"):
            feeds[name] = rng.integers(0, entry.int_bound(name), shape).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    return feeds


@pytest.fixture(scope="module", params=zoo.names())
def pair(request):
    entry = zoo.get(request.param)
    torch.manual_seed(0)
    try:
        twin = entry.torch_model().eval()
    except upstream.Unavailable as exc:  # a twin that is the upstream library itself (models/twins/yolo.py)
        pytest.skip(str(exc))
    _randomize_norm_stats(twin)
    model = entry.netdef_model()
    report = model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()}, strict=True)
    assert not report.missing and not report.unexpected
    feeds = _feeds(entry)
    with torch.no_grad():
        expected = twin(*(torch.from_numpy(v) for v in feeds.values()))
    if isinstance(expected, dict):  # torchvision's segmentation models return {"out": ..., "aux": ...}
        expected = list(expected.values())
    expected = expected if isinstance(expected, (tuple, list)) else [expected]
    inputs = {n: netdef.Input(shape, dtype) for n, (shape, dtype) in entry.test_inputs.items()}
    return request.param, entry, model, inputs, feeds, [e.numpy() for e in expected]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_reference_matches_torch_and_builds(pair, precision):
    name, entry, model, inputs, feeds, expected = pair
    network = netdef.define(model, inputs, precision=precision)
    outputs = netdef.reference.run(network, feeds)
    tol = entry.fp32_tol if precision == "fp32" else entry.fp16_tol
    assert len(outputs) == len(expected), f"{name}: {len(outputs)} outputs, torch has {len(expected)}"
    for (out_name, got), want in zip(outputs.items(), expected):
        assert got.shape == want.shape, f"{name}:{out_name}"
        scale = max(float(np.abs(want).max()), 1e-6)
        err = float(np.abs(got.astype(np.float64) - want).max())
        assert err <= tol * scale, f"{name} {precision} {out_name}: max |diff| {err:.3g} > {tol} x {scale:.3g}"
    if precision not in entry.build_precisions:
        return
    built = netdef.build(network)
    assert built.data and built.metadata["precision"] == precision
