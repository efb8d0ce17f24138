"""Every YOLO family and task of the zoo at full size: parity with ultralytics' own model at two input sizes of one
dynamic network (fp32, reference interpreter), and a real fp16 engine build of that network.

Run it standalone (no make target; CI checks the same at 64-128 px, tests/zoo/test_yolo.py)::

    .venv/bin/python benchmarks/yolo.py                              # every family's n model, every task
    .venv/bin/python benchmarks/yolo.py --models yolo11s-seg yolov8m-pose --no-build

For each model: ultralytics' model of the yaml (random weights, random BatchNorm statistics) is bound to the netdef
model strictly; one network of dynamic batch and H x W (32 .. --imgsz) is defined; at --imgsz square and at a
non-square size (3/4 of the height) every output's parts (boxes, scores, mask coefficients, keypoints, angle,
prototypes, probabilities) are compared with ultralytics' eval output, each against its own largest magnitude
(goal: 1e-4); then the same network is built in fp16 (TensorRT-RTX builds on CPU). Exits 1 when a model misses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from netdef import testing  # noqa: E402
from netdef.zoo import yolo  # noqa: E402
from netdef.zoo.twins import yolo as twins  # noqa: E402

DEFAULT = [n for n, (_, scale, _) in yolo.MODELS.items() if scale == "n"]
GOAL = 1e-4


def parts(model, index: int) -> list[tuple[str, slice]]:
    """The named row ranges of output ``index`` of ``model`` (each compared against its own scale)."""
    if index == 1:
        return [("prototypes", slice(None))]
    if model.task == "classify":
        return [("probabilities", slice(None))]
    nc = model.nc
    extra = {"segment": "coefficients", "pose": "keypoints", "obb": "angle"}.get(model.task)
    return [("boxes", slice(0, 4)), ("scores", slice(4, 4 + nc))] + ([(extra, slice(4 + nc, None))] if extra else [])


def check(name: str, imgsz: int, build: bool) -> bool:
    torch.manual_seed(0)
    twin = testing.randomize_batchnorm(twins.yolo(name))
    model = yolo.yolo(name)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()}, strict=True)
    spec = netdef.Input((-1, 3, -1, -1), min=(1, 3, 32, 32), opt=(1, 3, imgsz, imgsz), max=(1, 3, imgsz, imgsz))
    network = netdef.define(model, {"x": spec})
    ok = True
    for shape in ((1, 3, imgsz, imgsz), (1, 3, imgsz * 3 // 4 // 32 * 32, imgsz)):
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        with torch.no_grad():
            want = twin(torch.from_numpy(x))
        want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
        start = time.perf_counter()
        got = list(netdef.reference.run(network, {"x": x}).values())
        seconds = time.perf_counter() - start
        errors = []
        for i, (g, w) in enumerate(zip(got, want)):
            assert g.shape == w.shape, f"{name}: output {i} {g.shape} != ultralytics' {w.shape}"
            for part, rows in parts(model, i):
                err = float(np.abs(g[:, rows] - w[:, rows]).max() / np.abs(w[:, rows]).max())
                errors.append(f"{part} {err:.1e}")
                ok &= err < GOAL
        print(f"{name:14s} {shape[2]}x{shape[3]}: {', '.join(errors)} (interpreter {seconds:.1f} s)", flush=True)
    if build:
        start = time.perf_counter()
        built = netdef.build(netdef.define(model, {"x": spec}, precision="fp16"))
        print(f"{name:14s} fp16 engine: {len(built.data) / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=DEFAULT, choices=sorted(yolo.MODELS), metavar="MODEL")
    parser.add_argument("--imgsz", type=int, default=640, help="largest input side (classifiers: 224)")
    parser.add_argument("--no-build", action="store_true", help="parity only")
    args = parser.parse_args()
    missed = [
        name
        for name in args.models
        if not check(name, 224 if yolo.MODELS[name][2] == "classify" else args.imgsz, not args.no_build)
    ]
    print("all within", GOAL, "of max|ultralytics|" if not missed else f"missed {GOAL}: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
