"""matcalc's benchmarks (issue 6), in one process and one run; figures are printed, not asserted.

    python benchmarks/bench.py            # everything (about two minutes on two cores)
    python benchmarks/bench.py --repeats 3 --skip startup,numpy

1. Differentiation, matcalc against SymPy 1.14's own derivative, on the same expressions: the
   paper's examples (rules.md §1–§9, the rows of tests/test_paper.py) and a few layers and
   losses.  The SymPy expression of each row is built here, programmatically (never from user
   text), from MatrixSymbols where the expression has vectors or matrices.  Times are medians of
   repeats, each after clearing SymPy's cache (matcalc uses SymPy too; it is cleared for both),
   and cover everything from the input to printed text: for matcalc parse, infer, differentiate,
   simplify, print (``Derivative.line``); for SymPy build, ``diff``, ``str``.  "agrees" evaluates
   both results at random values at small distinct sizes (a different layout — SymPy's gradient
   is a column, its ∂(Wx)/∂x is Wᵀ — counts as agreeing, marked "yes*").
2. No expression swell: sum(tanh(W_L @ … tanh(W_1 @ x))) for L = 1 … 32, w.r.t. W_1, with the
   dimensions inferred (distinct per layer): time, peak memory (tracemalloc), printed length, the
   length of the generated NumPy code, and successive ratios (linear growth doubles with L).
3. Start-up: ``python -m matcalc diff "sum(w*x)" --wrt w`` against ``python -c "import sympy"``,
   wall time, medians of interleaved runs, with byte code cached as an installed package has it,
   and as this environment runs it (PYTHONDONTWRITEBYTECODE, if set).
4. Generated NumPy code for the 2-layer MLP loss at n = 256 (value and the gradients w.r.t. W1,
   b1, W2, b2), against a hand-written NumPy backprop and jax.value_and_grad (jit and not, float64
   on the CPU) when JAX is installed (pip install jax jaxlib).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))           # measure the tree this script is in
sys.path.insert(1, str(ROOT / "tests"))

import lark
import numpy as np
import sympy as sp
from sympy import MatrixSymbol, Max, OneMatrix, exp, log, sin, tanh
from sympy.core.cache import clear_cache
from sympy.matrices.expressions import HadamardPower, HadamardProduct
from test_paper import PAPER

import matcalc
from matcalc import terminal, verify
from matcalc.simplify import clear_caches

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:     # the benchmark runs without it, and says so
    jax = jnp = None


# ---------------------------------------------------------------------------------------------
# 1. matcalc against SymPy


class Syms:
    """SymPy symbols for one row: dimensions and variables by name."""

    def __init__(self):
        self.dims = {}
        self.vars = {}

    def d(self, name):
        return self.dims.setdefault(name, sp.Symbol(name, integer=True, positive=True))

    def s(self, name):
        return self.vars.setdefault(name, sp.Symbol(name, real=True))

    def v(self, name, n="n"):
        return self.vars.setdefault(name, MatrixSymbol(name, self.d(n), 1))

    def M(self, name, m, n):
        return self.vars.setdefault(name, MatrixSymbol(name, self.d(m), self.d(n)))


def ones_row(S, n="n"):
    return OneMatrix(1, S.d(n))


def relu(e):
    return e.applyfunc(lambda u: Max(0, u))


def sigmoid(e):
    return e.applyfunc(lambda u: 1 / (1 + exp(-u)))


def scalar(f):
    """A row whose variables are all scalars: SymPy's ordinary diff (not the matrix path)."""
    return ("scalar", f)


def matrix(*fs):
    """SymPy's matrix-expression derivative; the first form SymPy answers for is used."""
    return ("matrix", *fs)


def _affine(S):
    return S.M("W", "m", "n") * S.v("x") + S.v("b", "m")


def _sq(e):
    return e.T * e


def _mlp(S):
    h = relu(S.M("W1", "m", "k") * S.v("x", "k") + S.v("b1", "m"))
    return S.M("W2", "n", "m") * h + S.v("b2") - S.v("y")


def _loss9(S):
    z = S.M("X", "N", "n") * S.v("w") + S.s("b") * OneMatrix(S.d("N"), 1)
    return S.v("y", "N") - relu(z)


