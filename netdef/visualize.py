"""Pictures of a defined network: self-contained HTML, SVG, or an ONNX graph of the structure for Netron."""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netdef._io import atomic_write
from netdef.checks import new_output
from netdef.define import Network
from netdef.errors import NetdefError

FORMATS = (".html", ".svg", ".onnx")
#: the ONNX domain of nodes that stand for TensorRT layers
ONNX_DOMAIN = "netdef.tensorrt"


@dataclass
class LayerView:
    """One TensorRT layer as the picture shows it."""

    index: int
    name: str
    type: str
    module: str
    inputs: list[str]
    outputs: list[tuple[str, tuple, str]]  # (tensor name, shape with dims as int or name, dtype)
    weights: int


@dataclass
class ModuleView:
    """A node of the module hierarchy: its own layers, its children, and what parity said of it."""

    path: str
    cls: str = ""
    site: str | None = None
    status: str | None = None  # 'ok', 'diverged', 'no twin' (from a parity report)
    first: bool = False
    layers: list[LayerView] = field(default_factory=list)
    children: dict[str, ModuleView] = field(default_factory=dict)

    def all_layers(self) -> int:
        return len(self.layers) + sum(c.all_layers() for c in self.children.values())


def _dim_names(network: Network) -> dict[str, list]:
    """Network input name -> its dims, dynamic ones named ``<input>.shape[i]``."""
    names = {}
    for name, spec in network.inputs.items():
        names[name] = [d if d >= 0 else f"{name}.shape[{i}]" for i, d in enumerate(spec.shape)]
    return names


def _shape(itensor, inputs: dict[str, list]) -> tuple:
    if itensor.name in inputs:
        return tuple(inputs[itensor.name])
    return tuple(d if d >= 0 else "?" for d in itensor.shape)


def _weight_layer(key: str) -> str:
    """The layer a named weight belongs to: 'conv1/conv.kernel' -> 'conv1/conv'; a key without a role suffix is
    the layer's own name ('fc/linear_weight', a constant layer)."""
    layer_name, _, role = key.rpartition(".")
    return key if "/" in role or not layer_name else layer_name


def _layer_views(network: Network) -> list[LayerView]:
    net = network.network
    weight_counts: dict[str, int] = {}
    for key, arr in network.named_weights.items():
        layer_name = _weight_layer(key)
        weight_counts[layer_name] = weight_counts.get(layer_name, 0) + int(arr.size)
    inputs = _dim_names(network)
    views = []
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        weights = weight_counts.get(layer.name, 0)
        if not weights and layer.type.name == "CONSTANT" and outs and all(d >= 0 for d in outs[0].shape):
            weights = math.prod(outs[0].shape)
        views.append(
            LayerView(
                index=i,
                name=layer.name,
                type=layer.type.name,
                module=layer.name.rsplit("/", 1)[0] if "/" in layer.name else "",
                inputs=[t.name for j in range(layer.num_inputs) if (t := layer.get_input(j)) is not None],
                outputs=[(o.name, _shape(o, inputs), o.dtype.name) for o in outs],
                weights=weights,
            )
        )
    return views


def _parity_rows(parity) -> tuple[dict[str, str], str | None]:
    """Module path -> worst status, and the first divergent module's path, from a report, dict or JSON file."""
    if parity is None:
        return {}, None
    if isinstance(parity, (str, os.PathLike)):
        try:
            parity = json.loads(Path(parity).read_text())
        except (OSError, ValueError) as exc:
            raise NetdefError(f"{parity}: not a `netdef parity --json` report ({exc})") from None
    if hasattr(parity, "to_dict"):
        parity = parity.to_dict()
    if not isinstance(parity, dict) or "modules" not in parity:
        raise NetdefError("the parity report must be a `netdef parity --json` file or a ParityReport")
    rank = {"ok": 0, "no twin": 1, "diverged": 2}
    status: dict[str, str] = {}
    for row in parity["modules"]:
        old = status.get(row["path"])
        if old is None or rank.get(row["status"], 0) > rank.get(old, 0):
            status[row["path"]] = row["status"]
    first = parity.get("first")
    return status, None if first is None else first["path"]


def module_tree(network: Network, parity=None) -> ModuleView:
    """The module hierarchy of ``network`` with every layer under the module that emitted it."""
    status, first = _parity_rows(parity)
    root = ModuleView("", cls=network.model_name)
    by_path = {"": root}

    def node(path: str) -> ModuleView:
        if path not in by_path:
            parent = node(path.rsplit(".", 1)[0] if "." in path else "")
            by_path[path] = parent.children[path] = ModuleView(path)
        return by_path[path]

    for call in network.module_calls:
        view = node(call.path)
        view.cls = type(call.module).__name__
        view.site = view.site or call.site
    for layer in _layer_views(network):
        node(layer.module).layers.append(layer)
    for path, view in by_path.items():
        view.status = status.get(path)
        view.first = first is not None and path == first
    return root


