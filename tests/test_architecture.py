"""The import graph of netdef's units against docs/ARCHITECTURE.md's table: every import points the way the table
allows, `import netdef` stays light.

A unit is a top-level module or subpackage of netdef (``functional``, ``nn``, ``build``, ``_trt``...). Every
``import`` counts, at module level or inside a function; those under ``if TYPE_CHECKING:`` (never executed) count
for the table's direction, not for cycles. The package facade ``netdef/__init__.py`` imports everything and is not
a unit.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import netdef

PACKAGE = Path(netdef.__file__).parent
ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"

#: the emission core: these import each other at module level only (a function-level import here hides a cycle)
CORE = ("tensor", "context", "functional", "nn", "define")


class Edge:
    """One import of unit ``target`` by a module of unit ``source``."""

    def __init__(self, source: str, target: str, where: str, in_function: bool) -> None:
        self.source, self.target, self.where, self.in_function = source, target, where, in_function

    def __repr__(self) -> str:
        return f"{self.source} -> {self.target} ({self.where}{', in a function' if self.in_function else ''})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "netdef" else None


def _is_unit(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()


def _imports(tree: ast.Module, package: str, type_only: bool = False):
    """(imported module, line, in a function) for every import; those under ``if TYPE_CHECKING:`` only when
    ``type_only``."""

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if (
                not type_only
                and isinstance(child, ast.If)
                and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            ):
                yield from walk(ast.Module(body=child.orelse, type_ignores=[]), in_function)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([child.module] if child.module else []))
                yield base, child.lineno, in_function
                for alias in child.names:  # `from netdef import functional` imports the unit functional
                    yield f"{base}.{alias.name}", child.lineno, in_function
            yield from walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    yield from walk(tree, False)


def import_graph(type_only: bool = False) -> list[Edge]:
    """Every import of one netdef unit by another (one edge per importing line); with ``type_only``, those under
    ``if TYPE_CHECKING:`` too."""
    edges: dict[tuple[str, str, str], Edge] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = _unit(module)
        if source is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for imported, line, in_function in _imports(tree, package, type_only):
            target = _unit(imported)
            if target is not None and target != source and _is_unit(target):
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                edges.setdefault((source, target, where), Edge(source, target, where, in_function))
    return list(edges.values())


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def units_on_disk() -> set[str]:
    return {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")
    }


#: the imports column of a unit that may import every unit above it
ANY_ABOVE = "any unit above"


def unit_table(text: str) -> tuple[list[str], dict[str, set[str] | None]]:
    """docs/ARCHITECTURE.md's unit table: the units in table order, and unit -> the units it may import
    (None: any unit above it)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.replace(" ", "") == "|unit|owns|imports|")
    order: list[str] = []
    allowed: dict[str, set[str] | None] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = [n.rstrip("/") for n in re.findall(r"`([^`]+)`", cells[0])]
        imports = cells[-1]
        targets = None if imports == ANY_ABOVE else {n.rstrip("/") for n in re.findall(r"`([^`]+)`", imports)}
        for name in names:
            order.append(name)
            allowed[name] = targets
    return order, allowed


def violations(edges: list[Edge], order: list[str], allowed: dict[str, set[str] | None]) -> list[str]:
    """Every edge the table does not allow, as 'file:line: source imports target ...'."""
    rank = {name: i for i, name in enumerate(order)}
    found = []
    for e in sorted(edges, key=lambda e: e.where):
        may = allowed.get(e.source)
        above = rank.get(e.target, len(order)) < rank.get(e.source, -1)
        if e.source not in rank or e.target not in rank:
            found.append(
                f"{e.where}: {e.source} imports {e.target}, and the table lists no unit {e.target if e.source in rank else e.source}"
            )
        elif not above or (may is not None and e.target not in may):
            why = (
                "a unit listed below it"
                if not above
                else f"not among the units its row allows ({', '.join(sorted(may))})"
            )
            found.append(f"{e.where}: {e.source} imports {e.target}, {why}")
    return found


def test_the_table_lists_every_unit_once_and_is_layered():
    order, allowed = unit_table(ARCHITECTURE.read_text())
    assert len(order) == len(set(order)), f"listed twice: {sorted({u for u in order if order.count(u) > 1})}"
    assert set(order) == units_on_disk(), (
        f"docs/ARCHITECTURE.md's unit table misses {sorted(units_on_disk() - set(order))} and lists units that do "
        f"not exist: {sorted(set(order) - units_on_disk())}"
    )
    for i, unit in enumerate(order):
        below = sorted((allowed[unit] or set()) - set(order[:i]))
        assert not below, f"the row of {unit} allows imports of units not listed above it: {below}"


def test_every_import_follows_the_table():
    """An import (type-only ones included) from a unit to one its row of docs/ARCHITECTURE.md does not allow
    fails, naming the file and line."""
    order, allowed = unit_table(ARCHITECTURE.read_text())
    found = violations(import_graph(type_only=True), order, allowed)
    assert not found, "imports docs/ARCHITECTURE.md's unit table does not allow:\n" + "\n".join(found)


