// The static site's back end (matcalc site DIR): Python in a worker, so the page stays
// responsive while it starts and computes, and a runaway expression can be stopped by
// terminating the worker.  Everything is loaded from this folder: Pyodide's core runtime
// (pyodide/) and the wheels of matcalc, SymPy, mpmath and Lark (wheels/), unpacked without
// micropip.  It answers {id, request} with {id, response}, the response being
// matcalc.report.respond(request) — the same function the server runs.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const here = (path) => new URL(path, import.meta.url).href;

async function start() {
  const t0 = performance.now();
  postMessage({ progress: "Starting Python in your browser (Pyodide)…" });
  const pyodide = await loadPyodide({ indexURL: here("./pyodide/") });
  const t1 = performance.now();
  postMessage({ progress: "Loading SymPy, Lark and matcalc…" });
  const manifest = await (await fetch(here("./wheels/manifest.json"))).json();
  const buffers = await Promise.all(manifest.wheels.map(async (name) => {
    const response = await fetch(here("./wheels/" + name));
    if (!response.ok) throw new Error(`wheels/${name}: ${response.status}`);
    return [name, await response.arrayBuffer()];
  }));
  for (const [name, buffer] of buffers) pyodide.unpackArchive(buffer, "wheel");
  const t2 = performance.now();
  const report = pyodide.pyimport("matcalc.report");
  const respond = report.respond_json;
  const t3 = performance.now();
  // the first derivative builds the parser's tables and fills SymPy's caches
  respond(JSON.stringify({ expression: "sum(w*x)", wrt: ["w"], steps: true, numpy: true }));
  const t4 = performance.now();
  return { respond, timings: { pyodide_ms: t1 - t0, wheels_ms: t2 - t1, import_ms: t3 - t2,
                               warm_ms: t4 - t3 } };
}

const started = start();
started.then(
  ({ timings }) => postMessage({ ready: true, timings }),
  (error) => postMessage({ failed: String(error && error.message || error) }),
);

self.onmessage = async (event) => {
  const { id, request } = event.data;
  const { respond } = await started;
  let response;
  try {
    response = JSON.parse(respond(JSON.stringify(request)));
  } catch (error) {
    response = { ok: false, error: { type: "InternalError", message: String(error), hint: null,
                                     field: null, span: null, line: null, column: null,
                                     caret: null, text: String(error) } };
  }
  postMessage({ id, response });
};
