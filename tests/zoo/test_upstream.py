"""Zoo models against the upstream library itself (torchvision, Hugging Face transformers, timm, ultralytics).

The hand-written twins in netdef/zoo/twins/ could share a misreading with the netdef models; here the oracle is the
real package (``pip install -e .[zoo-oracles]``): its randomly initialized model (BatchNorm statistics randomized)
binds to the netdef model with ``strict=True`` (every name and shape), and its eval-mode output is matched: by the
reference interpreter's fp32 output for one model of each kind, and for the rest by the hand twin holding the same
weights (to 1e-6), the twin being tied to the interpreter by test_zoo.py. A missing package skips with the reason.

Left to the hand twins (test_zoo.py): resnet34, resnet101 and vgg16_bn (the same torchvision builders as resnet18,
resnet50 and a plain Sequential; 138 M random parameters for vgg16_bn), lenet/mlp/unet (no package ships them), and yolov5n's
anchor-based head (ultralytics 8 ships YOLOv5 only with its anchor-free head; the backbone and neck are checked
against it below). YOLOv8/YOLO11's twin is ultralytics itself (test_zoo.py, test_yolo.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import upstream, zoo


def _bert(transformers):
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=32,
    )
    return transformers.BertModel(config)


def _random_grn(model: torch.nn.Module) -> torch.nn.Module:
    """timm starts every GlobalResponseNorm at weight = bias = 0 (the identity): random values make them count."""
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".grn." in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model


#: zoo name -> (package, builder of the upstream model from the imported package)
CASES = {
    "resnet18": ("torchvision", lambda tv: tv.models.resnet18()),
    "resnet50": ("torchvision", lambda tv: tv.models.resnet50()),
    "resnext50_32x4d": ("torchvision", lambda tv: tv.models.resnext50_32x4d()),
    "wide_resnet50_2": ("torchvision", lambda tv: tv.models.wide_resnet50_2()),
    "alexnet": ("torchvision", lambda tv: tv.models.alexnet()),
    "squeezenet1_1": ("torchvision", lambda tv: tv.models.squeezenet1_1()),
    "densenet121": ("torchvision", lambda tv: tv.models.densenet121()),
    "googlenet": ("torchvision", lambda tv: tv.models.googlenet(aux_logits=True, init_weights=True)),
    # init_weights=False: torch's default initialization (torchvision's truncated normal costs seconds here)
    "inception_v3": ("torchvision", lambda tv: tv.models.inception_v3(init_weights=False)),
    "regnet_y_400mf": ("torchvision", lambda tv: tv.models.regnet_y_400mf()),
    "mobilenet_v2": ("torchvision", lambda tv: tv.models.mobilenet_v2()),
    "mobilenet_v3_large": ("torchvision", lambda tv: tv.models.mobilenet_v3_large()),
    "mobilenet_v3_small": ("torchvision", lambda tv: tv.models.mobilenet_v3_small()),
    "mnasnet1_0": ("torchvision", lambda tv: tv.models.mnasnet1_0()),
    "shufflenet_v2_x1_0": ("torchvision", lambda tv: tv.models.shufflenet_v2_x1_0()),
    "efficientnet_b0": ("torchvision", lambda tv: tv.models.efficientnet_b0()),
    "convnext_tiny": ("torchvision", lambda tv: tv.models.convnext_tiny(layer_scale=0.5)),
    "vit": (
        "torchvision",
        lambda tv: tv.models.VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128, num_classes=10
        ),
    ),
    "swin_t": ("torchvision", lambda tv: tv.models.swin_t()),
    "deeplabv3_resnet50": (
        "torchvision",
        lambda tv: tv.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=True),
    ),
    "bert": ("transformers", _bert),
    # timm's ResNet keeps torchvision's state_dict names: a torchvision-style checkpoint from timm binds too.
    # zero_init_last=False: timm zeroes each block's last BatchNorm scale, which would hide every residual branch
    "resnet18@timm": ("timm", lambda timm: timm.create_model("resnet18", pretrained=False, zero_init_last=False)),
    "ghostnet_100": ("timm", lambda timm: timm.create_model("ghostnet_100", pretrained=False)),
    "convnextv2_atto": ("timm", lambda timm: _random_grn(timm.create_model("convnextv2_atto", pretrained=False))),
    "inception_v4": ("timm", lambda timm: timm.create_model("inception_v4", pretrained=False)),
    "hrnet_w18": ("timm", lambda timm: timm.create_model("hrnet_w18", pretrained=False)),
    "seresnet50": ("timm", lambda timm: timm.create_model("seresnet50", pretrained=False, zero_init_last=False)),
}


def _randomize_norm_stats(model: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)


def _feeds(entry: zoo.ZooEntry) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        name: rng.integers(0, entry.int_bound(name), shape).astype(dtype)
        if entry.int_bound(name)
        else rng.standard_normal(shape).astype(dtype)
        for name, (shape, dtype) in entry.test_inputs.items()
    }


def _outputs(result) -> list[np.ndarray]:
    """Upstream outputs in the zoo models' order: torchvision's segmentation dict, HF's ModelOutput fields."""
    if hasattr(result, "last_hidden_state"):
        result = (result.last_hidden_state, result.pooler_output)
    elif isinstance(result, dict):
        result = list(result.values())
    result = result if isinstance(result, (tuple, list)) else [result]
    return [r.detach().numpy() for r in result]


