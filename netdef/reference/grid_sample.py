"""IGridSampleLayer semantics: torch's grid_sample (inputs: data (N, C, H, W), grid (N, H_out, W_out, 2)).

LINEAR and NEAREST with every sample mode, CUBIC with FILL and REFLECT. CUBIC with CLAMP raises: torch and
ONNX define it differently and the interpreter does not guess which one TensorRT follows.
"""

from __future__ import annotations

import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._registry import register

_MODES = {"LINEAR": "bilinear", "NEAREST": "nearest", "CUBIC": "bicubic"}
_PADDING = {"FILL": "zeros", "CLAMP": "border", "REFLECT": "reflection"}


@register("GRID_SAMPLE")
def grid_sample(layer, inputs):
    x, grid = inputs
    mode, padding = layer.interpolation_mode.name, layer.sample_mode.name
    if mode not in _MODES or padding not in _PADDING:
        raise InterpreterError(f"grid sample `{layer.name}`: {mode} with sample mode {padding} is not supported")
    if mode == "CUBIC" and padding == "CLAMP":
        raise InterpreterError(
            f"grid sample `{layer.name}`: CUBIC with CLAMP is ambiguous (torch clamps each of the 16 taps, ONNX "
            "clamps the sample point first) and the reference interpreter does not guess TensorRT's choice"
        )
    grid = grid.to(x.dtype)
    return [F.grid_sample(x, grid, _MODES[mode], _PADDING[padding], align_corners=bool(layer.align_corners))]
