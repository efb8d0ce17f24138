"""An engine and its sidecar replace as one unit: SIGKILL a writer at every step, and the old pair or the new
one loads intact, never a mismatched pair; the next write removes what the killed writer left.

The writers run in child processes forked from one helper process (one interpreter start for all of them), each
killed by netdef's crash hook (``NETDEF_CRASH_AT=<step>#<n>``) or by the helper at a random moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from netdef._trt import BACKEND, VERSION
from netdef.errors import EngineError
from netdef.runtime.metadata import BuiltEngine, metadata_path, read_engine, write_engine

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the writers are forked (POSIX)")

HELPER = r"""
import json, os, random, signal, sys, time
from netdef.cache import EngineCache
from netdef.runtime.metadata import BuiltEngine, write_engine

def write(op, path, name):
    data, meta = (name.encode() * 100_000), {"format": "netdef-engine/1", "model": name, **json.loads(sys.argv[1])}
    if op == "save":
        write_engine(path, data, meta)
    elif op == "built-save":  # what build(output=...) and `netdef refit` (in place) call
        BuiltEngine(data, meta).save(path)
    elif op == "cache-put":
        EngineCache(os.path.dirname(path)).put(os.path.basename(path)[: -len(".engine")], BuiltEngine(data, meta))

for line in sys.stdin:
    cmd = json.loads(line)
    child = os.fork()
    if child == 0:
        os.environ.update(cmd["env"])
        try:
            if cmd["op"] == "loop":  # rewrite the pair over and over until killed
                i = 0
                while True:
                    write("save", cmd["path"], cmd["names"][i % 2])
                    i += 1
            write(cmd["op"], cmd["path"], cmd["name"])
        except BaseException as exc:
            print(repr(exc), file=sys.stderr, flush=True)
            os._exit(1)
        os._exit(0)
    if cmd["op"] == "loop":
        time.sleep(cmd["kill_after"])
        os.kill(child, signal.SIGKILL)
    _, status = os.waitpid(child, 0)
    print(json.dumps(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)), flush=True)
"""


def meta_for(name: str) -> dict:
    return {"format": "netdef-engine/1", "model": name, "backend": BACKEND, "backend_version": VERSION}


def data_for(name: str) -> bytes:
    return name.encode() * 100_000


class Writers:
    """The helper process: ``run(op, path, name, env)`` forks one writer and returns its exit status."""

    def __init__(self) -> None:
        extra = json.dumps({"backend": BACKEND, "backend_version": VERSION})
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.watchdog = threading.Timer(300, self.proc.kill)  # never let a broken helper hang the suite
        self.watchdog.daemon = True
        self.watchdog.start()

    def run(self, op: str, path, env: dict | None = None, **fields) -> int:
        self.proc.stdin.write(json.dumps({"op": op, "path": str(path), "env": env or {}, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the writer helper died"
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.watchdog.cancel()


@pytest.fixture
def tmp_path(tmp_path_factory, request):
    """A fresh folder in memory where the machine has one: these tests are about kills, not disks' fsync."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        return tmp_path_factory.mktemp("engines")
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="netdef-test-", dir=shm)
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    from pathlib import Path

    return Path(folder)


@pytest.fixture(scope="module")
def writers():
    helper = Writers()
    yield helper
    helper.close()


def loaded_name(path) -> str | None:
    """Which engine ``path`` holds, after checking that its plan and sidecar belong together; None if none."""
    try:
        data, meta = read_engine(path)  # verifies size and sha256 of the plan against the sidecar
    except EngineError as exc:
        assert "no such engine file" in str(exc), exc
        return None
    assert data == data_for(meta["model"])
    return meta["model"]


def steps_of(writers, op: str, path, tmp_path) -> list[str]:
    trace = tmp_path / "trace.txt"
    assert writers.run(op, path, {"NETDEF_CRASH_TRACE": str(trace)}, name="B") == 0
    steps = trace.read_text().split()
    trace.unlink()
    return steps


