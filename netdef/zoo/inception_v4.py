"""Inception v4 with timm's module tree and state_dict names (``features.6.branch1.1.conv.weight``, ...).

``features`` is the stem (three convs, Mixed3a/4a/5a), four Inception-A blocks, Reduction-A, seven Inception-B,
Reduction-B and three Inception-C; then a global average pool and ``last_linear``. Every conv is a ConvNormAct
(BatchNorm eps 1e-3, ReLU) with explicit padding, none unless given.
"""

from __future__ import annotations

from functools import partial

from netdef import F, Input, nn
from netdef.zoo.timm_layers import ConvNormAct

conv = partial(ConvNormAct, eps=1e-3)


def _avg_pool() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class _Branches(nn.Module):
    """Runs the branches named in ``branches`` on the input and concatenates their outputs along channels."""

    branches: tuple[str, ...] = ()

    def forward(self, x):
        return F.cat([getattr(self, name)(x) for name in self.branches], 1)


class Mixed3a(_Branches):
    branches = ("maxpool", "conv")

    def __init__(self) -> None:
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = conv(64, 96, 3, stride=2)


class Mixed4a(_Branches):
    branches = ("branch0", "branch1")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(conv(160, 64, 1), conv(64, 96, 3))
        self.branch1 = nn.Sequential(
            conv(160, 64, 1),
            conv(64, 64, (1, 7), padding=(0, 3)),
            conv(64, 64, (7, 1), padding=(3, 0)),
            conv(64, 96, 3),
        )


class Mixed5a(_Branches):
    branches = ("conv", "maxpool")

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(192, 192, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)


class InceptionA(_Branches):
    branches = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(384, 96, 1)
        self.branch1 = nn.Sequential(conv(384, 64, 1), conv(64, 96, 3, padding=1))
        self.branch2 = nn.Sequential(conv(384, 64, 1), conv(64, 96, 3, padding=1), conv(96, 96, 3, padding=1))
        self.branch3 = nn.Sequential(_avg_pool(), conv(384, 96, 1))


class ReductionA(_Branches):
    branches = ("branch0", "branch1", "branch2")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(384, 384, 3, stride=2)
        self.branch1 = nn.Sequential(conv(384, 192, 1), conv(192, 224, 3, padding=1), conv(224, 256, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)


class InceptionB(_Branches):
    branches = ("branch0", "branch1", "branch2", "branch3")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(1024, 384, 1)
        self.branch1 = nn.Sequential(
            conv(1024, 192, 1), conv(192, 224, (1, 7), padding=(0, 3)), conv(224, 256, (7, 1), padding=(3, 0))
        )
        self.branch2 = nn.Sequential(
            conv(1024, 192, 1),
            conv(192, 192, (7, 1), padding=(3, 0)),
            conv(192, 224, (1, 7), padding=(0, 3)),
            conv(224, 224, (7, 1), padding=(3, 0)),
            conv(224, 256, (1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avg_pool(), conv(1024, 128, 1))


class ReductionB(_Branches):
    branches = ("branch0", "branch1", "branch2")

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(conv(1024, 192, 1), conv(192, 192, 3, stride=2))
        self.branch1 = nn.Sequential(
            conv(1024, 256, 1),
            conv(256, 256, (1, 7), padding=(0, 3)),
            conv(256, 320, (7, 1), padding=(3, 0)),
            conv(320, 320, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)


class InceptionC(nn.Module):
    """1x1; 1x1 then 1x3 and 3x1 side by side; 1x1-3x1-1x3 then 1x3 and 3x1; average pool-1x1."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = conv(1536, 256, 1)
        self.branch1_0 = conv(1536, 384, 1)
        self.branch1_1a = conv(384, 256, (1, 3), padding=(0, 1))
        self.branch1_1b = conv(384, 256, (3, 1), padding=(1, 0))
        self.branch2_0 = conv(1536, 384, 1)
        self.branch2_1 = conv(384, 448, (3, 1), padding=(1, 0))
        self.branch2_2 = conv(448, 512, (1, 3), padding=(0, 1))
        self.branch2_3a = conv(512, 256, (1, 3), padding=(0, 1))
        self.branch2_3b = conv(512, 256, (3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(_avg_pool(), conv(1536, 256, 1))

    def forward(self, x):
        x1 = self.branch1_0(x)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        parts = [self.branch0(x), self.branch1_1a(x1), self.branch1_1b(x1), self.branch2_3a(x2), self.branch2_3b(x2)]
        return F.cat([*parts, self.branch3(x)], 1)


class InceptionV4(nn.Module):
    """timm.models.InceptionV4: ``features`` (22 modules), global average pool, ``last_linear``. Inputs from
    75x75 (299x299 is the usual size)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features = [conv(3, 32, 3, stride=2), conv(32, 32, 3), conv(32, 64, 3, padding=1), Mixed3a(), Mixed4a()]
        features += [Mixed5a(), *[InceptionA() for _ in range(4)], ReductionA(), *[InceptionB() for _ in range(7)]]
        features += [ReductionB(), *[InceptionC() for _ in range(3)]]
        self.features = nn.Sequential(*features)
        self.last_linear = nn.Linear(1536, num_classes)

    def forward(self, x):
        return self.last_linear(self.features(x).mean([2, 3]))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 299, 299))}


def inception_v4(num_classes: int = 1000) -> InceptionV4:
    return InceptionV4(num_classes)
