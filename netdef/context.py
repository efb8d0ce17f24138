"""The emission context: the real INetworkDefinition being written, plus names and live weights.

A context is active while ``netdef.define`` runs a model's ``forward``. Modules push their
``state_dict`` path on entry, so every layer is named ``<module path>/<op>`` and every error can
name the module and the line of the user's source that emitted it.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from netdef._trt import LOGGER, trt
from netdef.errors import EmitError

if TYPE_CHECKING:
    from netdef.nn.module import Module

_NETDEF_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_current: contextvars.ContextVar[EmitContext | None] = contextvars.ContextVar("netdef_context", default=None)


class EmitContext:
    """State shared by every op emitted into one network."""

    def __init__(self, network: trt.INetworkDefinition, compute_dtype: trt.DataType) -> None:
        self.network = network
        #: dtype of float weights and activations (fp32, fp16 or bf16 under strong typing).
        self.compute_dtype = compute_dtype
        #: every array handed to TensorRT as trt.Weights; TensorRT does not copy them.
        self.keepalive: list[np.ndarray] = []
        self._scopes: list[tuple[str, Module]] = []
        self._names: dict[str, int] = {}
        self.module_paths: dict[int, str] = {}

    # -- scopes and names -------------------------------------------------------------------
    @contextmanager
    def scope(self, module: Module) -> Iterator[None]:
        """Emit everything inside under ``module``'s state_dict path."""
        path = self.module_paths.get(id(module))
        if path is None:  # a module not reachable from the root: name it by its class
            path = type(module).__name__.lower()
        self._scopes.append((path, module))
        try:
            yield
        finally:
            self._scopes.pop()

    @property
    def path(self) -> str:
        """The state_dict path of the module currently emitting ('' at the root)."""
        return self._scopes[-1][0] if self._scopes else ""

    @property
    def module(self) -> Module | None:
        return self._scopes[-1][1] if self._scopes else None

    def unique_name(self, op: str) -> str:
        """``<module path>/<op>``, suffixed ``_1``, ``_2``... when the module emits ``op`` again."""
        base = f"{self.path}/{op}" if self.path else op
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    # -- errors ------------------------------------------------------------------------------
    def where(self) -> str:
        """'module `path` (Class), at file:line' for the innermost user frame on the stack."""
        module = self.module
        who = f"module `{self.path}` ({type(module).__name__})" if module is not None else "the root model"
        frame = sys._getframe(1)
        while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_NETDEF_DIR):
            frame = frame.f_back
        if frame is not None:
            who += f", at {frame.f_code.co_filename}:{frame.f_lineno}"
        return who

    def error(self, op: str, message: str) -> EmitError:
        """An EmitError that names the op, the module and the user's source line."""
        return EmitError(f"{op} in {self.where()}: {message}")

    # -- layers ------------------------------------------------------------------------------
    def add_layer(self, op: str, make: Callable[[trt.INetworkDefinition], Any]) -> Any:
        """Call ``make(network)`` to add one layer, name it, and turn TensorRT's complaints into EmitError."""
        mark = len(LOGGER.messages)
        try:
            layer = make(self.network)
        except (TypeError, RuntimeError, ValueError) as exc:
            raise self.error(op, f"TensorRT rejected the layer: {exc}") from None
        problems = LOGGER.errors_since(mark)
        if layer is None or problems:
            raise self.error(op, "TensorRT rejected the layer: " + ("; ".join(problems) or "no layer returned"))
        layer.name = self.unique_name(op)
        for i in range(layer.num_outputs):
            out = layer.get_output(i)
            try:
                out.shape  # noqa: B018 - shape inference runs here and reports bad shapes
            except RuntimeError:
                msg = "; ".join(LOGGER.errors_since(mark)) or "TensorRT could not infer the output shape"
                raise self.error(op, msg) from None
            out.name = layer.name if layer.num_outputs == 1 else f"{layer.name}:{i}"
        return layer

    def weights(self, array: np.ndarray, dtype: trt.DataType | None = None) -> trt.Weights:
        """trt.Weights over ``array`` cast to ``dtype`` (compute dtype by default), kept alive here."""
        from netdef._trt import dtype_to_numpy

        target = dtype_to_numpy(self.compute_dtype if dtype is None else dtype)
        arr = np.ascontiguousarray(array, dtype=target)
        self.keepalive.append(arr)
        return trt.Weights(arr)


def current() -> EmitContext:
    """The active emission context; raises outside ``netdef.define``."""
    ctx = _current.get()
    if ctx is None:
        raise EmitError(
            "no network is being defined: call modules and netdef.functional inside "
            "netdef.define(model, inputs=...), not directly"
        )
    return ctx


@contextmanager
def activate(ctx: EmitContext) -> Iterator[EmitContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