# (expression, wrt) -> how SymPy gets it: each form returns (expression, variable) or
# (expression, variable, method) where method(expression, variable) differentiates.
SYMPY = {
    ("99", "x"): scalar(lambda S: (sp.Integer(99), S.s("x"))),
    ("3*x", "x"): scalar(lambda S: (3 * S.s("x"), S.s("x"))),
    ("x^3", "x"): scalar(lambda S: (S.s("x") ** 3, S.s("x"))),
    ("x^2 + 3*x", "x"): scalar(lambda S: (S.s("x") ** 2 + 3 * S.s("x"), S.s("x"))),
    ("x^2 - 3*x", "x"): scalar(lambda S: (S.s("x") ** 2 - 3 * S.s("x"), S.s("x"))),
    ("x^2*x", "x"): scalar(lambda S: (S.s("x") ** 2 * S.s("x"), S.s("x"))),
    ("ln(x^2)", "x"): scalar(lambda S: (log(S.s("x") ** 2), S.s("x"))),
    ("sin(x^2)", "x"): scalar(lambda S: (sin(S.s("x") ** 2), S.s("x"))),
    ("ln(sin(x^3)^2)", "x"): scalar(lambda S: (log(sin(S.s("x") ** 3) ** 2), S.s("x"))),
    ("x + x^2", "x"): scalar(lambda S: (S.s("x") + S.s("x") ** 2, S.s("x"))),
    ("sin(x + x^2)", "x"): scalar(lambda S: (sin(S.s("x") + S.s("x") ** 2), S.s("x"))),
    ("x*x^2", "x"): scalar(lambda S: (S.s("x") * S.s("x") ** 2, S.s("x"))),
    ("3*x^2*y", "x"): scalar(lambda S: (3 * S.s("x") ** 2 * S.s("y"), S.s("x"))),
    ("3*x^2*y", "y"): scalar(lambda S: (3 * S.s("x") ** 2 * S.s("y"), S.s("y"))),
    ("3*x^2*y", "[x, y]"): scalar(lambda S: (
        sp.Matrix([3 * S.s("x") ** 2 * S.s("y")]), sp.Matrix([S.s("x"), S.s("y")]),
        lambda e, v: e.jacobian(v))),
    ("[3*x^2*y, 2*x + y^8]", "[x, y]"): scalar(lambda S: (
        sp.Matrix([3 * S.s("x") ** 2 * S.s("y"), 2 * S.s("x") + S.s("y") ** 8]),
        sp.Matrix([S.s("x"), S.s("y")]), lambda e, v: e.jacobian(v))),
    ("[ln(x^2), sin(3*x)]", "x"): scalar(lambda S: (
        sp.Matrix([log(S.s("x") ** 2), sin(3 * S.s("x"))]), S.s("x"))),
    ("max(0, z)", "z"): scalar(lambda S: (Max(0, S.s("z")), S.s("z"))),
    ("x", "x"): matrix(lambda S: (S.v("x"), S.v("x"))),
    ("w + x", "w"): matrix(lambda S: (S.v("w") + S.v("x"), S.v("w"))),
    ("w + x", "x"): matrix(lambda S: (S.v("w") + S.v("x"), S.v("x"))),
    ("w - x", "w"): matrix(lambda S: (S.v("w") - S.v("x"), S.v("w"))),
    ("w - x", "x"): matrix(lambda S: (S.v("w") - S.v("x"), S.v("x"))),
    ("w ⊗ x", "w"): matrix(lambda S: (HadamardProduct(S.v("w"), S.v("x")), S.v("w"))),
    ("w*x", "x"): matrix(lambda S: (HadamardProduct(S.v("w"), S.v("x")), S.v("x"))),
    ("w/x", "w"): matrix(lambda S: (HadamardProduct(S.v("w"), HadamardPower(S.v("x"), -1)),
                                    S.v("w"))),
    ("w ⊘ x", "x"): matrix(lambda S: (HadamardProduct(S.v("w"), HadamardPower(S.v("x"), -1)),
                                      S.v("x"))),
    ("x + z", "x"): matrix(lambda S: (S.v("x") + S.s("z") * OneMatrix(S.d("n"), 1), S.v("x"))),
    ("x + z", "z"): matrix(lambda S: (S.v("x") + S.s("z") * OneMatrix(S.d("n"), 1), S.s("z"))),
    ("x*z", "x"): matrix(lambda S: (S.s("z") * S.v("x"), S.v("x"))),
    ("x*z", "z"): matrix(lambda S: (S.s("z") * S.v("x"), S.s("z"))),
    ("sum(x)", "x"): matrix(lambda S: (ones_row(S) * S.v("x"), S.v("x"))),
    ("sum(x^2)", "x"): matrix(lambda S: (ones_row(S) * HadamardPower(S.v("x"), 2), S.v("x")),
                              lambda S: (S.v("x").T * S.v("x"), S.v("x"))),
    ("sum(x*z)", "x"): matrix(lambda S: (S.s("z") * ones_row(S) * S.v("x"), S.v("x"))),
    ("sum(x*z)", "z"): matrix(lambda S: (S.s("z") * ones_row(S) * S.v("x"), S.s("z"))),
    ("w·x", "x"): matrix(lambda S: (S.v("w").T * S.v("x"), S.v("x"))),
    ("dot(w, x)", "w"): matrix(lambda S: (S.v("w").T * S.v("x"), S.v("w"))),
    ("sum(w*x)", "w"): matrix(
        lambda S: (ones_row(S) * HadamardProduct(S.v("w"), S.v("x")), S.v("w")),
        lambda S: (S.v("w").T * S.v("x"), S.v("w"))),
    ("exp(x^2)", "x"): matrix(lambda S: (S.v("x").applyfunc(lambda u: exp(u ** 2)), S.v("x"))),
    ("exp(x)", "x"): matrix(lambda S: (S.v("x").applyfunc(exp), S.v("x"))),
    ("max(0, x)", "x"): matrix(lambda S: (relu(S.v("x")), S.v("x"))),
    ("w·x + b", "w"): matrix(lambda S: (S.v("w").T * S.v("x") + S.s("b") * OneMatrix(1, 1),
                                        S.v("w"))),
    ("w·x + b", "b"): matrix(lambda S: (S.v("w").T * S.v("x") + S.s("b") * OneMatrix(1, 1),
                                        S.s("b"))),
    ("max(0, w·x + b)", "w"): matrix(
        lambda S: (Max(0, (S.v("w").T * S.v("x"))[0, 0] + S.s("b")), S.v("w"))),
    ("max(0, w·x + b)", "b"): matrix(
        lambda S: (Max(0, (S.v("w").T * S.v("x"))[0, 0] + S.s("b")), S.s("b"))),
    ("(y - max(0, w·x + b))^2", "w"): matrix(
        lambda S: ((S.s("y") - Max(0, (S.v("w").T * S.v("x"))[0, 0] + S.s("b"))) ** 2,
                   S.v("w"))),
    ("(y - max(0, w·x + b))^2", "b"): matrix(
        lambda S: ((S.s("y") - Max(0, (S.v("w").T * S.v("x"))[0, 0] + S.s("b"))) ** 2,
                   S.s("b"))),
    ("mean((y - max(0, X@w + b))^2)", "w"): matrix(
        lambda S: (ones_row(S, "N") * HadamardPower(_loss9(S), 2) / S.d("N"), S.v("w")),
        lambda S: (_sq(_loss9(S)) / S.d("N"), S.v("w"))),
    ("mean((y - max(0, X@w + b))^2)", "b"): matrix(
        lambda S: (ones_row(S, "N") * HadamardPower(_loss9(S), 2) / S.d("N"), S.s("b")),
        lambda S: (_sq(_loss9(S)) / S.d("N"), S.s("b"))),
    ("W@x + b", "x"): matrix(lambda S: (_affine(S), S.v("x"))),
    ("W@x + b", "b"): matrix(lambda S: (_affine(S), S.v("b", "m"))),
    ("W@x + b", "W"): matrix(lambda S: (_affine(S), S.M("W", "m", "n"))),
    ("sigmoid(W@x + b)", "x"): matrix(lambda S: (sigmoid(_affine(S)), S.v("x"))),
    ("sigmoid(W@x + b)", "W"): matrix(lambda S: (sigmoid(_affine(S)), S.M("W", "m", "n"))),
    ("sum((W@x + b - y)^2)", "W"): matrix(
        lambda S: (ones_row(S, "m") * HadamardPower(_affine(S) - S.v("y", "m"), 2),
                   S.M("W", "m", "n")),
        lambda S: (_sq(_affine(S) - S.v("y", "m")), S.M("W", "m", "n"))),
    ("sum((W@x + b - y)^2)", "b"): matrix(
        lambda S: (ones_row(S, "m") * HadamardPower(_affine(S) - S.v("y", "m"), 2),
                   S.v("b", "m")),
        lambda S: (_sq(_affine(S) - S.v("y", "m")), S.v("b", "m"))),
    ("sum((W@x + b - y)^2)", "x"): matrix(
        lambda S: (ones_row(S, "m") * HadamardPower(_affine(S) - S.v("y", "m"), 2), S.v("x")),
        lambda S: (_sq(_affine(S) - S.v("y", "m")), S.v("x"))),
    ("x'@A@x", "x"): matrix(lambda S: (S.v("x").T * S.M("A", "n", "n") * S.v("x"), S.v("x"))),
    ("sum(tanh(W@x))", "W"): matrix(
        lambda S: (ones_row(S, "m") * (S.M("W", "m", "n") * S.v("x")).applyfunc(tanh),
                   S.M("W", "m", "n"))),
    ("trace(X)", "X"): matrix(lambda S: (sp.Trace(S.M("X", "n", "n")), S.M("X", "n", "n"))),
    ("det(X)", "X"): matrix(lambda S: (sp.Determinant(S.M("X", "n", "n")), S.M("X", "n", "n"))),
    ("logdet(X)", "X"): matrix(
        lambda S: (log(sp.Determinant(S.M("X", "n", "n"))), S.M("X", "n", "n"))),
    ("inv(X)", "X"): matrix(lambda S: (sp.Inverse(S.M("X", "n", "n")), S.M("X", "n", "n"))),
}
for _w, _v in (("W1", ("W1", "m", "k")), ("b1", ("b1", "m")), ("W2", ("W2", "n", "m")),
               ("b2", ("b2", "n"))):
    SYMPY[("sum((W2@relu(W1@x + b1) + b2 - y)^2)", _w)] = matrix(
        lambda S, v=_v: (_sq(_mlp(S)), S.M(*v) if len(v) == 3 else S.v(*v)))

