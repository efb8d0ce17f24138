"""build(): a defined network -> a serialized engine plus its metadata sidecar."""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import time
import types
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from netdef._trt import (
    BACKEND,
    LOGGER,
    NETWORK_FLAGS,
    VERSION,
    builder,
    dtype_to_numpy,
    native_stderr_held,
    show_native_output,
    trt,
)
from netdef._version import __version__
from netdef.cache import EngineCache, cache_key
from netdef.checks import writable_path
from netdef.define import Input, Network, define
from netdef.errors import BuildError, EngineError, NetdefWarning
from netdef.nn.module import Module
from netdef.progress import Line
from netdef.progress import enabled as progress_enabled
from netdef.runtime.device import current_gpu
from netdef.runtime.metadata import METADATA_FORMAT, BuiltEngine, check_replaceable, metadata_path

#: METADATA_FORMAT, BuiltEngine and metadata_path live in netdef.runtime.metadata; re-exported for older imports
__all__ = ["METADATA_FORMAT", "BuildOptions", "BuiltEngine", "build", "check_output", "metadata_path"]

#: TensorRT takes memory sizes as a 64-bit size_t; anything near it is a mistake, not a budget
MAX_WORKSPACE = 1 << 62


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """The options of ``netdef.build`` that decide what the engine is (besides the network), validated once when
    made: a BuildError names the first argument of the wrong type or value. See ``build`` for their meaning.

    ``compute_capabilities`` may be given as one name ('SM86'); it is kept as a tuple. ``target`` (what the
    engine is built for: the compute capabilities on TensorRT-RTX, the GPU here on full TensorRT) is filled in.
    """

    workspace: int | None = None
    optimization_level: int | None = None
    compute_capabilities: tuple[str, ...] = ()
    refit: bool = False
    #: what the engine is built for (filled in: TensorRT-RTX's compute capabilities, or full TensorRT's GPU)
    target: tuple = dataclasses.field(default=(), init=False)
    #: compute capability name -> its SM number (SM89 -> 89; None for a name without one), parsed once
    sm_numbers: Mapping[str, int | None] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        workspace, level, ccs = self.workspace, self.optimization_level, self.compute_capabilities
        if workspace is not None:
            if isinstance(workspace, bool) or not isinstance(workspace, numbers.Real):
                raise BuildError(f"build(): workspace must be a number of bytes (e.g. 1 << 30), got {workspace!r}")
            if not math.isfinite(workspace) or workspace != int(workspace) or not 0 < workspace <= MAX_WORKSPACE:
                raise BuildError(
                    f"build(): workspace={workspace!r} must be a positive number of bytes, whole and at most 2**62 "
                    "(e.g. 1 << 30)"
                )
            object.__setattr__(self, "workspace", int(workspace))
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, numbers.Integral) or not 0 <= level <= 5
        ):
            raise BuildError(f"build(): optimization_level={level!r} must be an int 0..5 (TensorRT's default is 3)")
        ccs = (ccs,) if isinstance(ccs, str) else ccs
        if not isinstance(ccs, Sequence) or not all(isinstance(cc, str) for cc in ccs):
            raise BuildError(
                f"build(): compute_capabilities must be names such as ('SM86', 'SM89'), got {self.compute_capabilities!r}"
            )
        ccs = tuple(ccs)
        if not isinstance(self.refit, bool):
            raise BuildError(f"build(): refit must be True or False, got {self.refit!r}")
        if ccs and not hasattr(trt, "ComputeCapability"):
            raise BuildError(
                f"compute_capabilities is a TensorRT-RTX option; the {BACKEND} backend builds for this GPU"
            )
        for cc in ccs:
            if cc not in trt.ComputeCapability.__members__:
                raise BuildError(
                    f"unknown compute capability {cc!r}; use {', '.join(trt.ComputeCapability.__members__)}"
                )
        object.__setattr__(self, "compute_capabilities", ccs)
        parsed = {cc: int(cc[2:]) if cc[:2] == "SM" and cc[2:].isdigit() else None for cc in ccs}
        object.__setattr__(self, "sm_numbers", types.MappingProxyType(parsed))
        target: tuple = ccs
        if BACKEND != "tensorrt_rtx":  # full TensorRT builds for the GPU it runs on
            gpu = current_gpu()
            target = (gpu.name, *gpu.compute_capability) if gpu else ("no GPU",)
        object.__setattr__(self, "target", target)

    def key(self, network: Network) -> dict[str, Any]:
        """Everything besides the network's layers and weights that decides the engine built from ``network``:
        what the engine cache keys on (with the network's fingerprint)."""
        return {
            "backend": BACKEND,
            "backend_version": VERSION,
            "netdef_version": __version__,
            "precision": network.precision,
            "workspace": self.workspace,
            "optimization_level": self.optimization_level,
            "compute_capabilities": list(self.compute_capabilities),
            "target": list(self.target),
            "refit": self.refit,
            "profiles": _profiles(network),
        }

    def config(self, network: Network) -> trt.IBuilderConfig:
        """The builder config of these options and ``network``'s optimization profiles."""
        config = builder().create_builder_config()
        if self.workspace is not None:
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.workspace)
        if self.optimization_level is not None:
            config.builder_optimization_level = int(self.optimization_level)
        if self.compute_capabilities:
            config.num_compute_capabilities = len(self.compute_capabilities)
            for i, cc in enumerate(self.compute_capabilities):
                config.set_compute_capability(trt.ComputeCapability.__members__[cc], i)
        if self.refit:
            config.set_flag(trt.BuilderFlag.REFIT)
        profiles = _profiles(network)
        for k in range(max((len(p) for p in profiles.values()), default=0)):
            profile = builder().create_optimization_profile()
            for name, triples in profiles.items():
                profile.set_shape(name, *triples[k])
            config.add_optimization_profile(profile)
        return config