@pytest.mark.parametrize("op", ["save", "built-save", "cache-put"])
@pytest.mark.parametrize("previous", ["A", None], ids=["replace", "fresh"])
def test_a_writer_killed_at_every_step_leaves_the_old_pair_or_the_new_one(writers, tmp_path, op, previous):
    folder = tmp_path / "engines"
    path = folder / "m.engine"
    steps = steps_of(writers, op, path, tmp_path)
    assert {"temp:synced#2", "engine:staged#1", "engine:committed#1", "engine:moved#1"} <= set(steps), steps
    committed = steps.index("engine:committed#1")
    for i, step in enumerate(steps):
        for p in folder.iterdir():
            p.unlink()
        if previous:
            write_engine(path, data_for(previous), meta_for(previous))
        assert writers.run(op, path, {"NETDEF_CRASH_AT": step}, name="B") == -signal.SIGKILL, step

        expected = "B" if i >= committed else previous
        assert loaded_name(path) == expected, f"killed at {step}"
        if expected:  # a load after a kill between the renames also moved the new plan into place
            assert path.read_bytes() == data_for(expected), step
        write_engine(path, data_for("C"), meta_for("C"))  # the next write cleans up after the killed one
        assert sorted(p.name for p in folder.iterdir()) == ["m.engine", "m.engine.json"], step
        assert loaded_name(path) == "C"


def test_a_load_between_the_two_renames_reads_the_committed_plan_even_where_it_cannot_move_it(
    writers, tmp_path, monkeypatch
):
    folder = tmp_path / "engines"
    path = folder / "m.engine"
    write_engine(path, data_for("A"), meta_for("A"))
    assert writers.run("save", path, {"NETDEF_CRASH_AT": "engine:committed#1"}, name="B") == -signal.SIGKILL
    assert path.read_bytes() == data_for("A") and json.loads(metadata_path(path).read_text())["model"] == "B"
    with monkeypatch.context() as patch:

        def read_only_folder(src, dst):
            raise PermissionError(13, "Permission denied", str(src))

        patch.setattr(os, "replace", read_only_folder)
        data, meta = read_engine(path)
        assert (data, meta["model"]) == (data_for("B"), "B")
        assert path.read_bytes() == data_for("A")  # could not finish the move here; nothing was harmed
    assert loaded_name(path) == "B" and path.read_bytes() == data_for("B")
    assert sorted(p.name for p in folder.iterdir()) == ["m.engine", "m.engine.json"]


