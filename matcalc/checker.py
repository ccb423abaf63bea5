"""The check: does a derivative — matcalc's own result, or a claim a user typed — equal the true
one?  Built to be hard to fool.

**The truth** never comes from matcalc's rules.  At a point, the expression is ground down to
its scalar components (each operation's NumPy form for numbers, its SymPy form for exact values,
from the rule table: the forward definitions only, never the derivative entries) and
differentiated by itself, in two tiers:

* *screen* — central differences in double precision along each entry of the variable (along
  three random directions when it has more than six entries), at every point.  It compares to a
  relative 10⁻⁷ (such differences are good to about 10⁻¹⁰) plus 10⁻⁸ of the largest entry;
  where that fails, Richardson's extrapolation from steps h and 2h decides, allowing for the
  difference of the two (a function that curves fast on the scale of h) and for how much the
  candidate moves over h (double precision's noise, where it has run out).  Points where double
  precision runs out (values beyond 10³⁰⁰ or subnormal) are left to the precise tier.
* *precise* — SymPy: the variable moved along a rational direction ``v`` as ``x + s v``, every
  component built exactly (rationals stay exact, other numbers carry 60 digits) and, node by
  node, reduced to its first-order Taylor polynomial in ``s`` by SymPy's sum, product, power and
  chain rules (so no component grows, however deep the expression).  Where every value is
  rational the comparison is exact; elsewhere to a relative 10⁻²⁵.  It runs wherever the
  screen sees a difference (a difference is reported only if it confirms it), at a plain point of
  two lines in each of the first two size sets where the derivative is not 0 (a wrong factor
  1 + 10⁻¹⁰ shows there), and at the first crossing of each kink.  No verdict says equal without
  a precise comparison.

**Kinks.**  ``relu``, ``leaky_relu``, ``elu``, ``abs``, ``max``, ``min``, ``step``, ``sign``
and the 1-norm are
differentiated with their branch *frozen* at the point: the branch that holds there, and at the
kink itself the one matcalc's convention picks — relu′(0) = 0 and step(0) = 0 (the zero
branch; leaky_relu and elu take their slope below 0), abs′(0) = sign(0) = 0, a tie of
``max(a, b)`` or ``min(a, b)`` goes to ``a``.  Frozen,
each piece is smooth, so differences and SymPy give its exact derivative even next to (or at) a
kink.  At a crossing, a kink argument within a hair of 0 (10⁻⁹ of its size nearby on the screen,
10⁻⁴⁰ in 60 digits) counts as the kink, in the truth and in the candidate alike (so
``step(x - 5)`` and ``step(-5 + x)`` agree at x = 5); the precise tier first refines the
crossing by Newton steps along the line, landing exactly on it where the argument is affine
there.

**Points.**  For each of several sets of distinct sizes (2, 3, 4, … so a missing transpose
shows; the same reversed; larger ones, so a constant right at one size only shows), lines
between two random points at three scales (entries of magnitude ~1, ~6 and ~40, away from the
origin; on one line all positive, for logarithms and roots, with square matrices near a multiple
of I): along each line a grid of 49 points finds where every kink argument — of the expression
and of the candidate — changes sign (secant steps locate it) and where the expression stops
being defined; the midpoint of every interval between consecutive crossings is tested (both
sides of every kink), and every crossing itself (the convention).  A kink no line reached is
sought on lines 10, 100 and 1000 times longer.  An expression without kinks, defined at a line's
centre, is tested there only.  Every entry of the result is compared wherever the expression is
a real number.

**Where arithmetic gives out**, the check says so rather than guess: a point where the
expression is no real number in exact arithmetic is skipped (a matrix singular, in double
precision only nearly; after six, the rest of those sizes), numbers beyond 2^4000 count as
none, a nan from an overflow (∞·0) is no counterexample, a line on which the screen is wrong
three times is left (double precision has run out there: sin of 10²⁰, 0/0 after an underflow;
the verdict notes it), and if the screen is wrong thirty times in all the verdict is
*undecided*.  ``logdet`` is log|det X|, as NumPy's ``slogdet`` computes it for ``evaluate()``
and the generated code.
"""

from __future__ import annotations

import contextvars
import itertools
import math
from dataclasses import dataclass, field

import sympy

from . import expr as E
from .expr import Call, Const, Expr, Identity, Var
from .layout import is_tensor
from .lazy import lazy_module
from .render import text as render_text
from .rules import RULES
from .shapes import Shape, as_sympy
from .verify import to_tensor

np = lazy_module("numpy")  # needed only to check (start-up: lazy.py)

KINK_OPS = frozenset({"relu", "abs", "max", "min", "step", "sign", "leaky_relu", "elu"})
DIGITS = 60                          # precision of the precise tier
# The precision in use: DIGITS, or twice that while a difference found at DIGITS is decided
# (a context variable, so checks running in threads of one process do not see each other's).
_DIGITS = contextvars.ContextVar("matcalc_check_digits", default=DIGITS)
SCREEN_TAU = 1e-9                    # a kink argument this close to 0 (relative) is the kink
PRECISE_TAU = 1e-40
SCREEN_RTOL, SCREEN_ATOL = 1e-7, 1e-8
PRECISE_RTOL, PRECISE_ATOL = 1e-25, 1e-30
LINES = ((1.0, False, False), (6.0, True, True), (40.0, False, False))  # scale, positive, ≈cI
GRID = 49
BASIS_UP_TO = 6                      # entries compared one by one on the screen up to this many
MAX_POINTS_PER_LINE = 40
SIZE_LIMIT = 16                      # a declared size above this is checked as a symbol

_S = sympy.Dummy("s")             # the precise tier's line parameter


# ---------------------------------------------------------------------------------------------
# What is checked, and the verdict


@dataclass
class Problem:
    """∂f/∂wrt against ``candidate``, an expression of the derivative as shown in ``layout``
    (DESIGN.md's table): a claim, or matcalc's result."""

    f: Expr
    wrt: tuple                       # the Vars differentiated by (several for a literal [x, y])
    literal: bool
    candidate: Expr
    layout: str
    variables: dict                  # name -> Var: everything that takes a value
    props: dict = field(default_factory=dict)   # name -> declared properties
    sizes_as_values: dict = field(default_factory=dict)  # name -> dim symbol (n in a claim)
    subject: str = ""                # "∂/∂x x²", for messages

    @property
    def wrt_shape(self) -> Shape:
        if self.literal:
            return Shape((as_sympy(len(self.wrt)),))
        return self.wrt[0].shape


@dataclass
class Counterexample:
    """Where the candidate and the true derivative differ."""

    point: dict                      # name -> value (floats, for display)
    sizes: dict                      # dimension name -> size
    entry: tuple                     # 0-based index in the derivative as shown (layout applied)
    claimed: object                  # a number, or None where the candidate is not defined
    true: object
    where: str = ""                  # "at the kink x − 5 = 0", …

    def describe(self, shape_label: str = "") -> str:
        lines = []
        sizes = ", ".join(f"{k} = {v}" for k, v in self.sizes.items())
        at = ", ".join(f"{k} = {_show(v)}" for k, v in self.point.items())
        lines.append(f"at {at}" + (f" (sizes {sizes})" if sizes else ""))
        if self.where:
            lines.append(self.where)
        entry = "(" + ", ".join(str(i + 1) for i in self.entry) + ")" if self.entry else ""
        which = f"entry {entry}" + (f" of the {shape_label}" if shape_label else "") \
            if entry else "the value"
        claimed = "not a real number" if self.claimed is None else _num_text(self.claimed)
        lines.append(f"{which}: claimed {claimed}, true {_num_text(self.true)}")
        return "\n".join(lines)


