"""Every warning netdef issues is a netdef.NetdefWarning, so users can filter them as one class."""

from __future__ import annotations

import ast
from pathlib import Path

import netdef


def test_every_warnings_warn_call_in_netdef_uses_netdef_warning():
    package = Path(netdef.__file__).parent
    offenders = []
    for source in sorted(package.rglob("*.py")):
        text = source.read_text()
        if "warn(" not in text:  # parse only the files that may warn
            continue
        tree = ast.parse(text, str(source))
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name != "warn":
                continue
            category = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "category"), None)
            )
            if category is None or ast.unparse(category) != "NetdefWarning":
                offenders.append(f"{source.relative_to(package.parent)}:{node.lineno}")
    assert not offenders, f"warnings that are not NetdefWarning: {offenders}"