def _profiles(network: Network) -> dict[str, list]:
    """Dynamic input name -> its optimization profiles; BuildError unless every one has as many."""
    profiles = {name: spec.all_profiles for name, spec in network.inputs.items() if spec.is_dynamic}
    if len({len(p) for p in profiles.values()}) > 1:
        raise BuildError("every dynamic input needs the same number of optimization profiles")
    return profiles


def check_output(
    output: str | os.PathLike, *, force: bool = False, inputs: Sequence[str | os.PathLike | None] = ()
) -> None:
    """Raise BuildError if writing an engine to ``output`` (and ``<output>.json``) would destroy data.

    ``output`` must not be one of ``inputs`` (the files this run reads), and must be a netdef engine or not
    exist, unless ``force`` (never a folder).
    """
    if not os.fspath(output):
        raise BuildError("output='' is not a path: pass the engine file to write, e.g. output='model.engine'")
    targets = [Path(output), metadata_path(output)]
    for given in inputs:
        if given is None or not os.path.exists(given):
            continue
        for target in targets:
            if target.exists() and os.path.samefile(given, target):
                raise BuildError(f"output {output} would overwrite {given}, an input of this run: choose another path")
    try:
        check_replaceable(output, force)
    except EngineError as exc:
        raise BuildError(f"output: {exc}") from None


def _check_destination(output, cache, force) -> None:
    """BuildError, before any work, for an ``output`` the build could not write or would destroy data at, a
    ``cache`` that is no folder, or a ``force`` that is no bool."""
    if not isinstance(force, bool):
        raise BuildError(f"build(): force must be True or False, got {force!r}")
    if cache is not None and not isinstance(cache, (bool, str, os.PathLike)):
        raise BuildError(f"build(): cache must be True, False or a folder, got {cache!r}")
    if output is not None:
        if not isinstance(output, (str, os.PathLike)):
            raise BuildError(f"build(): output must be a file path, got {output!r}")
        if os.fspath(output):  # '' is refused by check_output, saying so
            writable_path(output, "build(): output", BuildError)
        check_output(output, force=force)


