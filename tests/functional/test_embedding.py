"""F.embedding with a torch table, against torch.nn.functional.embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F


def test_functional_embedding_matches_torch(parity):
    table = torch.randn(9, 4)
    parity.check(
        parity.Fn(lambda idx: F.embedding(idx, table.numpy())),
        lambda idx: torch.nn.functional.embedding(idx, table),
        torch.randint(0, 9, (3, 5)),
    )


@pytest.mark.parametrize("bad", [-1, 6, 2**33])
def test_ids_outside_the_table_are_refused_naming_the_input_and_position(parity, bad):
    """torch raises for them; TensorRT's gather would read the last row (-1) or zeros, so the interpreter raises."""
    table = torch.randn(6, 3)
    net = netdef.define(parity.Fn(lambda i: F.embedding(i, table.numpy())), {"ids": netdef.Input((2, 4), "int64")})
    ids = np.ones((2, 4), np.int64)
    ids[1, 2] = bad
    with pytest.raises(IndexError):
        torch.nn.functional.embedding(torch.from_numpy(ids), table)
    with pytest.raises(netdef.InterpreterError, match=rf"input 'ids' holds token id {bad} at \[1, 2\].*\[0, 6\)"):
        netdef.reference.run(net, {"ids": ids})


def test_check_ids_makes_the_engine_turn_a_bad_row_into_nan(parity):
    """check_ids=True: the interpreter still raises; the network itself (run past the interpreter's own check,
    as an engine would run it) gives NaN rows for bad ids and the table's rows for the others. It builds."""
    table = torch.randn(6, 3)

    def define():
        fn = parity.Fn(lambda i: F.embedding(i, table.numpy(), check_ids=True))
        return netdef.define(fn, {"ids": netdef.Input((2, 4), "int64")})

    net = define()
    ids = np.array([[0, 5, 2, 1], [3, -1, 6, 4]])
    with pytest.raises(netdef.InterpreterError, match=r"input 'ids' holds token id -1 at \[1, 1\]"):
        netdef.reference.run(net, {"ids": ids})
    good = np.array([[0, 5, 2, 1], [3, 0, 0, 4]])
    np.testing.assert_allclose(netdef.reference.run(net, {"ids": good})["output"], table.numpy()[good], rtol=1e-6)
    net = define()
    gathers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    gathers = [layer for layer in gathers if layer.type.name == "GATHER"]
    assert len(gathers) == 1
    gathers[0].metadata = ""  # TensorRT's own reading of the gather: no check
    out = netdef.reference.run(net, {"ids": ids})["output"]
    assert np.isnan(out[1, 1]).all() and np.isnan(out[1, 2]).all()
    np.testing.assert_allclose(out[0], table.numpy()[ids[0]], rtol=1e-6)
    assert netdef.build(net).data


def test_functional_embedding_errors(parity):
    weight = torch.randn(4)
    with pytest.raises(netdef.EmitError, match=r"weight must be 2-D \(num_embeddings, embedding_dim\)"):
        netdef.define(parity.Fn(lambda i: F.embedding(i, weight.numpy())), {"x": netdef.Input((3,), dtype="int64")})


def test_functional_max_norm_with_dynamic_ids(parity):
    weight = torch.randn(5, 3) * 2
    spec = netdef.Input((-1,), "int64", min=(1,), opt=(3,), max=(9,))
    network = netdef.define(parity.Fn(lambda i: F.embedding(i, weight.numpy(), max_norm=1.5)), {"x": spec})
    for n in (3, 7):
        ids = torch.randint(0, 5, (n,))
        want = torch.nn.functional.embedding(ids, weight.clone(), max_norm=1.5)
        parity.assert_close(netdef.reference.run(network, {"x": ids.numpy()})["output"], want)
