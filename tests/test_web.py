"""matcalc in the browser (issue 14): the server's API and safety, then the page in a real
browser — Debian's Chromium driven by Playwright — served by ``matcalc serve`` and as the static
site ``matcalc site`` writes (Pyodide), both on 127.0.0.1.  One server, one static site and one
browser for the whole module.  Nothing here is skipped: .ci/run installs Chromium, Playwright and
the npm pyodide package (tests/pyodide)."""

from __future__ import annotations

import functools
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect, sync_playwright

import matcalc
from matcalc import report
from matcalc.web import server as web_server
from matcalc.web import site as web_site

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PYODIDE = ROOT / "tests" / "pyodide" / "node_modules" / "pyodide"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLOW = "sin(x*" * 20 + "x" + ")" * 20      # takes minutes to differentiate (a known blow-up)


# ---------------------------------------------------------------------------------------------
# Fixtures: one server, one site, one browser


def start_server(*extra) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--no-browser",
                             "--port", "0", *extra], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"serving on (http://\S+/)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("matcalc serve did not start: " + "".join(lines) + proc.stderr.read())


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def served():
    """The server with a 30 s time limit, which a loaded machine does not reach by accident
    (the page's tests are about what it shows, not about the limit: with 3 s, and then with
    10 s, a shared machine running other work saw a 504 and an unavailable verdict)."""
    proc, url = start_server("--workers", "3", "--timeout", "30")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def strict():
    """The server with a 3 s limit, for the tests of the limit itself."""
    proc, url = start_server("--workers", "3", "--timeout", "3")
    yield url
    stop_server(proc)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The static site, served as files from a folder on 127.0.0.1 (no matcalc server)."""
    assert PYODIDE.is_dir(), "npm ci --prefix tests/pyodide installs Pyodide for these tests"
    folder = web_site.build(tmp_path_factory.mktemp("site"), PYODIDE)
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.rstrip("/"))
    pg = context.new_page()
    pg.errors = []
    pg.requests = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    context.close()


def open_page(pg, base: str, expr: str | None = None, **params) -> None:
    url = base
    if expr is not None:
        parts = [f"expr={quote(expr)}"] + [f"{k}={quote(str(v))}" for k, values in params.items()
                                           for v in (values if isinstance(values, list)
                                                     else [values])]
        url += "#" + "&".join(parts)
    pg.goto("about:blank")            # a new document, not a same-document hash change
    pg.goto(url)
    wait_rendered(pg)


def wait_js(pg, expression: str, arg=None, timeout: float = 30000) -> None:
    """Wait until ``expression`` (a JavaScript expression, or a function of ``arg``) is true.
    (Playwright's wait_for_function evaluates strings, which the page's CSP rightly forbids;
    page.evaluate goes through the DevTools protocol.)"""
    deadline = time.monotonic() + timeout / 1000
    while True:
        if pg.evaluate(expression, arg):
            return
        if time.monotonic() > deadline:
            seen = pg.evaluate("[document.body.dataset.state, document.body.dataset.rendered, "
                               "(document.getElementById('expr') || {}).value]")
            raise AssertionError(f"timed out waiting for {expression} "
                                 f"(state, rendered, input: {seen})")
        time.sleep(0.05)


def wait_rendered(pg, timeout=30000) -> None:
    wait_js(pg, "['ready', 'error'].includes(document.body.dataset.state)",
                         timeout=timeout)


def type_expression(pg, text: str) -> None:
    box = pg.locator("#expr")
    box.fill("")
    box.press_sequentially(text)
    wait_js(pg, "t => document.body.dataset.rendered === t && "
                         "document.body.dataset.state === 'ready'", arg=text, timeout=30000)


def choose_wrt(pg, wrt: str) -> None:
    """Differentiate by ``wrt`` alone (the page keeps a choice while its variable occurs)."""
    if pg.locator("#results .result").evaluate_all("rs => rs.map(r => r.dataset.wrt)") == [wrt]:
        return
    boxes = pg.locator("#variables tbody tr")
    for i in range(boxes.count()):
        tr = boxes.nth(i)
        box = tr.locator("input.wrt")
        if tr.get_attribute("data-name") == wrt and not box.is_checked():
            box.check()
    for i in range(boxes.count()):
        tr = boxes.nth(i)
        box = tr.locator("input.wrt")
        if tr.get_attribute("data-name") != wrt and box.is_checked():
            box.uncheck()
    wait_js(pg, "w => [...document.querySelectorAll('#results .result')].map(r => r.dataset.wrt)"
                ".join() === w && document.body.dataset.state === 'ready'", wrt)


def texts(pg) -> list[str]:
    return pg.locator("#results .form-text").all_inner_texts()


def post(url: str, body: bytes | str, headers: dict | None = None):
    host, port = url.split("//")[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = body.encode() if isinstance(body, str) else body
    conn.request("POST", "/api/diff", data, {"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    conn.close()
    return out


def get(url: str, path: str, headers: dict | None = None):
    host, port = url.split("//")[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    conn.close()
    return out


# ---------------------------------------------------------------------------------------------
# The HTTP API and the server's safety


def test_api_returns_the_report(served):
    request = {"expression": "sum((W@x + b - y)^2)", "wrt": ["W", "b"], "steps": True,
               "numpy": True}
    status, headers, body = post(served, json.dumps(request))
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == report.respond(request)


def test_api_user_error_is_422_with_the_span(served):
    status, _, body = post(served, json.dumps({"expression": "sum(w*x", "wrt": ["w"]}))
    error = json.loads(body)["error"]
    assert status == 422 and error["span"] == [3, 4] and error["field"] == "expression"


@pytest.mark.parametrize("body, status", [
    ("{not json", 400), ("[1, 2]", 400), (json.dumps({"expression": "x", "order": 7}), 400),
    (json.dumps({"expression": "x" * 5000}), 413),
    (json.dumps({"expression": "+".join(["x"] * 50_000)}), 413),
    (json.dumps({"expression": "sin(" * 10_000 + "x" + ")" * 10_000}), 413),
])
def test_api_rejects_malformed_and_oversized_requests(served, body, status):
    got, _, answer = post(served, body)
    assert got == status and json.loads(answer)["ok"] is False


def test_a_runaway_expression_is_stopped_and_the_server_keeps_answering(strict):
    start = time.monotonic()
    status, _, body = post(strict, json.dumps({"expression": SLOW, "steps": True, "numpy": True}))
    assert status == 504 and "longer than 3 s" in json.loads(body)["error"]["message"]
    assert time.monotonic() - start < 60
    for _ in range(5):    # the killed worker was replaced: every request is answered
        status, _, body = post(strict, json.dumps({"expression": "sum(w*x)"}))
        assert status == 200 and json.loads(body)["derivatives"][0]["text"] == "xᵀ"


def test_concurrent_requests_during_a_runaway_one(strict):
    results = []

    def one(expr, slow=False):
        results.append(post(strict, json.dumps({"expression": expr, "steps": slow,
                                                "numpy": slow}))[0])
    threads = [threading.Thread(target=one, args=(SLOW, True))] + \
        [threading.Thread(target=one, args=("max(0, w·x + b)",)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 12 + [504]


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/katex/../../server.py", "/..%2fserver.py", "/server.py",
                                  "//etc/passwd", "/static/../../../etc/passwd",
                                  "/katex/fonts/../../../../report.py"])
def test_no_path_traversal(served, path):
    status, _, body = get(served, path)
    assert status == 404 and b"import" not in body and b"root:" not in body


def test_every_response_has_a_content_security_policy(served):
    for path in ("/", "/app.js", "/api", "/nowhere"):
        _, headers, _ = get(served, path)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-eval" not in csp and headers["X-Content-Type-Options"] == "nosniff"
    _, headers, _ = post(served, json.dumps({"expression": "x"}))
    assert "Content-Security-Policy" in headers


def test_shipped_scripts_never_evaluate_text_as_code():
    """No script the page ships turns text into code: no eval, no Function constructor, no
    string timers.  (The vendored katex.min.js calls RegExp.prototype.exec, a regular-expression
    match, which a plain search for "exec(" also finds; the CSP above has no 'unsafe-eval', so
    the browser would refuse an eval anyway.)"""
    static = Path(matcalc.__file__).parent / "web" / "static"
    scripts = sorted(static.rglob("*.js"))
    assert any(p.name == "katex.min.js" for p in scripts) and len(scripts) >= 3
    code = re.compile(r"(?<![\w$.])(eval|Function)\s*\(|new\s+Function\b|"
                      r"set(Timeout|Interval)\s*\(\s*[\"'`]")
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        assert not code.search(text), (path.name, code.search(text))
        # every exec( is a RegExp match: a regex literal or a named RegExp object before it
        for m in re.finditer(r"exec\(", text):
            assert text[m.start() - 1] == ".", (path.name, text[m.start() - 40:m.end() + 20])


def test_the_vendored_katex_is_the_npm_release_unmodified():
    """The page's katex.min.js is byte for byte the file of the KaTeX release that
    tests/katex/package-lock.json pins (installed by ``npm ci --prefix tests/katex``, which
    .ci/run does): what a search for "Function(" or "exec(" finds in it is upstream KaTeX's own
    callFunction/parseFunction methods and RegExp matches, checked above; and the page renders
    with KaTeX's default trust (false), so user text never becomes a link or HTML."""
    shipped = Path(matcalc.__file__).parent / "web" / "static" / "katex" / "katex.min.js"
    npm = Path(__file__).resolve().parent / "katex" / "node_modules" / "katex" / "dist" / \
        "katex.min.js"
    if not npm.is_file():
        pytest.skip("KaTeX is not installed: run `npm ci --prefix tests/katex`")
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (shipped, npm)]
    assert digest[0] == digest[1]
    app = (Path(matcalc.__file__).parent / "web" / "static" / "app.js").read_text(encoding="utf-8")
    assert "trust" not in app and "katex.render(" in app


