"""The one place netdef imports TensorRT.

Picks the installed backend: full TensorRT (``import tensorrt``) or TensorRT-RTX
(``import tensorrt_rtx``). ``NETDEF_BACKEND=tensorrt|tensorrt_rtx`` forces one.
Everything else in netdef uses ``from netdef._trt import trt``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from types import ModuleType

from netdef.errors import NetdefError

BACKENDS = ("tensorrt", "tensorrt_rtx")


def _import_backend() -> tuple[str, ModuleType]:
    wanted = os.environ.get("NETDEF_BACKEND", "").strip()
    if wanted and wanted not in BACKENDS:
        raise NetdefError(f"NETDEF_BACKEND={wanted!r} is not a backend; use one of {', '.join(BACKENDS)}")
    errors = []
    for name in (wanted,) if wanted else BACKENDS:
        try:
            return name, importlib.import_module(name)
        except ImportError as exc:  # pragma: no cover - depends on the machine
            errors.append(f"{name}: {exc}")
    raise NetdefError(
        "no TensorRT backend could be imported ("
        + "; ".join(errors)
        + "). Install TensorRT-RTX with `pip install tensorrt-rtx`, or full TensorRT from NVIDIA's index."
    )


BACKEND, trt = _import_backend()
VERSION: str = trt.__version__

#: ``ILayer.metadata`` of the IGatherLayer that ``F.embedding`` emits: the reference interpreter refuses token ids
#: outside ``[0, num_embeddings)`` there (torch raises; TensorRT's gather wraps negatives and reads zeros beyond)
EMBEDDING_METADATA = "netdef:embedding"

#: TensorRT 11 and TensorRT-RTX are always strongly typed; TensorRT 10 needs the flag.
NETWORK_FLAGS: int = (
    1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")
    else 0
)


class _MessageLog:
    """The last ``keep`` (severity, message) records, numbered by their position in the whole log.

    ``len()`` counts every record ever logged, so a mark taken as ``len(LOGGER.messages)`` stays valid
    after old records are dropped (a list trimmed in place shifts, and new errors fall before the mark).
    """

    def __init__(self, keep: int = 200) -> None:
        self._records: collections.deque[tuple[trt.ILogger.Severity, str]] = collections.deque(maxlen=keep)
        self._total = 0

    def append(self, record: tuple[trt.ILogger.Severity, str]) -> None:
        self._records.append(record)
        self._total += 1

    def since(self, mark: int) -> list[tuple[trt.ILogger.Severity, str]]:
        """The kept records logged at or after position ``mark``."""
        first = self._total - len(self._records)
        return list(self._records)[max(mark - first, 0) :]

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[tuple[trt.ILogger.Severity, str]]:
        return iter(self._records)


#: where TensorRT's log lines go; configure it with the ``logging`` module (its records are unformatted text)
_log = logging.getLogger("netdef.tensorrt")

_LEVELS = {"INTERNAL_ERROR": logging.CRITICAL, "ERROR": logging.ERROR, "WARNING": logging.WARNING, "INFO": logging.INFO}


class _Logger(trt.ILogger):
    """Sends TensorRT's messages to the ``netdef.tensorrt`` logger and keeps its warnings and errors, so that
    netdef can attach them to its own errors."""

    def __init__(self) -> None:
        trt.ILogger.__init__(self)
        self.messages = _MessageLog()
        self._quiet = threading.local()

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        level = _LEVELS.get(severity.name, logging.DEBUG)  # VERBOSE
        if level >= logging.WARNING:  # INFO/VERBOSE would crowd the errors netdef attaches out of the log
            self.messages.append((severity, msg))
        held = level >= logging.ERROR and getattr(self._quiet, "errors", False)
        if _log.isEnabledFor(level) and not getattr(self._quiet, "on", False) and not held:
            _log.log(level, "%s", msg)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Keep collecting this thread's messages but log none (e.g. builds whose failure is expected)."""
        before, self._quiet.on = getattr(self._quiet, "on", False), True
        try:
            yield
        finally:
            self._quiet.on = before

    @contextlib.contextmanager
    def holding_errors(self) -> Iterator[int]:
        """Collect this thread's errors without logging them; yields the mark to pass to ``errors_since``
        (for a call whose failure netdef reports in one error) or ``release`` (when the call succeeded)."""
        before, self._quiet.errors = getattr(self._quiet, "errors", False), True
        try:
            yield len(self.messages)
        finally:
            self._quiet.errors = before

    def release(self, mark: int) -> None:
        """Log the errors held since ``mark``: the call that raised them succeeded all the same."""
        for message in self.errors_since(mark):
            _log.error("%s", message)

    def errors_since(self, mark: int) -> list[str]:
        """Error messages logged after ``mark`` (a previous ``len(messages)``)."""
        bad = (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR)
        return [m for s, m in self.messages.since(mark) if s in bad]


LOGGER = _Logger()


