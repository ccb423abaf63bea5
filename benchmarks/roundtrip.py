"""The text of every result is a matcalc expression (issue 12): over generated expressions,
each derivative's text parses back, with the shapes the derivative reports, to an expression
that evaluates to the same numbers (a tensor result in its vec arrangement).

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

from checking import round_trip  # noqa: E402
from strategies import RandomSource, generate  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--start", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    derivatives = failures = 0
    for seed in range(args.start, args.start + args.count):
        sample = generate(RandomSource(seed))
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
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