def test_only_loopback_host_names_are_served(served):
    for host in ("attacker.example:80", "127.attacker.example", "localhost.example"):
        status, _, _ = get(served, "/", {"Host": host})
        assert status == 421
    assert post(served, '{"expression": "x"}', {"Host": "evil.example"})[0] == 421
    assert get(served, "/", {"Host": "[::1]:80"})[0] == 200
    assert get(served, "/", {"Host": "localhost"})[0] == 200


def test_api_description(served):
    status, _, body = get(served, "/api")
    data = json.loads(body)
    assert status == 200 and data["limits"]["expression_chars"] == web_server.MAX_EXPRESSION


def test_host_option_says_it_listens_beyond_this_machine():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--no-browser", "--port",
                             "0", "--host", "0.0.0.0", "--workers", "1"], cwd=ROOT, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline()
        assert "not on 127.0.0.1 only" in first
        assert "serving on http://0.0.0.0:" in proc.stdout.readline()
    finally:
        stop_server(proc)


def test_default_binds_loopback_only(served):
    assert served.startswith("http://127.0.0.1:")


# ---------------------------------------------------------------------------------------------
# The page, served

PAPER = [("sin(x^2)", "x", "2x cos(x²)"),
         ("x + x^2", "x", "2x + 1"),
         ("sum(w*x)", "w", "xᵀ"),
         ("max(0, w·x + b)", "w", "0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0")]


