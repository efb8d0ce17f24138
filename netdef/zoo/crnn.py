"""CRNN (Shi et al.): a VGG-style CNN over a 32-pixel-high text line, two bidirectional LSTMs, and per-column
class scores for CTC, as tensorrtx's crnn builds it (crnn.pytorch's state_dict names).

The recurrent layers are TensorRT loops (netdef.nn.LSTM); the width, and so the sequence length
``W / 4 + 1``, may be dynamic. ``ctc_greedy_decode`` turns the scores into text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netdef import nn

#: tensorrtx's crnn: kernel, padding and channels of the seven convolutions, and its alphabet (blank first)
KERNELS = (3, 3, 3, 3, 3, 3, 2)
PADDINGS = (1, 1, 1, 1, 1, 1, 0)
CHANNELS = (64, 128, 256, 256, 512, 512, 512)
ALPHABET = "-0123456789abcdefghijklmnopqrstuvwxyz"


class BidirectionalLSTM(nn.Module):
    """A bidirectional LSTM and a linear embedding of its (T, N, 2 * nHidden) output."""

    def __init__(self, nIn: int, nHidden: int, nOut: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(nIn, nHidden, bidirectional=True)
        self.embedding = nn.Linear(nHidden * 2, nOut)

    def forward(self, input):
        recurrent, _ = self.rnn(input)
        T, b, h = recurrent.shape  # T is symbolic when the image width is dynamic
        output = self.embedding(recurrent.view(T * b, h))
        return output.view(T, b, -1)


class CRNN(nn.Module):
    """(N, nc, 32, W) images -> (W / 4 + 1, N, nclass) per-column class scores (CTC, blank = class 0)."""

    def __init__(
        self, imgH: int = 32, nc: int = 1, nclass: int = 37, nh: int = 256, channels: Sequence[int] = CHANNELS
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
        cnn.add_module("pooling0", nn.MaxPool2d(2, 2))
        conv_relu(1)
        cnn.add_module("pooling1", nn.MaxPool2d(2, 2))
        conv_relu(2, True)
        conv_relu(3)
        cnn.add_module("pooling2", nn.MaxPool2d((2, 2), (2, 1), (0, 1)))
        conv_relu(4, True)
        conv_relu(5)
        cnn.add_module("pooling3", nn.MaxPool2d((2, 2), (2, 1), (0, 1)))
        conv_relu(6, True)
        self.cnn = cnn
        self.rnn = nn.Sequential(BidirectionalLSTM(channels[-1], nh, nh), BidirectionalLSTM(nh, nh, nclass))

    def forward(self, x):
        conv = self.cnn(x)
        if conv.static_shape[2] != 1:
            raise ValueError(f"CRNN: the CNN's output must be 1 high (input 32 high), got {conv.static_shape}")
        return self.rnn(conv.squeeze(2).permute(2, 0, 1))  # (W', N, C): time-major for the LSTMs


def crnn(**kwargs) -> CRNN:
    """tensorrtx's configuration: 1 x 32 x W grayscale, 37 classes (blank + 0-9 + a-z), 256 hidden units."""
    return CRNN(**kwargs)


def ctc_greedy_decode(scores: np.ndarray, alphabet: str = ALPHABET) -> list[str]:
    """Best-path CTC decoding of (T, N, nclass) scores: the best class per step, repeats merged, blanks
    (class 0) dropped; one string per batch item. ``alphabet[k]`` is class ``k``'s character."""
    scores = np.asarray(scores)
    if scores.ndim != 3 or scores.shape[2] != len(alphabet):
        raise ValueError(
            f"expected (T, N, {len(alphabet)}) scores for a {len(alphabet)}-class alphabet, got {scores.shape}"
        )
    texts = []
    for best in scores.argmax(axis=2).T:  # (N, T)
        keep = (best != 0) & np.concatenate(([True], best[1:] != best[:-1]))
        texts.append("".join(alphabet[k] for k in best[keep]))
    return texts