def graph_format(path: str | os.PathLike) -> str:
    """The format ``path``'s suffix picks (one of FORMATS); NetdefError naming them otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise NetdefError(f"{path}: write the graph as one of {', '.join(FORMATS)}")
    return suffix


def graph(
    network: Network, path: str | os.PathLike, parity=None, weights: bool = False, *, force: bool = False
) -> Path:
    """Write a picture of ``network`` to ``path`` (.html, .svg or .onnx, by suffix); return the path.

    ``parity`` (a ``ParityReport``, its dict, or a ``netdef parity --json`` file) colours every module by its
    parity status and highlights the first divergent one. ``weights=True`` puts the weight values into the
    ONNX file (elided otherwise: the graph is for looking at). An existing file at ``path`` (a runnable ONNX
    model, say) is replaced only with ``force=True``; missing folders are created.
    """
    suffix = graph_format(path)
    if not isinstance(force, bool):
        raise NetdefError(f"graph(): force must be True or False, got {force!r}")
    path = Path(new_output(path, "graph(): path", force))
    if suffix == ".onnx":
        data = _onnx(network, weights)
        with atomic_write(path) as f:
            f.write(data)
        return path
    tree = module_tree(network, parity)
    text = _html(network, tree) if suffix == ".html" else _svg(network, tree)
    with atomic_write(path, "w") as f:
        f.write(text)
    return path


# -- HTML ---------------------------------------------------------------------------------------------

_CSS = """
body{font:13px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:18px} .meta{color:#555;margin-bottom:1em}
details{margin-left:1.2em;border-left:2px solid #ddd;padding-left:.6em}
summary{cursor:pointer;padding:2px 0} summary .cls{color:#555} summary .site{color:#888;font-size:11px}
.ok>summary{border-left:4px solid #3a3;padding-left:4px} .diverged>summary{border-left:4px solid #d33;padding-left:4px}
.first>summary{background:#fdd;font-weight:bold} .notwin>summary{border-left:4px solid #aaa;padding-left:4px}
table{border-collapse:collapse;margin:4px 0 8px 1.2em} td,th{padding:1px 8px;text-align:left;font-size:12px}
th{color:#555;border-bottom:1px solid #ccc} td.type{font-family:monospace;color:#036}
.badge{font-size:11px;border-radius:3px;padding:0 4px;margin-left:4px;color:#fff}
.b-ok{background:#3a3} .b-diverged{background:#d33} .b-notwin{background:#888}
"""


def _html(network: Network, root: ModuleView) -> str:
    esc = html.escape

    def shapes(layer: LayerView) -> str:
        return "<br>".join(f"[{', '.join(map(str, s))}] {d}" for _, s, d in layer.outputs)

    def table(layers: list[LayerView]) -> str:
        rows = "".join(
            f"<tr><td>{lv.index}</td><td>{esc(lv.name)}</td><td class=type>{esc(lv.type)}</td>"
            f"<td>{esc(shapes(lv))}</td><td>{lv.weights or ''}</td></tr>"
            for lv in layers
        )
        head = "<tr><th>#</th><th>layer</th><th>TensorRT type</th><th>output shape, dtype</th><th>weights</th></tr>"
        return f"<table>{head}{rows}</table>"

    def block(view: ModuleView, depth: int) -> str:
        classes = [{"ok": "ok", "diverged": "diverged", "no twin": "notwin"}.get(view.status or "", "")]
        if view.first:
            classes.append("first")
        badge = ""
        if view.status:
            label = "first divergence" if view.first else view.status
            badge = f'<span class="badge b-{classes[0]}">{esc(label)}</span>'
        site = f" <span class=site>{esc(view.site)}</span>" if view.site else ""
        name = esc(view.path.rsplit(".", 1)[-1] if view.path else "<root>")
        summary = f"<b>{name}</b> <span class=cls>{esc(view.cls)}</span> · {view.all_layers()} layers{badge}{site}"
        inner = (table(view.layers) if view.layers else "") + "".join(
            block(c, depth + 1) for c in view.children.values()
        )
        opened = " open" if depth == 0 or view.first or view.status == "diverged" else ""
        return f'<details class="{" ".join(c for c in classes if c)}"{opened}><summary>{summary}</summary>{inner}</details>'

    dims = _dim_names(network)
    inputs = ", ".join(f"{esc(k)}: [{', '.join(map(str, dims[k]))}] {esc(v.dtype)}" for k, v in network.inputs.items())
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{esc(network.model_name)} — netdef graph</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(network.model_name)}</h1><div class=meta>{network.network.num_layers} TensorRT layers · "
        f"precision {esc(network.precision)} · inputs {inputs} · outputs {esc(', '.join(network.outputs))}</div>"
        f"{block(root, 0)}</body></html>\n"
    )


# -- SVG ----------------------------------------------------------------------------------------------

_FILL = {"ok": "#e6f4e6", "diverged": "#fbe0e0", "no twin": "#eeeeee", None: "#f4f6fa"}


def _svg(network: Network, root: ModuleView) -> str:
    """Top-level modules as stacked groups, each listing its layers; nested modules indent."""
    esc = html.escape
    line, width = 16, 760
    items: list[str] = []
    y = 40

    def draw(view: ModuleView, depth: int) -> None:
        nonlocal y
        x = 10 + depth * 18
        top = y
        y += line + 4
        for lv in view.layers:
            shape = " ".join(f"[{', '.join(map(str, s))}]" for _, s, _ in lv.outputs)
            items.append(
                f'<text x="{x + 10}" y="{y}" font-size="11"><tspan fill="#036">{esc(lv.type)}</tspan> '
                f"{esc(lv.name)} {esc(shape)}</text>"
            )
            y += line
        for child in view.children.values():
            draw(child, depth + 1)
        y += 6
        stroke = "#d33" if view.first else "#99a"
        title = f"{view.path or '<root>'} ({view.cls})" + (f" — {view.status}" if view.status else "")
        items.insert(
            0,
            f'<rect x="{x}" y="{top - 12}" width="{width - x - 10}" height="{y - top + 2}" rx="4" '
            f'fill="{_FILL.get(view.status, _FILL[None])}" fill-opacity="0.5" stroke="{stroke}" '
            f'stroke-width="{3 if view.first else 1}"/>',
        )
        items.append(f'<text x="{x + 4}" y="{top + 2}" font-size="12" font-weight="bold">{esc(title)}</text>')

    draw(root, 0)
    head = f'<text x="10" y="20" font-size="15" font-weight="bold">{esc(network.model_name)}</text>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
        f'font-family="system-ui,sans-serif"><rect width="100%" height="100%" fill="white"/>{head}'
        + "".join(items)
        + "</svg>\n"
    )


# -- ONNX ---------------------------------------------------------------------------------------------


def _onnx(network: Network, weights: bool) -> bytes:
    """The structure as an ONNX model: one node per TensorRT layer, op_type its layer type, in ONNX_DOMAIN."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise NetdefError("writing .onnx needs the onnx package: pip install onnx") from None
    from netdef._trt import dtype_to_numpy

    def value_info(name: str, itensor_or_dims, dtype) -> onnx.ValueInfoProto:
        elem = helper.np_dtype_to_tensor_dtype(dtype_to_numpy(dtype))
        dims = [d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) else None) for d in itensor_or_dims]
        return helper.make_tensor_value_info(name, elem, dims)

    net = network.network
    nodes, initializers = [], []
    modules = {}
    for call in network.module_calls:
        modules.setdefault(call.path, (type(call.module).__name__, call.site))
    views = _layer_views(network)
    # with weights, each becomes an initializer fed to its layer's node (where Netron shows it), under a name no
    # tensor of the network has: a constant layer's output tensor is often named like its weight
    weight_inputs: dict[str, list[str]] = {}
    if weights:
        taken = {t for lv in views for t in lv.inputs} | {o[0] for lv in views for o in lv.outputs}
        for key, arr in network.named_weights.items():
            name = key
            while name in taken:
                name += ":value"
            taken.add(name)
            initializers.append(onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name=name))
            weight_inputs.setdefault(_weight_layer(key), []).append(name)
    for lv in views:
        cls, site = modules.get(lv.module, ("", None))
        attrs = {"module": lv.module, "module_class": cls, "weights": lv.weights}
        if site:
            attrs["source"] = site
        inputs = lv.inputs + weight_inputs.pop(lv.name, [])
        nodes.append(
            helper.make_node(lv.type, inputs, [o[0] for o in lv.outputs], name=lv.name, domain=ONNX_DOMAIN, **attrs)
        )
    dims = _dim_names(network)
    graph_inputs = [
        value_info(net.get_input(i).name, dims[net.get_input(i).name], net.get_input(i).dtype)
        for i in range(net.num_inputs)
    ]
    graph_outputs = [value_info(t.name, t.shape, t.dtype) for t in (net.get_output(i) for i in range(net.num_outputs))]
    g = helper.make_graph(nodes, network.model_name or "netdef", graph_inputs, graph_outputs, initializers)
    model = helper.make_model(
        g,
        producer_name="netdef",
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ONNX_DOMAIN, 1)],
        doc_string="TensorRT layers of a netdef network (structure only; not runnable by ONNX runtimes)",
    )
    return model.SerializeToString()
