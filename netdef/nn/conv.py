"""Convolution modules: Conv1d/2d/3d (any padding_mode) and ConvTranspose1d/2d/3d, with torch's weight layouts."""

from __future__ import annotations

from netdef import functional as F
from netdef.nn.module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n: int) -> tuple[int, ...]:
    return (v,) * n if isinstance(v, int) else tuple(v)


class _ConvNd(Module):
    _dims = 2
    _conv = staticmethod(F.conv2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        n = self._dims
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels={in_channels} and out_channels={out_channels} must be divisible by groups={groups}"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride, self.dilation = _ntuple(stride, n), _ntuple(dilation, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.padding_mode = padding_mode
        self.weight = Parameter(out_channels, in_channels // groups, *self.kernel_size)
        self.bias = Parameter(out_channels) if bias else None

    def _explicit_padding(self) -> tuple[int, ...]:
        """F.pad's argument (last dim first) for a padding_mode other than 'zeros', as torch computes it."""
        if self.padding == "valid":
            return (0,) * (2 * self._dims)
        if self.padding == "same":
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        if self.padding_mode == "zeros":
            return self._conv(x, self.weight.data, bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "same" and any(s != 1 for s in self.stride):  # torch refuses it in its constructor
            raise x.ctx.error("conv", "padding='same' is not supported for strided convolutions (as in torch)")
        x = F.pad(x, self._explicit_padding(), mode=self.padding_mode)
        return self._conv(x, self.weight.data, bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}"
        )
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


class Conv1d(_ConvNd):
    """torch.nn.Conv1d: ``weight`` (out, in/groups, kL) and optional ``bias`` (out,)."""

    _dims = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """torch.nn.Conv2d: ``weight`` (out, in/groups, kH, kW) and optional ``bias`` (out,)."""

    _dims = 2
    _conv = staticmethod(F.conv2d)


class Conv3d(_ConvNd):
    """torch.nn.Conv3d: ``weight`` (out, in/groups, kD, kH, kW) and optional ``bias`` (out,)."""

    _dims = 3
    _conv = staticmethod(F.conv3d)


class _ConvTransposeNd(Module):
    _dims = 2
    _conv = staticmethod(F.conv_transpose2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        n = self._dims
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels={in_channels} and out_channels={out_channels} must be divisible by groups={groups}"
            )
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__} (as in torch)')
        if isinstance(padding, str):
            raise ValueError(f"padding={padding!r} is not supported for {type(self).__name__} (as in torch)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride, self.dilation = _ntuple(stride, n), _ntuple(dilation, n)
        self.padding, self.output_padding = _ntuple(padding, n), _ntuple(output_padding, n)
        self.padding_mode = padding_mode
        self.weight = Parameter(in_channels, out_channels // groups, *self.kernel_size)
        self.bias = Parameter(out_channels) if bias else None

    def _output_padding(self, x, output_size) -> tuple[int, ...]:
        """torch's output_padding that makes the output ``output_size`` (spatial dims, or with N and C)."""
        n = self._dims
        size = tuple(int(s) for s in output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise x.ctx.error("conv_transpose", f"output_size must have {n} or {n + 2} entries, got {output_size}")
        extra = []
        for i in range(n):
            length = x.static_shape[2 + i]
            if length < 0:
                raise x.ctx.error("conv_transpose", f"output_size needs a static input size, got {x.static_shape}")
            k, s, p, d = self.kernel_size[i], self.stride[i], self.padding[i], self.dilation[i]
            smallest = (length - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= size[i] < smallest + s:
                raise x.ctx.error(
                    "conv_transpose",
                    f"requested an output size of {tuple(size)}, but valid sizes range from {smallest} to "
                    f"{smallest + s - 1} in dim {2 + i} (for an input of {x.static_shape})",
                )
            extra.append(size[i] - smallest)
        return tuple(extra)

    def forward(self, x, output_size=None):
        bias = None if self.bias is None else self.bias.data
        extra = self.output_padding if output_size is None else self._output_padding(x, output_size)
        return self._conv(x, self.weight.data, bias, self.stride, self.padding, extra, self.groups, self.dilation)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}"
        )
        if self.output_padding != (0,) * self._dims:
            text += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        return text


class ConvTranspose1d(_ConvTransposeNd):
    """torch.nn.ConvTranspose1d: ``weight`` (in, out/groups, kL) and optional ``bias`` (out,)."""

    _dims = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """torch.nn.ConvTranspose2d: ``weight`` (in, out/groups, kH, kW) and optional ``bias`` (out,)."""

    _dims = 2
    _conv = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """torch.nn.ConvTranspose3d: ``weight`` (in, out/groups, kD, kH, kW) and optional ``bias`` (out,)."""

    _dims = 3
    _conv = staticmethod(F.conv_transpose3d)
