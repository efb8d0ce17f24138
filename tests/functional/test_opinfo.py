"""Every registered op against torch, from its samples (netdef/opsamples): values, shapes, dtypes and layers.

Each sample is defined into a real network and run by the reference interpreter, at fp32 and (float
samples) fp16; a dynamic sample declares its marked dims -1 (min = its size, max = twice it) and runs at
both sizes. Torch's side is the op's ``torch=`` target. The layers the op emitted (those its call added to
the network) must be among the op's declared layer classes, which docs/ops.md's columns are written from.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest
import torch

import netdef
import netdef.functional
from netdef import nn
from netdef.define import Input, define
from netdef.functional.registry import OPS
from netdef.opsamples import (
    EXEMPT,
    GENERATORS,
    MODULE_EXEMPT,
    MODULE_GENERATORS,
    STATIC_ONLY,
    Sample,
    load,
    module_samples_of,
    samples_of,
    substitute,
    torch_target,
)
from netdef.tensor import Tensor
from netdef.testing import Fn, assert_close, torch_weights

load()

_samples = functools.cache(samples_of)


def _cases() -> list:
    cases = []
    for name in sorted(OPS):
        if name not in GENERATORS:
            continue
        for i, sample in enumerate(_samples(name)):
            variants = ["dynamic"] if sample.is_dynamic else ["fp32"]
            if not sample.is_dynamic and sample.fp16 and any(t.is_floating_point() for t in sample.inputs()):
                variants.append("fp16")
            if i == 0 and sample.expr is None and sample.args and isinstance(sample.args[0], torch.Tensor):
                variants += [f"method:{m}" for m in OPS[name].methods]  # x.relu(), x + y: the same call
                if len(sample.args) >= 2 and isinstance(sample.args[1], torch.Tensor):
                    variants += [f"method:{m}" for m in OPS[name].reflected]  # y.__radd__(x) is x + y
            for variant in variants:
                suffix = "" if variant == "fp32" else f"-{variant.replace(':', '-')}"
                marks = [pytest.mark.xfail(strict=True, reason=sample.known_mismatch)] if sample.known_mismatch else []
                cases.append(pytest.param(name, i, variant, id=f"{name}-{i}{suffix}", marks=marks))
    return cases


def _flatten(value) -> list:
    """The tensors of an op's result, in order (tuples, named tuples and lists flattened; None dropped)."""
    if value is None:
        return []
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flatten(v)]
    return [value]


@functools.cache
def _layer_classes() -> dict[str, str]:
    from netdef._trt import layer_classes

    return {t: cls.__name__ for t, cls in layer_classes().items()}


def _grown(t: torch.Tensor, dims: tuple[int, ...], by: int = 0) -> torch.Tensor:
    """``t`` longer along each of ``dims``, twice (``by`` 0) or by ``by``: its leading values repeated (same
    domain, valid indices)."""
    for d in dims:
        t = torch.cat([t, t.narrow(d, 0, by or t.shape[d])], dim=d)
    return t


def _dims(dynamic: dict, i: int, t: torch.Tensor) -> tuple[int, ...]:
    return tuple(d % t.dim() for d in dynamic.get(i, ()))


def _input_specs(tensors: list[torch.Tensor], dynamic: dict, grow: int = 0) -> dict[str, Input]:
    """One Input per tensor, x0, x1...: its marked dims -1, from its size (min) to the grown size (max)."""
    specs = {}
    for i, t in enumerate(tensors):
        dims = _dims(dynamic, i, t)
        dtype = str(t.dtype).removeprefix("torch.")
        if dims:
            shape = tuple(-1 if d in dims else s for d, s in enumerate(t.shape))
            specs[f"x{i}"] = Input(shape, dtype, min=tuple(t.shape), max=tuple(_grown(t, dims, grow).shape))
        else:
            specs[f"x{i}"] = Input(tuple(t.shape), dtype)
    return specs


