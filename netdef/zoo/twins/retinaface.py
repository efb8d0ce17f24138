"""Torch twin of netdef.zoo.retinaface: RetinaFace-R50 as biubug6/Pytorch_Retinaface builds it
(``models/retinaface.py`` and ``models/net.py``; names checked against the stored versions at commits
2fa8d280ecd464dd6f637c9ea564e9879b911b42 and 326bc747cf2202a3b34cb05da15605acccdb5839), in its ``phase='test'``
(softmax scores). The body is torchvision's ResNet-50 through IntermediateLayerGetter (here the zoo's twin of
both). No PyPI package builds it without downloading weights."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from netdef.zoo.twins.deeplabv3 import IntermediateLayerGetter
from netdef.zoo.twins.resnet import Bottleneck, ResNet


def conv_bn(inp, oup, stride=1, leaky=0.0):
    return nn.Sequential(
        nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky)
    )


def conv_bn_no_relu(inp, oup, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup))


def conv_bn1X1(inp, oup, stride, leaky=0.0):
    return nn.Sequential(
        nn.Conv2d(inp, oup, 1, stride, padding=0, bias=False), nn.BatchNorm2d(oup), nn.LeakyReLU(negative_slope=leaky)
    )


class SSH(nn.Module):
    def __init__(self, in_channel, out_channel):
        super().__init__()
        leaky = 0.1 if out_channel <= 64 else 0.0
        self.conv3X3 = conv_bn_no_relu(in_channel, out_channel // 2, stride=1)
        self.conv5X5_1 = conv_bn(in_channel, out_channel // 4, stride=1, leaky=leaky)
        self.conv5X5_2 = conv_bn_no_relu(out_channel // 4, out_channel // 4, stride=1)
        self.conv7X7_2 = conv_bn(out_channel // 4, out_channel // 4, stride=1, leaky=leaky)
        self.conv7x7_3 = conv_bn_no_relu(out_channel // 4, out_channel // 4, stride=1)

    def forward(self, x):
        conv5x5_1 = self.conv5X5_1(x)
        conv7x7 = self.conv7x7_3(self.conv7X7_2(conv5x5_1))
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(conv5x5_1), conv7x7], dim=1))


class FPN(nn.Module):
    def __init__(self, in_channels_list, out_channels):
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0.0
        self.output1 = conv_bn1X1(in_channels_list[0], out_channels, stride=1, leaky=leaky)
        self.output2 = conv_bn1X1(in_channels_list[1], out_channels, stride=1, leaky=leaky)
        self.output3 = conv_bn1X1(in_channels_list[2], out_channels, stride=1, leaky=leaky)
        self.merge1 = conv_bn(out_channels, out_channels, leaky=leaky)
        self.merge2 = conv_bn(out_channels, out_channels, leaky=leaky)

    def forward(self, inputs):
        inputs = list(inputs.values())
        output1, output2, output3 = self.output1(inputs[0]), self.output2(inputs[1]), self.output3(inputs[2])
        output2 = self.merge2(output2 + F.interpolate(output3, size=[output2.size(2), output2.size(3)], mode="nearest"))
        output1 = self.merge1(output1 + F.interpolate(output2, size=[output1.size(2), output1.size(3)], mode="nearest"))
        return [output1, output2, output3]


class ClassHead(nn.Module):
    def __init__(self, inchannels=512, num_anchors=3):
        super().__init__()
        self.conv1x1 = nn.Conv2d(inchannels, num_anchors * 2, kernel_size=(1, 1), stride=1, padding=0)

    def forward(self, x):
        out = self.conv1x1(x).permute(0, 2, 3, 1).contiguous()
        return out.view(out.shape[0], -1, 2)


class BboxHead(nn.Module):
    def __init__(self, inchannels=512, num_anchors=3):
        super().__init__()
        self.conv1x1 = nn.Conv2d(inchannels, num_anchors * 4, kernel_size=(1, 1), stride=1, padding=0)

    def forward(self, x):
        out = self.conv1x1(x).permute(0, 2, 3, 1).contiguous()
        return out.view(out.shape[0], -1, 4)


class LandmarkHead(nn.Module):
    def __init__(self, inchannels=512, num_anchors=3):
        super().__init__()
        self.conv1x1 = nn.Conv2d(inchannels, num_anchors * 10, kernel_size=(1, 1), stride=1, padding=0)

    def forward(self, x):
        out = self.conv1x1(x).permute(0, 2, 3, 1).contiguous()
        return out.view(out.shape[0], -1, 10)


class RetinaFace(nn.Module):
    def __init__(self, in_channel=256, out_channel=256, layers=(3, 4, 6, 3)):
        super().__init__()
        self.body = IntermediateLayerGetter(ResNet(Bottleneck, list(layers)), {"layer2": 1, "layer3": 2, "layer4": 3})
        self.fpn = FPN([in_channel * 2, in_channel * 4, in_channel * 8], out_channel)
        self.ssh1 = SSH(out_channel, out_channel)
        self.ssh2 = SSH(out_channel, out_channel)
        self.ssh3 = SSH(out_channel, out_channel)
        self.ClassHead = nn.ModuleList([ClassHead(out_channel, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([BboxHead(out_channel, 2) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList([LandmarkHead(out_channel, 2) for _ in range(3)])

    def forward(self, inputs):
        fpn = self.fpn(self.body(inputs))
        features = [self.ssh1(fpn[0]), self.ssh2(fpn[1]), self.ssh3(fpn[2])]
        bbox = torch.cat([self.BboxHead[i](f) for i, f in enumerate(features)], dim=1)
        classes = torch.cat([self.ClassHead[i](f) for i, f in enumerate(features)], dim=1)
        landms = torch.cat([self.LandmarkHead[i](f) for i, f in enumerate(features)], dim=1)
        return bbox, F.softmax(classes, dim=-1), landms


def retinaface_resnet50():
    return RetinaFace()
