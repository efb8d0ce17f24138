"""Ops netdef does not have: errors that say so and name netdef's op, or where the supported ops are listed.

Installs ``Tensor.__torch_function__`` (a netdef Tensor passed to a torch function, e.g. ``torch.sigmoid(x)``)
and ``Tensor.__getattr__`` (a torch.Tensor method netdef lacks, e.g. ``x.cumsum(0)``); the packages
``netdef.functional`` and ``netdef.nn`` answer unknown names (``F.fractional_max_pool2d``) with
:func:`missing_name_message`.
"""

from __future__ import annotations

import difflib

from netdef.errors import UnsupportedOpError
from netdef.functional.inplace import in_place_method
from netdef.functional.registry import OPS, tensor_method
from netdef.tensor import Tensor

#: where the supported ops are listed, for error messages
SUPPORTED_OPS = "the supported ops are listed in docs/ops.md and netdef.functional.__all__"


def missing_name_message(package: str, name: str, available: list[str]) -> str:
    """Why ``<package>.<name>`` (netdef.functional, netdef.nn) does not exist, with the closest names ``available``."""
    reason = refusal(f"{'F' if package == 'netdef.functional' else 'nn'}.{name}")
    if reason is not None:
        return f"{package} has no `{name}`: {reason}"
    close = difflib.get_close_matches(name, available, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listed = SUPPORTED_OPS if package == "netdef.functional" else f"the supported ones are listed in {package}.__all__"
    return f"{package} has no `{name}`: it is not supported yet ({listed}){hint}"


def torch_function_message(func) -> str:
    """What to call instead of the torch function ``func`` that a netdef Tensor reached."""
    name = getattr(func, "__name__", str(func))
    module = (getattr(func, "__module__", None) or "torch").replace("torch._C._nn", "torch.nn.functional")
    qualified = f"{module}.{name}"
    ours = [info for info in OPS.values() if info.torch == qualified or info.torch.rsplit(".", 1)[-1] == name]
    if ours:
        info = ours[0]
        method = f" or x.{name}(...)" if name in info.methods else ""
        fix = f"use netdef's op instead: F.{info.name}(...) (from netdef import F){method}"
    elif hasattr(Tensor, name):
        fix = f"use the netdef.Tensor method instead: x.{name}(...)"
    else:
        fix = f"netdef has no `{name}` op yet; {SUPPORTED_OPS}"
    return f"{qualified} was called on a netdef.Tensor, which torch cannot compute with; {fix}"


def missing_method_message(name: str) -> str:
    """Why ``Tensor.<name>`` does not exist, and what to call instead."""
    if name in OPS:
        return f"netdef.Tensor has no method `{name}`; call it as a function: F.{name}(x, ...) (from netdef import F)"
    if name.endswith("_") and name[:-1] in OPS:
        return f"netdef.Tensor has no in-place `{name}`; write x = F.{name[:-1]}(x, ...) (from netdef import F)"
    reason = refusal(f"Tensor.{name}")
    if reason is not None:
        return f"netdef.Tensor has no `{name}`: {reason}"
    close = difflib.get_close_matches(name, [n for n in dir(Tensor) if not n.startswith("_")], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"netdef.Tensor has no method `{name}`: the op is not supported yet ({SUPPORTED_OPS}){hint}"


def _first_tensor(values) -> Tensor | None:
    for v in values:
        if isinstance(v, Tensor):
            return v
        if isinstance(v, (list, tuple)):
            found = _first_tensor(v)
            if found is not None:
                return found
    return None


@tensor_method("__torch_function__")
@classmethod
def _torch_function(cls, func, types, args=(), kwargs=None):
    """A netdef Tensor reached a torch function (``torch.sigmoid(x)``): say which netdef op to call."""
    found = _first_tensor([*args, *(kwargs or {}).values()])
    where = f"{found.ctx.where()}: " if found is not None else ""
    raise UnsupportedOpError(where + torch_function_message(func))


@tensor_method("__getattr__")
def _getattr(self, name: str):
    """Only reached when normal lookup fails: a torch.Tensor method netdef does not have."""
    if name.startswith("_") or name in Tensor.__slots__:
        raise AttributeError(f"'netdef.Tensor' object has no attribute {name!r}")
    if hasattr(type(self), name):  # a property that raised AttributeError itself: let its own error surface
        return object.__getattribute__(self, name)
    if name.endswith("_") and not name.endswith("__") and callable(getattr(type(self), name[:-1], None)):
        # torch's `op_` is `op` written into the tensor: the out-of-place method, then a rebind (inplace.py)
        return in_place_method(name, getattr(type(self), name[:-1])).__get__(self, type(self))
    raise UnsupportedOpError(missing_method_message(name))


# ------------------------------------------------------------------------------- refused by design, and why
_VALUE = (
    "gives a Python value, which exists only when the network runs: keep it a tensor (e.g. return it as an "
    "output, or use F.where instead of an if)"
)
_AUTOGRAD = "autograd state: a network has no gradients (an engine is inference-only)"
_MEMORY = "memory, storage and device placement: TensorRT owns an engine's memory; the runtime picks the device"

#: (regular expression over ``nn.Name``, ``F.name`` or ``Tensor.name``, why netdef refuses it): what torch has
#: and TensorRT cannot express, or what means nothing in an inference network. docs/ops.md's coverage section
#: and the errors for these names say why; a name matching none is missing (not supported *yet*).
REFUSALS: tuple[tuple[str, str], ...] = (
    (
        r"F\.[a-z][a-z0-9_]*[a-z0-9]_",
        "an in-place function: call F.op(x, inplace=True) or the method x.op_() (written as the op and a rebind)",
    ),
    (
        r"nn\.\w*Loss\w*|nn\.LinearCrossEntropyOptions|F\.\w*_loss|F\.(cross_entropy|binary_cross_entropy\w*|"
        r"kl_div|linear_cross_entropy)",
        "a training loss: an engine is inference-only (compute a metric from the outputs instead)",
    ),
    (
        r"nn\.Lazy\w+",
        "infers its sizes from the first input, which a network declared ahead of any data does not have: "
        "give them (nn.Conv2d(in_channels, ...), nn.Linear(in_features, ...))",
    ),
    (r"nn\.SyncBatchNorm", "cross-GPU training statistics; in inference it is nn.BatchNorm1d/2d/3d: use those"),
    (r"nn\.(RNNBase|RNNCellBase|Container)", "a base class: use nn.LSTM/GRU/RNN (or the cell classes)"),
    (
        r"F\.(gumbel_softmax|fractional_max_pool\w*)|Tensor\.(bernoulli|multinomial)|nn\.FractionalMaxPool\w+",
        "random sampling: an engine computes the same outputs for the same inputs",
    ),
    (r"F\.(handle_torch_function|has_torch_function\w*|boolean_dispatch|assert_int_or_pair)", "torch internals"),
    (r"Tensor\.(double|cdouble)", "float64 and complex128: TensorRT has no 64-bit float; use float32"),
    (
        r"Tensor\.(cfloat|chalf|conj|conj_physical|is_conj|resolve_conj|angle|imag|real|H|mH)",
        "complex numbers: TensorRT has no complex dtype",
    ),
    (
        r"Tensor\.(item|tolist|numpy|is_nonzero|equal|allclose|__bool__|__nonzero__|__float__|__int__|__long__|"
        r"__index__|__complex__|__array__|__array_wrap__|__reversed__|__contains__)",
        _VALUE,
    ),
    (
        r"Tensor\.(backward|register_hook|register_post_accumulate_grad_hook|retain_grad|retains_grad|grad|grad_fn|"
        r"grad_dtype|requires_grad|is_leaf|output_nr|detach_|volatile|reinforce|data|is_inference)",
        _AUTOGRAD,
    ),
    (
        r"Tensor\.(storage|untyped_storage|storage_type|storage_offset|data_ptr|const_data_ptr|record_stream|"
        r"pin_memory|is_pinned|is_shared|share_memory_|cpu|cuda|xpu|ipu|mtia|get_device|element_size|stride|"
        r"is_contiguous|dim_order|as_strided|as_strided_scatter|is_set_to|hash_tensor|as_subclass|new|module_load|"
        r"is_cpu|is_cuda|is_ipu|is_maia|is_meta|is_mps|is_mtia|is_vulkan|is_xla|is_xpu|is_mkldnn|layout|"
        r"nbytes|itemsize|resize|resize_as|__dlpack__|__dlpack_device__|__dlpack_c_exchange_api__|"
        r"__cuda_array_interface__|__deepcopy__|__reduce__|__reduce_ex__|__getstate__|__setstate__|__sizeof__)",
        _MEMORY,
    ),
    (
        r"Tensor\.(ccol_indices|col_indices|crow_indices|row_indices|indices|values|coalesce|is_coalesced|"
        r"dense_dim|sparse_dim|sparse_mask|to_sparse\w*|to_dense|to_mkldnn|smm|sspaddmm|int_repr|q_\w+|qscheme|"
        r"dequantize|to_padded_tensor|is_sparse|is_sparse_csr|is_quantized|is_nested)",
        "sparse, quantized-storage and nested tensors: TensorRT's tensors are dense (INT8/FP8 is netdef.quantization)",
    ),
    (
        r"Tensor\.(cholesky\w*|det|logdet|slogdet|eig|symeig|geqrf|orgqr|ormqr|qr|svd|lu|lu_solve|lstsq|solve|"
        r"triangular_solve|inverse|pinverse|matrix_exp)",
        "a matrix decomposition, inverse or solver: TensorRT has no such layer and no loop that converges",
    ),
    (r"Tensor\.(unique|unique_consecutive)", "sorted distinct values of data-dependent count: no TensorRT layer"),
)


def refusal(qualified: str) -> str | None:
    """Why netdef refuses ``qualified`` (``nn.Name``, ``F.name``, ``Tensor.name``) by design, or None."""
    import re

    for pattern, reason in REFUSALS:
        if re.fullmatch(pattern, qualified):
            return reason
    return None
