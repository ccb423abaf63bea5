"""How hard the check is to fool (issue 13, part 1): prints, for ``matcalc.check`` and
``Derivative.check``,

1. the wrong claims of the issue, each refused (with its counterexample) or not;
2. generated wrong claims — matcalc's derivatives of random expressions (tests/strategies.py,
   the soak's generator) perturbed: the sign flipped, a square result transposed, a term of a
   sum dropped, a factor 1 + 10⁻⁶ — and how many were accepted (must be 0); a perturbation that
   changes no value at random points (the sign of a zero) is not counted as a wrong claim;
3. false refusals: matcalc's own (right) results of generated expressions, through
   ``Derivative.check`` and, where the printed result is itself an expression of the language,
   typed back as a claim (must be 0);
4. the time of the four-layer MLP check (the issue measured 25.6 s).

    python benchmarks/claims.py                     # 1,000 wrong claims, 300 expressions
    python benchmarks/claims.py --wrong 200 --right 50 --first 1000

A progress bar runs on stderr; the figures go to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))            # measure the tree this script is in
sys.path.insert(1, str(ROOT / "tests"))

import matcalc  # noqa: E402
from checking import PERTURBATIONS, differs, perturbed, problem_for  # noqa: E402
from matcalc import checker, terminal  # noqa: E402
from strategies import RandomSource, generate  # noqa: E402

ISSUE = [
    ("relu(x-5)", "x", "0"),
    ("sum(relu(x-5))", "x", "0"),
    ("max(x,3)", "x", "0"),
    ("x^2", "x", "2*x + max(0, x - 8/5)"),
    ("relu(x)", "x", "step(x + 1/2)"),
    ("[sqrt(x-2), x^2]", "x", "[7, 2*x]"),
    ("mean(x)", "x", "1/2*(x*0 + 1)'"),
    ("sum(exp(x))", "x", "exp(x)'*(1 + 1e-10)"),
]
MLP = "sum((W4@relu(W3@relu(W2@relu(W1@x + b1) + b2) + b3) + b4 - y)^2)"


def derivatives(seed: int):
    """matcalc's derivatives of the generated expression of ``seed``, w.r.t. each variable."""
    sample = generate(RandomSource(seed), max_depth=3)
    for name in sample.variables:
        try:
            d = matcalc.diff(sample.text, wrt=name, shapes=sample.shapes)
            str(d)
        except matcalc.UnsupportedError:
            continue
        yield sample, d


def issue_claims() -> int:
    print("## the issue's wrong claims")
    accepted = 0
    for expr, wrt, claim in ISSUE:
        v = matcalc.check(expr, wrt, claim=claim)
        accepted += bool(v)
        line = str(v).splitlines()
        print(f"  {'ACCEPTED' if v else 'refused '}  ∂/∂{wrt} {expr} claimed {claim}: "
              + " / ".join(line[1:]))
    print(f"{len(ISSUE) - accepted} of {len(ISSUE)} refused")
    return accepted


def wrong_claims(total: int, first: int) -> int:
    print(f"## {total} generated wrong claims (matcalc's derivatives perturbed)")
    quota = {k: total // len(PERTURBATIONS) for k in PERTURBATIONS}
    for k in PERTURBATIONS[:total % len(PERTURBATIONS)]:
        quota[k] += 1
    done: Counter = Counter()
    accepted, examples, skipped = [], [], Counter()
    seed, start = first, time.perf_counter()
    with terminal.progress(total, "wrong claims") as bar:
        while sum(done.values()) < total and seed < first + 50 * total:
            for sample, d in derivatives(seed):
                for kind in PERTURBATIONS:
                    if done[kind] >= quota[kind]:
                        continue
                    wrong = perturbed(d, kind)
                    if wrong is None:
                        continue
                    if not differs(d, wrong, seed):
                        skipped[kind] += 1
                        continue
                    v = checker.check(problem_for(d, wrong))
                    done[kind] += 1
                    bar.advance()
                    if v.equal:
                        accepted.append((seed, sample.text, d.wrt_text, kind))
                    elif len(examples) < 3 and v.counterexample is not None:
                        examples.append((kind, f"∂/∂{d.wrt_text} {sample.text}",
                                         v.counterexample.describe().replace("\n", "; ")))
            seed += 1
    seconds = time.perf_counter() - start
    n = sum(done.values())
    print(f"{n - len(accepted)} of {n} refused, {len(accepted)} accepted "
          f"({', '.join(f'{k} {done[k]}' for k in PERTURBATIONS)}; seeds {first}…{seed - 1}; "
          f"{seconds:.0f} s; not counted, as they change no value: "
          f"{', '.join(f'{k} {skipped[k]}' for k in PERTURBATIONS if skipped[k]) or 'none'})")
    for kind, what, where in examples:
        print(f"  e.g. {kind}: {what}: {where}")
    for seed, text, wrt, kind in accepted[:20]:
        print(f"  ACCEPTED seed {seed}: {kind} of ∂/∂{wrt} {text}")
    return len(accepted)


def right_claims(total: int, first: int) -> int:
    print(f"## false refusals: matcalc's results of {total} generated expressions")
    refused, checked, typed, typed_refused = [], 0, 0, []
    start = time.perf_counter()
    with terminal.progress(total, "right claims") as bar:
        for seed in range(first, first + total):
            for sample, d in derivatives(seed):
                checked += 1
                try:
                    d.check()
                except matcalc.VerificationError as err:
                    refused.append((seed, sample.text, d.wrt_text, str(err).splitlines()[0]))
                if d.layout == "numerator" and not d.f.node.shape.is_matrix:
                    try:                           # the printed result, typed back as a claim
                        v = matcalc.check(sample.text, d.wrt_text, claim=str(d),
                                          shapes=sample.shapes)
                    except matcalc.MatcalcError:
                        continue                   # printed with 𝟙, ⊗, vec, where …: not text
                    typed += 1
                    if not v.equal:
                        typed_refused.append((seed, sample.text, d.wrt_text, str(v)))
            bar.advance()
    seconds = time.perf_counter() - start
    print(f"{len(refused)} of {checked} results refused by Derivative.check; "
          f"{len(typed_refused)} of {typed} refused when typed back as claims ({seconds:.0f} s)")
    for item in (refused + typed_refused)[:20]:
        print("  REFUSED seed {}: ∂/∂{} {}: {}".format(item[0], item[2], item[1],
                                                      item[3].replace("\n", "; ")))
    return len(refused) + len(typed_refused)


def mlp() -> None:
    d = matcalc.diff(MLP, wrt="W1")
    str(d)
    cpu, wall = time.process_time(), time.perf_counter()
    v = d.verdict()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"## the four-layer MLP, ∂/∂W1\ncheck: {wall:.2f} s ({cpu:.2f} s CPU), "
          f"{'equal' if v else 'NOT EQUAL'}: {v.summary} (the issue measured 25.6 s)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wrong", type=int, default=1000, help="generated wrong claims")
    p.add_argument("--right", type=int, default=300, help="generated expressions")
    p.add_argument("--first", type=int, default=0, help="first seed")
    args = p.parse_args(argv)
    bad = issue_claims()
    bad += wrong_claims(args.wrong, args.first)
    bad += right_claims(args.right, args.first)
    mlp()
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