def _define(name: str, sample: Sample, precision: str, method: str | None, want: list[torch.Tensor]):
    """(network, layer classes the op's call added) for ``sample``; float outputs in the dtypes of torch's ``want``
    (define's default is float32)."""
    info = OPS[name]
    tensors = sample.inputs()
    specs = _input_specs(tensors, sample.dynamic, sample.grow)
    if not specs:  # an op of Python values only (zeros(2, 3)): a network needs one input
        specs["unused"] = Input((1,))
    window = []

    def forward(*xs: Tensor):
        net = xs[0].ctx.network
        start = [net.num_layers]
        result = _call(info.function, sample, xs if tensors else (), lambda w: w, method=method, start=start)
        window.extend(net.get_layer(i).type.name for i in range(start[0], net.num_layers))
        outs = _flatten(result)
        return outs[0] if len(outs) == 1 else tuple(outs)

    names = ["output"] if len(want) == 1 else [f"output{i}" for i in range(len(want))]
    dtypes = {n: str(w.dtype).removeprefix("torch.") for n, w in zip(names, want) if w.is_floating_point()}
    if precision != "fp32":  # a reduced-precision network's float outputs are float32, compared with torch's fp32
        dtypes = {}
    net = define(Fn(forward), specs, precision=precision, output_dtype={n: dtypes.get(n, "float32") for n in names})
    classes = _layer_classes()
    return net, {classes.get(t, t) for t in window}


def _call(op, sample: Sample, tensors, weight, ref=None, method: str | None = None, start: list | None = None):
    """``sample`` applied to ``op`` with its tensors replaced by ``tensors`` and its weights by ``weight(w)``
    (called as ``args[0].<method>(*args[1:])`` when ``method`` is given, ``args[1].<method>(args[0])`` for a
    reflected operator such as ``__radd__``); ``start[0]`` is set to the layer
    count where the op's own call begins (after ``sample.prep``)."""
    given = iter(tensors)
    args = substitute(sample.args, given, weight)
    kwargs = substitute(sample.kwargs, given, weight)
    if sample.prep is not None:
        args = tuple(sample.prep(*args))
        if start is not None:
            start[0] = tensors[0].ctx.network.num_layers
    if method is not None and ref is None:
        if method.startswith("__r") and method != "__rshift__":  # reflected: y.__radd__(x) is x + y
            return getattr(args[1], method)(args[0], *args[2:], **kwargs)
        return getattr(args[0], method)(*args[1:], **kwargs)
    if sample.expr is not None:
        return ref(*args) if ref is not None else sample.expr(op, *args)
    return (ref or op)(*args, **kwargs)


def _torch(name: str, sample: Sample, tensors: list[torch.Tensor], method: str | None) -> list[torch.Tensor]:
    target = torch_target(OPS[name].torch)
    with torch.no_grad():
        result = _call(target, sample, tensors, torch.from_numpy, ref=sample.ref, method=method)
    return _flatten(result)


def _compare(name, sample: Sample, net, tensors: list[torch.Tensor], precision: str, what: str, method=None) -> None:
    want = _torch(name, sample, tensors, method)
    want = [w.float() if w.dtype == torch.float16 and precision == "fp16" else w for w in want]
    feeds = {n: t.numpy() for n, t in zip(net.inputs, tensors)} if tensors else {"unused": np.zeros(1, np.float32)}
    got = netdef.reference.run(net, feeds)
    _check_outputs(list(got.values()), want, precision, what)


def _check_outputs(got: list[np.ndarray], want: list[torch.Tensor], precision: str, what: str) -> None:
    """The same number of outputs as torch's, each of torch's dtype and shape, and values within tolerance."""
    assert len(got) == len(want), f"{what}: {len(got)} outputs, torch gives {len(want)}"
    for i, (out, w) in enumerate(zip(got, want)):
        label = f"{what}, output {i}"
        w = torch.as_tensor(w)
        want_dtype = np.dtype(str(w.dtype).removeprefix("torch."))
        assert out.dtype == want_dtype, f"{label}: dtype {out.dtype}, torch's is {want_dtype}"
        assert_close(out, w, precision, what=label)


@pytest.mark.filterwarnings("ignore:`nn.functional.upsample.*` is deprecated:UserWarning")  # torch's own call
@pytest.mark.parametrize(("name", "index", "variant"), _cases())
def test_op_matches_torch(name, index, variant):
    sample = _samples(name)[index]
    precision = "fp16" if variant == "fp16" else "fp32"
    method = variant.removeprefix("method:") if variant.startswith("method:") else None
    tensors = sample.inputs()
    net, emitted = _define(name, sample, precision, method, _torch(name, sample, tensors, method))
    declared = set(OPS[name].layers)
    assert emitted <= declared, (
        f"F.{name} emitted {sorted(emitted - declared)}, not among its declared layers {sorted(declared)}: "
        "add them to its @register_op (docs/ops.md is written from that list)"
    )
    _compare(name, sample, net, tensors, precision, f"F.{name} sample {index}", method)
    if sample.is_dynamic:
        grown = [_grown(t, _dims(sample.dynamic, i, t), sample.grow) for i, t in enumerate(tensors)]
        _compare(name, sample, net, grown, precision, f"F.{name} sample {index} at the larger size")