EXTRA = [   # (label, expression, wrt, shapes) beyond the paper's rows
    ("affine", "W@x + b", "x", {"W": "m,n"}),
    ("affine", "W@x + b", "b", {"W": "m,n"}),
    ("affine", "W@x + b", "W", {"W": "m,n"}),
    ("layer", "sigmoid(W@x + b)", "x", {"W": "m,n"}),
    ("layer", "sigmoid(W@x + b)", "W", {"W": "m,n"}),
    ("least squares", "sum((W@x + b - y)^2)", "W", {"W": "m,n"}),
    ("least squares", "sum((W@x + b - y)^2)", "b", {"W": "m,n"}),
    ("least squares", "sum((W@x + b - y)^2)", "x", {"W": "m,n"}),
    ("quadratic form", "x'@A@x", "x", {}),
    ("tanh layer", "sum(tanh(W@x))", "W", {"W": "m,n"}),
    ("matrix", "trace(X)", "X", {"X": "n,n"}),
    ("matrix", "det(X)", "X", {"X": "n,n"}),
    ("matrix", "logdet(X)", "X", {"X": "n,n"}),
    ("matrix", "inv(X)", "X", {"X": "n,n"}),
] + [("2-layer MLP", "sum((W2@relu(W1@x + b1) + b2 - y)^2)", w,
      {"W1": "m,k", "W2": "n,m"}) for w in ("W1", "b1", "W2", "b2")]


