"""Mutation testing of the engine (issue 13, part 2): one command, run from the project root,

    python benchmarks/mutation.py                      # all five engine modules
    python benchmarks/mutation.py layout differentiate # some of them
    python benchmarks/mutation.py --report             # the score of the last run, no new run
    python benchmarks/mutation.py --sample 400         # a uniform random sample of the mutants

It runs mutmut (``pip install mutmut==3.8.1``; its configuration is ``[tool.mutmut]`` in
pyproject.toml) over ``matcalc/rules.py``, ``differentiate.py``, ``simplify.py``, ``infer.py``
and ``layout.py``: each mutant (a flipped comparison, a dropped argument, a changed constant, …)
is run against the hand-written and table-generated tests listed there (the fast ones: never the
random property test, the soak, the browser or notebook tests), and counts as killed when one of
them fails.  Then it prints the score per file and overall, and every mutant that survived with
its file:line and the mutated line; docs/mutation.md lists the survivors of the last full run,
each with the reason it cannot change a result.

``--sample N`` (with ``--seed S``, default 13) runs N mutants drawn uniformly at random from
all mutants of the chosen modules and reports the score of the sample with its 95% (Wilson)
interval: the whole population takes hours on two cores, a sample of 400 about an hour.
The sample's names are kept in ``mutants/sample.txt`` so that ``--report`` reports the same
sample again.

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
import os
import random
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("rules", "differentiate", "simplify", "infer", "layout")
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}   # a failing test, a timeout or a crash
SURVIVED = {0}


def run(modules, max_children: int, names=None) -> int:
    names = names or [f"matcalc.{m}.*" for m in modules]
    cmd = ["mutmut", "run", "--max-children", str(max_children), *names]
    print("$", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def all_mutants(modules) -> list[str]:
    """The names of every mutant of the modules, generating them (and mutmut's record of which
    test reaches which function) first if needed."""
    metas = [ROOT / "mutants" / "matcalc" / f"{m}.py.meta" for m in modules]
    if not all(p.exists() for p in metas) or not (ROOT / "mutants" / "mutmut-stats.json").exists():
        # mutmut has no "generate only" command: a filter that matches nothing makes it
        # generate the mutants and record the tests, then stop with an assertion (expected).
        print("$ mutmut run matcalc.__generate_only__  (generates mutants, records tests)",
              flush=True)
        subprocess.call(["mutmut", "run", "matcalc.__generate_only__"], cwd=ROOT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    names = []
    for p in metas:
        names += json.loads(p.read_text())["exit_code_by_key"]
    return sorted(names)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k/n."""
    if not n:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return centre - half, centre + half


# Run in mutants/: import every module of the package with mutmut recording which functions run,
# and print them — the functions that run while the package is imported.
_IMPORT_PROBE = """
import importlib, os, pkgutil, sys
sys.path.insert(0, os.getcwd())
from mutmut.mutation.trampoline import set_mutant_under_test
set_mutant_under_test("stats")
import matcalc
for m in pkgutil.walk_packages(matcalc.__path__, "matcalc."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from mutmut.state import state
print("\\n".join(sorted(state()._stats)))
"""


def import_time_functions() -> set[str]:
    """The functions that run while matcalc is imported (the rule table is built then)."""
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=ROOT / "mutants",
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _function_of(key: str) -> str:
    return key.rpartition("__mutmut_")[0]


