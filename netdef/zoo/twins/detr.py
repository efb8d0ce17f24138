"""Torch twin of netdef.zoo.detr: transformers' own ``DetrForObjectDetection`` (its ResNet backbone, no timm),
built offline with random weights; without transformers these raise ``netdef.zoo.upstream.Unavailable``.

transformers initializes DETR's weights from N(0, 0.02) and its frozen BatchNorms at the identity, under which the
outputs hardly depend on the input (a swapped position embedding changes them by 3e-5 of their magnitude):
:func:`randomize` draws them at torch's usual scale instead. Forward returns ``(logits, pred_boxes)``.
"""

from __future__ import annotations

import torch

from netdef.zoo import upstream


def detr_config(**kwargs):
    """transformers' DetrConfig for netdef.zoo.detr.DetrForObjectDetection's keyword arguments."""
    transformers = upstream.require("transformers")
    backbone = {k.removeprefix("backbone_"): v for k, v in kwargs.items() if k.startswith("backbone_")}
    backbone_config = transformers.ResNetConfig(
        layer_type="bottleneck",
        out_features=["stage4"],
        **{"embedding_size": 64, "hidden_sizes": [256, 512, 1024, 2048], "depths": [3, 4, 6, 3], **backbone},
    )
    # num_labels: DetrConfig's own default is PretrainedConfig's 2 labels; DETR's (and netdef's) is COCO's 91
    detr = {"num_labels": 91, **{k: v for k, v in kwargs.items() if not k.startswith("backbone_")}}
    return transformers.DetrConfig(
        use_timm_backbone=False, use_pretrained_backbone=False, backbone_config=backbone_config, **detr
    )


def DetrForObjectDetection(**kwargs) -> torch.nn.Module:
    transformers = upstream.require("transformers")

    class Twin(transformers.DetrForObjectDetection):
        def forward(self, pixel_values):
            out = super().forward(pixel_values)
            return out.logits, out.pred_boxes

    return randomize(Twin(detr_config(**kwargs)).eval())


def randomize(model: torch.nn.Module, seed: int = 3) -> torch.nn.Module:
    """Seeded weights at torch's usual scale (transformers draws DETR's from N(0, 0.02), under which the
    transformer's output hardly depends on its input) and frozen BatchNorms away from the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim > 1:  # linear and conv weights, the query position embeddings
                fan_in = p[0].numel() if "query_position" not in name else 1
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
            elif "layer_norm" in name or "layernorm" in name:
                p.copy_(torch.rand(p.shape, generator=gen) * 0.5 + (0.75 if name.endswith("weight") else -0.25))
            else:  # biases
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        for name, buf in model.named_buffers():
            if ".normalization." in name:
                if name.endswith(("running_var", "weight")):
                    buf.copy_(torch.rand(buf.shape, generator=gen) * 0.5 + 0.75)
                else:  # bias, running_mean
                    buf.copy_(torch.rand(buf.shape, generator=gen) * 0.4 - 0.2)
    return model


def detr_resnet50(**kwargs) -> torch.nn.Module:
    return DetrForObjectDetection(**kwargs)
