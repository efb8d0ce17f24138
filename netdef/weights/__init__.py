"""netdef.weights: reading and writing weight files, bound to modules by state_dict name."""

from __future__ import annotations

# each format's module registers it (netdef/weights/registry.py); .wts first, as the suffixes are listed
from netdef.weights import wts  # noqa: F401  # isort: skip
from netdef.weights.formats import (
    Weights,
    load_npz,
    load_safetensors,
    load_safetensors_index,
    load_torch_checkpoint,
    load_weights_file,
    save_safetensors,
)
from netdef.weights.registry import suffixes
from netdef.weights.rename import Rename, rename_weights
from netdef.weights.torch_state import load_into_torch
from netdef.weights.wts import export_wts, load_wts, save_wts

#: the suffixes of the registered formats (.wts, .safetensors, .npz and torch's), as messages list them
SUFFIXES = suffixes()

__all__ = [
    "SUFFIXES",
    "Rename",
    "Weights",
    "export_wts",
    "load_into_torch",
    "load_npz",
    "load_safetensors",
    "load_safetensors_index",
    "load_torch_checkpoint",
    "load_weights_file",
    "load_wts",
    "rename_weights",
    "save_safetensors",
    "save_wts",
]