def test_typing_the_papers_examples_renders_the_derivative(page, served):
    open_page(page, served)
    for expr, wrt, expected in PAPER:
        type_expression(page, expr)
        choose_wrt(page, wrt)
        d = matcalc.diff(expr, wrt)
        assert texts(page)[0] == str(d) == expected
        eq = page.locator("#results .equation").first
        assert eq.locator(".katex").count() == 1           # rendered by KaTeX …
        assert eq.locator("annotation").text_content() == d.equation_latex   # … from this LaTeX
        assert page.locator("#results .form-latex").first.inner_text() == d.latex
        assert page.locator("#shapes-line").inner_text() == report.shapes_line(d.shapes)
    assert page.errors == []


def test_an_error_highlights_its_span_in_the_box(page, served):
    open_page(page, served, "sum(w*x)")
    page.locator("#expr").press_sequentially(" + sigmoyd(x)")
    wait_js(page, "document.body.dataset.state === 'error'")
    error = page.locator("#error")
    expect(error).to_be_visible()
    assert "unknown function 'sigmoyd'" in error.inner_text()
    assert "did you mean sigmoid?" in error.inner_text()
    mark = page.locator("#expr-backdrop mark")
    assert mark.inner_text() == "sigmoyd"
    assert (mark.get_attribute("data-start"), mark.get_attribute("data-end")) == ("11", "18")
    # the mark lies exactly under the word in the box: same font, same place
    box = page.locator("#expr").bounding_box()
    m = mark.bounding_box()
    assert box["x"] < m["x"] < box["x"] + box["width"] and m["width"] > 20
    type_expression(page, "sum(w*x)")          # fixed: the error and the mark go
    expect(error).to_be_hidden()
    assert page.locator("#expr-backdrop mark").count() == 0