def build(
    model: Module | Network,
    inputs: Mapping[str, Input] | None = None,
    *,
    precision: str | None = None,
    workspace: int | None = None,
    output: str | os.PathLike | None = None,
    optimization_level: int | None = None,
    compute_capabilities: Sequence[str] = (),
    refit: bool = False,
    cache: bool | str | os.PathLike | None = None,
    force: bool = False,
    progress: bool | trt.IProgressMonitor | None = None,
) -> BuiltEngine:
    """Build a serialized engine from a netdef model (with ``inputs``) or an already defined Network.

    ``precision`` ('fp32' by default, 'fp16', 'bf16') is for a model; a Network keeps the one it was defined
    with. ``workspace`` caps TensorRT's scratch memory in bytes; ``compute_capabilities`` (TensorRT-RTX only,
    e.g. ``("SM86", "SM89")``) picks target GPUs; ``output`` writes ``<output>`` and ``<output>.json``.
    ``refit=True`` makes the engine's weights replaceable later (``netdef refit``). ``cache`` (True for the
    default folder, or a folder) returns a previously built engine whose content key matches; a cache folder
    that cannot be read or written gives a NetdefWarning and the build goes on without it. ``force`` rebuilds
    anyway, and lets ``output`` replace a file that is not a netdef engine (by default that is an error, raised
    before building). Engines run only with the TensorRT backend and version that built them, on the GPUs
    they target. ``progress`` shows TensorRT's build phases on a terminal (None: when stderr is a TTY and
    ``NETDEF_QUIET`` is unset; or pass your own ``trt.IProgressMonitor``).
    """
    options = BuildOptions(workspace, optimization_level, compute_capabilities, refit)
    _check_destination(output, cache, force)
    if isinstance(model, Network):
        if inputs is not None:
            raise BuildError("pass inputs to netdef.define(), not to build(), when building a Network")
        if precision is not None and precision != model.precision:
            raise BuildError(
                f"this Network was defined in {model.precision}; precision={precision!r} cannot change it: "
                "pass precision to netdef.define(), or build the model itself with build(model, inputs, precision=...)"
            )
        network = model
    else:
        if inputs is None:
            raise BuildError("build(model) needs inputs={'x': netdef.Input(shape)} to define the network")
        network = define(model, inputs, precision=precision or "fp32")

    store = key = None
    if cache:
        store = EngineCache(None if cache is True else cache)
        key = cache_key(network.network, options.key(network), network.named_weights)
        hit = None
        if not force:
            try:
                hit = store.get(key)
            except (OSError, EngineError) as exc:
                _unusable(store, exc)
                store = None  # said once; do not try to write there either
        if hit is not None:
            if output is not None:
                hit.save(output, force=force)
            return hit

    _layer_support(network)
    notes = _precision_support(network, options)
    config = options.config(network)
    start = time.perf_counter()
    # a failed build's errors, logged or printed by TensorRT's native code, go into the one BuildError
    with LOGGER.holding_errors() as mark, native_stderr_held() as printed:
        monitor = _monitor(progress, network.model_name, printed.terminal)
        if monitor is not None:
            config.progress_monitor = monitor  # the local keeps it alive while TensorRT calls it
        serialized = _serialize(network.network, config)
    seconds = time.perf_counter() - start
    if serialized is None:
        problems = "; ".join([printed.text] * bool(printed.text) + LOGGER.errors_since(mark))
        problems = problems or "the builder returned no engine"
        if options.refit and BACKEND == "tensorrt_rtx" and current_gpu() is None:
            raise BuildError(
                f"TensorRT could not build {network.model_name} as a refittable engine: TensorRT-RTX builds one only "
                "on a machine with a GPU it supports, and this machine has none. Build without refit=True (--refit) "
                f"here, or build on the GPU that will run the engine. (TensorRT said: {problems})"
            )
        raise BuildError(f"TensorRT could not build {network.model_name}: {problems}")
    LOGGER.release(mark)
    show_native_output(printed)
    data = memoryview(serialized).cast("B")  # the builder's buffer itself, no copy (kept alive by the view)
    # the weights' digest is computed once per bound weight set (Network.weights_digest): a rebuild reuses it
    metadata = _metadata(
        network, data, network.weights_digest, seconds, options, notes, key if store is not None else None
    )
    built = BuiltEngine(data=data, metadata=metadata)
    # the plan is hashed once: while the first copy of it is written (the cache's or output's), else here;
    # every later write and the metadata reuse that digest
    if store is not None:
        try:
            store.put(key, built)
        except (OSError, EngineError) as exc:
            _unusable(store, exc)
    if output is not None:
        built.save(output, force=force)
    metadata["engine_sha256"] = built.sha256()
    return built