def test_every_op_has_samples_or_a_reason():
    missing = sorted(set(OPS) - set(GENERATORS) - set(EXEMPT))
    assert not missing, f"ops without samples: {missing}; add them in netdef/opsamples/ (or a reason to EXEMPT)"
    stale = sorted((set(GENERATORS) | set(EXEMPT)) - set(OPS))
    assert not stale, f"samples or exemptions for ops that are not registered: {stale}"
    both = sorted(set(GENERATORS) & set(EXEMPT))
    assert not both, f"ops both sampled and exempted: {both}"


def test_every_sampled_op_has_a_dynamic_sample():
    static = [name for name in GENERATORS if not any(s.is_dynamic for s in _samples(name)) and name not in STATIC_ONLY]
    assert not static, f"ops whose samples are all static: {sorted(static)}; add one with .dyn(...)"


# ----------------------------------------------------------------------------------------------- nn modules
_module_samples = functools.cache(module_samples_of)


def _module_cases() -> list:
    cases = []
    for name in sorted(MODULE_GENERATORS):
        for i, sample in enumerate(_module_samples(name)):
            variants = ["dynamic"] if sample.is_dynamic else ["fp32"]
            if not sample.is_dynamic and sample.fp16 and any(t.is_floating_point() for t in sample.inputs):
                variants.append("fp16")
            for variant in variants:
                suffix = "" if variant == "fp32" else f"-{variant}"
                cases.append(pytest.param(name, i, variant, id=f"{name}-{i}{suffix}"))
    return cases


class _Call(nn.Module):
    """Calls ``module`` on the inputs with ``call`` keyword arguments, its outputs flattened."""

    def __init__(self, module: nn.Module, call: dict) -> None:
        super().__init__()
        self.module, self.call = module, call

    def forward(self, *xs):
        outs = _flatten(self.module(*xs, **self.call))
        return outs[0] if len(outs) == 1 else tuple(outs)


@pytest.mark.parametrize(("name", "index", "variant"), _module_cases())
def test_module_matches_torch(name, index, variant):
    sample = _module_samples(name)[index]
    precision = "fp16" if variant == "fp16" else "fp32"
    ref = sample.torch_module()
    ours = getattr(nn, name)(*sample.args, **sample.kwargs)
    if ours.state_dict():
        report = ours.load_weights(torch_weights(ref), strict=True)
        assert not report.missing and not report.unexpected, str(report)

    def run_torch(tensors):
        with torch.no_grad():
            return [w.float() if precision == "fp16" else w for w in _flatten(ref(*tensors, **sample.call))]

    specs = _input_specs(list(sample.inputs), sample.dynamic)
    net = define(_Call(ours, sample.call), specs, precision=precision)
    sizes = [list(sample.inputs)]
    if sample.is_dynamic:
        sizes.append([_grown(t, _dims(sample.dynamic, i, t)) for i, t in enumerate(sample.inputs)])
    for tensors in sizes:
        want = run_torch(tensors)
        got = netdef.reference.run(net, {n: t.numpy() for n, t in zip(net.inputs, tensors)})
        _check_outputs(list(got.values()), want, precision, f"nn.{name} sample {index} at {tuple(tensors[0].shape)}")


def test_every_module_has_samples_or_a_reason():
    classes = {n for n in nn.__all__ if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)}
    missing = sorted(classes - set(MODULE_GENERATORS) - set(MODULE_EXEMPT))
    assert not missing, f"nn modules without samples: {missing}; add them in netdef/opsamples/modules.py"
    stale = sorted((set(MODULE_GENERATORS) | set(MODULE_EXEMPT)) - classes)
    assert not stale, f"samples or exemptions for modules netdef.nn does not have: {stale}"
    static = [n for n in MODULE_GENERATORS if not any(s.is_dynamic for s in _module_samples(n))]
    assert not static, f"nn modules whose samples are all static: {static}"