def test_the_table_check_names_the_import_it_refuses():
    order, allowed = ["errors", "_trt", "nn", "cli"], {"errors": set(), "_trt": {"errors"}, "nn": {"_trt"}, "cli": None}
    edges = [
        Edge("_trt", "errors", "netdef/_trt.py:3", False),
        Edge("cli", "nn", "netdef/cli.py:9", True),
        Edge("_trt", "nn", "netdef/_trt.py:7", False),
        Edge("nn", "errors", "netdef/nn/x.py:5", False),
        Edge("nn", "zoo", "netdef/nn/x.py:6", False),
    ]
    assert violations(edges, order, allowed) == [
        "netdef/_trt.py:7: _trt imports nn, a unit listed below it",
        "netdef/nn/x.py:5: nn imports errors, not among the units its row allows (_trt)",
        "netdef/nn/x.py:6: nn imports zoo, and the table lists no unit zoo",
    ]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from netdef.nn import Module\n")
    assert ("netdef.nn", 3, False) in list(_imports(tree, "netdef", type_only=True))


def test_the_graph_sees_imports_in_functions_and_not_under_type_checking():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from netdef.nn import Module\n"
        "def f():\n    from netdef.build import build\nfrom . import errors\n"
    )
    found = list(_imports(tree, "netdef.functional"))
    assert ("netdef.build", 5, True) in found
    assert ("netdef.functional.errors", 6, False) in found
    assert not any(name.startswith("netdef.nn") for name, _, _ in found)
    assert cycles([Edge("a", "b", "", False), Edge("b", "c", "", True), Edge("c", "a", "", False)]) == [["a", "b", "c"]]
    assert cycles([Edge("a", "b", "", False), Edge("b", "c", "", False)]) == []


def test_no_import_cycles_between_units():
    edges = import_graph()
    assert {"functional", "nn", "tensor", "context", "build", "runtime"} <= {e.source for e in edges}
    found = cycles(edges)
    detail = [
        f"{' <-> '.join(group)}: " + "; ".join(map(repr, (e for e in edges if e.source in group and e.target in group)))
        for group in found
    ]
    assert not found, "import cycles between netdef's units (see docs/ARCHITECTURE.md):\n" + "\n".join(detail)


def test_the_emission_core_imports_at_module_level():
    hidden = [e for e in import_graph() if e.source in CORE and e.in_function]
    assert not hidden, f"function-level imports in the emission core (hidden cycles?): {hidden}"


def test_functional_does_not_depend_on_quantization_or_nn():
    bad = [
        e
        for e in import_graph()
        if e.source in ("tensor", "context", "functional") and e.target in ("nn", "quantization")
    ]
    assert not bad, f"quantization is an emission hook the EmitContext carries, not an import of ops: {bad}"


def test_import_netdef_loads_no_torch_and_no_optional_subsystem():
    code = (
        "import json, sys, netdef, netdef.functional, netdef.nn\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'netdef'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    assert "netdef" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in ("torch", "onnx")]
    optional = [m for m in loaded if m.split(".")[:2] in (["netdef", n] for n in netdef._LAZY)]
    assert not heavy, f"`import netdef` loads {heavy}"
    assert not optional, f"`import netdef` loads the lazy subsystems {optional}"


# ------------------------------------------------------------------------------------- extension points


def test_every_nn_module_is_exported_from_its_family_file():
    """A Module subclass defined in a ``netdef/nn/<family>.py`` file is in that file's ``__all__`` (and so in
    ``netdef.nn``), unless private or the base of another class there (``RNNBase``)."""
    import inspect

    from netdef import nn

    missing = []
    for path in sorted((PACKAGE / "nn").glob("[!_]*.py")):
        family = sys.modules[f"netdef.nn.{path.stem}"]
        classes = [c for _, c in inspect.getmembers(family, inspect.isclass) if c.__module__ == family.__name__]
        bases = {b for c in classes for b in c.__mro__[1:]}
        for cls in classes:
            if issubclass(cls, nn.Module) and not cls.__name__.startswith("_") and cls not in bases:
                if cls.__name__ not in family.__all__:
                    missing.append(f"{path.relative_to(PACKAGE.parent)}: {cls.__name__}")
    assert not missing, f"modules missing from their file's __all__ (add them there): {missing}"
    for name in nn.__all__:
        assert getattr(nn, name).__name__ == name
    assert {"Conv2d", "Module", "Parameter", "BindReport", "LSTM", "ZeroPad3d"} <= set(nn.__all__)
    assert "RNNBase" not in nn.__all__ and "F" not in nn.__all__


def test_detection_owns_nms_and_the_interpreter_calls_it():
    """NMS is one algorithm in ``netdef.detection``; the interpreter's INMSLayer handler imports it, never the
    other way round (post-processing of engine outputs does not depend on the interpreter)."""
    edges = import_graph()
    assert not [e for e in edges if e.source == "detection" and e.target == "reference"]
    assert [e for e in edges if e.source == "reference" and e.target == "detection"]