@functools.cache
def backend_builds(layer_type: str) -> bool:
    """Whether this backend's builder can build a layer of ``trt.LayerType.<layer_type>`` (only 'NMS' and
    'NON_ZERO' are probed).

    Measured, not looked up: a one-layer probe network is built beside a control network without the layer
    (TensorRT-RTX 1.7: "NMS has no runners that implement it", and the same for NON_ZERO).
    """
    if layer_type not in ("NMS", "NON_ZERO"):
        return True
    import numpy as np

    def probe(with_layer: bool) -> bool:
        net = builder().create_network(NETWORK_FLAGS)
        boxes = net.add_input("boxes", trt.float32, (1, 2, 4))
        scores = net.add_input("scores", trt.float32, (1, 2, 1))
        if with_layer and layer_type == "NMS":
            limit = net.add_constant((), trt.Weights(np.ones((), np.int32)))
            out = net.add_nms(boxes, scores, limit.get_output(0)).get_output(0)
        elif with_layer:
            out = net.add_non_zero(boxes).get_output(0)
        else:
            out = net.add_elementwise(boxes, boxes, trt.ElementWiseOperation.SUM).get_output(0)
            net.mark_output(net.add_reduce(scores, trt.ReduceOperation.SUM, 1, False).get_output(0))
        net.mark_output(out)
        return builder().build_serialized_network(net, builder().create_builder_config()) is not None

    with LOGGER.quiet():  # the probe's failure is expected
        return probe(True) or not probe(False)  # a builder that builds nothing here says nothing about the layer


def _layer_support(network: Network) -> None:
    """Refuse, before building, a network with a layer this backend's builder has no runner for."""
    for i in range(network.network.num_layers):
        layer = network.network.get_layer(i)
        if layer.type.name == "NMS" and not backend_builds("NMS"):
            raise BuildError(
                f"layer `{layer.name}` is an INMSLayer, and this backend ({BACKEND} {VERSION}) has no runner for "
                "NMS: build the network up to its boxes and scores, and run netdef.detection.nms (same "
                "semantics, numpy or torch, CPU or GPU) on the engine's outputs; or build with full TensorRT "
                "(NETDEF_BACKEND=tensorrt). netdef.reference.run executes the whole network, NMS included."
            )
        if layer.type.name == "NON_ZERO" and not backend_builds("NON_ZERO"):
            raise BuildError(
                f"layer `{layer.name}` is an INonZeroLayer (from bool-mask indexing x[mask], whose size is known "
                f"only at run time), and this backend ({BACKEND} {VERSION}) has no runner for NON_ZERO: keep the "
                "shape fixed with F.where(mask, x, 0) / x.masked_fill(~mask, 0) (or a masked sum), return the mask "
                "and select on the host, or build with full TensorRT (NETDEF_BACKEND=tensorrt). "
                "netdef.reference.run executes the whole network, x[mask] included."
            )


def _unusable(store: EngineCache, problem: Exception) -> None:
    """An engine cache folder that cannot be read or written is a NetdefWarning; the build goes on without it."""
    warnings.warn(
        f"engine cache {store.directory} is unusable ({problem}); building without it "
        "(pass another folder as cache=..., or set NETDEF_CACHE_DIR)",
        NetdefWarning,
        stacklevel=3,
    )


