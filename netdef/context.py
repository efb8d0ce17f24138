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
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from netdef._trt import LOGGER, dtype_to_numpy, trt
from netdef.errors import EmitError
from netdef.numeric import convert
from netdef.tensor import Tensor

_NETDEF_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: the zoo ships inside the package but is models written with netdef: errors point into it like user code
_ZOO_DIR = os.path.join(_NETDEF_DIR, "zoo") + os.sep


def library_code(filename: str) -> bool:
    """Whether ``filename`` is netdef's own code, which error messages look past to the user's source line."""
    path = os.path.abspath(filename)
    return path.startswith(_NETDEF_DIR) and not path.startswith(_ZOO_DIR)


_current: contextvars.ContextVar[EmitContext | None] = contextvars.ContextVar("netdef_context", default=None)


class Module(Protocol):
    """What the context needs of the ``netdef.nn.Module`` whose forward runs (its identity and class, named in
    errors): a protocol, so that context.py never imports nn (nn imports it)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class ModuleCall:
    """One module call during define(): the tensors it took and returned, and where it was made."""

    path: str
    module: Module
    #: n-th call of this module (a module called twice, like a shared ReLU, has calls 0 and 1)
    index: int
    #: path of the module whose forward made the call (None for the root model)
    caller: str | None
    #: 'file:line' of the user's source that made the call
    site: str | None
    inputs: list[trt.ITensor]
    outputs: list[trt.ITensor]
    #: path of the module whose affine was folded into the op that made these outputs (``conv`` followed by
    #: ``bn``): the network no longer holds this call's own output, only the folded one
    folded_into: str | None = None


class Quantizer(Protocol):
    """The quantization hook an EmitContext carries (``define(quantization=...)`` sets it).

    Ops that quantize (conv, linear) ask it, through ``EmitContext.quantize_*``, for Q/DQ'd inputs
    and weights; ``netdef.quantization.QuantConfig`` implements it.
    """

    def activation(self, ctx: EmitContext, x: Tensor, op: str, slot: int) -> Tensor:
        """``x``, or ``x`` through a Q/DQ pair when the layer ``op`` about to be added is quantized."""
        ...

    def weight(self, ctx: EmitContext, weight: np.ndarray, dtype: trt.DataType, axis: int, op: str) -> Tensor | None:
        """A Q/DQ'd constant of ``weight`` (per-channel along ``axis``), or None when ``op`` is not quantized."""
        ...

    def to_json(self) -> dict:
        """What the engine's metadata records about the quantization."""
        ...


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
        #: every module call, in the order the calls returned (parity compares them with torch's hooks)
        self.module_calls: list[ModuleCall] = []
        #: refit names of every non-empty weights array handed to TensorRT -> the array
        self.named_weights: dict[str, np.ndarray] = {}
        self._pending_weights: list[tuple[trt.Weights, np.ndarray, str | None]] = []
        #: set by define(quantization=...): Q/DQ for convs and matmuls (a netdef.quantization.QuantConfig)
        self.quantizer: Quantizer | None = None
        #: id(module) -> compute dtype for modules whose precision differs from the network's
        self.precision_overrides: dict[int, trt.DataType] = {}
        #: fold batch norms into the conv/linear/scale before them (functional/_fold.py); define(fold=...)
        self.fold_affine = True
        #: the op output a batch norm emitted next may fold into, and the proxies folded away since
        self.fold_candidate = None
        self.unfold: dict[int, tuple[Any, Callable[[], Any]]] = {}
        #: tensor name -> {dim: (min, max)} over every optimization profile (bounds of symbolic sizes)
        self.dim_bounds: dict[str, dict[int, tuple[int, int]]] = {}
        #: tensor name -> the name its sizes are shown under (a network input's cast: the input's name)
        self.size_labels: dict[str, str] = {}
        #: symbolic sizes, shape tensors and int64 constants already emitted (netdef.symbolic)
        self.symbolic: dict = {}
        #: id(Parameter), compute dtype -> its constant, for parameters used as tensors in forward
        self.parameter_tensors: dict = {}
        #: id(attention mask) -> (the mask, its rows that keep a key), emitted once per mask (functional/attention.py)
        self.live_rows: dict = {}

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

    def peek_name(self, op: str) -> str:
        """The name ``unique_name(op)`` will give the next layer emitted as ``op`` here."""
        base = f"{self.path}/{op}" if self.path else op
        n = self._names.get(base, 0)
        return base if n == 0 else f"{base}_{n}"

    def unique_name(self, op: str) -> str:
        """``<module path>/<op>``, suffixed ``_1``, ``_2``... when the module emits ``op`` again."""
        base = f"{self.path}/{op}" if self.path else op
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    # -- precision -------------------------------------------------------------------------------
    @contextmanager
    def compute(self, dtype: trt.DataType) -> Iterator[trt.DataType]:
        """Emit weights in ``dtype`` inside; yields the enclosing compute dtype."""
        outer, self.compute_dtype = self.compute_dtype, dtype
        try:
            yield outer
        finally:
            self.compute_dtype = outer

    def call_inputs(self, args, kwargs) -> list[trt.ITensor]:
        """The ITensors a module call takes, read when the call starts (``record_call``'s ``inputs``)."""
        return [_itensor(t) for t in _tensors((args, kwargs))]

    def record_call(self, inputs: list[trt.ITensor], result):
        """Note that the module in scope took ``inputs`` (``call_inputs``) and returned ``result``; returns
        ``result``."""
        path, module = self._scopes[-1]
        index = sum(c.module is module for c in self.module_calls)
        caller = self._scopes[-2][0] if len(self._scopes) > 1 else None
        frame = _user_frame(sys._getframe(1))
        site = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None
        outputs = [_itensor(t) for t in _tensors(result)]
        self.module_calls.append(ModuleCall(path, module, index, caller, site, inputs, outputs))
        return result

    # -- quantization ---------------------------------------------------------------------------
    def quantize_activation(self, x: Tensor, op: str, slot: int = 0) -> Tensor:
        """``x`` as the input ``slot`` of the layer ``op`` about to be added: Q/DQ'd if the quantizer says so."""
        return x if self.quantizer is None else self.quantizer.activation(self, x, op, slot)

    def quantize_weight(self, weight: np.ndarray, dtype: trt.DataType, axis: int, op: str) -> Tensor | None:
        """The quantizer's Q/DQ'd constant for the weight of the layer ``op``, or None (emit it as weights)."""
        return None if self.quantizer is None else self.quantizer.weight(self, weight, dtype, axis, op)

    # -- errors ------------------------------------------------------------------------------
    def where(self) -> str:
        """'module `path` (Class), at file:line' for the innermost user frame on the stack."""
        module = self.module
        who = f"module `{self.path or '<root>'}` ({type(module).__name__})" if module is not None else "the root model"
        frame = _user_frame(sys._getframe(1))
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
        several = len(self._pending_weights) > 1
        for i, (w, arr, role) in enumerate(self._pending_weights):
            name = f"{layer.name}.{role if role is not None else i}" if several or role else layer.name
            if arr.size and self.network.set_weights_name(w, name):
                self.named_weights[name] = arr
        self._pending_weights.clear()
        return layer

    def weights(
        self, array: np.ndarray, dtype: trt.DataType | None = None, role: str | None = None, op: str | None = None
    ) -> trt.Weights:
        """trt.Weights over ``array`` cast to ``dtype`` (compute dtype by default), kept alive here.

        The next layer added names them ``<layer name>.<role>`` (or the layer name) for refitting; ``op`` (that
        layer's op) names them in errors. Values ``dtype`` cannot hold (inf in fp16, wrapped integers) are an error.
        """
        target = dtype_to_numpy(self.compute_dtype if dtype is None else dtype)
        what = f"the weights of `{self.peek_name(op)}`" if op else f"its {role} weights" if role else "a constant"
        arr = np.ascontiguousarray(self.fitting(array, target, what))
        self.keepalive.append(arr)
        w = trt_weights(arr)
        self._pending_weights.append((w, arr, role))
        return w

    def fitting(self, array, target: np.dtype, what: str, fix: str | None = None) -> np.ndarray:
        """``array`` as ``target``, or an EmitError naming ``what`` when a value does not fit (it would be inf
        or wrap). Every weight netdef writes goes through here (``weights``, folded kernels); ``fix`` replaces
        the default advice for a float target (keep the module in fp32)."""
        converted, problem = convert(np.asarray(array), target)
        if problem is None:
            return converted
        message = f"{self.where()}: in {what}, {problem}"
        if target.kind in "fV":
            if fix is None:
                wider = f"overrides={{'{self.path}': 'fp32'}}" if self.path else "precision='fp32'"
                fix = f"keep this module in a wider precision, e.g. netdef.define(..., {wider})"
            message += f"; {fix}"
        raise EmitError(message)


def trt_weights(array: np.ndarray) -> trt.Weights:
    """trt.Weights over ``array``'s own buffer (bfloat16 included); the caller keeps ``array`` alive."""
    if array.dtype.name == "bfloat16":  # numpy has no bfloat16: pass the buffer with TensorRT's type
        return trt.Weights(trt.bfloat16, array.ctypes.data, array.size)
    return trt.Weights(array)


def _user_frame(frame):
    """The innermost frame at or above ``frame`` whose code lies outside the netdef package."""
    while frame is not None and library_code(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _itensor(t) -> trt.ITensor:
    """The ITensor a proxy holds, read without side effects (reading a proxy folded away re-emits its op)."""
    return Tensor.itensor.__get__(t, Tensor)


def _tensors(value) -> list:
    """Every netdef Tensor in ``value`` (nested tuples, lists and dicts), in order."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


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
