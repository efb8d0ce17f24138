"""Samples of the netdef.nn modules, each against the torch.nn module of the same name and arguments.

``M(name, *args)`` builds ``netdef.nn.<name>(*args)`` and ``torch.nn.<name>(*args)``; a generator shared by
several modules yields them with ``name`` left "" (filled in per module).
"""

from __future__ import annotations

import torch

from netdef.opsamples import M, bools, ints, module_samples, randn

ACTIVATIONS = ("ReLU", "ReLU6", "SiLU", "Sigmoid", "Tanh", "GELU", "ELU", "SELU", "Mish", "Hardsigmoid", "Hardswish")


@module_samples(*ACTIVATIONS, "Identity", "Dropout", "CELU", "Softsign", "Hardshrink", "Softshrink", "Tanhshrink")
@module_samples("LogSigmoid", "RReLU")
def _plain():
    yield M("").on(randn(2, 3, 4, 5, scale=3))
    yield M("").on(randn(3, 7, scale=3)).dyn(0)


@module_samples("LeakyReLU", "Hardtanh", "Softplus", "PReLU")
def _parametrized():
    yield M("").on(randn(2, 3, 4, scale=3))
    yield M("").on(randn(3, 7, scale=3)).dyn(0)


@module_samples("Softmax", "LogSoftmax", "Softmin")
def _softmax():
    yield M("", dim=1).on(randn(2, 5, 3, scale=3))
    yield M("", -1).on(randn(3, 7, scale=3)).dyn(0)


@module_samples("Flatten")
def _flatten():
    yield M("Flatten").on(randn(2, 3, 4, 5))
    yield M("Flatten", 0, 2).on(randn(2, 3, 4, 5))
    yield M("Flatten").on(randn(2, 3, 4)).dyn(0)


@module_samples("Linear")
def _linear():
    yield M("Linear", 7, 5).on(randn(4, 7))
    yield M("Linear", 7, 5, bias=False).on(randn(2, 3, 7))
    yield M("Linear", 7, 5).on(randn(2, 3, 7)).dyn(0, 1)


@module_samples("Conv1d")
def _conv1d():
    yield M("Conv1d", 3, 4, 3, padding=1).on(randn(2, 3, 10))
    yield M("Conv1d", 4, 6, 3, stride=2, groups=2, bias=False).on(randn(2, 4, 11))
    yield M("Conv1d", 3, 4, 3, padding=2, padding_mode="reflect").on(randn(2, 3, 10))
    yield M("Conv1d", 3, 4, 3).on(randn(2, 3, 10)).dyn(0, 2)


@module_samples("Conv2d")
def _conv2d():
    yield M("Conv2d", 3, 4, 3, padding=1).on(randn(2, 3, 8, 8))
    yield M("Conv2d", 4, 6, (3, 1), stride=(2, 1), groups=2, bias=False).on(randn(1, 4, 9, 7))
    yield M("Conv2d", 3, 4, 3, padding=1, padding_mode="circular").on(randn(1, 3, 6, 6))
    yield M("Conv2d", 3, 4, 3, padding="same", dilation=2).on(randn(1, 3, 8, 8))
    yield M("Conv2d", 3, 4, 3, stride=2).on(randn(2, 3, 8, 8)).dyn(0, 2, 3)


@module_samples("Conv3d")
def _conv3d():
    yield M("Conv3d", 2, 3, 3, padding=1).on(randn(1, 2, 4, 5, 5))
    yield M("Conv3d", 2, 3, 3).on(randn(1, 2, 4, 5, 5)).dyn(0, 2)


@module_samples("ConvTranspose1d")
def _conv_transpose1d():
    yield M("ConvTranspose1d", 3, 4, 3, stride=2).on(randn(2, 3, 6))
    yield M("ConvTranspose1d", 3, 4, 3).on(randn(2, 3, 6)).dyn(0, 2)


@module_samples("ConvTranspose2d")
def _conv_transpose2d():
    yield M("ConvTranspose2d", 3, 4, 2, stride=2).on(randn(2, 3, 5, 5))
    yield M("ConvTranspose2d", 4, 4, 3, stride=2, padding=1, output_padding=1, groups=2).on(randn(1, 4, 4, 4))
    yield M("ConvTranspose2d", 3, 4, 2, stride=2).on(randn(2, 3, 5, 5)).dyn(0, 2, 3)


@module_samples("ConvTranspose3d")
def _conv_transpose3d():
    yield M("ConvTranspose3d", 2, 3, 2, stride=2).on(randn(1, 2, 3, 4, 4))
    yield M("ConvTranspose3d", 2, 3, 2).on(randn(1, 2, 3, 4, 4)).dyn(0, 2)


@module_samples("BatchNorm1d")
def _batch_norm1d():
    yield M("BatchNorm1d", 3).on(randn(4, 3))
    yield M("BatchNorm1d", 3, affine=False).on(randn(2, 3, 5))
    yield M("BatchNorm1d", 3).on(randn(2, 3, 5)).dyn(0, 2)


