"""Pictures of a network: HTML (checked in a real headless browser where one is installed), SVG and ONNX."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

import netdef
from netdef.cli import main
from netdef.errors import NetdefError
from netdef.parity import compare
from netdef.visualize import ONNX_DOMAIN, module_tree
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


@pytest.fixture(scope="module")
def twin():
    torch.manual_seed(0)
    return TorchLeNet().eval()


@pytest.fixture(scope="module")
def network(twin):
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    x = netdef.Input((-1, 1, 32, 32), min=(1, 1, 32, 32), max=(4, 1, 32, 32))
    return netdef.define(model, {"x": x})


@pytest.fixture(scope="module")
def diverging_report(twin):
    """A real parity report of LeNet against a twin whose fc2 weights were changed: fc2 diverges first."""
    model = LeNet()
    state = {k: v.numpy().copy() for k, v in twin.state_dict().items()}
    state["fc2.weight"] = state["fc2.weight"] * 1.5
    model.load_weights(state)
    feeds = {"x": np.random.default_rng(0).standard_normal((1, 1, 32, 32)).astype(np.float32)}
    report = compare(model, twin, feeds)
    assert report.first is not None and report.first.path == "fc2"
    return report


def test_module_tree_holds_every_layer_under_its_module(network):
    tree = module_tree(network)
    assert tree.all_layers() == network.network.num_layers
    assert {"conv1", "conv2", "fc1", "fc2", "fc3"} <= set(tree.children)
    assert tree.children["conv1"].cls == "Conv2d"
    assert all(lv.module == "conv1" for lv in tree.children["conv1"].layers)
    assert any(lv.type == "CONVOLUTION" and lv.weights == 6 * 1 * 5 * 5 + 6 for lv in tree.children["conv1"].layers)
    assert tree.children["conv1"].site and "lenet.py" in tree.children["conv1"].site


def test_html_is_self_contained_and_collapsible(network, tmp_path):
    path = netdef.graph(network, tmp_path / "net.html")
    text = path.read_text()
    assert text.count("<details") == 1 + 5  # the root and LeNet's five modules
    for layer in network.layers():
        assert layer["name"] in text
    assert "x.shape[0]" in text  # the dynamic batch dim is shown by name
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text), "the page must load nothing from outside"


def test_parity_overlay_highlights_the_first_divergence(network, diverging_report, tmp_path):
    report_file = tmp_path / "parity.json"
    report_file.write_text(json.dumps(diverging_report.to_dict()))
    text = netdef.graph(network, tmp_path / "net.html", parity=report_file).read_text()
    first = re.findall(r'<details class="([^"]*first[^"]*)"[^>]*><summary><b>([^<]+)</b>', text)
    assert first == [("diverged first", "fc2")]
    assert re.search(r'<details class="ok"[^>]*><summary><b>conv1</b>', text)
    tree = module_tree(network, diverging_report)
    assert tree.children["fc2"].first and tree.children["fc1"].status == "ok"


def test_svg_is_well_formed(network, diverging_report, tmp_path):
    path = netdef.graph(network, tmp_path / "net.svg", parity=diverging_report)
    root = ET.parse(path).getroot()
    texts = "".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "fc2 (Linear) — diverged" in texts and "CONVOLUTION" in texts
    assert any(r.get("stroke") == "#d33" for r in root.iter("{http://www.w3.org/2000/svg}rect"))


def test_onnx_structure_opens_as_onnx(network, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(netdef.graph(network, tmp_path / "net.onnx"))
    onnx.checker.check_model(model)
    assert [n.name for n in model.graph.node] == [r["name"] for r in network.layers()]
    assert {n.domain for n in model.graph.node} == {ONNX_DOMAIN}
    assert model.graph.node[0].op_type == network.layers()[0]["type"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x.shape[0]"
    assert not model.graph.initializer
    with_weights = onnx.load(netdef.graph(network, tmp_path / "w.onnx", weights=True))
    onnx.checker.check_model(with_weights)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_onnx_with_weights_feeds_each_weight_to_its_layer(twin, tmp_path, precision):
    """Each weight is an initializer that its layer's node reads (Netron shows it there), named apart from every
    tensor (a constant layer's output is named like its weight), and holding the network's values."""
    onnx = pytest.importorskip("onnx")
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    network = netdef.define(model, {"x": netdef.Input((1, 1, 32, 32))}, precision=precision, fold=False)
    proto = onnx.load(netdef.graph(network, tmp_path / "w.onnx", weights=True))
    onnx.checker.check_model(proto, full_check=True)
    values = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    assert len(values) == len(network.named_weights)
    readers = {name: node.name for node in proto.graph.node for name in node.input if name in values}
    assert set(readers) == set(values), "an initializer no node reads"
    produced = {o for node in proto.graph.node for o in node.output}
    assert not produced & set(values)
    for key, arr in network.named_weights.items():
        name = next(n for n in values if n.split(":")[0] == key)
        assert key.startswith(readers[name])
        np.testing.assert_array_equal(values[name], np.asarray(arr))


def test_bad_suffix_and_bad_parity_file(network, tmp_path):
    with pytest.raises(NetdefError, match=r"one of \.html, \.svg, \.onnx"):
        netdef.graph(network, tmp_path / "net.png")
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(NetdefError, match="not a `netdef parity --json` report"):
        netdef.graph(network, tmp_path / "net.html", parity=tmp_path / "junk.json")


def test_cli_graph(tmp_path, twin, capsys):
    wts = tmp_path / "lenet.wts"
    netdef.export_wts(twin, wts)
    out = tmp_path / "lenet.html"
    assert main(["graph", "netdef.zoo.lenet:LeNet", "--weights", str(wts), "-o", str(out)]) == 0
    assert "lenet.html" in capsys.readouterr().out and "<details" in out.read_text()


def test_an_existing_file_is_replaced_only_with_force(network, tmp_path):
    for name in ("model.onnx", "page.html", "drawing.svg"):
        path = tmp_path / name
        path.write_bytes(b"a runnable model, or someone's page")
        with pytest.raises(NetdefError) as exc:
            netdef.graph(network, path)
        assert f"{path} exists; refusing to replace it" in str(exc.value) and "force=True" in str(exc.value)
        assert path.read_bytes() == b"a runnable model, or someone's page"
        assert netdef.graph(network, path, force=True) == path
        assert path.read_bytes() != b"a runnable model, or someone's page"


def test_missing_folders_are_made(network, tmp_path):
    path = netdef.graph(network, tmp_path / "missing" / "dir" / "g.html")
    assert "<details" in path.read_text() and sorted(p.name for p in path.parent.iterdir()) == ["g.html"]


def test_cli_graph_never_replaces_a_model_without_force(tmp_path, capsys):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"a runnable ONNX model")
    argv = ["graph", "netdef.zoo.lenet:LeNet", "-o", str(model)]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netdef graph: error: -o {model} exists; refusing to replace it") and "--force" in err
    assert model.read_bytes() == b"a runnable ONNX model"
    assert main([*argv, "--force"]) == 0 and model.read_bytes() != b"a runnable ONNX model"
    nested = tmp_path / "missing" / "dir" / "g.svg"
    assert main(["graph", "netdef.zoo.lenet:LeNet", "-o", str(nested)]) == 0
    out, err = capsys.readouterr()
    assert str(nested) in out and ".netdef-" not in out + err and nested.read_text().startswith("<svg")


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium installed (apt-get install chromium)")
def test_html_renders_in_a_headless_browser(network, diverging_report, tmp_path):
    page = netdef.graph(network, tmp_path / "net.html", parity=diverging_report)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=900,700",
         page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 20, "the screenshot is blank"
    reddish = (pixels[:, 0] > 200) & (pixels[:, 1] < 120) & (pixels[:, 2] < 120)
    assert reddish.sum() > 50, "the first divergent module's red marker is not drawn"
