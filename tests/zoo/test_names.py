"""Upstream state_dict names, shapes and parameter counts of the zoo's torchvision / HF / ultralytics models.

The expected names, shapes and counts below are the upstream libraries' (torchvision's published
``num_params``, Hugging Face bert-base-uncased, ultralytics' model summaries), written down here so that
neither the netdef model nor its torch twin can drift from them: a checkpoint of the real library binds
with ``strict=True`` only if every name and shape agrees. The twins are built on torch's meta device
(shapes without memory), so full-size configurations cost nothing.
"""

from __future__ import annotations

import importlib

import pytest
import torch

# (module, factory, kwargs) -> (parameter count or None, {state_dict key: shape}, keys that must be absent)
CASES = {
    "mobilenet_v2": (
        ("mobilenetv2", "mobilenet_v2", {}),
        3_504_872,
        {
            "features.0.0.weight": (32, 3, 3, 3),
            "features.0.1.running_var": (32,),
            "features.1.conv.0.0.weight": (32, 1, 3, 3),
            "features.1.conv.1.weight": (16, 32, 1, 1),
            "features.1.conv.2.weight": (16,),
            "features.2.conv.0.0.weight": (96, 16, 1, 1),
            "features.2.conv.1.0.weight": (96, 1, 3, 3),
            "features.2.conv.2.weight": (24, 96, 1, 1),
            "features.2.conv.3.num_batches_tracked": (),
            "features.18.0.weight": (1280, 320, 1, 1),
            "classifier.1.weight": (1000, 1280),
        },
        (),
    ),
    "mobilenet_v3_large": (
        ("mobilenetv3", "mobilenet_v3_large", {}),
        5_483_032,
        {
            "features.0.0.weight": (16, 3, 3, 3),
            "features.1.block.0.0.weight": (16, 1, 3, 3),
            "features.4.block.2.fc1.weight": (24, 72, 1, 1),
            "features.4.block.2.fc2.bias": (72,),
            "features.4.block.3.0.weight": (40, 72, 1, 1),
            "features.16.0.weight": (960, 160, 1, 1),
            "classifier.0.weight": (1280, 960),
            "classifier.3.weight": (1000, 1280),
        },
        ("features.1.block.2.fc1.weight",),
    ),
    "shufflenet_v2_x1_0": (
        ("shufflenetv2", "shufflenet_v2_x1_0", {}),
        2_278_604,
        {
            "conv1.0.weight": (24, 3, 3, 3),
            "stage2.0.branch1.0.weight": (24, 1, 3, 3),
            "stage2.0.branch1.2.weight": (58, 24, 1, 1),
            "stage2.0.branch2.0.weight": (58, 24, 1, 1),
            "stage2.1.branch2.0.weight": (58, 58, 1, 1),
            "stage4.3.branch2.6.running_mean": (232,),
            "conv5.0.weight": (1024, 464, 1, 1),
            "fc.weight": (1000, 1024),
        },
        ("stage2.1.branch1.0.weight",),
    ),
    "efficientnet_b0": (
        ("efficientnet", "efficientnet_b0", {}),
        5_288_548,
        {
            "features.0.0.weight": (32, 3, 3, 3),
            "features.1.0.block.0.0.weight": (32, 1, 3, 3),
            "features.1.0.block.1.fc1.weight": (8, 32, 1, 1),
            "features.1.0.block.2.0.weight": (16, 32, 1, 1),
            "features.2.0.block.0.0.weight": (96, 16, 1, 1),
            "features.2.0.block.2.fc1.weight": (4, 96, 1, 1),
            "features.7.0.block.3.1.running_var": (320,),
            "features.8.0.weight": (1280, 320, 1, 1),
            "classifier.1.weight": (1000, 1280),
        },
        (),
    ),
    "convnext_tiny": (
        ("convnext", "convnext_tiny", {}),
        28_589_128,
        {
            "features.0.0.weight": (96, 3, 4, 4),
            "features.0.1.weight": (96,),
            "features.1.0.block.0.weight": (96, 1, 7, 7),
            "features.1.0.block.2.weight": (96,),
            "features.1.0.block.3.weight": (384, 96),
            "features.1.0.block.5.weight": (96, 384),
            "features.1.0.layer_scale": (96, 1, 1),
            "features.2.0.bias": (96,),
            "features.2.1.weight": (192, 96, 2, 2),
            "features.5.8.layer_scale": (384, 1, 1),
            "features.7.2.block.3.bias": (3072,),
            "classifier.0.weight": (768,),
            "classifier.2.weight": (1000, 768),
        },
        (),
    ),
    "vit_b_16": (
        ("vision_transformer", "vit_b_16", {}),
        86_567_656,
        {
            "conv_proj.weight": (768, 3, 16, 16),
            "class_token": (1, 1, 768),
            "encoder.pos_embedding": (1, 197, 768),
            "encoder.layers.encoder_layer_0.ln_1.weight": (768,),
            "encoder.layers.encoder_layer_0.self_attention.in_proj_weight": (2304, 768),
            "encoder.layers.encoder_layer_0.self_attention.in_proj_bias": (2304,),
            "encoder.layers.encoder_layer_0.self_attention.out_proj.weight": (768, 768),
            "encoder.layers.encoder_layer_0.ln_2.bias": (768,),
            "encoder.layers.encoder_layer_0.mlp.0.weight": (3072, 768),
            "encoder.layers.encoder_layer_11.mlp.3.weight": (768, 3072),
            "encoder.ln.weight": (768,),
            "heads.head.weight": (1000, 768),
        },
        ("encoder.layers.encoder_layer_12.ln_1.weight",),
    ),
    "bert_base": (
        ("bert", "BertModel", {}),
        109_482_240,
        {
            "embeddings.word_embeddings.weight": (30522, 768),
            "embeddings.position_embeddings.weight": (512, 768),
            "embeddings.token_type_embeddings.weight": (2, 768),
            "embeddings.LayerNorm.weight": (768,),
            "encoder.layer.0.attention.self.query.weight": (768, 768),
            "encoder.layer.0.attention.self.key.bias": (768,),
            "encoder.layer.0.attention.self.value.weight": (768, 768),
            "encoder.layer.0.attention.output.dense.weight": (768, 768),
            "encoder.layer.0.attention.output.LayerNorm.bias": (768,),
            "encoder.layer.0.intermediate.dense.weight": (3072, 768),
            "encoder.layer.0.output.dense.weight": (768, 3072),
            "encoder.layer.11.output.LayerNorm.weight": (768,),
            "pooler.dense.weight": (768, 768),
        },
        ("embeddings.position_ids", "embeddings.token_type_ids"),
    ),
    "unet": (
        ("unet", "UNet", {"n_channels": 3, "n_classes": 2}),
        31_037_698,
        {
            "inc.double_conv.0.weight": (64, 3, 3, 3),
            "inc.double_conv.1.running_mean": (64,),
            "down1.maxpool_conv.1.double_conv.0.weight": (128, 64, 3, 3),
            "down4.maxpool_conv.1.double_conv.3.weight": (1024, 1024, 3, 3),
            "up1.up.weight": (1024, 512, 2, 2),
            "up1.up.bias": (512,),
            "up1.conv.double_conv.0.weight": (512, 1024, 3, 3),
            "up4.conv.double_conv.4.weight": (64,),
            "outc.conv.weight": (2, 64, 1, 1),
            "outc.conv.bias": (2,),
        },
        ("inc.double_conv.0.bias",),
    ),
    "unet_bilinear": (
        ("unet", "UNet", {"n_channels": 3, "n_classes": 2, "bilinear": True}),
        None,
        {
            "down4.maxpool_conv.1.double_conv.3.weight": (512, 512, 3, 3),
            "up1.conv.double_conv.0.weight": (512, 1024, 3, 3),
            "up1.conv.double_conv.3.weight": (256, 512, 3, 3),
            "up4.conv.double_conv.0.weight": (64, 128, 3, 3),
        },
        ("up1.up.weight",),
    ),
    "yolov5s": (
        ("yolov5", "yolov5s", {}),
        7_235_389,
        {
            "model.0.conv.weight": (32, 3, 6, 6),
            "model.0.bn.weight": (32,),
            "model.2.cv1.conv.weight": (32, 64, 1, 1),
            "model.2.m.0.cv1.conv.weight": (32, 32, 1, 1),
            "model.2.m.0.cv2.conv.weight": (32, 32, 3, 3),
            "model.2.cv3.conv.weight": (64, 64, 1, 1),
            "model.6.m.2.cv2.bn.running_var": (128,),
            "model.9.cv2.conv.weight": (512, 1024, 1, 1),
            "model.13.cv1.conv.weight": (128, 512, 1, 1),
            "model.24.m.0.weight": (255, 128, 1, 1),
            "model.24.m.2.bias": (255,),
            "model.24.anchors": (3, 3, 2),
        },
        ("model.6.m.3.cv1.conv.weight", "model.11.weight"),
    ),
    "yolov5n": (("yolov5", "yolov5n", {}), 1_872_157, {"model.24.m.2.weight": (255, 256, 1, 1)}, ()),
    # tensorrtx's classification families: torchvision's published num_params, timm's model summaries
    "resnext50_32x4d": (
        ("resnet", "resnext50_32x4d", {}),
        25_028_904,
        {"layer1.0.conv2.weight": (128, 4, 3, 3), "layer4.2.conv2.weight": (1024, 32, 3, 3)},
        (),
    ),
    "wide_resnet50_2": (
        ("resnet", "wide_resnet50_2", {}),
        68_883_240,
        {"layer1.0.conv1.weight": (128, 64, 1, 1), "layer4.0.conv2.weight": (1024, 1024, 3, 3)},
        (),
    ),
    "seresnet50": (
        ("resnet", "seresnet50", {}),
        28_088_024,
        {
            "layer1.0.se.fc1.weight": (16, 256, 1, 1),
            "layer1.0.se.fc1.bias": (16,),
            "layer4.2.se.fc2.weight": (2048, 128, 1, 1),
            "fc.weight": (1000, 2048),
        },
        (),
    ),
    "mobilenet_v3_small": (
        ("mobilenetv3", "mobilenet_v3_small", {}),
        2_542_856,
        {
            "features.1.block.0.0.weight": (16, 1, 3, 3),
            "features.1.block.1.fc1.weight": (8, 16, 1, 1),
            "features.12.0.weight": (576, 96, 1, 1),
            "classifier.0.weight": (1024, 576),
        },
        ("features.2.block.2.fc1.weight",),
    ),
    "mnasnet1_0": (
        ("mnasnet", "mnasnet1_0", {}),
        4_383_312,
        {
            "layers.0.weight": (32, 3, 3, 3),
            "layers.3.weight": (32, 1, 3, 3),
            "layers.8.0.layers.0.weight": (48, 16, 1, 1),
            "layers.12.3.layers.3.weight": (1152, 1, 5, 5),
            "layers.14.weight": (1280, 320, 1, 1),
            "classifier.1.weight": (1000, 1280),
        },
        (),
    ),
    "inception_v3": (
        ("inception", "inception_v3", {}),
        27_161_264,
        {
            "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
            "Mixed_5b.branch5x5_2.conv.weight": (64, 48, 5, 5),
            "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
            "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
            "Mixed_7c.branch_pool.bn.running_var": (192,),
            "AuxLogits.conv1.conv.weight": (768, 128, 5, 5),
            "fc.weight": (1000, 2048),
        },
        (),
    ),
    "inception_v4": (
        ("inception_v4", "inception_v4", {}),
        42_679_816,
        {
            "features.0.conv.weight": (32, 3, 3, 3),
            "features.3.conv.bn.running_mean": (96,),
            "features.4.branch1.1.conv.weight": (64, 64, 1, 7),
            "features.10.branch1.2.conv.weight": (256, 224, 3, 3),
            "features.21.branch2_3b.conv.weight": (256, 512, 3, 1),
            "last_linear.weight": (1000, 1536),
        },
        (),
    ),
    "ghostnet_100": (
        ("ghostnet", "ghostnet_100", {}),
        5_182_508,
        {
            "conv_stem.weight": (16, 3, 3, 3),
            "blocks.0.0.ghost1.primary_conv.0.weight": (8, 16, 1, 1),
            "blocks.0.0.ghost1.cheap_operation.0.weight": (8, 1, 3, 3),
            "blocks.3.0.se.conv_reduce.weight": (20, 72, 1, 1),
            "blocks.3.0.shortcut.2.weight": (40, 24, 1, 1),
            "blocks.9.0.bn1.running_var": (960,),
            "conv_head.bias": (1280,),
            "classifier.weight": (1000, 1280),
        },
        ("blocks.0.0.conv_dw.weight",),
    ),
    "convnextv2_atto": (
        ("convnextv2", "convnextv2_atto", {}),
        3_708_400,
        {
            "stem.0.weight": (40, 3, 4, 4),
            "stages.0.blocks.0.conv_dw.weight": (40, 1, 7, 7),
            "stages.1.downsample.1.weight": (80, 40, 2, 2),
            "stages.2.blocks.5.mlp.fc1.weight": (640, 160, 1, 1),
            "stages.2.blocks.5.mlp.grn.weight": (640,),
            "head.norm.weight": (320,),
            "head.fc.weight": (1000, 320),
        },
        ("stages.0.downsample.0.weight", "stages.0.blocks.0.gamma"),
    ),
    "hrnet_w18": (
        ("hrnet", "hrnet_w18", {}),
        21_299_004,
        {
            "conv2.weight": (64, 64, 3, 3),
            "layer1.0.downsample.0.weight": (256, 64, 1, 1),
            "transition1.1.0.0.weight": (36, 256, 3, 3),
            "stage2.0.branches.1.3.conv2.weight": (36, 36, 3, 3),
            "stage3.3.fuse_layers.0.2.0.weight": (18, 72, 1, 1),
            "stage4.2.fuse_layers.3.0.1.0.weight": (18, 18, 3, 3),
            "stage4.2.fuse_layers.3.0.2.0.weight": (144, 18, 3, 3),
            "transition3.3.0.0.weight": (144, 72, 3, 3),
            "incre_modules.3.0.conv3.weight": (1024, 256, 1, 1),
            "downsamp_modules.2.0.bias": (1024,),
            "final_layer.0.weight": (2048, 1024, 1, 1),
            "classifier.weight": (1000, 2048),
        },
        ("transition2.0.0.weight",),
    ),
    "swin_t": (
        ("swin_transformer", "swin_t", {}),
        28_288_354,
        {
            "features.0.0.weight": (96, 3, 4, 4),
            "features.0.2.weight": (96,),
            "features.1.0.attn.qkv.weight": (288, 96),
            "features.1.0.attn.relative_position_bias_table": (169, 3),
            "features.1.0.attn.relative_position_index": (2401,),
            "features.2.reduction.weight": (192, 384),
            "features.2.norm.weight": (384,),
            "features.5.5.mlp.0.weight": (1536, 384),
            "features.7.1.mlp.3.weight": (768, 3072),
            "head.weight": (1000, 768),
        },
        ("features.7.1.attn.relative_coords_table",),
    ),
    "deeplabv3_resnet50": (
        ("deeplabv3", "deeplabv3_resnet50", {"aux_loss": True}),
        42_004_074,
        {
            "backbone.conv1.weight": (64, 3, 7, 7),
            "backbone.layer3.0.downsample.0.weight": (1024, 512, 1, 1),
            "backbone.layer4.2.conv3.weight": (2048, 512, 1, 1),
            "classifier.0.convs.0.0.weight": (256, 2048, 1, 1),
            "classifier.0.convs.1.0.weight": (256, 2048, 3, 3),
            "classifier.0.convs.3.1.running_mean": (256,),
            "classifier.0.convs.4.1.weight": (256, 2048, 1, 1),
            "classifier.0.project.0.weight": (256, 1280, 1, 1),
            "classifier.1.weight": (256, 256, 3, 3),
            "classifier.2.running_var": (256,),
            "classifier.4.weight": (21, 256, 1, 1),
            "classifier.4.bias": (21,),
            "aux_classifier.0.weight": (256, 1024, 3, 3),
            "aux_classifier.4.weight": (21, 256, 1, 1),
        },
        ("backbone.fc.weight", "backbone.avgpool"),
    ),
}


def _build(package: str, spec):
    module, factory, kwargs = spec
    return getattr(importlib.import_module(f"{package}.{module}"), factory)(**kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_has_upstream_names(name):
    spec, count, expected, absent = CASES[name]
    model = _build("netdef.zoo", spec)
    with torch.device("meta"):
        twin = _build("netdef.zoo.twins", spec)
    ours = {k: tuple(p.shape) for k, p in model.state_dict().items()}
    theirs = {k: tuple(t.shape) for k, t in twin.state_dict().items()}
    assert ours == theirs, f"{name}: netdef and twin state_dicts differ: {sorted(set(ours) ^ set(theirs))[:10]}"
    for key, shape in expected.items():
        assert key in ours, f"{name}: upstream key {key!r} missing"
        assert ours[key] == shape, f"{name}: {key} has shape {ours[key]}, upstream {shape}"
    for key in absent:
        assert not any(k == key or k.startswith(key + ".") for k in ours), f"{name}: {key!r} is not upstream's"
    if count is not None:
        assert sum(p.numel for _, p in model.named_parameters()) == count
        assert sum(p.numel() for p in twin.parameters()) == count
