"""Tensor methods that emit no computation of their own: clone, detach, ``T``/``mT`` (permutes), ``new_zeros`` and
friends (factories of ``self``'s dtype)."""

from __future__ import annotations

from netdef.functional._common import require_tensor
from netdef.functional.creation import full
from netdef.functional.registry import register_op, tensor_method
from netdef.tensor import Tensor


@register_op(torch="torch.clone", methods="clone")
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A new tensor of ``input``'s values: a later in-place write into either leaves the other as it was."""
    input = require_tensor("clone", input)
    return Tensor(input.itensor, input.ctx)


@register_op(torch="torch.Tensor.detach", methods="detach")
def detach(input: Tensor) -> Tensor:
    """``input`` itself: a network has no autograd graph to detach from."""
    return require_tensor("detach", input)


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
