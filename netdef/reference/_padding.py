"""Padding of convolution and pooling layers: TensorRT's padding modes resolved to explicit amounts."""

from __future__ import annotations


def explicit_padding(layer, spatial: tuple[int, ...], kernel, stride, dilation) -> tuple[list[int], list[int]]:
    """(pre, post) padding of a convolution/pooling layer, resolving SAME_* and ROUND_UP modes."""
    mode = layer.padding_mode.name
    pre, post = list(layer.pre_padding), list(layer.post_padding)
    n = len(spatial)
    if len(pre) != n:  # TensorRT reports the padding with the layer's own rank
        pre, post = (pre + [0] * n)[:n], (post + [0] * n)[:n]
    for i in range(n):
        eff = dilation[i] * (kernel[i] - 1) + 1
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-spatial[i] // stride[i])
            total = max((out - 1) * stride[i] + eff - spatial[i], 0)
            small, big = total // 2, total - total // 2
            pre[i], post[i] = (small, big) if mode == "SAME_UPPER" else (big, small)
        elif mode == "EXPLICIT_ROUND_UP":
            span = spatial[i] + pre[i] + post[i] - eff
            out = -(-span // stride[i]) + 1
            post[i] += max((out - 1) * stride[i] + eff - (spatial[i] + pre[i] + post[i]), 0)
    return pre, post


def torch_pad(pre: list[int], post: list[int]) -> list[int]:
    """F.pad's argument order (last dim first) for per-dim (pre, post) padding."""
    out: list[int] = []
    for a, b in zip(reversed(pre), reversed(post)):
        out += [a, b]
    return out
