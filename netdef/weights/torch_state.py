"""Bind flat weights (as read from a .wts) back into a torch module, by state_dict name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netdef.errors import BindError
from netdef.numeric import convert


def load_into_torch(module, weights: Mapping[str, np.ndarray]) -> None:
    """Copy ``weights`` into torch ``module`` (strict names, sizes checked; shapes from the module)."""
    import torch

    state = module.state_dict()
    missing = [k for k in state if k not in weights]
    unexpected = [k for k in weights if k not in state]
    wrong = [
        f"  {k}: torch expects {tuple(v.shape)} ({v.numel()} values), found {np.asarray(weights[k]).size}"
        for k, v in state.items()
        if k in weights and np.asarray(weights[k]).size != v.numel()
    ]
    unfit = [
        f"  {k}: torch holds it as {str(v.dtype).removeprefix('torch.')}, but {problem}"
        for k, v in state.items()
        if k in weights and np.asarray(weights[k]).size == v.numel()
        for problem in [_problem(np.asarray(weights[k]), v.dtype)]
        if problem
    ]
    if missing or unexpected or wrong or unfit:
        lines = [f"cannot load weights into torch {type(module).__name__}:"]
        lines += wrong + unfit
        lines += [f"  missing: {k}" for k in missing] + [f"  unexpected: {k}" for k in unexpected]
        raise BindError("\n".join(lines))
    new = {k: torch.from_numpy(np.asarray(weights[k]).reshape(tuple(v.shape))).to(v.dtype) for k, v in state.items()}
    module.load_state_dict(new)


def _problem(array: np.ndarray, dtype) -> str | None:
    """Why ``array`` cannot become a torch tensor of ``dtype`` without wrapping or overflowing to inf, or None."""
    import torch

    if dtype == torch.bfloat16:
        import ml_dtypes

        target = np.dtype(ml_dtypes.bfloat16)
    else:
        target = torch.empty((), dtype=dtype).numpy().dtype
    return convert(array, target)[1] if array.dtype.kind in "biuf" else None


def state_dict_of(model_or_state_dict: Any, caller: str) -> Mapping[str, Any]:
    """A torch module's ``state_dict()``, or the mapping itself; TypeError naming ``caller`` otherwise."""
    import torch

    if isinstance(model_or_state_dict, torch.nn.Module):
        return model_or_state_dict.state_dict()
    if isinstance(model_or_state_dict, Mapping):
        return model_or_state_dict
    raise TypeError(
        f"{caller}: expected a torch.nn.Module or a mapping of name -> tensor/array, "
        f"got {type(model_or_state_dict).__name__}"
    )