def test_an_unclosed_bracket_marks_the_bracket(page, served):
    open_page(page, served, "sum(w*x")
    assert page.locator("body").get_attribute("data-state") == "error"
    mark = page.locator("#expr-backdrop mark")
    assert mark.inner_text() == "(" and mark.get_attribute("data-start") == "3"
    assert "line 1, column 4" in page.locator("#error .error-caret").inner_text()


def row(page, name):
    return page.locator(f"#variables tr[data-name='{name}']")


def test_editing_a_shape(page, served):
    open_page(page, served, "x'@A@x", wrt="x")
    assert texts(page) == [str(matcalc.diff("x'@A@x", "x"))]
    row(page, "A").locator("input[data-flag=sym]").check()
    wait_js(page, "document.querySelector('#results .form-text').textContent"
                           " === '2xᵀ A'")
    assert "A ∈ ℝⁿˣⁿ (symmetric)" in page.locator("#shapes-line").inner_text()
    assert "declared" in row(page, "A").inner_text()
    # b from vector to scalar: the bias of sum((W@x + b - y)^2) is then broadcast
    open_page(page, served, "sum((W@x + b - y)^2)", wrt="b")
    row(page, "b").locator("select").select_option("scalar")
    wait_js(page, "document.querySelector('#shapes-line').textContent.includes('b ∈ ℝ,')"
                           " || document.querySelector('#shapes-line').textContent.endsWith('b ∈ ℝ')")
    expected = matcalc.diff("sum((W@x + b - y)^2)", "b", shapes={"b": "scalar"})
    assert texts(page) == [str(expected)]
    # a dimension renamed
    inputs = row(page, "W").locator("input[type=text]")
    inputs.first.fill("k")
    inputs.first.press("Enter")
    wait_js(page, "document.querySelector('#shapes-line').textContent.includes('ᵏˣ')")
    assert page.locator("#shapes-line").inner_text().startswith("W ∈ ℝᵏˣ")
    # a batch of labels: each row of Y sums to 1, and cross-entropy's gradient is then 1/N Xᵀ(S − Y)
    xent = "-sum(Y*log_softmax(X@W, axis=1))/N"
    open_page(page, served, xent, wrt="W", shape="X=N,n")
    assert row(page, "Y").locator("input[data-flag=prob]").get_attribute("title") == \
        "each row of Y sums to 1 (a batch of probabilities or one-hot labels)"
    row(page, "Y").locator("input[data-flag=prob]").check()
    wait_js(page, "document.querySelector('#shapes-line').textContent.includes('each row')")
    expected = matcalc.diff(xent, "W", shapes={"X": "N,n", "Y": "N,k,prob"})
    assert texts(page) == [str(expected)] == ["1/N Xᵀ (softmax(X W, axis=1) − Y)"]


def test_several_variables_layout_and_order(page, served):
    open_page(page, served, "max(0, w·x + b)")
    assert texts(page) == ["0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0"]       # the first variable
    row(page, "b").locator("input.wrt").check()
    wait_js(page, "document.querySelectorAll('#results .result').length === 2")
    assert texts(page) == [str(d) for d in matcalc.diff("max(0, w·x + b)", ["w", "b"])]
    page.select_option("#layout", "denominator")
    wait_js(page, "document.querySelector('#results .form-text').textContent"
                           ".includes('0 if')")
    assert texts(page)[0] == str(matcalc.diff("max(0, w·x + b)", "w", layout="denominator"))
    open_page(page, served, "sum(exp(x))", wrt="x")
    page.select_option("#order", "2")
    wait_js(page, "document.querySelector('#results .form-text').textContent"
                           " === 'diag(exp(x))'")
    assert r"\partial^{2}" in page.locator("#results .equation annotation").text_content()