def median_time(fn, repeats, clear=True):
    fn()                                   # warm: imports, parser, first-call paths
    times = []
    for _ in range(repeats):
        if clear:
            clear_cache()                  # SymPy's memo (matcalc calls SymPy too)
            clear_caches()                 # matcalc's own memo of simplified scalars
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matcalc_once(expr, wrt, shapes):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    _ = d.line                             # print: the CLI's line (derivative text included)
    return d


def sympy_once(form):
    """Build the SymPy expression, differentiate, print: (result, symbols, text)."""
    S = Syms()
    built = form(S)
    e, v = built[:2]
    result = built[2](e, v) if len(built) > 2 else e.diff(v)
    return result, S, str(result)


def sympy_form(forms):
    """The first form SymPy answers for (it alone is timed), or None and the reason."""
    reason = "no form"
    for form in forms:
        try:
            result, _, _ = sympy_once(form)
        except Exception as err:  # noqa: BLE001 - SymPy's failure is a result here
            reason = type(err).__name__
            continue
        if result.has(sp.Derivative) or result.has(sp.Subs):
            reason = "unevaluated"
            continue
        return form, reason
    return None, reason


def _matrix(v):
    v = np.asarray(v, dtype=float)
    return sp.ImmutableMatrix(v.reshape(v.shape[0], -1) if v.ndim else v.reshape(1, 1))


