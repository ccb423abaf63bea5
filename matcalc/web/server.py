"""``matcalc serve``: the page and its JSON API on a local HTTP server (standard library only).

The API (also in ``docs/web.md``)::

    POST /api/diff      body: a report request (matcalc/report.py), JSON, at most 16 KiB
                        200 the report · 422 an error in the input (``{"ok": false, "error"}``,
                        the span to highlight) · 400 malformed request · 413 too large ·
                        503 busy · 504 over the time limit
    GET  /api           what the API takes and its limits, as JSON
    GET  /, /<file>     the page and its files, from the package's ``web/static`` only

Safety: it binds 127.0.0.1 unless ``--host`` says otherwise; a request's body and expression
are limited in size; every request runs in a worker process, and a worker that takes longer
than ``soft`` seconds is reniced to the lowest priority (the other requests keep the CPU), and
past the time limit it is killed and replaced, so no expression can hold the server; static
files are looked up in a table made at start-up (no path from the request touches the file
system); every response carries a Content-Security-Policy; the expression reaches matcalc's
grammar only (``report.respond``), never ``eval``.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import mimetypes
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
import webbrowser
from urllib.parse import urlsplit

from .. import __version__, report
from . import STATIC

MAX_BODY = 16 * 1024          # bytes of one request body
DRAIN = 1024 * 1024           # bytes of a too-large body read and dropped (more: connection closed)
MAX_EXPRESSION = 2000         # characters of one expression
TIMEOUT = 10.0                # seconds of one request in a worker
SOFT = 0.5                    # seconds after which a request's worker yields the CPU
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "font-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Opener-Policy": "same-origin",
           "Cross-Origin-Resource-Policy": "same-origin"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".woff2": "font/woff2", ".svg": "image/svg+xml", ".png": "image/png",
         ".json": "application/json", ".txt": "text/plain; charset=utf-8"}


def static_files(root=STATIC) -> dict[str, tuple[bytes, str]]:
    """``{"/app.js": (bytes, content type), ...}``: every file of the page, read once.  A
    request names a key of this table or gets 404; no request path touches the file system."""
    table = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(root).as_posix()
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or \
                "application/octet-stream"
            table["/" + rel] = (path.read_bytes(), kind)
    table["/"] = table["/index.html"]
    return table


# ---------------------------------------------------------------------------------------------
# Workers


def _work(conn) -> None:
    """A worker process: warm up, then answer requests until the pipe closes."""
    report.respond({"expression": "sum(exp(W@x + b))", "wrt": ["W"], "steps": True,
                    "numpy": True})
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = report.respond(request)
        except Exception:  # noqa: BLE001  (an internal bug: report it, keep the worker)
            traceback.print_exc()
            answer = {"ok": False, "internal": True, "version": __version__, "error": {
                "type": "InternalError", "field": None, "span": None, "line": None,
                "column": None, "caret": None, "hint": "this is a bug in matcalc: please report it",
                "message": "internal error: " + traceback.format_exc(limit=-1).strip()}}
            answer["error"]["text"] = answer["error"]["message"]
        conn.send(answer)


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_work, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            self.ready = self.conn.recv() == "ready"
        return self.ready

    def renice(self, value: int) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, value)
        except (OSError, AttributeError):
            pass

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class Timeout(Exception):
    pass


class Busy(Exception):
    pass


class WorkerPool:
    """``size`` worker processes answering ``report.respond`` requests, one at a time each.

    A request that runs longer than ``soft`` seconds has its worker reniced to 19, so the
    other workers keep the CPU; past ``timeout`` seconds the worker is killed (a thread could
    not be) and a fresh one takes its place.  A reniced worker is replaced after it answers."""

    def __init__(self, size: int | None = None, timeout: float = TIMEOUT, soft: float = SOFT):
        self.size = size or (os.cpu_count() or 2) + 2
        self.timeout, self.soft = timeout, soft
        # forkserver: workers forked from a clean process that has imported matcalc (fast to
        # replace, and no fork of this threaded server); spawn where there is none (Windows)
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(["matcalc.report"])
        else:
            self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.size):
            self._start()

    def _start(self) -> None:
        w = _Worker(self._ctx)
        with self._lock:
            self._all.add(w)
        self._idle.put(w)

    def _replace(self, w: _Worker) -> None:
        with self._lock:
            self._all.discard(w)
        threading.Thread(target=w.kill, daemon=True).start()
        if not self._closed:
            self._start()

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until every worker has started and warmed up."""
        deadline = time.monotonic() + timeout
        for w in list(self._all):
            if not w.wait_ready(max(0.0, deadline - time.monotonic())):
                raise RuntimeError("a matcalc worker did not start")

    def run(self, request: dict) -> dict:
        """``report.respond(request)`` in a worker; raises Busy or Timeout."""
        start = time.monotonic()
        try:
            w = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise Busy() from None
        budget = max(0.1, self.timeout - (time.monotonic() - start))
        reniced = False
        try:
            if not w.wait_ready(budget):
                self._replace(w)
                raise Timeout()
            w.conn.send(request)
            if not w.conn.poll(min(self.soft, budget)):
                w.renice(19)          # a long request yields the CPU to the others
                reniced = True
                if not w.conn.poll(max(0.0, budget - self.soft)):
                    self._replace(w)
                    raise Timeout()
            answer = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(w)
            raise
        if reniced:
            self._replace(w)
        else:
            self._idle.put(w)
        return answer

    def close(self) -> None:
        self._closed = True
        for w in list(self._all):
            w.kill()


