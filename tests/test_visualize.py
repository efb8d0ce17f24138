"""Pictures of a network: HTML (checked in a real headless browser where one is installed), SVG and ONNX."""

from __future__ import annotations

import html
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib import resources

import numpy as np
import pytest
import torch

import netdef
from netdef.cli import main
from netdef.errors import NetdefError
from netdef.parity import compare
from netdef.visualize import MAX_NODES, ONNX_DOMAIN, module_tree, visible
from netdef.zoo import bert
from netdef.zoo.lenet import LeNet
from netdef.zoo.resnet import resnet18
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
    # the root's link is the model's forward, not wherever define() was called (a console script, this test)
    assert tree.site == f"{inspect.getsourcefile(LeNet.forward)}:{inspect.getsourcelines(LeNet.forward)[1]}"


def _page_data(text: str) -> dict:
    """The dataflow JSON a page draws."""
    return json.loads(re.search(r"<script type=application/json id=data>(.*?)</script>", text, re.S).group(1))


def test_html_is_self_contained(network, tmp_path):
    path = netdef.graph(network, tmp_path / "net.html")
    text = path.read_text()
    data = _page_data(text)
    assert [n["name"] for n in data["nodes"] if n["kind"] == "layer"] == [r["name"] for r in network.layers()]
    assert "x.shape[0]" in text  # the dynamic batch dim is shown by name
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text), "the page must load nothing from outside"
    assert (resources.files("netdef") / "_vendor/dagre/dagre.min.js").read_text() in text  # the layout, inlined


@pytest.fixture(scope="module")
def resnet():
    """A ResNet-18 (residual adds, batch norms folded into their convs, a ReLU module called twice per block)."""
    model = resnet18(num_classes=10)
    model.load_weights({k: np.zeros(p.shape, p.dtype) for k, p in model.state_dict().items()})
    return netdef.define(model, {"x": netdef.Input((1, 3, 32, 32))})


def _tensor_uses(network) -> list[tuple[str, str, str]]:
    """(producer, consumer, tensor) for every tensor a layer reads and every network output, from the real
    INetworkDefinition; network inputs and outputs are 'input:<name>' and 'output:<name>'."""
    net = network.network
    producer = {net.get_input(i).name: f"input:{net.get_input(i).name}" for i in range(net.num_inputs)}
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        producer |= {layer.get_output(j).name: layer.name for j in range(layer.num_outputs)}
    uses = set()
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        for j in range(layer.num_inputs):
            if (t := layer.get_input(j)) is not None:
                uses.add((producer[t.name], layer.name, t.name))
    uses |= {(producer[t.name], f"output:{t.name}", t.name) for t in map(net.get_output, range(net.num_outputs))}
    return sorted(uses)


def _collapsed_uses(network, module: str) -> list[tuple[str, str, str]]:
    """The tensor uses crossing ``module``'s boundary, its layers standing as one node 'module:<module>'."""

    def rep(name: str) -> str:
        return f"module:{module}" if name.startswith((f"{module}/", f"{module}.")) else name

    return sorted({(rep(a), rep(b), t) for a, b, t in _tensor_uses(network) if rep(a) != rep(b)})


def _drawn_edges(markup: str) -> list[tuple[str, str, str]]:
    """(data-from, data-to, data-tensor) of every edge element in SVG or HTML markup."""
    edges = []
    for tag in re.findall(r'<g class="edge"[^>]*>', markup):
        attrs = dict(re.findall(r'(data-\w+)="([^"]*)"', tag))
        edges.append(tuple(html.unescape(attrs[k]) for k in ("data-from", "data-to", "data-tensor")))
    return sorted(edges)


def test_svg_edges_are_the_networks_tensor_uses(resnet, tmp_path):
    svg = netdef.graph(resnet, tmp_path / "net.svg", collapse=()).read_text()
    ET.fromstring(svg)  # well-formed
    drawn = _drawn_edges(svg)
    assert len(drawn) == len(set(drawn)), "an edge is drawn twice"
    assert drawn == _tensor_uses(resnet)
    assert any(a.startswith("layer1.0.") and b == "layer1.0/add" for a, b, _ in drawn)  # the residual branch


