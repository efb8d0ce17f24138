"""Zoo models with dynamic dims: ONE network per model, checked against its torch twin at the min, the max
and an odd size between of every dynamic dim (BERT's batch and sequence length and ViT's batch are in
test_transformers.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import zoo

#: model -> (dynamic Input, run-time shapes); each dim takes its min, its max and an odd size between
DYNAMIC = {
    # yolov5n: multiples of 32 (its largest stride), 96 being the odd multiple
    "yolov5n": (
        netdef.Input((1, 3, -1, -1), min=(1, 3, 32, 32), opt=(1, 3, 64, 64), max=(1, 3, 128, 128)),
        [(1, 3, 32, 128), (1, 3, 128, 32), (1, 3, 96, 96)],
    ),
    # U-Net: any size >= 16, odd ones padded in the decoder
    "unet": (
        netdef.Input((1, 3, -1, -1), min=(1, 3, 16, 16), max=(1, 3, 40, 40)),
        [(1, 3, 16, 40), (1, 3, 40, 16), (1, 3, 23, 29)],
    ),
    "unet_bilinear": (
        netdef.Input((1, 3, -1, -1), min=(1, 3, 16, 16), max=(1, 3, 40, 40)),
        [(1, 3, 16, 40), (1, 3, 40, 16), (1, 3, 23, 29)],
    ),
    # Swin-T: a dynamic batch (windows are folded into the batch dim and back); H and W fix the window layout
    "swin_t": (
        netdef.Input((-1, 3, 112, 112), min=(1, 3, 112, 112), max=(2, 3, 112, 112)),
        [(1, 3, 112, 112), (2, 3, 112, 112)],
    ),
    # DeepLabV3: any size; logits resized to the run-time input size
    "deeplabv3_resnet50": (
        netdef.Input((1, 3, -1, -1), min=(1, 3, 17, 17), max=(1, 3, 41, 41)),
        [(1, 3, 17, 29), (1, 3, 29, 41), (1, 3, 41, 17)],
    ),
}


def _randomize_norm_stats(twin: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)


@pytest.mark.parametrize("name", list(DYNAMIC))
def test_one_dynamic_network_matches_torch_at_every_size(name):
    entry = zoo.get(name)
    spec, shapes = DYNAMIC[name]
    torch.manual_seed(0)
    twin = entry.torch_model().eval()
    _randomize_norm_stats(twin)
    model = entry.netdef_model()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    network = netdef.define(model, {"x": spec})
    rng = np.random.default_rng(0)
    for shape in shapes:
        x = rng.standard_normal(shape).astype(np.float32)
        got = list(netdef.reference.run(network, {"x": x}).values())
        with torch.no_grad():
            want = twin(torch.from_numpy(x))
        want = list(want.values()) if isinstance(want, dict) else want if isinstance(want, (list, tuple)) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.numpy()
            assert g.shape == w.shape, f"{name} at {shape}"
            err = float(np.abs(g.astype(np.float64) - w).max())
            assert err <= entry.fp32_tol * max(float(np.abs(w).max()), 1e-6), f"{name} at {shape}: {err:.3g}"