@module_samples("BatchNorm2d")
def _batch_norm2d():
    yield M("BatchNorm2d", 3).on(randn(2, 3, 4, 4))
    yield M("BatchNorm2d", 3, eps=1e-3).on(randn(2, 3, 4, 4)).dyn(0, 2, 3)


@module_samples("BatchNorm3d")
def _batch_norm3d():
    yield M("BatchNorm3d", 3).on(randn(1, 3, 2, 4, 4))
    yield M("BatchNorm3d", 3).on(randn(1, 3, 2, 4, 4)).dyn(0, 2)


@module_samples("LayerNorm")
def _layer_norm():
    yield M("LayerNorm", 8).on(randn(2, 5, 8))
    yield M("LayerNorm", (3, 4), elementwise_affine=False).on(randn(2, 3, 4))
    yield M("LayerNorm", 8, bias=False).on(randn(2, 5, 8)).dyn(0, 1)


@module_samples("GroupNorm")
def _group_norm():
    yield M("GroupNorm", 3, 6).on(randn(2, 6, 4, 4))
    yield M("GroupNorm", 2, 4, affine=False).on(randn(2, 4, 5))
    yield M("GroupNorm", 3, 6).on(randn(2, 6, 4, 4)).dyn(0, 2, 3)


@module_samples("InstanceNorm1d")
def _instance_norm1d():
    yield M("InstanceNorm1d", 3).on(randn(2, 3, 6))
    yield M("InstanceNorm1d", 3, affine=True).on(randn(2, 3, 6)).dyn(0, 2)


@module_samples("InstanceNorm2d")
def _instance_norm2d():
    yield M("InstanceNorm2d", 3).on(randn(2, 3, 5, 5))
    yield M("InstanceNorm2d", 3, affine=True, track_running_stats=True).on(randn(2, 3, 5, 5))
    yield M("InstanceNorm2d", 3, affine=True).on(randn(2, 3, 5, 5)).dyn(0, 2, 3)


@module_samples("InstanceNorm3d")
def _instance_norm3d():
    yield M("InstanceNorm3d", 3).on(randn(1, 3, 3, 4, 4))
    yield M("InstanceNorm3d", 3, affine=True).on(randn(1, 3, 3, 4, 4)).dyn(0, 2)


@module_samples("MaxPool1d", "AvgPool1d")
def _pool1d():
    yield M("", 2).on(randn(2, 3, 10))
    yield M("", 3, 2, 1).on(randn(2, 3, 11))
    yield M("", 3, stride=2).on(randn(2, 3, 10)).dyn(0, 2)


@module_samples("MaxPool2d", "AvgPool2d")
def _pool2d():
    yield M("", 2).on(randn(2, 3, 8, 8))
    yield M("", 3, 2, 1, ceil_mode=True).on(randn(1, 2, 9, 7))
    yield M("", 3, stride=1, padding=1).on(randn(1, 2, 8, 8)).dyn(0, 2, 3)


@module_samples("AdaptiveAvgPool1d", "AdaptiveMaxPool1d")
def _adaptive1d():
    yield M("", 3).on(randn(2, 3, 7))
    yield M("", 1).on(randn(2, 3, 8)).dyn(0)


@module_samples("AdaptiveAvgPool2d", "AdaptiveMaxPool2d")
def _adaptive2d():
    yield M("", (2, 3)).on(randn(2, 3, 7, 8))
    yield M("", 1).on(randn(2, 3, 8, 8)).dyn(0, 2, 3)


@module_samples("ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d")
def _pad1d():
    yield M("", (1, 2)).on(randn(2, 3, 5))
    yield M("", 2).on(randn(2, 3, 5)).dyn(0, 2)


@module_samples("ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d")
def _pad2d():
    yield M("", (1, 2, 0, 1)).on(randn(2, 3, 4, 5))
    yield M("", 1).on(randn(2, 3, 4, 5)).dyn(0, 2, 3)


@module_samples("ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d")
def _pad3d():
    yield M("", (1, 0, 1, 1, 0, 1)).on(randn(1, 2, 3, 4, 4))
    yield M("", 1).on(randn(1, 2, 3, 4, 4)).dyn(0, 2)


@module_samples("ConstantPad1d")
def _constant_pad1d():
    yield M("ConstantPad1d", (1, 2), 1.5).on(randn(2, 3, 5))
    yield M("ConstantPad1d", 2, -1.0).on(randn(2, 3, 5)).dyn(0, 2)


@module_samples("ConstantPad2d")
def _constant_pad2d():
    yield M("ConstantPad2d", (1, 2, 0, 1), 1.5).on(randn(2, 3, 4, 5))
    yield M("ConstantPad2d", 1, -1.0).on(randn(2, 3, 4, 5)).dyn(0, 2)