def sympy_numbers(result, S, values, sizes):
    """A SymPy result at numbers, as a float array (None if SymPy cannot get there)."""
    rep = {sym: sp.Integer(sizes[name]) for name, sym in S.dims.items()}
    for name, sym in S.vars.items():
        rep[sym] = _matrix(values[name]) if isinstance(sym, MatrixSymbol) else \
            sp.Float(float(values[name]))
    try:
        v = result.xreplace(rep)
        for _ in range(3):
            v = v.doit()
            if hasattr(v, "as_explicit"):
                v = v.as_explicit()
        arr = np.array(v.tolist() if hasattr(v, "tolist") else v, dtype=object)
        return np.vectorize(lambda t: float(sp.N(t)), otypes=[float])(arr)
    except Exception:  # noqa: BLE001 - reported as "cannot evaluate"
        return None


def agrees(ours, theirs):
    """yes, yes* (another layout: same entries in permuted axes), no."""
    a = np.squeeze(np.asarray(ours, dtype=float))
    b = np.squeeze(np.asarray(theirs, dtype=float))
    if a.shape == b.shape and np.allclose(a, b, rtol=1e-7, atol=1e-9):
        return "yes"
    if a.size == b.size and a.ndim == b.ndim:
        for perm in itertools.permutations(range(b.ndim)):
            c = np.transpose(b, perm)
            if c.shape == a.shape and np.allclose(a, c, rtol=1e-7, atol=1e-9):
                return "yes*"
    return "no"


BAR = terminal.NoProgress()     # main() puts a progress bar (stderr, terminals only) here


