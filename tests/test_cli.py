"""The netdef console command, run in-process through cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import netdef
from netdef.cli import main
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


@pytest.fixture(scope="module")
def lenet_wts(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("cli") / "lenet.wts"
    netdef.export_wts(TorchLeNet().eval(), path)
    return path


def test_export_from_factory_and_checkpoint(tmp_path, capsys):
    assert main(["export", "netdef.zoo.twins.mlp:MLP", "-o", str(tmp_path / "a.wts")]) == 0
    names = list(netdef.load_wts(tmp_path / "a.wts"))
    assert "net.1.num_batches_tracked" in names and names[0] == "net.0.weight"

    twin = TorchLeNet()
    torch.save(twin.state_dict(), tmp_path / "ckpt.pth")
    assert main(["export", str(tmp_path / "ckpt.pth"), "-o", str(tmp_path / "b.wts")]) == 0
    loaded = netdef.load_wts(tmp_path / "b.wts")
    np.testing.assert_array_equal(loaded["conv1.weight"], twin.conv1.weight.detach().numpy().ravel())


def test_export_refuses_full_pickles(tmp_path, capsys):
    torch.save({"model": TorchLeNet()}, tmp_path / "full.pth")  # a pickled nn.Module, not a state dict
    assert main(["export", str(tmp_path / "full.pth"), "-o", str(tmp_path / "x.wts")]) == 2
    err = capsys.readouterr().err
    assert "holds code" in err and "did not load it" in err and "weights_only=False" not in err
    assert not (tmp_path / "x.wts").exists()


def test_build_writes_engine_and_metadata(tmp_path, lenet_wts, capsys):
    out = tmp_path / "lenet.engine"
    rc = main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts), "-o", str(out), "--precision", "fp16"])
    assert rc == 0
    meta = json.loads((tmp_path / "lenet.engine.json").read_text())
    assert meta["precision"] == "fp16" and meta["engine_bytes"] == out.stat().st_size
    assert meta["inputs"]["x"]["shape"] == [1, 1, 32, 32]
    assert "runs only with this TensorRT" in capsys.readouterr().out


def test_build_with_dynamic_input(tmp_path, lenet_wts):
    spec = "x=-1x1x32x32,min=1x1x32x32,opt=4x1x32x32,max=16x1x32x32"
    out = tmp_path / "dyn.engine"
    assert main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts), "--input", spec, "-o", str(out)]) == 0
    meta = json.loads((tmp_path / "dyn.engine.json").read_text())
    assert meta["inputs"]["x"]["max"] == [16, 1, 32, 32]


def test_build_reports_unbound_weights(tmp_path, capsys):
    assert main(["build", "netdef.zoo.lenet:LeNet", "-o", str(tmp_path / "x.engine")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netdef build: error: netdef.zoo.lenet:LeNet has weights to bind and no --weights was given")


def test_run_reference_matches_torch(tmp_path, lenet_wts, capsys):
    x = np.random.default_rng(1).standard_normal((2, 1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["run", "--reference", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts), "--input", "x=2x1x32x32"]
    assert main([*args, "--feed", f"x={tmp_path / 'x.npy'}", "--save", str(tmp_path)]) == 0
    twin = TorchLeNet().eval()
    netdef.weights.load_into_torch(twin, netdef.load_wts(lenet_wts))
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.load(tmp_path / "output.npy"), expected, atol=1e-5)
    assert "output: shape (2, 10) float32" in capsys.readouterr().out


SUB = """
from netdef import nn


class Sub(nn.Module):
    def forward(self, a, b):
        return a - b
