"""Torch twin of netdef.zoo.crnn.CRNN: the CRNN of crnn.pytorch, which tensorrtx's crnn builds (same names:
``cnn.conv0``, ``cnn.batchnorm2``, ``rnn.0.rnn.weight_ih_l0_reverse``, ``rnn.1.embedding``...)."""

from __future__ import annotations

import torch
from torch import nn

#: tensorrtx's crnn: kernel, padding and channels of the seven convolutions
KERNELS = (3, 3, 3, 3, 3, 3, 2)
PADDINGS = (1, 1, 1, 1, 1, 1, 0)
CHANNELS = (64, 128, 256, 256, 512, 512, 512)


class BidirectionalLSTM(nn.Module):
    def __init__(self, nIn: int, nHidden: int, nOut: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(nIn, nHidden, bidirectional=True)
        self.embedding = nn.Linear(nHidden * 2, nOut)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        recurrent, _ = self.rnn(input)
        T, b, h = recurrent.size()
        output = self.embedding(recurrent.view(T * b, h))
        return output.view(T, b, -1)


class CRNN(nn.Module):
    """(N, nc, 32, W) images -> (W / 4 + 1, N, nclass) per-column class scores (CTC, blank = class 0)."""

    def __init__(
        self, imgH: int = 32, nc: int = 1, nclass: int = 37, nh: int = 256, channels: tuple[int, ...] = CHANNELS
    ) -> None:
        super().__init__()
        if imgH != 32:
            raise ValueError(f"CRNN reads images 32 pixels high, got imgH={imgH}")
        cnn = nn.Sequential()

        def conv_relu(i: int, batch_norm: bool = False) -> None:
            n_in = nc if i == 0 else channels[i - 1]
            cnn.add_module(f"conv{i}", nn.Conv2d(n_in, channels[i], KERNELS[i], 1, PADDINGS[i]))
            if batch_norm:
                cnn.add_module(f"batchnorm{i}", nn.BatchNorm2d(channels[i]))
            cnn.add_module(f"relu{i}", nn.ReLU(True))

        conv_relu(0)
        cnn.add_module("pooling0", nn.MaxPool2d(2, 2))  # 64 x 16 x W/2
        conv_relu(1)
        cnn.add_module("pooling1", nn.MaxPool2d(2, 2))  # 128 x 8 x W/4
        conv_relu(2, True)
        conv_relu(3)
        cnn.add_module("pooling2", nn.MaxPool2d((2, 2), (2, 1), (0, 1)))  # 256 x 4 x W/4+1
        conv_relu(4, True)
        conv_relu(5)
        cnn.add_module("pooling3", nn.MaxPool2d((2, 2), (2, 1), (0, 1)))  # 512 x 2 x W/4+2
        conv_relu(6, True)  # 512 x 1 x W/4+1
        self.cnn = cnn
        self.rnn = nn.Sequential(BidirectionalLSTM(channels[-1], nh, nh), BidirectionalLSTM(nh, nh, nclass))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        conv = self.cnn(input)
        assert conv.size(2) == 1, "the height of conv must be 1"
        conv = conv.squeeze(2).permute(2, 0, 1)  # [w, b, c]
        return self.rnn(conv)


def crnn(**kwargs) -> CRNN:
    """tensorrtx's configuration: 1 x 32 x W grayscale, 37 classes (blank + 0-9 + a-z), 256 hidden units."""
    return CRNN(**kwargs)