def compare(repeats):
    rows = [(sec, expr, wrt, shapes) for sec, expr, wrt, shapes, *_ in PAPER] + EXTRA
    BAR.grow(len(rows))
    print(f"## 1. Differentiation: matcalc and SymPy {sp.__version__} (median of {repeats}; "
          "SymPy's cache and matcalc's memo cleared before each)\n")
    print(f"{'row':<22} {'expression':<38} {'wrt':<6} {'matcalc':>9} {'SymPy':>9} "
          f"{'ratio':>6} {'len mc':>6} {'len sp':>7}  agrees")
    totals = {"matrix": [0.0, 0.0, 0], "scalar": [0.0, 0.0, 0]}
    paper_times = []
    agreement = {}
    ratios, both, everything = [], [], []
    for label, expr, wrt, shapes in rows:
        BAR.advance(label=f"bench: 1. {label}")
        t_mc = median_time(lambda e=expr, w=wrt, s=shapes: matcalc_once(e, w, s), repeats)
        d = matcalc_once(expr, wrt, shapes)
        if label.startswith("§"):
            paper_times.append((t_mc, label, expr, wrt))
        spec = SYMPY.get((expr, wrt))
        kind, forms = (spec[0], spec[1:]) if spec else ("none", ())
        form, why = sympy_form(forms) if forms else (None, "no SymPy form")
        if form is None:
            sp_cell, ratio, verdict, sp_len = "—", "", f"— ({why})", ""
        else:
            t_sp = median_time(lambda f=form: sympy_once(f), repeats)
            result, S, text = sympy_once(form)
            sp_cell, ratio, sp_len = f"{t_sp * 1e3:8.2f}ms", f"{t_mc / t_sp:6.3f}", len(text)
            verdict = _verdict(d, (result, S))
            everything.append((t_mc, t_sp))
            if kind == "matrix":
                ratios.append(t_mc / t_sp)
                both.append((t_mc, t_sp))
            totals[kind][0] += t_mc
            totals[kind][1] += t_sp
            totals[kind][2] += 1
        agreement.setdefault(kind, []).append(verdict)
        shown = expr if len(expr) <= 38 else expr[:35] + "..."
        print(f"{label[:22]:<22} {shown:<38} {wrt:<6} {t_mc * 1e3:8.2f}ms {sp_cell:>9} "
              f"{ratio:>6} {len(str(d)):>6} {sp_len!s:>7}  {verdict}")
    print()
    for kind, name in (("matrix", "vector/matrix rows (SymPy's matrix-expression diff)"),
                       ("scalar", "scalar rows (SymPy's ordinary diff)")):
        mc, spt, count = totals[kind]
        if count:
            print(f"total over {count} {name}: matcalc {mc * 1e3:.1f} ms, SymPy "
                  f"{spt * 1e3:.1f} ms, ratio {mc / spt:.3f}")
    mc_median = statistics.median(t for t, _ in both)
    sp_median = statistics.median(t for _, t in both)
    print(f"on the {len(both)} vector/matrix rows both handle: median time matcalc "
          f"{mc_median * 1e3:.2f} ms, SymPy {sp_median * 1e3:.2f} ms, ratio "
          f"{mc_median / sp_median:.3f} (target at most 0.1); per row: median ratio "
          f"{statistics.median(ratios):.3f}, {sum(r <= 0.1 for r in ratios)} of {len(ratios)} "
          f"rows at most 0.1 (the others are rows SymPy answers in about a millisecond)")
    print(f"on all {len(everything)} rows SymPy answers (scalar rows too): median time "
          f"matcalc {statistics.median(t for t, _ in everything) * 1e3:.2f} ms, SymPy "
          f"{statistics.median(t for _, t in everything) * 1e3:.2f} ms")
    for kind, verdicts in agreement.items():
        counts = {v: sum(1 for x in verdicts if x.startswith(v)) for v in ("yes", "no")}
        unevaluable = sum(1 for x in verdicts if "does not evaluate" in x)
        print(f"agreement on {kind} rows: {counts['yes']} yes, {counts['no']} no, "
              f"{unevaluable} SymPy answers that do not evaluate at numbers, "
              f"{len(verdicts) - counts['yes'] - counts['no'] - unevaluable} without a SymPy "
              "answer")
    worst = max(paper_times)
    print(f"paper examples (rules.md §1–§9, {len(paper_times)} rows): slowest "
          f"{worst[0] * 1e3:.2f} ms ({worst[2]} wrt {worst[3]}), median "
          f"{statistics.median(t for t, *_ in paper_times) * 1e3:.2f} ms, total "
          f"{sum(t for t, *_ in paper_times) * 1e3:.1f} ms (target: each under 5 ms)\n")


def _verdict(d, got):
    (result, S) = got
    shapes = {**{n: v.shape for n, v in matcalc.expr.free_vars(d.f.node).items()},
              **{v.name: v.shape for v in d.wrt}}
    symbols = {s for sh in shapes.values() for x in sh.dims for s in x.free_symbols}
    dims = verify.small_dims(symbols)
    rng = np.random.default_rng(7)
    values = verify.random_values(shapes, dims, rng, domain=(0.3, 1.7))
    if any(v.shape.is_matrix and v.shape.is_square for v in d.wrt):   # inv, det: invertible
        for v in d.wrt:
            values[v.name] = values[v.name] + 3 * np.eye(values[v.name].shape[0])
    theirs = sympy_numbers(result, S, values, {str(s): n for s, n in dims.items()})
    if theirs is None:
        return "— (SymPy's answer does not evaluate)"
    return agrees(d.evaluate(values), theirs)


