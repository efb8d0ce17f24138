"""Pictures of a defined network: self-contained HTML, SVG, or an ONNX graph of the structure for Netron."""

from __future__ import annotations

import functools
import html
import inspect
import itertools
import json
import math
import os
from collections.abc import Iterable
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
    #: (refit name, shape) of each named weight the layer holds
    weight_shapes: list[tuple[str, tuple]] = field(default_factory=list)
    #: the layer's own TensorRT attributes (kernel_size_nd, op, axes...), as text
    attrs: dict[str, str] = field(default_factory=dict)
    #: modules whose affine (a batch norm) was folded into this layer's weights
    folded: list[str] = field(default_factory=list)


@dataclass
class ModuleView:
    """A node of the module hierarchy: its own layers, its children, and what parity said of it."""

    path: str
    cls: str = ""
    site: str | None = None
    status: str | None = None  # 'ok', 'diverged', 'no twin' (from a parity report)
    first: bool = False
    #: the layer this module's affine was folded into (a batch norm after a conv: the module emits no layer)
    folded_into: str | None = None
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


#: layer attributes that hold weight arrays (shown as shapes) or that TensorRT logs a warning for when unset
_ARRAY_ATTRS = frozenset({"kernel", "bias", "weights", "scale", "shift", "power", "scales"})


@functools.cache
def _base_attributes() -> frozenset[str]:
    """The attributes every layer has (``ILayer``'s), left out of a layer's own attributes."""
    from netdef._trt import trt

    return frozenset(dir(trt.ILayer))


def _layer_attrs(layer) -> dict[str, str]:
    """The attributes of ``layer``'s own TensorRT class (``IConvolutionLayer.stride_nd``...), as text."""
    kind = layer.type.name  # read before the cast: an activation layer's ``type`` is then its activation
    from netdef._trt import layer_classes

    base = _base_attributes()
    cls = layer_classes().get(kind)
    if cls is None:
        return {}
    saved, layer.__class__ = layer.__class__, cls  # the layer's own class, as add_*() returned it
    attrs = {}
    try:
        if kind in ("ACTIVATION", "POOLING"):  # their kind of activation or pooling is their ``type``
            attrs[kind.lower()] = layer.type.name
        for name in dir(cls):
            if name.startswith("_") or name in base or name in _ARRAY_ATTRS:
                continue
            if not isinstance(getattr(cls, name), property):
                continue
            try:
                value = getattr(layer, name)
            except Exception:  # an attribute this layer does not use (TensorRT raises for some)
                continue
            if isinstance(value, np.ndarray) or value is None:
                continue
            enum = hasattr(value, "name") and hasattr(type(value), "__members__")
            attrs[name] = value.name if enum else str(value)
    finally:
        layer.__class__ = saved
    return attrs


def _layer_views(network: Network) -> list[LayerView]:
    net = network.network
    weight_counts: dict[str, int] = {}
    weight_shapes: dict[str, list[tuple[str, tuple]]] = {}
    for key, arr in network.named_weights.items():
        layer_name = _weight_layer(key)
        weight_counts[layer_name] = weight_counts.get(layer_name, 0) + int(arr.size)
        weight_shapes.setdefault(layer_name, []).append((key, tuple(arr.shape)))
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
                weight_shapes=weight_shapes.get(layer.name, []),
                attrs=_layer_attrs(layer),
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


def _model_source(cls: type) -> str | None:
    """'file:line' of ``cls.forward`` (of the class where no forward is found), for the root module's link."""
    target = getattr(cls, "forward", cls)
    try:
        return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"
    except (OSError, TypeError):
        return None


