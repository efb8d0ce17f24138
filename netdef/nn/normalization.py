"""LayerNorm, GroupNorm and InstanceNorm1d/2d/3d (eval semantics), with torch's state_dict names."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module, Parameter

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm"]


class LayerNorm(Module):
    """torch.nn.LayerNorm over the last ``len(normalized_shape)`` dims; ``weight``/``bias`` of that shape."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(int(d) for d in shape), eps, elementwise_affine
        self.weight = Parameter(self.normalized_shape) if elementwise_affine else None
        self.bias = Parameter(self.normalized_shape) if elementwise_affine and bias else None

    def forward(self, x):
        w = None if self.weight is None else self.weight.data
        b = None if self.bias is None else self.bias.data
        return F.layer_norm(x, self.normalized_shape, w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """torch.nn.GroupNorm: ``num_groups`` groups of channels (dim 1); per-channel ``weight``/``bias``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(num_channels) if affine else None
        self.bias = Parameter(num_channels) if affine else None

    def forward(self, x):
        if x.ndim >= 2 and x.static_shape[1] >= 0 and x.static_shape[1] != self.num_channels:
            raise x.ctx.error(
                "group_norm",
                f"input has {x.static_shape[1]} channels (shape {x.static_shape}) but num_channels={self.num_channels}",
            )
        w = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        return F.group_norm(x, self.num_groups, w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    _dims = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.track_running_stats = track_running_stats
        self.weight = Parameter(num_features) if affine else None
        self.bias = Parameter(num_features) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Parameter(num_features))
            self.register_buffer("running_var", Parameter(num_features))
            self.register_buffer("num_batches_tracked", Parameter((), dtype="int64"))

    def forward(self, x):
        op = "instance_norm"
        ctx = x.ctx
        n = self._dims
        if x.ndim not in (n + 1, n + 2):
            raise ctx.error(
                op,
                f"{type(self).__name__} expects a {n + 2}-D (batched) or {n + 1}-D input, got shape {x.static_shape}",
            )
        channels = x.static_shape[1] if x.ndim == n + 2 else x.static_shape[0]
        if (self.affine or self.track_running_stats) and channels >= 0 and channels != self.num_features:
            raise ctx.error(
                op, f"input has {channels} channels (shape {x.static_shape}) but num_features={self.num_features}"
            )
        unbatched = x.ndim == n + 1
        if unbatched:  # torch accepts (C, *spatial): normalize a batch of one
            if any(d < 0 for d in x.static_shape):
                raise ctx.error(op, f"an unbatched input needs static dims, got {x.static_shape}")
            x = x.view(1, *x.static_shape)
        w = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        if self.track_running_stats:  # eval mode normalizes with the running statistics, as torch
            out = F.instance_norm(
                x, self.running_mean.data, self.running_var.data, w, b, use_input_stats=False, eps=self.eps
            )
        else:
            out = F.instance_norm(x, weight=w, bias=b, eps=self.eps)
        return out.view(*out.shape[1:]) if unbatched else out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """torch.nn.InstanceNorm1d over (N, C, L) or (C, L)."""

    _dims = 1


class InstanceNorm2d(_InstanceNorm):
    """torch.nn.InstanceNorm2d over (N, C, H, W) or (C, H, W)."""

    _dims = 2


class InstanceNorm3d(_InstanceNorm):
    """torch.nn.InstanceNorm3d over (N, C, D, H, W) or (C, D, H, W)."""

    _dims = 3
