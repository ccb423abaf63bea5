"""Writes docs/language.md, the language reference, from the rule table (so it cannot drift:
tests/test_language_doc.py regenerates it and compares, and pytest runs its examples).

    python docs/make_language.py          # rewrite docs/language.md
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from matcalc.rules import ALIASES, RULES  # noqa: E402

OUT = HERE / "language.md"

HEAD = """# The matcalc language

The reference for what you can type and what matcalc prints.  Everything matcalc prints is
itself an expression of this language: the text of a result parses back, with the shapes the
result reports, to the same value:

```python
>>> import matcalc, numpy as np
>>> d = matcalc.diff("mean((y - max(0, X@w + b))^2)", wrt="w", shapes={"X": "N,n", "b": "scalar"})
>>> print(d)
2/N (step(z) ⊙ (z − y))ᵀ X where z = X w + b
>>> back = matcalc.parse(str(d), shapes=d.shapes)
>>> rng = np.random.default_rng(0)
>>> values = {"y": rng.normal(size=5), "X": rng.normal(size=(5, 3)), "w": rng.normal(size=3), "b": 0.1}
>>> bool(np.allclose(back.evaluate(values), d.evaluate(values)))
True

```

(This page is written by `docs/make_language.py` from the rule table; the function table below
is that table.)

## Operators

Precedence, loosest first; all binary operators are left-associative except powers.

| operators | meaning |
|---|---|
| `a + b`, `a - b` | element-wise sum and difference, with NumPy's broadcasting (below) |
| `a · b`, `dot(a, b)` | the dot product of two vectors (a scalar); binds more loosely than products, so `x·A@x` is x·(A x) |
| `a * b`, `a ⊙ b`, `a ⊗ b` | the element-wise (Hadamard) product; `⊗` is the paper's notation for it — the Kronecker product is `kron(A, B)` |
| `a / b`, `a ⊘ b` | element-wise division |
| `A @ B` | the matrix product, as NumPy reads it (below) |
| `a b` (side by side) | juxtaposition, as matcalc prints products: a scalar factor scales (`2x`, `2/N aᵀ X`), otherwise the matrix product (`W x`, `xᵀ A x`); `f(x)` with no space is a call, `x (y + 1)` with a space a product |
| `-a` | negation |
| `a ^ p`, `a ** p`, `a²`, `A^∘2` | element-wise power, the exponent a scalar; a matrix's element-wise power prints `A^∘2` (never `A²`, which would read as a matrix power) |
| `√a` | the square root |
| `a'`, `a^T`, `a.T`, `aᵀ`, `transpose(a)` | the transpose (`T` is reserved only in `^T`) |
| `A⁻¹`, `A⁻ᵀ` | the matrix inverse, and the inverse of the transpose |
| `‖x‖`, `\\|\\|x\\|\\|`, `‖x‖₁` | the 2-norm (Frobenius for a matrix), the 1-norm |
| `[f, g, h]`, `[[a, b], [c, d]]`, `[gᵀ, 0ᵀ]` | a column of scalars; a matrix by rows (∂[[a, b], [c, d]]/∂a = [[1, 0], [0, 0]]) |
| `v if z ≤ 0; w if z > 0` | cases: `v (1 − step(z)) + w step(z)` (also `<`, `≥`, `>=`, `<=`) |
| `… where u = …, v = …` | named intermediates: each name stands for its definition; a later one may use an earlier one |

## Names and numbers

- Variables: letters, digits and `_`, starting with a letter; Greek letters are their names
  (`λ` is `lambda`, printed λ); subscripts are `_` (`w₁` is `w_1`).
- Reserved: the names of functions (`sin * x` is an error: write `sin(x)`), Python keywords,
  `I` (the identity of the size its use implies), `π`.
- Numbers: `2`, `0.5`, `1e-3` are exact; a name that is a dimension of the declared shapes
  stands for that size (`1/n`, `2/N`, as matcalc prints them).
