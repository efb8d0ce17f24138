"""Torch twin of netdef.zoo.lprnet: LPRNet as sirius-ai/LPRNet_Pytorch's ``model/LPRNet.py`` (commit
330c09cc7a4bbe06773c466bcffd34c55faff5bb) builds it, same module tree and names, its MaxPool3d on 4-D tensors
included. No PyPI package ships LPRNet."""

from __future__ import annotations

import torch
from torch import nn


class small_basic_block(nn.Module):
    def __init__(self, ch_in, ch_out):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(ch_in, ch_out // 4, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(ch_out // 4, ch_out // 4, kernel_size=(3, 1), padding=(1, 0)),
            nn.ReLU(),
            nn.Conv2d(ch_out // 4, ch_out // 4, kernel_size=(1, 3), padding=(0, 1)),
            nn.ReLU(),
            nn.Conv2d(ch_out // 4, ch_out, kernel_size=1),
        )

    def forward(self, x):
        return self.block(x)


class LPRNet(nn.Module):
    def __init__(self, lpr_max_len=8, class_num=68, dropout_rate=0.5):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 64, 3, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 1, 1)),
            small_basic_block(64, 128),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (2, 1, 2)),
            small_basic_block(64, 256),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            small_basic_block(256, 256),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (4, 1, 2)),
            nn.Dropout(dropout_rate),
            nn.Conv2d(64, 256, (1, 4), 1),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Dropout(dropout_rate),
            nn.Conv2d(256, class_num, (13, 1), 1),
            nn.BatchNorm2d(class_num),
            nn.ReLU(),
        )
        self.container = nn.Sequential(nn.Conv2d(448 + class_num, class_num, 1, 1))

    def forward(self, x):
        keep = []
        for i, layer in enumerate(self.backbone.children()):
            x = layer(x)
            if i in (2, 6, 13, 22):
                keep.append(x)
        context = []
        for i, f in enumerate(keep):
            if i in (0, 1):
                f = nn.AvgPool2d(kernel_size=5, stride=5)(f)
            if i == 2:
                f = nn.AvgPool2d(kernel_size=(4, 10), stride=(4, 2))(f)
            context.append(torch.div(f, torch.mean(torch.pow(f, 2))))
        return torch.mean(self.container(torch.cat(context, 1)), dim=2)


def lprnet(class_num=68):
    return LPRNet(class_num=class_num)
