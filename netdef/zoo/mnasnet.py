"""MNASNet (the paper's B1 variant, width ``alpha``) with torchvision's module tree and state_dict names.

Everything sits in one ``layers`` Sequential: a stem (3x3 conv, depthwise 3x3 separable conv to 16 channels),
six stacks of inverted residuals, and a 1x1 conv to 1280 channels; then a spatial mean and ``classifier``.
"""

from __future__ import annotations

from netdef import Input, nn

#: BatchNorm momentum of every layer (TensorRT folds BatchNorm; kept for parity of the module tree)
BN_MOMENTUM = 1 - 0.9997

#: (kernel, stride, expansion, repeats) of the six stacks, channels from ``mnasnet_depths``
STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1))


def round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """Round ``val`` to a multiple of ``divisor``, upward unless that lands within 10% above the lower multiple."""
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError(f"round_up_bias must lie in (0, 1), got {round_up_bias}")
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def mnasnet_depths(alpha: float) -> list[int]:
    """The eight channel counts (stem, stem output, six stacks) at width multiplier ``alpha``."""
    return [round_to_multiple_of(d * alpha, 8) for d in (32, 16, 24, 40, 80, 96, 192, 320)]


class _InvertedResidual(nn.Module):
    """1x1 expand, ReLU, depthwise ``kernel_size`` conv (strided), ReLU, 1x1 project; residual when shapes agree."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int, bn_momentum: float = 0.1
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"MNASNet block stride must be 1 or 2, got {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"MNASNet block kernel_size must be 3 or 5, got {kernel_size}")
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, stride=stride, padding=kernel_size // 2, groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, x):
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int) -> nn.Sequential:
    blocks = [_InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor, BN_MOMENTUM)]
    blocks += [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor, BN_MOMENTUM) for _ in range(repeats - 1)]
    return nn.Sequential(*blocks)


class MNASNet(nn.Module):
    """torchvision.models.MNASNet: ``layers`` (stem, six stacks, 1x1 conv to 1280), mean over H and W, ``classifier``."""

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"MNASNet alpha must be positive, got {alpha}")
        d = mnasnet_depths(alpha)
        layers: list[nn.Module] = [
            nn.Conv2d(3, d[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, groups=d[0], bias=False),
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, bias=False),
            nn.BatchNorm2d(d[1], momentum=BN_MOMENTUM),
        ]
        layers += [_stack(d[i + 1], d[i + 2], *stack) for i, stack in enumerate(STACKS)]
        layers += [
            nn.Conv2d(d[7], 1280, 1, bias=False),
            nn.BatchNorm2d(1280, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def mnasnet1_0(num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    return MNASNet(1.0, num_classes, dropout)