- Constants of a named size: `eye(n)` = Iₙ, `ones(n)` = 𝟙ₙ, `ones(m, n)` = 𝟙ₘ𝟙ₙᵀ,
  `zeros(n)` = 0ₙ, `zeros(m, n)`.

"""

SHAPES = """## Shapes

A value is a scalar, a column vector (`n`) or a matrix (`m×n`); a row is a transposed vector.
Declared shapes win (`shapes={"W": "m,n", "b": "scalar"}`, `--shape W=m,n`); the rest is
inferred over the whole expression, by these rules, in this order:

1. Operations constrain: `@`, `·`, `trace`, `det`, `inv`, `sum`, `softmax`, ….
2. `@` as NumPy reads it, on the column-vector model: shapes chain as matrices; where a vector on
   the left does not chain as a column it is a row, as NumPy's 1-D operand is: `w@x` is wᵀx,
   `x@W` is the vector Wᵀx (where both readings chain, as `x@y'`, the column reading stands:
   an outer product).  A scalar (a 1×1 product) chains as 1×1: `(c'@a)@x'`, `trace(x'@x)`.
3. Broadcasting, as NumPy: a scalar goes with anything; beside an m×n matrix a vector (or a
   row) of length n is added to every row, written `𝟙 bᵀ`: `X@W + b` is X W + 𝟙 bᵀ, the bias
   of a batched layer.  A row or a vector beside a column (NumPy's outer broadcast to m×n)
   is refused: repeat them explicitly, `ones(m)@r + c@ones(n)'`.
4. Case: an undeclared upper-case name is a matrix, a lower-case one a scalar or a vector (a
   matrix only where an operation demands one).  Side by side, a lower-case name right of a
   matrix (or a row) is the vector it multiplies, as in a paper: `W x + b`, `A B x`, `x' y`
   (the inner product); left of one it is a coefficient, `a B`.
5. Element-wise partners, when nothing else decides: a Greek-named coefficient (`lam`,
   `alpha`, `η`) used only in products and functions is a scalar; beside a matrix, a lower-case
   name is a row of it for `+` and `-` (the bias) and a scalar for `*` and `/` (`X/d`,
   `Q@K.T/sqrt(d)`); beside a scalar (not a literal number), a lower-case name is a scalar, and
   so is an upper-case divisor (`sum(x)/N`: a count); otherwise partners share one shape
   (`sum(w*x)`: w and x vectors of one length).
6. Anything still undecided: a scalar, or a matrix for an upper-case name.

Fresh dimensions are named n, m, k, p, q, … in order of appearance; what was assumed is always
printed:

```python
>>> for text in ["X@W + b", "w@x", "x@W", "0.5*lam*w·w", "Q@K.T/sqrt(d)", "sum(x)/N"]:
...     print(f"{text:14}", matcalc.parse(text).shapes)
X@W + b        {'X': ('n', 'm'), 'W': ('m', 'k'), 'b': ('k',)}
w@x            {'w': ('n',), 'x': ('n',)}
x@W            {'W': ('n', 'm'), 'x': ('n',)}
0.5*lam*w·w    {'lam': (), 'w': ('n',)}
Q@K.T/sqrt(d)  {'Q': ('n', 'm'), 'K': ('k', 'm'), 'd': ()}
sum(x)/N       {'x': ('n',), 'N': ()}

```

Functions defined on vectors, given a matrix, say to pass an axis:

```python
>>> matcalc.parse("softmax(X@W)")
Traceback (most recent call last):
  ...
matcalc.errors.ShapeError: shape conflict in 'softmax(X@W)': softmax takes a vector; for each row of a matrix write softmax(X, axis=1) (X@W: matrix ?×?)
line 1, column 1:
  softmax(X@W)
  ^^^^^^^^^^^^

```

"""

NOTATION = """## Notation in results

| symbol | meaning |
|---|---|
| `𝟙`, `𝟙ₙ` | the vector of ones (of length n); `𝟙ᵀ` a row, `𝟙𝟙ᵀ` a matrix of ones |
| `I`, `Iₙ` | the identity (n×n) |
| `0`, `0ₙ`, `0ᵀ` | zero (a number broadcasts; `0ₙ` the zero vector where its size must be shown) |
| `⊙`, `⊘` | element-wise product and division |
| `X^∘2` | the element-wise power of a matrix |
| `diag(v)`, `diag(vec(D))` | the diagonal matrix of v (of the entries of D) |
| `vec(X)` | the columns of X stacked into one vector (column-major) |
| `kron(A, B)` | the Kronecker product (in LaTeX `\\operatorname{kron}`; `⊗` is never the Kronecker product here) |
| `𝕂ₘₙ` | the commutation matrix: `𝕂ₘₙ vec(X) = vec(Xᵀ)` for an m×n X (double-struck letters are matcalc's constants, never your variables) |
| `𝔻ₙ` | the n²×n matrix that puts a vector on a diagonal: `vec(diag(v)) = 𝔻ₙ v` |
| `𝕖ᵢ` | the i-th unit vector (`𝕖ᵢᵀ g` is the i-th entry of g) |
| `step(z)`, `sign(z)` | 1 where z > 0 else 0 (step(0) = 0, so relu′(0) = 0); the sign, sign(0) = 0 |
| `Φ`, `φ` | the standard normal distribution function and density (gelu′ = Φ(x) + x φ(x)) |
| `σ` | the logistic sigmoid |
| `X⁻ᵀ` | (X⁻¹)ᵀ |
| `u₁`, `s`, `z` … `where …` | named intermediates, the paper's intermediate variables |

Derivatives follow DESIGN's table: numerator layout by default (a gradient is a row 1×n, a
Jacobian p×n); `layout="denominator"` transposes the vector cases.  For training code use the
denominator layout: the gradient then has the parameter's shape (a scalar by a matrix has the
matrix's shape in both layouts, as every framework).  A tensor result (a vector or matrix by a
matrix) prints as its vec Jacobian, `∂vec(f)/∂vec(X)`, and evaluates to an array of shape
`f.shape + X.shape`.