def _upstream(package: str, make):
    reason = upstream.available(package)
    if reason:
        pytest.skip(reason)
    torch.manual_seed(0)
    model = make(upstream.require(package)).eval()
    _randomize_norm_stats(model)
    return model


#: compared with the reference interpreter directly (one per family of builders: convolutions, attention, HF, timm,
#: and each tensorrtx family whose builder no other case covers); every other case is compared through its hand
#: twin, whose interpreter parity test_zoo.py checks
THROUGH_INTERPRETER = {
    "resnet18",
    "mobilenet_v3_large",
    "vit",
    "bert",
    "resnet18@timm",
    "mnasnet1_0",
    "seresnet50",
    "inception_v3",
    "ghostnet_100",
    "convnextv2_atto",
    "inception_v4",
    "hrnet_w18",
    "swin_t",
}


def _check(case: str, got: list[np.ndarray], want: list[np.ndarray], tol: float) -> None:
    assert len(got) == len(want), f"{case}: {len(got)} outputs, upstream has {len(want)}"
    for g, w in zip(got, want):
        assert g.shape == w.shape, case
        err = float(np.abs(g - w).max()) / max(float(np.abs(w).max()), 1e-6)
        assert err <= tol, f"{case}: {err:.3g} of max|upstream| > {tol}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_zoo_model_matches_the_upstream_model(case):
    """Upstream weights bind to the netdef model strictly; its output equals upstream's (through the interpreter,
    or through the hand twin holding the same weights, which test_zoo.py ties to the interpreter)."""
    name = case.split("@")[0]
    package, make = CASES[case]
    theirs = _upstream(package, make)
    entry = zoo.get(name)
    model = entry.netdef_model()
    state = theirs.state_dict()
    report = model.load_weights({k: v.numpy() for k, v in state.items()}, strict=True)  # every name and shape
    assert not report.missing and not report.unexpected
    feeds = _feeds(entry)
    args = [torch.from_numpy(v) for v in feeds.values()]
    with torch.no_grad():
        want = _outputs(theirs(*args))
    if case in THROUGH_INTERPRETER:
        inputs = {n: netdef.Input(shape, dtype) for n, (shape, dtype) in entry.test_inputs.items()}
        got = list(netdef.reference.run(netdef.define(model, inputs), feeds).values())
        _check(case, got, want, entry.fp32_tol)
    else:
        try:
            with torch.device("meta"):  # no initialization: every tensor is assigned from upstream's
                twin = entry.torch_model().eval()
        except NotImplementedError:  # a constructor that computes with tensors (RegNet's stage widths)
            twin = entry.torch_model().eval()
        twin.load_state_dict(state, strict=True, assign=True)
        with torch.no_grad():
            _check(case, _outputs(twin(*args)), want, 1e-6)


def test_timm_repvgg_binds_after_the_rename():
    """repvgg_a0 has the original RepVGG repository's names; timm's checkpoints bind through the twin's rename."""
    from netdef.zoo.twins.repvgg import rename_checkpoint_key

    theirs = _upstream("timm", lambda timm: timm.create_model("repvgg_a0", pretrained=False))
    entry = zoo.get("repvgg_a0")
    state = {rename_checkpoint_key(k): v for k, v in theirs.state_dict().items()}
    assert "stage1.1.rbr_identity.running_var" in state and "linear.weight" in state
    entry.netdef_model().load_weights({k: v.numpy() for k, v in state.items()}, strict=True)
    twin = entry.torch_model().eval()
    twin.load_state_dict(state, strict=True)
    x = torch.from_numpy(_feeds(entry)["x"])
    with torch.no_grad():
        _check("repvgg_a0@timm", _outputs(twin(x)), _outputs(theirs(x)), 1e-5)


def test_yolov5n_backbone_and_neck_match_ultralytics():
    """Layers 0-23 module by module against ultralytics' yolov5n.yaml (whose Detect head is the anchor-free one)."""
    reason = upstream.available("ultralytics")
    if reason:
        pytest.skip(reason)
    torch.manual_seed(0)
    theirs = upstream.ultralytics_detection_model("yolov5n.yaml")
    _randomize_norm_stats(theirs)
    entry = zoo.get("yolov5n")
    model, twin = entry.netdef_model(), entry.torch_model()
    state = {k: v.numpy() for k, v in twin.state_dict().items()}  # the anchor head from the hand twin...
    body = {k: v.numpy() for k, v in theirs.state_dict().items() if not k.startswith("model.24.")}
    assert set(body) == {k for k in state if not k.startswith("model.24.")}  # ...every other name is upstream's
    model.load_weights({**state, **body}, strict=True)
    report = netdef.parity.compare(model, theirs, _feeds(entry), "fp32")
    rows = {r.path: r for r in report.rows}
    for i in range(24):
        assert rows[f"model.{i}"].status == "ok", f"model.{i}: {rows[f'model.{i}'].reason}\n{report}"
