"""The text of every result is a matcalc expression (issue 12): over generated expressions,
each derivative's text parses back, with the shapes the derivative reports, to an expression
that evaluates to the same numbers (a tensor result in its vec arrangement); and every LaTeX
string they emit (the result, the equation, the expression; the steps of every tenth) renders
in KaTeX (tests/katex, ``npm ci --prefix tests/katex``).

    python benchmarks/roundtrip.py              # 2,000 generated expressions
    python benchmarks/roundtrip.py --count 5000 --start 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import matcalc  # noqa: E402
from checking import round_trip  # noqa: E402
from strategies import RandomSource, generate  # noqa: E402

KATEX = ROOT / "tests" / "katex"


def katex_rejections(strings: list[str]) -> list[tuple[str, str]]:
    """(string, KaTeX's error) for each string KaTeX refuses."""
    node = shutil.which("node")
    if node is None or not (KATEX / "node_modules" / "katex").is_dir():
        raise SystemExit("KaTeX is not installed: npm ci --prefix tests/katex")
    out = []
    for i in range(0, len(strings), 2000):
        batch = strings[i:i + 2000]
        done = subprocess.run([node, str(KATEX / "render.js")], input=json.dumps(batch),
                              capture_output=True, text=True, cwd=KATEX, check=True)
        out += [(s, e) for s, e in zip(batch, json.loads(done.stdout)) if e is not None]
    return out


def latex_of(sample, seed: int) -> list[str]:
    try:
        f = matcalc.parse(sample.text, sample.shapes)
    except matcalc.MatcalcError:
        return []
    out = [f.latex]
    for name in f.shapes:
        try:
            d = matcalc.diff(f, wrt=name)
            out += [d.latex, d.equation_latex]
            if seed % 10 == 0:
                out.append(d.steps.latex)
        except matcalc.UnsupportedError:
            continue
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--start", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    derivatives = failures = 0
    latex: list[str] = []
    for seed in range(args.start, args.start + args.count):
        sample = generate(RandomSource(seed))
        latex += latex_of(sample, seed)
        for outcome in round_trip(sample, seed):
            derivatives += 1
            if outcome is not None:
                failures += 1
                print(f"FAIL seed {seed}: {outcome}", flush=True)
        if (seed - args.start + 1) % 200 == 0:
            print(f"  {seed - args.start + 1} expressions, {derivatives} derivatives, "
                  f"{failures} failures, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    print(f"{args.count} expressions, {derivatives} derivatives read back: {failures} failures "
          f"({time.perf_counter() - t0:.1f} s)")
    rejected = katex_rejections(latex)
    for s, err in rejected[:20]:
        print(f"KaTeX refuses {s!r}: {err}")
    print(f"{len(latex)} LaTeX strings rendered by KaTeX: {len(rejected)} refused")
    return 1 if failures or rejected else 0


if __name__ == "__main__":
    sys.exit(main())
