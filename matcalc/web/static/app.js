// matcalc's page.  It calls one Python function, matcalc.report.respond, either through the
// server (POST api/diff) or in the browser (Pyodide, in worker.js): <meta name="matcalc-backend">
// says which.  Everything it shows comes from that function's JSON.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const BACKEND = document.querySelector('meta[name="matcalc-backend"]').content;
  const DEBOUNCE_MS = 250;
  const BROWSER_TIMEOUT_MS = 30000;

  // The paper's examples (Parr & Howard), one click away.
  const EXAMPLES = [
    { expr: "sin(x^2)", wrt: ["x"], title: "single-variable chain rule" },
    { expr: "x + x^2", wrt: ["x"], title: "total derivative: two paths" },
    { expr: "[3*x^2*y, 2*x + y^8]", wrt: ["[x, y]"], title: "Jacobian" },
    { expr: "sum(w*x)", wrt: ["w"], title: "vector sum reduction" },
    { expr: "w·x", wrt: ["w"], title: "dot product" },
    { expr: "max(0, w·x + b)", wrt: ["w", "b"], title: "neuron activation (§8)" },
    { expr: "mean((y - max(0, X@w + b))^2)", wrt: ["w", "b"],
      shapes: { X: "N,n", b: "scalar" }, title: "the loss (§9)" },
    { expr: "sum((W@x + b - y)^2)", wrt: ["W", "b"], title: "affine layer" },
    { expr: "x'@A@x", wrt: ["x"], shapes: { A: "n,n,sym" }, order: 2, title: "Hessian" },
  ];

  const state = { expr: "", wrt: [], shapes: {}, layout: "numerator", order: 1 };
  let last = null;            // the last successful report
  let seq = 0;                // request counter: answers to older requests are dropped
  let inputAt = null;         // performance.now() of the last keystroke not yet rendered
  let timer = null;
  window.matcalcTimings = []; // {expr, ms}: keystroke (or click) to rendered result

  // ------------------------------------------------------------------------------------------
  // Back ends

  const backend = BACKEND === "pyodide" ? browserBackend() : serverBackend();

  function serverBackend() {
    return {
      name: "served by matcalc serve on this machine",
      ready: Promise.resolve(),
      async call(request) {
        let response;
        try {
          response = await fetch("api/diff", {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify(request),
          });
        } catch (e) {
          return failure("the matcalc server does not answer: is matcalc serve still running?");
        }
        try {
          return await response.json();
        } catch (e) {
          return failure(`the server answered ${response.status} without a report`);
        }
      },
    };
  }

  function browserBackend() {
    let worker = null, ready = null, pending = new Map(), next = 0;
    function start() {
      status("Starting Python in your browser (Pyodide, SymPy, Lark, matcalc)…", true);
      worker = new Worker("worker.js", { type: "module" });
      const t0 = performance.now();
      ready = new Promise((resolve, reject) => {
        worker.onmessage = (event) => {
          const m = event.data;
          if (m.ready) {
            window.matcalcStartup = { ms: performance.now() - t0, ...m.timings };
            status("");
            resolve();
          } else if (m.failed) {
            status("Python could not start in this browser: " + m.failed);
            reject(new Error(m.failed));
          } else if (m.progress) {
            status(m.progress, true);
          } else if (pending.has(m.id)) {
            pending.get(m.id)(m.response);
            pending.delete(m.id);
          }
        };
      });
      return ready;
    }
    start();
    return {
      name: "running in this browser with Pyodide",
      get ready() { return ready; },
      async call(request) {
        await ready;
        const id = ++next;
        return new Promise((resolve) => {
          const limit = setTimeout(() => {
            // a runaway expression: the worker cannot be interrupted, so it is replaced
            pending.delete(id);
            worker.terminate();
            pending.forEach((done) => done(failure("stopped: Python was restarted")));
            pending.clear();
            start();
            resolve(failure(`this took longer than ${BROWSER_TIMEOUT_MS / 1000} s and was ` +
                            "stopped", "try a smaller expression", "expression"));
          }, BROWSER_TIMEOUT_MS);
          pending.set(id, (response) => { clearTimeout(limit); resolve(response); });
          worker.postMessage({ id, request });
        });
      },
    };
  }

  function failure(message, hint, field) {
    return { ok: false, error: { type: "Error", message, hint: hint || null, field: field || null,
                                 span: null, line: null, column: null, caret: null,
                                 text: message } };
  }

  // ------------------------------------------------------------------------------------------
  // State <-> address

  function toHash() {
    const p = new URLSearchParams();
    p.set("expr", state.expr);
    state.wrt.forEach((w) => p.append("wrt", w));
    Object.entries(state.shapes).forEach(([n, s]) => p.append("shape", `${n}=${s}`));
    if (state.layout !== "numerator") p.set("layout", state.layout);
    if (state.order !== 1) p.set("order", String(state.order));
    return "#" + p.toString();
  }

  function fromHash() {
    // only a permalink ("#expr=…") sets the state; a bare fragment such as "#expr" (an anchor)
    // is not an empty expression
    const p = new URLSearchParams(location.hash.slice(1));
    if (!/(^#|&)expr=/.test(location.hash)) return false;
    state.expr = p.get("expr");
    state.wrt = p.getAll("wrt");
    state.shapes = {};
    p.getAll("shape").forEach((s) => {
      const i = s.indexOf("=");
      if (i > 0) state.shapes[s.slice(0, i)] = s.slice(i + 1);
    });
    state.layout = p.get("layout") === "denominator" ? "denominator" : "numerator";
    state.order = p.get("order") === "2" ? 2 : 1;
    return true;
  }

  function syncControls() {
    $("expr").value = state.expr;
    $("layout").value = state.layout;
    $("order").value = String(state.order);
    fitBox();
    backdrop(null);
  }

  // ------------------------------------------------------------------------------------------
  // Computing

  function names(text) {
    // identifiers in the text: a variable that no longer occurs is dropped from wrt and shapes
    return new Set(text.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []);
  }

  function request(extra) {
    const present = names(state.expr);
    const wrt = state.wrt.filter((w) => w.trim().startsWith("[") ||
                                        present.has(w));
    const shapes = {};
    Object.entries(state.shapes).forEach(([n, s]) => { if (present.has(n)) shapes[n] = s; });
    return { expression: state.expr, wrt, shapes, layout: state.layout, order: state.order,
             ...extra };
  }

  function schedule() {
    inputAt = inputAt === null ? performance.now() : inputAt;
    clearTimeout(timer);
    timer = setTimeout(compute, DEBOUNCE_MS);
  }

  async function compute() {
    clearTimeout(timer);
    const mine = ++seq;
    const started = inputAt === null ? performance.now() : inputAt;
    history.replaceState(null, "", toHash());
    $("permalink").href = location.href;
    $("permalink").textContent = location.href;
    if (!state.expr.trim()) {
      showError(null);
      clear();
      document.body.dataset.state = "empty";
      return;
    }
    document.body.dataset.state = "busy";
    const req = request({ steps: true, numpy: true });
    const report = await backend.call(req);
    if (mine !== seq) return;
    inputAt = null;
    if (!report.ok) {
      showError(report.error);
      document.body.classList.add("stale");
      document.body.dataset.state = "error";
      record(started);
      return;
    }
    showError(null);
    document.body.classList.remove("stale");
    last = report;
    // keep the wrt the report used, so the boxes show what was differentiated
    state.wrt = report.wrt.slice();
    history.replaceState(null, "", toHash());
    $("permalink").href = location.href;
    $("permalink").textContent = location.href;
    render(report);
    document.body.dataset.state = "ready";
    document.body.dataset.rendered = state.expr;
    record(started);
    verify(mine, req);
  }

  function record(started) {
    window.matcalcTimings.push({ expr: state.expr, ms: performance.now() - started });
  }

  async function verify(mine, req) {
    $("verdict").replaceChildren(verdict("pending", "Verifying against SymPy and finite differences…"));
    const report = await backend.call({ ...req, steps: false, numpy: false, check: true });
    if (mine !== seq) return;
    const box = $("verdict");
    box.replaceChildren();
    if (!report.ok) {
      // no verdict (the time limit, a busy server): not the same as a derivative found wrong
      box.append(verdict("unavailable", "not verified: " + report.error.message));
    } else {
      report.derivatives.forEach((d) => {
        const v = d.verification;
        const what = `∂/∂${d.wrt}: `;
        const text = v.status === "unavailable" && BACKEND === "pyodide"
          ? "cannot be verified in the browser: verification uses NumPy, which Pyodide's core " +
            "does not include (run matcalc check on your machine)"
          : v.message;
        box.append(verdict(v.status, (v.status === "verified" ? "✓ " : v.status === "failed"
                                      ? "✗ " : "") + what + text));
      });
    }
    document.body.dataset.verified = "done";
  }

  function verdict(kind, text) {
    const p = el("p", "verdict " + kind, text);
    p.dataset.status = kind;
    return p;
  }

  // ------------------------------------------------------------------------------------------
  // Rendering

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function tex(target, source, display) {
    try {
      katex.render(source, target, { displayMode: display, throwOnError: true, output: "htmlAndMathml" });
    } catch (e) {
      target.textContent = source;
      target.title = "KaTeX could not render this: " + e.message;
    }
    return target;
  }

  function clear() {
    ["results", "steps", "code", "verdict"].forEach((id) => $(id).replaceChildren());
    $("shapes-line").textContent = "";
    $("variables").tBodies[0].replaceChildren();
  }

  function render(r) {
    $("version").textContent = r.version;
    $("shapes-line").textContent = r.shapes_line;
    renderVariables(r);
    const results = $("results");
    results.replaceChildren();
    r.derivatives.forEach((d) => {
      const box = el("div", "result");
      box.dataset.wrt = d.wrt;
      const eq = el("div", "equation");
      tex(eq, d.equation_latex, true);
      box.append(eq);
      const label = el("p", "shape-label", `shape ${d.shape_label}, ${r.layout} layout`);
      box.append(label);
      box.append(form("text", d.text, "Copy text"), form("LaTeX", d.latex, "Copy LaTeX"));
      if (d.notes.length) {
        const ul = el("ul", "notes");
        d.notes.forEach((n) => ul.append(el("li", null, "note: " + n)));
        box.append(ul);
      }
      results.append(box);
    });
    renderSteps(r);
    const code = $("code");
    code.textContent = r.numpy && r.numpy.ok ? r.numpy.source
      : "# no NumPy code for this: " + (r.numpy ? r.numpy.message : "");
  }

  function form(what, text, button) {
    const row = el("div", "form");
    row.append(el("span", "what", what));
    const code = el("code", "form-" + what.toLowerCase(), text);
    row.append(code);
    const b = el("button", "copy", button);
    b.type = "button";
    b.addEventListener("click", () => copy(text, b));
    row.append(b);
    return row;
  }

  async function copy(text, button) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) {
      const area = el("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      ok = document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("done", ok);
    setTimeout(() => { button.textContent = label; button.classList.remove("done"); }, 1500);
  }

  // the variables' table: kind, dimensions, property, and whether to differentiate by it
  function renderVariables(r) {
    const body = $("variables").tBodies[0];
    body.replaceChildren();
    const literal = r.wrt.filter((w) => w.startsWith("[")).flatMap((w) =>
      w.slice(1, -1).split(",").map((n) => n.trim()));
    $("stack").checked = literal.length > 0;
    r.variables.forEach((v) => {
      const tr = el("tr");
      tr.dataset.name = v.name;
      const wrt = el("input");
      wrt.type = "checkbox";
      wrt.className = "wrt";
      wrt.checked = literal.includes(v.name) || r.wrt.includes(v.name);
      wrt.dataset.scalar = v.kind === "scalar" ? "1" : "";
      wrt.setAttribute("aria-label", `differentiate by ${v.name}`);
      wrt.addEventListener("change", chooseWrt);
      const name = el("td", "name", v.name);
      const kind = el("select");
      kind.setAttribute("aria-label", `kind of ${v.name}`);
      ["scalar", "vector", "matrix"].forEach((k) => {
        const o = el("option", null, k);
        o.value = k;
        kind.append(o);
      });
      kind.value = v.kind;
      const dims = el("td");
      const inputs = v.shape.map((d, i) => {
        const input = el("input");
        input.type = "text";
        input.value = d;
        input.setAttribute("aria-label", `${v.name} dimension ${i + 1}`);
        input.addEventListener("change", declare);
        dims.append(input);
        if (i === 0 && v.shape.length === 2) dims.append(" × ");
        return input;
      });
      if (!v.shape.length) dims.append(el("span", "badge", "—"));
      const prop = el("td", "props");
      // the properties a variable of this kind can be declared with: one checkbox each
      const flagNames = { scalar: [], vector: ["prob"], matrix: ["sym", "prob"] }[v.kind];
      const flags = flagNames.map((flagName) => {
        const flag = el("input");
        flag.type = "checkbox";
        flag.checked = v.properties.includes(flagName);
        flag.id = `prop-${v.name}-${flagName}`;
        flag.dataset.flag = flagName;
        flag.addEventListener("change", declare);
        const lab = el("label", null, " " + flagName + " ");
        lab.htmlFor = flag.id;
        lab.title = flag.title = flagName === "sym" ? `${v.name} is symmetric`
          : v.kind === "matrix"
            ? `each row of ${v.name} sums to 1 (a batch of probabilities or one-hot labels)`
            : `the entries of ${v.name} sum to 1 (probabilities, one-hot labels)`;
        lab.style.fontWeight = "normal";
        const one = el("span", "flag");        // a checkbox and its label never split
        one.append(flag, lab);
        prop.append(one);
        return flag;
      });
      kind.addEventListener("change", () => {
        const d0 = v.shape[0] || "n";
        const d = { scalar: [], vector: [d0], matrix: [d0, v.shape[1] || d0] }[kind.value];
        state.shapes[v.name] = d.length ? d.join(",") : "scalar";
        compute();
      });
      function declare() {
        const d = inputs.map((i) => i.value.trim() || "n");
        let spec = d.length ? d.join(",") : "scalar";
        flags.filter((f) => f.checked).forEach((f) => { spec += "," + f.dataset.flag; });
        state.shapes[v.name] = spec;
        compute();
      }
      const status = el("td");
      status.append(el("span", "badge" + (v.declared ? " declared" : ""),
                       (v.declared ? "declared " : "inferred ") + v.space));
      if (v.declared) {
        const reset = el("button", "reset", "infer");
        reset.type = "button";
        reset.title = `forget the declared shape of ${v.name}`;
        reset.addEventListener("click", () => { delete state.shapes[v.name]; compute(); });
        status.append(reset);
      }
      const c0 = el("td");
      c0.append(wrt);
      const c2 = el("td");
      c2.append(kind);
      tr.append(c0, name, c2, dims, prop, status);
      body.append(tr);
    });
  }

  // the ticked variables, in the order they appear; ticked scalars stacked into one vector
  // [x, y] when asked (the paper's Jacobian w.r.t. several scalars)
  function chooseWrt() {
    const boxes = [...document.querySelectorAll("#variables input.wrt")];
    const ticked = boxes.filter((b) => b.checked);
    const names = ticked.map((b) => b.closest("tr").dataset.name);
    const scalars = ticked.every((b) => b.dataset.scalar);
    state.wrt = $("stack").checked && names.length > 1 && scalars
      ? ["[" + names.join(", ") + "]"] : names;
    compute();
  }

  function renderSteps(r) {
    const box = $("steps");
    box.replaceChildren();
    r.derivatives.forEach((d) => {
      if (!d.steps) return;
      const part = el("div", "steps-for");
      part.dataset.wrt = d.wrt;
      part.append(el("h3", null, r.order === 2 ? `Second derivative, ∂/∂${d.wrt} of the first`
                                               : `∂/∂${d.wrt}`));
      d.steps.derivations.forEach((dv) => {
        const g = el("div", "graph");
        g.append(graphSvg(dv.graph));
        const paths = dv.graph.paths;
        part.append(g, el("p", "graph-caption",
          `Data flow from ${dv.wrt}: ${paths} path${paths === 1 ? "" : "s"}; ${dv.chain_rule.name}` +
          (dv.chain_rule.reason ? ` (${dv.chain_rule.reason})` : "")));
      });
      stepsBlocks(d.steps.latex).forEach((b) => {
        if (b.heading !== undefined) {
          const h = heading(b.heading);
          if (b.after) h.append(tex(el("span"), b.after, false));
          part.append(h);
        }
        else part.append(tex(el("div", "steps-math"), b.math, true));
      });
      const det = el("details");
      det.append(el("summary", null, "the steps as text"), el("pre", "steps-text", d.steps.text));
      part.append(det);
      box.append(part);
    });
  }

  // The steps' LaTeX is one aligned block; its \text{…} lines (the numbered headings) are shown
  // as paragraphs, which wrap on a narrow screen, and the math between them as aligned blocks.
  function stepsBlocks(latex) {
    const m = latex.match(/^\\begin\{aligned\}\n([\s\S]*)\n\\end\{aligned\}$/);
    if (!m) return [{ math: latex }];
    const blocks = [];
    let math = [];
    const flush = () => {
      if (math.length) blocks.push({ math: "\\begin{aligned}" + math.join(" \\\\\n") +
                                           "\\end{aligned}" });
      math = [];
    };
    m[1].split(" \\\\\n").forEach((line) => {
      const h = textLine(line);
      if (h) { flush(); blocks.push(h); } else math.push(line);
    });
    flush();
    return blocks;
  }

  // "&\text{5. Substitute back } u = …": the text, and the math after it
  function textLine(line) {
    if (!line.startsWith("&\\text{")) return null;
    let depth = 0;
    for (let i = 6; i < line.length; i++) {
      const c = line[i];
      if (c === "\\") { i++; continue; }
      if (c === "{") depth++;
      if (c === "}" && --depth === 0) {
        const rest = line.slice(i + 1).trim();
        return rest.includes("&") ? null : { heading: line.slice(7, i), after: rest };
      }
    }
    return null;
  }

  // a \text{…} heading as HTML: TeX's escapes undone, its $…$ parts rendered by KaTeX
  function heading(source) {
    const p = el("p", "step-heading");
    source.split(/(\$[^$]*\$)/).forEach((part) => {
      if (part.startsWith("$") && part.endsWith("$") && part.length > 1) {
        p.append(tex(el("span"), part.slice(1, -1), false));
      } else {
        p.append(part.replace(/\\S\{\}/g, "§").replace(/\\textasciicircum\{\}/g, "^")
          .replace(/\\textbackslash\{\}/g, "\\").replace(/\\([#$%&_{}])/g, "$1"));
      }
    });
    return p;
  }

  // The data-flow graph, left to right by layer; an edge that skips a layer arches over it.
  let svgCount = 0;
  function graphSvg(graph) {
    const NS = "http://www.w3.org/2000/svg";
    const mk = (tag, attrs, parent) => {
      const e = document.createElementNS(NS, tag);
      Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
      if (parent) parent.append(e);
      return e;
    };
    const GAP = 130, H = 38, ROW = 64, PAD = 14;
    const layers = {};
    graph.nodes.forEach((n) => { (layers[n.layer] = layers[n.layer] || []).push(n); });
    const rows = Math.max(...Object.values(layers).map((l) => l.length));
    const pos = {};
    const arch = graph.edges.some(([a, b]) => nodeOf(b).layer - nodeOf(a).layer > 1) ? 34 : 0;
    function nodeOf(id) { return graph.nodes.find((n) => n.id === id); }
    const width = (n) => Math.max(44, 12 + 10 * [...n.label].length);
    let x = PAD;
    const maxLayer = Math.max(...graph.nodes.map((n) => n.layer));
    const colX = [];
    for (let l = 0; l <= maxLayer; l++) {
      const ns = layers[l] || [];
      const w = Math.max(44, ...ns.map(width));
      colX[l] = x + w / 2;
      ns.forEach((n, i) => {
        pos[n.id] = { x: colX[l], y: PAD + arch + (rows - ns.length) * ROW / 2 + i * ROW + H / 2,
                      w: width(n) };
      });
      x += w + GAP;
    }
    const W = x - GAP + PAD, Hh = PAD * 2 + arch + rows * ROW - (ROW - H) + 18;
    const svg = mk("svg", { viewBox: `0 0 ${W} ${Hh}`, width: W, height: Hh, role: "img",
                            "aria-label": "data-flow graph: " + graph.edges.map(([a, b]) =>
                              `${a} → ${b}`).join(", ") });
    const id = `arrow${++svgCount}`;
    const defs = mk("defs", {}, svg);
    const marker = mk("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                                  markerHeight: 7, orient: "auto-start-reverse" }, defs);
    mk("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }, marker);
    graph.edges.forEach(([a, b]) => {
      const p = pos[a], q = pos[b];
      const skip = nodeOf(b).layer - nodeOf(a).layer > 1;
      let d;
      if (skip) {   // over the layers in between
        const top = PAD + 4;
        d = `M ${p.x} ${p.y - H / 2} C ${p.x} ${top}, ${q.x} ${top}, ${q.x} ${q.y - H / 2 - 1}`;
      } else {
        d = `M ${p.x + p.w / 2} ${p.y} C ${(p.x + q.x) / 2} ${p.y}, ${(p.x + q.x) / 2} ${q.y}, ` +
            `${q.x - q.w / 2 - 1} ${q.y}`;
      }
      const path = mk("path", { d, class: "edge", "marker-end": `url(#${id})` }, svg);
      path.dataset.from = a;
      path.dataset.to = b;
    });
    graph.nodes.forEach((n) => {
      const p = pos[n.id];
      const g = mk("g", { class: "node " + n.kind }, svg);
      g.dataset.id = n.id;
      mk("rect", { x: p.x - p.w / 2, y: p.y - H / 2, width: p.w, height: H, rx: 9 }, g);
      const t = mk("text", { x: p.x, y: p.y + 5, "text-anchor": "middle" }, g);
      t.textContent = n.label;
      if (n.definition) {
        const title = mk("title", {}, g);
        title.textContent = `${n.id} = ${n.definition}`;
        const def = mk("text", { x: p.x, y: p.y + H / 2 + 15, "text-anchor": "middle",
                                 class: "def" }, g);
        def.textContent = short(n.definition);
      }
    });
    return svg;
  }

  function short(text) {
    const chars = [...text];
    return chars.length > 22 ? chars.slice(0, 21).join("") + "…" : text;
  }

  // ------------------------------------------------------------------------------------------
  // Errors: the message under the box, the span marked in the box itself

  function showError(error) {
    const box = $("error");
    document.body.classList.toggle("has-error", !!error);
    if (!error) {
      box.hidden = true;
      backdrop(null);
      return;
    }
    box.hidden = false;
    const where = error.field && error.field !== "expression" ? ` (in ${fieldName(error.field)})` : "";
    box.querySelector(".error-message").textContent = error.message + where;
    const caret = error.caret || "";
    const pre = box.querySelector(".error-caret");
    pre.textContent = caret;
    pre.hidden = !caret;
    box.querySelector(".error-hint").textContent = error.hint || "";
    backdrop(error.field === "expression" && error.span ? error.span : null);
  }

  function fieldName(field) {
    if (field.startsWith("shapes.")) return `the shape of ${field.slice(7)}`;
    if (field.startsWith("wrt.")) return "the variables to differentiate by";
    return field;
  }

  function backdrop(span) {
    const b = $("expr-backdrop");
    const text = $("expr").value;
    b.replaceChildren();
    if (!span) {
      b.textContent = text;
    } else {
      const [s, e] = [Math.min(span[0], text.length), Math.max(span[1], span[0] + 1)];
      b.append(document.createTextNode(text.slice(0, s)));
      const m = el("mark", null, text.slice(s, e) || " ");
      m.id = "error-span";
      m.dataset.start = s;
      m.dataset.end = Math.min(e, text.length);
      b.append(m, document.createTextNode(text.slice(e)));
    }
    b.append(document.createTextNode("\n"));   // a final newline keeps the heights equal
  }

  function fitBox() {
    const box = $("expr");
    box.style.height = "auto";
    box.style.height = box.scrollHeight + 4 + "px";
  }

  function status(text, loading) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("loading", !!loading);
  }

  // ------------------------------------------------------------------------------------------
  // Wiring

  function setExample(ex) {
    state.expr = ex.expr;
    state.wrt = ex.wrt.slice();
    state.shapes = { ...(ex.shapes || {}) };
    state.layout = "numerator";
    state.order = ex.order || 1;
    syncControls();
    inputAt = performance.now();
    compute();
  }

  function init() {
    $("backend-name").textContent = backend.name;
    if (BACKEND === "pyodide") $("browser-note").hidden = false;
    const ex = $("examples");
    EXAMPLES.forEach((e) => {
      const b = el("button", "example", e.expr);
      b.type = "button";
      b.append(el("small", null, e.title));
      b.title = `${e.title}: ∂/∂${e.wrt.join(", ∂/∂")}`;
      b.addEventListener("click", () => setExample(e));
      ex.append(b);
    });
    const box = $("expr");
    box.addEventListener("input", () => {
      state.expr = box.value.replace(/\n/g, " ");
      if (box.value !== state.expr) box.value = state.expr;
      fitBox();
      backdrop(null);
      document.body.classList.add("stale");
      schedule();
    });
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        inputAt = inputAt === null ? performance.now() : inputAt;
        compute();
      }
    });
    // the skip link moves the focus; following its href would replace the permalink in the URL
    document.querySelector("a.skip").addEventListener("click", (e) => {
      e.preventDefault();
      box.focus();
    });
    box.addEventListener("scroll", () => { $("expr-backdrop").scrollTop = box.scrollTop; });
    window.addEventListener("resize", fitBox);
    $("stack").addEventListener("change", chooseWrt);
    $("layout").addEventListener("change", (e) => { state.layout = e.target.value; compute(); });
    $("order").addEventListener("change", (e) => { state.order = Number(e.target.value); compute(); });
    $("copy-code").addEventListener("click", (e) => copy($("code").textContent, e.target));
    $("copy-link").addEventListener("click", (e) => copy(location.href, e.target));
    window.addEventListener("hashchange", () => {
      if (location.hash !== toHash() && fromHash()) { syncControls(); compute(); }
    });
    if (!fromHash()) {
      const first = EXAMPLES[7];
      state.expr = first.expr;
      state.wrt = first.wrt.slice();
    }
    syncControls();
    compute();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