def fresh_runs(keys, max_children: int) -> dict:
    """Each mutant in ``keys`` run in a process of its own: the selected tests, with the mutant
    active from the first import.  mutmut's runner imports the package once, before it forks a
    process per mutant, so a mutant of code that runs only at import (the functions that build
    the rule table) is never active in its runs and would count as surviving.  Returns
    {key: exit code} (a run over 15 minutes counts as a timeout)."""
    import tomllib
    from concurrent.futures import ThreadPoolExecutor

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    args = cfg.get("pytest_add_cli_args", []) + cfg.get("pytest_add_cli_args_test_selection", [])

    def one(key):
        env = dict(os.environ, MUTANT_UNDER_TEST=key)
        try:
            code = subprocess.call([sys.executable, "-m", "pytest", "-x", *args],
                                        cwd=ROOT / "mutants", env=env, timeout=900,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return key, 36
        # 2 or 4: pytest could not even load conftest.py (the mutant breaks importing
        # matcalc), which kills the mutant as surely as a failing test
        return key, 1 if code in (2, 4) else code

    results = {}
    with ThreadPoolExecutor(max(1, max_children)) as pool:
        for i, (key, code) in enumerate(pool.map(one, sorted(keys)), 1):
            results[key] = code
            print(f"  fresh process {i}/{len(keys)}: {key} "
                  f"{'killed' if code in KILLED else 'survived' if code in SURVIVED else code}",
                  flush=True)
    return results


def rerun_import_time(modules, max_children: int, only=None) -> None:
    """Run the not-killed mutants of import-time functions again in fresh processes, and keep
    their exit codes in mutants/fresh.json (the report reads them over mutmut's)."""
    at_import = import_time_functions()
    todo = []
    for m in modules:
        meta = ROOT / "mutants" / "matcalc" / f"{m}.py.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        todo += [k for k, v in codes.items() if v is not None and v not in KILLED
                 and _function_of(k) in at_import and (only is None or k in only)]
    fresh_file = ROOT / "mutants" / "fresh.json"
    done = json.loads(fresh_file.read_text()) if fresh_file.exists() else {}
    todo = [k for k in todo if k not in done]
    print(f"{len(todo)} not killed in functions that run at import: each again in a fresh "
          "process", flush=True)
    done.update(fresh_runs(todo, max_children))
    fresh_file.write_text(json.dumps(done, indent=1))


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


def report(modules, only=None) -> tuple[int, int]:
    """Killed / run per module (of the mutants in ``only`` if given), and every survivor."""
    total_killed = total = 0
    survivors = []
    for m in modules:
        meta = ROOT / "mutants" / "matcalc" / f"{m}.py.meta"
        if not meta.exists():
            print(f"matcalc/{m}.py: not run")
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        fresh_file = ROOT / "mutants" / "fresh.json"
        if fresh_file.exists():                 # a fresh process's verdict over mutmut's
            fresh = json.loads(fresh_file.read_text())
            codes = {k: fresh.get(k, v) if v is not None else v for k, v in codes.items()}
        if only is not None:
            codes = {k: v for k, v in codes.items() if k in only}
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
    if only is not None:
        lo, hi = wilson(total_killed, total)
        print(f"a uniform sample of {len(only)} mutants: the score of all of them is in "
              f"[{100 * lo:.1f}%, {100 * hi:.1f}%] with 95% confidence")
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
    ap.add_argument("--sample", type=int, default=0,
                    help="run this many mutants drawn uniformly at random (0: all)")
    ap.add_argument("--seed", type=int, default=13, help="the seed of --sample")
    args = ap.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        ap.error(f"not an engine module: {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    sample_file = ROOT / "mutants" / "sample.txt"
    only = None
    if args.sample:
        population = all_mutants(modules)
        only = sorted(random.Random(args.seed).sample(population, min(args.sample,
                                                                      len(population))))
        sample_file.write_text("\n".join(only) + "\n")
        print(f"{len(only)} of {len(population)} mutants drawn (seed {args.seed})", flush=True)
    elif args.report and sample_file.exists():
        only = set(sample_file.read_text().split())
    if not args.report:
        (ROOT / "mutants" / "fresh.json").unlink(missing_ok=True)
        run(modules, args.max_children, only)
        rerun_import_time(modules, args.max_children, None if only is None else set(only))
    killed, total = report(modules, None if only is None else set(only))
    return 0 if total and killed / total >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