@dataclass
class Verdict:
    """The outcome of a check: ``bool(verdict)`` is whether the candidate equals the true
    derivative at every point compared; ``counterexample`` says where it does not."""

    equal: bool
    subject: str
    candidate: str
    points: int = 0                  # points compared (screen)
    precise: int = 0                 # of which also in 60-digit / exact arithmetic
    kinks: int = 0                   # kink crossings tested
    size_sets: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    counterexample: Counterexample | None = None
    unverified: str = ""             # why nothing could be compared
    shape_label: str = ""
    text_of_candidate: object = field(default=None, repr=False)   # () -> str, when printed

    def __bool__(self) -> bool:
        return self.equal

    @property
    def candidate_text(self) -> str:
        if not self.candidate and self.text_of_candidate is not None:
            self.candidate = self.text_of_candidate()
        return self.candidate

    @property
    def summary(self) -> str:
        sizes = "; ".join(", ".join(f"{k} = {v}" for k, v in s.items()) for s in self.size_sets)
        parts = [f"{self.points} points"]
        if self.kinks:
            parts.append(f"{self.kinks} of them at kinks")
        parts.append(f"{self.precise} also in exact / {DIGITS}-digit arithmetic")
        return ", ".join(parts) + (f"; sizes {sizes}" if sizes else "")

    @property
    def verified(self) -> str:
        """What an equal verdict established, in one line (the CLI's ✓ line, the web page's)."""
        return f"verified against SymPy and finite differences of the components ({self.summary})"

    def __str__(self) -> str:
        if self.equal:
            return f"equal: {self.subject} = {self.candidate_text} ({self.summary})"
        if self.counterexample is None:
            return f"not verified: {self.subject} = {self.candidate_text}: {self.unverified}"
        return (f"not equal: {self.subject} ≠ {self.candidate_text}\n"
                + self.counterexample.describe(self.shape_label))


def _show(v) -> str:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return np.array2string(a, precision=6, separator=", ", max_line_width=10**6,
                           threshold=10**6).replace("\n", "")


def _num_text(v) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, sympy.Rational) and len(str(v)) <= 24:
        return str(v) if v.q == 1 else f"{v} = {float(v):.12g}"
    try:
        return f"{float(v):.12g}"
    except (TypeError, ValueError):
        return str(v)


# ---------------------------------------------------------------------------------------------
# Evaluation at fixed sizes, numbers or exact, with kinks frozen (truth) or snapped (candidate)


def _kink_arg(node: Call, args):
    if node.op in ("max", "min"):
        a, b = np.broadcast_arrays(np.asarray(args[0]), np.asarray(args[1]))
        with np.errstate(all="ignore"):         # ∞ − ∞ is no kink argument: nan, quietly
            return np.asarray(a - b)
    return np.asarray(args[0])


def _is_kink(n) -> bool:
    return isinstance(n, Call) and (n.op in KINK_OPS or (n.op == "norm" and n.params[:1] == (1,)))


class Plan:
    """The nodes of some roots in evaluation order, with their sizes fixed by ``dims``."""

    def __init__(self, roots, dims: dict):
        self.roots = list(roots)
        self.order = E.topological_all(self.roots)
        self.dims = dims
        cache: dict = {}
        self.shape = {}
        for n in self.order:
            if n.shape not in cache:
                cache[n.shape] = tuple(int(as_sympy(d).subs(dims)) for d in n.shape.dims)
            self.shape[n] = cache[n.shape]
        self.params = {n: tuple(int(p.subs(dims)) if isinstance(p, sympy.Expr) else p
                                for p in n.params)
                       for n in self.order if isinstance(n, Call)}
        self.kinks = [n for n in self.order if _is_kink(n)]
        self.consts = {}
        for n in self.order:
            if isinstance(n, Const):
                v = n.value.subs(dims) if isinstance(n.value, sympy.Basic) else as_sympy(n.value)
                self.consts[n] = v

    def run(self, values: dict, *, exact: bool = False, truth: bool = False, tau=None,
            codes: dict | None = None, record: dict | None = None,
            kinkvals: dict | None = None) -> dict:
        """The value of every node.  ``truth``: kink operations on frozen branches (``codes``
        given, or decided here with tolerance ``tau`` and stored in ``record``); otherwise the
        table's forms, with arguments of step and sign within ``tau`` of 0 set to 0.
        ``kinkvals`` collects every kink argument."""
        memo: dict = {}
        tau = tau or {}
        with np.errstate(all="ignore"):
            for n in self.order:
                shape = self.shape[n]
                if isinstance(n, Var):
                    v = values[n.name]
                    v = np.asarray(v, dtype=object if exact else float)
                    if v.shape != shape:
                        v = v.reshape(shape)
                    memo[n] = v
                    continue
                if isinstance(n, Const):
                    c = self.consts[n]
                    memo[n] = np.full(shape, c if exact else float(c),
                                      dtype=object if exact else float)
                    continue
                if isinstance(n, Identity):
                    eye = np.eye(shape[0], dtype=int)
                    memo[n] = eye.astype(object) * sympy.Integer(1) if exact else \
                        eye.astype(float)
                    continue
                args = [memo[a] for a in n.operands]
                params = self.params[n]
                try:
                    if _is_kink(n):
                        z = _kink_arg(n, args)
                        if kinkvals is not None:
                            kinkvals[n] = z
                        if truth:
                            c = codes[n] if codes is not None and n in codes else \
                                _codes(n, z, tau.get(n, 0.0), exact)
                            if record is not None:
                                record[n] = c
                            out = _undefined_where(_frozen(n, args, c, exact), z, exact)
                        else:
                            if n in tau:        # at a crossing: the kink itself, as the
                                args = _snapped(n, args, z, tau[n], exact)   # truth sees it
                            out = RULES[n.op].numpy(*args, *params)
                    else:
                        if exact and n.op == "pow":
                            args = _real_power(args)
                        if exact and n.op == "logdet":
                            # log|det X|, as NumPy's slogdet computes it for evaluate() and the
                            # generated code (the table's SymPy form, log det X, is not real
                            # where det X < 0, and the two forms must not disagree there)
                            det = as_sympy(np.asarray(_matrix_function(
                                RULES["det"].numpy, args[0], ())).item())
                            out = sympy.log(sympy.Abs(det))
                        elif exact and n.op in ("det", "inv"):
                            out = _matrix_function(RULES[n.op].numpy, args[0], shape)
                        elif exact and RULES[n.op].chain and len(args) > 2:
                            # a chain one product at a time, each cut to first order in s:
                            # multiplied out whole, W(s)¹⁴ x is a tree of nⁱ⁴ terms
                            out = args[0]
                            for a in args[1:]:
                                out = _tidy(np.asarray(RULES[n.op].numpy(out, a, *params)),
                                            linear=True)
                        else:
                            out = RULES[n.op].numpy(*args, *params)
                    out = np.asarray(out)
                    if exact:
                        out = _tidy(out, linear=True)
                    elif out.dtype != float:
                        out = out.astype(float) if out.dtype != object else \
                            np.full(out.shape, np.nan)
                except (ArithmeticError, ValueError, TypeError, np.linalg.LinAlgError):
                    # outside the function's domain (a singular matrix, log of 0, …)
                    out = np.full(shape, sympy.nan if exact else np.nan,
                                  dtype=object if exact else float)
                if out.shape != shape:
                    out = out.reshape(shape)
                memo[n] = out
        return memo


