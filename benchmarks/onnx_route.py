"""netdef vs the ONNX route (torch.onnx.export -> TensorRT's OnnxParser -> build), side by side in one run.

For each model, both routes start from the same torch twin (random weights, seeded; batch-norm statistics
away from 0/1) and end with a serialized engine from the same builder and default builder config:

- netdef: bind the twin's state_dict -> ``netdef.define`` -> ``netdef.build``;
- ONNX:   ``torch.onnx.export`` (the TorchScript exporter) -> ``netdef.onnx.parse`` (TensorRT's OnnxParser) -> build.

Each route runs in its own subprocess (so peak RSS is its own), the two alternating, each after one forward
of the twin (outside the times: see ``child``); times are CPU time of
that process (every builder thread counted; time spent waiting for a core on a shared machine is not);
every figure is the median over the repeats of the pairwise ratio netdef / ONNX (lower is better for netdef):
time to engine (twin to serialized engine), build only (``build_serialized_network``), network layers
(total and by type), engine bytes, peak RSS.

    .venv/bin/python benchmarks/onnx_route.py                          # resnet50 mobilenet_v2 vit_b_16 bert_base yolov5n vit bert
    .venv/bin/python benchmarks/onnx_route.py --models mobilenet_v2 --repeats 3
    .venv/bin/python benchmarks/onnx_route.py --quick                  # one small model, once (a smoke test)

Exits with status 1 when a goal is missed (``--check``): build only, layers and engine bytes <= 1.0x.
Timings on a shared machine are noisy: read them as indicative.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> (how to make the netdef model and twin, inputs at the usual size)
MODELS = {
    "resnet50": ("zoo:resnet50", {"x": ((1, 3, 224, 224), "float32")}),
    "mobilenet_v2": ("zoo:mobilenet_v2", {"x": ((1, 3, 224, 224), "float32")}),
    "vit_b_16": ("vision_transformer:vit_b_16", {"x": ((1, 3, 224, 224), "float32")}),
    "bert_base": (
        "bert:bert_base_uncased",
        {n: ((1, 128), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")},
    ),
    "yolov5n": ("zoo:yolov5n", {"x": ((1, 3, 640, 640), "float32")}),
    # the zoo's tiny transformers (their full_inputs)
    "vit": ("zoo:vit", {"x": ((1, 3, 32, 32), "float32")}),
    "bert": ("zoo:bert", {n: ((1, 32), "int64") for n in ("input_ids", "attention_mask", "token_type_ids")}),
}
DEFAULT = list(MODELS)
#: --quick: one small model at a small size, once
QUICK = ("mobilenet_v2", 64)
#: the goals (netdef / ONNX)
GOALS = {"build only": 1.0, "layers": 1.0, "engine bytes": 1.0}


def _models(name: str):
    """(netdef model, torch twin) for a benchmark model name."""
    sys.path.insert(0, str(ROOT))
    import importlib

    spec, _ = MODELS[name]
    kind, _, what = spec.partition(":")
    if kind == "zoo":
        from netdef.zoo import zoo

        entry = zoo.get(what)
        return entry.netdef_model(), entry.torch_model()
    return (
        getattr(importlib.import_module(f"netdef.zoo.{kind}"), what)(),
        getattr(importlib.import_module(f"netdef.zoo.twins.{kind}"), what)(),
    )


def _inputs(name: str, size: int | None) -> dict:
    inputs = {k: (tuple(s), d) for k, (s, d) in MODELS[name][1].items()}
    if size is not None:
        inputs = {
            k: ((*s[:-2], size, size) if d == "float32" and len(s) == 4 else s, d) for k, (s, d) in inputs.items()
        }
    return inputs


def _twin_with_statistics(twin):
    """The twin in eval mode with batch-norm statistics a trained network could have."""
    import torch

    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)
    return twin.eval()


def _layer_types(net) -> dict[str, int]:
    return dict(Counter(net.get_layer(i).type.name for i in range(net.num_layers)))


def child(route: str, name: str, size: int | None) -> dict:
    """One route for one model in this process; returns its figures."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, twin = _models(name)
    twin = _twin_with_statistics(twin)
    inputs = _inputs(name, size)
    import netdef
    from netdef._trt import builder

    # both routes run the twin once before the clock starts: a process that has run the model's torch forward
    # builds faster (yolov5n: about 0.285 s of builder CPU time against 0.305 s for the same network), and
    # otherwise only the ONNX route's export would have run it, so "build only" would time the process, not
    # the network handed to the builder
    with torch.no_grad():
        twin(*(torch.zeros(s, dtype=torch.int64) if d == "int64" else torch.randn(s) for s, d in inputs.values()))
    start = time.process_time()
    if route == "netdef":
        build_module, spent = sys.modules["netdef.build"], []
        serialize = build_module._serialize  # the one call into the builder, timed in CPU time

        def timed(*args):
            mark = time.process_time()
            result = serialize(*args)
            spent.append(time.process_time() - mark)
            return result

        build_module._serialize = timed
        model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
        network = netdef.define(model, {k: netdef.Input(s, d) for k, (s, d) in inputs.items()})
        built = netdef.build(network)
        total = time.process_time() - start
        build_s = spent[0]
        net, size_bytes = network.network, built.metadata["engine_bytes"]
    else:
        args = tuple(
            torch.zeros(s, dtype=torch.int64) if d == "int64" else torch.randn(s) for k, (s, d) in inputs.items()
        )
        buffer = io.BytesIO()
        # with grad enabled: nn.MultiheadAttention's inference fast path has no ONNX export
        with torch.enable_grad():
            torch.onnx.export(twin, args, buffer, input_names=list(inputs), dynamo=False, opset_version=17)
        net = netdef.onnx.parse(buffer.getvalue())
        del buffer
        config = builder().create_builder_config()
        mark = time.process_time()
        serialized = builder().build_serialized_network(net, config)
        build_s = time.process_time() - mark
        if serialized is None:
            raise SystemExit(f"the ONNX route could not build {name}")
        size_bytes = serialized.nbytes
        total = time.process_time() - start
    del np
    return {
        "time to engine": total,
        "build only": build_s,
        "layers": net.num_layers,
        "engine bytes": size_bytes,
        "peak RSS": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "by type": _layer_types(net),
    }


