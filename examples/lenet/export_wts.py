"""Train the torch LeNet on scikit-learn's digits for a few seconds and export weights/lenet.wts."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from digits import load_digits_32

import netdef
from netdef.zoo.twins.lenet import LeNet

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default=ROOT / "weights" / "lenet.wts", type=Path)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_32(args.seed)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for idx in torch.randperm(len(x_train)).split(64):
            loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    print(f"trained in {time.perf_counter() - start:.1f} s; held-out accuracy {acc:.4f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    written = netdef.export_wts(model, args.output)
    print(f"wrote {len(written)} tensors to {args.output}")


if __name__ == "__main__":
    main()
