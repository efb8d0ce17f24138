"""The PADDING handler on real IPaddingLayers: zeros around the innermost dims, negative amounts crop."""

from __future__ import annotations

import numpy as np
import pytest

import netdef
from netdef._trt import NETWORK_FLAGS, builder, trt


@pytest.mark.parametrize(("pre", "post"), [((1, 2), (0, 3)), ((0, -1), (2, -2)), ((3, 0), (-1, 2))])
def test_padding_layer_matches_numpy(pre, post):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    net = builder().create_network(NETWORK_FLAGS)
    layer = net.add_padding_nd(net.add_input("x", trt.float32, x.shape), pre, post)
    net.mark_output(layer.get_output(0))
    got = next(iter(netdef.reference.run(net, {"x": x}).values()))
    n = len(pre)
    widths = [(0, 0)] * (x.ndim - n) + [(max(a, 0), max(b, 0)) for a, b in zip(pre, post)]
    want = np.pad(x, widths)
    crop = tuple(slice(None) for _ in range(x.ndim - n)) + tuple(
        slice(max(-a, 0), want.shape[x.ndim - n + i] - max(-b, 0)) for i, (a, b) in enumerate(zip(pre, post))
    )
    np.testing.assert_array_equal(got, want[crop])
