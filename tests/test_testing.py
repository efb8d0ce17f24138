"""netdef.testing: the one tolerance model and the helpers tests and examples share."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import testing
from netdef.testing import Tolerance


def test_tolerance_terms_add_up():
    want = np.array([0.0, 1.0, -10.0])
    np.testing.assert_allclose(Tolerance(atol=0.1).bound(want), [0.1, 0.1, 0.1])
    np.testing.assert_allclose(Tolerance(rtol=0.1).bound(want), [0.0, 0.1, 1.0])
    np.testing.assert_allclose(Tolerance(scaled=0.1).bound(want), [1.0, 1.0, 1.0])  # 0.1 x max|want|
    np.testing.assert_allclose(Tolerance(atol=1, rtol=0.1, scaled=0.01).bound(want), [1.1, 1.2, 2.1])


def test_mismatches_count_nan_and_inf_as_torch_testing_does():
    want = np.array([1.0, np.inf, np.nan, 2.0])
    assert Tolerance(atol=1e-3).mismatches(want, want) == 1  # NaN != NaN unless asked
    assert Tolerance(atol=1e-3).mismatches(want, want, equal_nan=True) == 0
    assert Tolerance(rtol=0.5).mismatches(np.array([1.4, np.inf, np.nan, 3.5]), want, equal_nan=True) == 1
    assert Tolerance(atol=1.0).mismatches(np.array([1.0, 5.0, np.nan, 2.0]), want, equal_nan=True) == 1  # 5 vs inf


def test_assert_close_names_what_failed():
    want = torch.tensor([1.0, 2.0, 4.0])
    assert testing.assert_close(np.array([1.0, 2.0, 4.0000001], np.float32), want) < 1e-6
    with pytest.raises(AssertionError, match=r"layer1: fp32: 1 of 3 elements off by more than scaled 1e-05"):
        testing.assert_close(np.array([1.0, 2.0, 4.1], np.float32), want, what="layer1")
    with pytest.raises(AssertionError, match="shape"):
        testing.assert_close(np.zeros(2), want)
    testing.assert_close(np.array([1.0, 2.1, 4.0]), want, Tolerance(atol=0.2))


def test_the_parity_report_and_the_tests_share_the_model():
    assert netdef.parity.TOLERANCES["fp32"] == Tolerance(atol=1e-4, rtol=1e-4)
    assert testing.TOLERANCES["fp16"] == Tolerance(scaled=testing.FP16_TOL)


def test_random_feeds_for_a_network_and_a_spec():
    net = testing.define_like(testing.Fn(lambda x: x * 2), torch.zeros(2, 3))
    feeds = testing.random_feeds(net, seed=3)
    assert feeds["x"].shape == (2, 3) and feeds["x"].dtype == np.float32
    np.testing.assert_array_equal(feeds["x"], testing.random_feeds(net, seed=3)["x"])
    spec = {
        "ids": ((4, 5), "int64"),
        "x": netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3)),
    }
    feeds = testing.random_feeds(spec, int_bound=lambda name: 7)
    assert feeds["ids"].dtype == np.int64 and 0 <= feeds["ids"].min() and feeds["ids"].max() < 7
    assert feeds["x"].shape == (2, 3)  # a dynamic input gets its opt shape
    assert not testing.random_feeds({"ids": ((3,), "int32")})["ids"].any()  # no bound: index 0, always valid


def test_randomize_batchnorm_moves_statistics_off_their_defaults():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    testing.randomize_batchnorm(model)
    bn = model[1]
    assert (bn.running_mean.abs() > 0).all() and (bn.running_mean.abs() <= 0.2).all()
    assert (bn.running_var >= 0.75).all() and (bn.running_var < 1.25).all() and not (bn.running_var == 1).any()
    norm = testing.randomize_norm(torch.nn.BatchNorm1d(5).train())
    assert not norm.training and not torch.equal(norm.weight, torch.ones(5)) and int(norm.num_batches_tracked) == 17
