"""Dynamic shapes: profiles, shape-dependent ops under dynamic dims, and the interpreter's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


@pytest.fixture(scope="module")
def lenet_pair():
    torch.manual_seed(0)
    twin = TorchLeNet().eval()
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    return model, twin


DYNAMIC_BATCH = netdef.Input((-1, 1, 32, 32), min=(1, 1, 32, 32), opt=(4, 1, 32, 32), max=(16, 1, 32, 32))


@pytest.mark.parametrize("batch", [1, 3, 16])
def test_dynamic_batch_matches_torch_at_every_size(lenet_pair, batch):
    model, twin = lenet_pair
    network = netdef.define(model, {"x": DYNAMIC_BATCH})
    assert tuple(network.network.get_output(0).shape) == (-1, 10)  # flatten(1) kept the batch dim dynamic
    x = np.random.default_rng(batch).standard_normal((batch, 1, 32, 32)).astype(np.float32)
    out = netdef.reference.run(network, {"x": x})["output"]
    np.testing.assert_allclose(out, twin(torch.from_numpy(x)).detach().numpy(), atol=1e-4)


def test_shapes_outside_the_profile_are_rejected(lenet_pair):
    network = netdef.define(lenet_pair[0], {"x": DYNAMIC_BATCH})
    with pytest.raises(netdef.InterpreterError, match="outside every optimization profile"):
        netdef.reference.run(network, {"x": np.zeros((17, 1, 32, 32), np.float32)})
    with pytest.raises(netdef.InterpreterError, match="network declares"):
        netdef.reference.run(network, {"x": np.zeros((2, 1, 28, 28), np.float32)})


def test_several_profiles_build_and_bound_the_interpreter(lenet_pair):
    spec = netdef.Input(
        (-1, 1, 32, 32),
        min=(1, 1, 32, 32),
        opt=(2, 1, 32, 32),
        max=(4, 1, 32, 32),
        profiles=[((32, 1, 32, 32), (48, 1, 32, 32), (64, 1, 32, 32))],
    )
    network = netdef.define(lenet_pair[0], {"x": spec})
    built = netdef.build(network)
    assert built.metadata["inputs"]["x"]["profiles"] == [[[32, 1, 32, 32], [48, 1, 32, 32], [64, 1, 32, 32]]]
    assert netdef.reference.run(network, {"x": np.zeros((40, 1, 32, 32), np.float32)})["output"].shape == (40, 10)
    with pytest.raises(netdef.InterpreterError):
        netdef.reference.run(network, {"x": np.zeros((8, 1, 32, 32), np.float32)})


class GlobalPoolHead(nn.Module):
    """Shape-dependent ops under dynamic batch and spatial dims: adaptive pooling, flatten, view(-1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x))).flatten(1)
        return self.fc(x).view(-1, 5)


class TorchGlobalPoolHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1)).view(-1, 5)


@pytest.mark.parametrize("shape", [(1, 3, 8, 8), (5, 3, 17, 9), (2, 3, 32, 32)])
def test_dynamic_spatial_dims(shape):
    torch.manual_seed(1)
    twin = TorchGlobalPoolHead().eval()
    model = GlobalPoolHead()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    spec = netdef.Input((-1, 3, -1, -1), min=(1, 3, 4, 4), opt=(2, 3, 16, 16), max=(8, 3, 32, 32))
    network = netdef.define(model, {"x": spec})
    netdef.build(network)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = netdef.reference.run(network, {"x": x})["output"]
    np.testing.assert_allclose(out, twin(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_input_spec_errors():
    with pytest.raises(netdef.EmitError, match="give min= and max="):
        netdef.Input((-1, 3))
    with pytest.raises(netdef.EmitError, match="min <= opt <= max"):
        netdef.Input((-1, 3), min=(4, 3), max=(2, 3))
    with pytest.raises(netdef.EmitError, match="static dims"):
        netdef.Input((-1, 3), min=(1, 4), max=(2, 3))
    with pytest.raises(netdef.EmitError, match="no dynamic dims"):
        netdef.Input((1, 3), min=(1, 3), max=(1, 3))