# ---------------------------------------------------------------------------------------------
# 2. No expression swell


def network(layers):
    e = "x"
    for i in range(1, layers + 1):
        e = f"tanh(W{i} @ {e})"
    return f"sum({e})"


def swell(repeats):
    print("## 2. No expression swell: sum(tanh(W_L @ … tanh(W_1 @ x))) w.r.t. W_1 "
          "(dimensions inferred, distinct per layer)\n")
    print("   engine = parse, infer, differentiate, simplify (cold: caches cleared); print = "
          "str(d); ratio = value at L / value at L/2\n")
    print(f"{'L':>3} {'engine':>9} {'ratio':>5} {'peak mem':>9} {'ratio':>5} {'mem/L':>7} "
          f"{'print':>9} {'ratio':>5} {'printed':>8} {'ratio':>5} {'numpy code':>10} "
          f"{'ratio':>5}")
    prev = None
    BAR.grow(6)
    for layers in (1, 2, 4, 8, 16, 32):
        BAR.advance(label=f"bench: 2. L = {layers}")
        e = network(layers)

        def engine(e=e):
            d = matcalc.diff(e, wrt="W1")
            return d, d.expression
        t = median_time(engine, repeats)
        clear_cache()
        clear_caches()
        tracemalloc.start()
        d, _ = engine()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t_print = median_time(lambda d=d: str(d), repeats, clear=False)
        row = (t, peak, t_print, len(str(d)), len(d.to_numpy()))
        r = [f"{a / b:5.2f}" if prev else "     " for a, b in zip(row, prev or row)]
        print(f"{layers:>3} {t * 1e3:7.2f}ms {r[0]} {peak / 1024:6.0f}KiB {r[1]} "
              f"{peak / 1024 / layers:4.1f}KiB {t_print * 1e3:7.2f}ms {r[2]} {row[3]:>8} {r[3]} "
              f"{row[4]:>10} {r[4]}")
        prev = row
    print("(linear growth: ratios about 2 per doubling of L.  The printed result names each "
          "layer's value once — u₁ = tanh(W1 x), u₂ = tanh(W2 u₁), … — as the generated NumPy "
          "code does, so neither repeats the inner layers.)\n")


# ---------------------------------------------------------------------------------------------
# 3. Start-up


def startup(runs):
    print(f"## 3. Start-up, wall time (median of {runs} interleaved runs)\n")
    sympy_cmd = [sys.executable, "-c", "import sympy"]
    matcalc_cmd = [sys.executable, "-m", "matcalc", "diff", "sum(w*x)", "--wrt", "w"]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",
                                                             "PYTHONPYCACHEPREFIX")}
    base["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory() as pycache:
        settings = [("byte code cached (as installed)", {**base, "PYTHONPYCACHEPREFIX": pycache})]
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            label = ("this environment (PYTHONDONTWRITEBYTECODE=1: matcalc compiled each "
                     "run; SymPy's byte code is installed)")
            settings.append((label, {**base, "PYTHONDONTWRITEBYTECODE": "1"}))
        for label, env in settings:
            for cmd in (sympy_cmd, matcalc_cmd):
                subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=True)
            times = {0: [], 1: []}
            for _ in range(runs):
                for i, cmd in enumerate((sympy_cmd, matcalc_cmd)):
                    t0 = time.perf_counter()
                    subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=True)
                    times[i].append(time.perf_counter() - t0)
            a, b = statistics.median(times[0]), statistics.median(times[1])
            print(f"{label}:\n  python -c \"import sympy\"                      {a:.3f} s\n"
                  f"  python -m matcalc diff \"sum(w*x)\" --wrt w     {b:.3f} s\n"
                  f"  ratio {b / a:.2f} (target at most 1.25)")
    print()


# ---------------------------------------------------------------------------------------------
# 4. Generated NumPy code


MLP = "sum((W2@relu(W1@x + b1) + b2 - y)^2)"


