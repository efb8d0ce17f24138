"""The interpreter's semantics of the layers behind convolutions, normalization, pooling, resizing, padding and
embedding, checked against TensorRT itself on a GPU: the engine of each network must compute what the
reference interpreter computes (and so what torch computes, which the CPU tests check).

Every test is marked ``gpu`` and skips, saying why, where no engine can run (no CUDA GPU, or a GPU the
installed backend refuses: TensorRT-RTX does not run on Hopper).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef.runtime import current_gpu
from netdef.runtime.device import backend_supports
from netdef.testing import Fn as _Fn

pytestmark = pytest.mark.gpu


def _skip_reason() -> str | None:
    gpu = current_gpu()
    if gpu is None:
        return "no CUDA GPU visible"
    if not backend_supports(gpu.compute_capability):
        return f"the installed TensorRT backend cannot run engines on compute capability {gpu.compute_capability}"
    return None


def _bound(module: nn.Module, ref: torch.nn.Module) -> nn.Module:
    module.load_weights({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return module


tf = torch.nn.functional
# name -> (netdef model factory, input shape); the parts of TensorRT whose semantics the interpreter models
CASES = {
    "resize-nearest-x1.5": (lambda: _Fn(lambda x: F.interpolate(x, scale_factor=1.5)), (1, 2, 5, 7)),
    "resize-bilinear-x1.5": (lambda: _Fn(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear")), (1, 2, 5, 7)),
    "resize-bilinear-corners": (lambda: _Fn(lambda x: F.interpolate(x, size=(9, 1), mode="bilinear", align_corners=True)), (1, 2, 4, 5)),
    "resize-nearest-exact": (lambda: _Fn(lambda x: F.interpolate(x, size=(7, 3), mode="nearest-exact")), (1, 2, 4, 5)),
    "resize-bicubic": (lambda: _Fn(lambda x: F.interpolate(x, size=(9, 7), mode="bicubic")), (1, 2, 4, 5)),
    "pad-reflect": (lambda: _Fn(lambda x: F.pad(x, (2, 1, 3, 0), "reflect")), (1, 2, 5, 6)),
    "pad-replicate": (lambda: _Fn(lambda x: F.pad(x, (2, 1, 3, 0), "replicate")), (1, 2, 5, 6)),
    "pad-circular": (lambda: _Fn(lambda x: F.pad(x, (-1, 2, 3, 0), "circular")), (1, 2, 5, 6)),
    "pad-constant": (lambda: _Fn(lambda x: F.pad(x, (2, -1, 1, 1), value=1.5)), (1, 2, 5, 6)),
    "conv-transpose-output-padding": (lambda: _bound(nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1), torch.nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1)), (1, 3, 5, 6)),
    "conv-transpose-groups": (lambda: _bound(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2), torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)), (1, 4, 5, 6)),
    "conv1d": (lambda: _bound(nn.Conv1d(3, 4, 3, padding=1), torch.nn.Conv1d(3, 4, 3, padding=1)), (2, 3, 9)),
    "layer-norm": (lambda: _bound(nn.LayerNorm((5, 6)), torch.nn.LayerNorm((5, 6))), (2, 3, 5, 6)),
    "group-norm": (lambda: _bound(nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)), (2, 4, 5, 6)),
    "instance-norm": (lambda: _bound(nn.InstanceNorm2d(3, affine=True), torch.nn.InstanceNorm2d(3, affine=True)), (2, 3, 5, 6)),
    "adaptive-max-uneven": (lambda: nn.AdaptiveMaxPool2d((3, 4)), (1, 2, 7, 9)),
    "adaptive-avg-uneven": (lambda: nn.AdaptiveAvgPool2d((3, 4)), (1, 2, 7, 9)),
    "avg-ceil-include-pad": (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), (1, 2, 8, 9)),
    "softplus-threshold": (lambda: nn.Softplus(2.0, 3.0), (1, 2, 5, 6)),
    "log-softmax": (lambda: nn.LogSoftmax(1), (2, 7)),
    "hardswish-mish-selu": (lambda: _Fn(lambda x: F.hardswish(x) + F.mish(x) + F.selu(x)), (1, 2, 5, 6)),
}  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(CASES))
def test_engine_matches_the_interpreter(case, precision):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    make, shape = CASES[case]
    net = netdef.define(make(), {"x": netdef.Input(shape)}, precision=precision)
    engine = netdef.Engine.from_bytes(netdef.build(net).data)
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(np.float32)
    got = engine.infer({"x": x})["output"]
    want = netdef.reference.run(net, {"x": x})["output"]
    # TF32 may serve fp32 convolutions: 1e-3 of the output's scale; fp16 as tests/conftest.py's FP16_TOL
    tol = 1e-3 if precision == "fp32" else 1e-2
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tol * max(np.abs(want).max(), 1e-6), case


def test_embedding_engine_matches_the_interpreter():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    model = _bound(nn.Embedding(10, 4), torch.nn.Embedding(10, 4))
    net = netdef.define(model, {"x": netdef.Input((2, 5), dtype="int32")})
    engine = netdef.Engine.from_bytes(netdef.build(net).data)
    idx = np.random.default_rng(1).integers(0, 10, (2, 5)).astype(np.int32)
    np.testing.assert_array_equal(engine.infer({"x": idx})["output"], netdef.reference.run(net, {"x": idx})["output"])
