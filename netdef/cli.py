"""The ``netdef`` command: export, build, run, inspect."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from netdef.errors import NetdefError, NetdefWarning

MODEL_HELP = "a model as 'package.module:Class' or 'path/to/file.py:Class' (called with no arguments)"


def load_object(spec: str):
    """Import 'package.module:attr' or 'path/file.py:attr'."""
    if ":" not in spec:
        raise NetdefError(f"{spec!r}: expected 'module:Class' or 'file.py:Class'")
    where, _, attr = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise NetdefError(f"{where}: no such file")
        sys.path.insert(0, str(path.resolve().parent))
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(where)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise NetdefError(f"{where} has no attribute {attr!r}") from None


def parse_input(text: str):
    """'x=1x3x224x224' or 'x=-1x3x224x224:float16,min=1x3x224x224,max=8x3x224x224'."""
    from netdef.define import Input

    try:
        name, _, rest = text.partition("=")
        parts = rest.split(",")
        shape_part, _, dtype = parts[0].partition(":")
        dims = lambda s: tuple(int(d) for d in s.lower().split("x"))  # noqa: E731
        extra = dict(p.split("=", 1) for p in parts[1:])
        return name, Input(
            dims(shape_part),
            dtype or "float32",
            **{k: dims(v) for k, v in extra.items() if k in ("min", "opt", "max")},
        )
    except (ValueError, TypeError) as exc:
        raise NetdefError(
            f"bad --input {text!r} ({exc}); write it as name=1x3x224x224[:dtype][,min=..,max=..]"
        ) from None


def _model_and_inputs(args):
    from netdef.nn import Module

    factory = load_object(args.model)
    model = factory()
    if not isinstance(model, Module):
        raise NetdefError(f"{args.model} made a {type(model).__name__}, not a netdef.nn.Module")
    if args.weights:
        report = model.load_weights(args.weights, strict=not args.non_strict)
        if report.missing or report.unexpected:
            print(f"weights: {report}", file=sys.stderr)
    if args.input:
        inputs = dict(parse_input(t) for t in args.input)
    elif hasattr(model, "default_inputs"):
        inputs = model.default_inputs()
    else:
        raise NetdefError(f"{args.model} declares no default_inputs(): pass --input name=shape")
    return model, inputs


def _feeds(args, shapes: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    """Arrays from --feed name=file.npy, or seeded random normals of the given shapes and dtypes."""
    given = dict(f.split("=", 1) for f in (args.feed or []))
    unknown = sorted(set(given) - set(shapes))
    if unknown:
        raise NetdefError(f"--feed names {unknown} are not inputs; the inputs are {list(shapes)}")
    rng = np.random.default_rng(args.seed)
    return {
        name: np.load(given[name]) if name in given else rng.standard_normal(shape).astype(dtype)
        for name, (shape, dtype) in shapes.items()
    }


def _input_shapes(inputs) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    from netdef._trt import dtype_from_name, dtype_to_numpy

    return {
        name: (spec.opt if spec.is_dynamic else spec.shape, dtype_to_numpy(dtype_from_name(spec.dtype)))
        for name, spec in inputs.items()
    }


def cmd_export(args) -> None:
    from collections.abc import Mapping

    from netdef.weights import Rename, export_wts, load_weights_file, rename_weights, save_safetensors
    from netdef.weights.formats import TORCH_SUFFIXES, read_torch_state_dict

    source, output = args.source, args.output
    suffix = Path(output).suffix.lower()
    if suffix not in (".wts", ".safetensors"):
        raise NetdefError(f"{output}: the output's suffix picks the format, .wts or .safetensors; got {suffix!r}")
    try:
        rename = Rename(strip_prefix=args.strip_prefix or (), add_prefix=args.add_prefix, regex=args.rename or ())
    except ValueError as exc:
        raise NetdefError(str(exc)) from None
    if Path(source).is_file() and not source.endswith(".py"):
        if Path(source).suffix.lower() in TORCH_SUFFIXES:
            state = read_torch_state_dict(source)  # weights-only; tensors keep their dtype for safetensors
        else:
            state = load_weights_file(source)
    else:
        obj = load_object(source)()
        if isinstance(obj, Mapping):
            state = obj
        elif callable(getattr(obj, "state_dict", None)):
            if hasattr(obj, "eval"):
                obj.eval()
            state = obj.state_dict()
        else:
            raise NetdefError(f"{source} made a {type(obj).__name__}, not a torch nn.Module or a state dict")
    if rename.strip_prefix or rename.add_prefix or rename.regex:
        state = rename_weights(state, rename, source)
    if suffix == ".wts":
        total = sum(a.size for a in export_wts(state, output).values())
    else:
        total = sum(t.numel() for t in save_safetensors(state, output).values())
    print(f"wrote {len(state)} tensors ({total:,} values) to {output}")


def cmd_build(args) -> None:
    import netdef
    from netdef.build import check_output

    check_output(args.output, force=args.force, inputs=[args.weights, args.calib_data, args.calib_cache])
    model, inputs = _model_and_inputs(args)
    quantization = _quantization(args, model, inputs)
    network = netdef.define(
        model, inputs, precision=args.precision, overrides=_overrides(args), quantization=quantization
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", netdef.NetdefWarning)
        built = netdef.build(
            network,
            workspace=args.workspace,
            output=args.output,
            compute_capabilities=tuple(args.compute_capability or ()),
            refit=args.refit,
            cache=args.cache,
            force=args.force,
        )
    meta = built.metadata
    how = "from the engine cache" if built.cached else f"in {meta['build_seconds']} s"
    print(
        f"built {args.output} {how}: {meta['engine_bytes'] / 1e6:.2f} MB, {meta['precision']}, "
        f"{meta['backend']} {meta['backend_version']}"
    )
    for w in caught:
        print(f"note: {w.message}")
    print("note: the engine runs only with this TensorRT backend and version, on the GPUs it was built for")


def _quantization(args, model, inputs):
    """A QuantConfig from --quantize and --calib-* (calibration runs the fp32 network on CPU)."""
    import netdef
    from netdef.quantization import QuantConfig, calibrate

    if not args.quantize:
        return None
    if args.weights_only:
        return QuantConfig(args.quantize, weights_only=True, skip=tuple(args.quant_skip or ()))
    if not args.calib_data and not (args.calib_cache and Path(args.calib_cache).is_file()):
        raise NetdefError("--quantize needs --calib-data FILE.npz (one array per input) or an existing --calib-cache")
    batches = []
    if args.calib_data:
        data = np.load(args.calib_data)
        missing = [n for n in inputs if n not in data]
        if missing:
            raise NetdefError(f"{args.calib_data} lacks arrays for inputs {missing}")
        # cut the arrays into batches of the inputs' (first-profile max) batch size
        size = next(iter(_input_shapes(inputs).values()))[0][0]
        total = len(data[next(iter(inputs))])
        batches = [{n: data[n][i : i + size] for n in inputs} for i in range(0, total - size + 1, size)]
    calibration = calibrate(
        netdef.define(model, inputs),
        batches,
        method=args.calib_method,
        cache=args.calib_cache,
        skip=tuple(args.quant_skip or ()),
    )
    return QuantConfig(args.quantize, calibration, skip=tuple(args.quant_skip or ()))


def _overrides(args) -> dict[str, str]:
    try:
        return dict(o.split("=", 1) for o in (getattr(args, "override", None) or []))
    except ValueError:
        raise NetdefError(f"bad --override {args.override}; write it as module.path=fp32") from None


def cmd_refit(args) -> None:
    import netdef
    from netdef.build import check_output
    from netdef.runtime.refit import refit

    out = args.output or args.engine
    check_output(out, force=args.force, inputs=[args.weights])
    engine = netdef.Engine.load(args.engine)
    args.model = args.model_spec
    model, inputs = _model_and_inputs(args)
    network = netdef.define(model, inputs, precision=engine.metadata.get("precision", "fp32"))
    names = refit(engine, network.named_weights, weights_sha256=network.weights_digest)
    netdef.BuiltEngine(bytes(engine.engine.serialize()), engine.metadata).save(out, force=args.force)
    print(f"refitted {len(names)} weights of {args.engine} from {args.weights}; wrote {out}")


def cmd_run(args) -> None:
    import netdef

    if args.reference:
        model, inputs = _model_and_inputs(args)
        network = netdef.define(model, inputs, precision=args.precision)
        outputs = netdef.reference.run(network, _feeds(args, _input_shapes(inputs)))
    else:
        engine = netdef.Engine.load(args.model)
        context = engine.create_context(args.provider, cuda_graph=args.cuda_graph)
        outputs = context.infer(_feeds(args, _engine_shapes(engine, args.input)))
        graph = f"; CUDA graph: {context.cuda_graph_note}" if context.cuda_graph_note else ""
        print(f"ran on {context.provider.name} buffers{graph}")
    for name, value in outputs.items():
        flat = value.reshape(-1)[:6]
        print(f"{name}: shape {value.shape} {value.dtype}  first values {np.array2string(flat, precision=5)}")
        if args.save:
            np.save(Path(args.save) / f"{name}.npy", value)


def _engine_shapes(engine, given: list[str] | None) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each engine input's shape: from --input name=AxB, else its static shape, else profile 0's opt shape."""
    chosen = {}
    for text in given or []:
        name, _, dims = text.partition("=")
        try:
            chosen[name] = tuple(int(d) for d in dims.split(":")[0].split(",")[0].lower().split("x"))
        except ValueError:
            raise NetdefError(f"bad --input {text!r}: for an engine write name=4x3x224x224") from None
    unknown = sorted(set(chosen) - {s.name for s in engine.inputs})
    if unknown:
        raise NetdefError(f"--input names {unknown} are not inputs; the engine's are {[s.name for s in engine.inputs]}")
    return {
        s.name: (chosen.get(s.name) or (s.profiles[0][1] if s.profiles else s.shape), s.dtype) for s in engine.inputs
    }


