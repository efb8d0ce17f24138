// netdef graph: draws the dataflow JSON in #data with the vendored dagre layout; collapse, search, details.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const C = D.clusters;
  const byId = {};
  D.nodes.forEach((n) => (byId[n.id] = n));
  const shut = new Set(D.collapsed);
  const svg = document.getElementById("graph");
  const view = document.getElementById("view");
  const info = document.getElementById("info");
  let scale = 1, hits = [], hit = -1, layout = null;

  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function rep(n) {
    for (const c of n.chain) if (shut.has(c)) return "module:" + c;
    return n.id;
  }
  function short(n) {
    // the name inside its innermost box: "encoder.layer.0.attention.self.query/linear" -> "query/linear"
    const inner = n.chain.length ? C[n.chain[n.chain.length - 1]].path + "." : "";
    const name = inner && n.name.startsWith(inner) ? n.name.slice(inner.length) : n.name;
    return name.length > 34 ? "…" + name.slice(-33) : name;
  }
  function width(text, px) {
    return Math.max(40, text.length * px * 0.58 + 16);
  }
  function drawnName(v) {
    // what an edge's data-from/data-to say: a layer's name, else the node's id (input:x, output:y, module:m)
    return byId[v] && byId[v].kind === "layer" ? byId[v].name : v;
  }
  function statusClass(c, shut) {
    // a shut box holding the first divergent module is marked as that module would be
    return (c.status ? " st-" + c.status.replace(" ", "") : "") + (c.first || (shut && c.first_inside) ? " first" : "");
  }

  function build() {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 26, edgesep: 8, marginx: 20, marginy: 20 });
    for (const n of D.nodes) {
      const r = rep(n);
      if (g.hasNode(r)) continue;
      let chain;
      if (r === n.id) {
        chain = n.chain;
        const lines = n.kind === "layer" ? [n.op ? n.type + " " + n.op : n.type, short(n)] : [n.kind, n.name];
        const h = n.type === "CONSTANT" ? 30 : 36;
        const badge = n.folded && n.folded.length ? 22 : 0; // room for the "+BN" mark
        g.setNode(r, { node: n, lines, width: Math.max(width(lines[0], 11), width(lines[1], 11)) + badge, height: h });
      } else {
        const cid = r.slice(7), c = C[cid];
        chain = n.chain.slice(0, n.chain.indexOf(cid));
        const lines = ["▸ " + c.label + " " + c.cls, c.layers + " layers"];
        g.setNode(r, { cluster: cid, lines, width: width(lines[0], 11), height: 40 });
      }
      let child = r;
      for (let i = chain.length - 1; i >= 0; i--) {
        const cid = "cluster:" + chain[i], fresh = !g.hasNode(cid);
        if (fresh) g.setNode(cid, { box: chain[i], depth: i });
        g.setParent(child, cid);
        if (!fresh) break;
        child = cid;
      }
    }
    const seen = new Set();
    for (const [a, b, t] of D.edges) {
      const ra = rep(byId[a]), rb = rep(byId[b]);
      const key = ra + "\u0000" + rb + "\u0000" + t;
      if (ra === rb || seen.has(key)) continue;
      seen.add(key);
      const tt = D.tensors[t], text = tt[0] + " " + tt[1];
      g.setEdge(ra, rb, { text, tensor: t, width: text.length * 5.6 + 4, height: 11, labelpos: "c" }, key);
    }
    dagre.layout(g);
    return g;
  }

  function draw() {
    const t0 = performance.now();
    const g = (layout = build());
    svg.textContent = "";
    const G = g.graph();
    svg.setAttribute("viewBox", `0 0 ${G.width} ${G.height}`);
    svg.setAttribute("width", G.width * scale);
    svg.setAttribute("height", G.height * scale);
    const defs = el("defs", {}, svg);
    const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
    el("path", { d: "M0,0L10,5L0,10z", fill: "#667" }, m);
    const boxes = el("g", {}, svg), lines = el("g", {}, svg), nodes = el("g", {}, svg);
    const clusterIds = g.nodes().filter((v) => v.startsWith("cluster:")).sort((a, b) => g.node(a).depth - g.node(b).depth);
    for (const v of clusterIds) {
      const b = g.node(v), c = C[b.box];
      const grp = el("g", { class: "cluster" + statusClass(c), "data-cluster": b.box }, boxes);
      el("rect", { x: b.x - b.width / 2, y: b.y - b.height / 2, width: b.width, height: b.height, rx: 6 }, grp);
      const label = el("text", { x: b.x - b.width / 2 + 6, y: b.y - b.height / 2 + 12, class: "clabel" }, grp, "▾ " + c.label + " " + c.cls);
      label.addEventListener("click", (ev) => { ev.stopPropagation(); showCluster(b.box); collapse(b.box); });
    }
    for (const e of g.edges()) {
      const lab = g.edge(e), pts = lab.points;
      const from = drawnName(e.v), to = drawnName(e.w);
      const d = "M" + pts.map((p) => p.x.toFixed(1) + "," + p.y.toFixed(1)).join("L");
      const grp = el("g", { class: "edge", "data-from": from, "data-to": to, "data-tensor": lab.tensor }, lines);
      el("path", { d, "marker-end": "url(#arrow)" }, grp);
      el("text", { x: lab.x, y: lab.y + 4, "text-anchor": "middle" }, grp, lab.text);
    }
    for (const v of g.nodes()) {
      if (v.startsWith("cluster:")) continue;
      const n = g.node(v);
      let cls = "node", attrs;
      if (n.cluster !== undefined) {
        cls += " collapsed" + statusClass(C[n.cluster], true);
        attrs = { "data-cluster": n.cluster };
      } else {
        cls += " k-" + n.node.kind + (n.node.type === "CONSTANT" ? " const" : "") + (n.node.folded && n.node.folded.length ? " folds" : "") + statusClass(n.node);
        attrs = { "data-name": n.node.name, "data-type": n.node.type };
      }
      const grp = el("g", Object.assign({ class: cls, id: "n-" + v, transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})` }, attrs), nodes);
      el("rect", { width: n.width, height: n.height, rx: n.cluster !== undefined ? 8 : 4 }, grp);
      const mid = (n.width - (n.node && n.node.folded && n.node.folded.length ? 22 : 0)) / 2;
      el("text", { x: mid, y: n.height / 2 - 3, "text-anchor": "middle", class: "l1" }, grp, n.lines[0]);
      el("text", { x: mid, y: n.height / 2 + 11, "text-anchor": "middle", class: "l2" }, grp, n.lines[1]);
      if (n.node && n.node.folded && n.node.folded.length) el("text", { x: n.width - 3, y: 9, "text-anchor": "end", class: "fold" }, grp, "+BN");
      grp.addEventListener("click", () => (n.cluster !== undefined ? showCluster(n.cluster) : showNode(n.node)));
      if (n.cluster !== undefined) grp.addEventListener("dblclick", () => expand(n.cluster));
    }
    document.getElementById("msg").textContent =
      `${g.nodeCount() - clusterIds.length} nodes, ${g.edgeCount()} edges, laid out in ${Math.round(performance.now() - t0)} ms`;
    mark();
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }
  function tensorRow(t, other) {
    const tt = D.tensors[t];
    return `<tr><td>${esc(t)}</td><td>${esc(tt[0])}</td><td>${esc(tt[2])}</td><td>${esc(other)}</td></tr>`;
  }
  function showNode(n) {
    const used = (t) => D.edges.filter((e) => e[2] === t).map((e) => byId[e[1]].name).join(", ");
    let h = `<h3>${esc(n.name)}</h3><p><b>${esc(n.type)}</b>`;
    if (n.module !== undefined) h += ` in module <code>${esc(n.module || "<root>")}</code>`;
    h += "</p>";
    if (n.site) h += `<p class=site>source: ${esc(n.site)}</p>`;
    if (n.folded && n.folded.length)
      h += `<p class=foldnote>folded into this layer's weights: ${n.folded.map(esc).join(", ")} (batch norm folding; it adds no layer)</p>`;
    if (n.ins.length) h += "<h4>inputs</h4><table><tr><th>tensor</th><th>shape</th><th>dtype</th><th>from</th></tr>" +
      n.ins.map((t) => tensorRow(t, (D.edges.find((e) => e[2] === t && e[1] === n.id) || [""])[0])).join("") + "</table>";
    if (n.outs.length) h += "<h4>outputs</h4><table><tr><th>tensor</th><th>shape</th><th>dtype</th><th>to</th></tr>" +
      n.outs.map((t) => tensorRow(t, used(t))).join("") + "</table>";
    if (n.weights && n.weights.length) h += "<h4>weights</h4><table><tr><th>name</th><th>shape</th></tr>" +
      n.weights.map((w) => `<tr><td>${esc(w[0])}</td><td>${esc(w[1].join("×"))}</td></tr>`).join("") + "</table>";
    if (n.attrs && Object.keys(n.attrs).length) h += "<h4>attributes</h4><table>" +
      Object.entries(n.attrs).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("") + "</table>";
    info.innerHTML = h;
  }
  function showCluster(cid) {
    const c = C[cid];
    let h = `<h3>${esc(c.path)}</h3><p><b>${esc(c.cls)}</b> · ${c.layers} layers`;
    if (c.status) h += ` · parity: <b>${esc(c.first ? "first divergence" : c.status)}</b>`;
    h += "</p>";
    if (c.site) h += `<p class=site>called at: ${esc(c.site)}</p>`;
    const folded = Object.entries(D.folded).filter(([p]) => p.startsWith(c.path + "."));
    if (folded.length) h += "<p class=foldnote>" + folded.map(([p, l]) => `${esc(p)} folded into ${esc(l)}`).join("<br>") + "</p>";
    h += `<button id=tog>${shut.has(cid) ? "expand" : "collapse"}</button>`;
    info.innerHTML = h;
    document.getElementById("tog").onclick = () => (shut.has(cid) ? expand(cid) : collapse(cid));
  }
  function collapse(cid) { shut.add(cid); draw(); }
  function expand(cid) { shut.delete(cid); draw(); }

  function mark() {
    const q = document.getElementById("q").value.trim().toLowerCase();
    svg.querySelectorAll(".hit").forEach((e) => e.classList.remove("hit"));
    hits = [];
    if (!q) return;
    const want = new Set();
    for (const n of D.nodes) if (n.name.toLowerCase().includes(q) || (n.module || "").toLowerCase().includes(q)) want.add(rep(n));
    for (const v of want) {
      const e = document.getElementById("n-" + v);
      if (e) { e.classList.add("hit"); hits.push(e); }
    }
    document.getElementById("msg").textContent = `${hits.length} match${hits.length === 1 ? "" : "es"} for “${q}”`;
  }
  function next() {
    if (!hits.length) return;
    hit = (hit + 1) % hits.length;
    reveal(hits[hit], true);
    const name = hits[hit].getAttribute("data-name");
    if (name) showNode(D.nodes.find((n) => n.name === name));
  }
  function reveal(e, middle) {
    // scroll the graph pane (only it) so that ``e`` shows: centred, or at the top for the first input
    const r = e.getBoundingClientRect(), v = view.getBoundingClientRect();
    view.scrollLeft += r.left - v.left - v.width / 2 + r.width / 2;
    view.scrollTop += middle ? r.top - v.top - v.height / 2 + r.height / 2 : r.top - v.top - 10;
  }
  function zoom(f) {
    scale = f === 0 ? Math.min(1, view.clientWidth / layout.graph().width) : scale * f;
    svg.setAttribute("width", layout.graph().width * scale);
    svg.setAttribute("height", layout.graph().height * scale);
  }
  document.getElementById("q").addEventListener("input", () => { hit = -1; mark(); });
  document.getElementById("q").addEventListener("keydown", (e) => { if (e.key === "Enter") next(); });
  document.getElementById("zin").onclick = () => zoom(1.25);
  document.getElementById("zout").onclick = () => zoom(0.8);
  document.getElementById("fit").onclick = () => zoom(0);
  document.getElementById("exp").onclick = () => {
    // the layout of every layer of a large network takes seconds: say so before the page stalls
    document.getElementById("msg").textContent = `laying out all ${D.nodes.length} nodes…`;
    shut.clear();
    setTimeout(draw, 30);
  };
  document.getElementById("col").onclick = () => {
    for (const cid in C) if (C[cid].parent === null) shut.add(cid);
    draw();
  };
  window.netdefGraph = { collapse, expand, draw, shut, data: D };
  draw();
  // start at a readable scale, looking at the first divergent module or else the network's first input
  zoom(0);
  if (scale < 0.6) zoom(0.6 / scale);
  const start = svg.querySelector(".first") || svg.querySelector(".k-input");
  if (start) reveal(start, svg.querySelector(".first") !== null);
  if (!svg.querySelector(".first")) view.scrollTop = 0;
})();