"""


def test_run_binds_inputs_and_feeds_by_name(tmp_path, capsys):
    """--input and --feed in another order than forward(a, b) still compute a - b."""
    (tmp_path / "two.py").write_text(SUB)
    a = np.arange(4, dtype=np.float32).reshape(1, 4)
    b = np.full((1, 4), 10, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    args = ["run", "--reference", f"{tmp_path}/two.py:Sub", "--input", "b=1x4", "--input", "a=1x4"]
    feeds = ["--feed", f"b={tmp_path}/b.npy", "--feed", f"a={tmp_path}/a.npy"]
    assert main([*args, *feeds, "--save", str(tmp_path)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "output.npy"), a - b)


def test_build_names_engine_inputs_after_forward(tmp_path, lenet_wts, capsys):
    out = tmp_path / "img.engine"
    args = ["build", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts), "-o", str(out)]
    assert main([*args, "--input", "img=1x1x32x32"]) == 2
    err = capsys.readouterr().err
    assert "input 'img' is not a parameter of LeNet.forward(x), which takes ['x']" in err and "Traceback" not in err
    assert not out.exists()


def test_run_rejects_unknown_feed(tmp_path, lenet_wts, capsys):
    np.save(tmp_path / "y.npy", np.zeros(1, np.float32))
    args = [
        "run",
        "--reference",
        "netdef.zoo.lenet:LeNet",
        "--weights",
        str(lenet_wts),
        "--feed",
        f"y={tmp_path}/y.npy",
    ]
    assert main(args) == 2
    assert "not inputs" in capsys.readouterr().err


def test_inspect_lists_layers_with_module_names(lenet_wts, capsys):
    assert main(["inspect", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts)]) == 0
    out = capsys.readouterr().out
    assert "conv1/conv" in out and "CONVOLUTION" in out and "(1, 6, 28, 28) FLOAT" in out
    assert "fc3/matmul" in out and "outputs ['output']" in out


def test_inspect_engine_prints_metadata(tmp_path, lenet_wts, capsys):
    out = tmp_path / "e.engine"
    main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts), "-o", str(out)])
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "LeNet"


def test_bad_model_spec_is_a_clear_error(capsys):
    assert main(["inspect", "netdef.zoo.lenet:NoSuchModel"]) == 2
    assert "has no attribute 'NoSuchModel'" in capsys.readouterr().err


# ------------------------------------------------------------------------ export: formats and renaming


def test_export_safetensors_from_factory_keeps_torch_weights(tmp_path, capsys):
    from safetensors.torch import load_file

    out = tmp_path / "lenet.safetensors"
    torch.manual_seed(123)
    assert main(["export", "netdef.zoo.twins.lenet:LeNet", "-o", str(out)]) == 0
    torch.manual_seed(123)
    twin = TorchLeNet()  # the same weights as the factory's model
    written = load_file(str(out))
    assert sorted(written) == sorted(twin.state_dict())
    for name, value in twin.state_dict().items():
        assert torch.equal(written[name], value), name
    assert f"wrote 10 tensors (61,706 values) to {out}" in capsys.readouterr().out


def test_export_strips_and_renames_checkpoint_keys(tmp_path):
    from netdef.zoo.lenet import LeNet

    twin = TorchLeNet()
    theirs = {f"module.backbone.{k}": v for k, v in twin.state_dict().items()}
    torch.save({"epoch": 1, "state_dict": theirs}, tmp_path / "dp.pth")
    out = tmp_path / "lenet.wts"
    args = ["export", str(tmp_path / "dp.pth"), "-o", str(out), "--strip-prefix", "module."]
    assert main([*args, "--rename", r"^backbone\.", ""]) == 0
    model = LeNet()
    model.load_weights(out)  # strict: every name now matches
    for name, p in model.state_dict().items():
        np.testing.assert_array_equal(p.data, twin.state_dict()[name].numpy(), err_msg=name)

    out2 = tmp_path / "prefixed.safetensors"
    assert main(["export", str(out), "-o", str(out2), "--add-prefix", "model."]) == 0  # a .wts source too
    from safetensors.torch import load_file

    assert sorted(load_file(str(out2))) == sorted(f"model.{k}" for k in twin.state_dict())


def test_export_rename_collision_is_an_error_naming_both_keys(tmp_path, capsys):
    state = {"module.fc.weight": torch.ones(2), "fc.weight": torch.zeros(2)}
    torch.save(state, tmp_path / "c.pt")
    out = tmp_path / "c.wts"
    assert main(["export", str(tmp_path / "c.pt"), "-o", str(out), "--strip-prefix", "module."]) == 2
    err = capsys.readouterr().err
    assert "'module.fc.weight'" in err and "'fc.weight'" in err
    assert not out.exists()


def test_export_refuses_other_output_formats_and_bad_rules(tmp_path, capsys):
    assert main(["export", "netdef.zoo.twins.mlp:MLP", "-o", str(tmp_path / "x.onnx")]) == 2
    assert ".wts or .safetensors" in capsys.readouterr().err
    assert main(["export", "netdef.zoo.twins.mlp:MLP", "-o", str(tmp_path / "x.wts"), "--rename", "(", "x"]) == 2
    assert "bad regex" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_export_safetensors_keeps_bfloat16_from_a_checkpoint(tmp_path):
    from safetensors.torch import load_file

    state = {"w": torch.randn(3, 4).to(torch.bfloat16), "n": torch.tensor(3)}
    torch.save({"model": state}, tmp_path / "bf.ckpt")
    assert main(["export", str(tmp_path / "bf.ckpt"), "-o", str(tmp_path / "bf.safetensors")]) == 0
    written = load_file(str(tmp_path / "bf.safetensors"))
    assert written["w"].dtype == torch.bfloat16 and torch.equal(written["w"], state["w"])
    assert written["n"].dtype == torch.int64


def test_run_reference_with_safetensors_weights_matches_torch(tmp_path, capsys):
    twin = TorchLeNet().eval()
    weights = tmp_path / "lenet.safetensors"
    netdef.weights.save_safetensors(twin, weights)
    x = np.random.default_rng(2).standard_normal((1, 1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = [
        "run",
        "--reference",
        "netdef.zoo.lenet:LeNet",
        "--weights",
        str(weights),
        "--feed",
        f"x={tmp_path / 'x.npy'}",
    ]
    assert main([*args, "--save", str(tmp_path)]) == 0
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.load(tmp_path / "output.npy"), expected, atol=1e-5)


def test_build_never_overwrites_its_own_weights_or_a_file_that_is_not_an_engine(tmp_path, lenet_wts, capsys):
    import shutil

    victim = tmp_path / "victim.wts"
    shutil.copyfile(lenet_wts, victim)
    before = victim.read_bytes()
    for force in ([], ["--force"]):  # an input of the run: never, forced or not
        assert main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(victim), "-o", str(victim), *force]) != 0
        assert "an input of this run" in capsys.readouterr().err
    assert victim.read_bytes() == before

    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(victim), "-o", str(notes)]) != 0
    err = capsys.readouterr().err
    assert "notes.txt exists and is not a netdef engine" in err and "--force" in err
    assert notes.read_text() == "mine"
    assert main(["build", "netdef.zoo.lenet:LeNet", "--weights", str(victim), "-o", str(notes), "--force"]) == 0
    assert netdef.runtime.read_engine(notes)[1]["model"] == "LeNet"


def test_refit_never_writes_over_its_weights(tmp_path, lenet_wts, capsys):
    """Checked before the engine is loaded (which needs a GPU): the weights file is an input of the run."""
    args = ["refit", str(tmp_path / "m.engine"), "--model", "netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts)]
    before = lenet_wts.read_bytes()
    assert main([*args, "-o", str(lenet_wts), "--force"]) != 0
    assert "an input of this run" in capsys.readouterr().err
    assert lenet_wts.read_bytes() == before


def test_an_existing_output_file_is_replaced_only_with_force(tmp_path, lenet_wts, capsys):
    """export -o, run --save, parity --json (bench --json and graph -o: the same check): a file already there
    is refused, named, and left as it was; --force replaces it."""
    weights, saved, report = tmp_path / "w.wts", tmp_path / "out" / "output.npy", tmp_path / "report.json"
    saved.parent.mkdir()
    lenet = ["netdef.zoo.lenet:LeNet", "--weights", str(lenet_wts)]
    commands = [
        (["export", "netdef.zoo.twins.lenet:LeNet", "-o", str(weights)], weights, "-o"),
        (["run", "--reference", *lenet, "--save", str(saved.parent)], saved, "--save: the output file"),
        (["parity", *lenet, "--twin", "netdef.zoo.twins.lenet:LeNet", "--json", str(report)], report, "--json"),
    ]
    for argv, path, option in commands:
        path.write_text("the user's file")
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"netdef {argv[0]}: error: {option} {path} exists; refusing to replace it"), err
        assert "--force" in err and path.read_text() == "the user's file"
        assert main([*argv, "--force"]) == 0, capsys.readouterr().err
        assert path.read_bytes() != b"the user's file"
    np.testing.assert_array_equal(np.load(saved).shape, (1, 10))
    assert json.loads(report.read_text())["passed"] is True


def test_run_save_never_writes_outside_its_folder(tmp_path, capsys):
    """An output name with '/' is %-escaped into one file of the --save folder, and the path is printed."""
    (tmp_path / "named.py").write_text(
        "from netdef import nn\n"
        "import netdef\n\n"
        "class Named(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return {'probs/soft max': x * 2}\n\n"
        "    @staticmethod\n"
        "    def default_inputs():\n"
        "        return {'x': netdef.Input((1, 3))}\n"
    )
    save = tmp_path / "out"
    assert main(["run", "--reference", f"{tmp_path}/named.py:Named", "--save", str(save)]) == 0
    (written,) = save.iterdir()
    assert written.name == "probs%2Fsoft max.npy" and f"saved probs/soft max to {written}" in capsys.readouterr().out
    assert np.load(written).shape == (1, 3)


def _pipe(data: bytes) -> str:
    """``/dev/fd/N`` of a pipe a thread writes ``data`` into: what ``--weights <(cat lenet.wts)`` passes."""
    import os
    import threading

    read_end, write_end = os.pipe()

    def write():
        with open(write_end, "wb") as f:
            f.write(data)

    threading.Thread(target=write, daemon=True).start()
    return f"/dev/fd/{read_end}"


@pytest.mark.skipif(not __import__("os").path.isdir("/dev/fd"), reason="no /dev/fd")
def test_weights_from_process_substitution_bind_once_for_the_model_and_its_twin(tmp_path, lenet_wts, capsys):
    """``--weights <(...)`` is a pipe: it reads as a stream (it was refused as "not a regular file"), and parity
    reads it once for the model and the torch twin (a second read would find the pipe drained)."""
    x = np.random.default_rng(1).standard_normal((1, 1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data = lenet_wts.read_bytes()
    run = ["run", "--reference", "netdef.zoo.lenet:LeNet", "--weights", _pipe(data), "--input", "x=1x1x32x32"]
    assert main([*run, "--feed", f"x={tmp_path / 'x.npy'}", "--save", str(tmp_path)]) == 0
    twin = TorchLeNet().eval()
    netdef.weights.load_into_torch(twin, netdef.load_wts(lenet_wts))
    np.testing.assert_allclose(np.load(tmp_path / "output.npy"), twin(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    parity = ["parity", "netdef.zoo.lenet:LeNet", "--twin", "netdef.zoo.twins.lenet:LeNet", "--weights", _pipe(data)]
    capsys.readouterr()
    assert main([*parity, "--input", "x=1x1x32x32"]) == 0, capsys.readouterr().err
