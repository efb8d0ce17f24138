"""TSM, the Temporal Shift Module video classifier (tensorrtx's tsm), with mit-han-lab/temporal-shift-module's
TSN names (``base_model.`` + torchvision's ResNet-50, each block's ``conv1`` wrapped as ``conv1.net``, and
``new_fc``), so its TSM-R50 checkpoints bind (after dropping DataParallel's ``module.`` prefix).

Input (B, num_segments * 3, H, W): a clip's frames stacked on channels, as the repository's TSN takes it. Before
each residual block's first conv, 1/8 of the channels take the next frame's values and 1/8 the previous frame's
(zeros past the clip's ends): slices and concatenations along the frame axis. Logits are averaged over the
frames (the 'avg' consensus, before softmax): (B, num_class). Batch, H and W may be dynamic.
"""

from __future__ import annotations

from netdef import F, nn
from netdef.zoo.resnet import Bottleneck, ResNet


class TemporalShift(nn.Module):
    """``net`` applied to the input shifted in time: channels [0, C/8) from frame t + 1, [C/8, C/4) from t - 1."""

    def __init__(self, net: nn.Module, n_segment: int = 8, n_div: int = 8):
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x):
        nt, c, h, w = x.shape
        fold = c // self.fold_div
        x5 = x.reshape(-1, self.n_segment, c, h, w)
        blank = F.zeros_like(x5[:, :1, :fold])
        left = F.cat([x5[:, 1:, :fold], blank], 1)
        right = F.cat([blank, x5[:, :-1, fold : 2 * fold]], 1)
        shifted = F.cat([left, right, x5[:, :, 2 * fold :]], 2)
        return self.net(shifted.reshape(nt, c, h, w))


class TSN(nn.Module):
    """TSN(num_class, num_segments) with shift in every residual block ('blockres'), dropout before ``new_fc``."""

    def __init__(self, num_class: int = 400, num_segments: int = 8, layers=(3, 4, 6, 3), shift_div: int = 8):
        super().__init__()
        self.num_segments, self.num_class = num_segments, num_class
        self.base_model = ResNet(Bottleneck, list(layers))
        if len(layers) > 2 and layers[2] >= 23:
            raise ValueError("ResNets with >= 23 blocks in layer3 shift every 2nd block upstream; not supported here")
        for stage in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3, self.base_model.layer4):
            for block in stage:
                block.conv1 = TemporalShift(block.conv1, num_segments, shift_div)
        self.base_model.fc = nn.Dropout(0.8)
        self.new_fc = nn.Linear(2048, num_class)

    def forward(self, x):
        _, _, h, w = x.shape
        out = self.new_fc(self.base_model(x.reshape(-1, 3, h, w)))
        return out.reshape(-1, self.num_segments, self.num_class).mean(1)


def tsm_resnet50(num_class: int = 400, num_segments: int = 8) -> TSN:
    """TSM-R50 as the repository releases it for Kinetics-400 (8 segments)."""
    return TSN(num_class, num_segments)