def _precision_support(network: Network, options: BuildOptions) -> list[str]:
    """Refuse what the target cannot run; return (and print) notes on what it runs differently."""
    quant = network.quantization
    notes: list[str] = []
    if not quant:
        return notes
    if quant["dtype"] == "fp8":
        old = [cc for cc, sm in options.sm_numbers.items() if sm is not None and sm < 89]
        target = options.target
        if BACKEND != "tensorrt_rtx" and len(target) == 3 and tuple(target[1:]) < (8, 9):
            old.append(f"{target[0]} (compute capability {target[1]}.{target[2]})")
        if old:
            raise BuildError(f"FP8 needs compute capability 8.9 or newer; the build targets {', '.join(old)}")
        notes.append("FP8 Q/DQ runs only on GPUs of compute capability 8.9 or newer (Ada, Hopper, Blackwell)")
    if quant["dtype"] == "int8" and BACKEND == "tensorrt_rtx" and not quant["weights_only"]:
        notes.append(
            "TensorRT-RTX supports INT8 only as weight-only GEMM quantization; this engine also quantizes "
            "activations, which its builder accepts but an RTX GPU may not run as INT8 kernels: use "
            "weights_only=True for TensorRT-RTX, or full TensorRT for INT8 activations"
        )
    for note in notes:
        warnings.warn(note, NetdefWarning, stacklevel=3)
    return notes


def _monitor(progress, name: str, stream: IO[str]) -> trt.IProgressMonitor | None:
    if isinstance(progress, trt.IProgressMonitor):
        return progress
    if progress or (progress is None and progress_enabled(stream)):
        return BuildProgress(name, stream)
    return None


def _serialize(network: trt.INetworkDefinition, config: trt.IBuilderConfig):
    """The one call into TensorRT's builder."""
    return builder().build_serialized_network(network, config)


def _metadata(
    network: Network,
    data: memoryview,
    weights_sha256: str,
    seconds: float,
    options: BuildOptions,
    notes: list[str],
    cache_key: str | None,
) -> dict:
    """The engine's metadata (its sidecar), all of it but ``engine_sha256`` (added by whoever hashes the plan
    first: ``write_engine`` while writing it, or ``build``): ``notes`` are the build's warnings on precision
    support, ``cache_key`` the engine cache's key when the engine went into a cache."""
    net = network.network
    outputs = []
    for i in range(net.num_outputs):
        t = net.get_output(i)
        outputs.append({"name": t.name, "shape": list(t.shape), "dtype": str(dtype_to_numpy(t.dtype))})
    metadata = {
        "format": METADATA_FORMAT,
        "netdef_version": __version__,
        "backend": BACKEND,
        "backend_version": VERSION,
        "model": network.model_name,
        "precision": network.precision,
        # lists, not tuples: the in-memory metadata is exactly what the sidecar holds
        "inputs": {
            name: {k: list(v) if isinstance(v, tuple) else v for k, v in spec.to_json().items()}
            for name, spec in network.inputs.items()
        },
        "outputs": outputs,
        "weights_sha256": weights_sha256,
        "engine_bytes": len(data),
        "compute_capabilities": list(options.compute_capabilities),
        "refittable": options.refit,
        "build_seconds": round(seconds, 3),
        "note": "an engine runs only with the TensorRT backend and version that built it, on the GPUs it targets",
        "warnings": notes,
        "quantization": network.quantization,
    }
    if cache_key is not None:
        metadata["cache_key"] = cache_key
    return metadata


class BuildProgress(trt.IProgressMonitor):
    """TensorRT's build phases as one line: ``building NAME: phase > subphase  step/steps``."""

    def __init__(self, name: str, stream: IO[str] | None = None) -> None:
        trt.IProgressMonitor.__init__(self)
        self.name = name
        self.line = Line(stream)
        #: phase name -> [step, steps]; insertion order is nesting order
        self.phases: dict[str, list[int]] = {}
        #: every phase TensorRT started, in order (what tests and logs can look at)
        self.started: list[str] = []

    def _draw(self, force: bool = False) -> None:
        parts = [f"{p} {s}/{n}" if n else p for p, (s, n) in self.phases.items()]
        self.line.show(f"building {self.name}: " + " > ".join(parts), force)

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        self.phases[phase_name] = [0, num_steps]
        self.started.append(phase_name)
        self._draw(force=parent_phase is None)

    def step_complete(self, phase_name: str, step: int) -> bool:
        if phase_name in self.phases:
            self.phases[phase_name][0] = step + 1
        self._draw()
        return True  # never cancel the build

    def phase_finish(self, phase_name: str) -> None:
        self.phases.pop(phase_name, None)
        if not self.phases:
            self.line.close()
