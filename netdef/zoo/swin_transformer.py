"""Swin Transformer (V1: swin_t/s/b) with torchvision's module tree and state_dict names
(``features.1.0.attn.relative_position_bias_table``, ``features.2.reduction.weight``, ...).

Tokens stay channels-last (B, H, W, C). Each block attends within non-overlapping windows (padded up to a
multiple of the window), every second block on windows shifted by half a window (a cyclic roll, written as two
slices and a concatenation; the wrapped-around regions masked with -100 as torchvision does), with a learned
relative position bias per head gathered by the checkpoint's ``relative_position_index``. Patch merging
concatenates each 2x2 neighbourhood and projects 4C to 2C. The batch may be dynamic; H and W are fixed at
definition (they decide the window layout and masks).
"""

from __future__ import annotations

import numpy as np

from netdef import F, Input, nn
from netdef.zoo.misc import MLP, Permute


def roll(x, shifts: tuple[int, ...], dims: tuple[int, ...]):
    """``torch.roll`` for static shifts: along each dim, the last ``shift`` entries move to the front."""
    for shift, dim in zip(shifts, dims):
        n = x.shape[dim]
        shift %= n
        if shift:
            index = [slice(None)] * x.ndim
            head, tail = list(index), list(index)
            head[dim], tail[dim] = slice(n - shift, n), slice(0, n - shift)
            x = F.cat([x[tuple(head)], x[tuple(tail)]], dim)
    return x


def shifted_window_mask(pad_h: int, pad_w: int, window_size, shift_size) -> np.ndarray:
    """(windows, N, N) additive mask of a shifted layout: 0 within a region, -100 between regions that the roll
    brought together (torchvision's values)."""
    regions = np.zeros((pad_h, pad_w), np.float32)
    bounds_h = (
        (0, pad_h - window_size[0]),
        (pad_h - window_size[0], pad_h - shift_size[0]),
        (pad_h - shift_size[0], pad_h),
    )
    bounds_w = (
        (0, pad_w - window_size[1]),
        (pad_w - window_size[1], pad_w - shift_size[1]),
        (pad_w - shift_size[1], pad_w),
    )
    for r, (h0, h1) in enumerate(bounds_h):
        for c, (w0, w1) in enumerate(bounds_w):
            regions[h0:h1, w0:w1] = 3 * r + c
    wh, ww = window_size
    regions = regions.reshape(pad_h // wh, wh, pad_w // ww, ww).transpose(0, 2, 1, 3).reshape(-1, wh * ww)
    diff = regions[:, None, :] - regions[:, :, None]
    return np.where(diff != 0, np.float32(-100.0), np.float32(0.0))


class ShiftedWindowAttention(nn.Module):
    """Multi-head self-attention within (shifted) windows, with a relative position bias per head."""

    def __init__(
        self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int, qkv_bias: bool = True
    ) -> None:
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError(f"window_size and shift_size must hold 2 ints, got {window_size} and {shift_size}")
        self.window_size, self.shift_size, self.num_heads = list(window_size), list(shift_size), num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads)
        n = window_size[0] * window_size[1]
        self.register_buffer("relative_position_index", nn.Parameter(n * n, dtype="int64"))

    def relative_position_bias(self):
        """(1, heads, N, N): the table's rows picked by ``relative_position_index``."""
        n = self.window_size[0] * self.window_size[1]
        bias = F.index_select(self.relative_position_bias_table, 0, self.relative_position_index)
        return bias.reshape(n, n, self.num_heads).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x):
        h, w, c = (int(d) for d in x.shape[1:])  # the batch may be dynamic (-1 below)
        (wh, ww), heads = self.window_size, self.num_heads
        pad_b, pad_r = (wh - h % wh) % wh, (ww - w % ww) % ww
        if pad_b or pad_r:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        ph, pw = h + pad_b, w + pad_r
        shift = [0 if wh >= ph else self.shift_size[0], 0 if ww >= pw else self.shift_size[1]]
        shifted = sum(shift) > 0
        if shifted:
            x = roll(x, (-shift[0], -shift[1]), (1, 2))
        windows, n = (ph // wh) * (pw // ww), wh * ww
        x = x.reshape(-1, ph // wh, wh, pw // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, n, c)
        qkv = self.qkv(x).reshape(-1, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
        attn = q.matmul(k.transpose(-2, -1)) + self.relative_position_bias()
        if shifted:
            mask = F.as_tensor(shifted_window_mask(ph, pw, self.window_size, shift)[None, :, None])
            attn = (attn.reshape(-1, windows, heads, n, n) + mask).reshape(-1, heads, n, n)
        x = F.softmax(attn, dim=-1).matmul(v).transpose(1, 2).reshape(-1, n, c)
        x = self.proj(x)
        x = x.reshape(-1, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ph, pw, c)
        if shifted:
            x = roll(x, tuple(shift), (1, 2))
        return x[:, :h, :w, :] if pad_b or pad_r else x


class SwinTransformerBlock(nn.Module):
    """Pre-norm window attention and MLP (GELU), each with a residual connection."""

    def __init__(
        self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int], mlp_ratio: float = 4.0
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = ShiftedWindowAttention(dim, window_size, shift_size, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """Each 2x2 neighbourhood's four tokens concatenated (odd sizes zero-padded), LayerNorm, 4C -> 2C."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=1e-5)

    def forward(self, x):
        h, w = int(x.shape[1]), int(x.shape[2])
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        parts = [x[:, 0::2, 0::2, :], x[:, 1::2, 0::2, :], x[:, 0::2, 1::2, :], x[:, 1::2, 1::2, :]]
        return self.reduction(self.norm(F.cat(parts, -1)))


class SwinTransformer(nn.Module):
    """torchvision.models.SwinTransformer (V1 blocks): patch embedding, stages and patch merging in
    ``features``, then ``norm``, average pool and ``head``."""

    def __init__(
        self,
        patch_size: list[int],
        embed_dim: int,
        depths: list[int],
        num_heads: list[int],
        window_size: list[int],
        mlp_ratio: float = 4.0,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(3, embed_dim, kernel_size=tuple(patch_size), stride=tuple(patch_size)),
                Permute([0, 2, 3, 1]),
                nn.LayerNorm(embed_dim, eps=1e-5),
            )
        ]
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            dim = embed_dim * 2**i
            shifts = [[0, 0] if j % 2 == 0 else [w // 2 for w in window_size] for j in range(depth)]
            layers.append(nn.Sequential(*[SwinTransformerBlock(dim, heads, window_size, s, mlp_ratio) for s in shifts]))
            if i < len(depths) - 1:
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(num_features, eps=1e-5)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)

    def forward(self, x):
        x = self.avgpool(self.permute(self.norm(self.features(x))))
        return self.head(self.flatten(x))

    @staticmethod
    def default_inputs(batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, 224, 224))}


def swin_t(num_classes: int = 1000) -> SwinTransformer:
    """Swin-T: embedding 96, depths (2, 2, 6, 2), heads (3, 6, 12, 24), 7x7 windows."""
    return SwinTransformer([4, 4], 96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], num_classes=num_classes)
