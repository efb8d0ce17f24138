"""LPRNet licence-plate recognition (tensorrtx's lprnet) with sirius-ai/LPRNet_Pytorch's module tree and
state_dict names (``backbone.N`` as that repository numbers its Sequential, ``backbone.4.block.N`` inside the
small basic blocks, ``container.0``), so its published ``Final_LPRNet_model.pth`` binds.

Input (B, 3, 24, 94), fixed: the global-context pools are sized for it. The repository's ``nn.MaxPool3d`` on a
4-D tensor pools over (channels, H, W) of one unbatched volume: kernel (1, 3, 3) is a 3x3 max pool and its
stride's first entry keeps every 2nd (4th) channel, as here. Four feature maps are average-pooled to 4x18, each
divided by its mean square, concatenated, mixed by a 1x1 conv and averaged over H: (B, class_num, 18) logits
for CTC decoding. As upstream, each mean square is taken over the whole batch (``torch.mean`` of every
element), so an image's logits depend on the rest of a batch; batch 1 is what the repository and tensorrtx run.
"""

from __future__ import annotations

from netdef import F, nn


class MaxPool3d(nn.Module):
    """``torch.nn.MaxPool3d((1, k, k), (c, s_h, s_w))`` applied to a 4-D (B, C, H, W) tensor: a k x k max pool
    on H, W, then every c-th channel (torch reads the 4-D input as one (C, D, H, W) volume, D = our channels)."""

    def __init__(self, kernel_size: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__()
        if kernel_size[0] != 1:
            raise ValueError(f"only kernel_size (1, k, k) is supported (pooling within a channel), got {kernel_size}")
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)

    def forward(self, x):
        x = F.max_pool2d(x, self.kernel_size[1:], self.stride[1:])
        return x[:, :: self.stride[0]] if self.stride[0] != 1 else x


class small_basic_block(nn.Module):
    """1x1 conv to ch_out / 4, 3x1 and 1x3 convs, 1x1 conv to ch_out, ReLUs between."""

    def __init__(self, ch_in: int, ch_out: int):
        super().__init__()
        mid = ch_out // 4
        self.block = nn.Sequential(
            nn.Conv2d(ch_in, mid, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(mid, mid, kernel_size=(3, 1), padding=(1, 0)),
            nn.ReLU(),
            nn.Conv2d(mid, mid, kernel_size=(1, 3), padding=(0, 1)),
            nn.ReLU(),
            nn.Conv2d(mid, ch_out, kernel_size=1),
        )

    def forward(self, x):
        return self.block(x)


#: backbone indices whose outputs feed the global context, and the average pool each gets (None: none)
_KEEP = {2: (5, 5), 6: (5, 5), 13: ((4, 10), (4, 2)), 22: None}


class LPRNet(nn.Module):
    def __init__(self, lpr_max_len: int = 8, class_num: int = 68, dropout_rate: float = 0.5):
        super().__init__()
        self.lpr_max_len, self.class_num = lpr_max_len, class_num
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            MaxPool3d((1, 3, 3), (1, 1, 1)),
            small_basic_block(64, 128),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            MaxPool3d((1, 3, 3), (2, 1, 2)),
            small_basic_block(64, 256),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            small_basic_block(256, 256),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            MaxPool3d((1, 3, 3), (4, 1, 2)),
            nn.Dropout(dropout_rate),
            nn.Conv2d(64, 256, kernel_size=(1, 4), stride=1),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Dropout(dropout_rate),
            nn.Conv2d(256, class_num, kernel_size=(13, 1), stride=1),
            nn.BatchNorm2d(class_num),
            nn.ReLU(),
        )
        self.container = nn.Sequential(nn.Conv2d(448 + class_num, class_num, kernel_size=1, stride=1))

    def forward(self, x):
        if tuple(x.shape[1:]) != (3, 24, 94):
            raise x.ctx.error("lprnet", f"expects (B, 3, 24, 94) plate crops, got {tuple(x.shape)}")
        context = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i in _KEEP:
                f = x
                if _KEEP[i] is not None:
                    f = F.avg_pool2d(f, *_KEEP[i])
                context.append(f / (f * f).mean())
        return self.container(F.cat(context, 1)).mean(2)


def lprnet(class_num: int = 68) -> LPRNet:
    """LPRNet as tensorrtx builds it (68 classes: Chinese provinces, letters, digits and the CTC blank)."""
    return LPRNet(class_num=class_num)
