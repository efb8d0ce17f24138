"""Non-maximum suppression: time and peak memory of ``netdef.detection.batched_nms`` against a greedy NMS in
plain numpy, measured in one run on this machine.

Run it standalone (no make target)::

    .venv/bin/python benchmarks/nms.py                         # 8,400 and 30,000 boxes, two scenes
    .venv/bin/python benchmarks/nms.py --boxes 8400 --scenes sparse --whole   # + the former N x N computation

What is measured, for each number of boxes (8,400: YOLOv8's anchors at 640; 30,000: ultralytics' ``max_nms``)
and each scene (random xyxy boxes on a 640 x 640 image, random scores, IoU threshold 0.7):

- ``clustered``: boxes jittered around 60 objects of 80 classes (most boxes suppressed, as on a real image);
- ``sparse``: boxes spread over the image (almost every box kept: the most comparisons);
- ``agnostic``: ``sparse`` with one class (class-agnostic NMS: no class splits the work).

Methods: netdef's ``batched_nms`` (IoU compared in 1024 x 1024 tiles, whole classes apart); ``numpy greedy``,
the textbook loop (per class: take the best remaining box, drop the remaining boxes that overlap it by more than
the threshold, repeat; classes merged in score order), written here as the reference; with ``--whole``, the
computation netdef made before (one N x N IoU matrix, then a row-by-row scan), for the sizes it fits.

Each method runs in its own process (torch and numpy on one thread): the time is the process's CPU time of the
call (``time.process_time``; on a shared machine waiting for a core is not counted) and its wall time; the
peak memory is the growth of the peak RSS over the call (Linux's clear_refs reset, else ru_maxrss). Every
method's kept indices are compared with netdef's. Goal (issue 20): memory linear in the boxes, no slower than the
numpy greedy loop.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENES = ("clustered", "sparse", "agnostic")
METHODS = ("netdef", "numpy greedy", "whole matrix")
IOU = 0.7


def make_scene(scene: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (n, 4) xyxy float32, scores (n,) float32, classes (n,) int64) of one scene."""
    rng = np.random.default_rng(seed)
    if scene == "clustered":
        centre = rng.random((60, 2)) * 640
        size = 20 + rng.random((60, 2)) * 200
        which = rng.integers(0, 60, n)
        xy = centre[which] + rng.normal(0, 0.08, (n, 2)) * size[which]
        wh = size[which] * (1 + rng.normal(0, 0.1, (n, 2)))
        classes = rng.integers(0, 80, 60)[which]
    else:
        xy = rng.random((n, 2)) * 640
        wh = 8 + rng.random((n, 2)) * 120
        classes = rng.integers(0, 80 if scene == "sparse" else 1, n)
    boxes = np.concatenate([xy - np.abs(wh) / 2, xy + np.abs(wh) / 2], 1).astype(np.float32)
    return boxes, rng.random(n).astype(np.float32), classes.astype(np.int64)


def numpy_greedy(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """The textbook greedy NMS per class (equal scores: lower index first), kept indices in score order."""
    kept = []
    for c in np.unique(classes):
        index = np.flatnonzero(classes == c)
        index = index[np.argsort(-scores[index], kind="stable")]
        x0, y0, x1, y1 = boxes[index].T
        area = (x1 - x0) * (y1 - y0)
        alive = np.arange(len(index))
        while len(alive):
            i, rest = alive[0], alive[1:]
            kept.append(index[i])
            w = np.clip(np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]), 0, None)
            h = np.clip(np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]), 0, None)
            inter = w * h
            union = area[i] + area[rest] - inter
            alive = rest[~((union > 0) & (inter / np.maximum(union, np.finfo(np.float32).tiny) > iou))]
    kept = np.asarray(kept, dtype=np.int64)
    return kept[np.lexsort((kept, -scores[kept]))]


def whole_matrix(boxes, scores, classes, iou: float) -> np.ndarray:
    """What netdef computed before: one N x N IoU matrix (``box_iou``), then the row-by-row scan."""
    import torch

    from netdef.detection import box_iou

    order = torch.sort(torch.from_numpy(scores), descending=True, stable=True).indices
    b, c = torch.from_numpy(boxes)[order], torch.from_numpy(classes)[order]
    over = ((box_iou(b, b) > iou) & (c[:, None] == c[None, :])).numpy()
    suppressed = np.zeros(len(b), dtype=bool)
    kept = []
    for i in range(len(b)):
        if not suppressed[i]:
            kept.append(i)
            suppressed |= over[i]
    return order.numpy()[kept]


# ------------------------------------------------------------------------------------- one measurement


def _status(key: str) -> int | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def child(method: str, scene: str, n: int, out: str) -> None:
    """Run one method once in this (fresh) process; print its figures as JSON, save its kept indices."""
    import resource

    import torch

    import netdef.detection

    torch.set_num_threads(1)
    boxes, scores, classes = make_scene(scene, n)
    fn = {
        "netdef": lambda: netdef.detection.batched_nms(boxes, scores, classes, IOU),
        "numpy greedy": lambda: numpy_greedy(boxes, scores, classes, IOU),
        "whole matrix": lambda: whole_matrix(boxes, scores, classes, IOU),
    }[method]
    numpy_greedy(boxes[:64], scores[:64], classes[:64], IOU)  # warm-up: imports, first calls
    netdef.detection.batched_nms(boxes[:64], scores[:64], classes[:64], IOU)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS to the current RSS
        how = "VmHWM"
    except OSError:
        how = "ru_maxrss"
    before = _status("VmRSS") or 0
    wall, cpu = time.perf_counter(), time.process_time()
    kept = fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _status("VmHWM") if how == "VmHWM" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    np.save(out, np.asarray(kept, dtype=np.int64))
    print(json.dumps({"cpu": cpu, "wall": wall, "peak": peak - before, "how": how}))


def measure(method: str, scene: str, n: int, folder: Path) -> tuple[dict, np.ndarray]:
    out = folder / f"{method.replace(' ', '_')}-{scene}-{n}.npy"
    root = HERE.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, scene, str(n), str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"{method} on {scene} x {n} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out)


# ------------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boxes", type=int, nargs="+", default=[8400, 30000])
    parser.add_argument("--scenes", nargs="+", choices=SCENES, default=["clustered", "sparse"])
    parser.add_argument("--whole", action="store_true", help="also the former N x N computation (up to 10,000)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, scene, n, out = args.child
        child(method, scene, int(n), out)
        return 0
    print(f"NMS at IoU {IOU}; CPU seconds (wall), peak RSS growth of the call; one thread each")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.boxes:
            for scene in args.scenes:
                methods = ["netdef", "numpy greedy"] + (["whole matrix"] if args.whole and n <= 10_000 else [])
                results = {m: measure(m, scene, n, Path(tmp)) for m in methods}
                want = results["netdef"][1]
                print(f"{n} boxes, {scene} ({len(want)} kept):")
                for m, (fig, kept) in results.items():
                    same = "same kept indices" if np.array_equal(kept, want) else f"{len(kept)} kept, DIFFERENT"
                    print(
                        f"  {m:>13}: {fig['cpu']:7.2f} s ({fig['wall']:6.2f} s wall)  "
                        f"{fig['peak'] / 2**20:8.1f} MiB  {same}"
                    )
                base = results["numpy greedy"][0]
                mine = results["netdef"][0]
                print(
                    f"  netdef / numpy greedy: time x{mine['cpu'] / max(base['cpu'], 1e-9):.2f}, "
                    f"memory x{max(mine['peak'], 1) / max(base['peak'], 1):.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
