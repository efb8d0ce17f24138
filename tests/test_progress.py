"""Progress lines: drawn on a terminal only, silent otherwise; engine builds report TensorRT's own phases."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdef
from netdef.build import BuildProgress
from netdef.progress import enabled, silenced, track
from netdef.zoo.mlp import MLP


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_track_draws_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NETDEF_QUIET", raising=False)
    tty, pipe = Terminal(), io.StringIO()
    assert list(track(range(3), "work", stream=tty)) == [0, 1, 2]
    assert "work  3/3" in tty.getvalue() and tty.getvalue().endswith("\r")  # cleared when done
    assert list(track(range(3), "work", stream=pipe)) == [0, 1, 2]
    assert pipe.getvalue() == ""


@pytest.mark.parametrize("how", ["argument", "env", "silenced"])
def test_quiet_turns_it_off(how, monkeypatch):
    tty = Terminal()
    if how == "env":
        monkeypatch.setenv("NETDEF_QUIET", "1")
        assert not enabled(tty)
    elif how == "silenced":
        monkeypatch.delenv("NETDEF_QUIET", raising=False)
        with silenced():
            assert not enabled(tty)
        assert enabled(tty)
    else:
        assert not enabled(tty, quiet=True)


def test_build_reports_tensorrt_phases():
    model = MLP()
    rng = np.random.default_rng(0)
    model.load_weights({k: rng.random(p.shape).astype(np.float32) for k, p in model.state_dict().items()})
    tty = Terminal()
    monitor = BuildProgress("mlp", stream=tty)
    netdef.build(model, {"x": netdef.Input((2, 64))}, progress=monitor)
    assert monitor.started, "TensorRT reported no build phase to the monitor"
    assert not monitor.phases  # every phase it started, it finished
    assert "building mlp: " in tty.getvalue()


def test_wts_writer_shows_progress_on_a_terminal_only(tmp_path, monkeypatch):
    monkeypatch.delenv("NETDEF_QUIET", raising=False)
    weights = {f"w{i}": np.full(3, i, np.float32) for i in range(4)}
    tty = Terminal()
    monkeypatch.setattr("sys.stderr", tty)
    netdef.save_wts(weights, tmp_path / "a.wts")
    assert "a.wts  4/4" in tty.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    netdef.save_wts(weights, tmp_path / "b.wts")
    assert pipe.getvalue() == ""
    assert (tmp_path / "a.wts").read_bytes() == (tmp_path / "b.wts").read_bytes()