def _codes(node, z, tau, exact):
    """The branch of each entry: relu/step 1 on the positive side (0 at the kink), abs/sign
    the sign (0 at the kink), max/min 1 where the first argument is taken (ties included)."""
    op = node.op
    if exact:
        zs = np.vectorize(lambda e: _at_zero(e), otypes=[object])(z) if z.size else z
        pos = np.vectorize(lambda e: bool(e > tau) if e is not sympy.nan and e.is_real
                           else False, otypes=[bool])(zs) if z.size else np.zeros(z.shape, bool)
        neg = np.vectorize(lambda e: bool(e < -tau) if e is not sympy.nan and e.is_real
                           else False, otypes=[bool])(zs) if z.size else np.zeros(z.shape, bool)
    else:
        pos, neg = z > tau, z < -tau
    if op in ("relu", "step", "leaky_relu", "elu"):
        return pos
    if op in ("abs", "sign", "norm"):
        return pos.astype(int) - neg.astype(int)
    if op == "max":
        return ~neg
    return ~pos                                         # min: a where a − b ≤ 0


def _frozen(node, args, c, exact):
    op = node.op
    zero = sympy.Integer(0) if exact else 0.0
    if op == "relu":
        z = np.asarray(args[0])
        return np.where(c, z, zero)
    if op in ("leaky_relu", "elu"):            # x where x > 0, else a x or a (eˣ − 1)
        x, a = np.broadcast_arrays(np.asarray(args[0]), np.asarray(args[1]))
        if op == "leaky_relu":
            below = a * x
        elif exact:
            below = a * np.vectorize(lambda u: sympy.exp(u) - 1, otypes=[object])(x) \
                if x.size else x
        else:
            below = a * np.expm1(x)
        return np.where(c, x, below)
    if op == "abs":
        return np.asarray(c) * np.asarray(args[0])
    if op == "step":
        return np.asarray(c).astype(object) * sympy.Integer(1) if exact else \
            np.asarray(c, dtype=float)
    if op == "sign":
        return np.asarray(c).astype(object) * sympy.Integer(1) if exact else \
            np.asarray(c, dtype=float)
    if op == "norm":
        return np.sum(np.asarray(c) * np.asarray(args[0]))
    a, b = np.broadcast_arrays(np.asarray(args[0]), np.asarray(args[1]))
    return np.where(c, a, b)


_H = sympy.Rational(1, 10**30)


def _matrix_function(form, A, out_shape: tuple):
    """det or inv of a matrix whose entries are a₀ + a₁ s, to first order in s: the value at
    a₀ exactly, the slope by a central difference of step 10⁻³⁰ (its error, of order 10⁻⁶⁰, is
    below the 60 digits carried).  SymPy's determinant of the matrix in s itself, by fraction-
    free elimination of polynomials, took seconds."""
    A = np.asarray(A, dtype=object)
    if not any(as_sympy(a).has(_S) for a in A.ravel()):
        return form(A)
    pairs = [_taylor(a) for a in A.ravel()]
    if any(p is sympy.nan for pair in pairs for p in pair):
        return np.full(out_shape, sympy.nan, dtype=object)
    A0 = np.array([p[0] for p in pairs], dtype=object).reshape(A.shape)
    A1 = np.array([p[1] for p in pairs], dtype=object).reshape(A.shape)
    f0 = np.asarray(form(A0), dtype=object)
    fp = np.asarray(form(A0 + _H * A1), dtype=object)
    fm = np.asarray(form(A0 - _H * A1), dtype=object)
    return f0 + (fp - fm) / (2 * _H) * _S


def _floaty(e):
    """An exact entry with its rational numbers as 60-digit floats."""
    e = as_sympy(e)
    if e.is_Rational:
        return sympy.Float(e, _DIGITS.get())
    return e.xreplace({r: sympy.Float(r, _DIGITS.get()) for r in e.atoms(sympy.Rational)
                       if not r.is_Integer}) if e.free_symbols else e


def _real_power(args):
    """aᵖ with p not an integer: a in 60-digit floats (an exact rational to a rational power
    makes SymPy search for perfect powers of huge integers)."""
    base, p = np.asarray(args[0], dtype=object), np.asarray(args[1], dtype=object)
    if all(as_sympy(v).is_Integer for v in p.ravel()):
        return args
    return [np.vectorize(_floaty, otypes=[object])(base) if base.size else base, p]


def _snapped(node, args, z, tau, exact):
    """A kink operation's arguments with every argument within ``tau`` of its kink put on it:
    the argument 0 (relu, abs, step, sign, …), or for max and min the tie, a = b (a residual of
    10⁻¹⁵ left in max(z, 0) and multiplied by e⁷⁵ is no longer small)."""
    if node.op in ("max", "min"):
        a, b = np.broadcast_arrays(np.asarray(args[0]), np.asarray(args[1]))
        near = np.asarray(_snap(z, tau, exact)) == 0
        return [a, np.where(near, a, b)]
    return [_snap(z, tau, exact)] + list(args[1:])


def _undefined_where(value, z, exact):
    """A frozen branch is no value where its argument is none (a kink of log of a negative
    number is no kink)."""
    value = np.asarray(value)
    if exact:
        bad = np.vectorize(lambda e: as_sympy(e) is sympy.nan or as_sympy(e).has(sympy.nan),
                           otypes=[bool])(z) if np.size(z) else np.zeros(np.shape(z), bool)
    else:
        bad = np.isnan(np.asarray(z, dtype=float))
    if not bad.any():
        return value
    if value.shape != bad.shape:                    # norm: one value from many arguments
        return np.asarray(sympy.nan if exact else np.nan, dtype=object if exact else float)
    return np.where(bad, sympy.nan if exact else np.nan, value)


def _snap(z, tau, exact):
    if not exact:
        return np.where(np.abs(z) <= tau, 0.0, z)
    return np.vectorize(lambda e: sympy.Integer(0) if (e.is_number and e.is_real and
                                                       abs(e) <= tau) else e,
                        otypes=[object])(z) if z.size else z


def _at_zero(e):
    """The number an entry (an expression in the precise tier's s, or a number) has at s = 0."""
    e = as_sympy(e)
    if e.free_symbols:
        e = e.xreplace({_S: sympy.Integer(0)})
    if not e.is_Rational and e.is_number:
        e = e.evalf(_DIGITS.get())
    return e


_BIG = 4000        # bits: a rational larger than this is carried as a 60-digit float


def _tidy_one(v):
    if not isinstance(v, sympy.Basic):
        v = v.item() if hasattr(v, "item") else v
        if isinstance(v, float):                    # a float of a NumPy form: exactly
            return sympy.Rational(v) if math.isfinite(v) else sympy.nan
        v = as_sympy(int(v) if isinstance(v, bool) else v)
    if v.is_Rational:
        if v.p.bit_length() > _BIG or v.q.bit_length() > _BIG:
            return sympy.Float(v, _DIGITS.get())
        return v
    if v.is_Float:
        return v if _moderate(v) else sympy.nan
    if v.free_symbols:
        return v
    if v is sympy.nan or v.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return sympy.nan
    w = v.evalf(_DIGITS.get())
    if not (w.is_number and w.is_real) or w.has(sympy.zoo, sympy.oo, sympy.nan):
        return sympy.nan
    return w if not w.is_Float or _moderate(w) else sympy.nan


_HUGE = 4000       # bits: a number beyond 2**4000 (e**e**40) is too large to compare


def _moderate(v) -> bool:
    """Whether a float is within 2**±4000 or 0 (mpmath computes tanh(e**(e**40)) by a shift of
    that many bits: such a value is treated as no number)."""
    sign, man, exp, bc = v._mpf_
    return not man or exp + bc <= _HUGE        # tiny numbers are fine: only huge ones shift


