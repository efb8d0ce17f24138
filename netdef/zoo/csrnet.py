"""CSRNet (tensorrtx's csrnet): crowd counting by a density map, with the original repository's module tree and
state_dict names (leeyeehoo/CSRNet-pytorch: ``frontend.N``, ``backend.N``, ``output_layer``), so its checkpoints
bind.

The frontend is VGG-16's first ten 3x3 convs with three 2x2 max pools; the backend six 3x3 convs of dilation 2;
a 1x1 conv gives the (B, 1, H/8, W/8) density map, whose sum is the count. Batch, H and W may be dynamic.
"""

from __future__ import annotations

from netdef import nn

FRONTEND = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
BACKEND = (512, 512, 512, 256, 128, 64)


def make_layers(cfg, in_channels: int = 3, batch_norm: bool = False, dilation: bool = False) -> nn.Sequential:
    """3x3 convs (padding = dilation) + ReLU per number, 2x2 max pool per 'M', as the repository's make_layers."""
    rate = 2 if dilation else 1
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=rate, dilation=rate))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class CSRNet(nn.Module):
    """CSRNet; ``frontend_feat``/``backend_feat`` narrow it (same layer indices, so names keep their numbers)."""

    def __init__(self, frontend_feat=FRONTEND, backend_feat=BACKEND):
        super().__init__()
        if len(frontend_feat) != len(FRONTEND) or len(backend_feat) != len(BACKEND):
            raise ValueError(
                f"CSRNet has {len(FRONTEND)} frontend and {len(BACKEND)} backend entries (its state_dict indices); "
                f"got {len(frontend_feat)} and {len(backend_feat)}: give one width per entry"
            )
        self.frontend = make_layers(frontend_feat)
        self.backend = make_layers(backend_feat, in_channels=frontend_feat[-1], dilation=True)
        self.output_layer = nn.Conv2d(backend_feat[-1], 1, kernel_size=1)

    def forward(self, x):
        return self.output_layer(self.backend(self.frontend(x)))


def csrnet() -> CSRNet:
    return CSRNet()
