"""Printers: text (Unicode, as a textbook writes it), LaTeX and JSON.

One walk over the IR serves both text and LaTeX; a ``Style`` supplies the spellings.  Names
come from the rule table (``text``/``latex``), so a new function prints without a change here.
Piecewise results with one scalar condition print as cases (paper §8):
``0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0``.
"""

from __future__ import annotations

import re

import sympy

from . import expr as E
from .expr import Call, Const, Expr, Identity, Var
from .errors import MatcalcError
from .infer import infer
from .parse import parse_syntax
from .rules import ADD, ATOM, MUL, NEG, POST, POW, RULES, SIZED
from .shapes import Shape, as_sympy, dim_str
from .simplify import rebuild, simplify

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
          "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "rho": "ρ",
          "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
          "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ",
          "Psi": "Ψ", "Omega": "Ω"}



_BARE = re.compile(r"[0-9]+(\.[0-9]+)?|[^\W\d]\w*")    # an exponent needing no parentheses


class Style:
    """How the text printer spells things; ``LatexStyle`` overrides each."""

    minus = "−"
    ones = "𝟙"
    zero = "0"          # a zero vector or matrix
    identity = "I"
    transpose_mark = "ᵀ"
    hadamard = " ⊙ "
    hdivide = " ⊘ "
    kron = " ⊗ "
    dot = "·"
    le, gt, ge, lt = "≤", ">", "≥", "<"

    def name(self, v: Var) -> str:
        """Greek names print as letters: lambda → λ, alpha_1 → α_1."""
        base, sep, sub = v.name.partition("_")
        return _GREEK.get(base, base) + sep + sub

    def number(self, value: sympy.Expr) -> str:
        if value.is_Integer:
            return str(abs(int(value)))
        if value.is_Rational:
            return f"{abs(value.p)}/{value.q}"
        if value.free_symbols:          # made of dimensions: 1/N, 1/(m n), k²
            return _dims_text(-value if value.could_extract_minus_sign() else value)
        if value.is_Float:
            return str(abs(value))
        return _irrational(abs(value))

    def func(self, name: str, latex: str, args: list[str]) -> str:
        return f"{name}({', '.join(args)})"

    def paren(self, s: str) -> str:
        return f"({s})"

    def keyword(self, name: str, value) -> str:
        return f"{name}={value}"

    def power(self, base: str, exp_value, exp_text: str) -> str:
        if isinstance(exp_value, sympy.Expr) and exp_value.is_Integer and exp_value > 0:
            return base + str(int(exp_value)).translate(_SUPERSCRIPT)
        return f"{base}^{exp_text}" if _BARE.fullmatch(exp_text) else f"{base}^({exp_text})"

    def hadamard_power(self, base: str, exp_text: str) -> str:
        """X^∘2: the element-wise power of a matrix (never X², a matrix power)."""
        return f"{base}^∘{exp_text}" if _BARE.fullmatch(exp_text) else f"{base}^∘({exp_text})"

    def fraction(self, num: str, den: str) -> str:
        return f"{num}/{den}"

    def juxtapose(self, parts: list[str]) -> str:
        out = parts[0]
        for p in parts[1:]:
            # 2x, but 1/2 x: written 1/2x it reads as 1/(2x)
            glue = "" if (re.fullmatch(r"[0-9]+", out) and p[:1].isalpha() and
                          len(p) == 1 or (out.isdigit() and p[:1] in "(")) else " "
            if re.fullmatch(r"[0-9]+", out) and (p[:1].isalpha() or p[:1] in "(𝟙√"):
                glue = ""
            if p[:1] == "‖":
                glue = " "      # 3 ‖x‖: a bar right after an operand would close a norm
            out += glue + p
        return out

    def matprod(self, parts: list[str]) -> str:
        return " ".join(parts)

    def vector(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def matrix(self, rows: list[list[str]]) -> str:
        return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"

    def cases(self, branches: list[tuple[str, str]]) -> str:
        return "; ".join(f"{v} if {c}" for v, c in branches)

    def vec(self, inner: str) -> str:
        return f"vec({inner})"

    def sized(self, text: str, latex: str, items) -> str:
        """A constant with its size: Iₙ, 𝟙ₘ, Iₖₘ (of size k m, one letter a dimension);
        eye(q), ones(q) where a letter has no subscript form."""
        factors = [f for i in items for f in _dim_factors(i)]
        sub = "".join(factors)
        if set(sub) <= _SUB_OK and all(len(f) == 1 for f in factors):
            return text + sub.translate(_SUB_LETTERS)
        return f"{SIZED[text]}({' '.join(factors)})"

    def subscripted(self, text: str, latex: str, items) -> str:
        """A symbol with subscripts: 𝕂ₘₙ, 𝔻ₙ, 𝕖₁; 𝕂_(n1,q) where a letter has no subscript."""
        subs = [str(i) if isinstance(i, int) else dim_str(i) for i in items]
        sub = "".join(subs) if all(len(x) == 1 for x in subs) else ",".join(subs)
        if set(sub) <= _SUB_OK:
            return text + sub.translate(_SUB_LETTERS)
        return text + (f"_({','.join(subs)})" if len(subs) > 1 else f"_{sub}")

    def placeholder(self, v: Var) -> str:
        base, _, sub = v.name.partition("_")
        return base + sub.translate(_SUB)

    def where(self, body: str, defs: list[tuple[str, str]]) -> str:
        return body + " where " + ", ".join(f"{n} = {d}" for n, d in defs)


def _outer(column: str, row: str) -> str:
    """𝟙ₘ𝟙ₙᵀ side by side; with a space where a size has no subscript: ones(q) ones(p)ᵀ."""
    return column + row if "(" not in column + row else f"{column} {row}"


def _dim_factors(d) -> list[str]:
    """A size as its factors, each dimension as often as its power: k²m → [k, k, m]."""
    d = as_sympy(d)
    if d.is_Integer:
        return [str(int(d))]
    out = []
    for base, power in sorted(d.as_powers_dict().items(), key=lambda kv: str(kv[0])):
        if base.is_Integer:
            out += [str(int(base ** power))]
        else:
            out += [str(base)] * int(power)
    return out


def _dims_text(v: sympy.Expr) -> str:
    """A number made of dimensions, as the language reads it: 1/N, 2/(m n), k²."""
    def part(x) -> str:
        factors = []
        for base, power in x.as_powers_dict().items():
            if base == 1:
                continue
            text = str(base) if base.is_Symbol else str(int(base)) if base.is_Integer else \
                f"({terms(base)})"                          # m (n + 1)
            factors.append(text + (str(int(power)).translate(_SUPERSCRIPT) if power != 1
                                   else ""))
        return " ".join(factors) or "1"

    def terms(x) -> str:                                    # n + 1, n − 1
        out = ""
        for t in sorted(sympy.Add.make_args(x), key=lambda t: (t.is_number, str(t))):
            neg = t.could_extract_minus_sign()
            text = part(-t if neg else t)
            out += (" − " if neg else " + ") + text if out else ("−" if neg else "") + text
        return out
    num, den = sympy.fraction(sympy.factor_terms(v))
    if den == 1:
        return part(num)
    bottom = part(den)
    return f"{part(num)}/" + (bottom if " " not in bottom else f"({bottom})")


def _irrational(v: sympy.Expr) -> str:
    """A positive exact number such as 2/√π or √2/(2√π) in Unicode: π, √, integers."""
    def part(x) -> str:
        out = []
        for f in sympy.Mul.make_args(x):
            if f.is_Integer:
                out.append(str(f))
            elif f == sympy.pi:
                out.append("π")
            elif f.is_Pow and f.exp == sympy.Rational(1, 2):
                inner = part(f.base)
                out.append("√" + (inner if len(sympy.Mul.make_args(f.base)) == 1
                                  else f"({inner})"))
            else:
                out.append(str(f))
        return "".join(out)

    num, den = sympy.fraction(v)
    if den == 1:
        return part(num)
    bottom = part(den)
    return f"{part(num)}/" + (bottom if len(sympy.Mul.make_args(den)) == 1 else f"({bottom})")


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUB_OK = set("0123456789aehijklmnoprstuvx,")
_SUB_LETTERS = str.maketrans("0123456789aehijklmnoprstuvx,", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,")


class LatexStyle(Style):
    minus = "-"
    ones = r"\mathbf{1}"
    zero = r"\mathbf{0}"
    identity = "I"
    transpose_mark = r"^{\top}"
    hadamard = r" \odot "
    hdivide = r" \oslash "
    kron = r" \otimes "
    dot = r" \cdot "
    le, gt, ge, lt = r"\le", ">", r"\ge", "<"

    def name(self, v: Var) -> str:
        base, _, sub = v.name.partition("_")
        m = re.fullmatch(r"([A-Za-z]+?)([0-9]+)", base) if not sub else None
        if m and m.group(1) not in _GREEK:
            base, sub = m.group(1), m.group(2)
        text = "\\" + base if base in _GREEK else base
        if not v.shape.is_scalar and base not in _GREEK:
            text = rf"\mathbf{{{text}}}"
        elif len(base) > 1 and base not in _GREEK:
            text = rf"\mathit{{{text}}}"
        return text + (f"_{{{sub}}}" if sub else "")

    def number(self, value: sympy.Expr) -> str:
        if value.is_Rational and not value.is_Integer:
            return rf"\frac{{{abs(value.p)}}}{{{value.q}}}"
        if value.free_symbols or not (value.is_Rational or value.is_Float):
            if value.free_symbols:      # the magnitude: the caller writes the sign
                v = sympy.factor_terms(-value if value.could_extract_minus_sign() else value)
                text = sympy.latex(v)   # m \left(n + 1\right); a sum is bracketed whole
                return rf"\left({text}\right)" if v.is_Add else text
            return sympy.latex(abs(value))
        return super().number(value)

    def func(self, name: str, latex: str, args: list[str]) -> str:
        if latex == r"\sqrt":
            return rf"\sqrt{{{args[0]}}}"
        return rf"{latex}\left({', '.join(args)}\right)"

    def paren(self, s: str) -> str:
        return rf"\left({s}\right)"

    def keyword(self, name: str, value) -> str:
        return rf"\mathrm{{{name}}}={value}"

    def power(self, base: str, exp_value, exp_text: str) -> str:
        return f"{base}^{{{exp_text}}}"

    def hadamard_power(self, base: str, exp_text: str) -> str:
        return rf"{base}^{{\circ {exp_text}}}"

    def fraction(self, num: str, den: str) -> str:
        return rf"\frac{{{num}}}{{{den}}}"

    def juxtapose(self, parts: list[str]) -> str:
        return " ".join(parts)

    def vector(self, items: list[str]) -> str:
        return r"\begin{bmatrix}" + r" \\ ".join(items) + r"\end{bmatrix}"

    def row(self, items: list[str]) -> str:
        return r"\begin{bmatrix}" + " & ".join(items) + r"\end{bmatrix}"

    def matrix(self, rows: list[list[str]]) -> str:
        return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{bmatrix}"

    def cases(self, branches: list[tuple[str, str]]) -> str:
        body = r" \\ ".join(f"{v} & \\text{{if }} {c}" for v, c in branches)
        return r"\begin{cases}" + body + r"\end{cases}"

    def vec(self, inner: str) -> str:
        return rf"\operatorname{{vec}}\left({inner}\right)"

    def subscripted(self, text: str, latex: str, items) -> str:
        return rf"{latex}_{{{', '.join(sympy.latex(i) for i in items)}}}"

    def sized(self, text: str, latex: str, items) -> str:
        return self.subscripted(text, latex, items)

    def placeholder(self, v: Var) -> str:
        return self.name(v)

    def where(self, body: str, defs: list[tuple[str, str]]) -> str:
        return body + r" \quad \text{where } " + r",\ ".join(f"{n} = {d}" for n, d in defs)


TEXT, LATEX = Style(), LatexStyle()


# ---------------------------------------------------------------------------------------------


def _coeff(e: Expr):
    """(numeric coefficient, rest) of a product; (1, e) otherwise."""
    if _fixity(e) == "factors" and isinstance(e.operands[0], Const) and \
            e.operands[0].shape.is_scalar:
        rest = e.operands[1:]
        return e.operands[0].value, (rest[0] if len(rest) == 1 else E.call(e.op, rest, e.shape))
    if isinstance(e, Const):
        return e.value, None
    return sympy.Integer(1), e


def _uncoefficient_product(f: Expr) -> bool:
    """A scalar product without a numeric coefficient: as a factor it needs no brackets."""
    return _fixity(f) == "factors" and f.shape.is_scalar and not isinstance(f.operands[0], Const)


def _factor_order(f: Expr) -> int:
    """Indicators first (step(z), sign(x): ``Rule.indicator``), then variables and their
    powers, then the rest: step(z) ⊙ (z − y), x ⊙ exp(x)."""
    if isinstance(f, Call) and RULES[f.op].indicator:
        return 0
    if isinstance(f, Var) or (_fixity(f) == "power" and isinstance(f.operands[0], Var)):
        return 1
    return 2


def _negative(t: Expr) -> bool:
    c, _ = _coeff(t)
    return c.could_extract_minus_sign() if isinstance(c, sympy.Expr) else c < 0


class Printer:
    """Prints an expression bottom-up over its DAG (each node once, no recursion, so depth is
    not limited by Python's stack).  ``names`` maps placeholder variables of named
    subexpressions to their printed names (``u₁``, ``s``)."""

    def __init__(self, style: Style, names: dict | None = None, sized: bool = False):
        self.s = style
        self.names = names or {}
        self.sized = sized          # I and 𝟙 with their sizes: Iₙ, 𝟙ₙ (see ``needs_sizes``)
        self.memo: dict[Expr, tuple[str, int]] = {}

    def __call__(self, e: Expr) -> str:
        return self.p(e)[0]

    def wrap(self, e: Expr, prec: int) -> str:
        text, p = self.p(e)
        return self.s.paren(text) if p < prec else text

    def p(self, e: Expr) -> tuple[str, int]:
        done = self.memo.get(e)
        if done is not None:
            return done
        for n in E.topological(e):
            if n not in self.memo:
                self.memo[n] = self._node(n)
        return self.memo[e]

    def _node(self, e: Expr) -> tuple[str, int]:
        s = self.s
        if isinstance(e, Var):
            return self.names.get(e) or s.name(e), ATOM
        if isinstance(e, Identity):
            return (s.sized("I", "I", [e.shape.rows]) if self.sized else s.identity), ATOM
        if isinstance(e, Const):
            return self.const(e)
        rule = RULES[e.op]
        return getattr(self, "form_" + rule.fixity)(e, rule)

    def spelling(self, rule) -> str:
        return rule.latex if isinstance(self.s, LatexStyle) else rule.text

    def const(self, e: Const):
        s = self.s
        v = e.value
        neg = v.could_extract_minus_sign() if isinstance(v, sympy.Expr) else v < 0
        if e.shape.is_scalar:
            text = s.number(v)
            atom = v.is_Integer or v.is_Symbol or isinstance(v, sympy.NumberSymbol)
            return (s.minus + text, NEG) if neg else (text, ATOM if atom else MUL)
        if v == 0:
            if self.sized:          # 0ₙ, 0ₙᵀ, 0ₘ0ₙᵀ
                z = lambda n: s.sized(s.zero, s.zero, [n])      # noqa: E731
                if e.shape.is_row:
                    return z(e.shape.cols) + s.transpose_mark, ATOM
                if e.shape.is_matrix:
                    return _outer(z(e.shape.rows), z(e.shape.cols)) + s.transpose_mark, ATOM
                return z(e.shape.rows), ATOM
            return s.zero + (s.transpose_mark if e.shape.is_row else ""), ATOM
        base = self.ones(e.shape.cols if e.shape.is_row else e.shape.rows) + (
            s.transpose_mark if e.shape.is_row else "")
        if e.shape.is_matrix and not e.shape.is_row:     # a matrix of ones: 𝟙𝟙ᵀ
            base = _outer(self.ones(e.shape.rows), self.ones(e.shape.cols)) + s.transpose_mark
        if v == 1:
            return base, ATOM
        text = s.juxtapose([s.number(-v if neg else v), base])
        return (s.minus + text, NEG) if neg else (text, MUL)

    def ones(self, n) -> str:
        return self.s.sized(self.s.ones, self.s.ones, [n]) if self.sized else self.s.ones

    # -- the forms an operation prints in (``Rule.fixity``) ---------------------------------

    def form_func(self, e, rule):
        """name(a, b): the operation's ``text``, or ``latex`` with \\left( \\right)."""
        operands = list(e.operands)
        while len(operands) > 1 and len(rule.defaults) >= len(operands) and \
                isinstance(operands[-1], Const) and \
                operands[-1].value == rule.defaults[len(operands) - 1]:
            operands.pop()              # a default a call may leave out: elu(x), not elu(x, 1)
        args = [self.s.vec(self.p(a)[0]) if rule.vec_args and a.shape.is_matrix
                else self.p(a)[0] for a in operands]
        if rule.axis_param is not None and len(e.params) > rule.axis_param:
            args.append(self.s.keyword("axis", e.params[rule.axis_param]))
        return self.s.func(rule.text, rule.latex, args), ATOM

    def form_func_T(self, e, rule):
        """name(a)ᵀ: vec(G)ᵀ, the row of a matrix's entries."""
        return self.form_func(e, rule)[0] + self.s.transpose_mark, POST

    def form_terms(self, e, rule):
        """A sum, signs folded in: 1 − y rather than 1 + (−1) y, the positive term first."""
        s = self.s
        parts = []
        terms = list(e.operands)
        if _negative(terms[0]):  # 1 − y rather than −y + 1
            first = next((t for t in terms if not _negative(t)), None)
            if first is not None:
                terms.remove(first)
                terms.insert(0, first)
        identity = any(isinstance(t, Identity) or any(isinstance(f, Identity) for f in t.args)
                       for t in terms)
        # a constant column may print as a number only where another term carries the shape
        # (x + 1); beside scalars alone it keeps its 𝟙 (3 𝟙 − s, not 3 − s, a scalar)
        expand = identity or not any(not isinstance(t, Const) and not t.shape.is_scalar
                                     for t in terms)
        for i, t in enumerate(terms):
            c, rest = _coeff(t)
            negative = c.could_extract_minus_sign() if isinstance(c, sympy.Expr) else c < 0
            if negative and i > 0:
                pos = E.mul(E.const(-c), rest) if rest is not None else Const(t.shape, value=-c)
                parts.append(f" {s.minus} " + (self._term(pos, expand) if isinstance(pos, Const)
                                               else self.wrap(pos, ADD + 1)))
            else:
                parts.append((" + " if i else "") + self._term(t, expand))
        return "".join(parts), rule.prec

    def _term(self, t: Expr, written_out: bool = False) -> str:
        """A constant in a sum is scalar expansion: x + 1, not x + 𝟙; ``written_out`` where
        that would misread: beside I a matrix of constants, I − 1/n 𝟙𝟙ᵀ (I − 1/n would read as
        a scaled I), and beside scalars alone a column, 3 𝟙 − s."""
        if isinstance(t, Const) and not t.shape.is_scalar and not written_out:
            return self.s.number(t.value)
        return self.wrap(t, ADD)

    def form_factors(self, e, rule):
        """An element-wise product: the numeric coefficient first, then scalar factors by
        juxtaposition, then the others joined by ⊙ (indicators first: step(z) ⊙ (z − y))."""
        s = self.s
        c, _ = _coeff(e)
        factors = list(e.operands[1:] if isinstance(e.operands[0], Const) and
                       e.operands[0].shape.is_scalar else e.operands)
        scalars = [f for f in factors if f.shape.is_scalar]
        others = [f for f in factors if not f.shape.is_scalar]
        negative = c.could_extract_minus_sign()
        mag = -c if negative else c
        parts = [s.number(mag)] if mag != 1 else []
        lone = mag == 1 and len(scalars) == 1 and not others
        # a product kept as one factor of a long product (past FLATTEN_LIMIT) prints without
        # parentheses, as the product of scalars is associative: u₂₀₀ (1 − u₂₀₀) u₁₉₉ …
        parts += [self.wrap(f, MUL if lone or _uncoefficient_product(f) else MUL + 1)
                  for f in scalars]
        others.sort(key=_factor_order)
        if others:
            # a lone factor after a sign, or a matrix product after a scalar, needs no
            # parentheses: −w ⊘ x², 2/N aᵀ X
            prec = MUL if (len(others) == 1 and (not parts or (
                _fixity(others[0]) == "product_chain"))) else MUL + 1
            parts.append(s.hadamard.join(self.wrap(f, prec) for f in others))
        text = s.juxtapose(parts) if parts else "1"
        if negative:
            return s.minus + text, NEG
        return text, rule.prec

    def form_quotient(self, e, rule):
        """a/b (a fraction in LaTeX) by a scalar, a ⊘ b element-wise."""
        s = self.s
        a, b = e.operands
        if e.shape.is_scalar or b.shape.is_scalar:      # and division by a scalar: xᵀ/‖x‖
            if isinstance(s, LatexStyle):
                return s.fraction(self.p(a)[0], self.p(b)[0]), ATOM
            num, prec = self.p(a)
            if prec == NEG:         # −a/b, not (−a)/b: both read the same
                return f"{num}/{self.wrap(b, POW)}", NEG
            return f"{self.wrap(a, MUL)}/{self.wrap(b, POW)}", MUL
        return f"{self.wrap(a, MUL)}{s.hdivide}{self.wrap(b, MUL + 1)}", rule.prec

    def form_power(self, e, rule):
        """xⁿ; of a matrix the Hadamard power X^∘n, which cannot be read as a matrix power."""
        base, ex = e.operands
        ex_val = ex.value if isinstance(ex, Const) else None
        b = self.base(base, POW + 1)
        if base.shape.is_matrix:
            return self.s.hadamard_power(b, self.p(ex)[0]), rule.prec
        return self.s.power(b, ex_val, self.p(ex)[0]), rule.prec

    def base(self, a: Expr, prec: int = POST) -> str:
        """``a`` as the base of a superscript: in parentheses if it has a superscript of its
        own, so that nothing reads as a double superscript: (X⁻¹)⁻ᵀ, (xᵀ)²."""
        if _fixity(a) in ("transposed", "postfix", "func_T", "power"):
            return self.s.paren(self.p(a)[0])
        return self.wrap(a, prec)

    def form_product_chain(self, e, rule):
        """A matrix product: the factors side by side, A B x; a product kept as one factor of
        a long chain prints without parentheses (the product is associative)."""
        return self.s.matprod([self.wrap(f, MUL if _fixity(f) == "product_chain" else MUL + 1)
                               for f in e.operands]), rule.prec

    def form_infix(self, e, rule):
        """a op b, with the operation's symbol: w·x."""
        a, b = e.operands
        op = self.spelling(rule)
        return f"{self.wrap(a, rule.prec + 1)}{op}{self.wrap(b, rule.prec + 1)}", rule.prec

    def form_transposed(self, e, rule):
        """aᵀ; the transpose of an operation that has a transposed mark prints it: X⁻ᵀ."""
        a = e.operands[0]
        inner = RULES[a.op] if isinstance(a, Call) else None
        if inner is not None and inner.transposed[0]:
            mark = inner.transposed[1 if isinstance(self.s, LatexStyle) else 0]
            return self.base(a.operands[0]) + mark, POST
        return self.base(a) + self.s.transpose_mark, POST

    def form_postfix(self, e, rule):
        """a⁻¹; of a transpose, the operation's transposed mark: (Xᵀ)⁻¹ = X⁻ᵀ."""
        a = e.operands[0]
        if _fixity(a) == "transposed" and rule.transposed[0]:
            mark = rule.transposed[1 if isinstance(self.s, LatexStyle) else 0]
            return self.base(a.operands[0]) + mark, POST
        return self.base(a) + self.spelling(rule), POST

    def form_root(self, e, rule):
        """√a (\\sqrt{a})."""
        a = e.operands[0]
        if isinstance(self.s, LatexStyle):
            return rf"\sqrt{{{self.p(a)[0]}}}", ATOM
        return "√" + self.wrap(a, ATOM), POW

    def form_norm(self, e, rule):
        """‖x‖, ‖x‖₁."""
        a = e.operands[0]
        p = e.params[0] if e.params else 2
        if isinstance(self.s, LatexStyle):
            sub = "_{1}" if p == 1 else ""
            return rf"\left\lVert {self.p(a)[0]} \right\rVert{sub}", ATOM
        return f"‖{self.p(a)[0]}‖" + ("₁" if p == 1 else ""), ATOM

    def form_symbol(self, e, rule):
        """A named constant matrix with subscripts from its params: 𝕂ₘₙ, 𝔻ₙ, 𝕖₁."""
        return self.s.subscripted(rule.text, rule.latex, rule.subscript(e.params)), ATOM

    def form_index(self, e, rule):
        """gᵢ, the i-th entry of a vector, as the product 𝕖ᵢᵀ g with a unit vector."""
        unit = self.s.subscripted(rule.text, rule.latex, [e.params[0] + 1])
        return self.s.matprod([unit + self.s.transpose_mark,
                               self.wrap(e.operands[0], MUL + 1)]), MUL

    def form_transparent(self, e, rule):
        return self.p(e.operands[0])

    def form_column(self, e, rule):
        """A vector literal [f, g, h]."""
        return self.s.vector([self.p(a)[0] for a in e.operands]), ATOM

    def form_rows(self, e, rule):
        """A matrix of stacked rows: [[a, b], [c, d]] when each row is a literal, else the
        rows themselves, [gᵀ, 0ᵀ] (a Jacobian's rows, each a gradient)."""
        literal = [_fixity(r) == "columns" or (_fixity(r) == "transposed" and
                                               _fixity(r.operands[0]) == "column")
                   for r in e.operands]
        if any(literal) and all(l or _constant_row(r) for l, r in zip(literal, e.operands)):
            return self.s.matrix([self._row_items(r) for r in e.operands]), ATOM
        if isinstance(self.s, LatexStyle):
            return self.s.matrix([[self.p(r)[0]] for r in e.operands]), ATOM
        return self.s.vector([self.p(r)[0] for r in e.operands]), ATOM

    def form_columns(self, e, rule):
        """Columns side by side: a row of scalars, or a matrix."""
        cols = e.operands
        if all(c.shape.is_scalar for c in cols):
            items = [self.p(c)[0] for c in cols]
            return (self.s.row(items) if isinstance(self.s, LatexStyle)
                    else self.s.vector(items)), ATOM
        if all(_fixity(c) == "column" for c in cols):
            n = len(cols[0].operands)
            rows = [[self.p(c.operands[i])[0] for c in cols] for i in range(n)]
            return self.s.matrix(rows), ATOM
        return self.s.vector([self.p(c)[0] for c in cols]), ATOM

    def _row_items(self, r: Expr) -> list[str]:
        if _fixity(r) == "columns":
            return [self.p(c)[0] for c in r.operands]
        if _fixity(r) == "transposed" and _fixity(r.operands[0]) == "column":
            return [self.p(c)[0] for c in r.operands[0].operands]     # a literal row [a, b]ᵀ
        if _constant_row(r):                                          # 0ᵀ beside literal rows
            return [self.p(E.const(r.value))[0]] * int(r.shape.cols)
        return [self.p(r)[0]]


def _constant_row(r: Expr) -> bool:
    """A row of one constant, of a known width: it prints as its entries among literal rows
    ([[1, 0], [0, 0]], the derivative of [[a, b], [c, d]] by a)."""
    return isinstance(r, Const) and r.shape.is_row and getattr(r.shape.cols, "is_Integer", False)


def _fixity(e: Expr) -> str | None:
    """The printing form of ``e``'s operation (None for a leaf)."""
    return RULES[e.op].fixity if isinstance(e, Call) else None


def text(e: Expr, named: bool = True, frozen=frozenset(), scope=None) -> str:
    """``e`` as Unicode text; with ``named``, a large subexpression that would print several
    times prints once, as a named intermediate: ``diag(s) − s sᵀ where s = softmax(x)``.
    The text is an expression of the language that reads back as ``e`` given the shapes of
    its variables and of ``scope`` (the other variables in play): where the size of an I or 𝟙
    cannot be read from the rest, it is written, Iₙ, 𝟙ₙ."""
    return _print(e, TEXT, named, frozen, needs_sizes(e, named, frozen, scope))


def latex(e: Expr, named: bool = True, frozen=frozenset(), scope=None) -> str:
    """``e`` in LaTeX; ``frozen``: the user's subexpressions (as for ``simplify``)."""
    return _print(e, LATEX, named, frozen, needs_sizes(e, named, frozen, scope))


_SIZES: dict = {}


def needs_sizes(e: Expr, named: bool, frozen, scope) -> bool:
    """Whether ``e``'s text must write the sizes of its I and 𝟙: when reading the text back
    (with the shapes of the variables) would not give every one of them its size, as in
    kron(xᵀ, I) or a lone 𝟙ᵀ."""
    if not any(isinstance(n, Identity) or (isinstance(n, Const) and not n.shape.is_scalar)
               for n in E.topological(e)):
        return False
    variables = {**(scope or {}), **E.free_vars(e)}
    key = (e, named, tuple(sorted((n, v.shape) for n, v in variables.items())))
    if key in _SIZES:
        return _SIZES[key]
    plain = _print(e, TEXT, named, frozen, False)
    shapes = {n: v.shape for n, v in variables.items()}
    known = {s for sh in list(shapes.values()) + [e.shape] for d in sh.dims
             for s in as_sympy(d).free_symbols}
    try:
        back = infer(parse_syntax(plain), shapes, plain)
        read = {s for n in E.topological(back) for d in n.shape.dims
                for s in as_sympy(d).free_symbols}
        # a zero alone reads as the number 0, which broadcasts: its shape shows in the
        # result's shape, and its size need not be written
        same = back.shape == e.shape or (isinstance(e, Const) and e.value == 0)
        out = not same or not read <= known
    except MatcalcError:
        out = True
    if len(_SIZES) > 4096:
        _SIZES.clear()
    _SIZES[key] = out
    return out


def operand_text(e: Expr) -> str:
    """``e`` as the operand of ∂/∂x: parenthesised when it is a sum or a product, ∂/∂x (x + x²),
    ∂/∂x (x y) (not the derivative of the first factor); a subexpression that would print
    several times prints once, named, as in results (s₂ = s₁ + s₁, …, s₃₀ would otherwise
    print 2³⁰ times)."""
    return _operand(e, TEXT)


_OPERAND_TREE = 2000     # nodes, counted as a tree: an operand larger than this names pieces


def _tree_size(e: Expr, limit: int) -> int:
    """The number of nodes of ``e`` as a tree (a shared node counted at each use), up to
    ``limit``, in time linear in its DAG."""
    size: dict[Expr, int] = {}
    for n in E.topological(e):
        size[n] = min(limit, 1 + sum(size[a] for a in n.args))
    return size[e]


def operand_latex(e: Expr) -> str:
    return _operand(e, LATEX)


def _operand(e: Expr, style: Style) -> str:
    return printed(e, style, MUL + 1)


def printed(e: Expr, style: Style, prec: int | None = None) -> str:
    """``e`` as written, nothing named (parenthesised below precedence ``prec``), unless it
    would print more than ``_OPERAND_TREE`` nodes: then a piece that would print several
    times prints once, named, as in results."""
    if _tree_size(e, _OPERAND_TREE) < _OPERAND_TREE:
        printer = Printer(style)
        return printer(e) if prec is None else printer.wrap(e, prec)
    values, defs = name_shared([e], {v.name for v in E.free_vars(e).values()})
    names = {var: style.placeholder(var) for var, _ in defs}
    printer = Printer(style, names)
    body = printer(values[0]) if prec is None else printer.wrap(values[0], prec)
    return style.where(body, [(names[var], printer(d)) for var, d in defs]) if defs else body


def name_text(name: str) -> str:
    """A variable's name as results print it: lambda as λ, w_1 as w_1."""
    return TEXT.name(E.var(name, Shape(())))


def _print(e: Expr, style: Style, named: bool, frozen=frozenset(), sized=False) -> str:
    branches = split_cases(e, frozen)
    values = [v for v, _, _ in branches] if branches else [e]
    defs: list = []
    names: dict = {}
    if named:
        values, defs = name_shared(values, {v.name for v in E.free_vars(e).values()})
        names = {var: style.placeholder(var) for var, _ in defs}
    printer = Printer(style, names, sized)
    if branches:
        body = cases_text([(v, z, rel) for v, (_, z, rel) in zip(values, branches)],
                          printer, style)
    else:
        body = printer(values[0])
    if not defs:
        return body
    return style.where(body, [(names[var], printer(d)) for var, d in defs])


# ---------------------------------------------------------------------------------------------
# Naming repeated subexpressions (the paper's intermediate variables u, z, s)


def name_shared(roots: list[Expr], taken: set[str]) -> tuple[list[Expr], list]:
    """Replace each subexpression worth naming that would print more than once by a placeholder
    variable.  Returns the new roots and the definitions ``[(placeholder, definition)]``,
    innermost first; definitions refer to earlier placeholders.  Occurrences are counted in the
    printed tree (a named node prints once, in its definition), so the printed size is linear
    in the size of the DAG."""
    roots = _group_subsums(roots)
    order = E.topological_all(roots)
    occurrences: dict[Expr, int] = {}
    for r in roots:
        occurrences[r] = occurrences.get(r, 0) + 1
    chosen: list[Expr] = []
    for n in reversed(order):              # parents before children
        k = occurrences.get(n, 0)
        if k >= 2 and _worth_naming(n, k):
            chosen.append(n)
            k = 1
        for a in n.args:
            occurrences[a] = occurrences.get(a, 0) + k
    if not chosen:
        return roots, []
    chosen.reverse()                       # innermost first: u₁, u₂ number from the inside
    placeholder = dict(zip(chosen, _placeholders(chosen, taken)))
    rebuilt: dict[Expr, Expr] = {}
    defs = []
    for n in order:                        # one bottom-up pass: definitions use earlier names
        if isinstance(n, Call):
            args = tuple(rebuilt[a] for a in n.operands)
            m = n if args == n.operands else rebuild(n, args)
        else:
            m = n
        if n in placeholder:
            defs.append((placeholder[n], m))
            m = placeholder[n]
        rebuilt[n] = m
    return [rebuilt[r] for r in roots], defs      # in DAG order: each uses only earlier names


def _group_subsums(roots: list[Expr]) -> list[Expr]:
    """A sum whose terms include all the terms of another sum in the expression shows it as one
    term, (X w + b) − y, so that the shared sum can be named: step(z) ⊙ (z − y)."""
    adds = list(dict.fromkeys(n for n in E.topological_all(roots) if _fixity(n) == "terms"))
    if len(adds) < 2:
        return roots
    # a sum a can lie inside b only if b has a's rarest term: index the sums by it, so each b
    # looks at a few candidates, not at every sum (1 − u₁, 1 − u₂, … all share the 1)
    count: dict[Expr, int] = {}
    for a in adds:
        for t in set(a.operands):
            count[t] = count.get(t, 0) + 1
    by_rarest: dict[Expr, list[int]] = {}
    for i, a in enumerate(adds):
        by_rarest.setdefault(min(a.operands, key=count.__getitem__), []).append(i)
    mapping: dict[Expr, Expr] = {}
    for b in adds:                         # children first: inner groupings are done already
        terms = set(b.operands)
        candidates = sorted({i for t in terms for i in by_rarest.get(t, ())})
        inner = [adds[i] for i in candidates if adds[i] is not b and
                 len(adds[i].operands) < len(b.operands) and set(adds[i].operands) <= terms]
        if not inner:
            continue
        a = max(inner, key=lambda x: len(x.operands))
        shared = set(a.operands)
        rest = [t for t in b.operands if t not in shared]
        mapping[b] = E.call(b.op, [mapping.get(a, a), *rest], b.shape)
    return [_replace(r, mapping) for r in roots]


def _replace(e: Expr, mapping: dict) -> Expr:
    return E.substitute(e, mapping, rebuild) if mapping else e


def _worth_naming(n: Expr, uses: int) -> bool:
    """Large enough that printing it once saves reading: five or more nodes (constants not
    counted), or two or more when it would print three times or more (softmax(x) in
    diag(s) − s sᵀ)."""
    if not isinstance(n, Call) or RULES[n.op].view:
        return False
    size = _size_up_to(n, 5)
    return size >= 5 or (uses >= 3 and size >= 2)


def _size_up_to(n: Expr, limit: int) -> int:
    """The number of distinct non-constant nodes of ``n``, counted up to ``limit``."""
    seen: set[Expr] = set()
    stack = [n]
    while stack and len(seen) < limit:
        m = stack.pop()
        if m in seen or isinstance(m, Const):
            continue
        seen.add(m)
        stack.extend(m.args)
    return len(seen)


def _placeholders(nodes: list[Expr], taken: set[str]) -> list[Var]:
    """Names from the rule table's hint (``s`` for softmax, ``z`` for a sum, else ``u``),
    numbered when one letter names several: u₁, u₂."""
    hints = [RULES[n.op].name_hint if n.op in RULES else "u" for n in nodes]
    # a letter the user's own variable has is not used at all: next to a vector u, u₁ would
    # read as u's first entry
    spare = iter(c for c in "uvtrpqghk" if c not in taken and c not in hints)
    instead = {c: next(spare, c) for c in dict.fromkeys(hints) if c in taken}
    letters = [instead.get(c, c) for c in hints]
    count: dict[str, int] = {}
    for c in letters:
        count[c] = count.get(c, 0) + 1
    index: dict[str, int] = {}
    out = []
    for n, c in zip(nodes, letters):
        if count[c] == 1 and c not in taken:
            name = c
        else:
            i = index.get(c, 0)
            while True:
                i += 1
                name = f"{c}_{i}"
                if name not in taken:
                    break
            index[c] = i
        out.append(E.var(name, n.shape))
    return out


# ---------------------------------------------------------------------------------------------
# Piecewise: one scalar step condition prints as cases


def _sides(n: Expr):
    """(z, value where z ≤ 0, value where z > 0) for a scalar node that is piecewise in the
    sign of z (``Rule.sides``: step(z), max(0, z), relu(z)), or None."""
    if not isinstance(n, Call) or not n.shape.is_scalar or RULES[n.op].sides is None:
        return None
    return RULES[n.op].sides(n)


def scalar_conditions(e: Expr) -> list[Expr]:
    """The conditions z of scalar indicators (step(z)) in ``e``: the paper's piecewise cases."""
    out = []
    for n in E.topological(e):
        s = _sides(n)
        if s is not None and RULES[n.op].indicator and s[0] not in out:
            out.append(s[0])
    return out


def split_cases(e: Expr, frozen=frozenset()) -> list[tuple[Expr, Expr, str]] | None:
    """For one scalar condition z: [(value if z ≤ 0, z, "le"), (value if z > 0, z, "gt")].
    A condition −w ≤ 0 reads w ≥ 0: [(value if w < 0, w, "lt"), (value if w ≥ 0, w, "ge")],
    and there a continuous piece of w (max(w, 0), relu(w)) takes its value too (both of its
    sides agree at w = 0, an indicator's do not)."""
    conds = scalar_conditions(e)
    if len(conds) != 1:
        return None
    z = conds[0]
    w = E.negated(z)  # a tie rule makes the condition of max(x, 0)′ −x ≤ 0
    pieces = {n: s for n in E.topological(e) if (s := _sides(n)) is not None and s[0] == z}
    flipped = {} if w is None else {
        n: s for n in E.topological(e)
        if (s := _sides(n)) is not None and s[0] == w and not RULES[n.op].indicator}
    out = []
    for value, rel in ((0, "le"), (1, "gt")):
        # on each side of the kink, step(z) is a constant and max(0, z) is 0 or z
        mapping = {n: s[1 + value] for n, s in pieces.items()}
        # −w ≤ 0 is w ≥ 0, where max(w, 0) is w (its w > 0 side); −w > 0 is w < 0
        mapping.update({n: s[2 - value] for n, s in flipped.items()})
        branch = E.substitute(e, mapping, rebuild)
        if w is None:
            out.append((simplify(branch, frozen), z, rel))
        else:
            out.append((simplify(branch, frozen), w, "ge" if rel == "le" else "lt"))
    return out if w is None else out[::-1]      # the side below the kink first, as z ≤ 0 is


def cases_text(branches, printer: Printer, style: Style) -> str:
    items = []
    relations = {"le": style.le, "gt": style.gt, "ge": style.ge, "lt": style.lt}
    for value, z, rel in branches:
        items.append((printer(value), f"{printer(z)} {relations[rel]} 0"))
    return style.cases(items)


# ---------------------------------------------------------------------------------------------
# SymPy (matrix-expression) form of a result


def to_sympy(e: Expr) -> sympy.Basic:
    """``e`` as a SymPy expression: scalars as ``Symbol``s, vectors and matrices as
    ``MatrixSymbol``s, element-wise functions as ``applyfunc``, ``diag(v)`` as ``DiagMatrix``.
    Dimensions stay symbolic."""
    from_node: dict[Expr, sympy.Basic] = {}
    for n in E.topological(e):
        from_node[n] = _sympy_node(n, [from_node[a] for a in n.args])
    return from_node[e]


def _msize(shape: Shape):
    return shape.rows, shape.cols


def _sympy_node(n: Expr, args: list) -> sympy.Basic:
    """One node as SymPy: leaves here, operations by their entry's ``matrix`` form."""
    if isinstance(n, Var):
        if n.shape.is_scalar:
            return sympy.Symbol(n.name, real=True)
        return sympy.MatrixSymbol(n.name, *_msize(n.shape))
    if isinstance(n, Const):
        if n.shape.is_scalar:
            return n.value
        if n.value == 0:
            return sympy.ZeroMatrix(*_msize(n.shape))
        return n.value * sympy.OneMatrix(*_msize(n.shape))
    if isinstance(n, Identity):
        return sympy.Identity(n.shape.rows)
    return RULES[n.op].matrix(args, n)
