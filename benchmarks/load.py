"""Load and faults for ``matcalc serve`` (issue 14), on 127.0.0.1 only, bounded in time.

``python benchmarks/load.py`` starts the server with its defaults, then

1. quiet: 50 concurrent clients for 30 s, each sending the page's request (steps and NumPy code)
   for the paper's examples in turn, one after another on a kept-alive connection;
2. hostile: the same 50 clients for another 30 s while three more send, over and over, an
   expression of 100,000 characters, one of 10,000 nested calls, and one that takes minutes to
   differentiate (stopped at the server's time limit);

and prints the failed requests (anything but 200 for the 50; for the hostile ones, anything but
the expected 413 or 504) and p50/p99 latency of each phase.  The target: no failures, and the
hostile phase's p99 within 2× the quiet one's.  ``--seconds`` and ``--clients`` shorten a run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [("sin(x^2)", ["x"]), ("x + x^2", ["x"]), ("[3*x^2*y, 2*x + y^8]", ["[x, y]"]),
            ("sum(w*x)", ["w"]), ("w·x", ["w"]), ("max(0, w·x + b)", ["w", "b"]),
            ("mean((y - max(0, X@w + b))^2)", ["w", "b"]), ("sum((W@x + b - y)^2)", ["W", "b"]),
            ("x'@A@x", ["x"])]
HOSTILE = {
    "100,000 characters": ("+".join(["x"] * 50_000), (413,)),
    "10,000 nested calls": ("sin(" * 10_000 + "x" + ")" * 10_000, (413,)),
    "takes minutes": ("sin(x*" * 20 + "x" + ")" * 20, (504,)),
}


def start_server() -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--no-browser", "--port",
                             "0"], cwd=ROOT, text=True, stdout=subprocess.PIPE)
    for line in proc.stdout:
        m = re.search(r"serving on http://([\d.]+):(\d+)/", line)
        if m:
            return proc, m.group(1), int(m.group(2))
    raise RuntimeError("the server did not start")


def client(host, port, until, bodies, latencies, failures, expected=(200,)):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    i = 0
    while time.monotonic() < until:
        body = bodies[i % len(bodies)]
        i += 1
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/diff", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = r.status
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
        except (OSError, http.client.HTTPException) as e:
            status = repr(e)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=60)
        latencies.append(time.perf_counter() - start)
        if status not in expected:
            failures.append(status)
    conn.close()


def phase(host, port, seconds, clients, hostile: bool):
    bodies = [json.dumps({"expression": e, "wrt": w, "steps": True, "numpy": True}).encode()
              for e, w in EXAMPLES]
    until = time.monotonic() + seconds
    latencies, failures = [], []
    threads = [threading.Thread(target=client, args=(host, port, until, bodies[i:] + bodies[:i],
                                                     latencies, failures))
               for i in range(clients)]
    bad = {}
    if hostile:
        for name, (expr, expected) in HOSTILE.items():
            body = [json.dumps({"expression": expr, "steps": True, "numpy": True}).encode()]
            bad[name] = ([], [])
            threads.append(threading.Thread(target=client, args=(host, port, until, body,
                                                                 *bad[name], expected)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures, bad


def quantiles(xs):
    q = statistics.quantiles(xs, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--clients", type=int, default=50)
    args = p.parse_args()
    proc, host, port = start_server()
    try:
        phase(host, port, 3, 4, False)             # warm up
        quiet = phase(host, port, args.seconds, args.clients, False)
        noisy = phase(host, port, args.seconds, args.clients, True)
    finally:
        proc.terminate()
        proc.wait(10)
    ok = True
    rows = []
    for name, (lat, fail, bad) in (("quiet", quiet), ("hostile", noisy)):
        p50, p99 = quantiles(lat)
        rows.append((name, len(lat), len(fail), p50, p99))
        print(f"{name:8} {len(lat):6} requests  {len(fail)} failed  "
              f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({len(lat) / args.seconds:.0f}/s)")
        ok &= not fail
        for hname, (hlat, hfail) in bad.items():
            print(f"  hostile: {hname:20} {len(hlat):5} requests, {len(hfail)} unexpected, "
                  f"p50 {quantiles(hlat)[0] if len(hlat) > 1 else hlat[0] * 1000:8.1f} ms")
            ok &= not hfail
    ratio = rows[1][4] / rows[0][4]
    print(f"hostile p99 / quiet p99 = {ratio:.2f} (target ≤ 2)")
    return 0 if ok and ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