# ---------------------------------------------------------------------------------------------
# HTTP


def _error(message: str, hint: str | None = None, field: str | None = None) -> dict:
    return {"ok": False, "version": __version__, "error": {
        "type": "RequestError", "field": field, "message": message, "hint": hint, "span": None,
        "line": None, "column": None, "caret": None, "text": message + (f"\n{hint}" if hint else "")}}


def api_description(pool: WorkerPool) -> dict:
    return {"version": __version__,
            "endpoints": {"POST /api/diff": "a report request (JSON) -> the report (JSON)",
                          "GET /api": "this description"},
            "request": {"expression": "string (required)",
                        "wrt": "list of names or vector literals; [] = the first variable",
                        "shapes": "object: name -> shape, e.g. \"m,n\", \"scalar\", \"n,prob\"",
                        "layout": "numerator | denominator", "order": "1 | 2",
                        "steps": "bool", "numpy": "bool", "check": "bool"},
            "limits": {"body_bytes": MAX_BODY, "expression_chars": MAX_EXPRESSION,
                       "seconds": pool.timeout}}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = f"matcalc/{__version__}"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 15                  # seconds a connection may idle or trickle (slow clients)

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        for k, v in {**HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drain(self, length: int) -> None:
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
        except OSError:
            self.close_connection = True

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8", {"Cache-Control": "no-store"})

    def _host_ok(self) -> bool:
        """Against DNS rebinding: on a loopback address, only loopback names are served."""
        if not self.server.loopback_only:
            return True
        host = (self.headers.get("Host") or "").lower()
        host = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:               # a name, such as 127.attacker.example
            return False

    def do_GET(self):
        if not self._host_ok():
            return self._json(421, _error("this server answers to localhost only"))
        path = urlsplit(self.path).path
        if path == "/api":
            return self._json(200, api_description(self.server.pool))
        entry = self.server.files.get(path)
        if entry is None:
            return self._send(404, b"not found\n", "text/plain; charset=utf-8")
        self._send(200, entry[0], entry[1], {"Cache-Control": "no-cache"})

    do_HEAD = do_GET

    def do_POST(self):
        if not self._host_ok():
            return self._json(421, _error("this server answers to localhost only"))
        if urlsplit(self.path).path != "/api/diff":
            self.close_connection = True
            return self._json(404, _error(f"no such endpoint: POST {self.path[:100]}"))
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            return self._json(411, _error("a request needs a Content-Length"))
        if int(length) > MAX_BODY:
            if int(length) <= DRAIN:           # read and dropped: the connection stays usable
                self._drain(int(length))
            else:                              # not read: the connection is closed
                self.close_connection = True
            return self._json(413, _error(f"the request is {int(length):,} bytes; the limit "
                                          f"is {MAX_BODY:,}", "shorten the expression"))
        try:
            request = json.loads(self.rfile.read(int(length)).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return self._json(400, _error(f"the request is not JSON: {e}"))
        except OSError:
            self.close_connection = True
            return None
        if not isinstance(request, dict):
            return self._json(400, _error("the request must be a JSON object"))
        text = request.get("expression")
        if isinstance(text, str) and len(text) > MAX_EXPRESSION:
            return self._json(413, _error(
                f"the expression is {len(text):,} characters long; the limit is "
                f"{MAX_EXPRESSION:,}", "split it into smaller parts", "expression"))
        try:
            answer = self.server.pool.run(request)
        except Timeout:
            return self._json(504, _error(
                f"this took longer than {self.server.pool.timeout:g} s and was stopped",
                "try a smaller expression, or without steps and checks", "expression"))
        except Busy:
            return self._json(503, _error("the server is busy: try again"))
        except (EOFError, OSError):
            return self._json(500, _error("the worker stopped unexpectedly: try again"))
        if answer.get("ok"):
            return self._json(200, answer)
        if answer.get("internal"):
            return self._json(500, answer)
        field = answer["error"].get("field")
        return self._json(422 if field not in (None, "request") else 400, answer)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, pool: WorkerPool, verbose: bool = False):
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.pool, self.verbose = pool, verbose
        self.files = static_files()
        try:
            self.loopback_only = ipaddress.ip_address(host).is_loopback
        except ValueError:
            self.loopback_only = host == "localhost"

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(host: str = "127.0.0.1", port: int = 8765, browser: bool = True,
          timeout: float = TIMEOUT, workers: int | None = None, verbose: bool = False,
          out=sys.stdout) -> int:
    """Run the server until interrupted (``matcalc serve``)."""
    pool = WorkerPool(workers, timeout)
    try:
        server = Server((host, port), pool, verbose)
    except OSError as e:
        pool.close()
        print(f"matcalc: error: cannot listen on {host}:{port}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    pool.wait_ready()
    if not server.loopback_only:
        print(f"matcalc: listening on {host}, not on 127.0.0.1 only: anyone who can reach "
              f"this address can use the server", file=out)
    print(f"matcalc serving on {server.url}  (Ctrl-C to stop)", file=out, flush=True)
    if browser:
        webbrowser.open(server.url)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        pool.close()
    return 0
