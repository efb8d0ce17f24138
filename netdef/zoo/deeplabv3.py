"""DeepLabV3 (ResNet-50/101 backbones) with torchvision's segmentation module tree and state_dict names.

``backbone`` is the ResNet without avgpool/fc (torchvision's IntermediateLayerGetter: backbone.conv1,
backbone.layer1.0.conv1, ...) with strides 2 of layer3/layer4 replaced by dilation (output stride 8);
``classifier`` is DeepLabHead: ``classifier.0`` = ASPP (convs.0 1x1, convs.1-3 atrous 3x3 at rates 12/24/36,
convs.4 image pooling, project), then 3x3 conv, BN, ReLU, 1x1 conv to the classes. Logits are resized
bilinearly (align_corners=False) to the input size. With ``aux_loss`` the FCN ``aux_classifier`` on layer3
is kept too (torchvision's pretrained checkpoints include it). Outputs: ``{"out": ..., "aux": ...}``.
Height and width may be dynamic, of any size (the output stride of 8 rounds up, and the logits are resized
to the run-time input size).
"""

from __future__ import annotations

from collections import OrderedDict

from netdef import F, Input, nn
from netdef.zoo.resnet import Bottleneck, ResNet


class IntermediateLayerGetter(nn.ModuleDict):
    """The children of ``model`` up to the last of ``return_layers``, run in order; returns {new name: output}."""

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        missing = set(return_layers) - {name for name, _ in model.named_children()}
        if missing:
            raise ValueError(f"return_layers {sorted(missing)} are not children of {type(model).__name__}")
        wanted, layers = dict(return_layers), OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            wanted.pop(name, None)
            if not wanted:
                break
        super().__init__(layers)
        self.return_layers = dict(return_layers)

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


class ASPPConv(nn.Sequential):
    """3x3 atrous conv (padding = dilation), BN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    """Image-level features: global average pool, 1x1 conv, BN, ReLU, bilinear resize back to the input size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        return F.interpolate(super().forward(x), size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel 1x1, atrous 3x3 and pooling branches, concatenated and projected."""

    def __init__(self, in_channels: int, atrous_rates: list[int], out_channels: int = 256) -> None:
        super().__init__()
        modules: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())
        ]
        modules += [ASPPConv(in_channels, out_channels, rate) for rate in atrous_rates]
        modules.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(F.cat([conv(x) for conv in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(
            ASPP(in_channels, [12, 24, 36]),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class FCNHead(nn.Sequential):
    def __init__(self, in_channels: int, channels: int) -> None:
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


class DeepLabV3(nn.Module):
    """torchvision's _SimpleSegmentationModel: backbone features -> heads -> bilinear resize to the input size."""

    def __init__(self, backbone: nn.Module, classifier: nn.Module, aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        size = x.shape[-2:]  # symbolic sizes when the height and width are dynamic
        features = self.backbone(x)
        result = OrderedDict()
        result["out"] = F.interpolate(self.classifier(features["out"]), size=size, mode="bilinear", align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return result

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 520, 520))}


def _deeplabv3_resnet(layers: list[int], num_classes: int, aux_loss: bool) -> DeepLabV3:
    resnet = ResNet(Bottleneck, layers, replace_stride_with_dilation=[False, True, True])
    return_layers = {"layer4": "out"}
    if aux_loss:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(resnet, return_layers)
    return DeepLabV3(backbone, DeepLabHead(2048, num_classes), FCNHead(1024, num_classes) if aux_loss else None)


def deeplabv3_resnet50(num_classes: int = 21, aux_loss: bool = False) -> DeepLabV3:
    return _deeplabv3_resnet([3, 4, 6, 3], num_classes, aux_loss)


def deeplabv3_resnet101(num_classes: int = 21, aux_loss: bool = False) -> DeepLabV3:
    return _deeplabv3_resnet([3, 4, 23, 3], num_classes, aux_loss)
