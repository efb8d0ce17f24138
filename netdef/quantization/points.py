"""Where Q/DQ goes: the activation inputs and weights of convolutions and matrix multiplies."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from netdef._trt import trt


@dataclass(frozen=True)
class QuantPoint:
    """One quantizable layer: its index and name, which inputs are activations, which one is a weight."""

    index: int
    name: str
    kind: str  # "conv" or "matmul"
    activations: tuple[int, ...]  # input slots fed by activations (per-tensor scales from calibration)
    weight: int | None  # input slot fed by a constant weight (per-channel scales), None for conv kernels


def _is_float(t: trt.ITensor) -> bool:
    return t.dtype.name in ("FLOAT", "HALF", "BF16")


def find_points(network: trt.INetworkDefinition, skip: tuple[str, ...] = ()) -> list[QuantPoint]:
    """Every conv and matmul layer of ``network`` whose name matches no ``skip`` pattern."""
    constants = set()
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type == trt.LayerType.CONSTANT:
            constants.add(layer.get_output(0).name)
    points = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if any(fnmatch.fnmatchcase(layer.name, p) for p in skip):
            continue
        if layer.type == trt.LayerType.CONVOLUTION and _is_float(layer.get_input(0)):
            weight = 1 if layer.num_inputs > 1 and layer.get_input(1) is not None else None
            points.append(QuantPoint(i, layer.name, "conv", (0,), weight))
        elif layer.type == trt.LayerType.MATRIX_MULTIPLY and _is_float(layer.get_input(0)):
            slots = [j for j in range(2) if layer.get_input(j).name in constants]
            weight = slots[0] if slots else None
            acts = tuple(j for j in range(2) if j != weight)
            points.append(QuantPoint(i, layer.name, "matmul", acts, weight))
    return points


def activation_key(point: QuantPoint, slot: int) -> str:
    """The calibration-cache key of one activation input: ``<layer name>:<input slot>``."""
    return f"{point.name}:{slot}"
