"""Torch twin of netdef.zoo.tsm: TSN with temporal shift as mit-han-lab/temporal-shift-module builds it
(``ops/temporal_shift.py`` at commit 4759ad8da09fcd5dd00fe243ca046669f0e0576a, TSN's ``base_model``/``new_fc``
layout, 'blockres' shift, 'avg' consensus, no softmax), on the zoo's torchvision ResNet twin. No PyPI package
ships it."""

from __future__ import annotations

import torch
from torch import nn

from netdef.zoo.twins.resnet import Bottleneck, ResNet


class TemporalShift(nn.Module):
    def __init__(self, net, n_segment=8, n_div=8):
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x):
        nt, c, h, w = x.size()
        x = x.view(nt // self.n_segment, self.n_segment, c, h, w)
        fold = c // self.fold_div
        out = torch.zeros_like(x)
        out[:, :-1, :fold] = x[:, 1:, :fold]
        out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
        out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
        return self.net(out.view(nt, c, h, w))


class TSN(nn.Module):
    def __init__(self, num_class=400, num_segments=8, layers=(3, 4, 6, 3), shift_div=8):
        super().__init__()
        self.num_segments = num_segments
        self.base_model = ResNet(Bottleneck, list(layers))
        for stage in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3, self.base_model.layer4):
            for block in stage:
                block.conv1 = TemporalShift(block.conv1, num_segments, shift_div)
        self.base_model.fc = nn.Dropout(p=0.8)
        self.new_fc = nn.Linear(2048, num_class)

    def forward(self, x):
        out = self.new_fc(self.base_model(x.view((-1, 3, *x.size()[-2:]))))
        return out.view((-1, self.num_segments, *out.size()[1:])).mean(dim=1, keepdim=True).squeeze(1)


def tsm_resnet50(num_class=400, num_segments=8):
    return TSN(num_class, num_segments)
