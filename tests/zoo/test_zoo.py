"""Every zoo model: strict binding of its torch twin's weights, a real fp32 and fp16 build, and CPU parity.

Weights are the twin's random initialization (BatchNorm statistics randomized so folding is exercised);
inputs are small but real sizes from the registry. Tolerances are per model in netdef/zoo/zoo.py.
"""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import testing
from netdef.zoo import upstream, zoo


@pytest.fixture(scope="module", params=zoo.names())
def pair(request):
    entry = zoo.get(request.param)
    try:
        twin, model = testing.twin_pair(entry)
    except upstream.Unavailable as exc:  # a twin that is the upstream library itself (netdef/zoo/twins/yolo.py)
        pytest.skip(str(exc))
    feeds = testing.random_feeds(entry)
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
    tol = testing.Tolerance(scaled=entry.fp32_tol if precision == "fp32" else entry.fp16_tol)
    assert len(outputs) == len(expected), f"{name}: {len(outputs)} outputs, torch has {len(expected)}"
    for (out_name, got), want in zip(outputs.items(), expected):
        testing.assert_close(got, want, tol, what=f"{name} {precision} {out_name}")
    if precision not in entry.build_precisions:
        return
    built = netdef.build(network)
    assert built.data and built.metadata["precision"] == precision