class NativeOutput:
    """What TensorRT's native code printed to file descriptor 2 inside ``native_stderr_held`` (``text``), and a
    text stream on the real stderr for what must still be shown while it is held (a progress line)."""

    def __init__(self, terminal) -> None:
        self.terminal = terminal
        self.text = ""


@contextlib.contextmanager
def native_stderr_held() -> Iterator[NativeOutput]:
    """Hold what is written to file descriptor 2 (TensorRT's native code prints some failures there, past its
    logger) until the block ends: the caller folds it into its error, or passes it on with ``show_native_output``."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no fd 2 to hold: nothing to fold
        yield NativeOutput(sys.stderr)
        return
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    held = NativeOutput(terminal)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield held
        finally:
            with contextlib.suppress(OSError, AttributeError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            terminal.close()
            sink.seek(0)
            held.text = sink.read().decode("utf-8", "replace").strip()


def show_native_output(held: NativeOutput) -> None:
    """Pass on what ``native_stderr_held`` held, when the call that printed it succeeded all the same."""
    if held.text:
        print(held.text, file=sys.stderr)


_BUILDER = None


def builder() -> trt.Builder:
    """A process-wide Builder (creating one costs tens of milliseconds)."""
    global _BUILDER
    if _BUILDER is None:
        _BUILDER = trt.Builder(LOGGER)
    return _BUILDER


#: layer types whose class name is not the type's name without underscores
_LAYER_CLASS_NAMES = {
    "CONDITIONAL_INPUT": "IIfConditionalInputLayer",
    "CONDITIONAL_OUTPUT": "IIfConditionalOutputLayer",
}


@functools.cache
def layer_classes() -> dict[str, type]:
    """THE table from ``trt.LayerType`` name to its concrete ``I*Layer`` class (matched by name, underscores
    ignored), which ``layer.__class__`` is set to before its attributes are read (the engine cache's fingerprint
    and the reference interpreter both read layers through it). Types without a class (PLUGIN) are absent."""
    classes = {n[1:-5].upper(): getattr(trt, n) for n in dir(trt) if n.startswith("I") and n.endswith("Layer")}
    found = {t: classes[t.replace("_", "")] for t in trt.LayerType.__members__ if t.replace("_", "") in classes}
    found.update({t: getattr(trt, n) for t, n in _LAYER_CLASS_NAMES.items() if hasattr(trt, n)})
    return found


def layer_class(layer_type: str) -> type:
    """The concrete ``I*Layer`` class of ``trt.LayerType.<layer_type>`` (see ``layer_classes``)."""
    found = layer_classes().get(layer_type)
    if found is None:
        raise NetdefError(
            f"{BACKEND} has no layer class for layer type {layer_type!r} (netdef._trt.layer_classes knows "
            f"{len(layer_classes())} types; PLUGIN layers have none)"
        )
    return found


def dtype_to_numpy(dtype: trt.DataType):
    """numpy dtype of a TensorRT DataType (by name, never by integer value)."""
    import numpy as np

    table = {
        "FLOAT": np.float32,
        "HALF": np.float16,
        "INT32": np.int32,
        "INT64": np.int64,
        "INT8": np.int8,
        "UINT8": np.uint8,
        "BOOL": np.bool_,
    }
    if dtype.name == "BF16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(table[dtype.name])
    except KeyError:
        raise NetdefError(f"TensorRT dtype {dtype.name} has no numpy equivalent") from None


def dtype_from_name(name) -> trt.DataType:
    """TensorRT DataType for 'float32', 'float16', 'bfloat16', 'int32', 'int64', 'bool', ... (torch's spellings
    too), a torch dtype (``torch.float16``, read by name: netdef does not import torch), a numpy dtype, or a
    trt.DataType itself."""
    table = {
        "float32": trt.float32,
        "fp32": trt.float32,
        "float": trt.float32,
        "float16": trt.float16,
        "fp16": trt.float16,
        "half": trt.float16,
        "bfloat16": trt.bfloat16,
        "bf16": trt.bfloat16,
        "int32": trt.int32,
        "int": trt.int32,
        "int64": trt.int64,
        "long": trt.int64,
        "int8": trt.int8,
        "uint8": trt.uint8,
        "bool": trt.bool,
    }
    import numpy as np

    if isinstance(name, trt.DataType):
        return name
    text = str(name) if isinstance(name, str) or type(name).__module__ == "torch" else None
    if text is None:  # a numpy dtype or scalar type (np.float16, np.dtype('int64'))
        try:
            text = np.dtype(name).name
        except TypeError:
            text = str(name)
    text = text.removeprefix("torch.")
    if text in ("float64", "double"):
        raise NetdefError(
            f"dtype {name} (float64) does not exist in TensorRT networks; use float32 (torch.float32) instead"
        )
    try:
        return table[text]
    except KeyError:
        raise NetdefError(
            f"unknown dtype {name!r}; use one of {', '.join(sorted(table))} (or torch's dtypes)"
        ) from None
