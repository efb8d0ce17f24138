"""Every Python block of README.md runs as written.

The blocks run in order in one namespace (a later block may use what an earlier one defined, as a reader
going down the page would), in a temporary folder. A block that needs what CI does not have (a GPU, a
server) is preceded by ``<!-- not run in CI: <reason> -->``, and a block that needs a file an earlier shell
command of the README makes is preceded by ``<!-- run first: <command> -->``; nothing else is skipped.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
SKIP = re.compile(r"<!-- not run in CI: (.+?) -->\s*$")
SETUP = re.compile(r"<!-- run first: (.+?) -->\s*$")


def python_blocks(text: str) -> list[tuple[int, str, str | None, str | None]]:
    """(line, code, skip reason, setup command) for each ```python block."""
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip, setup = SKIP.search(before), SETUP.search(before)
        blocks.append((line, match.group(1), skip and skip.group(1), setup and setup.group(1)))
    return blocks


def test_readme_blocks_are_found():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 5
    assert all(reason.strip() for _, _, reason, _ in blocks if reason is not None)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NETDEF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "weights").mkdir()  # the repository's folder for .wts files, where the README runs
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    for line, code, skip, setup in python_blocks(README.read_text()):
        if skip is not None:
            continue
        if setup is not None:
            argv = shlex.split(setup)
            assert argv[0] == "python", f"README.md:{line}: a setup command runs a README script with python"
            argv[0] = sys.executable
            argv[1] = str(ROOT / argv[1])
            done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path)
            assert done.returncode == 0, f"README.md:{line}: {setup} failed:\n{done.stderr[-2000:]}"
        try:
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"the README block at line {line} fails: {type(exc).__name__}: {exc}")
        ran += 1
    assert ran >= 5
