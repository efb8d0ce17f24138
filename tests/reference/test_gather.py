"""The GATHER handler on real IGatherLayers: DEFAULT (with negative, out-of-bounds and paired batch indices),
ELEMENT and ND modes, against torch indexing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef._trt import NETWORK_FLAGS, builder, trt


def run_gather(data: np.ndarray, indices: np.ndarray, axis: int = 0, mode: str = "DEFAULT", batch: int = 0):
    net = builder().create_network(NETWORK_FLAGS)
    d = net.add_input("data", trt.float32, data.shape)
    i = net.add_input("indices", trt.int64, indices.shape)
    layer = net.add_gather_v2(d, i, getattr(trt.GatherMode, mode)) if mode != "DEFAULT" else net.add_gather(d, i, axis)
    if mode == "ELEMENT":
        layer.axis = axis
    layer.num_elementwise_dims = batch
    net.mark_output(layer.get_output(0))
    out = netdef.reference.run(net, {"data": data, "indices": indices})
    return next(iter(out.values()))


DATA = np.random.default_rng(0).standard_normal((4, 5, 6)).astype(np.float32)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=["scalar", "vector", "matrix"])
def test_default_mode_matches_index_select(axis, shape):
    n = DATA.shape[axis]
    idx = np.asarray(np.random.default_rng(axis).integers(-n, n, size=shape))
    got = run_gather(DATA, idx, axis)
    want = torch.from_numpy(DATA).index_select(axis, torch.from_numpy(np.asarray(idx % n)).reshape(-1))
    want = want.reshape(DATA.shape[:axis] + tuple(shape) + DATA.shape[axis + 1 :])
    np.testing.assert_array_equal(got, want.numpy())


def test_out_of_bounds_indices_read_zero():
    """TensorRT stores zero for an out-of-bounds read (an index outside [-n, n))."""
    got = run_gather(DATA, np.array([1, 4, -4, 7, -5]), axis=0)
    np.testing.assert_array_equal(got[[0, 2]], DATA[[1, 0]])
    np.testing.assert_array_equal(got[[1, 3, 4]], np.zeros((3, 5, 6), np.float32))


def test_one_elementwise_dim_pairs_batches():
    idx = np.array([[0, 2], [4, -1], [1, 1], [3, 0]])
    got = run_gather(DATA, idx, axis=1, batch=1)
    want = np.stack([DATA[b][idx[b] % 5] for b in range(4)])
    np.testing.assert_array_equal(got, want)


def test_element_mode_matches_torch_gather():
    idx = np.random.default_rng(1).integers(0, 5, size=(4, 3, 6))
    got = run_gather(DATA, idx, axis=1, mode="ELEMENT")
    np.testing.assert_array_equal(got, torch.gather(torch.from_numpy(DATA), 1, torch.from_numpy(idx)).numpy())


@pytest.mark.parametrize(("batch", "idx_shape"), [(0, (3, 2)), (0, (2, 3)), (1, (4, 2, 1))])
def test_nd_mode_matches_advanced_indexing(batch, idx_shape):
    rng = np.random.default_rng(2)
    depth = idx_shape[-1]
    bounds = DATA.shape[batch : batch + depth]
    idx = np.stack([rng.integers(0, b, size=idx_shape[:-1]) for b in bounds], axis=-1)
    got = run_gather(DATA, idx, mode="ND", batch=batch)
    if batch == 0:
        want = DATA[tuple(idx[..., j] for j in range(depth))]
    else:
        want = np.stack([DATA[b][tuple(idx[b][..., j] for j in range(depth))] for b in range(DATA.shape[0])])
    np.testing.assert_array_equal(got, want)
