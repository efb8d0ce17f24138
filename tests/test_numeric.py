"""Checked dtype conversion (netdef/numeric.py): what would wrap or become inf is reported, nothing else."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from netdef.numeric import convert


@pytest.mark.parametrize(
    ("array", "dtype", "phrase"),
    [
        (np.array([0, 2**31], np.int64), "int32", "a value of 2147483648 is outside int32's range"),
        (np.array([-1, 3], np.int32), "uint8", "a value of -1 is outside uint8's range [0, 255]"),
        (np.array([300], np.int64), "int8", "a value of 300 is outside int8's range [-128, 127]"),
        (np.array([1.0, -7e4]), "float16", "a value of 7e+04 is beyond float16's range (±65504)"),
        (np.array([1e39]), ml_dtypes.bfloat16, "a value of 1e+39 is beyond bfloat16's range"),
        (np.array([70000], np.int64), "float16", "a value of 7e+04 is beyond float16's range"),
        (np.array([1e-8]), "float16", "every nonzero value would become 0 (the largest, 1e-08, is below float16"),
        (np.array([0.0, -2e-8, 1e-9], np.float32), "float16", "every nonzero value would become 0"),
        (np.array([1e-46]), "float32", "every nonzero value would become 0"),
    ],
)
def test_values_a_dtype_cannot_hold_are_reported(array, dtype, phrase):
    _, problem = convert(array, dtype)
    assert problem is not None and phrase in problem


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.array([-(2**31), 2**31 - 1], np.int64), "int32"),
        (np.array([True, False]), "int32"),
        (np.array([np.inf, -np.inf, np.nan, 65504.0]), "float16"),  # inf and nan were never finite
        (np.array([1e-10, 3.3e38]), ml_dtypes.bfloat16),  # rounding and underflow are precision, not range
        (np.array([1e-9, 0.5]), "float16"),  # some values flushed to zero: precision
        (np.zeros(3), "float16"),  # zeros stay zeros
        (np.zeros((0,), np.int64), "int8"),
    ],
)
def test_values_that_fit_convert(array, dtype):
    converted, problem = convert(array, dtype)
    assert problem is None and converted.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(converted.astype(np.float64), array.astype(np.dtype(dtype)).astype(np.float64))


def test_same_dtype_is_returned_as_is():
    a = np.arange(3, dtype=np.float32)
    converted, problem = convert(a, "float32")
    assert converted is a and problem is None


def test_a_scalar_or_weight_that_would_become_zero_in_fp16_is_refused():
    """Found probing the fuzzer's fp16 cases: ``x * 1e-8`` and a Linear of 1e-8 weights gave zeros in fp16
    without a word, while a value too large for fp16 was refused."""
    import netdef
    from netdef import nn
    from netdef.testing import Fn

    with pytest.raises(netdef.EmitError, match=r"mul_scalar`, every nonzero value would become 0.*wider precision"):
        netdef.define(Fn(lambda x: x * 1e-8), {"x": netdef.Input((1, 4))}, precision="fp16")
    linear = nn.Linear(4, 2)
    linear.load_weights({"weight": np.full((2, 4), 1e-8, np.float32), "bias": np.zeros(2, np.float32)})
    with pytest.raises(netdef.EmitError, match=r"every nonzero value would become 0"):
        netdef.define(linear, {"x": netdef.Input((1, 4))}, precision="fp16")
    netdef.define(linear, {"x": netdef.Input((1, 4))}, precision="fp32")  # fp32 holds them
