"""Engine cache keyed by content: the network's structure and weights, build options, backend, target."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from netdef._trt import LOGGER, dtype_to_numpy, layer_classes, trt
from netdef.errors import BuildError, EngineError, NetdefError
from netdef.runtime.metadata import BuiltEngine, read_engine

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

#: objects a layer attribute may hold that stand for a part of the network (a loop, a conditional, an
#: attention); they are keyed by their own settings
_PARTS = ("ILoop", "IIfConditional", "IAttention")


#: bits per value of weight dtypes numpy has no type for: their array holds the packed bytes TensorRT reads
_PACKED_BITS = {"FP8": 8, "E8M0": 8, "INT4": 4, "FP4": 4}


def default_dir() -> Path:
    """``$NETDEF_CACHE_DIR``, else ``~/.cache/netdef/engines``."""
    return Path(os.environ.get("NETDEF_CACHE_DIR") or Path.home() / ".cache" / "netdef" / "engines")


@functools.cache
def _parts() -> tuple[type, ...]:
    return tuple(getattr(trt, n) for n in _PARTS if hasattr(trt, n))


def _array_digest(arr: np.ndarray) -> str:
    data = np.ascontiguousarray(arr).view(np.uint8).data  # the buffer itself: no bytes copy
    return hashlib.sha256(data).hexdigest() + f"{arr.dtype}{arr.shape}"


class _Layer:
    """Reads one layer's attributes into hashable values; ``named`` supplies the weights TensorRT cannot hand back."""

    def __init__(self, layer: trt.ILayer, named: Mapping[str, np.ndarray] | None) -> None:
        self.layer, self.named = layer, named

    def attributes(self, obj, skip=_SKIP) -> list:
        """(name, value) for every public non-method attribute of ``obj`` (an unset optional one is '<unset>')."""
        out = []
        for attr in sorted(a for a in dir(type(obj)) if not a.startswith("_") and a not in skip):
            try:
                value = getattr(obj, attr)
            except Exception:  # unset optional attributes raise
                out.append((attr, "<unset>"))
                continue
            if not callable(value):
                out.append((attr, self.value(value, attr)))
        return out

    def value(self, v, attr: str):
        if isinstance(v, np.ndarray):
            return _array_digest(v)
        if isinstance(v, (bool, int, float, str)) or v is None:
            return v
        if hasattr(v, "name") and hasattr(v, "value"):  # pybind enums
            return v.name
        if isinstance(v, trt.Weights):
            return self.weights(v, attr)
        if isinstance(v, trt.ITensor):
            return ["tensor", v.name]
        if isinstance(v, _parts()):  # its name too: which loop or conditional a boundary layer belongs to
            return [type(v).__name__, self.attributes(v, skip={"metadata"})]
        try:
            return [self.value(x, attr) for x in v]
        except TypeError:
            text = repr(v)
        if " at 0x" in text:  # an object whose content cannot be read: never left out of the key
            raise BuildError(
                f"the engine cache cannot key layer `{self.layer.name}` ({self.layer.type.name}): its `{attr}` "
                f"is a {type(v).__name__} netdef cannot read; build without cache="
            )
        return text

    def weights(self, w: trt.Weights, attr: str) -> str:
        """The digest of weights TensorRT's Python API cannot hand back as an array (BF16, FP8, INT4...): the
        array netdef gave it, found by its refit name ``<layer>.<attr>`` or ``<layer>`` (``EmitContext.weights``)."""
        if w.size == 0:
            return f"empty {w.dtype.name}"
        try:
            dtype = dtype_to_numpy(w.dtype)
        except NetdefError:  # no numpy dtype (FP8, INT4, FP4...): the array must hold the bytes TensorRT reads
            dtype = None
        bits = _PACKED_BITS.get(w.dtype.name)
        name = self.layer.name
        for key in (f"{name}.{attr}", name):
            arr = (self.named or {}).get(key)
            if arr is None:
                continue
            if (dtype is not None and arr.size == w.size and arr.dtype == dtype) or (
                dtype is None and bits is not None and arr.nbytes == (w.size * bits + 7) // 8
            ):
                return f"{w.dtype.name} {_array_digest(arr)}"
        given = "the named_weights given hold" if self.named else "no named_weights were given, so there is"
        raise BuildError(
            f"the engine cache cannot key layer `{name}` ({self.layer.type.name}): TensorRT's Python API cannot "
            f"hand back its {w.dtype.name} `{attr}` ({w.size} values), and {given} no array `{name}.{attr}` or "
            f"`{name}` of that size; pass the netdef Network's named_weights (build(network, cache=...) does), "
            "or build without cache="
        )


def network_fingerprint(network: trt.INetworkDefinition, named_weights: Mapping[str, np.ndarray] | None = None) -> str:
    """sha256 over every layer's name, type, connections, output shapes/dtypes, attributes and weights.

    Weights TensorRT's Python API cannot hand back (BF16, FP8, INT4...) are read from ``named_weights``
    (refit name -> array, a netdef ``Network.named_weights``); one found in neither place is a BuildError.
    """
    h = hashlib.sha256()
    classes = layer_classes()
    for i in range(network.num_inputs):
        t = network.get_input(i)
        h.update(f"in {t.name} {tuple(t.shape)} {t.dtype.name}\n".encode())
    with LOGGER.quiet():  # reading an unset optional attribute makes TensorRT log an error
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            ins = [layer.get_input(j).name if layer.get_input(j) is not None else None for j in range(layer.num_inputs)]
            outs = [(o.name, tuple(o.shape), o.dtype.name) for o in map(layer.get_output, range(layer.num_outputs))]
            h.update(f"{layer.name} {layer.type.name} {ins} {outs}\n".encode())
            cls = classes.get(layer.type.name)
            if cls is None:
                raise BuildError(
                    f"the engine cache cannot key layer `{layer.name}`: netdef does not know the attributes of a "
                    f"{layer.type.name} layer; build without cache="
                )
            layer.__class__ = cls
            for attr, value in _Layer(layer, named_weights).attributes(layer):
                h.update(f" {attr}={value}".encode())
    for i in range(network.num_outputs):
        t = network.get_output(i)
        h.update(f"out {t.name} {t.dtype.name}\n".encode())
    return h.hexdigest()


def cache_key(
    network: trt.INetworkDefinition, options: dict, named_weights: Mapping[str, np.ndarray] | None = None
) -> str:
    """The content key of one build: network fingerprint (see ``network_fingerprint``) + options (which include
    backend and target)."""
    payload = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256((network_fingerprint(network, named_weights) + payload).encode()).hexdigest()


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
        try:  # one stat: a folder that a concurrent put creates between two checks is not "not a directory"
            mode = os.stat(self.directory).st_mode
        except FileNotFoundError:
            return None  # nothing was put yet
        if not stat.S_ISDIR(mode):
            raise NotADirectoryError(f"{self.directory} is not a directory")
        try:
            data, meta = read_engine(path, verify=True)
        except EngineError:
            return None  # missing, or replaced while read and so not matching its sidecar: a miss
        if meta.get("cache_key") != key:
            return None
        # read_engine checked data against meta's sha256: saving it elsewhere does not hash the plan again
        return BuiltEngine(data=data, metadata=meta, path=path, cached=True, engine_sha256=meta["engine_sha256"])

    def put(self, key: str, built: BuiltEngine) -> Path:
        """Store ``built`` under ``key``, replacing any entry as one unit. OSError/EngineError if it cannot."""
        return built.write(self.path(key))  # a plan not hashed yet is hashed while it is written
