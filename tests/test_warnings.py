"""Every warning netdef issues is a netdef.NetdefWarning, so users can filter them as one class."""

from __future__ import annotations

import ast
from pathlib import Path

import netdef


def test_every_warnings_warn_call_in_netdef_uses_netdef_warning():
    package = Path(netdef.__file__).parent
    offenders = []
    for source in sorted(package.rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("warnings.warn", "warn")):
                continue
            category = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "category"), None)
            )
            if category is None or ast.unparse(category) != "NetdefWarning":
                offenders.append(f"{source.relative_to(package.parent)}:{node.lineno}")
    assert not offenders, f"warnings that are not NetdefWarning: {offenders}"