def _tidy(a, linear: bool = False):
    """Exact entries: rationals stay, other numbers become 60-digit floats, anything not a real
    number (outside a function's domain) becomes nan; with ``linear``, an expression in s
    becomes its first-order Taylor polynomial a₀ + a₁ s (all the precise tier needs: it keeps
    every entry small, however deep the expression)."""
    one = _lin if linear else _tidy_one
    a = np.asarray(a, dtype=object)
    if a.ndim == 0:
        return np.array(one(a.item()), dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(*a.shape):
        out[idx] = one(a[idx])
    return out


def _taylor(e):
    """(e(0), e′(0)) for an expression in s, by SymPy; nan where not a real number."""
    e = as_sympy(e)
    if not e.has(_S):
        return _tidy_one(e), sympy.Integer(0)
    if e.is_Add and all(not t.has(_S) or (t.is_Mul and t.as_independent(_S)[1] == _S) or
                        t == _S for t in e.args):
        a0 = sympy.Add(*[t for t in e.args if not t.has(_S)])        # already a₀ + a₁ s
        a1 = sympy.Add(*[t.as_independent(_S)[0] if t != _S else 1 for t in e.args
                         if t.has(_S)])
        return _tidy_one(a0), _tidy_one(a1)
    try:
        a0, a1 = _first_order(e, {})
        return _tidy_one(a0), _tidy_one(a1)
    except _NotArithmetic:
        pass
    zero = {_S: sympy.Integer(0)}
    try:
        a0 = _tidy_one(e.xreplace(zero))
        a1 = _tidy_one(sympy.diff(e, _S).xreplace(zero)) if a0 is not sympy.nan else sympy.nan
    except (ArithmeticError, ValueError, TypeError):
        return sympy.nan, sympy.nan
    return a0, a1


class _NotArithmetic(Exception):
    pass


def _first_order(e, memo):
    """(e(0), e′(0)) for sums, products and powers of numbers and s, by the sum, product and
    power rules on SymPy's expression tree (anything else is left to SymPy's diff)."""
    if e in memo:
        return memo[e]
    if e is _S:
        out = (sympy.Integer(0), sympy.Integer(1))
    elif not e.has(_S):
        out = (e, sympy.Integer(0))
    elif e.is_Add:
        parts = [_first_order(t, memo) for t in e.args]
        out = (sympy.Add(*[p[0] for p in parts]), sympy.Add(*[p[1] for p in parts]))
    elif e.is_Mul:
        v, d = sympy.Integer(1), sympy.Integer(0)
        for t in e.args:
            tv, td = _first_order(t, memo)
            v, d = v * tv, d * tv + v * td
        out = (v, d)
    elif e.is_Pow and not e.exp.has(_S):
        bv, bd = _first_order(e.base, memo)
        if bv == 0 and not (e.exp.is_Integer and e.exp > 0):
            raise _NotArithmetic
        out = (bv ** e.exp, e.exp * bv ** (e.exp - 1) * bd)
    elif isinstance(e, sympy.Function) and len(e.args) == 1:
        av, ad = _first_order(e.args[0], memo)       # the chain rule, F′ from SymPy
        out = (e.func(av), e.fdiff(1).xreplace({_S: sympy.Integer(0)}) * ad)
    else:
        raise _NotArithmetic
    memo[e] = out
    return out


_PREC_BITS = 53


def _lin(e):
    if not isinstance(e, sympy.Basic) or not e.has(_S):
        return _tidy_one(e)
    a0, a1 = _taylor(e)
    if a0 is sympy.nan or a1 is sympy.nan:
        return sympy.nan
    return _full_precision(a0) + _full_precision(a1) * _S


def _full_precision(v):
    """A float that cancellation left with few digits (a softmax's slope along a shift, 10⁻¹⁹⁰
    to one bit) back at DIGITS: added to an exact 3 it would make the sum a one-bit float, and
    3 s read as 4 s."""
    if isinstance(v, sympy.Float) and v._prec < _PREC_BITS:
        return sympy.Float(v, _DIGITS.get())
    return v


def _real(v):
    """A float of an exact entry (None where it is not a real, finite number)."""
    if v is None or v is sympy.nan:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# The candidate as a tensor T[o…, w…] = ∂f[o…]/∂wrt[w…]


def candidate_tensor(value, problem: Problem, out_shape: tuple, wrt_shape: tuple):
    fs, xs = problem.f.shape, problem.wrt_shape
    v = np.asarray(value)
    if is_tensor(fs, xs):
        return to_tensor(v, out_shape, wrt_shape)
    if fs.is_vector and xs.is_vector and problem.layout == "denominator":
        v = v.T
    if fs.is_matrix and xs.is_scalar and v.shape != tuple(out_shape):
        return v.reshape(out_shape, order="F")        # a matrix by a scalar carried as vec
    return v.reshape(tuple(out_shape) + tuple(wrt_shape))


def layout_index(index: tuple, problem: Problem, out_shape: tuple, wrt_shape: tuple) -> tuple:
    """The entry of the derivative as shown (layout applied) holding tensor entry ``index``."""
    fs, xs = problem.f.shape, problem.wrt_shape
    o, w = index[:len(out_shape)], index[len(out_shape):]
    if is_tensor(fs, xs):
        return index
    if fs.is_scalar and xs.is_vector:
        return (0,) + w if problem.layout == "numerator" else w
    if fs.is_vector and xs.is_vector:
        return o + w if problem.layout == "numerator" else w + o
    if fs.is_vector and xs.is_scalar:
        return o if problem.layout == "numerator" else (0,) + o
    if fs.is_matrix and xs.is_scalar and fs.is_row:
        return o[1:]
    return index


# ---------------------------------------------------------------------------------------------
# Sizes and points


def size_sets(symbols: list) -> list[dict]:
    """Sets of distinct sizes: 2, 3, 4, …; the same reversed; one larger, rotated; three
    larger (so a constant right at one size only, ½ for 1/n, shows)."""
    k = len(symbols)
    if k == 0:
        return [{}]
    base = list(range(2, 2 + k))
    sets = [base, base[::-1], [b + 1 for b in base[1:] + base[:1]], [b + 3 for b in base]]
    out, seen = [], set()
    for s in sets:
        if tuple(s) not in seen:
            seen.add(tuple(s))
            out.append(dict(zip(symbols, s)))
    return out


def _sym(v):
    return (v + v.T) / 2


def _random_point(problem: Problem, shapes: dict, rng, scale, positive, near_identity):
    """A random point: entries of magnitude in [0.3, 1.2]·scale (away from the origin), all
    positive or of random sign; square matrices near scale·I if ``near_identity``; symmetric
    matrices symmetric, probability vectors positive and summing to 1 (a matrix: each row)."""
    point = {}
    for name, shape in shapes.items():
        props = problem.props.get(name, ())
        v = rng.uniform(0.3, 1.2, size=shape) * scale
        if not positive:
            v = v * rng.choice([-1.0, 1.0], size=shape)
        if near_identity and len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1:
            v = scale * (np.eye(shape[0]) + 0.3 * rng.uniform(-1, 1, size=shape))
        if "sym" in props and len(shape) == 2:
            v = _sym(v)
        if "prob" in props:
            v = rng.uniform(0.2, 1.0, size=shape)          # a matrix: each row sums to 1
            v = v / v.sum(axis=-1, keepdims=True)
        point[name] = np.asarray(v, dtype=float)
    return point


def _line(problem: Problem, shapes: dict, rng, scale, positive, near_identity, span=1.0):
    """The segment between two random points (t from −1 to 1), stretched by ``span`` about its
    middle; probability vectors stay fixed on it."""
    a = _random_point(problem, shapes, rng, scale, positive, near_identity)
    b = _random_point(problem, shapes, rng, scale, positive, near_identity)
    point = {k: (a[k] + b[k]) / 2 for k in a}
    direction = {k: (b[k] - a[k]) / 2 * span for k in a}
    for name in shapes:
        if "prob" in problem.props.get(name, ()):
            direction[name] = np.zeros_like(direction[name])
    return point, direction


def _on_line(point, direction, t):
    return {k: point[k] + t * direction[k] for k in point}


# ---------------------------------------------------------------------------------------------
# The check


_EQUAL, _UNDEFINED = "equal", "undefined"
_MAX_CONFIRMATIONS = 30
_MAX_LINE_ALARMS = 3
_MAX_UNDEFINED = 6


class _SkipSizes(Exception):
    """These sizes leave the expression no real number in exact arithmetic (log det(X A) with
    X n×m, m < n): on to the next."""


class _Found(Exception):
    def __init__(self, counterexample):
        self.counterexample = counterexample


class Checker:
    """One check of one problem (``run`` returns the Verdict)."""

    def __init__(self, problem: Problem, progress=None, seed: int = 0):
        self.p = problem
        self.rng = np.random.default_rng(seed)
        self.progress = progress
        self.points = self.precise = self.kinks = 0
        self.compared_entries: set = set()
        self.any_defined = False
        self.confirmations = 0
        self.undecided = False
        self.abandoned = 0              # lines given up where double precision ran out
        self.line_alarms = 0

    # -- set-up per size set ----------------------------------------------------------------

    def _symbols(self) -> list:
        nodes = E.topological_all([self.p.f, self.p.candidate] +
                                  list(self.p.variables.values()))
        syms = set()
        for n in nodes:
            for d in n.shape.dims:
                syms |= as_sympy(d).free_symbols
        for n in nodes:
            if isinstance(n, Const) and isinstance(n.value, sympy.Basic):
                syms |= n.value.free_symbols
        syms |= set(self.p.sizes_as_values.values())
        return sorted(syms, key=str)

    def _setup(self, dims):
        p = self.p
        self.dims = dims
        self.plan_f = Plan([p.f], dims)
        self.plan_c = Plan([p.candidate], dims)
        self.var_shapes = {n: tuple(int(as_sympy(d).subs(dims)) for d in v.shape.dims)
                           for n, v in p.variables.items()}
        self.out_shape = self.plan_f.shape[p.f]
        if p.literal:
            self.wrt_shape = (len(p.wrt),)
        else:
            self.wrt_shape = self.var_shapes[p.wrt[0].name]
        self.n_wrt = int(np.prod(self.wrt_shape, dtype=int))
        self.kink_nodes = list(dict.fromkeys(self.plan_f.kinks + self.plan_c.kinks))
        self.kink_plans: dict = {}
        self.mag = None          # at a crossing: the size of its argument nearby
        self.undefined_here = 0  # confirmations that found no real number at these sizes

    def _values(self, point: dict) -> dict:
        vals = dict(point)
        for name, sym in self.p.sizes_as_values.items():
            vals[name] = np.float64(self.dims.get(sym, 0))
        return vals

    def _exact_values(self, point: dict, constrain: bool = True) -> dict:
        """The point in exact rationals; with ``constrain``, each ``prob`` vector (a matrix:
        each row) made to sum to 1 exactly (not for a direction, which keeps them fixed)."""
        vals = {}
        for k, v in point.items():
            a = np.asarray(v, dtype=object)
            out = np.empty(a.shape, dtype=object)
            for idx in np.ndindex(*a.shape):
                x = a[idx]
                out[idx] = x if isinstance(x, sympy.Basic) else sympy.Rational(float(x))
            if constrain and "prob" in self.p.props.get(k, ()) and out.size and \
                    not any(isinstance(x, sympy.Basic) and x.has(_S) for x in out.ravel()):
                rows = out.reshape(-1, out.shape[-1]) if out.ndim else out.reshape(1, 1)
                for row in rows:                    # each row (a vector: all) sums to 1 exactly
                    row[-1] = 1 - sum(row[:-1])
                out = rows.reshape(out.shape)
            vals[k] = out
        for name, sym in self.p.sizes_as_values.items():
            vals[name] = np.array(sympy.Integer(self.dims.get(sym, 0)), dtype=object)
        return vals

    def _tau(self, exact: bool) -> dict:
        """At a crossing, how close to 0 a kink argument must be to count as the kink: a
        hair of the argument's size in the crossing's grid cell (the arithmetic's noise is far
        smaller, a real difference far larger); elsewhere nothing is snapped."""
        if self.mag is None:
            return {}
        t = (PRECISE_TAU if exact else SCREEN_TAU) * self.mag
        return {n: t for n in self.kink_nodes}

    # -- moving the variable ------------------------------------------------------------------

    def _wrt_get(self, vals, exact: bool = False) -> np.ndarray:
        dtype = object if exact else float
        if self.p.literal:
            return np.array([np.asarray(vals[v.name], dtype=dtype).reshape(()).item()
                             for v in self.p.wrt], dtype=dtype)
        return np.asarray(vals[self.p.wrt[0].name], dtype=dtype)

    def _wrt_set(self, vals, x) -> dict:
        out = dict(vals)
        if self.p.literal:
            for i, v in enumerate(self.p.wrt):
                out[v.name] = np.asarray(x[i])
        else:
            out[self.p.wrt[0].name] = x
        return out

    # -- the candidate ------------------------------------------------------------------------

    def _candidate(self, vals, exact):
        memo = self.plan_c.run(vals, exact=exact, tau=self._tau(exact))
        value = memo[self.p.candidate]
        if not exact:           # an infinity on the way: a nan may be ∞·0, not the candidate's
            self.overflow = any(np.isinf(v).any() for v in memo.values()
                                if isinstance(v, np.ndarray) and v.dtype == float)
        return candidate_tensor(value, self.p, self.out_shape, self.wrt_shape)

    # -- the screen ---------------------------------------------------------------------------

    def _directions(self):
        if self.n_wrt <= BASIS_UP_TO:
            for j in range(self.n_wrt):
                u = np.zeros(self.n_wrt)
                u[j] = 1.0
                yield u.reshape(self.wrt_shape), j
        else:
            for _ in range(3):
                u = self.rng.normal(size=self.wrt_shape)
                yield u / np.abs(u).max(), None

    def _screen(self, point, where=""):
        """Compare at one point in double precision; a difference is confirmed precisely."""
        with np.errstate(all="ignore"):
            return self._screen_at(point, where)

    def _screen_at(self, point, where):
        vals = self._values(point)
        codes: dict = {}
        tau = self._tau(False)
        memo = self.plan_f.run(vals, truth=True, tau=tau, record=codes)
        f0 = memo[self.p.f]
        defined = np.isfinite(f0)
        if not defined.any():
            return False
        self.any_defined = True
        if not all(_float_safe(v) for v in memo.values()):
            return False            # values at the ends of double precision: no judge here
        C = np.asarray(self._candidate(vals, False), dtype=float)
        x0 = np.asarray(self._wrt_get(vals), dtype=float)
        X = max(1.0, float(np.abs(x0).max(initial=0)))
        h = 1e-6 * X
        fscale = float(np.abs(f0[defined]).max(initial=0))
        results = []
        for u, j in self._directions():
            fp = self.plan_f.run(self._wrt_set(vals, x0 + h * u), truth=True,
                                 codes=codes)[self.p.f]
            fm = self.plan_f.run(self._wrt_set(vals, x0 - h * u), truth=True,
                                 codes=codes)[self.p.f]
            D = (fp - fm) / (2 * h)
            Cu = np.tensordot(C, u, axes=len(self.wrt_shape)) if self.wrt_shape else C * u
            results.append((u, j, D, np.asarray(Cu)))
        dscale = max([1.0] + [float(np.abs(D[np.isfinite(D)]).max(initial=0))
                              for _, _, D, _ in results])
        atol = SCREEN_ATOL * dscale + 1e-9 * fscale / X
        seen, differ = set(), []
        self.nonzero = False
        for u, j, D, Cu in results:
            ok_truth = np.isfinite(D) & defined
            finer = None
            for o in zip(*np.nonzero(ok_truth)) if D.ndim else ([()] if ok_truth else []):
                d, c = float(D[o]), float(Cu[o])
                if not math.isfinite(c) and (self.overflow or where):
                    continue        # double precision overflowed, or at a kink a formula
                    #                 divides by its argument (|x|' = x/|x|): no comparison
                seen.add(o)
                self.nonzero |= d != 0 or c != 0
                if not math.isfinite(c) or abs(c - d) > SCREEN_RTOL * max(abs(c), abs(d)) + atol:
                    # a difference, or a difference quotient far from the derivative where f
                    # curves fast on the scale of h (e^(W x), W of size 40): Richardson's
                    # extrapolation from steps h and 2h, allowing for what it cannot remove
                    if finer is None:
                        fp2 = self.plan_f.run(self._wrt_set(vals, x0 + 2 * h * u), truth=True,
                                              codes=codes)[self.p.f]
                        fm2 = self.plan_f.run(self._wrt_set(vals, x0 - 2 * h * u), truth=True,
                                              codes=codes)[self.p.f]
                        D2 = np.asarray((fp2 - fm2) / (4 * h))
                        # and how much the candidate itself moves over h: double precision's
                        # noise where it has run out (sin of e⁴⁰), tiny where it has not
                        Cp = np.asarray(self._candidate(self._wrt_set(vals, x0 + h * u),
                                                        False), dtype=float)
                        Cpu = np.tensordot(Cp, u, axes=len(self.wrt_shape)) \
                            if self.wrt_shape else Cp * u
                        finer = (np.asarray((4 * D - D2) / 3),
                                 np.abs(np.asarray(D - D2)) + np.abs(np.asarray(Cpu - Cu)))
                    dr, slack = float(finer[0][o]), float(finer[1][o])
                    if not math.isfinite(c) or not math.isfinite(dr) or \
                            abs(c - dr) > SCREEN_RTOL * max(abs(c), abs(dr)) + atol + slack:
                        differ.append((u, j, o))
        confirmed: set = set()
        for u, j, o in differ:      # the precise check along u compares every entry of f
            if id(u) in confirmed:
                continue
            confirmed.add(id(u))
            outcome = self._confirm(point, u, j, o, where)
            if outcome is not _EQUAL:
                return False        # not a real number in exact arithmetic, or undecided
        if seen:
            self.compared_entries |= seen
            self.points += 1
            if where:
                self.kinks += 1
        return bool(seen)

    def _confirm(self, point, u, j, o, where):
        """The screen saw a difference: decide it in exact / 60-digit arithmetic (raises the
        counterexample if there is one).  A point where the expression is no real number in
        exact arithmetic (a matrix singular, in double precision only nearly) is skipped; where
        that happens again and again, so are the rest of these sizes.  Where the screen was
        wrong thirty times, the verdict says it is undecided."""
        if self.confirmations >= _MAX_CONFIRMATIONS:
            self.undecided = True           # never silently dropped: the verdict says so
            return _UNDEFINED
        exact = self._exact_values(point)
        V = np.vectorize(lambda x: sympy.Rational(float(x)), otypes=[object])(u) \
            if np.ndim(u) else np.array(sympy.Rational(float(u)), dtype=object)
        bad = self._precise_at(exact, V, where)
        if isinstance(bad, tuple):
            self._report(exact, bad, where, j)
        if bad == _EQUAL:
            self.confirmations += 1         # the screen's false alarms
            self.line_alarms += 1
        else:
            self.undefined_here += 1
            if self.undefined_here >= _MAX_UNDEFINED:
                raise _SkipSizes
        return bad

    # -- the precise tier ---------------------------------------------------------------------

    def _precise_at(self, exact_point, V, where=""):
        """Directional derivative along V at the point, SymPy against the candidate: _EQUAL,
        _UNDEFINED (the expression is not a real number there), or (o, true, claimed).

        A difference where either side is a float is decided again at twice the digits, and
        again at four times as long as it shrank by 10³⁰ or more: a real difference stays put,
        a rounding residue shrinks with the precision (claimed exactly 0, true −1.6·10⁻¹³: a
        softmax's column sums, 1 to 60 digits, times a cosh of 10⁴⁸)."""
        bad = self._precise_once(exact_point, V, where)
        if _DIGITS.get() != DIGITS:
            return bad                      # already deciding (a _report inside a retry)
        digits, before = DIGITS, None
        while isinstance(bad, tuple) and digits < 4 * DIGITS:
            truth, claimed = as_sympy(bad[1]), as_sympy(bad[2])
            if (truth.is_Rational and claimed.is_Rational) or _real(claimed) is None:
                break                       # exact on both sides, or no number: final
            gap = abs(sympy.Float(truth, digits) - sympy.Float(claimed, digits))
            if before is not None and not gap < before * sympy.Float(10) ** -30:
                break                       # the same difference at more digits: a real one
            before, digits = gap, 2 * digits
            token = _DIGITS.set(digits)
            try:
                bad = self._precise_once(exact_point, V, where)
            finally:
                _DIGITS.reset(token)
        return bad

    def _precise_once(self, exact_point, V, where=""):
        vals = self._exact_values(exact_point) if not _is_exact(exact_point) else \
            dict(exact_point)
        for name, sym in self.p.sizes_as_values.items():
            vals[name] = np.array(sympy.Integer(self.dims.get(sym, 0)), dtype=object)
        x0 = self._wrt_get(vals, exact=True)
        moved = self._wrt_set(vals, x0 + _S * np.asarray(V, dtype=object))
        tau = self._tau(True)
        fs = self.plan_f.run(moved, exact=True, truth=True, tau=tau)[self.p.f]
        C = np.asarray(self._candidate(vals, True), dtype=object)
        Cu = _contract(C, V, len(self.wrt_shape))
        truths = {}
        for o in np.ndindex(*fs.shape) if fs.shape else [()]:
            comp = fs[o] if fs.shape else fs.item()
            f0, d = _taylor(comp)
            if _real(f0) is None or _real(d) is None:
                continue
            truths[o] = d
        if not truths:
            return _UNDEFINED
        scale = max([1.0] + [abs(_real(d)) for d in truths.values()])
        partial = len(truths) < max(1, int(np.prod(fs.shape, dtype=int)))
        self.precise += 1
        for o, d in truths.items():
            c = Cu[o] if np.ndim(Cu) else np.asarray(Cu).item()
            c = _tidy_one(c)
            if (partial or where) and _real(c) is None:
                continue            # where f is partly no number, so may be a candidate's
                #                     entry that multiplies it by 0 (a diag(…) of it); at a
                #                     kink, a formula may divide by its argument
            if not _same(d, c, scale):
                return (o, d, c)
        self.compared_entries |= set(truths)
        return _EQUAL

    def _report(self, exact_point, bad, where, j):
        """Pinpoint the entry (o, w) that differs and raise the counterexample."""
        o, d, c = bad
        entry, true, claimed = None, d, c
        if j is not None:
            w = np.unravel_index(j, self.wrt_shape) if self.wrt_shape else ()
            entry = tuple(o) + tuple(w)
        else:
            for jj in range(min(self.n_wrt, 200)):
                V = np.zeros(self.n_wrt, dtype=object)
                V[:] = sympy.Integer(0)
                V[jj] = sympy.Integer(1)
                V = V.reshape(self.wrt_shape) if self.wrt_shape else V.reshape(())
                bad2 = self._precise_at(exact_point, V, where)
                if isinstance(bad2, tuple):
                    w = np.unravel_index(jj, self.wrt_shape) if self.wrt_shape else ()
                    entry = tuple(bad2[0]) + tuple(w)
                    true, claimed = bad2[1], bad2[2]
                    break
            if entry is None:                     # only a combination differs: say which one
                entry = tuple(o)
        point = {}
        for name in self.p.variables:
            a = np.asarray(exact_point[name], dtype=object)
            value = np.vectorize(lambda x: float(x), otypes=[float])(a) if a.size else a
            point[name] = float(value) if value.ndim == 0 else value
        sizes = {str(k): v for k, v in self.dims.items()}
        raise _Found(Counterexample(
            point=point, sizes=sizes,
            entry=layout_index(entry, self.p, self.out_shape, self.wrt_shape)
            if len(entry) == len(self.out_shape) + len(self.wrt_shape) else entry,
            claimed=None if _real(claimed) is None else claimed, true=true, where=where))

    # -- lines --------------------------------------------------------------------------------

    def _kink_plan(self, node):
        if node not in self.kink_plans:
            self.kink_plans[node] = Plan(list(node.operands), self.dims)
        return self.kink_plans[node]

    def _kink_value(self, node, vals):
        plan = self._kink_plan(node)
        memo = plan.run(vals, truth=True)
        return _kink_arg(node, [memo[a] for a in node.operands])

    def _grid(self, point, direction):
        ts = np.linspace(-1.0, 1.0, GRID)
        zs, sigs = [], []
        for t in ts:
            vals = self._values(_on_line(point, direction, t))
            kz: dict = {}
            fv = self.plan_f.run(vals, truth=True, kinkvals=kz)[self.p.f]
            self.plan_c.run(vals, kinkvals=kz)
            zs.append(kz)
            sigs.append(tuple(np.isfinite(np.asarray(fv)).ravel()))
        return ts, zs, sigs

    def _crossing(self, node, e, point, direction, ta, tb, za, zb):
        """Secant steps (Illinois) for the t where entry e of node's kink argument is 0."""
        def z(t):
            v = self._kink_value(node, self._values(_on_line(point, direction, t)))
            return float(np.asarray(v).ravel()[e])
        side = 0
        for _ in range(60):
            t = tb - zb * (tb - ta) / (zb - za) if zb != za else (ta + tb) / 2
            if not (min(ta, tb) < t < max(ta, tb)):
                t = (ta + tb) / 2
            zt = z(t)
            if not math.isfinite(zt):
                return None
            if zt == 0 or abs(tb - ta) < 1e-15:
                break
            if (zt > 0) == (zb > 0):
                tb, zb = t, zt
                if side == -1:
                    za /= 2
                side = -1
            else:
                ta, za = t, zt
                if side == 1:
                    zb /= 2
                side = 1
        return t, abs(zt)

    def _line_points(self, point, direction):
        """(t, kink) to test along the line: the midpoint of every interval between
        consecutive crossings (within the stretches where the expression is defined) and each
        crossing (kink = (node, entry))."""
        ts, zs, sigs = self._grid(point, direction)
        crossings = []
        for node in self.kink_nodes:
            for i in range(len(ts) - 1):
                a, b = zs[i].get(node), zs[i + 1].get(node)
                if a is None or b is None:
                    continue
                a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
                for e in range(a.size):
                    if not (math.isfinite(a[e]) and math.isfinite(b[e])):
                        continue
                    if a[e] == 0:
                        c = np.asarray(zs[i - 1].get(node, b), dtype=float).ravel()[e] \
                            if i else b[e]
                        mag = max(abs(b[e]), abs(c)) if math.isfinite(c) else abs(b[e])
                        crossings.append((ts[i], node, e, mag))
                    elif (a[e] > 0) != (b[e] > 0) and b[e] != 0:
                        found = self._crossing(node, e, point, direction, ts[i], ts[i + 1],
                                               a[e], b[e])
                        if found is None:
                            continue
                        t, residual = found
                        mag = max(abs(a[e]), abs(b[e]))
                        # a sign change through infinity (an entry of V⁻¹ where V is
                        # singular) is no kink: it only divides the line
                        crossings.append((t, node if residual <= 1e-6 * mag else None, e,
                                          mag))
        # stretches of the grid where the expression's definedness does not change
        runs, start = [], 0
        for i in range(1, len(ts) + 1):
            if i == len(ts) or sigs[i] != sigs[start]:
                if any(sigs[start]):
                    runs.append((ts[start], ts[i - 1]))
                start = i
        out = []
        crossings.sort(key=lambda c: c[0])
        self.crossed = {c[1] for c in crossings}
        for lo, hi in runs:
            inside = [c for c in crossings if lo <= c[0] <= hi]
            cuts = [lo] + [c[0] for c in inside] + [hi]
            for a, b in itertools.pairwise(cuts):
                if b - a > 1e-9:
                    out.append(((a + b) / 2, None))
            if lo == hi and not inside:
                out.append((lo, None))
            last = None
            for c in inside:
                if c[1] is None:
                    continue
                if last is None or c[0] - last > 1e-12:
                    out.append((c[0], (c[1], c[2], c[3])))
                    last = c[0]
        if len(out) > MAX_POINTS_PER_LINE:
            step = len(out) / MAX_POINTS_PER_LINE
            out = [out[int(i * step)] for i in range(MAX_POINTS_PER_LINE)]
        return out

    def _where(self, kink) -> str:
        if kink is None:
            return ""
        node, e = kink[0], kink[1]
        arg = node.operands[0] if node.op not in ("max", "min") else \
            E.sub(node.operands[0], node.operands[1])
        entry = f" (entry {e + 1})" if int(np.prod(self.plan_f.shape.get(
            node, self.plan_c.shape.get(node, ())), dtype=int)) > 1 else ""
        convention = {"relu": "relu′(0) = 0", "step": "step(0) = 0", "abs": "abs′(0) = 0",
                      "leaky_relu": "leaky_relu′(0) = a, the slope below 0",
                      "elu": "elu′(0) = a, the slope below 0",
                      "sign": "sign(0) = 0", "norm": "sign(0) = 0",
                      "max": "a tie of max(a, b) goes to a",
                      "min": "a tie of min(a, b) goes to a"}[node.op]
        return (f"at the kink {render_text(arg)} = 0{entry}, where matcalc's convention is "
                f"{convention}")

    # -- the whole check ----------------------------------------------------------------------

    def run(self) -> Verdict:
        p = self.p
        sets = size_sets(self._symbols())
        progress = self.progress
        if progress is not None:
            progress.grow(len(sets) * len(LINES))
        try:
            for k, dims in enumerate(sets):
                self._setup(dims)
                try:
                    self._check_sizes(k)
                except _SkipSizes:
                    continue
        except _Found as found:
            return Verdict(False, p.subject, "", self.points, self.precise, self.kinks,
                           [{str(a): b for a, b in s.items()} for s in sets],
                           counterexample=found.counterexample)
        verdict = Verdict(True, p.subject, "", self.points, self.precise, self.kinks,
                          [{str(a): b for a, b in s.items()} for s in sets])
        if self.abandoned:
            verdict.notes.append(f"{self.abandoned} of the lines tested ran where double "
                                 f"precision gives out (values near 1e±300, or sin of 1e20); "
                                 f"the rest of each was left to the other lines")
        if self.undecided:
            verdict.equal = False
            verdict.unverified = (f"the double-precision screen saw differences at more than "
                                  f"{_MAX_CONFIRMATIONS} points, and the precise check found "
                                  f"none of them real, so this is undecided")
        elif not self.compared_entries or not self.precise:
            verdict.equal = False
            inverts = any(isinstance(n, Call) and n.op in ("inv", "det", "logdet")
                          for n in E.topological(p.f))
            verdict.unverified = (
                "no point was found where the expression is real and differentiable" +
                (" (a matrix it inverts or takes the determinant of may be singular at every "
                 "size tried)" if inverts else ""))
        return verdict

    def _check_sizes(self, k):
        self.precise_lines: set = set()
        self.kinks_done: set = set()
        self.spare: list = []
        crossed: set = set()
        for li, (scale, positive, near_identity) in enumerate(LINES):
            point, direction = _line(self.p, self.var_shapes, self.rng, scale, positive,
                                     near_identity)
            if self.kink_nodes:
                todo = self._line_points(point, direction)
                crossed |= self.crossed
            else:
                f0 = self.plan_f.run(self._values(point), truth=True)[self.p.f]
                todo = [(0.0, None)] if np.all(np.isfinite(f0)) else \
                    self._line_points(point, direction)
            self._test(k, li, point, direction, todo)
            if self.progress is not None:
                self.progress.advance()
        # no precise comparison yet at these sizes (the expression not real there in exact
        # arithmetic): try the other points the screen compared
        for at in self.spare[:8] if k < 2 and not self.precise_lines else ():
            if self._precise_random(at) == _EQUAL:
                self.precise_lines.add(None)
                break
        # kinks no line reached: longer lines, until one crosses them
        for node in self.kink_nodes:
            if node in crossed:
                continue
            for span in (10.0, 100.0, 1000.0):
                point, direction = _line(self.p, self.var_shapes, self.rng, 6.0, False, False,
                                         span)
                todo = self._line_points(point, direction)
                if node in self.crossed:
                    crossed |= self.crossed
                    self._test(k, None, point, direction, todo)
                    break

    def _test(self, k, li, point, direction, todo):
        self.line_alarms = 0
        for t, kink in todo:
            if self.line_alarms >= _MAX_LINE_ALARMS:
                self.abandoned += 1     # double precision has run out along this line: the
                break                   # rest of it is left to the other lines
            at = _on_line(point, direction, t)
            self.mag = None if kink is None else kink[2]
            if not self._screen(at, self._where(kink)):
                continue
            # precise: a plain point on each of two lines of the first two size sets, where
            # the derivative is not 0 (a wrong factor shows there), and the first crossing of
            # each kink node (up to four) in those size sets
            if kink is None and k < 2:
                self.spare.insert(0, at) if self.nonzero else self.spare.append(at)
                if self.nonzero and li is not None and len(self.precise_lines) < 2 and \
                        li not in self.precise_lines and self._precise_random(at) == _EQUAL:
                    self.precise_lines.add(li)
            elif kink is not None and k < 2 and kink[0] not in self.kinks_done and \
                    len(self.kinks_done) < 4:
                self.kinks_done.add(kink[0])
                self._precise_kink(point, direction, t, kink)

    def _precise_random(self, point):
        V = self.rng.integers(1, 8, size=self.wrt_shape) * self.rng.choice([-1, 1],
                                                                             size=self.wrt_shape)
        V = np.vectorize(lambda x: sympy.Integer(int(x)), otypes=[object])(V) \
            if self.wrt_shape else np.array(sympy.Integer(int(V)), dtype=object)
        exact = self._exact_values(point)
        self.mag = None
        bad = self._precise_at(exact, V, "")
        if isinstance(bad, tuple):
            self._report(exact, bad, "", None)
        return bad

    def _precise_kink(self, point, direction, t, kink):
        """Refine the crossing (Newton steps along the line, the argument's slope from SymPy;
        an argument affine along the line lands exactly on its rational root in one step, any
        other to 60 digits), then compare there."""
        node, e, self.mag = kink
        P = self._exact_values(_on_line(point, direction, t))
        Dir = self._exact_values(direction, constrain=False)
        for name in self.p.sizes_as_values:
            Dir[name] = np.array(sympy.Integer(0), dtype=object)
        plan = self._kink_plan(node)
        tau = self._tau(True)
        small = sympy.Float(10) ** (-_DIGITS.get() + 10) * self.mag
        for _ in range(30):
            moved = {k: np.asarray(P[k], dtype=object) + _S * np.asarray(Dir[k], dtype=object)
                     for k in P}
            memo = plan.run(moved, exact=True, truth=True, tau=tau)
            z = np.asarray(_kink_arg(node, [memo[a] for a in node.operands]),
                           dtype=object).ravel()
            if e >= z.size:
                return
            a0, a1 = _taylor(as_sympy(z[e]))
            if a0 is sympy.nan or a1 is sympy.nan:
                return
            if a0 == 0 or abs(a0) < small:
                break
            if a1 == 0:
                return
            step = _tidy_one(-a0 / a1)
            P = {k: _tidy(np.asarray(P[k], dtype=object) + step * np.asarray(Dir[k],
                                                                             dtype=object))
                 for k in P}
        else:
            return
        V = self.rng.integers(1, 8, size=self.wrt_shape) * self.rng.choice([-1, 1],
                                                                             size=self.wrt_shape)
        V = np.vectorize(lambda x: sympy.Integer(int(x)), otypes=[object])(V) \
            if self.wrt_shape else np.array(sympy.Integer(int(V)), dtype=object)
        where = self._where(kink)
        bad = self._precise_at(P, V, where)
        if isinstance(bad, tuple):
            self._report(P, bad, where, None)


def _is_exact(point) -> bool:
    for v in point.values():
        a = np.asarray(v)
        return a.dtype == object
    return False


def _float_safe(v) -> bool:
    """No finite entry of ``v`` is so large (beyond 10³⁰⁰) or so small (subnormal, a few
    bits left) that double-precision differences of it mean nothing."""
    if not isinstance(v, np.ndarray) or v.dtype != float or not v.size:
        return True
    a = np.abs(v[np.isfinite(v)])
    return not (np.any(a > 1e300) or np.any((a > 0) & (a < 1e-300)))


def _contract(C, V, k):
    C = np.asarray(C, dtype=object)
    V = np.asarray(V, dtype=object)
    if k == 0:
        return C * V.item()
    out_shape = C.shape[:C.ndim - k]
    flat = C.reshape(int(np.prod(out_shape, dtype=int)), -1)
    res = np.empty(flat.shape[0], dtype=object)
    v = V.ravel()
    for i in range(flat.shape[0]):
        total = sympy.Integer(0)
        for a, b in zip(flat[i], v):
            if b != 0:
                total += as_sympy(a) * b
        res[i] = total
    return res.reshape(out_shape)


def _same(truth, claimed, scale) -> bool:
    if claimed is sympy.nan or _real(claimed) is None:
        return False
    if truth == claimed:
        return True          # exact (a kink snapped within 10⁻⁴⁰ may leave a tiny difference)
    digits = _DIGITS.get()
    diff = abs(sympy.Float(truth, digits) - sympy.Float(claimed, digits))
    bound = PRECISE_RTOL * max(abs(truth), abs(claimed)) + PRECISE_ATOL * scale
    return bool(diff <= bound)


def check(problem: Problem, progress=None, seed: int = 0) -> Verdict:
    """Compare ``problem.candidate`` with the true derivative (see the module docstring)."""
    return Checker(problem, progress, seed).run()


__all__ = ["SIZE_LIMIT", "Counterexample", "Plan", "Problem", "Verdict", "candidate_tensor",
           "check", "layout_index", "size_sets"]
