"""Mutation testing of the engine (issue 13, part 2): one command, run from the project root,

    python benchmarks/mutation.py                      # all five engine modules
    python benchmarks/mutation.py layout differentiate # some of them
    python benchmarks/mutation.py --report             # the score of the last run, no new run

It runs mutmut (``pip install mutmut==3.8.1``; its configuration is ``[tool.mutmut]`` in
pyproject.toml) over ``matcalc/rules.py``, ``differentiate.py``, ``simplify.py``, ``infer.py``
and ``layout.py``: each mutant (a flipped comparison, a dropped argument, a changed constant, …)
is run against the hand-written and table-generated tests listed there (the fast ones: never the
random property test, the soak, the browser or notebook tests), and counts as killed when one of
them fails.  Then it prints the score per file and overall, and every mutant that survived with
its file:line and the mutated line; docs/mutation.md lists the survivors of the last full run,
each with the reason it cannot change a result.

Mutants and mutmut's state live in ``mutants/`` (ignored by git); a rerun reuses the results of
unchanged functions.  ``--max-children N`` sets the worker processes (default 1).

Runtime: mutmut first copies and mutates the five modules (about 8000 mutants, 2–8 minutes),
runs the selected tests once to learn which test reaches which function (about 15 minutes on
the shared two-core machine), then
runs the mutants: a killed one costs a fraction of a second to a few seconds (the fastest
reaching test runs first and the run stops at the first failure), a surviving one the whole
selection of tests reaching it (up to a few minutes).  layout.py and differentiate.py take
tens of minutes; all five modules several hours on two cores.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("rules", "differentiate", "simplify", "infer", "layout")
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}   # a failing test, a timeout or a crash
SURVIVED = {0}


def run(modules, max_children: int) -> int:
    names = [f"matcalc.{m}.*" for m in modules]
    cmd = ["mutmut", "run", "--max-children", str(max_children), *names]
    print("$", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def _spans(module: str) -> dict:
    return json.loads((ROOT / "mutants" / "matcalc" / f"{module}.py.spans").read_text())["spans"]


def changed_line(module: str, key: str, mutated: list, spans: dict, source: list):
    """(line number in matcalc/<module>.py, original text, mutated text) of a mutant."""
    fn, _, number = key.rpartition("__mutmut_")
    fn = fn[len(f"matcalc.{module}."):] if fn.startswith(f"matcalc.{module}.") else fn
    key = f"{fn}__mutmut_{number}"
    s0, e0 = spans[f"{fn}__mutmut_orig"]
    s1, e1 = spans[key]
    orig, mut = mutated[s0:e0 + 1], mutated[s1:e1 + 1]
    orig = [re.sub(r"__mutmut_orig\b", "", x) for x in orig]
    mut = [re.sub(rf"__mutmut_{number}\b", "", x) for x in mut]
    minus = [x for x in difflib.ndiff(orig, mut) if x.startswith("- ")]
    plus = [x for x in difflib.ndiff(orig, mut) if x.startswith("+ ")]
    before = minus[0][2:] if minus else ""
    after = plus[0][2:] if plus else "(line removed)"
    name = fn.split("ǁ")[-1]
    if name.startswith("x_"):
        name = name[2:]
    line = 0
    start = next((i for i, t in enumerate(source) if re.match(rf"\s*def {re.escape(name)}\(", t)),
                 0)
    for i in range(start, len(source)):
        if before and source[i].strip() == before.strip():
            line = i + 1
            break
    return line, before.strip(), after.strip()


def report(modules) -> tuple[int, int]:
    total_killed = total = 0
    survivors = []
    for m in modules:
        meta = ROOT / "mutants" / "matcalc" / f"{m}.py.meta"
        if not meta.exists():
            print(f"matcalc/{m}.py: not run")
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        checked = {k: v for k, v in codes.items() if v is not None}
        killed = sum(v in KILLED for v in checked.values())
        alive = sorted((k for k, v in checked.items() if v not in KILLED),
                       key=lambda k: (k.rpartition("__mutmut_")[0],
                                      int(k.rpartition("__mutmut_")[2])))
        unrun = len(codes) - len(checked)
        total_killed += killed
        total += len(checked)
        pct = 100 * killed / len(checked) if checked else 0.0
        print(f"matcalc/{m}.py: {killed}/{len(checked)} killed ({pct:.1f}%)"
              + (f", {unrun} of {len(codes)} not run yet" if unrun else ""))
        if alive:
            spans = _spans(m)
            mutated = (ROOT / "mutants" / "matcalc" / f"{m}.py").read_text().splitlines()
            source = (ROOT / "matcalc" / f"{m}.py").read_text().splitlines()
            for k in alive:
                line, before, after = changed_line(m, k, mutated, spans, source)
                status = "survived" if codes[k] in SURVIVED else f"exit {codes[k]}"
                survivors.append((f"matcalc/{m}.py:{line}", k, status, before, after))
    pct = 100 * total_killed / total if total else 0.0
    print(f"overall: {total_killed}/{total} killed ({pct:.1f}%)")
    if survivors:
        print(f"\n{len(survivors)} not killed:")
        for where, k, status, before, after in survivors:
            print(f"  {where}  {k} ({status})\n      - {before}\n      + {after}")
    return total_killed, total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="engine modules to mutate: "
                    + ", ".join(MODULES) + " (default: all five)")
    ap.add_argument("--max-children", type=int, default=1)
    ap.add_argument("--report", action="store_true", help="print the last run's score only")
    args = ap.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        ap.error(f"not an engine module: {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    if not args.report:
        run(modules, args.max_children)
    killed, total = report(modules)
    return 0 if total and killed / total >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