def test_steps_and_the_data_flow_graph(page, served):
    open_page(page, served, "x + x^2", wrt="x")
    svg = page.locator("#steps .graph svg")
    assert svg.count() == 1
    nodes = svg.locator("g.node").evaluate_all("gs => gs.map(g => g.dataset.id)")
    edges = svg.locator("path.edge").evaluate_all(
        "ps => ps.map(p => [p.dataset.from, p.dataset.to])")
    assert nodes == ["x", "u₁", "u₂"]
    assert edges == [["x", "u₁"], ["x", "u₂"], ["u₁", "u₂"]]     # both paths x → u₂
    assert "2 paths" in page.locator("#steps .graph-caption").inner_text()
    assert "total-derivative" in page.locator("#steps .graph-caption").inner_text()
    # the arrows point from left to right, the direct one arching over u₁
    boxes = {n: svg.locator(f"g.node[data-id='{n}']").bounding_box() for n in nodes}
    assert boxes["x"]["x"] < boxes["u₁"]["x"] < boxes["u₂"]["x"]
    headings = page.locator("#steps .step-heading").all_inner_texts()
    assert headings[0] == "1. Intermediate variables, one per operation"
    assert headings[2].startswith("3. Single-variable total-derivative chain rule: 2 data-flow "
                                  "paths, x ")
    assert page.locator("#steps .step-heading").nth(2).locator(".katex").count() == 6  # 3 × → and ₂ ₁ ₂
    assert page.locator("#steps .steps-math .katex").count() == 4     # no math under 3.
    steps_text = page.locator("#steps .steps-text").text_content()
    assert steps_text == str(matcalc.diff("x + x^2", "x").steps)
    type_expression(page, "sin(x^2)")
    nodes = svg.locator("g.node").evaluate_all("gs => gs.map(g => g.dataset.id)")
    assert nodes == ["x", "u", "y"] and svg.locator("path.edge").count() == 2


def test_copy_buttons(page, served):
    open_page(page, served, "sum((W@x + b - y)^2)", wrt=["W", "b"])
    page.click("#copy-code")
    ds = matcalc.diff("sum((W@x + b - y)^2)", ["W", "b"])
    clip = page.evaluate("navigator.clipboard.readText()")
    assert clip == matcalc.to_numpy(ds)
    namespace = {}
    exec(compile(clip, "<copied>", "exec"), namespace)  # noqa: S102  (matcalc's own code)
    assert namespace["check_f_and_grad"](W=[[1.0, 2.0], [3.0, 4.0]], x=[1.0, -1.0],
                                         b=[0.5, 0.5], y=[0.0, 1.0]) < 1e-4
    page.locator("#results .result").first.get_by_role("button", name="Copy text").click()
    assert page.evaluate("navigator.clipboard.readText()") == str(ds[0])
    page.locator("#results .result").first.get_by_role("button", name="Copy LaTeX").click()
    assert page.evaluate("navigator.clipboard.readText()") == ds[0].latex


def test_verification_verdict(page, served):
    open_page(page, served, "sigmoid(W@x + b)", wrt="x")
    # the verdict may queue behind requests the earlier pages left (up to the 30 s limit)
    wait_js(page, "document.body.dataset.verified === 'done'", timeout=120000)
    verdict = page.locator("#verdict .verdict")
    assert verdict.get_attribute("data-status") == "verified"
    assert "verified against SymPy and finite differences" in verdict.inner_text()


def test_permalink_reload_reproduces_the_page(page, served):
    open_page(page, served)
    page.get_by_role("button", name=re.compile(r"^mean\(")).click()       # the §9 loss
    wait_js(page, "document.body.dataset.rendered.startsWith('mean(')")
    page.select_option("#layout", "denominator")
    wait_js(page, "location.hash.includes('layout=denominator')")
    wait_rendered(page)
    before = texts(page)
    link = page.locator("#permalink").get_attribute("href")
    assert "shape=X%3DN%2Cn" in link and "wrt=w" in link and "wrt=b" in link
    other = page.context.new_page()
    other.goto(link)
    wait_rendered(other)
    assert other.locator("#expr").input_value() == "mean((y - max(0, X@w + b))^2)"
    assert other.locator("#layout").input_value() == "denominator"
    assert texts(other) == before == [
        str(d) for d in matcalc.diff("mean((y - max(0, X@w + b))^2)", ["w", "b"],
                                     shapes={"X": "N,n", "b": "scalar"}, layout="denominator")]
    other.reload()
    wait_rendered(other)
    assert texts(other) == before
    other.close()