"""


def _spellings(name: str) -> str:
    rule = RULES[name]
    aliases = [a for a, target in ALIASES.items() if target == name]
    if rule.fixity in ("terms", "factors", "quotient", "power", "juxtapose", "infix",
                       "transposed", "column"):
        return ""
    names = [name] + aliases
    return ", ".join(f"`{n}`" for n in names)


def _arguments(rule) -> str:
    lo, hi = rule.arity
    if rule.family == "constant":           # sizes: eye(n), ones(m, n)
        return "n" if hi == 1 else "n) or (m, n"
    args = {1: "x", 2: "a, b"}.get(hi, "x, …")
    if rule.defaults:
        args = "x, a"
    elif rule.family == "reduction" and hi == 2:
        args = "x, p"
    kw = "".join(f", {k}=" for k in rule.keywords)
    return args + kw


def function_rows() -> list[str]:
    """One row per function a user can call, from the table: its spellings, its derivative
    rule, its domain, its source."""
    rows = []
    for name, rule in sorted(RULES.items()):
        if not rule.callable or name == "T":
            continue
        spell = _spellings(name)
        if not spell:
            continue
        lo, hi = rule.domain
        domain = "all reals" if (lo, hi) == (-2.0, 2.0) else f"tested on ({lo:g}, {hi:g})"
        if rule.family in ("reduction", "matrix", "linear", "constant", "bilinear", "vector",
                           "internal"):
            domain = "—"
        doc = rule.doc.replace("|", "\\|")
        rows.append(f"| {spell} | `{name}({_arguments(rule)})` | {doc} | {domain} | "
                    f"{rule.section} |")
    return rows


def render() -> str:
    table = ["## Functions", "",
             "Element-wise functions apply entry by entry (their Jacobian is `diag(f′(x))`, "
             "paper §7); reductions give a scalar, or a vector with `axis=`.",
             "",
             "| name | call | derivative | domain | source |", "|---|---|---|---|---|",
             *function_rows(), "", ""]
    return HEAD + "\n".join(table) + SHAPES + NOTATION


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
