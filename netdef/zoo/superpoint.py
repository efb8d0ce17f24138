"""SuperPoint interest points and descriptors (tensorrtx's superpoint) with magicleap/SuperPointPretrainedNetwork's
module names (``conv1a`` ... ``conv4b``, ``convPa``/``convPb``, ``convDa``/``convDb``), so its
``superpoint_v1.pth`` binds.

Input (B, 1, H, W) grayscale; outputs ``semi`` (B, 65, H/8, W/8): 64 cell positions and a no-point bin, and
``desc`` (B, 256, H/8, W/8) unit-length descriptors. The point softmax, NMS and descriptor sampling are the
repository's numpy post-processing. Batch, H and W may be dynamic (multiples of 8 for its heatmap reshape).
"""

from __future__ import annotations

from netdef import F, nn


class SuperPointNet(nn.Module):
    """A VGG-style encoder (three 2x2 max pools) shared by a detector head and a descriptor head."""

    def __init__(self):
        super().__init__()
        c1, c2, c3, c4, c5, d1 = 64, 64, 128, 128, 256, 256
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv1a = nn.Conv2d(1, c1, 3, 1, 1)
        self.conv1b = nn.Conv2d(c1, c1, 3, 1, 1)
        self.conv2a = nn.Conv2d(c1, c2, 3, 1, 1)
        self.conv2b = nn.Conv2d(c2, c2, 3, 1, 1)
        self.conv3a = nn.Conv2d(c2, c3, 3, 1, 1)
        self.conv3b = nn.Conv2d(c3, c3, 3, 1, 1)
        self.conv4a = nn.Conv2d(c3, c4, 3, 1, 1)
        self.conv4b = nn.Conv2d(c4, c4, 3, 1, 1)
        self.convPa = nn.Conv2d(c4, c5, 3, 1, 1)
        self.convPb = nn.Conv2d(c5, 65, 1, 1, 0)
        self.convDa = nn.Conv2d(c4, c5, 3, 1, 1)
        self.convDb = nn.Conv2d(c5, d1, 1, 1, 0)

    def forward(self, x):
        for a, b, pool in (
            (self.conv1a, self.conv1b, True),
            (self.conv2a, self.conv2b, True),
            (self.conv3a, self.conv3b, True),
            (self.conv4a, self.conv4b, False),
        ):
            x = self.relu(b(self.relu(a(x))))
            if pool:
                x = self.pool(x)
        semi = self.convPb(self.relu(self.convPa(x)))
        desc = self.convDb(self.relu(self.convDa(x)))
        return semi, desc / F.sqrt((desc * desc).sum(1, keepdim=True))


def superpoint() -> SuperPointNet:
    return SuperPointNet()
