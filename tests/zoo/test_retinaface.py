"""RetinaFace's post-processing: prior boxes in the network's output order, and decoding against them."""

from __future__ import annotations

import numpy as np
import pytest

import netdef
from netdef import testing
from netdef.zoo import retinaface, zoo


def test_priors_match_the_network_outputs_at_an_odd_size():
    """One prior per output row at a size no stride divides (maps of ceil(H / step) x ceil(W / step))."""
    _, model = testing.twin_pair(zoo.get("retinaface_resnet50"))
    network = netdef.define(model, {"x": netdef.Input((1, 3, 45, 70))})
    loc = network.network.get_output(0)
    assert tuple(loc.shape) == (1, retinaface.priors(45, 70).shape[0], 4)
    assert retinaface.priors(45, 70).shape[0] == 2 * (6 * 9 + 3 * 5 + 2 * 3)


def test_priors_are_centred_on_their_cells_row_major():
    p = retinaface.priors(64, 96)
    # the first stride-8 cell: centre (4, 4) px, sizes 16 and 32 px; then the cell to its right
    np.testing.assert_allclose(p[0], [4 / 96, 4 / 64, 16 / 96, 16 / 64])
    np.testing.assert_allclose(p[1], [4 / 96, 4 / 64, 32 / 96, 32 / 64])
    np.testing.assert_allclose(p[2, :2], [12 / 96, 4 / 64])
    # the last stride-32 cell of the 2x3 map: centre (80, 48) px, size 512 px
    np.testing.assert_allclose(p[-1], [80 / 96, 48 / 64, 512 / 96, 512 / 64])


def test_decode_shifts_centres_and_scales_sizes_by_the_variances():
    prior = np.array([[0.5, 0.25, 0.2, 0.4]], np.float32)
    loc = np.array([[1.0, -2.0, np.log(2.0) / 0.2, 0.0]], np.float32)  # centre + (0.1 * 0.2, -0.2 * 0.4), width x2
    landms = np.tile(np.array([[10.0, 5.0]], np.float32), (1, 5))
    boxes, points = retinaface.decode(loc, landms, prior)
    cx, cy, w, h = 0.5 + 0.02, 0.25 - 0.08, 0.4, 0.4
    np.testing.assert_allclose(boxes, [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], rtol=1e-6)
    np.testing.assert_allclose(points, np.tile([[0.5 + 0.2, 0.25 + 0.2]], (1, 5)), rtol=1e-6)


def test_decode_refuses_priors_of_another_size():
    with pytest.raises(ValueError, match="252 priors"):
        retinaface.decode(np.zeros((10, 4)), np.zeros((10, 10)), retinaface.priors(64, 96))