@module_samples("ConstantPad3d")
def _constant_pad3d():
    yield M("ConstantPad3d", (1, 0, 1, 1, 0, 1), 0.5).on(randn(1, 2, 3, 4, 4))
    yield M("ConstantPad3d", 1, 2.0).on(randn(1, 2, 3, 4, 4)).dyn(0, 2)


@module_samples("Upsample")
def _upsample():
    yield M("Upsample", scale_factor=2).on(randn(1, 2, 4, 5))
    yield M("Upsample", size=(6, 7), mode="bilinear", align_corners=True).on(randn(1, 2, 4, 5))
    yield M("Upsample", scale_factor=2, mode="bilinear").on(randn(1, 2, 4, 5)).dyn(0, 2, 3)


@module_samples("UpsamplingBilinear2d", "UpsamplingNearest2d")
def _upsampling():
    yield M("", scale_factor=2).on(randn(1, 2, 4, 5))
    yield M("", size=(6, 7)).on(randn(1, 2, 4, 5)).dyn(0)


@module_samples("Embedding")
def _embedding():
    yield M("Embedding", 10, 4).on(ints(2, 5, low=0, high=10, dtype=torch.int64))
    yield M("Embedding", 10, 4, padding_idx=0).on(ints(6, low=0, high=10, dtype=torch.int32))
    yield M("Embedding", 10, 4).on(ints(2, 5, low=0, high=10, dtype=torch.int64)).dyn(0, 1)


@module_samples("MultiheadAttention")
def _multihead_attention():
    x = randn(5, 2, 8)
    yield M("MultiheadAttention", 8, 2).on(x, x, x)
    yield M("MultiheadAttention", 8, 4, batch_first=True).on(randn(2, 5, 8), randn(2, 6, 8), randn(2, 6, 8))
    yield M("MultiheadAttention", 8, 2).on(x, x, x, bools(2, 5) & False, need_weights=False)
    yield (
        M("MultiheadAttention", 8, 2)
        .on(randn(4, 2, 8), randn(4, 2, 8), randn(4, 2, 8))
        .dyn(0, 1)
        .dyn(0, 1, input=1)
        .dyn(0, 1, input=2)
    )


@module_samples("LSTM", "GRU", "RNN")
def _recurrent():
    yield M("", 3, 4).on(randn(5, 2, 3))
    yield M("", 3, 4, 2, bidirectional=True, batch_first=True).on(randn(2, 5, 3))
    yield M("", 3, 4).on(randn(4, 2, 3)).dyn(0, 1)


@module_samples("Threshold")
def _threshold():
    yield M("Threshold", 0.1, 20.0).on(randn(2, 3, 4, scale=3))
    yield M("Threshold", -0.5, 0.0).on(randn(3, 8, scale=3)).dyn(0)


@module_samples("Softmax2d")
def _softmax2d():
    yield M("Softmax2d").on(randn(2, 3, 4, 5, scale=3))
    yield M("Softmax2d").on(randn(3, 4, 5, scale=3)).dyn(1)


@module_samples("GLU")
def _glu():
    yield M("GLU").on(randn(2, 3, 6))
    yield M("GLU", 1).on(randn(3, 8)).dyn(0)


@module_samples("Unflatten")
def _unflatten():
    yield M("Unflatten", 1, (3, 4)).on(randn(2, 12))
    yield M("Unflatten", -1, (2, -1)).on(randn(2, 3, 8))
    yield M("Unflatten", 1, (3, 4)).on(randn(2, 12, 5)).dyn(0, 2)


@module_samples("PixelShuffle")
def _pixel_shuffle():
    yield M("PixelShuffle", 2).on(randn(1, 8, 3, 4))
    yield M("PixelShuffle", 3).on(randn(2, 9, 2, 2)).dyn(0, 2, 3)


@module_samples("PixelUnshuffle")
def _pixel_unshuffle():
    yield M("PixelUnshuffle", 2).on(randn(1, 2, 6, 4))
    yield M("PixelUnshuffle", 2).on(randn(2, 1, 4, 6)).dyn(0, 2, 3)


@module_samples("ChannelShuffle")
def _channel_shuffle():
    yield M("ChannelShuffle", 2).on(randn(1, 6, 2, 3))
    yield M("ChannelShuffle", 4).on(randn(2, 8, 3, 3)).dyn(0, 2, 3)


@module_samples("Unfold")
def _unfold():
    yield M("Unfold", 3).on(randn(1, 2, 5, 5))
    yield M("Unfold", (2, 3), padding=1, stride=2).on(randn(2, 3, 6, 5))
    yield M("Unfold", 2).on(randn(2, 2, 5, 5)).dyn(0)


@module_samples("Fold")
def _fold():
    yield M("Fold", (5, 5), 3).on(randn(1, 2 * 9, 9))
    yield M("Fold", (4, 6), (2, 3), stride=(2, 1), padding=(0, 1)).on(randn(2, 3 * 6, 12))
    yield M("Fold", (5, 5), 2).on(randn(2, 2 * 4, 16)).dyn(0)