def cmd_bench(args) -> None:
    import netdef
    from netdef.runtime.bench import bench_engine, bench_torch, format_table

    if args.weights and not args.twin:
        raise NetdefError("--weights is for the torch twin: pass --twin module:Class too")
    engine = netdef.Engine.load(args.engine)
    feeds = _feeds(args, _engine_shapes(engine, args.input))
    rows = [
        bench_engine(
            engine, feeds, args.runs, args.warmup, args.provider, args.cuda_graph, label=f"TensorRT ({args.engine})"
        )
    ]
    if args.twin:
        import torch

        twin = load_object(args.twin)()
        if not isinstance(twin, torch.nn.Module):
            raise NetdefError(f"--twin {args.twin} made a {type(twin).__name__}, not a torch.nn.Module")
        if args.weights:
            netdef.weights.load_into_torch(twin, netdef.weights.load_weights_file(args.weights))
        torch_feeds = {k: v.astype(np.float32) if v.dtype.kind in "fV" else v for k, v in feeds.items()}
        rows.append(bench_torch(twin, torch_feeds, args.runs, args.warmup, device="cuda", label="torch eager (twin)"))
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")


def cmd_inspect(args) -> None:
    import netdef

    if Path(args.model).is_file() and not args.model.endswith(".py"):
        from netdef.runtime.metadata import read_engine

        _, meta = read_engine(args.model, verify=True)
        print(json.dumps(meta, indent=2))
        return
    model, inputs = _model_and_inputs(args)
    network = netdef.define(model, inputs, precision=args.precision)
    rows = network.layers()
    width = max(len(r["name"]) for r in rows)
    print(f"{'#':>4}  {'name':<{width}}  {'type':<16}  output shapes / dtypes")
    for r in rows:
        outs = ", ".join(f"{tuple(s)} {d}" for s, d in zip(r["shapes"], r["dtypes"]))
        print(f"{r['index']:>4}  {r['name']:<{width}}  {r['type']:<16}  {outs}")
    print(f"{len(rows)} layers; inputs {list(inputs)}; outputs {network.outputs}")


