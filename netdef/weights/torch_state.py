"""Bind flat weights (as read from a .wts) back into a torch module, by state_dict name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netdef.errors import BindError


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
    if missing or unexpected or wrong:
        lines = [f"cannot load weights into torch {type(module).__name__}:"]
        lines += wrong
        lines += [f"  missing: {k}" for k in missing] + [f"  unexpected: {k}" for k in unexpected]
        raise BindError("\n".join(lines))
    new = {k: torch.from_numpy(np.asarray(weights[k]).reshape(tuple(v.shape))).to(v.dtype) for k, v in state.items()}
    module.load_state_dict(new)


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
