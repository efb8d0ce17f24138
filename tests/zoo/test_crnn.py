"""CRNN at tensorrtx's full size: one network with a dynamic width against its torch twin at several widths,
and the CTC greedy decode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import crnn
from netdef.zoo.twins import crnn as twin


@pytest.fixture(autouse=True)
def _one_thread():
    """Loop bodies run many tiny ops: on a busy machine torch's intra-op threads add a scheduler wake-up to
    each one, so these tests run single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_full_size_with_a_dynamic_width_matches_torch():
    torch.manual_seed(0)
    reference = twin.crnn().eval()
    model = crnn.crnn()
    model.load_weights({k: v.numpy() for k, v in reference.state_dict().items()})
    width = netdef.Input((1, 1, 32, -1), min=(1, 1, 32, 16), max=(1, 1, 32, 256))
    net = netdef.define(model, {"x": width})
    for w in (24, 100):  # 7 and 26 time steps
        x = torch.randn(1, 1, 32, w)
        with torch.no_grad():
            want = reference(x).numpy()
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        assert got.shape == want.shape == (w // 4 + 1, 1, 37)
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_ctc_greedy_decode_merges_repeats_and_drops_blanks():
    alphabet = "-ab"
    steps = [[0, 1, 1, 0, 1, 2, 2, 0], [2, 0, 0, 2, 0, 0, 0, 0]]  # per batch item: the best class per step
    scores = np.zeros((8, 2, 3), np.float32)
    for n, best in enumerate(steps):
        scores[np.arange(8), n, best] = 1.0
    assert crnn.ctc_greedy_decode(scores, alphabet) == ["aab", "bb"]
    with pytest.raises(ValueError, match=r"\(T, N, 3\)"):
        crnn.ctc_greedy_decode(scores[..., :2], alphabet)
