"""The command line: a thin argparse front end over the public API.

``main(argv) -> int``: 0 on success, 1 if a check fails, 2 on a user error (message with a caret
on stderr, no traceback).  Only ``MatcalcError`` is caught: an internal bug keeps its traceback.
"""

from __future__ import annotations

import argparse
import difflib
import sys

from . import __version__
from .api import Derivative, check, diff, parse, to_numpy
from .errors import MatcalcError, ShapeError, VerificationError
from .lazy import lazy_module
from .parse import parse_wrt
from .shapes import parse_shape_assignment, space
from .terminal import make_printable

json = lazy_module("json")  # only --format json needs it (start-up: lazy.py)

EPILOG = """examples:
  matcalc diff "sum(w*x)" --wrt w
  matcalc diff "max(0, w·x + b)" --wrt w --wrt b
  matcalc diff "W@x + b" --wrt W --shape W=m,n
  matcalc diff "[3*x^2*y, 2*x + y^8]" --wrt "[x, y]"
  matcalc check "sigmoid(W@x + b)" --wrt x
  matcalc check "sum((W@x - y)^2)" --wrt W --claim "2*(W@x - y)@x'"
  matcalc diff "sum((W2@relu(W1@x + b1) + b2 - y)^2)" --wrt W1 --wrt b1 --format numpy
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matcalc", description="Symbolic matrix calculus: derivatives of vector and "
        "matrix expressions, in the form a textbook prints, shapes tracked and verified.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"matcalc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(q):
        q.add_argument("expr", metavar="EXPR", help="the expression, e.g. \"sum(w*x)\"")
        q.add_argument("--wrt", action="append", required=True, metavar="NAME",
                       help="differentiate w.r.t. NAME (repeatable; a vector literal "
                            "\"[x, y]\" stacks scalar variables)")
        q.add_argument("--shape", action="append", default=[], metavar="NAME=SPEC",
                       help="declare a shape: w=n, W=m,n (or mxn, m×n, 3x4), b=scalar, "
                            "A=n,n,sym (symmetric), y=n,prob (entries sum to 1)")
        q.add_argument("--layout", choices=("numerator", "denominator"), default="numerator",
                       help="numerator (the paper's, default) or denominator layout")

    d = sub.add_parser("diff", help="print the derivative", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(d)
    d.add_argument("--format", choices=("text", "latex", "json", "numpy"), default="text",
                   help="numpy: Python source of one function returning the value and every "
                        "derivative asked for, with a finite-difference self-check")
    d.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2 for the second derivative (the Hessian of a scalar)")
    d.add_argument("--check", action="store_true",
                   help="also verify by SymPy component expansion")
    d.add_argument("--steps", action="store_true",
                   help="show the derivation as the paper does it: intermediate variables, "
                        "partial Jacobians, the chain rule, the product, the substitution")
    c = sub.add_parser("check", help="verify the derivative, or a claimed one, and print the "
                       "verdict", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(c)
    c.add_argument("--claim", metavar="TEXT",
                   help="a derivative to check instead of matcalc's, in the same language, with "
                        "the expression's variables (a size's name stands for the size): exit 0 "
                        "if it is equal, 1 with a counterexample if not")
    return p


def main(argv: list[str] | None = None) -> int:
    make_printable(sys.stdout)          # PYTHONIOENCODING=ascii: ASCII, not UnicodeEncodeError
    make_printable(sys.stderr)
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        return _run(args)
    except VerificationError as e:
        print(f"matcalc: check failed: {e}", file=sys.stderr)
        return 1
    except MatcalcError as e:
        print(f"matcalc: error: {e}", file=sys.stderr)
        return 2


def _shapes(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        name, value = parse_shape_assignment(spec)
        if name in out:
            raise ShapeError(f"--shape declares {name} twice ({name}={out[name]} and "
                             f"{name}={value})", hint="give each variable one --shape")
        out[name] = value
    return out


def _declared_but_absent(f, shapes: dict, wrts: list[str]) -> None:
    """A --shape for a name that is not in the expression is a mistake (a typo, most
    often), unless it is a variable differentiated by: its derivative is then 0 (with a
    note)."""
    wanted = {name for w in wrts for name, _ in parse_wrt(w)}
    present = list(f.shapes)
    for name in shapes:
        if name in present or name in wanted:
            continue
        close = difflib.get_close_matches(name, present, n=1, cutoff=0.5)
        raise ShapeError(f"--shape {name}=…: {name} is not a variable of {args_text(f)}",
                         hint=(f"did you mean {close[0]}? " if close else "") +
                         f"the variables are: {', '.join(present) or 'none'}")


def args_text(f) -> str:
    return f.source if len(f.source) <= 60 else f.source[:57] + "…"


def _derivatives(args) -> list[Derivative]:
    shapes = _shapes(args.shape)
    f = parse(args.expr, shapes)
    _declared_but_absent(f, shapes, list(args.wrt))
    results = diff(f, list(args.wrt), layout=args.layout)
    if getattr(args, "order", 1) == 2:
        results = [d.diff(w) for d, w in zip(results, args.wrt)]
    return results


_PROPERTY_TEXT = {"sym": "symmetric", "prob": "entries sum to 1"}


def shapes_line(shapes: dict[str, tuple[str, ...]], properties: dict | None = None) -> str:
    """``w, x ∈ ℝⁿ, b ∈ ℝ``: the shapes used, grouped; declared properties follow in
    parentheses (``A ∈ ℝⁿˣⁿ (symmetric)``)."""
    properties = properties or {}
    from_shape: dict[tuple, list[str]] = {}
    for name, s in shapes.items():
        from_shape.setdefault((s, tuple(properties.get(name, ()))), []).append(name)
    parts = []
    for (s, props), names in from_shape.items():
        note = f" ({', '.join(_PROPERTY_TEXT[p] for p in props)})" if props else ""
        parts.append(f"{', '.join(names)} ∈ {space(s)}{note}")
    return ", ".join(parts)


def _run(args) -> int:
    if args.command == "check" and args.claim is not None:
        return _check_claim(args)
    ds = _derivatives(args)
    if args.command == "check":
        print(shapes_line(ds[0].shapes, ds[0].f.properties))
        for d in ds:
            d.check()
            print(f"✓ {d.line}")
            print(f"  {_verified(d)}")
            for note in d.notes + d.checked.notes:
                print(f"  note: {note}")
        return 0
    checked = [d.check() for d in ds] if args.check else []
    if args.format == "json":
        out = {"expression": str(ds[0].f), "shapes": {k: list(v) for k, v in
                                                       ds[0].shapes.items()},
               "layout": args.layout,
               "derivatives": [{"wrt": d.wrt_text, "text": str(d), "latex": d.latex,
                                "equation_latex": d.equation_latex, "shape": list(d.shape),
                                "notes": d.notes,
                                **({"checked": True} if checked else {}),
                                **({"steps": d.steps.as_dict()} if args.steps else {})}
                               for d in ds]}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    if args.format == "numpy":
        print(to_numpy(ds), end="")
        return 0
    if args.format == "latex":
        for d in ds:
            print(d.equation_latex)
            if args.steps:
                print(d.steps.latex)
        return 0
    print(shapes_line(ds[0].shapes, ds[0].f.properties))
    for d in ds:
        print(d.line)
        for note in d.notes:
            print(f"  note: {note}")
        if args.steps:
            print("  " + str(d.steps).replace("\n", "\n  "))
        if checked:
            print(f"  ✓ {_verified(d)}")
            for note in d.checked.notes:
                print(f"  note: {note}")
    return 0


def _verified(d: Derivative) -> str:
    v = d.checked
    how = "verified against SymPy and finite differences of the components"
    return f"{how} ({v.summary})" if v is not None else how


def _check_claim(args) -> int:
    """``check EXPR --wrt x --claim TEXT``: 0 and "equal", or 1 and a counterexample."""
    if len(args.wrt) != 1:
        raise MatcalcError("--claim checks one derivative: give one --wrt",
                           hint="a vector literal --wrt \"[x, y]\" counts as one")
    shapes = _shapes(args.shape)
    f = parse(args.expr, shapes)
    _declared_but_absent(f, shapes, list(args.wrt))
    print(shapes_line(f.shapes, f.properties))
    verdict = check(f, args.wrt[0], claim=args.claim, layout=args.layout)
    claim = " ".join(args.claim.split())
    if verdict.equal:
        print(f"✓ equal: {verdict.subject} = {claim}    [{verdict.shape_label}]")
        print(f"  checked at {verdict.summary}")
        return 0
    if verdict.counterexample is None:
        print(f"? not verified: {verdict.subject} = {claim}: {verdict.unverified}")
        return 1
    print(f"✗ not equal: {verdict.subject} ≠ {claim}")
    print("  " + verdict.counterexample.describe(verdict.shape_label).replace("\n", "\n  "))
    return 1
