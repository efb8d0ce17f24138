"""Engine cache keyed by content: the network's structure and weights, build options, backend, target."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from netdef._trt import trt
from netdef.errors import EngineError
from netdef.runtime.metadata import BuiltEngine, read_engine, write_engine

#: attributes every layer has (read separately) or that describe bindings rather than the computation
_SKIP = {
    "name",
    "type",
    "num_inputs",
    "num_outputs",
    "metadata",
    "num_ranks",
    "get_input",
    "get_output",
    "get_output_type",
    "set_input",
    "set_output_type",
    "output_type_is_set",
    "reset_output_type",
    "precision",
    "reset_precision",
    "precision_is_set",
}


def default_dir() -> Path:
    """``$NETDEF_CACHE_DIR``, else ``~/.cache/netdef/engines``."""
    return Path(os.environ.get("NETDEF_CACHE_DIR") or Path.home() / ".cache" / "netdef" / "engines")


@functools.cache
def _layer_classes() -> dict[str, type]:
    """LayerType name -> concrete I*Layer class (matched by name with underscores ignored)."""
    classes = {n[1:-5].upper(): getattr(trt, n) for n in dir(trt) if n.startswith("I") and n.endswith("Layer")}
    return {t: classes[t.replace("_", "")] for t in trt.LayerType.__members__ if t.replace("_", "") in classes}


def _value(v):
    if isinstance(v, np.ndarray):
        data = np.ascontiguousarray(v).view(np.uint8).data  # the buffer itself: no bytes copy
        return hashlib.sha256(data).hexdigest() + f"{v.dtype}{v.shape}"
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if hasattr(v, "name") and hasattr(v, "value"):  # pybind enums
        return v.name
    try:
        return [_value(x) for x in v]
    except TypeError:
        text = repr(v)
        return None if " at 0x" in text else text


def network_fingerprint(network: trt.INetworkDefinition) -> str:
    """sha256 over every layer's name, type, connections, output shapes/dtypes, attributes and weights."""
    h = hashlib.sha256()
    classes = _layer_classes()
    for i in range(network.num_inputs):
        t = network.get_input(i)
        h.update(f"in {t.name} {tuple(t.shape)} {t.dtype.name}\n".encode())
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        ins = [layer.get_input(j).name if layer.get_input(j) is not None else None for j in range(layer.num_inputs)]
        outs = [(o.name, tuple(o.shape), o.dtype.name) for o in map(layer.get_output, range(layer.num_outputs))]
        h.update(f"{layer.name} {layer.type.name} {ins} {outs}\n".encode())
        cls = classes.get(layer.type.name)
        if cls is None:
            continue
        layer.__class__ = cls
        for attr in sorted(a for a in dir(cls) if not a.startswith("_") and a not in _SKIP):
            try:
                value = getattr(layer, attr)
            except Exception:  # unset optional attributes raise
                continue
            if not callable(value):
                h.update(f" {attr}={_value(value)}".encode())
    for i in range(network.num_outputs):
        t = network.get_output(i)
        h.update(f"out {t.name} {t.dtype.name}\n".encode())
    return h.hexdigest()


def cache_key(network: trt.INetworkDefinition, options: dict) -> str:
    """The content key of one build: network fingerprint + options (which include backend and target)."""
    payload = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256((network_fingerprint(network) + payload).encode()).hexdigest()


class EngineCache:
    """A folder of ``<key>.engine`` + ``<key>.engine.json`` pairs; entries are verified before they are returned.

    Safe for concurrent readers and writers, threads or processes: each entry is replaced as one unit, and a
    reader sees one whole entry (see ``netdef.runtime.metadata``).
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.engine"

    def get(self, key: str) -> BuiltEngine | None:
        """The cached BuiltEngine for ``key``, or None (missing, damaged or built by another TensorRT).

        A damaged entry is left for ``put`` to replace. OSError if the folder cannot be read.
        """
        path = self.path(key)
        if not self.directory.is_dir():
            if self.directory.exists():
                raise NotADirectoryError(f"{self.directory} is not a directory")
            return None
        try:
            data, meta = read_engine(path, verify=True)
        except EngineError:
            return None
        if meta.get("cache_key") != key:
            return None
        return BuiltEngine(data=data, metadata=meta, path=path, cached=True)

    def put(self, key: str, built: BuiltEngine) -> Path:
        """Store ``built`` under ``key``, replacing any entry as one unit. OSError/EngineError if it cannot."""
        return write_engine(self.path(key), built.data, built.metadata)
