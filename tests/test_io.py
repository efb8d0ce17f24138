"""netdef._io: atomic replacement, netdef's temporary names, and the cleanup of what killed writers left."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from netdef._io import atomic_write, clean_stale, directory_lock, owner_gone, temp_path, write_temp


def test_atomic_write_keeps_previous_file_on_error(tmp_path):
    path = tmp_path / "target.bin"
    path.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(path) as f:
        f.write(b"new partial data" * 1000)
        f.flush()
        assert sorted(os.listdir(tmp_path)) != ["target.bin"]  # a temp file exists meanwhile
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == ["target.bin"]


def test_atomic_write_on_error_creates_nothing_when_no_previous_file(tmp_path):
    path = tmp_path / "target.bin"
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as f:
        f.write(b"x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_and_cleans_up(tmp_path):
    path = tmp_path / "target.txt"
    path.write_bytes(b"old")
    with atomic_write(path, "w") as f:
        f.write("new é\n")
    assert path.read_bytes() == "new é\n".encode()
    assert sorted(os.listdir(tmp_path)) == ["target.txt"]
    with atomic_write(str(path)) as f:
        f.write(b"bytes")
    assert path.read_bytes() == b"bytes"


def test_atomic_write_preserves_permissions(tmp_path):
    path = tmp_path / "target.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    with atomic_write(path) as f:
        f.write(b"new")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_atomic_write_makes_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "target.txt"
    with atomic_write(path, "w") as f:
        f.write("made")
    assert path.read_text() == "made" and os.listdir(path.parent) == ["target.txt"]


def test_errors_name_the_target_never_the_temporary(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("a folder that is in the way")
    with pytest.raises(OSError) as exc, atomic_write(target) as f:
        f.write(b"x")
    assert exc.value.filename == str(target) and ".netdef-" not in str(exc.value), exc.value
    assert sorted(os.listdir(tmp_path)) == ["taken"]
    with pytest.raises(OSError) as exc:
        write_temp(target / "inside" / "x.bin", b"x")  # 'inside' is a file, not a folder
    assert ".netdef-" not in str(exc.value), exc.value


def test_atomic_write_rejects_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", "a"):
        pass
    assert os.listdir(tmp_path) == []


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_temporaries_carry_host_and_pid_and_are_stale_once_their_writer_is_gone(tmp_path):
    live = os.path.basename(temp_path(tmp_path / "w.wts"))
    assert live.startswith(".w.wts.netdef-") and live.endswith(".tmp") and f"-{os.getpid()}-" in live
    dead = live.replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    now = time.time()
    assert not owner_gone(live, now) and owner_gone(dead, now)
    assert owner_gone(live, now - 2 * 24 * 3600)  # a day old: stale whoever wrote it
    other_host = dead.replace(".netdef-", ".netdef-elsewhere", 1)
    assert not owner_gone(other_host, now)  # its pid means nothing here
    assert not owner_gone(".w.wts.0123456789ab.tmp", 0)  # not netdef's naming: never stale


def test_the_next_write_removes_stale_netdef_temporaries_and_nothing_else(tmp_path):
    dead = _dead_pid()
    stale = [
        os.path.basename(temp_path(tmp_path / name)).replace(f"-{os.getpid()}-", f"-{dead}-")
        for name in ("w.wts", "other.safetensors")
    ]
    live = os.path.basename(temp_path(tmp_path / "w.wts"))
    kept = [live, ".w.wts.0123456789ab.tmp", "notes.tmp", ".w.wts.netdef-x.tmp"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    old = os.path.basename(temp_path(tmp_path / "w.wts"))  # a live pid, but three days old
    (tmp_path / old).write_bytes(b"partial")
    os.utime(tmp_path / old, (time.time() - 3 * 24 * 3600,) * 2)
    with atomic_write(tmp_path / "w.wts") as f:
        f.write(b"new")
    assert sorted(os.listdir(tmp_path)) == sorted(["w.wts", *kept])
    assert clean_stale(tmp_path) == []


def test_cleaning_a_folder_that_cannot_be_listed_is_not_an_error(tmp_path):
    assert clean_stale(tmp_path / "missing") == []


def test_directory_lock_excludes_writers_from_each_other(tmp_path):
    import threading

    events = []
    with directory_lock(tmp_path) as held:
        assert held
        other = threading.Thread(target=lambda: events.append(_take(tmp_path)))
        other.start()
        other.join(0.2)
        assert other.is_alive()  # blocked behind the lock held here
        events.append("released")
    other.join(5)
    assert events == ["released", "taken"]


def _take(folder) -> str:
    with directory_lock(folder):
        return "taken"
