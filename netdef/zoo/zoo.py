"""The zoo registry: every model by name, with its torch twin and the input sizes the tests and examples use.

Each entry's twin has the same module structure and state_dict names as the netdef model (and, for
torchvision/timm architectures, as that library's model), so real pretrained weights export and bind
unchanged. Where the library builds the model with no download, the twin is the library's model itself
(YOLOv8/YOLO11: ultralytics' DetectionModel; netdef.zoo.upstream.Unavailable when it is not installed).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZooEntry:
    """``netdef.zoo.<module>.<cls>`` (netdef) and ``netdef.zoo.twins.<module>.<cls>`` (torch), built with ``kwargs``."""

    module: str
    cls: str
    kwargs: dict = field(default_factory=dict)
    #: input name -> (shape, dtype) for CI-size checks (small but real: every stage runs)
    test_inputs: dict = field(default_factory=dict)
    #: input name -> (shape, dtype) at the architecture's usual size (examples, benchmarks)
    full_inputs: dict = field(default_factory=dict)
    #: reference-vs-torch tolerance in fp32, as a fraction of the output's largest magnitude
    fp32_tol: float = 1e-4
    #: and in fp16 (weights, activations and layer outputs rounded to half precision)
    fp16_tol: float = 3e-2
    #: integer inputs: exclusive upper bound of random token ids (0 = float inputs); a dict gives one bound
    #: per input name (token ids < vocab_size, attention_mask < 2, ...)
    vocab: int | dict = 0
    #: the precisions the zoo test builds a real engine in (one build for the slowest models)
    build_precisions: tuple[str, ...] = ("fp32", "fp16")

    def int_bound(self, name: str) -> int:
        """Exclusive upper bound of the random values fed to integer input ``name`` (0: none given)."""
        return self.vocab.get(name, 0) if isinstance(self.vocab, dict) else self.vocab

    def netdef_model(self):
        return getattr(importlib.import_module(f"netdef.zoo.{self.module}"), self.cls)(**self.kwargs)

    def torch_model(self):
        return getattr(importlib.import_module(f"netdef.zoo.twins.{self.module}"), self.cls)(**self.kwargs)


def _img(n: int, size: int, channels: int = 3) -> dict:
    return {"x": ((n, channels, size, size), "float32")}


#: what every zoo model is held to: the largest errors seen are ~1.6e-6 (fp32) and ~2e-3 (fp16) of the output's
#: largest magnitude, so these leave a 5-10x margin while a wrong attribute misses by far more
_TOL = {"fp32_tol": 1e-5, "fp16_tol": 1e-2}

ZOO: dict[str, ZooEntry] = {
    "lenet": ZooEntry("lenet", "LeNet", test_inputs=_img(2, 32, 1), full_inputs=_img(1, 32, 1)),
    "mlp": ZooEntry("mlp", "MLP", test_inputs={"x": ((4, 64), "float32")}, full_inputs={"x": ((64, 64), "float32")}),
    # -- classic ImageNet CNNs (torchvision names) --------------------------------------------------------
    # Tolerances: each is observed within 1.6e-6 (fp32) and 1.2e-3 (fp16) of max|torch| with the test's
    # seeds, so 1e-5 and 1e-2 leave a 6-8x margin; a wrong layer attribute misses by far more.
    # 64x64 still runs every stage of a resnet (layer4 sees 2x2).
    "resnet18": ZooEntry("resnet", "resnet18", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    "resnet34": ZooEntry("resnet", "resnet34", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    "resnet50": ZooEntry("resnet", "resnet50", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    "resnet101": ZooEntry("resnet", "resnet101", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # tensorrtx's resnet folder also builds these two: grouped (32x4d) and doubled-width 3x3 convs.
    # The larger tensorrtx families build one engine each in CI (fp16, what a deployment builds): their layer
    # kinds are the other zoo models', whose fp32 builds CI runs; interpreter parity runs in both precisions.
    "resnext50_32x4d": ZooEntry(
        "resnet",
        "resnext50_32x4d",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's SE-ResNet-50 (tensorrtx's senet): squeeze-excitation before each bottleneck's residual sum
    "seresnet50": ZooEntry(
        "resnet", "seresnet50", test_inputs=_img(1, 64), full_inputs=_img(1, 224), build_precisions=("fp16",), **_TOL
    ),
    # 69 M parameters
    "wide_resnet50_2": ZooEntry(
        "resnet",
        "wide_resnet50_2",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # 64x64: features end at 2x2, so the 7x7 adaptive pool replicates them (the gather path)
    "vgg16_bn": ZooEntry("vgg", "vgg16_bn", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # 160x160: features end at 4x4, so the 6x6 adaptive pool averages overlapping windows
    "alexnet": ZooEntry("alexnet", "alexnet", test_inputs=_img(1, 160), full_inputs=_img(1, 224), **_TOL),
    # 64x64: three ceil-mode pools (31 -> 15 -> 7 -> 3)
    "squeezenet1_1": ZooEntry("squeezenet", "squeezenet1_1", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # 64x64: every dense block and transition runs (block4 at 2x2)
    "densenet121": ZooEntry("densenet", "densenet121", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # 64x64: ceil-mode pools 32 -> 16 -> 8 -> 4 -> 2; the aux classifiers hold checkpoint weights, emit nothing
    "googlenet": ZooEntry("googlenet", "googlenet", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # 64x64: stem and four stride-2 stages (2x2 at the end); squeeze-excitation and grouped convs
    "regnet_y_400mf": ZooEntry("regnet", "regnet_y_400mf", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # 107x107: the smallest input whose last grid (Mixed_7b/7c) is 2x2, so the 1x3 and 3x1 convs' padding counts
    # (75x75, torchvision's minimum, leaves it 1x1); the auxiliary classifier holds weights, emits nothing
    "inception_v3": ZooEntry(
        "inception",
        "inception_v3",
        test_inputs=_img(1, 107),
        full_inputs=_img(1, 299),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's Inception v4 (42.7 M parameters); 107x107: the last grid is 2x2, as inception_v3's
    "inception_v4": ZooEntry(
        "inception_v4",
        "inception_v4",
        test_inputs=_img(1, 107),
        full_inputs=_img(1, 299),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's HRNet-W18 classifier (tensorrtx's hrnet); 64x64: the four branches run at 16, 8, 4 and 2 pixels
    "hrnet_w18": ZooEntry(
        "hrnet", "hrnet_w18", test_inputs=_img(1, 64), full_inputs=_img(1, 224), build_precisions=("fp16",), **_TOL
    ),
    # training-time weights (three branches per block), folded into one 3x3 conv per block at emission;
    # 64x64: five stride-2 stages end at 2x2
    "repvgg_a0": ZooEntry("repvgg", "repvgg_a0", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    # -- mobile/modern CNNs, transformers, detection and segmentation (torchvision / HF / ultralytics names) --
    # Tolerances: every one of these is observed within 1.1e-6 (fp32) and 2.1e-3 (fp16) of max|torch|, so
    # 1e-5 and 1e-2 leave a 5-10x margin; a wrong layer attribute misses by far more.
    # 64x64: the stride-2 stages end at 2x2 (a 1x1 map would hide depthwise padding errors)
    "mobilenet_v2": ZooEntry("mobilenetv2", "mobilenet_v2", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    "mobilenet_v3_large": ZooEntry(
        "mobilenetv3",
        "mobilenet_v3_large",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: its four stride-2 stages end at 2x2
    "mobilenet_v3_small": ZooEntry(
        "mobilenetv3",
        "mobilenet_v3_small",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: the five stride-2 convs end at 2x2
    "mnasnet1_0": ZooEntry("mnasnet", "mnasnet1_0", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL),
    "shufflenet_v2_x1_0": ZooEntry(
        "shufflenetv2",
        "shufflenet_v2_x1_0",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # timm's GhostNet (tensorrtx's ghostnet); 64x64: the five stride-2 stages end at 2x2
    "ghostnet_100": ZooEntry(
        "ghostnet",
        "ghostnet_100",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    "efficientnet_b0": ZooEntry(
        "efficientnet",
        "efficientnet_b0",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # layer_scale: torchvision initializes it to 1e-6, which would hide every block's branch from the check;
    # pretrained checkpoints overwrite it anyway. 64x64: the last stage runs at 2x2.
    "convnext_tiny": ZooEntry(
        "convnext",
        "convnext_tiny",
        {"layer_scale": 0.5},
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # timm's ConvNeXt V2 (tensorrtx's convnextv2): V1's block without layer scale, with Global Response Norm;
    # 64x64: the last stage runs at 2x2 (GRN's spatial norm over four pixels)
    "convnextv2_atto": ZooEntry(
        "convnextv2", "convnextv2_atto", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL
    ),
    # a tiny ViT (vit_b_16's names and structure; netdef.zoo.vision_transformer.vit_b_16 is the full one)
    "vit": ZooEntry(
        "vision_transformer",
        "VisionTransformer",
        {
            "image_size": 32,
            "patch_size": 8,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "mlp_dim": 128,
            "num_classes": 10,
        },
        test_inputs=_img(2, 32),
        full_inputs=_img(1, 32),
        **_TOL,
    ),
    # torchvision's Swin-T (tensorrtx's swin-transformer); 112x112: stage 1 has 4x4 windows of 7x7 tokens and
    # stage 2 2x2 (both with the shifted, masked layout), stage 3 one window, stage 4 pads 4x4 tokens to 7x7
    "swin_t": ZooEntry(
        "swin_transformer",
        "swin_t",
        test_inputs=_img(1, 112),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # a tiny BERT (HF BertModel names); the random attention_mask has no all-padding row
    "bert": ZooEntry(
        "bert",
        "BertModel",
        {
            "vocab_size": 100,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "max_position_embeddings": 32,
        },
        test_inputs={n: ((2, 8), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
        full_inputs={n: ((1, 32), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
        vocab={"input_ids": 100, "attention_mask": 2, "token_type_ids": 2},
        **_TOL,
    ),
    # 20x24: odd sizes on the way down (5, 3), so the decoder pads before concatenating
    "unet": ZooEntry(
        "unet",
        "UNet",
        test_inputs={"x": ((1, 3, 20, 24), "float32")},
        full_inputs=_img(1, 512),
        **_TOL,
    ),
    "unet_bilinear": ZooEntry(
        "unet",
        "UNet",
        {"bilinear": True},
        test_inputs={"x": ((1, 3, 20, 24), "float32")},
        full_inputs=_img(1, 512),
        **_TOL,
    ),
    # 64x64: three raw head maps at 8x8, 4x4, 2x2
    "yolov5n": ZooEntry("yolov5", "yolov5n", test_inputs=_img(1, 64), full_inputs=_img(1, 640), **_TOL),
    # YOLOv8 / YOLO11 (ultralytics' names; the twin is ultralytics' own DetectionModel, decode included).
    # 64x96: P3/P4/P5 maps of 8x12, 4x6, 2x3 (non-square, so a swapped anchor axis fails); observed within
    # 1.3e-7 (fp32) and 5e-4 (fp16) of max|ultralytics|. One real build each (fp16, what a deployment builds).
    **{
        name: ZooEntry(
            "yolo",
            name,
            test_inputs={"x": ((1, 3, 64, 96), "float32")},
            full_inputs=_img(1, 640),
            build_precisions=("fp16",),
            **_TOL,
        )
        for name in ("yolov8n", "yolov8s", "yolo11n")
    },
    # 97x120: the dilated layer4 map is 13x15, so the rate-12 ASPP taps reach real pixels; aux head included
    "deeplabv3_resnet50": ZooEntry(
        "deeplabv3",
        "deeplabv3_resnet50",
        {"aux_loss": True},
        test_inputs={"x": ((1, 3, 97, 120), "float32")},
        full_inputs=_img(1, 520),
        **_TOL,
    ),
    # -- sequence models -------------------------------------------------------------------------------------
    # tensorrtx's CRNN narrowed (netdef.zoo.crnn.crnn() is the full 512-channel, 256-hidden one): the CNN, two
    # bidirectional LSTMs as TensorRT loops; 32x40 gives 11 time steps
    "crnn": ZooEntry(
        "crnn",
        "crnn",
        {"nh": 32, "channels": (16, 32, 64, 64, 64, 64, 64)},
        test_inputs={"x": ((1, 1, 32, 40), "float32")},
        full_inputs={"x": ((1, 1, 32, 100), "float32")},
        **_TOL,
    ),
}


def get(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"no zoo model {name!r}; the zoo has {', '.join(sorted(ZOO))}") from None


def names() -> list[str]:
    return sorted(ZOO)