def hand_written(W1, b1, W2, b2, x, y):
    """The textbook backprop of the same loss."""
    z1 = W1 @ x + b1
    h = np.maximum(z1, 0)
    e = W2 @ h + b2 - y
    g = 2 * e
    gz = (W2.T @ g) * (z1 > 0)
    return e @ e, np.outer(gz, x), gz, np.outer(g, h), g


def per_call(fn, args, seconds=0.2, repeats=7):
    fn(*args)
    reps = max(1, int(seconds / max(_once(fn, args), 1e-7)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def _once(fn, args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def numpy_code(n):
    print(f"## 4. Evaluating the 2-layer MLP loss and its 4 gradients, n = {n} (float64, CPU)\n")
    print(f"   {MLP}, W1, W2 ∈ ℝ^{n}×{n}, x, b1, b2, y ∈ ℝ^{n}\n")
    ds = matcalc.diff(MLP, wrt=["W1", "b1", "W2", "b2"])
    fn = matcalc.to_numpy(ds, compile=True)
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, n)) / np.sqrt(n)
    b1, b2, x, y = (rng.normal(size=n) for _ in range(4))
    ours = fn(W2, W1, x, b1, b2, y)           # parameters in order of appearance
    hand = hand_written(W1, b1, W2, b2, x, y)
    rows = [("matcalc generated (to_numpy)", per_call(fn, (W2, W1, x, b1, b2, y))),
            ("hand-written NumPy backprop", per_call(hand_written, (W1, b1, W2, b2, x, y)))]
    same = all(np.allclose(np.ravel(a), np.ravel(b)) for a, b in zip(ours, hand))
    if jax is not None:
        def loss(W1, b1, W2, b2, x, y):
            return jnp.sum((W2 @ jax.nn.relu(W1 @ x + b1) + b2 - y) ** 2)
        vg = jax.value_and_grad(loss, argnums=(0, 1, 2, 3))
        jvg = jax.jit(vg)
        args = tuple(jnp.asarray(a) for a in (W1, b1, W2, b2, x, y))

        def run(f):
            return lambda *a: jax.block_until_ready(f(*a))
        value, grads = jvg(*args)
        same = same and np.allclose(float(value), float(ours[0])) and all(
            np.allclose(np.ravel(g), np.ravel(o)) for g, o in zip(grads, ours[1:]))
        rows += [("jax.value_and_grad, jit", per_call(run(jvg), args)),
                 ("jax.value_and_grad, no jit", per_call(run(vg), args, seconds=0.5))]
    else:
        rows.append(("jax: not installed (pip install jax jaxlib)", float("nan")))
    hand_t = rows[1][1]
    for label, t in rows:
        print(f"  {label:<32} {t * 1e6:10.1f} µs   {t / hand_t:5.2f}× hand-written")
    print(f"  all results agree: {'yes' if same else 'NO'} (target: matcalc within 1.5× of "
          "hand-written)\n")
    print("  generated code (f_and_grad body):")
    body = fn.source.split("def f_and_grad")[1].split("\n\n\n")[0].splitlines()[1:]
    print("\n".join("    " + line for line in body if not line.strip().startswith("'")))
    print()


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7, help="repeats per timing (median)")
    p.add_argument("--startup-runs", type=int, default=20)
    p.add_argument("--n", type=int, default=256, help="MLP width for section 4")
    p.add_argument("--skip", default="", help="comma-separated: compare,swell,startup,numpy")
    args = p.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    print(f"# matcalc benchmarks ({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"matcalc {matcalc.__version__} from {Path(matcalc.__file__).parent}; Python "
          f"{platform.python_version()}, SymPy {sp.__version__}, NumPy {np.__version__}, "
          f"Lark {lark.__version__}, JAX {jax.__version__ if jax else '—'}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    global BAR
    with terminal.progress(2, "bench") as BAR:
        if "compare" not in skip:
            compare(args.repeats)
        if "swell" not in skip:
            swell(args.repeats)
        BAR.advance(label="bench: 3. start-up")
        if "startup" not in skip:
            startup(args.startup_runs)
        BAR.advance(label="bench: 4. NumPy")
        if "numpy" not in skip:
            numpy_code(args.n)
    print(f"(load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
