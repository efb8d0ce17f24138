"""Accuracy of LeNet on held-out digits (and a zoo CNN's agreement with fp32) per precision, on CPU.

    .venv/bin/python benchmarks/precision_report.py [--weights weights/lenet.wts]

Every number comes from netdef's reference interpreter running the real (quantized) TensorRT network;
each precision is also built with the installed TensorRT. Without weights/lenet.wts, LeNet is trained
for a few seconds first (examples/lenet/export_wts.py does the same).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "lenet"))
sys.path.insert(0, str(ROOT))

from digits import load_digits_32  # noqa: E402

import netdef  # noqa: E402
from models.lenet import LeNet  # noqa: E402
from models.twins.lenet import LeNet as TorchLeNet  # noqa: E402
from netdef.quantization import QuantConfig, calibrate  # noqa: E402

BATCH = 64


def trained_lenet(path: Path | None) -> dict[str, np.ndarray]:
    if path is not None and path.is_file():
        return netdef.load_wts(path)
    torch.manual_seed(0)
    x, y, _, _ = load_digits_32()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    twin = TorchLeNet()
    opt = torch.optim.Adam(twin.parameters(), lr=2e-3)
    for _ in range(20):
        for idx in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(twin(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {k: v.detach().numpy() for k, v in twin.state_dict().items()}


def logits(network, x: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [netdef.reference.run(network, {"x": x[i : i + BATCH]})["output"] for i in range(0, len(x), BATCH)]
    )


def variants(model, inputs, calibration_batches):
    yield "fp32", netdef.define(model, inputs)
    yield "fp16", netdef.define(model, inputs, precision="fp16")
    yield "bf16", netdef.define(model, inputs, precision="bf16")
    cal = calibrate(netdef.define(model, inputs), calibration_batches, method="entropy")
    yield "int8 (entropy calib.)", netdef.define(model, inputs, quantization=QuantConfig("int8", cal))
    cal = calibrate(netdef.define(model, inputs), calibration_batches, method="percentile")
    yield "int8 (99.99th pct. calib.)", netdef.define(model, inputs, quantization=QuantConfig("int8", cal))
    yield "int8 weight-only", netdef.define(model, inputs, quantization=QuantConfig("int8", weights_only=True))
    yield (
        "fp8 (e4m3, max calib.)",
        netdef.define(
            model,
            inputs,
            quantization=QuantConfig("fp8", calibrate(netdef.define(model, inputs), calibration_batches, "max")),
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "lenet.wts")
    args = parser.parse_args()

    x_train, _, x_test, y_test = load_digits_32()
    n = len(x_test) // BATCH * BATCH
    x_test, y_test = x_test[:n], y_test[:n]
    model = LeNet()
    model.load_weights(trained_lenet(args.weights))
    inputs = {"x": netdef.Input((BATCH, 1, 32, 32))}
    calib = [{"x": x_train[i : i + BATCH]} for i in range(0, 8 * BATCH, BATCH)]

    print(f"LeNet on {n} held-out digits (scikit-learn), {netdef._trt.BACKEND} {netdef._trt.VERSION} reference")
    print(f"{'precision':<28} {'accuracy':>9} {'top-1 = fp32':>13} {'max |Δ logit|':>14} {'built':>7}")
    base = None
    for label, network in variants(model, inputs, calib):
        out = logits(network, x_test)
        base = out if base is None else base
        start = time.perf_counter()
        netdef.build(network)
        built = f"{time.perf_counter() - start:.1f}s"
        agree = (out.argmax(1) == base.argmax(1)).mean()
        acc = (out.argmax(1) == y_test).mean()
        print(f"{label:<28} {acc:>9.4f} {agree:>13.4f} {np.abs(out - base).max():>14.4g} {built:>7}")


if __name__ == "__main__":
    main()
