"""Fixtures of the test suite. The helpers themselves live in ``netdef.testing`` (tests import it).

``parity`` hands the same helpers to tests that take it as a fixture (``parity.check``, ``parity.Fn``,
``parity.FP16_TOL`` ...); new tests import ``netdef.testing`` instead.
"""

from __future__ import annotations

import types
import zlib

import pytest
import torch

from netdef import testing


@pytest.fixture(autouse=True)
def _seed(request):
    """Random but reproducible weights and inputs per test (seeded by the test's id)."""
    torch.manual_seed(zlib.crc32(request.node.nodeid.encode()))
    yield


@pytest.fixture(scope="session")
def parity() -> types.SimpleNamespace:
    """netdef.testing under the names tests used before it existed (``define``: ``define_like``,
    ``build``: ``build_engine``, ``TOLERANCE``: fractions of the output's largest magnitude)."""
    names = {name: getattr(testing, name) for name in testing.__all__}
    tolerance = {precision: tol.scaled for precision, tol in testing.TOLERANCES.items()}
    return types.SimpleNamespace(**names, define=testing.define_like, build=testing.build_engine, TOLERANCE=tolerance)
