"""RRDBNet, the ESRGAN / Real-ESRGAN generator (tensorrtx's real-esrgan), with BasicSR's module tree and
state_dict names (``conv_first``, ``body.N.rdb{1,2,3}.conv{1..5}``, ``conv_body``, ``conv_up{1,2}``, ``conv_hr``,
``conv_last``), so Real-ESRGAN's published checkpoints (``RealESRGAN_x4plus.pth``'s ``params_ema`` entry) bind.

Input (B, num_in_ch, H, W); output (B, num_out_ch, 4H, 4W): two nearest 2x upsamplings. Scales 2 and 1 first
fold each 2x2 (4x4) pixel block into channels (pixel unshuffle), so H and W must be multiples of 2 (4) there.
Batch, H and W may be dynamic.
"""

from __future__ import annotations

from netdef import F, nn


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each reading the block input and every earlier conv's output; residual scaled by 0.2."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(self.lrelu(conv(F.cat(features, 1))))
        return self.conv5(F.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks, residual scaled by 0.2."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


def pixel_unshuffle(x, scale: int):
    """(B, C, H, W) -> (B, C * scale**2, H / scale, W / scale): each scale x scale block into channels."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // scale, scale, w // scale, scale)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, c * scale * scale, h // scale, w // scale)


class RRDBNet(nn.Module):
    """BasicSR's RRDBNet(num_in_ch, num_out_ch, scale, num_feat, num_block, num_grow_ch)."""

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(
                f"RRDBNet scale must be 1, 2 or 4 (the output is always 4x the unshuffled input), got {scale}"
            )
        self.scale = scale
        self.conv_first = nn.Conv2d(num_in_ch * {4: 1, 2: 4, 1: 16}[scale], num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        feat = pixel_unshuffle(x, 4 // self.scale) if self.scale != 4 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def realesrgan_x4plus() -> RRDBNet:
    """Real-ESRGAN's RealESRGAN_x4plus generator (23 RRDBs, 64 features)."""
    return RRDBNet(3, 3, scale=4, num_feat=64, num_block=23, num_grow_ch=32)
