"""Screenshots of the real page for docs/web.md: ``python docs/make_screenshots.py``.

Starts ``matcalc serve`` on 127.0.0.1 (any free port), drives Debian's Chromium with Playwright
for Python, and writes the PNG files beside this script.  With ``--site`` it also builds the
static site (``matcalc site``, Pyodide from ``--pyodide``, default tests/pyodide/node_modules/
pyodide) and photographs it while Python starts and once it has.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def link(base: str, expr: str, **params) -> str:
    parts = [f"expr={quote(expr)}"] + [f"{k}={quote(str(v))}" for k, vs in params.items()
                                       for v in (vs if isinstance(vs, list) else [vs])]
    return base + "#" + "&".join(parts)


def settle(page, verified: bool = True, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    want = "['ready','error'].includes(document.body.dataset.state)" + \
        (" && document.body.dataset.verified === 'done'" if verified else "")
    while not page.evaluate(want):
        if time.monotonic() > deadline:
            raise RuntimeError("the page did not settle")
        time.sleep(0.05)
    page.evaluate("document.fonts.ready")
    time.sleep(0.2)


def open_at(page, url: str, verified: bool = True) -> None:
    page.goto("about:blank")
    page.goto(url)
    settle(page, verified)


def shoot(base: str, browser) -> list[Path]:
    out = []
    ctx = browser.new_context(viewport={"width": 1000, "height": 800}, device_scale_factor=1)
    page = ctx.new_page()

    open_at(page, link(base, "sum((W@x + b - y)^2)", wrt=["W", "b"]))
    page.locator("main").screenshot(path=HERE / "web-page.png")
    out.append(HERE / "web-page.png")

    open_at(page, link(base, "max(0, w·x + b)", wrt=["w", "b"]))
    clip_sections(page, HERE / "web-result.png", 0, 2)
    out.append(HERE / "web-result.png")

    open_at(page, link(base, "x + x^2", wrt="x"))
    page.locator("#steps").locator("..").screenshot(path=HERE / "web-steps.png")
    out.append(HERE / "web-steps.png")

    open_at(page, link(base, "mean((y - max(0, X@w + b))^2)", wrt="w", shape=["X=N,n",
                                                                               "b=scalar"]))
    page.locator("#steps").locator("..").screenshot(path=HERE / "web-steps-loss.png")
    out.append(HERE / "web-steps-loss.png")

    open_at(page, link(base, "sum(w*x)", wrt="w"))
    page.locator("#expr").fill("sum(w*x) + sigmoyd(x)")
    settle(page, verified=False)
    page.locator("#expr").blur()
    clip_sections(page, HERE / "web-error.png", 0, 0)
    out.append(HERE / "web-error.png")
    ctx.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                device_scale_factor=2)
    page = phone.new_page()
    open_at(page, link(base, "x'@A@x", wrt="x", shape="A=n,n,sym", order=2))
    clip_sections(page, HERE / "web-phone.png", 0, 2)
    out.append(HERE / "web-phone.png")
    phone.close()
    return out


def clip_sections(page, path: Path, first: int, last: int) -> None:
    """A screenshot from the top of section ``first`` to the bottom of section ``last``."""
    cards = page.locator("main > section")
    a, b = cards.nth(first).bounding_box(), cards.nth(last).bounding_box()
    page.screenshot(path=path, full_page=True, clip={
        "x": a["x"] - 8, "y": a["y"] - 8, "width": a["width"] + 16,
        "height": b["y"] + b["height"] - a["y"] + 16})


def shoot_site(browser, pyodide: Path) -> list[Path]:
    folder = Path(tempfile.mkdtemp()) / "site"
    subprocess.run([sys.executable, "-m", "matcalc", "site", str(folder), "--pyodide",
                    str(pyodide)], cwd=ROOT, check=True)
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    page = ctx.new_page()
    page.goto(link(base, "[3*x^2*y, 2*x + y^8]", wrt="[x, y]"))
    page.wait_for_selector("#status.loading")
    page.screenshot(path=HERE / "web-site-loading.png")
    settle(page, verified=True, timeout=300)
    clip_sections(page, HERE / "web-site.png", 0, 2)
    httpd.shutdown()
    ctx.close()
    return [HERE / "web-site-loading.png", HERE / "web-site.png"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--site", action="store_true", help="also photograph the static site")
    p.add_argument("--pyodide", type=Path,
                   default=ROOT / "tests" / "pyodide" / "node_modules" / "pyodide")
    args = p.parse_args()
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--no-browser", "--port",
                             "0"], cwd=ROOT, text=True, stdout=subprocess.PIPE)
    try:
        base = None
        for line in proc.stdout:
            m = re.search(r"serving on (http://\S+/)", line)
            if m:
                base = m.group(1)
                break
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            written = shoot(base, browser)
            if args.site:
                written += shoot_site(browser, args.pyodide)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
