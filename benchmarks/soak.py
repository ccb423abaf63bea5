"""The long property-based run: thousands of random well-typed expressions differentiated and
checked by both oracles, and a fuzz run of the parser and differentiator on arbitrary text.

    python benchmarks/soak.py                    # 20,000 expressions, 100,000 fuzzed texts
    python benchmarks/soak.py --samples 2000 --fuzz 10000 --jobs 2

Prints ``N checked, M wrong, K unsupported`` for the generated expressions (every derivative
of every expression, each w.r.t. each variable, in a random layout, w.r.t. a vector literal of
two scalars where there are two, and a second derivative for a quarter of them), the number of
other exceptions (must be 0), the fuzz count and its exceptions that are not ``MatcalcError``
(must be 0), and the slowest single derivative with its expression.  Seeds make every case
reproducible: ``--first SEED --samples 1`` reruns one.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))            # soak the tree this script is in, not an installed copy
sys.path.insert(1, str(ROOT / "tests"))

import matcalc  # noqa: E402
from matcalc import terminal  # noqa: E402
from checking import ERROR, OK, UNSUPPORTED, WRONG, check_sample  # noqa: E402
from strategies import RandomSource, generate  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Generated expressions


def run_seeds(seeds: range) -> dict:
    counts: Counter = Counter()
    problems, unsupported, first = [], Counter(), {}
    slowest = (0.0, "", "")
    slowest_check = (0.0, "", "")
    numeric = 0
    for seed in seeds:
        sample = generate(RandomSource(seed), max_depth=4)
        for o in check_sample(sample, seed):
            counts[o.status] += 1
            numeric += o.numeric
            if o.seconds > slowest[0]:
                slowest = (o.seconds, o.text, o.wrt)
            if o.total > slowest_check[0]:
                slowest_check = (o.total, o.text, o.wrt)
            if o.status in (WRONG, ERROR):
                problems.append((seed, sample.text, sample.shapes, o.wrt, o.status, o.detail))
            elif o.status == UNSUPPORTED:
                unsupported[o.detail] += 1
                first.setdefault(o.detail, f"seed {seed}: {sample.text!r} wrt {o.wrt}")
    return {"counts": counts, "problems": problems, "slowest": slowest,
            "slowest_check": slowest_check, "unsupported": unsupported, "numeric": numeric,
            "first": first}


# ---------------------------------------------------------------------------------------------
# Fuzzing: arbitrary text, token soup, and mutations of valid expressions

ALPHABET = (list("abcxyzwWXAT0123456789.,()[]+-*/^@'·⊙⊗⊘−×÷=;:_ \t\n\"{}<>!?#$%&|~\\`")
            + ["x", "W", "exp", "log", "sum", "max(", "norm(", "trace(", "inv(", "softmax(",
               "^T", ".T", "**", "@", "1e-3", "1e999", "0.", ".5", "lambda", "__import__",
               "ｘ", "х", "ⅹ", "∑", "√", "∂", "\u200b", "\x00", "\ud7ff", "😀"])


NAMES = ["x", "y", "A", "B", "s", "lam", "W", "z"]
UNARY = ["sum", "mean", "exp", "sin", "vec", "diag", "trace", "softmax", "norm", "relu", "det",
         "inv", "logsumexp", "log_softmax", "sqrt", "tanh"]


def composition(rng: random.Random, depth: int) -> str:
    """Operations composed at random over undeclared names: most do not type-check, and the
    rest exercise shape inference where no declaration helps (a literal beside a matrix, an
    exponent that is a vector, an axis of a vector)."""
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(NAMES) if rng.random() < 0.85 else \
            rng.choice(["2", "0.5", "[1, 2]", "[x, y]", "eye(3)", "ones(3)"])
    k = rng.random()
    if k < 0.45:
        op = rng.choice(["+", "-", "*", "/", "@", "^", "⊗", "·", " "])
        return f"({composition(rng, depth - 1)} {op} {composition(rng, depth - 1)})"
    if k < 0.55:
        return f"({composition(rng, depth - 1)})'"
    if k < 0.65:
        return (f"{rng.choice(['sum', 'mean', 'softmax', 'max'])}({composition(rng, depth - 1)}"
                f", axis={rng.choice([0, 1, -1])})")
    if k < 0.72:
        return (f"{rng.choice(['max', 'min', 'dot', 'kron', 'leaky_relu', 'elu'])}("
                f"{composition(rng, depth - 1)}, {composition(rng, depth - 1)})")
    return f"{rng.choice(UNARY)}({composition(rng, depth - 1)})"


def fuzz_case(rng: random.Random, seed: int) -> tuple[str, dict, str]:
    """(text, declared shapes, wrt): arbitrary code points, token soup, operations composed at
    random, or a valid expression mutated by a few insertions, deletions and reversals (with
    its shapes and one of its variables, so that many mutants still parse and reach the
    differentiator)."""
    kind = rng.randrange(5)
    if kind == 4:                                   # operations composed at random
        text = composition(rng, rng.randint(1, 4))
        present = [v for v in NAMES if v in text] or ["x"]
        return text, {}, rng.choice(present)
    if kind == 0:                                   # arbitrary code points
        text = "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(30)))
        return text, {}, rng.choice(["x", "W", "a", "[a, b]"])
    if kind == 1:                                   # token soup
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 25)))
        return text, {}, rng.choice(["x", "W", "a", "[a, b]", "x'", "", "y"])
    sample = generate(RandomSource(seed), max_depth=3)
    text = sample.text
    for _ in range(rng.randrange(1, 3)):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(3)
        if op == 0:
            text = text[:i] + rng.choice(ALPHABET) + text[i:]
        elif op == 1:
            text = text[:i] + text[i + 1:]
        else:
            j = min(len(text), i + rng.randrange(1, 4))
            text = text[:i] + text[i:j][::-1] + text[j:]
    shapes = sample.shapes if rng.randrange(2) else {}
    wrt = rng.choice(sample.variables) if sample.variables else "x"
    return text, shapes, wrt


def run_fuzz(seeds: range) -> dict:
    rng = random.Random(seeds.start)
    count, failures, refused, accepted = 0, [], 0, 0
    for seed in seeds:
        text, shapes, wrt = fuzz_case(rng, seed)
        count += 1
        try:
            d = matcalc.diff(text, wrt=wrt, shapes=shapes)
            str(d), d.latex
            accepted += 1
        except matcalc.MatcalcError:
            refused += 1
        except Exception:  # noqa: BLE001 - what the fuzz looks for
            failures.append((text, wrt, traceback.format_exc(limit=6)))
    return {"count": count, "failures": failures, "refused": refused, "accepted": accepted}


# ---------------------------------------------------------------------------------------------


def chunks(first: int, total: int, size: int) -> list[range]:
    return [range(s, min(s + size, first + total)) for s in range(first, first + total, size)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20_000, help="generated expressions")
    p.add_argument("--fuzz", type=int, default=100_000, help="fuzzed texts")
    p.add_argument("--first", type=int, default=0, help="first seed")
    p.add_argument("--jobs", type=int, default=max(1, multiprocessing.cpu_count()))
    args = p.parse_args(argv)

    start = time.time()
    generated, fuzzing = chunks(args.first, args.samples, 50), chunks(args.first, args.fuzz, 1000)
    with multiprocessing.Pool(args.jobs) as pool, \
            terminal.progress(len(generated) + len(fuzzing), "soak: generated") as bar:
        parts = []
        for part in pool.imap(run_seeds, generated):     # in order, as map, but one by one
            parts.append(part)
            bar.advance()
        gen_time = time.time() - start
        fuzz_start = time.time()
        fuzzed = []
        for part in pool.imap(run_fuzz, fuzzing):
            fuzzed.append(part)
            bar.advance(label="soak: fuzzed")
        fuzz_time = time.time() - fuzz_start

    counts: Counter = Counter()
    unsupported: Counter = Counter()
    first: dict = {}
    problems, numeric = [], 0
    slowest = slowest_check = (0.0, "", "")
    for part in parts:
        slowest_check = max(slowest_check, part["slowest_check"])
        counts.update(part["counts"])
        unsupported.update(part["unsupported"])
        for detail, where in part["first"].items():
            first.setdefault(detail, where)
        problems += part["problems"]
        numeric += part["numeric"]
        slowest = max(slowest, part["slowest"])
    checked = sum(counts.values())
    print(f"# matcalc soak: {args.samples} generated expressions (seeds {args.first}…"
          f"{args.first + args.samples - 1}), {args.jobs} processes, {gen_time:.0f} s")
    print(f"{checked} checked, {counts[WRONG]} wrong, {counts[UNSUPPORTED]} unsupported")
    print(f"  {counts[OK]} right by matcalc's check, {numeric} of them also by finite "
          f"differences (the rest at kinks or overflow); {counts[ERROR]} other exceptions")
    for detail, n in unsupported.most_common(5):
        print(f"  unsupported ×{n}: {detail} (first: {first[detail]})")
    for seed, text, shapes, wrt, status, detail in problems[:20]:
        print(f"  {status.upper()} seed {seed}: {text!r} {shapes} wrt {wrt}\n    "
              + detail.strip().replace("\n", "\n    ")[-1500:])
    print(f"slowest derivative: {slowest[0] * 1000:.0f} ms, ∂/∂{slowest[2]} {slowest[1]!r} "
          "(parse, infer, differentiate, simplify, print text and LaTeX)")
    print(f"slowest check (both oracles included): {slowest_check[0]:.1f} s, "
          f"∂/∂{slowest_check[2]} {slowest_check[1]!r}")

    total = sum(f["count"] for f in fuzzed)
    failures = [x for f in fuzzed for x in f["failures"]]
    accepted = sum(f["accepted"] for f in fuzzed)
    print(f"{total} fuzzed, {len(failures)} exceptions that are not MatcalcError "
          f"({accepted} differentiated, {total - accepted - len(failures)} refused with a "
          f"MatcalcError), {fuzz_time:.0f} s")
    for text, wrt, tb in failures[:10]:
        print(f"  {text!r} wrt {wrt!r}\n    " + tb.strip().replace("\n", "\n    ")[-1200:])
    return 0 if not (counts[WRONG] or counts[ERROR] or failures) else 1


if __name__ == "__main__":
    sys.exit(main())