def test_a_collapsed_module_is_one_node_with_its_boundary_edges(resnet, tmp_path):
    svg = netdef.graph(resnet, tmp_path / "net.svg", collapse=["layer1.0"]).read_text()
    assert _drawn_edges(svg) == _collapsed_uses(resnet, "layer1.0")
    assert svg.count('data-cluster="layer1.0"') == 1  # its node, and no box
    assert 'data-name="layer1.0.conv1/conv"' not in svg and 'data-name="layer1.1.conv1/conv"' in svg
    with pytest.raises(NetdefError, match="no box for module 'layer9'"):
        netdef.graph(resnet, tmp_path / "bad.svg", collapse=["layer9"])


def test_folded_batch_norm_is_marked_on_its_conv(resnet, tmp_path):
    svg = netdef.graph(resnet, tmp_path / "net.svg").read_text()
    conv = re.search(r'<g class="node k-layer folds" data-name="layer1.0.conv1/conv"[^>]*><title>([^<]*)</title>', svg)
    assert conv and "folded: layer1.0.bn1 (BatchNorm2d)" in conv.group(1)
    data = _page_data(netdef.graph(resnet, tmp_path / "net.html").read_text())
    assert data["folded"]["layer1.0.bn1"] == "layer1.0.conv1/conv"
    assert not any(c["path"].endswith("bn1") for c in data["clusters"].values())  # no empty box for it


def test_only_the_first_divergent_module_is_marked_first(resnet, tmp_path):
    """Its box, not the layers inside it (a shared ReLU's one-layer calls have no box of their own)."""
    report = {"modules": [{"path": "layer1.0", "status": "diverged"}], "first": {"path": "layer1.0"}}
    svg = netdef.graph(resnet, tmp_path / "net.svg", parity=report, collapse=()).read_text()
    assert re.findall(r'<g class="[^"]*\bfirst\b[^"]*" data-(?:cluster|name)="([^"]+)"', svg) == ["layer1.0"]
    report = {"modules": [{"path": "layer1.0.relu", "status": "diverged"}], "first": {"path": "layer1.0.relu"}}
    svg = netdef.graph(resnet, tmp_path / "relu.svg", parity=report, collapse=(), force=True).read_text()
    marked = re.findall(r'<g class="[^"]*\bfirst\b[^"]*" data-(?:cluster|name)="([^"]+)"', svg)
    assert marked and all(name.startswith("layer1.0.relu/") for name in marked)


def test_root_layers_follow_the_modules_that_feed_them(resnet, tmp_path):
    """Layers emitted by the root (the flatten before fc) sit below the modules they read from."""
    svg = netdef.graph(resnet, tmp_path / "net.svg", collapse=()).read_text()
    y = {
        name: float(ty)
        for name, ty in re.findall(r'data-name="([^"]+)" data-type="[^"]*" transform="translate\([^,]+,([^)]+)\)"', svg)
    }
    root_layers = [name for name in y if "/" not in name and not name.startswith("input:")]
    assert root_layers
    for a, b, _ in _tensor_uses(resnet):
        if a in y and b in y:
            assert y[a] < y[b], f"{a} is drawn below {b}, which reads it"


def test_large_networks_start_with_deep_modules_collapsed(tmp_path):
    model = bert.BertModel(bert.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=6, num_attention_heads=2,
                                           intermediate_size=32, max_position_embeddings=16))  # fmt: skip
    model.load_weights({k: np.zeros(p.shape, p.dtype) for k, p in model.state_dict().items()})
    ids = netdef.Input((1, 8), dtype="int64")
    network = netdef.define(model, {"input_ids": ids, "attention_mask": ids, "token_type_ids": ids})
    assert network.network.num_layers > MAX_NODES
    data = _page_data(netdef.graph(network, tmp_path / "net.html").read_text())
    shown, _ = visible(data)
    assert 20 < len(shown) <= MAX_NODES
    # alike modules open alike: every encoder layer shows at the same depth
    kinds = {tuple(sorted(c.split(".", 3)[-1] for c in data["collapsed"] if c.startswith(f"encoder.layer.{i}.")))
             for i in range(6)}  # fmt: skip
    assert len(kinds) == 1
    assert netdef.graph(network, tmp_path / "all.html", collapse=()).read_text().count('"collapsed":[]') == 1
    # with a parity report, the boxes holding the first divergent module stay open, and it is marked
    first = "encoder.layer.3.attention.self.query"
    report = {"modules": [{"path": first, "status": "diverged"}], "first": {"path": first}}
    data = _page_data(netdef.graph(network, tmp_path / "parity.html", parity=report).read_text())
    assert not [c for c in data["collapsed"] if first.startswith(c + ".")]
    assert [cid for cid, c in data["clusters"].items() if c["first"]] == [first]


