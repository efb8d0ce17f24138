"""`netdef doctor`: each line is measured on this machine, and every failed line carries its fix."""

from __future__ import annotations

import pytest

from netdef import cli
from netdef.doctor import Check, diagnose, report
from netdef.runtime.device import backend_supports, current_gpu


@pytest.fixture(scope="module")
def checks() -> dict[str, Check]:
    return {c.name: c for c in diagnose()}


def test_build_is_measured_by_a_real_build(checks):
    build = checks["build engines"]
    assert build.ok, build.found
    assert "bytes" in build.found


def test_gpu_and_running_match_this_machine(checks):
    gpu = current_gpu()
    assert checks["GPU"].ok == (gpu is not None)
    runs = gpu is not None and backend_supports(gpu.compute_capability)
    assert checks["run engines"].ok == runs
    if not runs:
        assert checks["run engines"].fix


def test_every_failed_check_has_a_fix(checks):
    for check in checks.values():
        assert check.ok or check.fix, check


def test_providers_and_packages_are_listed(checks):
    assert {"provider torch", "provider pycuda", "provider cuda-python"} <= set(checks)
    assert {"package transformers", "package ultralytics", "package timm", "package torchvision"} <= set(checks)


def test_report_prints_fix_lines():
    text = report([Check("a", True, "fine"), Check("longer name", False, "broken", "do this")])
    lines = text.splitlines()
    assert lines[0].startswith("ok  a ")
    assert lines[1].startswith("no  longer name  broken")
    assert lines[2].strip() == "fix: do this"


def test_cli_doctor(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "build engines" in out and "backend" in out
