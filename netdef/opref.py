"""The op reference, docs/ops.md, written from what netdef registers (``python -m netdef.opref --write``).

Every ``netdef.functional`` op (from the op registry), every ``netdef.nn`` module, every Tensor method, and the
TensorRT layer types the reference interpreter runs. A test fails when docs/ops.md is stale.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "ops.md"


def _first_line(obj) -> str:
    return (inspect.getdoc(obj) or "").split("\n", 1)[0].replace("|", "\\|")


def _cell(text: str) -> str:
    """Markdown-table-safe text; string annotations lose their quotes (``input: Tensor``)."""
    return text.replace("'", "").replace("|", "\\|").replace("\n", " ")


def _interpreted_classes() -> set[str]:
    from netdef.reference._registry import HANDLERS
    from netdef.reference.interpreter import _load_handlers

    _load_handlers()
    return {cls.__name__ for cls, _ in HANDLERS.values()}


def _samples_cell(name: str) -> str:
    """How many samples (dynamic ones) test the op against torch, or why none."""
    from netdef.opsamples import EXEMPT, GENERATORS, load, samples_of

    load()
    if name not in GENERATORS:
        return f"none: {EXEMPT[name]}" if name in EXEMPT else "**none**"
    found = samples_of(name)
    return f"{len(found)} ({sum(s.is_dynamic for s in found)} dynamic)"


def _functional_rows(interpreted: set[str]) -> list[str]:
    import netdef.functional  # noqa: F401  (registers every op)
    from netdef.functional.registry import OPS

    rows = []
    for name in sorted(OPS):
        op = OPS[name]
        runs = all(layer in interpreted for layer in op.layers)
        methods = ", ".join(f"`{m}`" for m in (*op.methods, *op.reflected))
        layers = ", ".join(op.layers)
        rows.append(
            f"| `{_cell(op.signature)}` | `{op.torch}` | {layers} | {methods} | {'yes' if runs else 'no'} | "
            f"{_cell(_samples_cell(name))} | {_cell(op.limits)} | {_first_line(op.function)} |"
        )
    return rows


def _nn_rows() -> list[str]:
    import torch.nn

    import netdef.nn as nn

    rows = []
    for name in sorted(nn.__all__):
        cls = getattr(nn, name)
        if not inspect.isclass(cls):
            continue
        try:
            sig = str(inspect.signature(cls.__init__)).replace("(self, ", "(").replace("(self)", "()")
        except (TypeError, ValueError):
            sig = "(...)"
        twin = f"`torch.nn.{name}`" if hasattr(torch.nn, name) else "netdef only"
        rows.append(f"| `{name}{_cell(sig)}` | {twin} | {_first_line(cls)} |")
    return rows


def _tensor_rows() -> list[str]:
    import netdef.functional  # noqa: F401  (installs the registered methods)
    from netdef.functional.registry import OPS
    from netdef.tensor import Tensor

    via = {m: name for name, op in OPS.items() for m in (*op.methods, *op.reflected)}
    rows = []
    for name in sorted(vars(Tensor)):
        member = vars(Tensor)[name]
        public = not name.startswith("_") or (name.startswith("__") and name in via)
        if not public or not (callable(member) or isinstance(member, property)):
            continue
        kind = "property" if isinstance(member, property) else "method"
        target = f"`F.{via[name]}`" if name in via else ""
        rows.append(f"| `{name}` | {kind} | {target} | {_first_line(member)} |")
    return rows


#: dunder methods of torch.Tensor that are operators or conversions (the rest are Python object machinery)
_OPERATORS = (
    "abs add and bool complex contains float floordiv getitem index int invert iter len lshift matmul mod mul neg "
    "nonzero or pos pow radd rand reversed rfloordiv rlshift rmatmul rmod rmul ror rpow rrshift rshift rsub "
    "rtruediv rxor setitem sub truediv xor eq ne lt le gt ge hash array"
).split()


def _torch_lists() -> dict[str, tuple[str, list[str], set[str]]]:
    """kind -> (heading, torch's public names, the names netdef supports)."""
    import torch
    import torch.nn.functional as TF

    import netdef.functional  # noqa: F401  (registers every op and Tensor method)
    import netdef.nn as nn
    from netdef.functional.registry import OPS
    from netdef.tensor import Tensor

    modules = sorted(torch.nn.modules.__all__)
    functions = sorted(
        n for n, v in vars(TF).items()
        if not n.startswith("_") and callable(v) and not inspect.isclass(v) and not inspect.ismodule(v)
        and getattr(v, "__module__", "") != "typing"
    )  # fmt: skip
    in_place_dunder = {f"__i{op}__" for op in _OPERATORS}
    tensor = sorted(
        n for n in dir(torch.Tensor)
        if (not n.startswith("_") and not (n.endswith("_") and callable(getattr(torch.Tensor, n))))
        or (n in {f"__{op}__" for op in _OPERATORS} and n not in in_place_dunder)
    )  # fmt: skip
    follows = {op.torch.rsplit(".", 1)[-1] for op in OPS.values() if op.torch and op.torch.startswith("torch.nn.f")}
    return {
        "nn": ("`torch.nn` modules (`torch.nn.modules.__all__`)", modules, set(nn.__all__)),
        "F": ("`torch.nn.functional`", functions, set(OPS) | follows),
        "Tensor": ("`torch.Tensor` methods and properties", tensor, {n for n in tensor if hasattr(Tensor, n)}),
    }


def coverage() -> dict[str, dict[str, str]]:
    """kind ('nn', 'F', 'Tensor') -> torch name -> 'supported', 'refused' or 'missing'."""
    from netdef.functional.unsupported import refusal

    table = {}
    for kind, (_, names, supported) in _torch_lists().items():
        table[kind] = {
            n: "refused" if refusal(f"{kind}.{n}") else "supported" if n in supported else "missing" for n in names
        }
    return table


def _coverage_lines() -> list[str]:
    from netdef.functional.unsupported import refusal

    lines = [
        "## Coverage of torch's own lists",
        "",
        "Every public name of torch's lists, against netdef: *supported* (netdef has it, same name), *refused* "
        "(TensorRT cannot express it or it means nothing in an inference engine: the error says why, from "
        "`netdef/functional/unsupported.py`'s `REFUSALS`), or *missing* (expressible, not written yet). In-place "
        "variants (`x.add_()`, `x += y`, `x[i] = v`) are left out of the Tensor list: each is its out-of-place op "
        "written into the tensor (and the views of it), as torch's aliasing has it (`netdef/functional/inplace.py`). "
        "*Expressible* is supported + missing.",
        "",
    ]
    lists = _torch_lists()
    for kind, states in coverage().items():
        heading, _, _ = lists[kind]
        count = {s: sum(v == s for v in states.values()) for s in ("supported", "refused", "missing")}
        share = count["supported"] / max(count["supported"] + count["missing"], 1)
        lines += [
            f"### {heading}",
            "",
            f"{len(states)} names: {count['supported']} supported, {count['refused']} refused, {count['missing']} "
            f"missing; {share:.1%} of the expressible ones supported.",
            "",
            "| name | status | why refused |",
            "|---|---|---|",
        ]
        for name, state in states.items():
            why = refusal(f"{kind}.{name}") if state == "refused" else ""
            lines.append(f"| `{kind}.{name}` | {state} | {_cell(why or '')} |")
        lines.append("")
    return lines


def render() -> str:
    """docs/ops.md as it should be now."""
    from netdef._trt import BACKEND, trt

    interpreted = _interpreted_classes()
    lines = [
        "# netdef op reference",
        "",
        "Generated by `python -m netdef.opref --write` from the op registry, `netdef.nn` and the reference "
        "interpreter; do not edit by hand (a test fails when this file is stale).",
        "",
        "Each op follows the torch callable named beside it (same arguments and defaults). *Reference* says "
        "whether the CPU reference interpreter runs every TensorRT layer the op can emit. *Limits* lists what torch "
        "accepts and netdef does not; an op netdef lacks raises an error that points here. *Samples* counts the "
        "sample inputs (netdef/opsamples/) with which tests/functional/test_opinfo.py holds the op to its torch "
        "callable (values, shapes, dtypes, at fp32 and fp16, the dynamic ones at two sizes) and its TensorRT layers "
        "to the listed ones.",
        "",
        "## netdef.functional (`F`)",
        "",
        "| op | torch | TensorRT layers | Tensor methods | reference | samples | limits | what |",
        "|---|---|---|---|---|---|---|---|",
        *_functional_rows(interpreted),
        "",
        "## netdef.nn",
        "",
        "| module | torch | what |",
        "|---|---|---|",
        *_nn_rows(),
        "",
        "## netdef.Tensor",
        "",
        "| member | kind | op | what |",
        "|---|---|---|---|",
        *_tensor_rows(),
        "",
        "## TensorRT layers the reference interpreter runs",
        "",
    ]
    from netdef.reference._registry import HANDLERS

    for name in sorted(trt.LayerType.__members__):
        lines.append(f"- `{name}`: {'yes' if name in HANDLERS else '**no**'}")
    lines += ["", f"(Layer types as listed by the installed backend, {BACKEND}.)", "", *_coverage_lines()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netdef.opref", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOC} (default: print to stdout)")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
        print(f"wrote {DOC}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
