"""Batch normalization modules (eval semantics: running statistics, or the batch's with
``track_running_stats=False``; no momentum)."""

from __future__ import annotations

from typing import ClassVar

from netdef import functional as F
from netdef.nn.module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


class _BatchNorm(Module):
    _ranks: tuple[int, ...] = ()
    #: unused at inference; absent from checkpoints older than torch 0.4.1, which torch loads with 0
    _omissible_buffers: ClassVar[dict[str, int]] = {"num_batches_tracked": 0}

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.track_running_stats = track_running_stats
        self.weight = Parameter(num_features) if affine else None
        self.bias = Parameter(num_features) if affine else None
        if track_running_stats:  # without them torch has no such buffers (and normalizes with batch statistics)
            self.register_buffer("running_mean", Parameter(num_features))
            self.register_buffer("running_var", Parameter(num_features))
            self.register_buffer("num_batches_tracked", Parameter((), dtype="int64"))

    def forward(self, x):
        if x.ndim not in self._ranks:
            ctx = x.ctx
            raise ctx.error(
                "batch_norm",
                f"{type(self).__name__} expects a {' or '.join(map(str, self._ranks))}-D input, got shape {x.static_shape}",
            )
        w = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        if not self.track_running_stats:  # torch's eval mode uses the batch's statistics then
            return F.batch_norm(x, None, None, w, b, training=True, eps=self.eps)
        return F.batch_norm(x, self.running_mean.data, self.running_var.data, w, b, eps=self.eps)

    def extra_repr(self) -> str:
        text = f"{self.num_features}, eps={self.eps}, affine={self.affine}"
        return text if self.track_running_stats else text + ", track_running_stats=False"


class BatchNorm1d(_BatchNorm):
    """torch.nn.BatchNorm1d over (N, C) or (N, C, L)."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """torch.nn.BatchNorm2d over (N, C, H, W)."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """torch.nn.BatchNorm3d over (N, C, D, H, W)."""

    _ranks = (5,)
