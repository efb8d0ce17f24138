"""Bind weights/lenet.wts to the netdef LeNet, build engines/lenet.engine, and check parity on held-out digits."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from digits import load_digits_32

import netdef
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=ROOT / "weights" / "lenet.wts", type=Path)
    parser.add_argument("--output", default=ROOT / "engines" / "lenet.engine", type=Path)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    weights = netdef.load_wts(args.weights)
    model = LeNet()
    model.load_weights(weights)  # strict: every state_dict name and size must match
    inputs = {"x": netdef.Input((args.batch, 1, 32, 32))}
    network = netdef.define(model, inputs, precision=args.precision)
    built = netdef.build(network, output=args.output)
    print(
        f"built {args.output} ({len(built.data) / 1e6:.2f} MB, {network.network.num_layers} layers, "
        f"{built.metadata['backend']} {built.metadata['backend_version']}, {args.precision})"
    )

    twin = TorchLeNet().eval()
    netdef.weights.load_into_torch(twin, weights)
    _, _, x_test, y_test = load_digits_32()
    n = len(x_test) // args.batch * args.batch  # whole batches: the engine's batch dim is static
    x_test, y_test = x_test[:n], y_test[:n]
    with torch.no_grad():
        torch_logits = twin(torch.from_numpy(x_test)).numpy()
    ref_logits = np.concatenate(
        [netdef.reference.run(network, {"x": x_test[i : i + args.batch]})["output"] for i in range(0, n, args.batch)]
    )
    report("torch", torch_logits, y_test)
    report("netdef reference (CPU)", ref_logits, y_test, torch_logits)

    gpu = netdef.runtime.current_gpu()
    if gpu is None:
        print("engine: not run (no GPU here; the engine runs on a GPU that the installed TensorRT supports)")
        return
    try:
        engine = netdef.Engine.load(args.output)
    except netdef.EngineError as exc:
        print(f"engine: not run on {gpu.name}: {exc}")
        return
    engine_logits = np.concatenate(
        [engine.infer({"x": x_test[i : i + args.batch]})["output"] for i in range(0, n, args.batch)]
    )
    report(f"TensorRT engine ({gpu.name})", engine_logits, y_test, torch_logits)


def report(label: str, logits: np.ndarray, labels: np.ndarray, reference: np.ndarray | None = None) -> None:
    acc = (logits.argmax(1) == labels).mean()
    diff = "" if reference is None else f"  max |logits - torch| = {np.abs(logits - reference).max():.3g}"
    print(f"{label:>28}: accuracy {acc:.4f} on {len(labels)} held-out digits{diff}")


if __name__ == "__main__":
    main()
