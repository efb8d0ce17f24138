"""Torch twin of netdef.zoo.superpoint: SuperPointNet as magicleap/SuperPointPretrainedNetwork's
``demo_superpoint.py`` (commit 22a070f74629e4d163bc4d78428d8e56e72e686f) builds it, same names. No PyPI package
ships it."""

from __future__ import annotations

import torch
from torch import nn


class SuperPointNet(nn.Module):
    def __init__(self):
        super().__init__()
        c1, c2, c3, c4, c5, d1 = 64, 64, 128, 128, 256, 256
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv1a = nn.Conv2d(1, c1, kernel_size=3, stride=1, padding=1)
        self.conv1b = nn.Conv2d(c1, c1, kernel_size=3, stride=1, padding=1)
        self.conv2a = nn.Conv2d(c1, c2, kernel_size=3, stride=1, padding=1)
        self.conv2b = nn.Conv2d(c2, c2, kernel_size=3, stride=1, padding=1)
        self.conv3a = nn.Conv2d(c2, c3, kernel_size=3, stride=1, padding=1)
        self.conv3b = nn.Conv2d(c3, c3, kernel_size=3, stride=1, padding=1)
        self.conv4a = nn.Conv2d(c3, c4, kernel_size=3, stride=1, padding=1)
        self.conv4b = nn.Conv2d(c4, c4, kernel_size=3, stride=1, padding=1)
        self.convPa = nn.Conv2d(c4, c5, kernel_size=3, stride=1, padding=1)
        self.convPb = nn.Conv2d(c5, 65, kernel_size=1, stride=1, padding=0)
        self.convDa = nn.Conv2d(c4, c5, kernel_size=3, stride=1, padding=1)
        self.convDb = nn.Conv2d(c5, d1, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1b(self.relu(self.conv1a(x)))))
        x = self.pool(self.relu(self.conv2b(self.relu(self.conv2a(x)))))
        x = self.pool(self.relu(self.conv3b(self.relu(self.conv3a(x)))))
        x = self.relu(self.conv4b(self.relu(self.conv4a(x))))
        semi = self.convPb(self.relu(self.convPa(x)))
        desc = self.convDb(self.relu(self.convDa(x)))
        return semi, desc.div(torch.unsqueeze(torch.norm(desc, p=2, dim=1), 1))


def superpoint():
    return SuperPointNet()
