"""The CONVOLUTION handler's float32 accuracy with a large bias (a folded batch norm's shift)."""

from __future__ import annotations

import numpy as np
import torch

import netdef
from netdef import nn


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(32, 16, 3, bias=False), nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn(self.conv(x))


def _error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


def test_folded_batch_norm_is_as_accurate_as_torch_unfolded():
    """A batch norm with statistics measured on its input and shifts of several deviations (as training leaves
    them) folds into its conv as a bias larger than the conv's sums. Against a float64 run, the interpreter stays
    within 2x torch's own float32 error for the conv then the batch norm (it was 5x: torch's CPU convolution
    starts its sums at the bias, so every step rounded at the bias's magnitude)."""
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Conv2d(32, 16, 3, bias=False), torch.nn.BatchNorm2d(16))
    x = torch.randn(2, 32, 24, 24)
    with torch.no_grad():
        y = twin[0](x)
        twin[1].running_mean.copy_(y.mean((0, 2, 3)))
        twin[1].running_var.copy_(y.var((0, 2, 3)))
        twin[1].weight.copy_(torch.rand(16) + 0.5)
        twin[1].bias.copy_(torch.randn(16) * 4)
    twin.eval()
    model = ConvBN()
    model.load_weights({k.replace("0.", "conv.").replace("1.", "bn."): v.numpy() for k, v in twin.state_dict().items()})
    network = netdef.define(model, {"x": netdef.Input(tuple(x.shape))})
    assert [row["type"] for row in network.layers()] == ["CONVOLUTION"]  # the batch norm is the conv's bias
    with torch.no_grad():
        fp32 = twin(x).numpy()
        want = twin.double()(x.double()).numpy()
    ours = _error(netdef.reference.run(network, {"x": x.numpy()})["output"], want)
    theirs = _error(fp32, want)
    assert ours <= 2 * theirs, f"interpreter {ours:.2e} vs torch fp32 {theirs:.2e}"