def test_killed_at_random_moments_while_rewriting_the_pair(writers, tmp_path):
    """No hook: a writer replacing A with B and back in a loop, SIGKILLed at 20 random moments (two separate
    renames, as netdef used to do, leave a mismatched pair after about one kill in three)."""
    import random

    path = tmp_path / "m.engine"
    write_engine(path, data_for("A"), meta_for("A"))
    rng = random.Random(0)
    for _ in range(20):
        status = writers.run("loop", path, names=["B", "A"], kill_after=rng.uniform(0.005, 0.08))
        assert status == -signal.SIGKILL
        assert loaded_name(path) in ("A", "B")
    write_engine(path, data_for("C"), meta_for("C"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.engine", "m.engine.json"]


def test_metadata_that_describes_other_bytes_is_refused_before_writing(tmp_path):
    path = tmp_path / "m.engine"
    with pytest.raises(EngineError, match="engine_sha256"):
        write_engine(path, b"plan", {**meta_for("A"), "engine_sha256": "0" * 64})
    assert list(tmp_path.iterdir()) == []


def test_a_supplied_sha256_is_not_recomputed_and_a_wrong_size_is_still_refused(tmp_path):
    import hashlib

    data = data_for("A")
    sha = hashlib.sha256(data).hexdigest()
    assert read_engine(write_engine(tmp_path / "m.engine", data, meta_for("A"), sha256=sha))[1]["engine_sha256"] == sha
    with pytest.raises(EngineError, match="engine_bytes"):  # caught without hashing
        write_engine(tmp_path / "n.engine", data, {**meta_for("A"), "engine_bytes": len(data) - 1}, sha256=sha)
    with pytest.raises(EngineError, match="engine_sha256"):
        write_engine(tmp_path / "n.engine", data, {**meta_for("A"), "engine_sha256": "0" * 64}, sha256=sha)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.engine", "m.engine.json"]


def test_a_built_engines_digest_belongs_to_its_data_object():
    import hashlib

    a, b = data_for("A"), data_for("B")
    built = BuiltEngine(a, meta_for("A"), engine_sha256=hashlib.sha256(a).hexdigest())
    assert built.sha256() == hashlib.sha256(a).hexdigest()
    built.data = b  # other bytes: the digest given for `a` no longer applies
    assert built.sha256() == hashlib.sha256(b).hexdigest()
    assert BuiltEngine(a, meta_for("A")).sha256() == hashlib.sha256(a).hexdigest()  # none given: computed


def test_engines_written_by_the_previous_format_still_load(tmp_path):
    """Before the pair was committed as one unit, netdef wrote the same two files by two renames."""
    path = tmp_path / "m.engine"
    data = data_for("old")
    import hashlib

    meta = {**meta_for("old"), "engine_sha256": hashlib.sha256(data).hexdigest(), "engine_bytes": len(data)}
    path.write_bytes(data)
    metadata_path(path).write_text(json.dumps(meta))
    assert read_engine(path) == (data, meta)


def test_saving_returns_the_path_and_keeps_the_callers_metadata(tmp_path):
    built = BuiltEngine(data_for("A"), meta_for("A"))
    assert built.save(tmp_path / "a.engine") == tmp_path / "a.engine" == built.path
    assert "engine_sha256" not in built.metadata  # the sidecar has it; the caller's dict is not changed
    assert read_engine(tmp_path / "a.engine")[1]["engine_bytes"] == len(built.data)


def test_a_write_settles_what_killed_writers_left_for_other_engines_of_the_folder(writers, tmp_path):
    x, y, z = (tmp_path / f"{n}.engine" for n in "xyz")
    write_engine(x, data_for("A"), meta_for("A"))
    write_engine(z, data_for("A"), meta_for("A"))
    assert writers.run("save", x, {"NETDEF_CRASH_AT": "engine:committed#1"}, name="B") == -signal.SIGKILL
    assert writers.run("save", z, {"NETDEF_CRASH_AT": "engine:staged#1"}, name="B") == -signal.SIGKILL
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".pending")]) == 2

    write_engine(y, data_for("C"), meta_for("C"))  # another engine of the same folder
    names = ["x.engine", "x.engine.json", "y.engine", "y.engine.json", "z.engine", "z.engine.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert x.read_bytes() == data_for("B") and loaded_name(x) == "B"  # committed: moved into place
    assert loaded_name(z) == "A"  # never committed: its pending plan was removed


def test_an_unhashed_plan_is_hashed_while_it_is_written(tmp_path, monkeypatch):
    """One pass over the plan both hashes and writes it (chunk by chunk), and the digest is kept: the sidecar's
    sha256 is the file's, and neither ``sha256()`` nor a second save hashes the plan again."""
    import hashlib

    import netdef.runtime.metadata as metadata

    updates, real = [], hashlib.sha256

    class Counting:
        def __init__(self, data=b""):
            self.inner = real(data)
            updates.append(len(data))

        def update(self, data):
            updates.append(len(data))
            self.inner.update(data)

        def hexdigest(self):
            return self.inner.hexdigest()

    monkeypatch.setattr(metadata.hashlib, "sha256", Counting)
    data = bytes(range(256)) * (3 * 4096 + 7)  # a little over 3 MiB
    built = BuiltEngine(data, meta_for("A"))
    built.save(tmp_path / "a.engine")
    assert sum(updates) == len(data)  # hashed once, whole
    assert max(updates) <= 1 << 20  # in the chunks it was written in, not in one call before writing
    monkeypatch.undo()
    want = hashlib.sha256(data).hexdigest()
    assert read_engine(tmp_path / "a.engine")[1]["engine_sha256"] == want == built.sha256()
    monkeypatch.setattr(metadata.hashlib, "sha256", Counting)
    updates.clear()
    built.save(tmp_path / "b.engine")
    assert sum(updates) == 0  # the digest of these bytes is known
