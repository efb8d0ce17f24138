"""The ``netdef`` command: export, build, run, inspect."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import json
import math
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

from netdef._io import atomic_write
from netdef.checks import new_output, readable_file, writable_path
from netdef.errors import EngineError, NetdefError, NetdefWarning

MODEL_HELP = "a model as 'package.module:Class' or 'path/to/file.py:Class' (called with no arguments)"


def load_object(spec: str):
    """Import 'package.module:attr' or 'path/file.py:attr'."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        if Path(spec).is_file():
            raise NetdefError(f"{spec!r} is a file; a model is 'module:Class' or 'file.py:Class'")
        raise NetdefError(f"{spec!r}: expected 'module:Class' or 'file.py:Class'")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise NetdefError(f"{where}: no such file")
        sys.path.insert(0, str(path.resolve().parent))
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:  # the user's file: say what it raised and where, not netdef's traceback
            raise NetdefError(f"{spec}: importing {where} failed: {_raised(exc)}") from None
    else:
        if not all(part.isidentifier() for part in where.split(".")):
            raise NetdefError(f"{spec!r}: {where!r} is not a module path like 'package.module' (or give file.py)")
        sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and where.startswith(exc.name):
                raise NetdefError(
                    f"{spec}: no module named {exc.name!r} (run from the folder that holds it, or give path/file.py:Class)"
                ) from None
            raise NetdefError(f"{spec}: importing {where} failed: {exc}") from None
        except Exception as exc:
            raise NetdefError(f"{spec}: importing {where} failed: {_raised(exc)}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise NetdefError(f"{where} has no attribute {attr!r}") from None


def construct(spec: str):
    """Call the class or factory ``spec`` names with no arguments (what every MODEL argument does)."""
    factory = load_object(spec)
    if not callable(factory):
        raise NetdefError(
            f"{spec} names a {type(factory).__name__} object, not a class or a function that makes the model"
        )
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # no signature to check (a builtin): call it and see
        signature = None
    if signature is not None:
        try:
            signature.bind()
        except TypeError:
            name = spec.rpartition(":")[2]
            raise NetdefError(
                f"{spec}{signature} needs arguments, and netdef calls it with none: write a function that "
                f"returns the configured model (def make(): return {name}(...)) and pass it as file.py:make"
            ) from None
    try:
        return factory()
    except NetdefError:
        raise
    except Exception as exc:  # the user's constructor failed: what it raised and where, not netdef's traceback
        raise NetdefError(f"{spec}: calling it with no arguments raised {_raised(exc)}") from None


def _define(model, inputs, **options):
    """``netdef.define``; an exception the model's own ``forward`` raised is one error naming it and the line."""
    import netdef

    try:
        return netdef.define(model, inputs, **options)
    except NetdefError:
        raise
    except Exception as exc:  # the user's forward (or what it called) raised: where, not netdef's traceback
        raise NetdefError(f"defining {type(model).__name__} failed: its forward raised {_raised(exc)}") from None


def _raised(exc: BaseException) -> str:
    """``Type: message (at file:line)``, the line being the innermost frame that raised ``exc``."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames and not isinstance(exc, SyntaxError) else ""
    return f"{type(exc).__name__}: {exc}{where}"  # a SyntaxError's message names its file and line itself


INPUT_FORM = "name=1x3x224x224[:dtype][,min=..,opt=..,max=..]"
FEED_HELP = (
    "name=file.npy, one per input (repeatable; default: seeded random inputs, normal for floats, "
    "0 or 1 for integers and bools: feed real token ids to cover a vocabulary)"
)


def parse_input(text: str):
    """'x=1x3x224x224' or 'x=-1x3x224x224:float16,min=1x3x224x224,max=8x3x224x224'."""
    from netdef.define import Input

    def bad(why: str) -> NetdefError:
        return NetdefError(f"bad --input {text!r}: {why}; write it as {INPUT_FORM}")

    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise bad("no name= before the shape")
    parts = rest.split(",")
    shape_part, _, dtype = parts[0].partition(":")
    extra: dict[str, tuple[int, ...]] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep or key not in ("min", "opt", "max"):
            raise bad(f"{part!r} is not one of min=, opt=, max=")
        if key in extra:
            raise bad(f"{key}= is given twice")
        extra[key] = _dims(value, bad)
    return name, Input(_dims(shape_part, bad), dtype or "float32", **extra)


def _dims(text: str, bad) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        raise bad(f"{text!r} is not a shape like 1x3x224x224") from None


def _read_weights(args):
    """The --weights file, read once: the model and its torch twin share it (a FIFO such as <(...) reads once)."""
    from netdef.weights import load_weights_file

    if getattr(args, "_weights_read", None) is None:
        args._weights_read = load_weights_file(args.weights)
    return args._weights_read


def _model_and_inputs(args, needs_weights: bool = True):
    from collections.abc import Mapping

    from netdef.define import bind_inputs
    from netdef.nn import Module

    model = construct(args.model)
    if not isinstance(model, Module):
        raise NetdefError(f"{args.model} made a {type(model).__name__}, not a netdef.nn.Module")
    if args.weights:
        report = model.load_weights(_read_weights(args), strict=not args.non_strict)
        if report.missing or report.unexpected:
            print(f"weights: {report}", file=sys.stderr)
    elif needs_weights and any(p.data is None for p in model.state_dict().values()):
        raise NetdefError(
            f"{args.model} has weights to bind and no --weights was given: pass --weights FILE "
            "(.wts, .safetensors, .npz or a torch state dict; `netdef export` writes one from the torch model)"
        )
    if args.input:
        inputs = dict(parse_input(t) for t in args.input)
        if len(inputs) < len(args.input):
            raise NetdefError(f"--input names an input twice: {args.input}")
    elif hasattr(model, "default_inputs"):
        inputs = model.default_inputs()
    else:
        raise NetdefError(f"{args.model} declares no default_inputs(): pass --input {INPUT_FORM}")
    if not isinstance(inputs, Mapping):  # a default_inputs() of another kind: define() says what it takes
        return model, inputs
    binding = bind_inputs(model, list(inputs))  # checked and put in forward's order, as define() binds them
    return model, {name: inputs[name] for name in binding.names}


def _feeds(args, shapes: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    """Arrays from --feed name=file.npy, one for every input; without --feed, seeded random normals of the
    given shapes and dtypes."""
    given = {}
    for text in args.feed or []:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise NetdefError(f"bad --feed {text!r}: write it as name=file.npy")
        if name in given:
            raise NetdefError(f"--feed gives input {name!r} twice")
        given[name] = path
    unknown = [name for name in given if name not in shapes]
    if unknown:
        raise NetdefError(f"--feed names {unknown} are not inputs; the inputs are {list(shapes)}")
    missing = [name for name in shapes if name not in given]
    if given and missing:  # never random values for some inputs beside the files given for others
        raise NetdefError(
            f"--feed gives no array for the inputs {missing}; the inputs are {list(shapes)}: feed every input "
            "(--feed NAME=file.npy each) or none (seeded random normals)"
        )
    rng = np.random.default_rng(args.seed)
    return {
        name: _load_array(given[name], f"--feed {name}=") if name in given else _random_feed(rng, shape, dtype)
        for name, (shape, dtype) in shapes.items()
    }


def _random_feed(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Seeded random values every model takes: normals for floats; 0 or 1 for integers (token ids, indices, masks:
    both are inside any vocabulary) and bools."""
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _load_array(path: str, option: str) -> np.ndarray:
    """One array from a .npy file (no pickles)."""
    readable_file(path, f"{option} file")
    try:
        value = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        with open(path, "rb") as f:
            is_npy = f.read(6) == b"\x93NUMPY"
        if is_npy and "allow_pickle" in str(exc):  # numpy's advice to load pickles is not one netdef follows
            raise NetdefError(
                f"{option}{path}: holds Python objects (an object array, saved with pickling), not numbers; "
                "save a numeric array (numpy.save(path, array.astype(np.float32)))"
            ) from None
        raise NetdefError(f"{option}{path}: not a readable .npy array file ({exc})") from None
    if not isinstance(value, np.ndarray):
        value.close()
        raise NetdefError(f"{option}{path}: an .npz archive; give one .npy file per input (numpy.save)")
    return value


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
    new_output(output, "-o", args.force)
    try:
        rename = Rename(strip_prefix=args.strip_prefix or (), add_prefix=args.add_prefix, regex=args.rename or ())
    except ValueError as exc:
        raise NetdefError(str(exc)) from None
    if (Path(source).exists() or ":" not in source) and not source.endswith(".py"):
        readable_file(source, "weights file")
        if Path(source).suffix.lower() in TORCH_SUFFIXES:
            state = read_torch_state_dict(source)  # weights-only; tensors keep their dtype for safetensors
        else:
            state = load_weights_file(source)
    else:
        obj = construct(source)
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

    writable_path(args.output, "-o")
    if args.calib_cache:
        writable_path(args.calib_cache, "--calib-cache")
    check_output(args.output, force=args.force, inputs=[args.weights, args.calib_data, args.calib_cache])
    model, inputs = _model_and_inputs(args)
    quantization = _quantization(args, model, inputs)
    network = _define(model, inputs, precision=args.precision, overrides=_overrides(args), quantization=quantization)
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
    from netdef.quantization import QuantConfig, calibrate

    if not args.quantize:
        return None
    if args.weights_only:
        return QuantConfig(args.quantize, weights_only=True, skip=tuple(args.quant_skip or ()))
    if not args.calib_data and not (args.calib_cache and Path(args.calib_cache).is_file()):
        raise NetdefError("--quantize needs --calib-data FILE.npz (one array per input) or an existing --calib-cache")
    batches = []
    if args.calib_data:
        readable_file(args.calib_data, "--calib-data file")
        try:
            data = np.load(args.calib_data, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise NetdefError(f"--calib-data {args.calib_data}: not a readable .npz file ({exc})") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise NetdefError(f"--calib-data {args.calib_data}: a single array; save one per input: numpy.savez")
        missing, extra = [n for n in inputs if n not in data], [n for n in data.files if n not in inputs]
        if missing or extra:
            raise NetdefError(
                f"--calib-data {args.calib_data} lacks arrays for the inputs {missing or 'none'} and holds arrays "
                f"that are no input {extra or 'none'}; the inputs are {list(inputs)}: save one array per input, "
                "named after it (numpy.savez(path, NAME=array, ...))"
            )
        # cut the arrays into batches of the inputs' (first-profile max) batch size
        size = next(iter(_input_shapes(inputs).values()))[0][0]
        total = len(data[next(iter(inputs))])
        batches = [{n: data[n][i : i + size] for n in inputs} for i in range(0, total - size + 1, size)]
        if not batches:
            raise NetdefError(f"--calib-data {args.calib_data} holds {total} samples, fewer than one batch of {size}")
    calibration = calibrate(
        _define(model, inputs),
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
    writable_path(out, "-o")
    check_output(out, force=args.force, inputs=[args.weights])
    readable_file(args.engine, "engine file", EngineError)
    engine = netdef.Engine.load(args.engine)
    args.model = args.model_spec
    model, inputs = _model_and_inputs(args)
    network = _define(model, inputs, precision=engine.metadata.get("precision", "fp32"))
    names = refit(engine, network.named_weights, weights_sha256=network.weights_digest)
    plan = memoryview(engine.engine.serialize()).cast("B")  # TensorRT's buffer, written without a copy
    netdef.BuiltEngine(plan, engine.metadata).save(out, force=args.force)
    print(f"refitted {len(names)} weights of {args.engine} from {args.weights}; wrote {out}")


def cmd_run(args) -> None:
    import netdef

    if args.save:
        _output_folder(args.save, "--save")
    if args.reference:
        if Path(args.model).is_file() and ":" not in args.model:
            raise NetdefError(f"{args.model} is a file; --reference runs a model given as module:Class on the CPU")
        model, inputs = _model_and_inputs(args)
        network = _define(model, inputs, precision=args.precision)
        outputs = netdef.reference.run(network, _feeds(args, _input_shapes(inputs)))
    else:
        if ":" in args.model and not Path(args.model).exists():
            raise NetdefError(
                f"{args.model} is a model, not an engine file: add --reference to run it on the CPU reference "
                f"interpreter, or build an engine first (netdef build {args.model} -o model.engine)"
            )
        readable_file(args.model, "engine file", EngineError)
        engine = netdef.Engine.load(args.model)
        context = engine.create_context(args.provider, cuda_graph=args.cuda_graph)
        outputs = context.infer(_feeds(args, _engine_shapes(engine, args.input)))
        graph = f"; CUDA graph: {context.cuda_graph_note}" if context.cuda_graph_note else ""
        print(f"ran on {context.provider.name} buffers{graph}")
    saved = _saved_outputs(args, outputs) if args.save else {}
    for name, value in outputs.items():
        flat = value.reshape(-1)[:6]
        print(f"{name}: shape {value.shape} {value.dtype}  first values {np.array2string(flat, precision=5)}")
    for name, path in saved.items():
        with atomic_write(path) as f:
            np.save(f, outputs[name])
        print(f"saved {name} to {path}")


def _saved_outputs(args, outputs: dict) -> dict[str, Path]:
    """Where --save puts each output, ``<folder>/<name>.npy`` (a name's '/' and other characters a file name
    cannot hold are %-escaped); NetdefError if one exists and --force is not given, before anything is written."""
    from urllib.parse import quote

    paths = {name: Path(args.save) / f"{quote(name, safe=' ._-+=,:@')}.npy" for name in outputs}
    feeds = [text.partition("=")[2] for text in args.feed or []]
    for path in paths.values():
        new_output(path, "--save: the output file", args.force, inputs=[args.weights, *feeds])
    return paths


def _placeholder_weights(model, args, what: str) -> None:
    """Without --weights, bind zeros: shapes and layers need no values."""
    if not args.weights:
        model.load_weights({name: np.zeros(p.shape, p.dtype) for name, p in model.state_dict().items()})
        print(f"note: no --weights given: {what} with zero placeholder weights (no values are bound)")


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (checked by new_output first) atomically, making missing folders."""
    with atomic_write(path, "w") as f:
        f.write(text)


def _output_folder(path: str, option: str) -> None:
    """NetdefError unless ``path`` is a folder files may be written into, or can be made one (the writes make it:
    a command refused later leaves no folder behind)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NetdefError(f"{option} {path} is a file; give a folder")
    writable_path(folder / "x", option)


def _engine_shapes(engine, given: list[str] | None) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each engine input's shape: from --input name=AxB, else its static shape, else profile 0's opt shape."""
    chosen = {}
    for text in given or []:
        name, sep, dims = text.partition("=")
        if not sep or not name or any(c in dims for c in ":,"):
            raise NetdefError(f"bad --input {text!r}: for an engine write name=4x3x224x224 (a shape only)")
        chosen[name] = _dims(dims, lambda why, text=text: NetdefError(f"bad --input {text!r}: {why}"))
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
    if args.json:
        new_output(args.json, "--json", args.force, inputs=[args.engine, args.weights])
    readable_file(args.engine, "engine file", EngineError)
    engine = netdef.Engine.load(args.engine)
    feeds = _feeds(args, _engine_shapes(engine, args.input))
    rows = [
        bench_engine(
            engine, feeds, args.runs, args.warmup, args.provider, args.cuda_graph, label=f"TensorRT ({args.engine})"
        )
    ]
    if args.twin:
        import torch

        twin = construct(args.twin)
        if not isinstance(twin, torch.nn.Module):
            raise NetdefError(f"--twin {args.twin} made a {type(twin).__name__}, not a torch.nn.Module")
        if args.weights:
            netdef.weights.load_into_torch(twin, _read_weights(args))
        torch_feeds = {k: v.astype(np.float32) if v.dtype.kind in "fV" else v for k, v in feeds.items()}
        rows.append(bench_torch(twin, torch_feeds, args.runs, args.warmup, device="cuda", label="torch eager (twin)"))
    print(format_table(rows))
    if args.json:
        _write_text(args.json, json.dumps([r.to_dict() for r in rows], indent=2) + "\n")


def cmd_inspect(args) -> None:

    if not args.model.endswith(".py") and (":" not in args.model or Path(args.model).exists()):
        from netdef.runtime.metadata import read_engine

        readable_file(args.model, "engine file (inspect takes an engine file, or a model as module:Class)")
        _, meta = read_engine(args.model, verify=True)
        print(json.dumps(meta, indent=2))
        return
    model, inputs = _model_and_inputs(args, needs_weights=False)
    _placeholder_weights(model, args, "layers are listed")
    network = _define(model, inputs, precision=args.precision)
    rows = network.layers()
    width = max(len(r["name"]) for r in rows)
    print(f"{'#':>4}  {'name':<{width}}  {'type':<16}  output shapes / dtypes")
    for r in rows:
        outs = ", ".join(f"{tuple(s)} {d}" for s, d in zip(r["shapes"], r["dtypes"]))
        print(f"{r['index']:>4}  {r['name']:<{width}}  {r['type']:<16}  {outs}")
    print(f"{len(rows)} layers; inputs {list(inputs)}; outputs {network.outputs}")


def cmd_parity(args) -> int:
    import torch

    import netdef
    from netdef.parity import compare

    if args.json:
        new_output(args.json, "--json", args.force, inputs=[args.weights])
    model, inputs = _model_and_inputs(args, needs_weights=False)  # unbound: the twin's weights bind below
    twin = construct(args.twin)
    if not isinstance(twin, torch.nn.Module):
        raise NetdefError(f"--twin {args.twin} made a {type(twin).__name__}, not a torch.nn.Module")
    if args.weights:
        netdef.weights.load_into_torch(twin, _read_weights(args))
    else:  # no weights file: both models run with the twin's own (initial) weights
        model.load_weights({k: v.detach().cpu().numpy() for k, v in twin.state_dict().items()})
    feeds = _feeds(args, _input_shapes(inputs))
    options = {"inputs": inputs, "atol": args.atol, "rtol": args.rtol, "overrides": _overrides(args)}
    report = compare(model, twin, feeds, args.precision, engine=args.engine, **options)
    print(report)
    if args.json:
        _write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.passed:  # a finding, not a usage error: exit status 1
        print(f"netdef parity: failed: {report.summary()}", file=sys.stderr)
        return 1
    return 0


def _byte_count(text: str) -> int:
    """A whole positive number of bytes, as an int or in float notation (1e9)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes (e.g. 1e9)") from None
    if not math.isfinite(value) or value < 1 or value > 2**62 or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole positive number of bytes up to 2**62")
    return int(value)


def _tolerance(text: str) -> float:
    """A finite, non-negative tolerance."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a tolerance is a finite number >= 0")
    return value


def _count(minimum: int):
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value

    count.__name__ = f"int >= {minimum}"
    return count


def cmd_graph(args) -> None:
    import netdef
    from netdef.visualize import graph_format

    graph_format(args.output)  # before the model is defined, which may take a while
    if args.netron and Path(args.output).suffix.lower() != ".onnx":
        raise NetdefError(f"--netron opens the graph as ONNX: give -o NAME.onnx, not {args.output}")
    if args.netron and importlib.util.find_spec("netron") is None:
        raise NetdefError("--netron needs the netron package: pip install netron")
    new_output(args.output, "-o", args.force)
    model, inputs = _model_and_inputs(args, needs_weights=args.with_weights)
    _placeholder_weights(model, args, "the graph is drawn")
    network = _define(model, inputs, precision=args.precision)
    collapse = () if args.expand_all else (args.collapse or None)
    path = netdef.graph(
        network, args.output, parity=args.parity, weights=args.with_weights, force=args.force, collapse=collapse
    )
    print(f"wrote {path} ({network.network.num_layers} layers)")
    if args.netron:
        import netron

        from netdef.visualize import open_in_netron

        host, port = open_in_netron(path)
        print(f"Netron serves {path} at http://{host}:{port} (Ctrl-C ends)")
        try:
            netron.wait()
        except KeyboardInterrupt:
            netron.stop()


def cmd_doctor(args) -> int:
    from netdef.doctor import diagnose, report

    checks = diagnose()
    print(report(checks))
    return 0 if next(c for c in checks if c.name == "build engines").ok else 1


def cmd_triton(args) -> None:
    from netdef.triton import write_model_repository

    readable_file(args.engine, "engine file", EngineError)
    _output_folder(args.repository, "--repository")

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
            version=args.version,
            force=args.force,
        )
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    print(f"wrote {model_dir / 'config.pbtxt'} and {model_dir / str(args.version) / 'model.plan'}")


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument(
        "--weights", help="weights file (.wts, .safetensors, .npz, .pt/.pth) bound strictly by state_dict name"
    )
    p.add_argument("--non-strict", action="store_true", help="skip missing/unexpected weight names")
    p.add_argument(
        "--input", action="append", help=f"{INPUT_FORM}, name = the forward parameter it is passed to (repeatable)"
    )
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
    root = argparse.ArgumentParser(
        prog="netdef",
        description="Write TensorRT networks the PyTorch way.",
        epilog="exit status: 0 done, 1 a check failed (parity found a difference), 2 a usage error",
    )
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
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("build", help="define a netdef model, bind weights, build and serialize an engine")
    _model_args(p)
    p.add_argument("-o", "--output", required=True, help="engine path; metadata goes to <output>.json")
    p.add_argument("--workspace", type=_byte_count, help="workspace limit in bytes (e.g. 1e9)")
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
    p.add_argument("--feed", action="append", help=FEED_HELP)
    p.add_argument("--seed", type=_count(0), default=0)
    p.add_argument("--save", help="folder to save outputs as <name>.npy")
    p.add_argument("--force", action="store_true", help="replace existing <name>.npy files in the --save folder")
    _runtime_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "bench", help="latency p50/p90/p99 and throughput of an engine, optionally beside its torch twin (eager)"
    )
    p.add_argument("engine", help="an engine built by netdef (with its .json sidecar)")
    p.add_argument("--runs", type=_count(1), default=200, help="timed runs (default 200)")
    p.add_argument("--warmup", type=_count(0), default=20, help="untimed runs first (default 20)")
    p.add_argument("--input", action="append", help="shape of a dynamic input, name=8x3x224x224 (default: opt)")
    p.add_argument("--feed", action="append", help=FEED_HELP)
    p.add_argument("--seed", type=_count(0), default=0)
    p.add_argument("--twin", help="the torch twin, 'package.module:Class' or 'file.py:Class', run eagerly on the GPU")
    p.add_argument("--weights", help="weights file for the twin (.wts, .safetensors, torch checkpoint)")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--force", action="store_true", help="replace an existing --json file")
    _runtime_args(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("inspect", help="list a model's layers (name, type, shapes, dtypes) or an engine's metadata")
    _model_args(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("parity", help="compare every module's output with a torch twin's; name the first that differs")
    _model_args(p)
    p.add_argument("--twin", required=True, help="the torch twin, as 'package.module:Class' or 'file.py:Class'")
    p.add_argument("--feed", action="append", help=FEED_HELP)
    p.add_argument("--seed", type=_count(0), default=0)
    p.add_argument("--atol", type=_tolerance, help="absolute tolerance (default by precision: 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--rtol", type=_tolerance, help="relative tolerance (default by precision: 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--engine", action="store_true", help="run a TensorRT engine on this GPU, not the CPU reference")
    p.add_argument("--override", action="append", help="per-module precision, e.g. fc3=fp32 or 'blocks.*.norm=fp32'")
    p.add_argument("--json", help="also write the report as JSON to this file")
    p.add_argument("--force", action="store_true", help="replace an existing --json file")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser(
        "graph", help="draw a model's dataflow: layers, tensors with shapes, collapsible modules (html/svg/onnx)"
    )
    _model_args(p)
    p.add_argument("-o", "--output", required=True, help="net.html (collapsible), net.svg, or net.onnx (for Netron)")
    p.add_argument("--parity", help="a `netdef parity --json` report to overlay (first divergent module highlighted)")
    p.add_argument("--with-weights", action="store_true", help="put weight values into the .onnx file")
    p.add_argument(
        "--collapse",
        action="append",
        metavar="MODULE",
        help="draw this module as one node (repeatable; default: the deeper modules of a large network)",
    )
    p.add_argument("--expand-all", action="store_true", help="draw every module expanded, however large")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument(
        "--netron", action="store_true", help="then open the .onnx in Netron (needs `pip install netron`; Ctrl-C ends)"
    )
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("triton", help="write a Triton Inference Server model repository entry for an engine")
    p.add_argument("engine", help="a netdef engine (its .json metadata beside it)")
    p.add_argument("--repository", required=True, help="the model repository folder (created if missing)")
    p.add_argument("--name", required=True, help="the model's name in the repository")
    p.add_argument(
        "--max-batch-size", type=_count(0), default=0, help="Triton batching along a dynamic first dim (0: off)"
    )
    p.add_argument("--dynamic-batching", action="store_true", help="let Triton merge requests (needs --max-batch-size)")
    p.add_argument("--instances", type=_count(1), default=1, help="model instances per GPU")
    p.add_argument("--backend", help="a Triton backend name instead of platform tensorrt_plan (e.g. for TensorRT-RTX)")
    p.add_argument(
        "--version", type=_count(1), default=1, help="the model version folder to write, NAME/N/model.plan (default 1)"
    )
    p.add_argument(
        "--force", action="store_true", help="replace that version's model.plan and a config.pbtxt that differs"
    )
    p.set_defaults(func=cmd_triton)

    p = sub.add_parser(
        "doctor", help="what this machine can do: backend, building, GPUs, running engines, buffer providers"
    )
    p.set_defaults(func=cmd_doctor)
    for command_parser in sub.choices.values():  # main() reports stray arguments through the command's parser
        command_parser.set_defaults(command_parser=command_parser)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status: 0 done, 1 a check failed (parity), 2 a usage error."""
    from netdef.progress import silenced

    root = parser()
    try:
        args, unknown = root.parse_known_args(argv)
        if unknown:  # said by the command's parser, so the line reads `netdef CMD: error: ...`
            args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # argparse printed the usage error (status 2) or --help (status 0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with silenced() if args.quiet else contextlib.nullcontext():
            return args.func(args) or 0
    except NetdefError as exc:
        return _error(args.command, str(exc))
    except OSError as exc:  # a file the checks passed but the system refused (read-only, full disk, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(args.command, f"{where}{exc.strerror or exc}")


def _error(command: str, message: str) -> int:
    print(f"netdef {command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