def cmd_parity(args) -> None:
    import torch

    import netdef
    from netdef.parity import compare

    model, inputs = _model_and_inputs(args)
    twin = load_object(args.twin)()
    if not isinstance(twin, torch.nn.Module):
        raise NetdefError(f"--twin {args.twin} made a {type(twin).__name__}, not a torch.nn.Module")
    if args.weights:
        netdef.weights.load_into_torch(twin, netdef.weights.load_weights_file(args.weights))
    else:  # no weights file: both models run with the twin's own (initial) weights
        model.load_weights({k: v.detach().cpu().numpy() for k, v in twin.state_dict().items()})
    feeds = _feeds(args, _input_shapes(inputs))
    options = {"inputs": inputs, "atol": args.atol, "rtol": args.rtol, "overrides": _overrides(args)}
    report = compare(model, twin, feeds, args.precision, engine=args.engine, **options)
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.passed:
        raise NetdefError(report.summary())


def cmd_graph(args) -> None:
    import netdef

    model, inputs = _model_and_inputs(args)
    network = netdef.define(model, inputs, precision=args.precision)
    path = netdef.graph(network, args.output, parity=args.parity, weights=args.with_weights)
    print(f"wrote {path} ({network.network.num_layers} layers)")


def cmd_triton(args) -> None:
    from netdef.triton import write_model_repository

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NetdefWarning)
        model_dir = write_model_repository(
            args.engine,
            args.repository,
            args.name,
            max_batch_size=args.max_batch_size,
            dynamic_batching=args.dynamic_batching,
            instances=args.instances,
            backend=args.backend,
        )
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    print(f"wrote {model_dir / 'config.pbtxt'} and {model_dir / '1' / 'model.plan'}")


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(
        "--weights", help="weights file (.wts, .safetensors, .npz, .pt/.pth) bound strictly by state_dict name"
    )
    p.add_argument("--non-strict", action="store_true", help="skip missing/unexpected weight names")
    p.add_argument("--input", action="append", help="name=1x3x224x224[:dtype][,min=..,opt=..,max=..] (repeatable)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])


def _runtime_args(p: argparse.ArgumentParser) -> None:
    from netdef.runtime.buffers import PROVIDERS

    p.add_argument(
        "--provider",
        default="auto",
        choices=["auto", *PROVIDERS],
        help="buffer provider (default: $NETDEF_PROVIDER, else torch, cuda-python, pycuda: the first that works)",
    )
    p.add_argument(
        "--cuda-graph",
        nargs="?",
        const="auto",
        default=False,
        choices=["auto", "capture", "builtin"],
        help="run through a CUDA graph (the backend's built-in one, or netdef's capture); says why when it cannot",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="netdef", description="Write TensorRT networks the PyTorch way.")
    root.add_argument("-q", "--quiet", action="store_true", help="no progress lines (they show only on a terminal)")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "export", help="write a .wts or .safetensors (by the output suffix) from a torch model factory or weights file"
    )
    p.add_argument(
        "source",
        help="'module:factory' / 'file.py:Class' (a torch nn.Module or state dict), or a weights file: a weights-only "
        "torch checkpoint (.pt/.pth/.bin/.ckpt), .safetensors, .npz or .wts",
    )
    p.add_argument("-o", "--output", required=True, help="the file to write: .wts or .safetensors")
    p.add_argument(
        "--strip-prefix",
        action="append",
        metavar="PREFIX",
        help="remove PREFIX (e.g. 'module.') from names that start with it (repeatable, in order)",
    )
    p.add_argument(
        "--rename",
        nargs=2,
        action="append",
        metavar=("PATTERN", "REPLACEMENT"),
        help="then rename by re.sub(PATTERN, REPLACEMENT, name) (repeatable, in order)",
    )
    p.add_argument("--add-prefix", default="", metavar="PREFIX", help="finally put PREFIX in front of every name")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("build", help="define a netdef model, bind weights, build and serialize an engine")
    _model_args(p)
    p.add_argument("-o", "--output", required=True, help="engine path; metadata goes to <output>.json")
    p.add_argument("--workspace", type=lambda s: int(float(s)), help="workspace limit in bytes (e.g. 1e9)")
    p.add_argument("--compute-capability", action="append", help="TensorRT-RTX target, e.g. SM86 (repeatable)")
    p.add_argument("--override", action="append", help="per-module precision, e.g. fc3=fp32 or 'blocks.*.norm=fp32'")
    p.add_argument("--refit", action="store_true", help="build a refittable engine (see `netdef refit`)")
    p.add_argument("--quantize", choices=["int8", "fp8"], help="explicit Q/DQ on conv/linear inputs and weights")
    p.add_argument("--weights-only", action="store_true", help="quantize weights only (no calibration needed)")
    p.add_argument("--calib-data", help="calibration inputs: an .npz with one array per input, batched on dim 0")
    p.add_argument("--calib-method", default="entropy", choices=["max", "percentile", "entropy"])
    p.add_argument("--calib-cache", help="calibration cache file: reused when it matches, written otherwise")
    p.add_argument("--quant-skip", action="append", help="module path or layer-name pattern left unquantized")
    p.add_argument("--cache", nargs="?", const=True, default=None, help="use the engine cache (optionally a folder)")
    p.add_argument(
        "--force",
        action="store_true",
        help="rebuild even when the cache holds a matching engine; replace an output that is not a netdef engine",
    )
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("refit", help="swap the weights of a refittable engine without rebuilding (needs a GPU)")
    p.add_argument("engine", help="a refittable engine built by netdef")
    p.add_argument("--model", dest="model_spec", required=True, help=MODEL_HELP)
    p.add_argument("--weights", required=True, help="the new weights file")
    p.add_argument("--non-strict", action="store_true", help="skip missing/unexpected weight names")
    p.add_argument("--input", action="append", help="the inputs the engine was built with (default: the model's)")
    p.add_argument("-o", "--output", help="write the refitted engine here (default: in place)")
    p.add_argument("--force", action="store_true", help="replace an output that is not a netdef engine")
    p.set_defaults(func=cmd_refit)

    p = sub.add_parser("run", help="run an engine on the GPU, or a model on the CPU reference (--reference)")
    _model_args(p)
    p.add_argument("--reference", action="store_true", help="MODEL is a netdef model run by the CPU interpreter")
    p.add_argument("--feed", action="append", help="name=file.npy (default: seeded random normal inputs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="folder to save outputs as <name>.npy")
    _runtime_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "bench", help="latency p50/p90/p99 and throughput of an engine, optionally beside its torch twin (eager)"
    )
    p.add_argument("engine", help="an engine built by netdef (with its .json sidecar)")
    p.add_argument("--runs", type=int, default=200, help="timed runs (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="untimed runs first (default 20)")
    p.add_argument("--input", action="append", help="shape of a dynamic input, name=8x3x224x224 (default: opt)")
    p.add_argument("--feed", action="append", help="name=file.npy (default: seeded random normal inputs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--twin", help="the torch twin, 'package.module:Class' or 'file.py:Class', run eagerly on the GPU")
    p.add_argument("--weights", help="weights file for the twin (.wts, .safetensors, torch checkpoint)")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    _runtime_args(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("inspect", help="list a model's layers (name, type, shapes, dtypes) or an engine's metadata")
    _model_args(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("parity", help="compare every module's output with a torch twin's; name the first that differs")
    _model_args(p)
    p.add_argument("--twin", required=True, help="the torch twin, as 'package.module:Class' or 'file.py:Class'")
    p.add_argument("--feed", action="append", help="name=file.npy (default: seeded random normal inputs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--atol", type=float, help="absolute tolerance (default by precision: 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--rtol", type=float, help="relative tolerance (default by precision: 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--engine", action="store_true", help="run a TensorRT engine on this GPU, not the CPU reference")
    p.add_argument("--override", action="append", help="per-module precision, e.g. fc3=fp32 or 'blocks.*.norm=fp32'")
    p.add_argument("--json", help="also write the report as JSON to this file")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser(
        "graph", help="draw a model's network: module tree, layer types, shapes, weights (html/svg/onnx)"
    )
    _model_args(p)
    p.add_argument("-o", "--output", required=True, help="net.html (collapsible), net.svg, or net.onnx (for Netron)")
    p.add_argument("--parity", help="a `netdef parity --json` report to overlay (first divergent module highlighted)")
    p.add_argument("--with-weights", action="store_true", help="put weight values into the .onnx file")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("triton", help="write a Triton Inference Server model repository entry for an engine")
    p.add_argument("engine", help="a netdef engine (its .json metadata beside it)")
    p.add_argument("--repository", required=True, help="the model repository folder (created if missing)")
    p.add_argument("--name", required=True, help="the model's name in the repository")
    p.add_argument("--max-batch-size", type=int, default=0, help="Triton batching along a dynamic first dim (0: off)")
    p.add_argument("--dynamic-batching", action="store_true", help="let Triton merge requests (needs --max-batch-size)")
    p.add_argument("--instances", type=int, default=1, help="model instances per GPU")
    p.add_argument("--backend", help="a Triton backend name instead of platform tensorrt_plan (e.g. for TensorRT-RTX)")
    p.set_defaults(func=cmd_triton)
    return root


def main(argv: list[str] | None = None) -> int:
    from netdef.progress import silenced

    args = parser().parse_args(argv)
    try:
        with silenced() if args.quiet else contextlib.nullcontext():
            args.func(args)
    except NetdefError as exc:
        print(f"netdef {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
