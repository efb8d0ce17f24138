"""The distribution: a wheel built from the tree installs into a fresh venv with a working CLI and zoo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import netdef

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the package sources (the checkout itself stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "netdef", src / "netdef", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("netdef-*.whl")
    return path


def test_wheel_claims_only_the_netdef_name(wheel):
    assert wheel.name.startswith(f"netdef-{netdef.__version__}-")  # the version comes from netdef/_version.py
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"netdef", f"netdef-{netdef.__version__}.dist-info"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "netdef/zoo/resnet.py" in names and "netdef/zoo/twins/resnet.py" in names


def test_fresh_venv_has_a_working_cli_and_zoo(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    # the dependencies (numpy, torch, tensorrt) come from this interpreter's site-packages through a plain path
    # entry, which does not run that folder's .pth files: the checkout's editable install stays out of sight
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the venv decides what imports
    run = lambda *args: subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # noqa: E731
    where = run(str(py), "-c", "import netdef, netdef.zoo.resnet; print(netdef.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(site), "netdef was not imported from the installed wheel"
    assert run(str(py), "-c", "import models").returncode != 0, "the wheel must not install a top-level 'models'"
    cli = run(str(venv / "bin" / "netdef"), "inspect", "netdef.zoo.lenet:LeNet")
    assert cli.returncode == 0, cli.stderr
    assert "conv1/conv" in cli.stdout and "CONVOLUTION" in cli.stdout
