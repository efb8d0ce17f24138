"""Zoo models with dynamic dims: ONE network per model, checked against its torch twin at the min, the max
and an odd size between of every dynamic dim (BERT's batch and sequence length and ViT's batch are in
test_transformers.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import upstream, zoo

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
    # Real-ESRGAN: any size (x2plus: even sizes, folded 2x2 into channels); output 4x the input
    "realesrgan_x4plus": (
        netdef.Input((-1, 3, -1, -1), min=(1, 3, 4, 4), max=(2, 3, 16, 16)),
        [(1, 3, 4, 16), (2, 3, 16, 4), (1, 3, 7, 9)],
    ),
    "realesrgan_x2plus": (
        netdef.Input((-1, 3, -1, -1), min=(1, 3, 4, 4), max=(2, 3, 16, 16)),
        [(1, 3, 4, 16), (2, 3, 16, 4), (1, 3, 6, 10)],
    ),
    # CSRNet: any size (three floor-mode 2x2 pools)
    "csrnet": (
        netdef.Input((-1, 3, -1, -1), min=(1, 3, 16, 16), max=(2, 3, 32, 32)),
        [(1, 3, 16, 32), (2, 3, 32, 16), (1, 3, 21, 27)],
    ),
    # RetinaFace: any size; each FPN map is resized to the finer one's run-time size (odd sizes round up)
    "retinaface_resnet50": (
        netdef.Input((-1, 3, -1, -1), min=(1, 3, 32, 32), max=(2, 3, 48, 48)),
        [(1, 3, 32, 48), (2, 3, 48, 32), (1, 3, 37, 45)],
    ),
    # SuperPoint: any multiple of 8 (the cells)
    "superpoint": (
        netdef.Input((-1, 1, -1, -1), min=(1, 1, 16, 16), max=(2, 1, 40, 40)),
        [(1, 1, 16, 40), (2, 1, 40, 16), (1, 1, 24, 32)],
    ),
    # TSM: clips of 4 frames; the shift reshapes the batch of frames to (clips, 4, ...) and back
    "tsm": (
        netdef.Input((-1, 12, -1, -1), min=(1, 12, 32, 32), max=(2, 12, 64, 64)),
        [(1, 12, 32, 64), (2, 12, 64, 32), (1, 12, 45, 37)],
    ),
    # DETR: batch, H and W; the sine position embedding is computed from the run-time feature map size
    "detr_resnet50": (
        netdef.Input((-1, 3, -1, -1), min=(1, 3, 32, 32), max=(2, 3, 96, 96)),
        [(1, 3, 32, 96), (2, 3, 96, 32), (2, 3, 64, 64)],
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
    try:
        twin = entry.torch_model().eval()
    except upstream.Unavailable as exc:  # a twin that is the upstream library itself (netdef/zoo/twins/detr.py)
        pytest.skip(str(exc))
    _randomize_norm_stats(twin)
    model = entry.netdef_model()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    (input_name,) = entry.test_inputs
    network = netdef.define(model, {input_name: spec})
    rng = np.random.default_rng(0)
    for shape in shapes:
        x = rng.standard_normal(shape).astype(np.float32)
        got = list(netdef.reference.run(network, {input_name: x}).values())
        with torch.no_grad():
            want = twin(torch.from_numpy(x))
        want = list(want.values()) if isinstance(want, dict) else want if isinstance(want, (list, tuple)) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.numpy()
            assert g.shape == w.shape, f"{name} at {shape}"
            err = float(np.abs(g.astype(np.float64) - w).max())
            assert err <= entry.fp32_tol * max(float(np.abs(w).max()), 1e-6), f"{name} at {shape}: {err:.3g}"


#: entries whose dynamic dims another file checks: test_yolo.py runs every netdef.zoo.yolo entry with a dynamic
#: batch, H and W (detection: yolo11n; its head is the same module for yolov8)
ELSEWHERE = (
    {"vit": "test_transformers.py", "bert": "test_transformers.py", "crnn": "test_crnn.py"}
    | {name: "test_yolo.py" for name, entry in zoo.ZOO.items() if entry.module == "yolo"}
    | {
        "yolov7-tiny": "test_yolov7.py",
        "yolov7": "test_yolov7.py",
        "yolop": "test_yolop.py",
        "yolov4": "test_darknet.py",
        "yolov4-csp": "test_darknet.py",
    }
)


def test_readme_dynamic_dims_are_the_tested_ones():
    """ZooEntry.dynamic (README's tensorrtx table) is set exactly for the entries whose dynamic network is tested."""
    declared = {n for n, e in zoo.ZOO.items() if e.dynamic}
    assert declared == set(DYNAMIC) | set(ELSEWHERE)
