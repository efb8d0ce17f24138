"""Triton Inference Server model repositories from netdef engines (``config.pbtxt`` + ``1/model.plan``)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from netdef.errors import NetdefError, NetdefWarning
from netdef.runtime.metadata import read_engine

#: numpy dtype name (as the engine metadata records it) -> Triton's ModelConfig DataType
TRITON_DTYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float16": "TYPE_FP16",
    "float32": "TYPE_FP32",
    "bfloat16": "TYPE_BF16",
}

RTX_NOTE = (
    "this engine was built by TensorRT-RTX: Triton's standard TensorRT backend (platform tensorrt_plan) cannot "
    "deserialize it; serve it with a Triton backend built against TensorRT-RTX (pass its name with --backend), "
    "or rebuild the engine with full TensorRT for the server's GPU"
)


@dataclass(frozen=True)
class TritonTensor:
    """One input or output as Triton declares it."""

    name: str
    data_type: str
    dims: tuple[int, ...]


def _tensor(name: str, dtype: str, shape: list[int], batched: bool, where: str) -> TritonTensor:
    if dtype not in TRITON_DTYPES:
        raise NetdefError(f"{where} {name!r} has dtype {dtype}, which Triton's model config cannot declare")
    dims = tuple(int(d) for d in shape)
    if batched:
        if not dims or dims[0] != -1:
            raise NetdefError(
                f"{where} {name!r} has shape {list(dims)}: with --max-batch-size its first dim must be the dynamic "
                "batch dim (-1); build with a dynamic batch, or leave --max-batch-size at 0"
            )
        dims = dims[1:]
    return TritonTensor(name, TRITON_DTYPES[dtype], dims)


def model_config(
    meta: dict,
    name: str,
    max_batch_size: int = 0,
    dynamic_batching: bool = False,
    instances: int = 1,
    backend: str | None = None,
) -> str:
    """The ``config.pbtxt`` text for an engine described by its netdef metadata."""
    if not name or "/" in name or name in (".", ".."):
        raise NetdefError(f"model name {name!r}: give a plain directory name (letters, digits, '_', '-')")
    if max_batch_size < 0 or instances < 1:
        raise NetdefError(f"need --max-batch-size >= 0 and --instances >= 1, got {max_batch_size} and {instances}")
    if dynamic_batching and max_batch_size == 0:
        raise NetdefError("--dynamic-batching needs --max-batch-size N > 0 (Triton batches along the first dim)")
    batched = max_batch_size > 0
    inputs = []
    profile_count = 1
    for input_name, spec in meta["inputs"].items():
        inputs.append(_tensor(input_name, spec["dtype"], spec["shape"], batched, "input"))
        profiles = [(spec["min"], spec["opt"], spec["max"]), *spec.get("profiles", [])] if spec.get("max") else []
        profile_count = max(profile_count, len(profiles))
        for k, (_, _, hi) in enumerate(profiles):
            if batched and hi[0] < max_batch_size:
                raise NetdefError(
                    f"input {input_name!r}: optimization profile {k} allows batch {hi[0]} at most, less than "
                    f"--max-batch-size {max_batch_size}; lower it or rebuild with a larger max= batch"
                )
    outputs = [_tensor(o["name"], o["dtype"], o["shape"], batched, "output") for o in meta["outputs"]]

    lines = [f'name: "{name}"']
    if backend:
        lines.append(f'backend: "{backend}"')
    else:
        lines.append('platform: "tensorrt_plan"')
    lines.append(f"max_batch_size: {max_batch_size}")
    for key, tensors in (("input", inputs), ("output", outputs)):
        entries = [
            f'  {{\n    name: "{t.name}"\n    data_type: {t.data_type}\n    dims: [ {", ".join(map(str, t.dims))} ]\n  }}'
            for t in tensors
        ]
        lines.append(f"{key} [\n" + ",\n".join(entries) + "\n]")
    if dynamic_batching:
        lines.append("dynamic_batching { }")
    profiles = ", ".join(f'"{k}"' for k in range(profile_count))
    lines.append(
        f"instance_group [\n  {{\n    kind: KIND_GPU\n    count: {instances}\n"
        + (f"    profile: [ {profiles} ]\n" if profile_count > 1 else "")
        + "  }\n]"
    )
    return "\n".join(lines) + "\n"


def write_model_repository(
    engine: str | os.PathLike,
    repository: str | os.PathLike,
    name: str,
    max_batch_size: int = 0,
    dynamic_batching: bool = False,
    instances: int = 1,
    backend: str | None = None,
    version: int = 1,
) -> Path:
    """Write ``repository/name/config.pbtxt`` and ``repository/name/<version>/model.plan``; return the model dir.

    The engine is checked against its metadata first. A TensorRT-RTX engine gets a NetdefWarning (``RTX_NOTE``)
    unless ``backend`` names the Triton backend that serves it.
    """
    from netdef._io import atomic_write

    data, meta = read_engine(engine)
    config = model_config(meta, name, max_batch_size, dynamic_batching, instances, backend)
    if meta.get("backend") == "tensorrt_rtx" and backend is None:
        warnings.warn(RTX_NOTE, NetdefWarning, stacklevel=2)
    if version < 1:
        raise NetdefError(f"model version {version}: Triton versions are positive integers")
    model_dir = Path(repository) / name
    if model_dir.exists() and not model_dir.is_dir():
        raise NetdefError(f"{model_dir} exists and is not a directory; choose another --repository or --name")
    try:
        (model_dir / str(version)).mkdir(parents=True, exist_ok=True)
        with atomic_write(model_dir / str(version) / "model.plan") as f:
            f.write(data)
        with atomic_write(model_dir / "config.pbtxt", "w") as f:
            f.write(config)
    except OSError as exc:
        raise NetdefError(f"cannot write the model repository at {model_dir}: {exc.strerror or exc}") from None
    return model_dir
