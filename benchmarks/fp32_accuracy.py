"""fp32 accuracy of the reference interpreter against a float64 run, beside torch's own fp32 error.

For each model, with batch-norm statistics measured on data (each batch norm normalizes what actually reaches
it, as training leaves it), ``--inputs`` inputs run through the torch model in float64 (the reference), in
float32, in float32 channels-last, and through netdef's reference interpreter with batch norms folded (the
default) and with ``fold=False``. Image inputs are natural-looking (smooth shading and texture, normalized
like a classifier's preprocessing), both for measuring the statistics and for the runs. The error of a run is
max |run - float64| / max |float64| (``--metric l2``: ||run - float64|| / ||float64||) over its first output.

One input's ratio is noise: on a badly conditioned input torch's own fp32 error moves several-fold with the
evaluation order alone. So the figures are medians over the inputs (ratio: the median per-input ratio
interpreter / torch, goal <= 2; worst: the largest, folded or not), and ``torch spread`` is how far torch's own
error moves on one input between contiguous and channels-last evaluation (the largest per-input ratio either
way; '-' where channels-last changes nothing).

``--upstream`` measures torchvision's own models (random initialization; no weights are downloaded) bound
into the zoo models by state_dict name, instead of the zoo's hand-written twins. ``--trained-affine`` spreads
the batch norms' weights and biases as training does before the statistics are measured, which leaves some
channels with tiny variances and large means, and folded shifts (conv biases) larger than the conv's sums.

    .venv/bin/python benchmarks/fp32_accuracy.py [--models efficientnet_b0 resnet18 ...] [--size 64]
    .venv/bin/python benchmarks/fp32_accuracy.py --upstream [--trained-affine] [--size 224] [--batch 1]

Exits with status 1 (``--check``) when a model's median ratio (folded or not) exceeds ``--max-ratio``.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdef  # noqa: E402
from netdef.zoo import upstream, zoo  # noqa: E402

#: zoo name -> torchvision's builder of the same model (the zoo's torchvision classifiers with batch norms)
UPSTREAM: dict[str, Callable] = {
    "efficientnet_b0": lambda tv: tv.models.efficientnet_b0(),
    "mobilenet_v2": lambda tv: tv.models.mobilenet_v2(),
    "mobilenet_v3_large": lambda tv: tv.models.mobilenet_v3_large(),
    "regnet_y_400mf": lambda tv: tv.models.regnet_y_400mf(),
    "resnet18": lambda tv: tv.models.resnet18(),
    "shufflenet_v2_x1_0": lambda tv: tv.models.shufflenet_v2_x1_0(),
    "resnet50": lambda tv: tv.models.resnet50(),
    "densenet121": lambda tv: tv.models.densenet121(),
}
UPSTREAM_DEFAULT = list(UPSTREAM)[:6]  # resnet50 and densenet121 on request: several GFLOPs per float64 run


def natural_images(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """(N, C, H, W) natural-looking images: low-frequency noise at three scales (blobs, shading, texture) and a
    per-image tint, squashed to [0, 1], then normalized by ImageNet's mean and std (0.45, 0.225)."""
    n, c, h, w = shape
    img = torch.randn(n, c, 1, 1, generator=gen) * 0.5
    for cells, amplitude in ((4, 1.0), (16, 0.5), (56, 0.25)):
        low = torch.randn(n, c, min(cells, h), min(cells, w), generator=gen) * amplitude
        img = img + F.interpolate(low, size=(h, w), mode="bicubic", align_corners=False)
    return (torch.sigmoid(img) - 0.45) / 0.225


