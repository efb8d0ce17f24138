"""The op registry: every op of netdef.functional is registered once, with its methods and reference entry."""

import inspect

import pytest

import netdef.functional as F
from netdef import Tensor
from netdef._trt import trt
from netdef.functional.registry import OPS, register_op, tensor_method


def test_functional_exports_exactly_the_registered_ops():
    assert F.__all__ == sorted(OPS)
    public = {n for n, v in vars(F).items() if inspect.isfunction(v) and not n.startswith("_")}
    unregistered = public - set(OPS)
    assert not unregistered, f"ops imported into netdef.functional without @register_op: {sorted(unregistered)}"
    for name, info in OPS.items():
        assert getattr(F, name) is info.function


@pytest.mark.parametrize("name", sorted(OPS))
def test_reference_entry(name):
    info = OPS[name]
    assert info.summary, f"F.{name} has no docstring"
    assert info.torch is None or info.torch.startswith(("torch.", "torchvision.ops.")), info.torch  # F.nms: torchvision
    assert info.signature.startswith(f"{name}(")
    for layer in info.layers:
        assert isinstance(getattr(trt, layer, None), type), f"F.{name}: {layer} is not a TensorRT layer class"
    for method in info.methods:
        assert Tensor.__dict__[method] is info.function
    for method in info.reflected:
        assert Tensor.__dict__[method].__name__ == method


def test_operators_reach_their_ops():
    assert OPS["add"].reflected == ("__radd__",)
    assert Tensor.__add__ is F.add and Tensor.view is F.reshape and Tensor.clip is F.clamp
    assert F.view is F.reshape and OPS["view"].function is F.reshape


def test_registering_twice_is_refused():
    with pytest.raises(TypeError, match="registered twice"):
        register_op(torch="torch.relu")(F.relu)
    with pytest.raises(TypeError, match=r"Tensor\.relu is defined twice"):
        tensor_method("relu")(F.relu)
    with pytest.raises(TypeError, match="TensorRT layer classes"):
        register_op("ACTIVATION", torch="torch.relu")(_fresh_op)


def _fresh_op(input):
    """Not an op: only used to show a bad layer name is refused before anything is registered."""
    return input
