"""Accuracy per precision on held-out digits: LeNet and the zoo's ResNet-18, computed on CPU.

    .venv/bin/python benchmarks/precision_report.py [--weights weights/lenet.wts] [--resnet-epochs 3]

Both models are trained on scikit-learn's digits (LeNet: reused from weights/lenet.wts when present;
ResNet-18: a few epochs on 3-channel 32x32 digits, seconds on 2 cores). Every number comes from
netdef's reference interpreter running the real (quantized) TensorRT network, and each variant is also
built with the installed TensorRT.
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
from netdef.quantization import QuantConfig, calibrate  # noqa: E402
from netdef.zoo.lenet import LeNet  # noqa: E402
from netdef.zoo.resnet import resnet18  # noqa: E402
from netdef.zoo.twins.lenet import LeNet as TorchLeNet  # noqa: E402
from netdef.zoo.twins.resnet import resnet18 as torch_resnet18  # noqa: E402

BATCH = 64


def train(twin: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> dict[str, np.ndarray]:
    """A few epochs of Adam on the digits; returns the state dict as numpy arrays."""
    torch.manual_seed(0)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(twin.parameters(), lr=lr)
    twin.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(BATCH):
            loss = torch.nn.functional.cross_entropy(twin(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    twin.eval()
    return {k: v.detach().numpy() for k, v in twin.state_dict().items()}


def logits(network, x: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [netdef.reference.run(network, {"x": x[i : i + BATCH]})["output"] for i in range(0, len(x), BATCH)]
    )


def variants(model, inputs, calibration_batches):
    """(label, network) for every precision of ``model``."""
    fp32 = netdef.define(model, inputs)
    yield "fp32", fp32
    yield "fp16", netdef.define(model, inputs, precision="fp16")
    yield "bf16", netdef.define(model, inputs, precision="bf16")
    for method in ("entropy", "percentile", "max"):
        cal = calibrate(fp32, calibration_batches, method=method)
        yield f"int8 ({method} calib.)", netdef.define(model, inputs, quantization=QuantConfig("int8", cal))
    yield "int8 weight-only", netdef.define(model, inputs, quantization=QuantConfig("int8", weights_only=True))
    cal = calibrate(fp32, calibration_batches, method="max")
    yield "fp8 e4m3 (max calib.)", netdef.define(model, inputs, quantization=QuantConfig("fp8", cal))


def report(title: str, model, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> None:
    inputs = {"x": netdef.Input((BATCH, *x_test.shape[1:]))}
    calib = [{"x": x_train[i : i + BATCH]} for i in range(0, 8 * BATCH, BATCH)]
    print(f"\n{title} on {len(y_test)} held-out digits")
    print(f"{'precision':<26} {'accuracy':>9} {'top-1 = fp32':>13} {'max |Δ logit|':>14} {'build':>7}")
    base = None
    for label, network in variants(model, inputs, calib):
        out = logits(network, x_test)
        base = out if base is None else base
        start = time.perf_counter()
        netdef.build(network)
        built = f"{time.perf_counter() - start:.1f}s"
        agree = (out.argmax(1) == base.argmax(1)).mean()
        acc = (out.argmax(1) == y_test).mean()
        print(f"{label:<26} {acc:>9.4f} {agree:>13.4f} {np.abs(out - base).max():>14.4g} {built:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "lenet.wts")
    parser.add_argument("--resnet-epochs", type=int, default=3)
    args = parser.parse_args()

    x_train, y_train, x_test, y_test = load_digits_32()
    n = len(x_test) // BATCH * BATCH
    x_test, y_test = x_test[:n], y_test[:n]
    print(f"reference interpreter of netdef {netdef.__version__}; torch {torch.__version__}")

    lenet = LeNet()
    if args.weights.is_file():
        lenet.load_weights(args.weights)
    else:
        lenet.load_weights(train(TorchLeNet(), x_train, y_train, epochs=20, lr=2e-3))
    report("LeNet", lenet, x_train, x_test, y_test)

    rgb_train, rgb_test = (np.repeat(x, 3, axis=1) for x in (x_train, x_test))
    start = time.perf_counter()
    weights = train(torch_resnet18(num_classes=10), rgb_train, y_train, epochs=args.resnet_epochs, lr=1e-3)
    resnet = resnet18(num_classes=10)
    resnet.load_weights(weights)
    report(f"ResNet-18 (zoo; trained {time.perf_counter() - start:.0f} s)", resnet, rgb_train, rgb_test, y_test)


if __name__ == "__main__":
    main()