def model_inputs(entry, size: int | None, batch: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """One set of inputs for ``entry``: natural-looking images, standard normal for other floats, valid ids."""
    inputs = {}
    for name, (shape, dtype) in entry.test_inputs.items():
        shape = (batch, *shape[1:])
        if size is not None and dtype == "float32" and len(shape) == 4:
            shape = (*shape[:2], size, size)
        bound = entry.int_bound(name)
        if bound:
            value = torch.randint(0, bound, shape, generator=gen).to(getattr(torch, dtype))
            if name == "attention_mask":
                value[:, 0] = 1  # no all-padding row
        elif len(shape) == 4:
            value = natural_images(shape, gen)
        else:
            value = torch.randn(shape, generator=gen)
        inputs[name] = value
    return inputs


def trained_affine(model: torch.nn.Module, seed: int = 5) -> torch.nn.Module:
    """Batch-norm weights and biases spread as training leaves them, so that the statistics measured after
    are a trained network's (tiny variances, means many deviations from zero): weight log-normal, bias
    N(0, 2), and one channel in ten nearly dead (weight / 1000, bias -3)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.affine:
                n = m.num_features
                m.weight.copy_(torch.exp(torch.randn(n, generator=gen)))
                m.bias.copy_(torch.randn(n, generator=gen) * 2)
                dead = torch.rand(n, generator=gen) < 0.1
                m.weight[dead] *= 1e-3
                m.bias[dead] = -3.0
    return model


def realistic_statistics(model: torch.nn.Module, batches: Callable[[], dict], count: int = 3) -> torch.nn.Module:
    """``model`` in eval mode with batch-norm statistics measured on ``count`` batches from ``batches()``:
    a cumulative average (momentum None) with only the batch norms in train mode (the twins refuse train mode,
    and dropout or stochastic depth would change what the batch norms see)."""
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    if norms:
        with torch.no_grad():
            for _ in range(count):
                model(*batches().values())
    return model.eval()


def _first(out) -> torch.Tensor:
    while not isinstance(out, torch.Tensor):
        out = out[0] if isinstance(out, (tuple, list)) else next(iter(out.values()))
    return out


def error(run: np.ndarray, ref: np.ndarray, metric: str) -> float:
    """The error of ``run`` against the float64 ``ref``, as a fraction of ``ref``'s largest or L2 magnitude."""
    diff = run.astype(np.float64) - ref
    if metric == "l2":
        return float(np.linalg.norm(diff) / np.linalg.norm(ref))
    return float(np.abs(diff).max() / np.abs(ref).max())


def errors(name: str, args) -> dict[str, np.ndarray]:
    """Per input: the error of torch fp32, torch fp32 channels-last and the interpreter (folded, unfolded)."""
    entry = zoo.get(name)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    if args.upstream:
        model = UPSTREAM[name](upstream.torchvision())
    else:
        model = entry.torch_model()
    if args.trained_affine:
        trained_affine(model)
    model = realistic_statistics(model, lambda: model_inputs(entry, args.size, 8, gen))
    ours = entry.netdef_model()
    ours.load_weights({k: v.numpy() for k, v in model.state_dict().items()})
    specs = {n: netdef.Input(v.shape, str(v.dtype).removeprefix("torch.")) for n, v in model_inputs(
        entry, args.size, args.batch, torch.Generator()).items()}  # fmt: skip
    networks = {fold: netdef.define(ours, specs, fold=fold) for fold in (True, False)}
    model64 = copy.deepcopy(model).double()
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    found: dict[str, list[float]] = {"torch": [], "channels last": [], "interpreter": [], "unfolded": []}
    for _ in range(args.inputs):
        inputs = model_inputs(entry, args.size, args.batch, gen)
        feeds = {n: v.numpy() for n, v in inputs.items()}
        with torch.inference_mode():
            ref = _first(model64(*[v.double() if v.is_floating_point() else v for v in inputs.values()])).numpy()
            fp32 = _first(model(*inputs.values())).numpy()
            cl = [v.to(memory_format=torch.channels_last) if v.dim() == 4 else v for v in inputs.values()]
            fp32_cl = _first(channels_last(*cl)).numpy()
        found["torch"].append(error(fp32, ref, args.metric))
        found["channels last"].append(error(fp32_cl, ref, args.metric))
        for key, fold in (("interpreter", True), ("unfolded", False)):
            network = networks[fold]
            got = netdef.reference.run(network, feeds)[network.outputs[0]]
            found[key].append(error(got, ref, args.metric))
    return {k: np.array(v) for k, v in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", metavar="MODEL", help="default: every zoo model (--upstream: 6)")
    parser.add_argument("--upstream", action="store_true", help="torchvision's models instead of the twins")
    parser.add_argument("--size", type=int, default=None, help="image side (default: the zoo's test size; 224 with --upstream)")  # fmt: skip
    parser.add_argument(
        "--trained-affine", action="store_true", help="batch-norm weights and biases as a trained network's"
    )
    parser.add_argument("--batch", type=int, default=1, help="images per run")
    parser.add_argument("--inputs", type=int, default=4, help="runs per model (the figures are medians over them)")
    parser.add_argument("--metric", choices=("max", "l2"), default="max")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--check", action="store_true", help="exit 1 when a median ratio exceeds --max-ratio")
    args = parser.parse_args()
    choices = list(UPSTREAM) if args.upstream else zoo.names()
    models = args.models or (UPSTREAM_DEFAULT if args.upstream else choices)
    unknown = [m for m in models if m not in choices]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(choices)}")
    if args.upstream and args.size is None:
        args.size = 224
    torch.set_num_threads(1)
    source = "torchvision's models" if args.upstream else "the zoo's twins"
    what = "max |run - fp64| / max |fp64|" if args.metric == "max" else "||run - fp64|| / ||fp64||"
    print(f"fp32 error against a float64 run ({source}): {what}, median of {args.inputs} runs of batch {args.batch}")
    print(
        f"{'model':22}{'torch fp32':>12}{'interpreter':>13}{'ratio':>8}{'unfolded':>10}{'worst':>8}{'torch spread':>14}"
    )
    above = []
    for name in models:
        e = errors(name, args)
        floor = np.maximum(e["torch"], np.finfo(np.float32).tiny)
        ratio, unfolded = np.median(e["interpreter"] / floor), np.median(e["unfolded"] / floor)
        worst = np.max(np.maximum(e["interpreter"], e["unfolded"]) / floor)
        same = np.array_equal(e["channels last"], e["torch"])
        moved = e["channels last"] / floor
        spread = "-" if same else f"{np.max(np.maximum(moved, 1 / moved)):.2f}x"
        flag = "" if max(ratio, unfolded) <= args.max_ratio else f"  > {args.max_ratio:g}x"
        print(
            f"{name:22}{np.median(e['torch']):12.2e}{np.median(e['interpreter']):13.2e}{ratio:7.2f}x"
            f"{unfolded:9.2f}x{worst:7.2f}x{spread:>14}{flag}",
            flush=True,
        )
        if flag:
            above.append(name)
    print("every model within the goal" if not above else f"above {args.max_ratio:g}x: {', '.join(above)}")
    return 1 if above and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
