"""The import graph of netdef's units (docs/ARCHITECTURE.md): dependencies point one way, `import netdef` stays light.

A unit is a top-level module or subpackage of netdef (``functional``, ``nn``, ``build``, ``_trt``...). Every
``import`` counts, at module level or inside a function, except those under ``if TYPE_CHECKING:`` (they are
never executed). The package facade ``netdef/__init__.py`` imports everything and is not a unit.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import netdef

PACKAGE = Path(netdef.__file__).parent

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


def _imports(tree: ast.Module, package: str):
    """(imported module, line, in a function) for every import not under ``if TYPE_CHECKING:``."""

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
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


def import_graph() -> list[Edge]:
    """Every import of one netdef unit by another (one edge per importing line)."""
    edges: dict[tuple[str, str, str], Edge] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = _unit(module)
        if source is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for imported, line, in_function in _imports(tree, package):
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
