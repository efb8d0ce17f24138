"""Tensor methods that emit no computation of their own: clone, detach, ``T``/``mT`` (permutes), ``new_zeros`` and
friends (factories of ``self``'s dtype)."""

from __future__ import annotations

from netdef.functional._common import require_tensor
from netdef.functional.creation import full
from netdef.functional.registry import register_op, tensor_method
from netdef.functional.shape import permute, transpose
from netdef.tensor import Tensor


@register_op(torch="torch.clone", methods="clone")
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """``input`` itself: a network's tensors are never written in place, so a copy is the same tensor."""
    return require_tensor("clone", input)


@register_op(torch="torch.Tensor.detach", methods="detach")
def detach(input: Tensor) -> Tensor:
    """``input`` itself: a network has no autograd graph to detach from."""
    return require_tensor("detach", input)


@tensor_method("T")
@property
def _T(self: Tensor) -> Tensor:
    """The dims reversed (torch.Tensor.T; torch deprecates it for ranks other than 2)."""
    return permute(self, *reversed(range(self.ndim))) if self.ndim >= 2 else self


@tensor_method("mT")
@property
def _mT(self: Tensor) -> Tensor:
    """The last two dims swapped (torch.Tensor.mT: a batch of matrices transposed)."""
    if self.ndim < 2:
        raise self.ctx.error("mT", f"expects a tensor of rank >= 2, got shape {self.static_shape}")
    return transpose(self, -2, -1)


def _size(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


@tensor_method("new_full")
def _new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, of ``self``'s dtype unless ``dtype`` (torch.Tensor.new_full)."""
    return full(_size((size,)), fill_value, dtype=self.dtype if dtype is None else dtype)


@tensor_method("new_zeros")
def _new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size``, of ``self``'s dtype unless ``dtype`` (torch.Tensor.new_zeros)."""
    return full(_size(size), 0, dtype=self.dtype if dtype is None else dtype)


@tensor_method("new_ones")
def _new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size``, of ``self``'s dtype unless ``dtype`` (torch.Tensor.new_ones)."""
    return full(_size(size), 1, dtype=self.dtype if dtype is None else dtype)


@tensor_method("new_empty")
def _new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` (torch.Tensor.new_empty; torch leaves the values unset, netdef makes them zeros)."""
    return full(_size(size), 0, dtype=self.dtype if dtype is None else dtype)
