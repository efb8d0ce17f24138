"""Every zoo model, module by module: each module call's output in the reference interpreter against its
torch twin's (netdef.parity.compare, fp32, Polygraphy-style atol/rtol 1e-4 per element).

The end-to-end test (test_zoo.py) compares final outputs only. With random weights a deep network's
output can hardly depend on its early layers (in mobilenet_v2 a 10% change of the stem conv moves the
logits by ~1e-7 of their scale), so an error there could pass it; here it fails at the module it is in.
"""

from __future__ import annotations

import pytest

import netdef
from netdef import testing
from netdef.zoo import upstream, zoo


@pytest.mark.parametrize("name", zoo.names())
def test_every_module_matches_torch(name):
    entry = zoo.get(name)
    try:
        twin, model = testing.twin_pair(entry)
    except upstream.Unavailable as exc:  # a twin that is the upstream library itself (netdef/zoo/twins/yolo.py)
        pytest.skip(str(exc))
    report = netdef.parity.compare(model, twin, testing.random_feeds(entry), "fp32")
    compared = [r for r in report.rows if r.status != "no twin"]
    assert report.passed, str(report)
    assert len(compared) >= 0.5 * len(report.rows), f"{name}: most module calls have no torch counterpart\n{report}"