def _run_child(route: str, name: str, size: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", route, "--models", name]
    if size is not None:
        cmd += ["--size", str(size)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{route} route for {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(key: str, v: float) -> str:
    if key in ("time to engine", "build only"):
        return f"{v:7.2f} s"
    if key in ("engine bytes", "peak RSS"):
        return f"{v / 2**20:7.1f} MiB"
    return f"{v:7.0f}  "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None, choices=list(MODELS), metavar="MODEL")
    parser.add_argument("--size", type=int, default=None, help="image side for image models (default: usual size)")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs per model")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK[0]} at {QUICK[1]}x{QUICK[1]}, once")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", choices=("netdef", "onnx"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.models[0], args.size)))
        return 0
    names, size = args.models or DEFAULT, args.size
    if args.quick:
        names, size, args.repeats = [args.models[0] if args.models else QUICK[0]], size or QUICK[1], 1

    missed, report = [], {}
    keys = ["time to engine", "build only", "layers", "engine bytes", "peak RSS"]
    print("netdef vs the ONNX route (torch.onnx.export -> OnnxParser -> build); ratio = netdef / ONNX,")
    print(f"median of {args.repeats} pairwise ratio(s); each route in its own process, 1 torch thread\n")
    for name in names:
        pairs = [(_run_child("netdef", name, size), _run_child("onnx", name, size)) for _ in range(args.repeats)]
        shape = " ".join(f"{k}{tuple(s)}" for k, (s, _) in _inputs(name, size).items())
        print(f"{name}  {shape}")
        print(f"  {'':16}{'netdef':>12}{'ONNX route':>14}{'ratio':>9}")
        rows = {}
        for key in keys:
            ratio = statistics.median(a[key] / b[key] for a, b in pairs)
            a, b = statistics.median(p[0][key] for p in pairs), statistics.median(p[1][key] for p in pairs)
            goal = GOALS.get(key)
            flag = "" if goal is None else ("  ok" if ratio <= goal else f"  > {goal:.1f}x goal")
            if goal is not None and ratio > goal:
                missed.append(f"{name} {key} {ratio:.2f}x")
            print(f"  {key:16}{_fmt(key, a):>12}{_fmt(key, b):>14}{ratio:8.2f}x{flag}")
            rows[key] = {"netdef": a, "onnx": b, "ratio": ratio}
        ours, theirs = Counter(pairs[0][0]["by type"]), Counter(pairs[0][1]["by type"])
        diff = {t: ours[t] - theirs[t] for t in sorted(set(ours) | set(theirs)) if ours[t] != theirs[t]}
        print("  layers by type (netdef - ONNX): " + (", ".join(f"{t} {d:+d}" for t, d in diff.items()) or "same"))
        rows["by type"] = {"netdef": dict(ours), "onnx": dict(theirs)}
        report[name] = rows
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if missed:
        print("goals missed: " + "; ".join(missed))
    else:
        print("every goal met (build only, layers, engine bytes <= 1.0x)")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
