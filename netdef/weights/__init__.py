"""netdef.weights: reading and writing weight files, bound to modules by state_dict name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from netdef.errors import WeightsFormatError
from netdef.weights.io import atomic_write
from netdef.weights.torch_state import load_into_torch
from netdef.weights.wts import export_wts, load_wts, save_wts

__all__ = ["atomic_write", "export_wts", "load_into_torch", "load_weights_file", "load_wts", "save_wts"]


def load_weights_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a weights file by its suffix (``.wts``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".wts":
        return load_wts(path)
    raise WeightsFormatError(f"{path}: unknown weights format {suffix!r}; netdef reads .wts files")
