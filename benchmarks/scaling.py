"""Scaling with the expression's size (issue 13, part 3); figures are printed, not asserted.

    python benchmarks/scaling.py                 # every family (a few minutes on two cores)
    python benchmarks/scaling.py --only product,sigmoid --repeats 5
    python benchmarks/scaling.py --timeout 120   # give up on a single run after 120 s

Each family is one shape of input grown to N and 2N: the time of the whole pipeline — from text
to printed result, ``str(matcalc.diff(text, wrt))`` (parse, inference, differentiation,
simplification, printing) — at both sizes, the ratio (linear growth is 2; the issue asks for at
most 2.5), and the time at the size issue 13 lists.  Parse time alone is shown beside it.  Every
run is a fresh process (nothing cached from an earlier size, SymPy's cache included), and a time
is the median of ``--repeats`` runs; the machine is shared, so the ratios matter more than the
seconds.

Families (the issue's list):

    product     x*x*…*x, N factors of a scalar x, w.r.t. x           issue: 1,000 and 5,000
    power       sum(W@W@…@W@x), W N times, w.r.t. W                  issue: 100 and 200
    sum         a1*x + a2*x + … + aN*x, w.r.t. x                     issue: 50,000 terms
    sines       sin(1*x) + sin(2*x) + … + sin(N*x), w.r.t. x         issue: 5,000 terms
    chain       sum(A1@A2@…@AN@x), N distinct matrices, w.r.t. A1    issue: 500
    numpy       the chain's derivative as NumPy code (to_numpy), compiled
    sigmoid     sigmoid(sigmoid(…(x))), N deep, w.r.t. x             issue: 2,000
    check       matcalc check "sum(x*x)" --wrt x --shape x=N         issue: x=100,000

and one more, the size of a graph that is exponential as a tree (named intermediates that use
each other; every stage must work on the graph, issue 13 asks for time linear in the DAG):

    where       sum(sN) where s1 = sin(x), s2 = sin(s1) + cos(s1), …     not in the issue: 2,000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _product(n):
    return "*".join(["x"] * n), "x", None


def _power(n):
    return "sum(" + "@".join(["W"] * n) + "@x)", "W", None


def _sum(n):
    return " + ".join(f"a{i}*x" for i in range(1, n + 1)), "x", None


def _sines(n):
    return " + ".join(f"sin({i}*x)" for i in range(1, n + 1)), "x", None


def _chain(n):
    return "sum(" + "@".join(f"A{i}" for i in range(1, n + 1)) + "@x)", "A1", None


def _sigmoid(n):
    return "sigmoid(" * n + "x" + ")" * n, "x", None


def _where(n):
    defs = ["s1 = sin(x)"] + [f"s{i} = sin(s{i - 1}) + cos(s{i - 1})" for i in range(2, n + 1)]
    return f"sum(s{n}) where " + ", ".join(defs), "x", None


def _check(n):
    return "sum(x*x)", "x", {"x": str(n)}


# name: (builder, N, the size the issue lists, what is timed)
FAMILIES = {
    "product": (_product, 1000, 5000, "diff"),
    "power": (_power, 100, 200, "diff"),
    "sum": (_sum, 10000, 50000, "diff"),
    "sines": (_sines, 1000, 5000, "diff"),
    "chain": (_chain, 250, 500, "diff"),
    "numpy": (_chain, 250, 500, "numpy"),
    "sigmoid": (_sigmoid, 1000, 2000, "diff"),
    "check": (_check, 50000, 100000, "check"),
    "where": (_where, 1000, 2000, "diff"),
}


def run_one(family: str, n: int) -> dict:
    """One measurement, in this process: seconds for the whole pipeline, and for parsing."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    sys.path.insert(0, str(ROOT))
    import matcalc
    from matcalc.parse import parse_syntax

    build, _, _, what = FAMILIES[family]
    text, wrt, shapes = build(n)
    start = time.perf_counter()
    parse_syntax(text)
    parsed = time.perf_counter() - start
    start = time.perf_counter()
    if what == "check":
        verdict = matcalc.check(text, wrt, shapes=shapes)
        out = str(verdict)
        assert verdict.equal, out
    else:
        d = matcalc.diff(text, wrt=wrt, shapes=shapes)
        out = str(d)
        if what == "numpy":
            matcalc.to_numpy([d], compile=True)
    return {"seconds": time.perf_counter() - start, "parse": parsed, "chars": len(out)}


def measure(family: str, n: int, repeats: int, timeout: float) -> dict | None:
    """The median of ``repeats`` fresh processes; None when a run took longer than
    ``timeout``, {"failed": last line of its error} when it failed."""
    runs = []
    for _ in range(repeats):
        try:
            done = subprocess.run([sys.executable, __file__, "--one", family, str(n)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode:
            return {"failed": (done.stderr.strip().splitlines() or ["?"])[-1]}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _seconds(m: dict | None, timeout: float) -> str:
    if m is None:
        return f"> {timeout:.0f} s"
    return "failed" if "failed" in m else f"{m['seconds']:.2f} s"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated families (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--one", nargs=2, metavar=("FAMILY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    names = args.only.split(",") if args.only else list(FAMILIES)
    header = (f"{'family':<9} {'N':>7} {'time at N':>10} {'time at 2N':>11} {'ratio':>6}   "
              f"{'issue size':>10} {'time':>9} {'parse':>7}")
    print(header)
    print("-" * len(header))
    for name in names:
        _, n, listed, _ = FAMILIES[name]
        one = measure(name, n, args.repeats, args.timeout)
        two = measure(name, 2 * n, args.repeats, args.timeout)
        big = two if listed == 2 * n else measure(name, listed, 1, args.timeout)
        timed = [m is not None and "failed" not in m for m in (one, two, big)]
        ratio = f"{two['seconds'] / one['seconds']:.2f}" if all(timed[:2]) else "—"
        parse = f"{big['parse']:.2f} s" if timed[2] else "—"
        print(f"{name:<9} {n:>7,} {_seconds(one, args.timeout):>10} "
              f"{_seconds(two, args.timeout):>11} {ratio:>6}   {listed:>10,} "
              f"{_seconds(big, args.timeout):>9} {parse:>7}", flush=True)
        for m in (one, two, big):
            if m is not None and "failed" in m:
                print(f"          failed: {m['failed'][:120]}")
                break


if __name__ == "__main__":
    main()
