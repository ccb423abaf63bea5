"""The command line: a thin argparse front end over the public API.

``main(argv) -> int``: 0 on success, 1 if a check fails, 2 on a user error (message with a caret
on stderr, no traceback).  Only ``MatcalcError`` is caught: an internal bug keeps its traceback.
A reader that stops early (``matcalc … | head -1``) ends the output quietly, with the shell's
status for a closed pipe, 141.  An expression may start with ``-`` (``-sum(y*log(p))``, every
cross-entropy) without ``--``.
"""

from __future__ import annotations

import argparse
import argparse
import difflib
import os
import sys

from . import __version__, report
from .api import Derivative, check, diff, parse, to_numpy
from .errors import MatcalcError, ShapeError, VerificationError
from .lazy import lazy_module
from .parse import parse_wrt
from .report import shapes_line  # noqa: F401  (re-exported: cli.shapes_line)
from .shapes import parse_shape, parse_shape_assignment
from .terminal import make_printable

json = lazy_module("json")  # only --format json needs it (start-up: lazy.py)
web_server = lazy_module("matcalc.web.server")   # only matcalc serve needs it
web_site = lazy_module("matcalc.web.site")       # only matcalc site needs it

EPILOG = """examples:
  matcalc diff "sum(w*x)" --wrt w
  matcalc diff "max(0, w·x + b)" --wrt w --wrt b
  matcalc diff "W@x + b" --wrt W --shape W=m,n
  matcalc diff "[3*x^2*y, 2*x + y^8]" --wrt "[x, y]"
  matcalc check "sigmoid(W@x + b)" --wrt x
  matcalc check "sum((W@x - y)^2)" --wrt W --claim "2*(W@x - y)@x'"
  matcalc diff "sum((W2@relu(W1@x + b1) + b2 - y)^2)" --wrt W1 --wrt b1 --format numpy
  matcalc diff "sum(sigmoid(X@W + b))" --wrt b          # NumPy broadcasting: X W + 𝟙 bᵀ

notation (the legend, and the whole language: docs/language.md): 𝟙 ones, I identity,
⊙ ⊘ element-wise, X^∘2 element-wise power, kron(A, B) the Kronecker product (⊗ typed is the
paper's element-wise product), 𝕂ₘₙ commutation matrix, 𝔻ₙ diagonal embedding, 𝕖ᵢ unit
vector, step/sign indicators, Iₙ 𝟙ₙ sizes, "where u = …" named intermediates; every result
printed is itself an expression matcalc reads back.
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
                            "A=n,n,sym (symmetric), y=n,prob (entries sum to 1), "
                            "Y=N,k,prob (each row sums to 1: one-hot labels); a last name "
                            "that reads as a property (a near-miss of sym or prob such as "
                            "symm, proba, or one matcalc lacks such as pos, psd) is an error: "
                            "a dimension named so needs a digit or an underscore (pos_dim)")
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
                   help="also verify against SymPy and finite differences of the components")
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
    _web_commands(sub)
    return p


def _web_commands(sub) -> None:
    """``matcalc serve`` and ``matcalc site DIR`` (matcalc/web, docs/web.md)."""
    s = sub.add_parser("serve", help="the web page on a local server (docs/web.md)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    s.add_argument("--no-browser", action="store_true", help="do not open a browser")
    s.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one request may take (default 10)")
    s.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the number of CPUs + 2)")
    s.add_argument("--verbose", action="store_true", help="log every request")
    t = sub.add_parser("site", help="write a static folder that runs matcalc in the browser "
                                    "(Pyodide; docs/web.md)")
    t.add_argument("dir", metavar="DIR", help="the folder to write (made if missing)")
    t.add_argument("--pyodide", metavar="PATH", default=None,
                   help="the npm pyodide package's folder (default: $MATCALC_PYODIDE, else "
                        "./node_modules/pyodide)")
    t.add_argument("--wheels", metavar="DIR", default=None,
                   help="take the wheels of SymPy, mpmath and Lark from DIR (default: "
                        "download them with pip, the versions installed here)")


def _web(args) -> int:
    if args.command == "serve":
        return web_server.serve(args.host, args.port, not args.no_browser, args.timeout,
                                args.workers, args.verbose)
    web_site.build(args.dir, args.pyodide, args.wheels)
    print(f"matcalc: wrote the static site to {args.dir}")
    return 0


EXIT_BROKEN_PIPE = 128 + 13     # 128 + SIGPIPE: what a shell reports for `… | head -1`


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()      # so a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # the reader has gone (head -1): what is still buffered goes nowhere, quietly (the
        # recipe of Python's signal module documentation)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):   # a stdout with no file descriptor
            pass
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    make_printable(sys.stdout)          # PYTHONIOENCODING=ascii: ASCII, not UnicodeEncodeError
    make_printable(sys.stderr)
    parser = _parser()
    argv, padded = _dash_values(parser, sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(argv)
    for key, value in vars(args).items():
        if isinstance(value, str) and value in padded:
            setattr(args, key, padded[value])
        elif isinstance(value, list):
            setattr(args, key, [padded.get(v, v) if isinstance(v, str) else v for v in value])
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command in ("serve", "site"):
            return _web(args)
        return _run(args)
    except VerificationError as e:
        print(f"matcalc: check failed: {e}", file=sys.stderr)
        return 1
    except MatcalcError as e:
        print(f"matcalc: error: {e}", file=sys.stderr)
        return 2


def _dash_values(parser: argparse.ArgumentParser, argv: list[str]
                 ) -> tuple[list[str], dict[str, str]]:
    """argparse takes any argument starting with ``-`` for an option, so ``matcalc diff
    "-sum(y*log(p))" --wrt p`` would fail.  Here, after the command, an argument starting with
    one ``-`` that is not an option of the command (``-h``) and stands where a value goes — the
    expression, or the value of an option that takes one — gets a leading space, which argparse
    reads as "not an option"; ``padded`` maps each padded argument back, to take the space off
    again after parsing.  ``--`` just before the expression is dropped, so ``diff -- "-x" --wrt
    x`` works as ``diff --wrt x -- "-x"`` does.  Options are read from the parser, so
    subcommands and options added later are covered."""
    commands = next((a.choices for a in parser._actions
                     if isinstance(a, argparse._SubParsersAction)), {})
    start = next((i for i, a in enumerate(argv) if a in commands), None)
    if start is None or "--" in argv[:start]:
        return argv, {}
    sub = commands[argv[start]]
    options = {o: a.nargs in (None, 1, "?") for a in sub._actions for o in a.option_strings}
    padded: dict[str, str] = {}

    def value(a: str, quoted: bool = False) -> str:    # quoted: it follows "--"
        if a.startswith("-") and not a.startswith("--") and len(a) > 1 and (
                quoted or a not in options):
            padded[" " + a] = a
            return " " + a
        return a

    want_expression = any(not a.option_strings and a.dest == "expr" for a in sub._actions)
    out, rest = argv[:start + 1], iter(argv[start + 1:])
    for a in rest:
        if a == "--" and want_expression:            # "-- EXPR": the "--" is not needed
            a = next(rest, None)
            if a is not None:
                out.append(value(a, quoted=True))
                want_expression = False
        elif a == "--":
            out += [a, *rest]
        elif a.startswith("--"):
            out.append(a)
            name = a.split("=", 1)[0]
            known = [name] if name in options else [o for o in options if o.startswith(name)]
            if "=" not in a and len(known) == 1 and options[known[0]]:
                following = next(rest, None)
                if following is not None:
                    out.append(value(following))
        elif a in options or not want_expression:
            out.append(a)
        else:
            out.append(value(a))
            want_expression = False
    return out, padded


def _shapes(specs: list[str]) -> dict[str, str]:
    """``--shape`` arguments, each read here so that an error's caret is under the argument
    as typed (``w=n,pos``), not under its value alone."""
    out = {}
    for spec in specs:
        name, value = parse_shape_assignment(spec)
        if name in out:
            raise ShapeError(f"--shape declares {name} twice ({name}={out[name]} and "
                             f"{name}={value})", hint="give each variable one --shape")
        try:
            parse_shape(value)
        except ShapeError as e:
            if e.text != value or e.span is None:
                raise
            start = spec.rindex(value)
            raise ShapeError(e.message, text=spec, span=(start + e.span[0], start + e.span[1]),
                             hint=e.hint) from None
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


def _run(args) -> int:
    if args.command == "check" and args.claim is not None:
        return _check_claim(args)
    if args.command == "diff" and args.format == "json":
        # the web page's function (report.py), so --format json and the page cannot drift
        out = report.build({"expression": args.expr, "wrt": list(args.wrt),
                            "shapes": _shapes(args.shape), "layout": args.layout,
                            "order": args.order, "steps": args.steps, "check": args.check})
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
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
    return d.checked.verified if d.checked is not None else "verified"


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
        for note in verdict.notes:
            print(f"  note: {note}")
        return 0
    if verdict.counterexample is None:
        print(f"? not verified: {verdict.subject} = {claim}: {verdict.unverified}")
        return 1
    print(f"✗ not equal: {verdict.subject} ≠ {claim}")
    print("  " + verdict.counterexample.describe(verdict.shape_label).replace("\n", "\n  "))
    return 1
