"""Keystroke to rendered result, in a real browser (Debian's Chromium via Playwright), for the
paper's examples: served by ``matcalc serve``, and in the static site (Pyodide), whose first
load (navigation to the first rendered derivative) is measured too.

``python benchmarks/web_timing.py [--pyodide DIR]``: for each example the expression is typed
but for its last character, the page settles, then the last key is pressed and the time until
the result is on the page is read from the page itself (``window.matcalcTimings``, measured
from the keydown to the end of rendering, including the page's 250 ms debounce).  Everything
runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from load import ROOT, start_server
from playwright.sync_api import sync_playwright

EXAMPLES = [("sin(x^2)", "x"), ("x + x^2", "x"), ("sum(w*x)", "w"), ("w·x", "w"),
            ("max(0, w·x + b)", "w"), ("mean((y - max(0, X@w + b))^2)", "w"),
            ("sum((W@x + b - y)^2)", "W"), ("x'@A@x", "x")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEBOUNCE_MS = 250


def wait(page, expression, arg=None, timeout=300):
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {expression}")
        time.sleep(0.01)


def settled(page):
    wait(page, "['ready','error'].includes(document.body.dataset.state) && "
               "document.body.dataset.verified === 'done'")


def keystroke_times(page, runs: int = 3) -> dict[str, float]:
    out = {}
    for expr, _ in EXAMPLES:
        times = []
        for _ in range(runs):
            page.locator("#expr").fill(expr[:-1] + " ")
            page.keyboard.press("End")
            wait(page, "document.body.dataset.state !== 'busy'")
            time.sleep(DEBOUNCE_MS / 1000 + 0.1)
            settled(page)
            page.locator("#expr").press("Backspace")
            time.sleep(DEBOUNCE_MS / 1000 + 0.1)
            settled(page)
            n = page.evaluate("window.matcalcTimings.length")
            page.locator("#expr").press(expr[-1] if expr[-1] != "'" else "'")
            wait(page, "t => document.body.dataset.rendered === t && "
                       "document.body.dataset.state === 'ready'", expr)
            wait(page, "n => window.matcalcTimings.length > n", n)
            times.append(page.evaluate("window.matcalcTimings.at(-1).ms"))
            settled(page)
        out[expr] = statistics.median(times)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pyodide", type=Path,
                   default=ROOT / "tests" / "pyodide" / "node_modules" / "pyodide")
    args = p.parse_args()
    proc, host, port = start_server()
    folder = Path(tempfile.mkdtemp()) / "site"
    subprocess.run([sys.executable, "-m", "matcalc", "site", str(folder), "--pyodide",
                    str(args.pyodide)], cwd=ROOT, check=True, capture_output=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page()
            page.goto(f"http://{host}:{port}/")
            settled(page)
            served = keystroke_times(page)
            page.close()

            page = browser.new_page()          # a fresh page: nothing cached in memory
            start = time.perf_counter()
            page.goto(site + "#expr=sum(w*x)&wrt=w")
            wait(page, "document.body.dataset.rendered === 'sum(w*x)'")
            first_load = time.perf_counter() - start
            startup = page.evaluate("window.matcalcStartup")
            settled(page)
            in_browser = keystroke_times(page, runs=2)
            browser.close()
    finally:
        proc.terminate()
        httpd.shutdown()
    print("keystroke to rendered result (median; includes the 250 ms debounce)")
    print(f"  {'expression':34} {'served':>9} {'static site':>12}")
    for expr, _ in EXAMPLES:
        print(f"  {expr:34} {served[expr]:7.0f} ms {in_browser[expr]:9.0f} ms")
    print(f"  {'median':34} {statistics.median(served.values()):7.0f} ms "
          f"{statistics.median(in_browser.values()):9.0f} ms")
    print(f"static site first load (navigation to the first derivative on the page): "
          f"{first_load:.1f} s")
    print("  of which: Pyodide {pyodide_ms:.0f} ms, wheels {wheels_ms:.0f} ms, import matcalc "
          "(SymPy, Lark) {import_ms:.0f} ms, first derivative {warm_ms:.0f} ms".format(**startup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