def module_tree(network: Network, parity=None, views: list[LayerView] | None = None) -> ModuleView:
    """The module hierarchy of ``network`` with every layer under the module that emitted it (``views``:
    ``_layer_views(network)`` when already made)."""
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
    views = _layer_views(network) if views is None else views
    for layer in views:
        node(layer.module).layers.append(layer)
    # the root's call site is wherever define() was called (a console script, say): link its forward instead
    root_call = next((c for c in network.module_calls if c.path == ""), None)
    if root_call is not None:
        root.site = _model_source(type(root_call.module))
    producer = {name: lv for lv in views for name, _, _ in lv.outputs}
    for call in network.module_calls:
        if call.folded_into is not None and call.outputs and (lv := producer.get(call.outputs[0].name)):
            node(call.folded_into).folded_into = lv.name
            if call.folded_into not in lv.folded:
                lv.folded.append(call.folded_into)
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
    network: Network,
    path: str | os.PathLike,
    parity=None,
    weights: bool = False,
    *,
    force: bool = False,
    collapse: Iterable[str] | None = None,
) -> Path:
    """Write a picture of ``network`` to ``path`` (.html, .svg or .onnx, by suffix); return the path.

    HTML and SVG draw the dataflow: layers as nodes, tensors as edges labelled with shape and dtype, top to
    bottom, modules as boxes. ``collapse`` names modules drawn as one node each (the page expands them on a
    double-click); by default the deeper modules of a network of more than MAX_NODES layers start collapsed,
    ``collapse=()`` expands everything. ``parity`` (a ``ParityReport``, its dict, or a ``netdef parity --json``
    file) colours every module by its parity status and highlights the first divergent one. ``weights=True`` puts the weight values into the
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
    flow = dataflow(network, parity, collapse)
    text = _html(network, flow) if suffix == ".html" else _svg(network, flow)
    with atomic_write(path, "w") as f:
        f.write(text)
    return path


def open_in_netron(path: str | os.PathLike, browse: bool = True, address=None) -> tuple[str, int]:
    """Serve the ONNX file ``path`` (written by ``graph``) in Netron on localhost and open it in a browser; returns
    the (host, port) it serves on. Needs the ``netron`` package; ``netron.stop()`` ends the server."""
    import importlib.util

    if Path(path).suffix.lower() != ".onnx":
        raise NetdefError(f"Netron opens the graph as ONNX: write it to a .onnx file, not {Path(path).name}")
    if importlib.util.find_spec("netron") is None:
        raise NetdefError("opening the graph in Netron needs the netron package: pip install netron")
    import netron

    served = netron.start(str(path), address=address, browse=browse)
    if not served:
        raise NetdefError(f"Netron could not serve {path}")
    return served


# -- dataflow -----------------------------------------------------------------------------------------

_DTYPE_SHORT = {"FLOAT": "f32", "HALF": "f16", "BF16": "bf16", "INT32": "i32", "INT64": "i64", "INT8": "i8"}
_DTYPE_SHORT |= {"UINT8": "u8", "BOOL": "bool", "FP8": "fp8", "INT4": "i4", "FP4": "fp4"}


def _within(module: str, path: str) -> bool:
    return path == "" or module == path or module.startswith(path + ".")


def _call_layers(call, views: list[LayerView], producer: dict[str, LayerView]) -> set[int]:
    """Indices of the layers one call of a module emitted: back from its outputs, inside its module, up to its
    inputs (a module called several times, like a shared ReLU, is a box per call)."""
    stop = {t.name for t in call.inputs}
    seen: set[int] = set()
    todo = [t.name for t in call.outputs]
    while todo:
        name = todo.pop()
        lv = producer.get(name)
        if name in stop or lv is None or lv.index in seen or not _within(lv.module, call.path):
            continue
        seen.add(lv.index)
        todo.extend(lv.inputs)
    return seen


#: a first view shows at most this many nodes: deeper modules start collapsed (expand them in the page)
MAX_NODES = 160


def _default_collapse(nodes: list[dict], clusters: dict[str, dict]) -> list[str]:
    """The boxes to shut so that at most MAX_NODES nodes show: start with every top-level module shut, then
    open the largest shut one while what it shows in its place still fits (nothing shut when all fits)."""
    if len(nodes) <= MAX_NODES:
        return []
    inside: dict[str | None, int] = {}  # box -> how many nodes show when it is open and its children shut
    for node in nodes:
        inside[node["chain"][-1] if node["chain"] else None] = (
            inside.get(node["chain"][-1] if node["chain"] else None, 0) + 1
        )
    for c in clusters.values():
        inside[c["parent"]] = inside.get(c["parent"], 0) + 1
    shut = {cid for cid, c in clusters.items() if c["parent"] is None}
    shown = inside.get(None, 0)
    kept: set[tuple] = set()  # kinds of box that stay shut: opening all of them would not fit
    while True:
        kinds: dict[tuple, list[str]] = {}  # alike boxes (class, size) open together: the 12 layers of a BERT
        for cid in shut:
            kind = (clusters[cid]["cls"], clusters[cid]["layers"])
            if kind not in kept:
                kinds.setdefault(kind, []).append(cid)
        if not kinds:
            return sorted(shut)
        kind = max(kinds, key=lambda k: k[1])
        more = sum(inside.get(cid, 0) - 1 for cid in kinds[kind])
        if shown + more > MAX_NODES:
            kept.add(kind)
            continue
        shown += more
        opened = set(kinds[kind])
        shut = (shut - opened) | {child for child, c in clusters.items() if c["parent"] in opened}


def dataflow(network: Network, parity=None, collapse: Iterable[str] | None = None) -> dict:
    """The network as a dataflow graph (JSON-ready): nodes are layers and the network's inputs and outputs,
    edges are (producer, consumer, tensor) for every tensor use, and ``clusters`` are module calls, each node
    listing the clusters it sits in (outermost first). ``collapse`` names the modules drawn collapsed (one node
    whose edges are the tensors crossing its boundary); None: the deeper modules of a large network, so that at
    most MAX_NODES nodes show at first; ``()``: none."""
    views = _layer_views(network)
    tree = module_tree(network, parity, views)
    by_path: dict[str, ModuleView] = {}

    def walk(view: ModuleView) -> None:
        by_path[view.path] = view
        for child in view.children.values():
            walk(child)

    walk(tree)
    producer = {name: lv for lv in views for name, _, _ in lv.outputs}
    calls: dict[str, list] = {}
    for call in network.module_calls:
        if call.path:
            calls.setdefault(call.path, []).append(call)
    # which call of a module called more than once each of its layers belongs to
    call_of: dict[tuple[str, int], int] = {}
    for path, made in calls.items():
        if len(made) > 1:
            for k, call in enumerate(made):
                for index in _call_layers(call, views, producer):
                    call_of.setdefault((path, index), k)
    clusters: dict[str, dict] = {}
    counts: dict[str, int] = {}

    def chain_of(lv: LayerView) -> list[str]:
        chain, parent = [], None
        parts = lv.module.split(".") if lv.module else []
        for i in range(len(parts)):
            path = ".".join(parts[: i + 1])
            if path not in calls:
                continue  # a container never called itself (a ModuleList): no box of its own
            made = calls[path]
            k = call_of.get((path, lv.index)) if len(made) > 1 else 0
            cid = path if len(made) == 1 or k is None else f"{path}@{k}"
            if cid not in clusters:
                view, call = by_path[path], made[k or 0]
                # named within the box around it: "model.0" at the top, "0" inside "layer1"
                outer = clusters[parent]["path"] + "." if parent is not None else ""
                label = path.removeprefix(outer) + (f" (call {k + 1} of {len(made)})" if cid != path else "")
                clusters[cid] = {
                    "path": path, "label": label, "cls": view.cls, "site": call.site, "status": view.status,
                    "first": view.first, "parent": parent,
                }  # fmt: skip
            counts[cid] = counts.get(cid, 0) + 1
            chain.append(cid)
            parent = cid
        return chain

    dims = _dim_names(network)
    net = network.network
    tensors: dict[str, list] = {}

    def tensor(name: str, shape: tuple, dtype: str) -> None:
        tensors[name] = ["\u00d7".join(map(str, shape)) or "scalar", _DTYPE_SHORT.get(dtype, dtype.lower()), dtype]

    nodes, edges = [], []
    for i in range(net.num_inputs):
        t = net.get_input(i)
        tensor(t.name, tuple(dims.get(t.name, t.shape)), t.dtype.name)
        nodes.append({"id": f"input:{t.name}", "name": t.name, "kind": "input", "type": "input", "chain": [],
                      "ins": [], "outs": [t.name]})  # fmt: skip
    ids = {}
    for lv in views:
        ids[lv.index] = lv.name if lv.name not in ids.values() else f"{lv.name}#{lv.index}"
    for lv in views:
        for name, shape, dtype in lv.outputs:
            tensor(name, shape, dtype)
        folded = [f"{p} ({by_path[p].cls})" for p in lv.folded]
        nodes.append(
            {"id": ids[lv.index], "name": lv.name, "kind": "layer", "type": lv.type, "chain": chain_of(lv),
             "module": lv.module, "ins": list(dict.fromkeys(lv.inputs)), "outs": [o[0] for o in lv.outputs],
             "weights": [[k, list(s)] for k, s in lv.weight_shapes], "params": lv.weights, "attrs": lv.attrs,
             "folded": folded, "site": by_path[lv.module].site if lv.module in by_path else None,
             "op": lv.attrs.get("op") or lv.attrs.get("activation") or lv.attrs.get("pooling")}
        )  # fmt: skip
    source = {name: ids[lv.index] for name, lv in producer.items()}
    source |= {net.get_input(i).name: f"input:{net.get_input(i).name}" for i in range(net.num_inputs)}
    for node in nodes:
        for name in node["ins"]:
            edges.append([source[name], node["id"], name])
    for i in range(net.num_outputs):
        t = net.get_output(i)
        nodes.append({"id": f"output:{t.name}", "name": t.name, "kind": "output", "type": "output", "chain": [],
                      "ins": [t.name], "outs": []})  # fmt: skip
        edges.append([source[t.name], f"output:{t.name}", t.name])
    # a module of one layer needs no box (the layer's name says its module): drop those, innermost first
    for cid in sorted(clusters, key=lambda c: -len(list(_ancestors(clusters, c)))):
        if counts[cid] == 1 and not any(c["parent"] == cid for c in clusters.values()):
            del clusters[cid]
    for node in nodes:
        node["chain"] = [c for c in node["chain"] if c in clusters]
    for cid, c in clusters.items():
        c["layers"] = counts[cid]
    folded_modules = {p: v.folded_into for p, v in by_path.items() if v.folded_into}
    status, first = _parity_rows(parity)
    boxed = {c["path"] for c in clusters.values()}
    for c in clusters.values():
        c["first_inside"] = first is not None and first.startswith(c["path"] + ".")
    for node in nodes:  # a module of one layer has no box: its layer shows the module's parity status
        module = node.get("module")
        if module is not None and module not in boxed and module in by_path:
            node["status"] = by_path[module].status
            node["first"] = (
                first is not None and first not in boxed and (module == first or module.startswith(first + "."))
            )
    if isinstance(collapse, str):
        raise NetdefError(f"collapse: give a list of module paths, e.g. [{collapse!r}], not a string")
    if collapse is None:
        collapse = [cid for cid in _default_collapse(nodes, clusters) if not clusters[cid]["first_inside"]]
    unknown = [p for p in collapse if p not in clusters and not any(c["path"] == p for c in clusters.values())]
    if unknown:
        raise NetdefError(
            f"collapse: {network.model_name} has no box for module {unknown[0]!r} (a module of one layer or none "
            "has none); modules with boxes: " + ", ".join(sorted({c["path"] for c in clusters.values()})[:12])
        )
    collapse = set(collapse)
    collapsed = [cid for cid, c in clusters.items() if cid in collapse or c["path"] in collapse]
    root = by_path[""]
    return {
        "model": network.model_name, "cls": root.cls, "site": root.site, "precision": network.precision,
        "nodes": nodes, "edges": edges, "tensors": tensors, "clusters": clusters, "collapsed": collapsed,
        "folded": folded_modules, "first": first, "status": status.get(""),
    }  # fmt: skip


def visible(flow: dict, collapsed=None) -> tuple[dict[str, dict], list[tuple[str, str, str]]]:
    """What is drawn with the clusters in ``collapsed`` (default: the flow's own) shut: node id -> node (a shut
    cluster is one node, id ``module:<cluster>``) and the edges between them, one per (from, to, tensor)."""
    shut = set(flow["collapsed"] if collapsed is None else collapsed)

    def rep(node: dict) -> str:
        return next((f"module:{c}" for c in node["chain"] if c in shut), node["id"])

    shown: dict[str, dict] = {}
    by_id = {}
    for node in flow["nodes"]:
        r = rep(node)
        by_id[node["id"]] = r
        if r not in shown:
            cid = r.removeprefix("module:")
            shown[r] = node if r == node["id"] else {"id": r, "kind": "module", "cluster": cid,
                                                     "chain": node["chain"][: node["chain"].index(cid)]}  # fmt: skip
    edges = list(dict.fromkeys((by_id[a], by_id[b], t) for a, b, t in flow["edges"] if by_id[a] != by_id[b]))
    return shown, edges


# -- HTML ---------------------------------------------------------------------------------------------

_ASSETS = Path(__file__).parent


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


_CSS = """
html,body{margin:0;height:100%;font:13px system-ui,sans-serif;color:#222}
header{padding:6px 10px;border-bottom:1px solid #ccc;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
header .meta{color:#555} header input{width:220px} #msg{color:#666;font-size:12px}
#main{display:flex;height:calc(100% - 44px)} #view{flex:1;overflow:auto;background:#fcfcfd}
#info{width:360px;overflow:auto;border-left:1px solid #ccc;padding:8px 12px;font-size:12px}
#info table{border-collapse:collapse;margin-bottom:6px} #info td,#info th{padding:1px 6px;text-align:left;vertical-align:top}
#info th{color:#555;border-bottom:1px solid #ccc} #info h3{margin:4px 0;word-break:break-all} #info h4{margin:8px 0 2px}
.site{color:#666;word-break:break-all} .foldnote{background:#eef6ff;padding:4px}
.cluster rect{fill:#eef1f7;fill-opacity:.45;stroke:#8894aa;stroke-width:1}
.clabel{font-size:11px;fill:#345;cursor:pointer;font-weight:600}
.node{cursor:pointer} .node rect{fill:#fff;stroke:#5b6b88;stroke-width:1.2}
.node .l1{font-size:10px;font-weight:700;fill:#1d4e89} .node .l2{font-size:11px;fill:#222}
.node.const rect{fill:#f6f6f6;stroke:#aaa} .node.const .l1{fill:#777}
.k-input rect,.k-output rect{fill:#e9f7e9;stroke:#393}
.node.folds rect{stroke:#1d6fd1;stroke-width:2} .fold{font-size:8px;fill:#1d6fd1;font-weight:700}
.node.collapsed rect{fill:#e4e9f4;stroke:#345;stroke-width:2}
.edge path{fill:none;stroke:#8a93a6;stroke-width:1.1} .edge text{font-size:9px;fill:#556;paint-order:stroke;stroke:#fcfcfd;stroke-width:3px}
.st-ok>rect,.node.st-ok rect{stroke:#2a2;stroke-width:2} .st-notwin>rect,.node.st-notwin rect{stroke:#999;stroke-dasharray:4 2}
.st-diverged>rect,.node.st-diverged rect{stroke:#d33;stroke-width:2}
.first>rect{fill:#f33;fill-opacity:.35;stroke:#d00;stroke-width:4} .node.first rect{fill:#fbb;fill-opacity:1;stroke:#d00;stroke-width:4}
.hit rect{stroke:#f90 !important;stroke-width:4 !important;fill:#fff3d6 !important}
"""


def _json_script(data: dict) -> str:
    """JSON safe inside a <script> element (no '<' can close it)."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def _html(network: Network, flow: dict) -> str:
    esc = html.escape
    dims = _dim_names(network)
    inputs = ", ".join(f"{esc(k)}: [{', '.join(map(str, dims[k]))}] {esc(v.dtype)}" for k, v in network.inputs.items())
    source = f" · source {esc(flow['site'])}" if flow["site"] else ""
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{esc(network.model_name)} — netdef graph</title><style>{_CSS}</style></head><body>"
        f"<header><b>{esc(network.model_name)}</b><span class=meta>{network.network.num_layers} TensorRT layers · "
        f"precision {esc(network.precision)} · inputs {inputs}{source}</span>"
        "<input id=q placeholder='search layers and modules (Enter: next)'>"
        "<button id=exp>expand all</button><button id=col>collapse all</button>"
        "<button id=zout>\u2212</button><button id=zin>+</button><button id=fit>fit width</button><span id=msg></span>"
        "</header><div id=main><div id=view><svg id=graph xmlns='http://www.w3.org/2000/svg'></svg></div>"
        "<aside id=info>Click a layer for its attributes, tensors and weights; click a module's title to "
        "collapse it, double-click a collapsed module to expand it.</aside></div>"
        f"<script type=application/json id=data>{_json_script(flow)}</script>"
        f"<script>{_asset('_vendor/dagre/dagre.min.js')}</script>"
        f"<script>{_asset('_graph/graph.js')}</script></body></html>\n"
    )


# -- SVG: the same graph, laid out here (layered, top to bottom) ---------------------------------------

_NODE_H, _RANK_GAP, _NODE_GAP = 36, 44, 16


def _text_width(text: str, px: float) -> float:
    return max(40.0, len(text) * px * 0.58 + 16)


def _layout(nodes: dict[str, dict], edges: list[tuple[str, str, str]]):
    """Longest-path layers, barycentric ordering (kept together by module), then x by averaging neighbours.
    Returns node id -> (x, y, width) of its centre, and each edge's points; long edges bend through one
    virtual point per layer they cross."""
    order = list(nodes)
    position = {v: i for i, v in enumerate(order)}
    preds: dict[str, list[str]] = {v: [] for v in order}
    for a, b, _ in edges:
        if position[a] < position[b]:
            preds[b].append(a)
    rank = {}
    for v in order:
        rank[v] = max((rank[u] + 1 for u in preds[v]), default=0)
    # then each node as low as its readers allow: a constant, or the anchors a detection head computes from
    # constants, sits just above its first reader instead of at the top with long edges down
    succs: dict[str, list[str]] = {v: [] for v in order}
    for b, ps in preds.items():
        for a in ps:
            succs[a].append(b)
    for v in reversed(order):
        if succs[v]:
            rank[v] = min(rank[w] for w in succs[v]) - 1
    # virtual points for edges spanning several ranks: chain = the modules both ends share
    chain = {v: n.get("chain", []) for v, n in nodes.items()}
    width = {
        v: max(_text_width(n["label"][0], 11), _text_width(n["label"][1], 11)) + (22 if n.get("folded") else 0)
        for v, n in nodes.items()
    }
    route: dict[int, list[str]] = {}
    for i, (a, b, _) in enumerate(edges):
        lo, hi = sorted((rank[a], rank[b]))
        common = []
        for x, y in zip(chain[a], chain[b]):
            if x != y:
                break
            common.append(x)
        route[i] = []
        for r in range(lo + 1, hi):
            v = f"~{i}.{r}"
            rank[v], chain[v], width[v] = r, common, 8
            route[i].append(v)
    layers: dict[int, list[str]] = {}
    for v in rank:
        layers.setdefault(rank[v], []).append(v)
    up: dict[str, list[str]] = {v: [] for v in rank}
    down: dict[str, list[str]] = {v: [] for v in rank}
    for i, (a, b, _) in enumerate(edges):
        if rank[a] == rank[b]:
            continue
        path = [a, *route[i], b] if rank[a] < rank[b] else [b, *route[i], a]
        for u, w in itertools.pairwise(path):
            down[u].append(w)
            up[w].append(u)
    index = {v: i for r in layers for i, v in enumerate(layers[r])}

    def sweep(ranks, neighbours):
        for r in ranks:
            bary = {}
            for v in layers[r]:
                ns = neighbours[v]
                bary[v] = sum(index[u] for u in ns) / len(ns) if ns else index[v]
            groups: dict[tuple, list[float]] = {}
            for v in layers[r]:
                for depth in range(1, len(chain[v]) + 1):
                    groups.setdefault(tuple(chain[v][:depth]), []).append(bary[v])

            mean = {g: sum(b) / len(b) for g, b in groups.items()}
            layers[r].sort(key=lambda v: [*(mean[tuple(chain[v][:d])] for d in range(1, len(chain[v]) + 1)), bary[v]])
            for i, v in enumerate(layers[r]):
                index[v] = i

    ranks = sorted(layers)
    for _ in range(3):
        sweep(ranks[1:], up)
        sweep(ranks[-2::-1], down)
    # x: pack left to right, then pull each node towards its neighbours' mean, keeping order and gaps
    x = {}
    for r in ranks:
        left = 0.0
        for v in layers[r]:
            x[v] = left + width[v] / 2
            left += width[v] + _NODE_GAP
    for it in range(8):
        neighbours = up if it % 2 == 0 else down
        for r in ranks if it % 2 == 0 else ranks[::-1]:
            row = layers[r]
            want = {v: (sum(x[u] for u in neighbours[v]) / len(neighbours[v])) if neighbours[v] else x[v] for v in row}
            for i, v in enumerate(row):
                x[v] = (
                    want[v] if i == 0 else max(want[v], x[row[i - 1]] + (width[row[i - 1]] + width[v]) / 2 + _NODE_GAP)
                )
            for i in range(len(row) - 2, -1, -1):
                v, w = row[i], row[i + 1]
                x[v] = min(x[v], x[w] - (width[v] + width[w]) / 2 - _NODE_GAP)
    shift = min(x[v] - width[v] / 2 for v in x) - 20
    y = {v: 30 + rank[v] * (_NODE_H + _RANK_GAP) + _NODE_H / 2 for v in rank}
    place = {v: (x[v] - shift, y[v], width[v]) for v in rank}
    points = []
    for i, (a, b, _) in enumerate(edges):
        (xa, ya, _), (xb, yb, _) = place[a], place[b]
        pts = [(xa, ya + _NODE_H / 2)]
        pts += [(place[v][0], place[v][1]) for v in (route[i] if rank[a] < rank[b] else route[i][::-1])]
        pts.append((xb, yb - _NODE_H / 2))
        points.append(pts)
    return place, points


def _svg(network: Network, flow: dict) -> str:
    esc = html.escape
    shown, edges = visible(flow)
    clusters = flow["clusters"]
    for n in shown.values():
        if n["kind"] == "module":
            c = clusters[n["cluster"]]
            n["label"] = [f"▸ {c['label']} {c['cls']}", f"{c['layers']} layers"]
        elif n["kind"] == "layer":
            inner = clusters[n["chain"][-1]]["path"] + "." if n["chain"] else ""
            name = n["name"].removeprefix(inner) if inner else n["name"]
            kind = f"{n['type']} {n['op']}" if n.get("op") else n["type"]
            n["label"] = [kind, name if len(name) <= 34 else "\u2026" + name[-33:]]
        else:
            n["label"] = [n["kind"], n["name"]]
    place, points = _layout(shown, edges)
    items: list[str] = []
    # module boxes: around their nodes, outer boxes drawn first and padded more
    members: dict[str, list[str]] = {}
    for v, n in shown.items():
        for cid in n.get("chain", []):
            members.setdefault(cid, []).append(v)
    depth = {cid: len(list(_ancestors(clusters, cid))) for cid in members}
    levels = dict.fromkeys(members, 1)  # how many boxes nest inside each, itself included
    for cid in sorted(members, key=lambda c: -depth[c]):
        if clusters[cid]["parent"] in levels:
            levels[clusters[cid]["parent"]] = max(levels[clusters[cid]["parent"]], levels[cid] + 1)
    for cid in sorted(members, key=lambda c: depth[c]):
        c = clusters[cid]
        pad = 6 * levels[cid]  # each nested box inside leaves room for its title
        x0 = min(place[v][0] - place[v][2] / 2 for v in members[cid]) - pad
        x1 = max(place[v][0] + place[v][2] / 2 for v in members[cid]) + pad
        y0 = min(place[v][1] for v in members[cid]) - _NODE_H / 2 - 15 * levels[cid]
        y1 = max(place[v][1] for v in members[cid]) + _NODE_H / 2 + pad
        cls = "cluster" + _status_class(c["status"], c["first"])
        items.append(
            f'<g class="{cls}" data-cluster="{esc(cid)}"><rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
            f'height="{y1 - y0:.1f}" rx="6"/><text class="clabel" x="{x0 + 6:.1f}" y="{y0 + 12:.1f}">'
            f"{esc(c['label'])} {esc(c['cls'])}</text></g>"
        )
    for (a, b, t), pts in zip(edges, points):
        d = "M" + "L".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        name = {v: shown[v]["name"] if shown[v]["kind"] == "layer" else v for v in (a, b)}
        tt = flow["tensors"][t]
        mx, my = pts[0][0], pts[0][1] + 12
        items.append(
            f'<g class="edge" data-from="{esc(name[a])}" data-to="{esc(name[b])}" data-tensor="{esc(t)}">'
            f'<path d="{d}" marker-end="url(#arrow)"/><text x="{mx + 4:.1f}" y="{my:.1f}">{esc(tt[0])} {esc(tt[1])}</text></g>'
        )
    for v, n in shown.items():
        x, y, w = place[v]
        kind = n["kind"]
        cls = "node " + ("collapsed" if kind == "module" else f"k-{kind}")
        if kind == "module":
            c = clusters[n["cluster"]]
            cls += _status_class(c["status"], c["first"] or c["first_inside"])
            data = f'data-cluster="{esc(n["cluster"])}"'
        else:
            cls += (" const" if n["type"] == "CONSTANT" else "") + (" folds" if n.get("folded") else "")
            cls += _status_class(n.get("status"), n.get("first", False))
            data = f'data-name="{esc(n["name"])}" data-type="{esc(n["type"])}"'
        title = esc("; ".join([n.get("name", ""), *[f"folded: {f}" for f in n.get("folded", [])]]))
        fold = f'<text class="fold" x="{w - 3:.1f}" y="9" text-anchor="end">+BN</text>' if n.get("folded") else ""
        mid = (w - (22 if n.get("folded") else 0)) / 2
        items.append(
            f'<g class="{cls}" {data} transform="translate({x - w / 2:.1f},{y - _NODE_H / 2:.1f})"><title>{title}</title>'
            f'<rect width="{w:.1f}" height="{_NODE_H}" rx="4"/>'
            f'<text class="l1" x="{mid:.1f}" y="{_NODE_H / 2 - 3}" text-anchor="middle">{esc(n["label"][0])}</text>'
            f'<text class="l2" x="{mid:.1f}" y="{_NODE_H / 2 + 11}" text-anchor="middle">{esc(n["label"][1])}</text>'
            f"{fold}</g>"
        )
    width = max((p[0] + p[2] / 2 for p in place.values()), default=0) + 40
    height = max((p[1] for p in place.values()), default=0) + _NODE_H + 20
    head = f'<text x="10" y="18" font-size="15" font-weight="bold">{esc(network.model_name)}</text>'
    css = _CSS.split(".cluster rect", 1)[1]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="system-ui,sans-serif"><style>.cluster rect{css}</style>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0L10,5L0,10z" fill="#667"/></marker></defs>'
        f'<rect width="100%" height="100%" fill="white"/>{head}' + "".join(items) + "</svg>\n"
    )


def _status_class(status: str | None, first: bool) -> str:
    return (f" st-{status.replace(' ', '')}" if status else "") + (" first" if first else "")


def _ancestors(clusters: dict, cid: str):
    parent = clusters[cid]["parent"]
    while parent is not None:
        yield parent
        parent = clusters[parent]["parent"]


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
