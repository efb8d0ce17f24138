"""Files netdef writes (weights, engines) survive a writer killed mid-way: the previous file stays intact.

Each test starts a real writer process over an existing file and SIGKILLs it while it writes.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from netdef.weights.wts import load_wts, save_wts

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def _start(code: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(120, proc.kill)  # never let a broken child hang the suite
    watchdog.daemon = True
    watchdog.start()
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()


def _temporaries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


STALLING_WRITER = """
import sys, time
import numpy as np
from netdef.weights.wts import save_wts

class Stall:  # converted lazily, after "first" is written: the writer stops mid-file here
    def __array__(self, dtype=None, copy=None):
        print("stalled", flush=True)
        time.sleep(600)

save_wts({"first": np.arange(2_000_000, dtype=np.float32), "stall": Stall(), "last": np.ones(3)}, sys.argv[1])
"""


def test_killed_wts_writer_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "w.wts"
    previous = {"old.weight": np.arange(10, dtype=np.float32), "old.bias": np.full(3, -0.0, dtype=np.float32)}
    save_wts(previous, path)
    before = path.read_bytes()

    proc = _start(STALLING_WRITER, str(path))
    assert proc.stdout.readline() == "stalled\n", proc.stderr.read()
    temporaries = _temporaries(tmp_path)
    assert len(temporaries) == 1 and (tmp_path / temporaries[0]).stat().st_size > 18_000_000  # mid-write
    _kill(proc)

    assert path.read_bytes() == before
    loaded = load_wts(path)
    assert list(loaded) == list(previous)
    for name, value in previous.items():
        np.testing.assert_array_equal(loaded[name].view(np.uint32), value.view(np.uint32))


LOOPING_WRITER = """
import sys
import numpy as np
from netdef.weights.wts import save_wts

values = np.random.default_rng(0).standard_normal(2_000_000).astype(np.float32)
for i in range(1_000_000):
    save_wts({"version": np.array([i % 2], np.float32), "values": values + (i % 2)}, sys.argv[1])
    if i == 0:
        print("written", flush=True)
"""


def test_wts_file_is_always_a_complete_version_when_the_writer_is_killed_at_any_moment(tmp_path):
    path = tmp_path / "w.wts"
    values = np.random.default_rng(0).standard_normal(2_000_000).astype(np.float32)
    save_wts({"version": np.array([0], np.float32), "values": values}, path)

    proc = _start(LOOPING_WRITER, str(path))
    assert proc.stdout.readline() == "written\n", proc.stderr.read()
    time.sleep(random.Random().uniform(0.05, 0.6))  # somewhere inside one of the rewrites
    _kill(proc)

    loaded = load_wts(path)  # whichever version was renamed last, complete
    version = int(loaded["version"][0])
    np.testing.assert_array_equal(loaded["values"], values + version)


STALLING_ENGINE_WRITER = """
import os, sys, time
from netdef.runtime.metadata import BuiltEngine

def stalled_fsync(fd):  # the engine bytes are in the temporary file; the disk flush never ends
    print("flushing", flush=True)
    time.sleep(600)

os.fsync = stalled_fsync
BuiltEngine(data=b"new engine" * 1_000_000, metadata={"model": "new"}).save(sys.argv[1])
"""


def test_killed_engine_writer_leaves_previous_engine_and_metadata_intact(tmp_path):
    from netdef.runtime.metadata import BuiltEngine

    path = tmp_path / "model.engine"
    BuiltEngine(data=b"old engine bytes", metadata={"model": "old"}).save(path)
    sidecar = tmp_path / "model.engine.json"
    before = path.read_bytes(), sidecar.read_bytes()

    proc = _start(STALLING_ENGINE_WRITER, str(path))
    assert proc.stdout.readline() == "flushing\n", proc.stderr.read()
    temporaries = _temporaries(tmp_path)
    assert len(temporaries) == 1 and (tmp_path / temporaries[0]).stat().st_size == 10_000_000
    _kill(proc)

    assert (path.read_bytes(), sidecar.read_bytes()) == before
    assert json.loads(sidecar.read_text())["model"] == "old"
