"""Torch twin of netdef.zoo.swin_transformer: torchvision's SwinTransformer (V1) module tree and state_dict names."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netdef.zoo.twins.misc import MLP, Permute


def _window_partition(x: torch.Tensor, wh: int, ww: int) -> torch.Tensor:
    b, h, w, c = x.shape
    return x.view(b, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, c)


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int) -> None:
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = list(window_size), list(shift_size), num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        ch, cw = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        flat = torch.stack([ch.flatten(), cw.flatten()])  # 2, N
        rel = flat[:, :, None] - flat[:, None, :]  # 2, N, N
        index = (rel[0] + wh - 1) * (2 * ww - 1) + (rel[1] + ww - 1)
        self.register_buffer("relative_position_index", index.flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        (wh, ww), heads, n = self.window_size, self.num_heads, self.window_size[0] * self.window_size[1]
        x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
        _, ph, pw, _ = x.shape
        sh = 0 if wh >= ph else self.shift_size[0]
        sw = 0 if ww >= pw else self.shift_size[1]
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        windows = (ph // wh) * (pw // ww)
        t = _window_partition(x, wh, ww)
        q, k, v = self.qkv(t).reshape(t.shape[0], n, 3, heads, c // heads).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, heads).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if sh or sw:
            region = torch.zeros(ph, pw)
            label = 0
            for hs in (slice(0, ph - wh), slice(ph - wh, ph - sh), slice(ph - sh, ph)):
                for ws in (slice(0, pw - ww), slice(pw - ww, pw - sw), slice(pw - sw, pw)):
                    region[hs, ws] = label
                    label += 1
            region = _window_partition(region[None, :, :, None], wh, ww).squeeze(-1)  # windows, N
            mask = (region[:, None, :] != region[:, :, None]).float() * -100.0
            attn = (attn.view(b, windows, heads, n, n) + mask[None, :, None]).view(-1, heads, n, n)
        out = self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(t.shape[0], n, c))
        out = out.view(b, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if sh or sw:
            out = torch.roll(out, shifts=(sh, sw), dims=(1, 2))
        return out[:, :h, :w, :].contiguous()


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, window_size, shift_size, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = ShiftedWindowAttention(dim, window_size, shift_size, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1:3]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinTransformer(nn.Module):
    def __init__(
        self, patch_size, embed_dim: int, depths, num_heads, window_size, mlp_ratio=4.0, num_classes=1000
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
            shifts = [[0, 0] if j % 2 == 0 else [s // 2 for s in window_size] for j in range(depth)]
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
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.avgpool(self.permute(self.norm(self.features(x))))))


def swin_t(num_classes: int = 1000) -> SwinTransformer:
    return SwinTransformer([4, 4], 96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], num_classes=num_classes)
