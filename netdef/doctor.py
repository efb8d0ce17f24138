"""``netdef doctor``: what this machine can do with netdef, and the fix for each missing piece.

Each check is measured, not inferred: the build check builds a one-layer network with the installed backend,
the GPU and provider checks ask the CUDA libraries that are installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from netdef._trt import BACKEND, VERSION
from netdef.errors import NetdefError

_BACKEND_NAMES = {"tensorrt": "TensorRT", "tensorrt_rtx": "TensorRT-RTX"}


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it holds, what was found, and the fix when it does not."""

    name: str
    ok: bool
    found: str
    fix: str = ""


def _build_check() -> Check:
    import numpy as np

    import netdef
    from netdef import nn

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x).relu()

    model = Probe()
    model.load_weights({"fc.weight": np.ones((2, 4), np.float32), "fc.bias": np.zeros(2, np.float32)})
    try:
        built = netdef.build(model, {"x": netdef.Input((1, 4))}, progress=False)
    except NetdefError as exc:
        return Check("build engines", False, str(exc), "reinstall the backend (`pip install tensorrt-rtx`)")
    return Check("build engines", True, f"a one-layer engine built ({len(built.data)} bytes)")


def _gpu_checks() -> list[Check]:
    from netdef.runtime.device import current_gpu, require_gpu

    gpu = current_gpu()
    if gpu is None:
        checks = [
            Check(
                "GPU",
                False,
                "no CUDA GPU is visible to torch, pycuda or cuda-python",
                "needed only to run engines: check `nvidia-smi` and the driver, and install a GPU runtime (below)",
            )
        ]
    else:
        major, minor = gpu.compute_capability
        checks = [Check("GPU", True, f"{gpu.name}, compute capability {major}.{minor}")]
    try:
        require_gpu("run engines")
    except NetdefError as exc:
        fix = "build engines here and run them on a machine with a supported GPU"
        checks.append(Check("run engines", False, str(exc), fix))
    else:
        checks.append(Check("run engines", True, f"{_BACKEND_NAMES.get(BACKEND, BACKEND)} supports this GPU"))
    return checks


def _provider_checks() -> list[Check]:
    from netdef.runtime.buffers import INSTALL, PROVIDERS, provider_problem

    checks = []
    for name in PROVIDERS:
        problem = provider_problem(name)
        missing = problem is not None and ("not installed" in problem or "CPU-only" in problem)
        fix = INSTALL[name] if missing else "it needs a CUDA GPU (see GPU above)"
        checks.append(Check(f"provider {name}", problem is None, problem or "can allocate GPU buffers", fix))
    return checks


#: optional packages: what each is for (none is needed to define, build or interpret networks)
OPTIONAL = {
    "onnx": "ONNX files (netdef graph -o net.onnx, the ONNX cross-check)",
    "torchvision": "zoo oracles",
    "transformers": "zoo oracles and LLM checkpoints",
    "ultralytics": "YOLO oracles",
    "timm": "zoo oracles",
}


def _package_checks() -> list[Check]:
    """Whether each optional package imports (imported for real: an installed package can still fail to load)."""
    checks = []
    for package, purpose in OPTIONAL.items():
        if importlib.util.find_spec(package) is None:
            checks.append(Check(f"package {package}", False, "not installed", f"`pip install {package}` ({purpose})"))
            continue
        try:
            module = importlib.import_module(package)
        except Exception as exc:  # whatever its import raises is what the user would meet
            reason = f"installed but fails to import: {type(exc).__name__}: {exc}"
            checks.append(Check(f"package {package}", False, reason, f"reinstall a {package} built for this torch"))
        else:
            checks.append(Check(f"package {package}", True, f"{getattr(module, '__version__', 'installed')}"))
    return checks


def diagnose() -> list[Check]:
    """Every check, in report order: backend, building, GPU, running, buffer providers, optional packages."""
    checks = [Check("backend", True, f"{_BACKEND_NAMES.get(BACKEND, BACKEND)} {VERSION} (import {BACKEND})")]
    checks.append(_build_check())
    checks += _gpu_checks()
    checks += _provider_checks()
    checks += _package_checks()
    return checks


def report(checks: list[Check]) -> str:
    """The checks as aligned text lines, each failed one followed by its fix."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'ok' if c.ok else 'no':<3} {c.name:<{width}}  {c.found}")
        if not c.ok and c.fix:
            lines.append(f"{'':<3} {'':<{width}}  fix: {c.fix}")
    return "\n".join(lines)
