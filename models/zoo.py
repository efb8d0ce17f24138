"""The zoo registry: every model by name, with its torch twin and the input sizes the tests and examples use.

Each entry's twin has the same module structure and state_dict names as the netdef model (and, for
torchvision/timm architectures, as that library's model), so real pretrained weights export and bind
unchanged.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZooEntry:
    """``models.<module>.<cls>`` (netdef) and ``models.twins.<module>.<cls>`` (torch), built with ``kwargs``."""

    module: str
    cls: str
    kwargs: dict = field(default_factory=dict)
    #: input name -> (shape, dtype) for CI-size checks (small but real: every stage runs)
    test_inputs: dict = field(default_factory=dict)
    #: input name -> (shape, dtype) at the architecture's usual size (examples, benchmarks)
    full_inputs: dict = field(default_factory=dict)
    #: reference-vs-torch tolerance in fp32, as a fraction of the output's largest magnitude
    fp32_tol: float = 1e-4
    #: and in fp16 (weights, activations and layer outputs rounded to half precision)
    fp16_tol: float = 3e-2
    #: integer inputs: exclusive upper bound of random token ids (0 = float inputs)
    vocab: int = 0

    def netdef_model(self):
        return getattr(importlib.import_module(f"models.{self.module}"), self.cls)(**self.kwargs)

    def torch_model(self):
        return getattr(importlib.import_module(f"models.twins.{self.module}"), self.cls)(**self.kwargs)


def _img(n: int, size: int, channels: int = 3) -> dict:
    return {"x": ((n, channels, size, size), "float32")}


ZOO: dict[str, ZooEntry] = {
    "lenet": ZooEntry("lenet", "LeNet", test_inputs=_img(2, 32, 1), full_inputs=_img(1, 32, 1)),
    "mlp": ZooEntry("mlp", "MLP", test_inputs={"x": ((4, 64), "float32")}, full_inputs={"x": ((64, 64), "float32")}),
    # -- classic ImageNet CNNs (torchvision names) --------------------------------------------------------
    # 64x64 still runs every stage of a resnet (layer4 sees 2x2).
    "resnet18": ZooEntry("resnet", "resnet18", test_inputs=_img(1, 64), full_inputs=_img(1, 224)),
    "resnet34": ZooEntry("resnet", "resnet34", test_inputs=_img(1, 64), full_inputs=_img(1, 224)),
    "resnet50": ZooEntry("resnet", "resnet50", test_inputs=_img(1, 64), full_inputs=_img(1, 224)),
    "resnet101": ZooEntry("resnet", "resnet101", test_inputs=_img(1, 64), full_inputs=_img(1, 224)),
}


def get(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"no zoo model {name!r}; the zoo has {', '.join(sorted(ZOO))}") from None


def names() -> list[str]:
    return sorted(ZOO)
