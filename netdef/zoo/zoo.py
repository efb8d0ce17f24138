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
    #: the tensorrtx folder this entry covers ("" where tensorrtx has none); README's table is written from it
    tensorrtx: str = ""
    #: where the state_dict names come from: a PyPI package (``upstream.PACKAGES``, which builds the model as the
    #: test oracle) or the ``owner/repository`` whose source the twin follows ("" = the twin alone)
    oracle: str = ""
    #: the dims one network may vary at run time (tested: tests/zoo/test_zoo_dynamic.py and the family's tests)
    dynamic: str = ""

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
    "lenet": ZooEntry("lenet", "LeNet", tensorrtx="lenet", test_inputs=_img(2, 32, 1), full_inputs=_img(1, 32, 1)),
    "mlp": ZooEntry(
        "mlp", "MLP", tensorrtx="mlp", test_inputs={"x": ((4, 64), "float32")}, full_inputs={"x": ((64, 64), "float32")}
    ),
    # -- classic ImageNet CNNs (torchvision names) --------------------------------------------------------
    # Tolerances: each is observed within 1.6e-6 (fp32) and 1.2e-3 (fp16) of max|torch| with the test's
    # seeds, so 1e-5 and 1e-2 leave a 6-8x margin; a wrong layer attribute misses by far more.
    # 64x64 still runs every stage of a resnet (layer4 sees 2x2).
    "resnet18": ZooEntry(
        "resnet",
        "resnet18",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    "resnet34": ZooEntry(
        "resnet",
        "resnet34",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    "resnet50": ZooEntry(
        "resnet",
        "resnet50",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    "resnet101": ZooEntry(
        "resnet",
        "resnet101",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # tensorrtx's resnet folder also builds these two: grouped (32x4d) and doubled-width 3x3 convs.
    # The larger tensorrtx families build one engine each in CI (fp16, what a deployment builds): their layer
    # kinds are the other zoo models', whose fp32 builds CI runs; interpreter parity runs in both precisions.
    "resnext50_32x4d": ZooEntry(
        "resnet",
        "resnext50_32x4d",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's SE-ResNet-50 (tensorrtx's senet): squeeze-excitation before each bottleneck's residual sum
    "seresnet50": ZooEntry(
        "resnet",
        "seresnet50",
        tensorrtx="senet",
        oracle="timm",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # 69 M parameters
    "wide_resnet50_2": ZooEntry(
        "resnet",
        "wide_resnet50_2",
        tensorrtx="resnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # 64x64: features end at 2x2, so the 7x7 adaptive pool replicates them (the gather path)
    "vgg16_bn": ZooEntry(
        "vgg",
        "vgg16_bn",
        tensorrtx="vgg",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 160x160: features end at 4x4, so the 6x6 adaptive pool averages overlapping windows
    "alexnet": ZooEntry(
        "alexnet",
        "alexnet",
        tensorrtx="alexnet",
        oracle="torchvision",
        test_inputs=_img(1, 160),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: three ceil-mode pools (31 -> 15 -> 7 -> 3)
    "squeezenet1_1": ZooEntry(
        "squeezenet",
        "squeezenet1_1",
        tensorrtx="squeezenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: every dense block and transition runs (block4 at 2x2)
    "densenet121": ZooEntry(
        "densenet",
        "densenet121",
        tensorrtx="densenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: ceil-mode pools 32 -> 16 -> 8 -> 4 -> 2; the aux classifiers hold checkpoint weights, emit nothing
    "googlenet": ZooEntry(
        "googlenet",
        "googlenet",
        tensorrtx="googlenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: stem and four stride-2 stages (2x2 at the end); squeeze-excitation and grouped convs
    "regnet_y_400mf": ZooEntry(
        "regnet", "regnet_y_400mf", oracle="torchvision", test_inputs=_img(1, 64), full_inputs=_img(1, 224), **_TOL
    ),
    # 107x107: the smallest input whose last grid (Mixed_7b/7c) is 2x2, so the 1x3 and 3x1 convs' padding counts
    # (75x75, torchvision's minimum, leaves it 1x1); the auxiliary classifier holds weights, emits nothing
    "inception_v3": ZooEntry(
        "inception",
        "inception_v3",
        tensorrtx="inception",
        oracle="torchvision",
        test_inputs=_img(1, 107),
        full_inputs=_img(1, 299),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's Inception v4 (42.7 M parameters); 107x107: the last grid is 2x2, as inception_v3's
    "inception_v4": ZooEntry(
        "inception_v4",
        "inception_v4",
        tensorrtx="inception",
        oracle="timm",
        test_inputs=_img(1, 107),
        full_inputs=_img(1, 299),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # timm's HRNet-W18 classifier (tensorrtx's hrnet); 64x64: the four branches run at 16, 8, 4 and 2 pixels
    "hrnet_w18": ZooEntry(
        "hrnet",
        "hrnet_w18",
        tensorrtx="hrnet",
        oracle="timm",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # training-time weights (three branches per block), folded into one 3x3 conv per block at emission;
    # 64x64: five stride-2 stages end at 2x2
    "repvgg_a0": ZooEntry(
        "repvgg",
        "repvgg_a0",
        tensorrtx="repvgg",
        oracle="DingXiaoH/RepVGG",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # -- mobile/modern CNNs, transformers, detection and segmentation (torchvision / HF / ultralytics names) --
    # Tolerances: every one of these is observed within 1.1e-6 (fp32) and 2.1e-3 (fp16) of max|torch|, so
    # 1e-5 and 1e-2 leave a 5-10x margin; a wrong layer attribute misses by far more.
    # 64x64: the stride-2 stages end at 2x2 (a 1x1 map would hide depthwise padding errors)
    "mobilenet_v2": ZooEntry(
        "mobilenetv2",
        "mobilenet_v2",
        tensorrtx="mobilenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    "mobilenet_v3_large": ZooEntry(
        "mobilenetv3",
        "mobilenet_v3_large",
        tensorrtx="mobilenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: its four stride-2 stages end at 2x2
    "mobilenet_v3_small": ZooEntry(
        "mobilenetv3",
        "mobilenet_v3_small",
        tensorrtx="mobilenet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # 64x64: the five stride-2 convs end at 2x2
    "mnasnet1_0": ZooEntry(
        "mnasnet",
        "mnasnet1_0",
        tensorrtx="mnasnet",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    "shufflenet_v2_x1_0": ZooEntry(
        "shufflenetv2",
        "shufflenet_v2_x1_0",
        tensorrtx="shufflenetv2",
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # timm's GhostNet (tensorrtx's ghostnet); 64x64: the five stride-2 stages end at 2x2
    "ghostnet_100": ZooEntry(
        "ghostnet",
        "ghostnet_100",
        tensorrtx="ghostnet",
        oracle="timm",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        build_precisions=("fp16",),
        **_TOL,
    ),
    "efficientnet_b0": ZooEntry(
        "efficientnet",
        "efficientnet_b0",
        tensorrtx="efficientnet",
        oracle="torchvision",
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
        oracle="torchvision",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
    ),
    # timm's ConvNeXt V2 (tensorrtx's convnextv2): V1's block without layer scale, with Global Response Norm;
    # 64x64: the last stage runs at 2x2 (GRN's spatial norm over four pixels)
    "convnextv2_atto": ZooEntry(
        "convnextv2",
        "convnextv2_atto",
        tensorrtx="convnextv2",
        oracle="timm",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 224),
        **_TOL,
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
        tensorrtx="vit",
        oracle="torchvision",
        dynamic="batch",
        test_inputs=_img(2, 32),
        full_inputs=_img(1, 32),
        **_TOL,
    ),
    # torchvision's Swin-T (tensorrtx's swin-transformer); 112x112: stage 1 has 4x4 windows of 7x7 tokens and
    # stage 2 2x2 (both with the shifted, masked layout), stage 3 one window, stage 4 pads 4x4 tokens to 7x7
    "swin_t": ZooEntry(
        "swin_transformer",
        "swin_t",
        tensorrtx="swin-transformer",
        oracle="torchvision",
        dynamic="batch",
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
        oracle="transformers",
        dynamic="batch, sequence",
        test_inputs={n: ((2, 8), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
        full_inputs={n: ((1, 32), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
        vocab={"input_ids": 100, "attention_mask": 2, "token_type_ids": 2},
        **_TOL,
    ),
    # 20x24: odd sizes on the way down (5, 3), so the decoder pads before concatenating
    "unet": ZooEntry(
        "unet",
        "UNet",
        tensorrtx="unet",
        oracle="milesial/Pytorch-UNet",
        dynamic="H, W",
        test_inputs={"x": ((1, 3, 20, 24), "float32")},
        full_inputs=_img(1, 512),
        **_TOL,
    ),
    "unet_bilinear": ZooEntry(
        "unet",
        "UNet",
        {"bilinear": True},
        tensorrtx="unet",
        oracle="milesial/Pytorch-UNet",
        dynamic="H, W",
        test_inputs={"x": ((1, 3, 20, 24), "float32")},
        full_inputs=_img(1, 512),
        **_TOL,
    ),
    # 64x64: three raw head maps at 8x8, 4x4, 2x2
    "yolov5n": ZooEntry(
        "yolov5",
        "yolov5n",
        tensorrtx="yolov5",
        oracle="ultralytics/yolov5",
        dynamic="H, W (multiples of 32)",
        test_inputs=_img(1, 64),
        full_inputs=_img(1, 640),
        **_TOL,
    ),
    # YOLOv8 / YOLO11, every task, and the anchor-free YOLOv5u / YOLOv6, named as ultralytics' checkpoints (the twin is ultralytics' own model of that
    # yaml, decode included). 64x96: P3/P4/P5 maps of 8x12, 4x6, 2x3 (non-square, so a swapped anchor axis fails);
    # detection observed within 1.3e-7 (fp32) and 5e-4 (fp16) of max|ultralytics|, the other heads within 1e-6
    # (fp32). One real build each (fp16, what a deployment builds). The classifiers at 64x64 (2x2 before the
    # pool).
    **{
        name: ZooEntry(
            "yolo",
            name.replace("-", "_"),
            # YOLOv5u is tensorrtx's yolov5 with ultralytics' anchor-free head; tensorrtx has no YOLOv6 folder
            tensorrtx="" if name.startswith("yolov6") else name[:6],  # yolov8n-seg -> yolov8, yolov5nu -> yolov5
            oracle="ultralytics",
            dynamic="batch, H, W",
            test_inputs={"x": ((1, 3, 64, 64) if name.endswith("-cls") else (1, 3, 64, 96), "float32")},
            full_inputs=_img(1, 224 if name.endswith("-cls") else 640),
            build_precisions=("fp16",),
            **_TOL,
        )
        for name in (
            *("yolov8n", "yolov8s", "yolo11n", "yolov5nu", "yolov6n"),
            *(f"{family}n-{task}" for family in ("yolov8", "yolo11") for task in ("seg", "pose", "obb", "cls")),
        )
    },
    # transformers' DetrForObjectDetection (its own ResNet backbone) narrowed: a 4-stage bottleneck ResNet, one
    # encoder and two decoder layers, d_model 32, 10 queries (netdef.zoo.detr.detr_resnet50() is the full one).
    # 64x96: the stride-32 map is 2x3 (non-square, so swapped sine-embedding axes fail)
    "detr_resnet50": ZooEntry(
        "detr",
        "DetrForObjectDetection",
        {
            "d_model": 32,
            "encoder_layers": 1,
            "decoder_layers": 2,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 64,
            "decoder_ffn_dim": 64,
            "num_queries": 10,
            "num_labels": 5,
            "backbone_embedding_size": 16,
            "backbone_hidden_sizes": (16, 32, 64, 128),
            "backbone_depths": (1, 2, 1, 1),
        },
        tensorrtx="detr",
        oracle="transformers",
        dynamic="batch, H, W",
        test_inputs={"pixel_values": ((1, 3, 64, 96), "float32")},
        full_inputs={"pixel_values": ((1, 3, 800, 1066), "float32")},
        build_precisions=("fp16",),
        **_TOL,
    ),
    # Real-ESRGAN's RRDBNet (BasicSR's names) narrowed: one RRDB, 8 features (netdef.zoo.rrdbnet.realesrgan_x4plus()
    # is the full 23-block one); 12x20 -> 48x80. x2plus first folds 2x2 blocks into channels (pixel unshuffle).
    **{
        name: ZooEntry(
            "rrdbnet",
            "RRDBNet",
            {"scale": scale, "num_feat": 8, "num_block": 1, "num_grow_ch": 4},
            tensorrtx="real-esrgan",
            oracle="XPixelGroup/BasicSR",
            dynamic="batch, H, W" if scale == 4 else "batch, H, W (even)",
            test_inputs={"x": ((1, 3, 12, 20), "float32")},
            full_inputs=_img(1, 256),
            **_TOL,
        )
        for name, scale in (("realesrgan_x4plus", 4), ("realesrgan_x2plus", 2))
    },
    # CSRNet (leeyeehoo/CSRNet-pytorch's names) at 1/8 width; 32x40: the density map is 4x5, so the backend's
    # dilation-2 taps reach real pixels on both axes
    "csrnet": ZooEntry(
        "csrnet",
        "CSRNet",
        {
            "frontend_feat": (8, 8, "M", 16, 16, "M", 32, 32, 32, "M", 64, 64, 64),
            "backend_feat": (64, 64, 64, 32, 16, 8),
        },
        tensorrtx="csrnet",
        oracle="leeyeehoo/CSRNet-pytorch",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 3, 32, 40), "float32")},
        full_inputs=_img(1, 512),
        **_TOL,
    ),
    # insightface's IResNet (arcface_torch's names; tensorrtx's arcface) with one block per stage and fc sized for
    # 32x32 crops (netdef.zoo.iresnet.iresnet50()/iresnet100() are the 112x112 ones); layer4 runs at 2x2
    "iresnet": ZooEntry(
        "iresnet",
        "IResNet",
        {"layers": (1, 1, 1, 1), "num_features": 64, "input_size": 32},
        tensorrtx="arcface",
        oracle="deepinsight/insightface",
        test_inputs=_img(2, 32),
        full_inputs=_img(1, 32),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # LPRNet (sirius-ai/LPRNet_Pytorch's names; tensorrtx's lprnet) at its fixed 24x94 plate crop, 68 classes
    "lprnet": ZooEntry(
        "lprnet",
        "lprnet",
        tensorrtx="lprnet",
        oracle="sirius-ai/LPRNet_Pytorch",
        test_inputs={"x": ((1, 3, 24, 94), "float32")},
        full_inputs={"x": ((1, 3, 24, 94), "float32")},
        **_TOL,
    ),
    # RetinaFace-R50 (biubug6/Pytorch_Retinaface's names; tensorrtx's retinaface) with one bottleneck per stage and
    # 64-channel FPN/SSH (netdef.zoo.retinaface.retinaface_resnet50() is the full one); 64x96: the stride-8/16/32
    # maps are 8x12, 4x6 and 2x3 (non-square, so a swapped FPN resize fails), 252 anchors
    "retinaface_resnet50": ZooEntry(
        "retinaface",
        "RetinaFace",
        {"out_channel": 64, "layers": (1, 1, 1, 1)},
        tensorrtx="retinaface",
        oracle="biubug6/Pytorch_Retinaface",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 3, 64, 96), "float32")},
        full_inputs=_img(1, 640),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # SuperPoint (magicleap/SuperPointPretrainedNetwork's names; tensorrtx's superpoint), 1.3 M parameters at full
    # width; 32x40 grayscale: 4x5 cells
    "superpoint": ZooEntry(
        "superpoint",
        "superpoint",
        tensorrtx="superpoint",
        oracle="magicleap/SuperPointPretrainedNetwork",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 1, 32, 40), "float32")},
        full_inputs={"x": ((1, 1, 480, 640), "float32")},
        **_TOL,
    ),
    # Ultra-Fast-Lane-Detection's parsingNet (cfzd's names; tensorrtx's ufld) with a ResNet-18 at 64x96 (the
    # stride-32 map is 2x3, so cls reads 48 features; netdef.zoo.ufld.ufld_tusimple_18() is the 288x800 one)
    "ufld": ZooEntry(
        "ufld",
        "parsingNet",
        {"size": (64, 96), "backbone": "18", "cls_dim": (11, 6, 4)},
        tensorrtx="ufld",
        oracle="cfzd/Ultra-Fast-Lane-Detection",
        test_inputs={"x": ((2, 3, 64, 96), "float32")},
        full_inputs={"x": ((1, 3, 64, 96), "float32")},
        build_precisions=("fp16",),
        **_TOL,
    ),
    # TSM (mit-han-lab/temporal-shift-module's TSN names; tensorrtx's tsm) with one bottleneck per stage and 4
    # segments (netdef.zoo.tsm.tsm_resnet50() is the 8-segment Kinetics one); 2 clips of 4 frames at 64x64
    "tsm": ZooEntry(
        "tsm",
        "TSN",
        {"num_class": 10, "num_segments": 4, "layers": (1, 1, 1, 1)},
        tensorrtx="tsm",
        oracle="mit-han-lab/temporal-shift-module",
        dynamic="batch, H, W",
        test_inputs={"x": ((2, 12, 64, 64), "float32")},
        full_inputs={"x": ((1, 24, 224, 224), "float32")},
        build_precisions=("fp16",),
        **_TOL,
    ),
    # IBN-Net ResNet-50s (XingangPan/IBN-Net's names; tensorrtx's ibnnet) narrowed: two blocks in layer1/2 (IBN-b
    # ends only a stage's last block with an InstanceNorm), one in layer3/4; 64x64 with a 2x2 final pool
    **{
        name: ZooEntry(
            "ibnnet",
            "ResNet_IBN",
            {"layers": (2, 2, 1, 1), "ibn_cfg": cfg, "num_classes": 10, "pool_size": 2},
            tensorrtx="ibnnet",
            oracle="XingangPan/IBN-Net",
            test_inputs=_img(1, 64),
            full_inputs=_img(1, 64),
            build_precisions=("fp16",),
            **_TOL,
        )
        for name, cfg in (("resnet50_ibn_a", ("a", "a", "a", None)), ("resnet50_ibn_b", ("b", "b", None, None)))
    },
    # 97x120: the dilated layer4 map is 13x15, so the rate-12 ASPP taps reach real pixels; aux head included
    "deeplabv3_resnet50": ZooEntry(
        "deeplabv3",
        "deeplabv3_resnet50",
        {"aux_loss": True},
        oracle="torchvision",
        dynamic="H, W",
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
        tensorrtx="crnn",
        oracle="meijieru/crnn.pytorch",
        dynamic="W",
        test_inputs={"x": ((1, 1, 32, 40), "float32")},
        full_inputs={"x": ((1, 1, 32, 100), "float32")},
        **_TOL,
    ),
    # -- tensorrtx detection families outside ultralytics (twins follow the original repositories) -------------
    # yolov7-tiny and YOLOv7 (WongKinYiu/yolov7 deploy yamls, decode included; YOLOv7 at a quarter of its widths,
    # 2.4M parameters: netdef.zoo.yolov7.yolov7() is the released one). 64x96: P3/P4/P5 maps of 8x12, 4x6, 2x3;
    # observed within 1.1e-6 (fp32) and 1.4e-3 (fp16) of max|twin|. One real build each (fp16).
    "yolov7-tiny": ZooEntry(
        "yolov7",
        "yolov7_tiny",
        tensorrtx="yolov7",
        oracle="WongKinYiu/yolov7",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 3, 64, 96), "float32")},
        full_inputs=_img(1, 640),
        build_precisions=("fp16",),
        **_TOL,
    ),
    "yolov7": ZooEntry(
        "yolov7",
        "yolov7",
        {"width_multiple": 0.25},
        tensorrtx="yolov7",
        oracle="WongKinYiu/yolov7",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 3, 64, 96), "float32")},
        full_inputs=_img(1, 640),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # YOLOP (hustvl/YOLOP): detection (decoded) plus drivable-area and lane-line maps at the input size; 64x96
    # as above, observed within 7.7e-7 (fp32) and 9.6e-4 (fp16) of max|twin|. One real build (fp16).
    "yolop": ZooEntry(
        "yolop",
        "yolop",
        tensorrtx="yolop",
        oracle="hustvl/YOLOP",
        dynamic="batch, H, W",
        test_inputs={"x": ((1, 3, 64, 96), "float32")},
        full_inputs=_img(1, 640),
        build_precisions=("fp16",),
        **_TOL,
    ),
    # YOLOv4 (ultralytics/yolov3 archive's Darknet, yolov4.cfg) and YOLOv4-CSP (WongKinYiu/ScaledYOLOv4 yolov4-csp
    # branch) as Darknet cfg sections, at a quarter of their widths (4.1M / 3.4M parameters; netdef.zoo.darknet's
    # yolov4() / yolov4_csp() are the released 64.4M / 52.9M ones): 64x96 as above, observed within 9.2e-7 (fp32)
    # and 1.3e-3 (fp16) of max|twin|. One real build each (fp16).
    **{
        name: ZooEntry(
            "darknet",
            name.replace("-", "_"),
            {"width": 0.25},
            tensorrtx="yolov4" if name == "yolov4" else "scaled-yolov4",
            oracle="ultralytics/yolov3" if name == "yolov4" else "WongKinYiu/ScaledYOLOv4",
            dynamic="batch, H, W",
            test_inputs={"x": ((1, 3, 64, 96), "float32")},
            full_inputs=_img(1, 608 if name == "yolov4" else 512),
            build_precisions=("fp16",),
            **_TOL,
        )
        for name in ("yolov4", "yolov4-csp")
    },
}


def get(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"no zoo model {name!r}; the zoo has {', '.join(sorted(ZOO))}") from None


def names() -> list[str]:
    return sorted(ZOO)