def test_offline_every_request_stays_on_this_server(page, served):
    open_page(page, served, "softmax(W@x)", wrt="x")
    wait_js(page, "document.body.dataset.verified === 'done'")
    page.wait_for_load_state("networkidle")
    assert page.requests and all(u.startswith(served) for u in page.requests), page.requests
    fonts = [u for u in page.requests if u.endswith(".woff2")]
    assert fonts, "KaTeX's fonts come from the package"
    assert page.errors == []          # no CSP violation, no script error


def test_keyboard_only(page, served):
    open_page(page, served, "sum(w*x)")
    page.keyboard.press("Tab")                     # the skip link …
    page.keyboard.press("Enter")                   # … to the expression
    assert page.evaluate("document.activeElement.id") == "expr"
    page.wait_for_timeout(300)                     # a hashchange, had there been one, has fired
    assert page.locator("#expr").input_value() == "sum(w*x)"   # the skip link keeps the text …
    assert "#expr=sum" in page.url                               # … and the permalink
    page.keyboard.press("Control+A")
    page.keyboard.type("w·x")
    wait_js(page, "document.getElementById('expr').value === 'w·x'")
    page.keyboard.press("Enter")                   # Enter computes at once, adds no newline
    wait_js(page, "document.body.dataset.rendered === 'w·x'")
    assert page.locator("#expr").input_value() == "w·x"
    for _ in range(40):                            # Tab reaches an example; Enter loads it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('example')"):
            break
    page.keyboard.press("Enter")
    wait_js(page, "document.body.dataset.rendered === 'sin(x^2)'")
    assert texts(page) == ["2x cos(x²)"]


def test_readable_at_phone_width(browser, served):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  device_scale_factor=2)
    pg = context.new_page()
    open_page(pg, served, "mean((y - max(0, X@w + b))^2)", wrt=["w", "b"], shape="X=N,n")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 360    # no sideways page
    assert pg.locator("#expr").bounding_box()["width"] > 300
    context.close()


# ---------------------------------------------------------------------------------------------
# The static site: the same page, Python in the browser


def test_static_site_gives_the_same_results(browser, site, served):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    requests, errors = [], []
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(site + "#expr=" + quote("sum(w*x)") + "&wrt=w")
    expect(pg.locator("#status")).to_contain_text("Python")       # the loading indicator
    assert pg.locator("#status.loading").count() == 1
    wait_rendered(pg, timeout=180000)
    assert texts(pg) == ["xᵀ"]
    expect(pg.locator("#browser-note")).to_be_visible()
    assert "NumPy" in pg.locator("#browser-note").inner_text()
    served_page = context.new_page()
    for expr, wrt, expected in PAPER[:3] + [("[3*x^2*y, 2*x + y^8]", "[x, y]", None)]:
        type_expression(pg, expr)
        if wrt.startswith("["):                 # tick x and y, stack them
            for name in ("x", "y"):
                pg.locator(f"#variables tr[data-name='{name}'] input.wrt").check()
            pg.locator("#stack").check()
            wait_js(pg, "document.querySelector('#results .result').dataset.wrt === '[x, y]'"
                        " && document.body.dataset.state === 'ready'")
        else:
            choose_wrt(pg, wrt)
        open_page(served_page, served, expr, wrt=wrt)
        assert texts(pg) == texts(served_page)
        graph = "s => s.map(x => x.getAttribute('aria-label'))"
        assert pg.locator("#steps .graph svg").evaluate_all(graph) == \
            served_page.locator("#steps .graph svg").evaluate_all(graph)
        assert pg.locator("#steps .steps-text").all_text_contents() == \
            served_page.locator("#steps .steps-text").all_text_contents()
        assert pg.locator("#code").text_content() == served_page.locator("#code").text_content()
    wait_js(pg, "document.body.dataset.verified === 'done'")
    assert "cannot be verified in the browser" in pg.locator("#verdict").inner_text()
    pg.locator("#expr").fill("sum(w*x")
    wait_js(pg, "document.body.dataset.state === 'error'")
    assert pg.locator("#expr-backdrop mark").inner_text() == "("
    assert requests and all(u.startswith(site) for u in requests), \
        [u for u in requests if not u.startswith(site)]
    assert errors == []
    context.close()
