"""fp32 accuracy of the reference interpreter against a float64 run, beside torch's own fp32 error.

For each zoo model (twin with random weights, batch-norm statistics measured on random data), the same
input runs through the torch twin in float64 (the reference), the twin in float32 and netdef's reference
interpreter in fp32. The error of each fp32 run is max |run - float64| / max |float64|; the figure is the
ratio interpreter error / torch error (goal <= 2: the interpreter is as accurate as torch itself).

    .venv/bin/python benchmarks/fp32_accuracy.py [--models efficientnet_b0 resnet18 ...] [--size 64]

Exits with status 1 (``--check``) when a model's ratio exceeds ``--max-ratio``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from netdef.zoo import zoo  # noqa: E402


def realistic_statistics(twin: torch.nn.Module, feeds: dict[str, np.ndarray], seed: int = 1) -> torch.nn.Module:
    """The twin in eval mode with batch-norm statistics measured on data, as training leaves them: each
    batch norm normalizes what actually reaches it (random statistics would not)."""
    twin.eval()
    norms = [m for m in twin.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if norms:
        gen = torch.Generator().manual_seed(seed)
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the calibration batches
            m.train()  # only the batch norms (the twins refuse train mode)
        with torch.no_grad():
            for _ in range(2):
                batch = [
                    torch.randn((4, *v.shape[1:]), generator=gen)
                    if v.dtype.kind == "f"
                    else torch.from_numpy(np.repeat(v[:1], 4, axis=0))
                    for v in feeds.values()
                ]
                twin(*batch)
    return twin.eval()


def feeds_for(entry, size: int | None, batch: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for name, (shape, dtype) in entry.test_inputs.items():
        shape = (batch, *shape[1:])
        if size is not None and dtype == "float32" and len(shape) == 4:
            shape = (*shape[:2], size, size)
        bound = entry.int_bound(name)
        if bound:
            arr = rng.integers(0, bound, shape).astype(dtype)
            if name == "attention_mask":
                arr[:, 0] = 1  # no all-padding row
        else:
            arr = rng.standard_normal(shape).astype(dtype)
        feeds[name] = arr
    return feeds


def _first(out) -> torch.Tensor:
    while not isinstance(out, torch.Tensor):
        out = out[0] if isinstance(out, (tuple, list)) else next(iter(out.values()))
    return out


def errors(name: str, size: int | None = None) -> tuple[float, float]:
    """(interpreter error, torch fp32 error) against the float64 twin, as fractions of max |float64|."""
    entry = zoo.get(name)
    torch.manual_seed(0)
    feeds = feeds_for(entry, size)
    twin = realistic_statistics(entry.torch_model(), feeds)
    model = entry.netdef_model()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    network = netdef.define(model, {k: netdef.Input(v.shape, str(v.dtype)) for k, v in feeds.items()})
    got = netdef.reference.run(network, feeds)
    got = got[network.outputs[0]].astype(np.float64)
    args = [torch.from_numpy(v) for v in feeds.values()]
    with torch.inference_mode():
        fp32 = _first(twin(*args)).double().numpy()
        twin64 = twin.double()
        ref = _first(twin64(*[a.double() if a.is_floating_point() else a for a in args])).numpy()
    scale = np.abs(ref).max()
    return float(np.abs(got - ref).max() / scale), float(np.abs(fp32 - ref).max() / scale)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=zoo.names(), choices=zoo.names(), metavar="MODEL")
    parser.add_argument("--size", type=int, default=None, help="image side (default: the zoo's test size)")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio exceeds --max-ratio")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("fp32 error against a float64 run of the twin: max |run - fp64| / max |fp64|")
    print(f"{'model':22}{'interpreter':>13}{'torch fp32':>13}{'ratio':>8}")
    worst = []
    for name in args.models:
        ours, theirs = errors(name, args.size)
        ratio = ours / max(theirs, np.finfo(np.float32).tiny)
        flag = "" if ratio <= args.max_ratio else f"  > {args.max_ratio:g}x"
        print(f"{name:22}{ours:13.2e}{theirs:13.2e}{ratio:7.2f}x{flag}", flush=True)
        if ratio > args.max_ratio:
            worst.append(name)
    print("every model within the goal" if not worst else f"above {args.max_ratio:g}x: {', '.join(worst)}")
    return 1 if worst and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