def test_parity_overlay_highlights_the_first_divergence(network, diverging_report, tmp_path):
    report_file = tmp_path / "parity.json"
    report_file.write_text(json.dumps(diverging_report.to_dict()))
    data = _page_data(netdef.graph(network, tmp_path / "net.html", parity=report_file).read_text())
    assert [c["path"] for c in data["clusters"].values() if c["first"]] == ["fc2"]
    assert data["clusters"]["fc1"]["status"] == "ok" and data["clusters"]["fc2"]["status"] == "diverged"
    tree = module_tree(network, diverging_report)
    assert tree.children["fc2"].first and tree.children["fc1"].status == "ok"


def test_svg_is_well_formed(network, diverging_report, tmp_path):
    path = netdef.graph(network, tmp_path / "net.svg", parity=diverging_report)
    root = ET.parse(path).getroot()
    texts = "".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "CONVOLUTION" in texts and "?\u00d76\u00d728\u00d728 f32" in texts  # a layer, and a tensor's shape
    boxes = {g.get("data-cluster"): g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert boxes["fc2"] == "cluster st-diverged first" and boxes["fc1"] == "cluster st-ok"


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
    assert "lenet.html" in capsys.readouterr().out and "id=data" in out.read_text()
    svg = tmp_path / "lenet.svg"
    assert main(["graph", "netdef.zoo.lenet:LeNet", "-o", str(svg), "--collapse", "fc1", "--collapse", "fc2"]) == 0
    assert {g for g in re.findall(r'class="node collapsed[^"]*" data-cluster="([^"]+)"', svg.read_text())} == {
        "fc1",
        "fc2",
    }


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
    assert "id=data" in path.read_text() and sorted(p.name for p in path.parent.iterdir()) == ["g.html"]


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


needs_browser = pytest.mark.skipif(
    _browser() is None, reason="no headless Chromium installed (apt-get install chromium): the page is not drawn"
)


def _chromium(page, tmp_path, *action: str) -> subprocess.CompletedProcess:
    """Load ``page`` in headless Chromium with ``action`` (--dump-dom, --screenshot=...), its scripts run."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--window-size=1200,900", *action,
         page.as_uri()],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _pixels(png) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)


def _with_script(page, script: str):
    """A copy of ``page`` that runs ``script`` once it has drawn (as a user's clicks would)."""
    copy = page.with_name(f"clicked-{len(list(page.parent.glob('clicked-*')))}-{page.name}")
    copy.write_text(page.read_text().replace("</body>", f"<script>{script}</script></body>"))
    return copy


@needs_browser
def test_page_draws_every_tensor_use_and_collapses_on_click(resnet, tmp_path):
    page = netdef.graph(resnet, tmp_path / "net.html", collapse=())
    dom = _chromium(page, tmp_path, "--dump-dom").stdout
    assert _drawn_edges(dom) == _tensor_uses(resnet)
    # top to bottom: every layer is drawn below the layers it reads (the root's flatten below avgpool...)
    y = {
        html.unescape(name): float(ty)
        for ty, name in re.findall(
            r'<g class="node k-layer[^"]*" id="[^"]*" transform="translate\([^,]+,([^)]+)\)" data-name="([^"]+)"', dom
        )
    }
    assert len(y) == resnet.network.num_layers
    assert all(y[a] < y[b] for a, b, _ in _tensor_uses(resnet) if a in y and b in y)
    # a click on layer1's title collapses it: one node, whose edges are the tensors crossing its boundary
    click = "document.querySelector('[data-cluster=\"layer1\"] .clabel').dispatchEvent(new MouseEvent('click'))"
    clicked = _with_script(page, click)
    dom = _chromium(clicked, tmp_path, "--dump-dom").stdout
    assert _drawn_edges(dom) == _collapsed_uses(resnet, "layer1")
    assert re.search(r'<g class="node collapsed"[^>]* data-cluster="layer1"', dom)
    # a click on a layer shows its attributes, weights' shapes, source line and the batch norm folded into it
    click = "document.querySelector('[data-name=\"conv1/conv\"]').dispatchEvent(new MouseEvent('click'));"
    search = "const q = document.getElementById('q'); q.value = 'downsample'; q.dispatchEvent(new Event('input'));"
    dom = _chromium(_with_script(page, click + search), tmp_path, "--dump-dom").stdout
    info = re.search(r'<aside id="info">(.*?)</aside>', dom, re.S).group(1)
    site = f"{inspect.getsourcefile(resnet18)}:"
    assert "conv1/conv.kernel</td><td>64\u00d73\u00d77\u00d77" in info and "stride_nd</td><td>(2, 2)" in info
    assert "folded into this layer's weights: bn1 (BatchNorm2d)" in info and f"source: {site}" in info
    hits = re.findall(r'<g class="node[^"]* hit"[^>]*data-name="([^"]+)"', dom)
    assert hits and all("downsample" in h for h in hits)
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    _chromium(page, tmp_path, f"--screenshot={before}")
    _chromium(clicked, tmp_path, f"--screenshot={after}")
    # the collapsed node's fill (#e4e9f4) shows only after the click
    fill = lambda pixels: (pixels == [0xE4, 0xE9, 0xF4]).all(axis=1).sum()  # noqa: E731
    assert fill(_pixels(before)) == 0 and fill(_pixels(after)) > 1000


@needs_browser
def test_page_colours_the_first_divergent_module(network, diverging_report, tmp_path):
    page = netdef.graph(network, tmp_path / "net.html", parity=diverging_report)
    shot = tmp_path / "shot.png"
    _chromium(page, tmp_path, f"--screenshot={shot}")
    pixels = _pixels(shot)
    assert len(np.unique(pixels, axis=0)) > 20, "the screenshot is blank"
    reddish = (pixels[:, 0] > 190) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80)
    assert reddish.sum() > 300, "the first divergent module's red box is not drawn"
    plain = netdef.graph(network, tmp_path / "plain.html")
    _chromium(plain, tmp_path, f"--screenshot={shot}")
    pixels = _pixels(shot)
    assert ((pixels[:, 0] > 190) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80)).sum() == 0


