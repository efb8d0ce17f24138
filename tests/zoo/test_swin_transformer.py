"""netdef.zoo.swin_transformer's cyclic roll (two slices and a concatenation per dim) against torch.roll; the whole
model (masks, relative position bias) is checked against torchvision in test_upstream.py and test_zoo.py."""

from __future__ import annotations

import pytest
import torch

from netdef import testing
from netdef.zoo.swin_transformer import roll


@pytest.mark.parametrize(("shifts", "dims"), [((-3, -3), (1, 2)), ((3, 5), (1, 2)), ((0, 9), (1, 2)), ((-1,), (3,))])
def test_roll_is_torch_roll(shifts, dims):
    x = torch.randn(2, 7, 9, 4)
    testing.check(testing.Fn(lambda t: roll(t, shifts, dims)), lambda t: torch.roll(t, shifts, dims), x)
