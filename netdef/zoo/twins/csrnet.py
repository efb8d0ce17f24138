"""Torch twin of netdef.zoo.csrnet: CSRNet as leeyeehoo/CSRNet-pytorch's ``model.py`` (commit
3a8e81e6c83f0298308a18af0ac7cbe4a7339b82) builds it, without its VGG-16 download: same module tree and names
(``frontend.N``, ``backend.N``, ``output_layer``). No PyPI package ships CSRNet."""

from __future__ import annotations

from torch import nn

FRONTEND = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
BACKEND = (512, 512, 512, 256, 128, 64)


def make_layers(cfg, in_channels=3, dilation=False):
    rate = 2 if dilation else 1
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_channels, v, 3, padding=rate, dilation=rate), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class CSRNet(nn.Module):
    def __init__(self, frontend_feat=FRONTEND, backend_feat=BACKEND):
        super().__init__()
        self.frontend = make_layers(frontend_feat)
        self.backend = make_layers(backend_feat, in_channels=frontend_feat[-1], dilation=True)
        self.output_layer = nn.Conv2d(backend_feat[-1], 1, kernel_size=1)

    def forward(self, x):
        return self.output_layer(self.backend(self.frontend(x)))


def csrnet() -> CSRNet:
    return CSRNet()
