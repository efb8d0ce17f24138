"""build(): a defined network -> a serialized engine plus its metadata sidecar."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from netdef._trt import BACKEND, LOGGER, VERSION, builder, dtype_to_numpy, trt
from netdef._version import __version__
from netdef.define import Input, Network, define
from netdef.errors import BuildError
from netdef.nn.module import Module
from netdef.weights.io import atomic_write

METADATA_FORMAT = "netdef-engine/1"


def metadata_path(engine_path: str | os.PathLike) -> Path:
    """Where the sidecar of ``engine_path`` lives: ``<engine>.json``."""
    return Path(str(engine_path) + ".json")


@dataclass
class BuiltEngine:
    """A serialized engine and the facts needed to load it safely."""

    data: bytes
    metadata: dict
    path: Path | None = None

    def save(self, path: str | os.PathLike) -> Path:
        """Write the engine and its sidecar atomically (a failed write leaves old files intact)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as f:
            f.write(self.data)
        with atomic_write(metadata_path(path), "w") as f:
            json.dump(self.metadata, f, indent=2)
            f.write("\n")
        self.path = path
        return path


def build(
    model: Module | Network,
    inputs: Mapping[str, Input] | None = None,
    *,
    precision: str = "fp32",
    workspace: int | None = None,
    output: str | os.PathLike | None = None,
    optimization_level: int | None = None,
    compute_capabilities: Sequence[str] = (),
) -> BuiltEngine:
    """Build a serialized engine from a netdef model (with ``inputs``) or an already defined Network.

    ``workspace`` caps TensorRT's scratch memory in bytes; ``compute_capabilities`` (TensorRT-RTX only,
    e.g. ``("SM86", "SM89")``) picks target GPUs; ``output`` writes ``<output>`` and ``<output>.json``.
    Engines run only with the TensorRT backend and version that built them, on the GPUs they target.
    """
    if isinstance(model, Network):
        if inputs is not None:
            raise BuildError("pass inputs to netdef.define(), not to build(), when building a Network")
        network = model
    else:
        if inputs is None:
            raise BuildError("build(model) needs inputs={'x': netdef.Input(shape)} to define the network")
        network = define(model, inputs, precision=precision)

    config = builder().create_builder_config()
    if workspace is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace))
    if optimization_level is not None:
        config.builder_optimization_level = int(optimization_level)
    if compute_capabilities:
        if not hasattr(trt, "ComputeCapability"):
            raise BuildError(
                f"compute_capabilities is a TensorRT-RTX option; the {BACKEND} backend builds for this GPU"
            )
        config.num_compute_capabilities = len(compute_capabilities)
        for i, cc in enumerate(compute_capabilities):
            if cc not in trt.ComputeCapability.__members__:
                raise BuildError(
                    f"unknown compute capability {cc!r}; use {', '.join(trt.ComputeCapability.__members__)}"
                )
            config.set_compute_capability(trt.ComputeCapability.__members__[cc], i)
    dynamic = {name: spec for name, spec in network.inputs.items() if spec.is_dynamic}
    if dynamic:
        profile = builder().create_optimization_profile()
        for name, spec in dynamic.items():
            profile.set_shape(name, spec.min, spec.opt, spec.max)
        config.add_optimization_profile(profile)

    mark = len(LOGGER.messages)
    start = time.perf_counter()
    serialized = builder().build_serialized_network(network.network, config)
    seconds = time.perf_counter() - start
    if serialized is None:
        problems = "; ".join(LOGGER.errors_since(mark)) or "the builder returned no engine"
        raise BuildError(f"TensorRT could not build {network.model_name}: {problems}")
    data = bytes(serialized)
    built = BuiltEngine(data=data, metadata=_metadata(network, data, seconds, compute_capabilities))
    if output is not None:
        built.save(output)
    return built


def _metadata(network: Network, data: bytes, seconds: float, ccs: Sequence[str]) -> dict:
    net = network.network
    outputs = []
    for i in range(net.num_outputs):
        t = net.get_output(i)
        outputs.append({"name": t.name, "shape": list(t.shape), "dtype": str(dtype_to_numpy(t.dtype))})
    return {
        "format": METADATA_FORMAT,
        "netdef_version": __version__,
        "backend": BACKEND,
        "backend_version": VERSION,
        "model": network.model_name,
        "precision": network.precision,
        "inputs": {name: spec.to_json() for name, spec in network.inputs.items()},
        "outputs": outputs,
        "weights_sha256": network.weights_digest,
        "engine_sha256": hashlib.sha256(data).hexdigest(),
        "engine_bytes": len(data),
        "compute_capabilities": list(ccs),
        "build_seconds": round(seconds, 3),
        "note": "an engine runs only with the TensorRT backend and version that built it, on the GPUs it targets",
    }