def test_netron_serves_the_onnx_graph(network, tmp_path):
    """`netdef graph --netron`: Netron (a real server on localhost) serves the written ONNX file."""
    netron = pytest.importorskip("netron")
    import urllib.request

    from netdef.visualize import open_in_netron

    path = netdef.graph(network, tmp_path / "net.onnx")
    host, port = open_in_netron(path, browse=False, address=("localhost", 0))
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with urllib.request.urlopen(f"http://{host}:{port}/data/net.onnx", timeout=10) as served:
            assert served.read() == path.read_bytes()
    finally:
        netron.stop((host, port))


def test_netron_needs_an_onnx_file_and_the_package(network, tmp_path, monkeypatch, capsys):
    from netdef.visualize import open_in_netron

    with pytest.raises(NetdefError, match=r"write it to a \.onnx file, not net\.html"):
        open_in_netron(tmp_path / "net.html")
    assert main(["graph", "netdef.zoo.lenet:LeNet", "-o", str(tmp_path / "g.svg"), "--netron"]) == 2
    assert "--netron opens the graph as ONNX: give -o NAME.onnx" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "netron" else real(name, *a))
    assert main(["graph", "netdef.zoo.lenet:LeNet", "-o", str(tmp_path / "g.onnx"), "--netron"]) == 2
    assert "--netron needs the netron package: pip install netron" in capsys.readouterr().err
    assert not (tmp_path / "g.onnx").exists()
