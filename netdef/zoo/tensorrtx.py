"""tensorrtx's model folders and the zoo entries covering them: README's table, written from the zoo registry.

``python -m netdef.zoo.tensorrtx --write`` rewrites the table between README's markers; tests/zoo/test_tensorrtx.py
fails when it is stale. A folder is covered by the ``ZooEntry``s naming it in ``tensorrtx`` (their ``oracle`` and
``dynamic`` fill its row); every other folder is in :data:`NOT_COVERED` with the reason. A zoo entry for a new
family sets ``tensorrtx=`` and takes the folder out of :data:`NOT_COVERED`; nothing else changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netdef.zoo.zoo import ZOO

README = Path(__file__).resolve().parent.parent.parent / "README.md"
BEGIN = "<!-- tensorrtx table: written by `python -m netdef.zoo.tensorrtx --write` -->"
END = "<!-- end of the tensorrtx table -->"

#: wang-xinyu/tensorrtx at this commit (2026-05-20): its top-level model folders
COMMIT = "3ff22bb4be762dafa2ce83dac0b291ba9a57cd9b"
FOLDERS = (
    "alexnet", "arcface", "centernet", "convnextv2", "crnn", "csrnet", "dbnet", "densenet", "detr", "efficient_ad",
    "efficientnet", "ghostnet", "googlenet", "hrnet", "ibnnet", "inception", "lenet", "lprnet", "mlp", "mnasnet",
    "mobilenet", "ppocrv5", "psenet", "rcnn", "real-esrgan", "refinedet", "repvgg", "resnet", "retinaface",
    "retinafaceAntiCov", "scaled-yolov4", "senet", "shufflenetv2", "squeezenet", "superpoint", "swin-transformer",
    "tsm", "ufld", "unet", "vgg", "vit", "yolo11", "yolo11_tripy", "yolo26", "yolop", "yolov10", "yolov12-tubro",
    "yolov12", "yolov13", "yolov3-spp", "yolov3-tiny", "yolov3", "yolov4", "yolov5-lite", "yolov5", "yolov7",
    "yolov8", "yolov9",
)  # fmt: skip

_NOT_YET = "not yet"
#: the YOLO folders no zoo entry covers yet (the YOLO issue): their rows' data is here and in their ZooEntry only
_YOLO_NOT_YET = (
    "yolov3", "yolov3-spp", "yolov3-tiny", "yolov5-lite", "yolov9", "yolov10", "yolov12", "yolov12-tubro", "yolov13",
    "yolo26",
)  # fmt: skip
#: the other folders no zoo entry covers yet: where their weights come from, what stands in the way
_OTHERS_NOT_YET = {
    "centernet": "xingyizhou/CenterNet's DLA-34 has deformable convs (tensorrtx: a DCNv2 CUDA plugin); to be "
    "composed from grid sample and matmul",
    "dbnet": "BaofengZan/DBNet.pytorch's names; the box polygons (tensorrtx: clipper) are post-processing",
    "efficient_ad": "anomalib (PyPI) is the oracle to check",
    "psenet": "TensorFlow checkpoints (liuheng92/tensorflow_PSENet): tensorrtx's converted .wts names to follow",
    "rcnn": "detectron2 (not on PyPI); RoIAlign and the proposal decode are CUDA plugins in tensorrtx",
    "refinedet": "luuuyi/RefineDet.PyTorch's names",
    "retinafaceAntiCov": "MXNet checkpoints (deepinsight/insightface): no PyTorch names; tensorrtx's converted .wts",
    "ppocrv5": "PaddlePaddle models (PaddleOCR/PaddleX): no PyTorch state_dict to bind",
}

#: folder -> why no zoo entry covers it ("not yet": nothing rules it out)
NOT_COVERED: dict[str, str] = {
    **dict.fromkeys(_YOLO_NOT_YET, _NOT_YET),
    "yolo11_tripy": "yolo11's classifier written in NVIDIA Tripy, not in TensorRT's network API; "
    "the architecture is yolo11's",
    **{name: f"{_NOT_YET}: {why}" for name, why in _OTHERS_NOT_YET.items()},
}

#: folder -> what the row adds (how tensorrtx's model differs, what is composed from TensorRT layers)
NOTES: dict[str, str] = {
    "vgg": "tensorrtx's vgg is VGG-11",
    "shufflenetv2": "tensorrtx's is the 0.5x width",
    "convnextv2": "Global Response Norm; convnext_tiny (v1) is in the zoo too",
    "swin-transformer": "shifted windows: the roll is two slices and a concatenation",
    "hrnet": "the classifier; hrnet-semantic-segmentation not yet",
    "repvgg": "timm's checkpoints bind after `netdef.zoo.twins.repvgg.rename_checkpoint_key`",
    "yolov5": "yolov5n: v6.0 P5, anchor-based head; yolov5nu: ultralytics' anchor-free head, decode included",
    "yolov8": "every task and scale by ultralytics' names (netdef.zoo.yolo); decode included; + each task's "
    "post-processing and NMS (`F.nms`, `netdef.detection`, rotated NMS)",
    "yolo11": "every task and scale by ultralytics' names (netdef.zoo.yolo); decode included; + each task's "
    "post-processing and NMS (`F.nms`, `netdef.detection`, rotated NMS)",
    "tsm": "the temporal shift is slices and concatenations along the frame axis",
    "crnn": "BiLSTMs as TensorRT loops; `examples/crnn/`",
    "retinaface": "prior boxes and decode in numpy (`netdef.zoo.retinaface.decode`, tensorrtx's decode plugin), "
    "then NMS",
}


def _oracle(oracle: str) -> str:
    if not oracle:
        return "twin only"
    return f"{oracle} (twin's names)" if "/" in oracle else f"`{oracle}`"


def _per_entry(names: list[str], values: list[str]) -> str:
    """One value where every entry agrees, else ``entry: value`` for each entry."""
    if len(set(values)) == 1:
        return values[0] or "—"
    return "; ".join(f"{n}: {v or '—'}" for n, v in zip(names, values))


def _row(folder: str, names: list[str], status: str) -> str:
    oracle = _per_entry(names, [_oracle(ZOO[n].oracle) for n in names])
    dynamic = _per_entry(names, [ZOO[n].dynamic for n in names])
    return f"| {folder} | {', '.join(names)} | {oracle} | {dynamic} | {status} |"


def covered() -> dict[str, list[str]]:
    """tensorrtx folder -> the zoo entries covering it (in the registry's order)."""
    out: dict[str, list[str]] = {}
    for name, entry in ZOO.items():
        if entry.tensorrtx:
            out.setdefault(entry.tensorrtx, []).append(name)
    return out


def problems() -> list[str]:
    """Registry and folder list out of step: each line names the folder or entry and the fix."""
    found, folders = covered(), set(FOLDERS)
    out = [
        f"zoo entries {found[f]} name tensorrtx folder {f!r}, which is not one of FOLDERS: fix ZooEntry.tensorrtx"
        for f in found
        if f not in folders
    ]
    out += [f"{f!r} is covered by {found[f]} and listed in NOT_COVERED: take it out of NOT_COVERED" for f in found
            if f in NOT_COVERED]  # fmt: skip
    out += [f"{f!r} in NOT_COVERED is not a tensorrtx folder: fix the name" for f in NOT_COVERED if f not in folders]
    out += [
        f"tensorrtx folder {f!r} has no zoo entry and no NOT_COVERED reason: add one"
        for f in FOLDERS
        if f not in found and f not in NOT_COVERED
    ]
    return out


def render() -> str:
    """The README block: one row per tensorrtx folder, then the zoo entries tensorrtx has no folder for."""
    found = covered()
    rows = [
        BEGIN,
        "",
        f"{len(found)} of tensorrtx's {len(FOLDERS)} model folders are covered (tensorrtx at `{COMMIT[:7]}`).",
        "",
        "| tensorrtx folder | zoo | names and oracle | dynamic dims | status |",
        "| --- | --- | --- | --- | --- |",
    ]
    for folder in FOLDERS:
        if folder in found:
            rows.append(_row(folder, found[folder], "; ".join(filter(None, ("covered", NOTES.get(folder, ""))))))
        else:
            rows.append(f"| {folder} | — | — | — | {NOT_COVERED.get(folder, '?')} |")
    rows.append(_row("(no tensorrtx folder)", [n for n, e in ZOO.items() if not e.tensorrtx], ""))
    rows += ["", END]
    return "\n".join(rows)


def write(readme: Path = README) -> bool:
    """Replace the block between README's markers; True when the text changed."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no tensorrtx table markers: put {BEGIN!r} and {END!r} where it goes")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + render() + tail
    readme.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's table (default: print it)")
    args = parser.parse_args(argv)
    for line in problems():
        print(f"error: {line}", file=sys.stderr)
    if problems():
        return 1
    if args.write:
        print("README.md " + ("updated" if write() else "unchanged"))
    else:
        print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
