"""Bind a zoo model's weights, build its engine, and check the CPU reference interpreter against the torch twin.

    python examples/zoo/build.py --model resnet50                    # weights/resnet50.wts -> engines/resnet50.engine
    python examples/zoo/build.py --model resnet50 --precision fp16 --full-size

The netdef model binds the weights strictly (every state_dict name and size), is emitted into a real
TensorRT network and built. The reference interpreter then runs that network on a seeded random input
(the registry's test size, or its usual size with ``--full-size``) and is compared with the twin holding
the same weights: max |diff| and top-5 agreement. On a GPU the installed TensorRT supports, the engine
runs too. Exits with status 1 when the reference misses the registry's tolerance for the precision.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import ROOT, add_model_arguments, entry_for, seeded_inputs

import netdef


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument(
        "--weights", type=Path, help="weights file (.wts, .safetensors, .pth ...); default weights/<model>.wts"
    )
    parser.add_argument("--output", type=Path, help="default: engines/<model>.engine")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument(
        "--full-size", action="store_true", help="the architecture's usual input size, not the test size"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input")
    args = parser.parse_args()
    entry = entry_for(args)
    weights_path = args.weights or ROOT / "weights" / f"{args.model}.wts"
    output = args.output or ROOT / "engines" / f"{args.model}.engine"
    if not weights_path.is_file():
        print(
            f"no weights at {weights_path}: export them first with\n"
            f"  python examples/zoo/export_wts.py --model {args.model} --output {weights_path}",
            file=sys.stderr,
        )
        return 1

    weights = netdef.weights.load_weights_file(weights_path)
    model = entry.netdef_model()
    model.load_weights(weights)  # strict: every state_dict name and size must match
    twin = entry.torch_model().eval()
    netdef.weights.load_into_torch(twin, weights)

    feeds = seeded_inputs(entry, args.full_size, args.seed)
    inputs = {name: netdef.Input(x.shape, str(x.dtype)) for name, x in feeds.items()}
    start = time.perf_counter()
    network = netdef.define(model, inputs, precision=args.precision)
    defined = time.perf_counter()
    built = netdef.build(network, output=output)
    print(
        f"built {output} ({len(built.data) / 1e6:.1f} MB, {network.network.num_layers} layers, "
        f"{built.metadata['backend']} {built.metadata['backend_version']}, {args.precision}, inputs "
        f"{', '.join(f'{n}{tuple(x.shape)}' for n, x in feeds.items())}): define {defined - start:.2f} s, "
        f"build {time.perf_counter() - defined:.2f} s"
    )

    with torch.no_grad():
        expected = twin(*(torch.from_numpy(x) for x in feeds.values()))
    if isinstance(expected, dict):  # torchvision's segmentation models return {"out": ..., "aux": ...}
        expected = list(expected.values())
    expected = [e.numpy() for e in (expected if isinstance(expected, (tuple, list)) else [expected])]
    start = time.perf_counter()
    reference = netdef.reference.run(network, feeds)
    print(f"reference interpreter (CPU): {time.perf_counter() - start:.2f} s")
    tolerance = {"fp32": entry.fp32_tol, "fp16": entry.fp16_tol}.get(args.precision)
    ok = compare("netdef reference (CPU)", list(reference.values()), expected, tolerance)

    gpu = netdef.runtime.current_gpu()
    if gpu is None:
        print("engine: not run (no GPU here; the engine runs on a GPU that the installed TensorRT supports)")
        return 0 if ok else 1
    try:
        engine = netdef.Engine.load(output)
    except netdef.EngineError as exc:
        print(f"engine: not run on {gpu.name}: {exc}")
        return 0 if ok else 1
    compare(f"TensorRT engine ({gpu.name})", list(engine.infer(feeds).values()), expected, None)
    return 0 if ok else 1


def compare(label: str, got: list[np.ndarray], expected: list[np.ndarray], tolerance: float | None) -> bool:
    """Print max |diff| (absolute, and relative to max |torch|) and top-5 agreement per output."""
    ok = len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            print(f"{label} output {i}: shape {g.shape}, torch {e.shape}")
            ok = False
            continue
        diff = float(np.abs(g.astype(np.float64) - e).max()) if e.size else 0.0
        scale = max(float(np.abs(e).max()), 1e-12) if e.size else 1.0
        line = f"{label} output {i} {tuple(e.shape)}: max |diff| {diff:.3g} ({diff / scale:.2g} of max |torch|)"
        if tolerance is not None:  # the registry's tolerance: a fraction of the output's largest magnitude
            passed = not netdef.testing.Tolerance(scaled=tolerance).mismatches(g, e)
            ok &= passed
            line += f", tolerance {tolerance:g}: {'ok' if passed else 'EXCEEDED'}"
        if e.ndim == 2 and e.shape[1] >= 5 and np.issubdtype(e.dtype, np.floating):  # (batch, classes) logits
            top_g, top_e = np.argsort(-g, axis=1)[:, :5], np.argsort(-e, axis=1)[:, :5]
            same_set = np.mean([set(a) == set(b) for a, b in zip(top_g, top_e)])
            top1 = np.mean(top_g[:, 0] == top_e[:, 0])
            line += f"; top-1 agreement {top1:.0%}, top-5 sets equal {same_set:.0%} (over {len(e)} images)"
        print(line)
    return ok


if __name__ == "__main__":
    sys.exit(main())
