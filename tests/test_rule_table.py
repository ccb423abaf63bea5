"""The rule table's entries, whole classes of them at a time (issue 13, part 2: mutation testing
of rules.py showed these went unchecked): each entry's metadata (its section of the reference
table, its family, arity and printed form), the texts of the notes and hints the table writes,
where a caret points for nodes the parser makes (cases, literals), the SymPy forms the check
uses where test_forms_agree does not reach them (a scalar ⊘, scalar factors in a product, the
norm of an explicit matrix, max and min of symbols), generated NumPy code (the diagonal of a row,
a chain long enough to be multiplied out in pieces), and derivatives through the table's helpers
(the Kronecker product of columns, sizes written as numbers, constant arguments folded, a
one-item literal, a matrix adjoint pushed onto a scalar).  Every derivative is checked by its
exact printed form and numerically (finite differences and SymPy component expansion)."""

import numpy as np
import pytest
import sympy
from oracles import assert_verified
from test_codegen import assert_generated

import matcalc
from matcalc import render, verify
from matcalc.errors import MatcalcError, ShapeError
from matcalc.rules import RULES

S = "scalar"
MANY = 10**9

# -- the table's metadata ------------------------------------------------------------------
# The source column of the reference table (docs/language.md, written by docs/make_language.py)
# comes from each entry's section: the paper's section (../shared/reference/rules.md §1–§9) for
# the rules the paper states, the Matrix Cookbook or another named source for the rest.

SECTIONS = {
    # §1 scalar rules
    "log": "§1 (ln)", "sin": "§1 (sin)", "pow": "§1 power rule",
    # §2 gradients and Jacobians
    "T": "§2 (layouts)", "stack": "§2 (Jacobians)",
    # §3, §4 element-wise binary operators and scalar expansion
    "add": "§3 (w + x), §4 (x + z)", "mul": "§3 (w ⊗ x), §4 (x z)", "div": "§3 (w ⊘ x)",
    # §5 reductions and the dot product
    "sum": "§5", "mean": "§5", "norm": "§5", "dot": "§5 (w · x = sum(w ⊗ x))",
    # §6 chain rules (the affine layer)
    "matmul": "§6 (affine layer Wx + b); Matrix Cookbook (520)",
    # §7 element-wise unary functions
    **{n: "§7" for n in ("abs", "cos", "cosh", "exp", "sigmoid", "sign", "sinh", "softplus",
                         "sqrt", "step", "tan", "tanh")},
    # §8 the neuron
    "relu": "§8 (max(0, z))", "max": "§8 (max(0, z))", "min": "§8 (by symmetry with max)",
    # outside the paper
    "det": "Matrix Cookbook (49)", "logdet": "Matrix Cookbook (57)",
    "inv": "Matrix Cookbook (59)", "trace": "Matrix Cookbook (100)",
    "kron": "Kronecker product (Magnus & Neudecker, Thm 3.10)",
    "vec": "linear algebra (Magnus & Neudecker)",
    **{n: "linear algebra" for n in ("diag", "eye", "ones", "zeros")},
    "juxtapose": "notation: juxtaposition",
    **{n: "deep learning" for n in ("logsumexp", "log_softmax", "softmax", "silu",
                                    "softsign")},
    "elu": "deep learning (Clevert et al.)", "leaky_relu": "deep learning (Maas et al.)",
    "gelu": "deep learning (Hendrycks & Gimpel)",
    "log1p": "deep learning (numerically stable log(1 + x))",
    "expm1": "deep learning (numerically stable exp(x) − 1)",
    "erf": "the error function",
    "normcdf": "the standard normal distribution (gelu)",
    "normpdf": "the standard normal distribution (gelu)",
    # internal nodes of derivatives: no source of their own
    **{n: "" for n in ("K", "diag_embedding", "hcat", "index", "jdiag", "reshape", "unit",
                       "unvec", "vecT", "vstack")},
}


def test_every_entry_has_its_section():
    assert {n: r.section for n, r in RULES.items()} == SECTIONS


@pytest.mark.parametrize("family, section", [
    ("elementwise", "§7"), ("reduction", "§5")])
def test_the_family_default_section_is_the_papers(family, section):
    """An entry of a family that names no source of its own has the paper's section of the
    family (§7 element-wise functions, §5 reductions)."""
    plain = [n for n, r in RULES.items() if r.family == family and r.section == section]
    assert len(plain) >= 3, plain


# (family, arity, chain, callable, macro, view, fixity, text) of each entry: what the parser
# (arity, callable), the printers (fixity, text) and the simplifier (chain, view) read.
SHAPE_OF_ENTRIES = {
    "K": ("internal", (0, MANY), False, False, False, False, "symbol", "𝕂"),
    "T": ("linear", (1, 1), False, True, False, True, "transposed", "ᵀ"),
    "add": ("elementwise2", (2, MANY), True, False, False, False, "terms", "+"),
    "mul": ("elementwise2", (2, MANY), True, False, False, False, "factors", "⊙"),
    "div": ("elementwise2", (2, 2), False, False, False, False, "quotient", "⊘"),
    "pow": ("elementwise2", (2, 2), False, False, False, False, "power", "^"),
    "max": ("elementwise2", (2, 2), False, True, False, False, "func", "max"),
    "min": ("elementwise2", (2, 2), False, True, False, False, "func", "min"),
    "elu": ("elementwise2", (1, 2), False, True, False, False, "func", "elu"),
    "leaky_relu": ("elementwise2", (1, 2), False, True, False, False, "func", "leaky_relu"),
    "dot": ("bilinear", (2, 2), False, True, False, False, "infix", "·"),
    "kron": ("bilinear", (2, 2), False, True, False, False, "func", "kron"),
    "matmul": ("bilinear", (2, MANY), True, False, False, False, "product_chain", ""),
    "juxtapose": ("bilinear", (2, MANY), True, False, True, False, "func", ""),
    "det": ("reduction", (1, 1), False, True, False, False, "func", "det"),
    "logdet": ("reduction", (1, 1), False, True, False, False, "func", "logdet"),
    "trace": ("reduction", (1, 1), False, True, False, False, "func", "tr"),
    "sum": ("reduction", (1, 1), False, True, False, False, "func", "sum"),
    "mean": ("reduction", (1, 1), False, True, False, False, "func", "mean"),
    "logsumexp": ("reduction", (1, 1), False, True, False, False, "func", "logsumexp"),
    "norm": ("reduction", (1, 2), False, True, False, False, "norm", "‖"),
    "diag": ("linear", (1, 1), False, True, False, False, "func", "diag"),
    "inv": ("matrix", (1, 1), False, True, False, False, "postfix", "⁻¹"),
    "softmax": ("vector", (1, 1), False, True, False, False, "func", "softmax"),
    "log_softmax": ("vector", (1, 1), False, True, True, False, "func", "log_softmax"),
    "eye": ("constant", (1, 1), False, True, True, False, "func", "eye"),
    "ones": ("constant", (1, 2), False, True, True, False, "func", "ones"),
    "zeros": ("constant", (1, 2), False, True, True, False, "func", "zeros"),
    "stack": ("stack", (1, MANY), False, False, False, False, "column", "[]"),
    "vec": ("internal", (1, 1), False, True, False, True, "func", "vec"),
    "vecT": ("internal", (0, MANY), False, False, False, True, "func_T", "vec"),
    "unvec": ("internal", (0, MANY), False, False, False, True, "func", "vec⁻¹"),
    "reshape": ("internal", (0, MANY), False, False, False, True, "transparent", ""),
    "jdiag": ("internal", (0, MANY), False, False, False, False, "func", "diag"),
    "hcat": ("internal", (0, MANY), False, False, False, False, "columns", "[]"),
    "vstack": ("internal", (0, MANY), False, False, False, False, "rows", "[]"),
    "index": ("internal", (0, MANY), False, False, False, False, "index", "𝕖"),
    "unit": ("internal", (0, MANY), False, False, False, False, "symbol", "𝕖"),
    "diag_embedding": ("internal", (0, MANY), False, False, False, False, "symbol", "𝔻"),
    # element-wise functions print by name (or their symbol) as functions
    **{n: ("elementwise", (1, 1), False, True, False, False, "func", n)
       for n in ("abs", "cos", "cosh", "erf", "exp", "expm1", "gelu", "log1p", "relu", "sign",
                 "silu", "sin", "sinh", "softplus", "softsign", "step", "tan", "tanh")},
    "log": ("elementwise", (1, 1), False, True, False, False, "func", "ln"),
    "sqrt": ("elementwise", (1, 1), False, True, False, False, "root", "sqrt"),
    "sigmoid": ("elementwise", (1, 1), False, True, False, False, "func", "σ"),
    "normcdf": ("elementwise", (1, 1), False, True, False, False, "func", "Φ"),
    "normpdf": ("elementwise", (1, 1), False, True, False, False, "func", "φ"),
}


def test_every_entry_has_its_family_arity_and_printed_form():
    got = {n: (r.family, r.arity, r.chain, r.callable, r.macro, r.view, r.fixity, r.text)
           for n, r in RULES.items()}
    assert got == SHAPE_OF_ENTRIES


@pytest.mark.parametrize("name, flags", [
    ("step", {"indicator"}), ("sign", {"indicator"}), ("mul", {"scaling"}),
    ("div", {"scaling"}), ("add", set()), ("relu", set()), ("max", set())])
def test_indicator_and_scaling_flags(name, flags):
    rule = RULES[name]
    assert {f for f in ("indicator", "scaling") if getattr(rule, f)} == flags


@pytest.mark.parametrize("name, keywords, defaults, hint", [
    ("sum", ("axis",), (), "u"), ("mean", ("axis",), (), "u"),
    ("norm", ("axis",), (), "u"), ("logsumexp", ("axis",), (), "u"),
    ("softmax", ("axis",), (), "s"), ("log_softmax", ("axis",), (), "u"),
    ("add", (), (), "z"), ("mul", (), (), "u"),
    ("elu", (), (None, 1), "u"), ("leaky_relu", (), (None, sympy.Rational(1, 100)), "u")])
def test_keywords_defaults_and_name_hints(name, keywords, defaults, hint):
    rule = RULES[name]
    assert (rule.keywords, rule.defaults, rule.name_hint) == (keywords, defaults, hint)


def test_the_function_table_in_the_docs_shows_each_section():
    """docs/language.md's function table (written by docs/make_language.py from the table, and
    compared with the file by test_language_doc) lists each callable function with its
    section.  The rows are made here from the table in memory, so a changed entry shows."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "make_language", Path(__file__).resolve().parent.parent / "docs" / "make_language.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = [line for line in module.function_rows() if line.startswith("| `")
            and line.count("|") >= 6]
    shown = {}
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1].startswith("`") and "(" in cells[1]:
            shown[cells[1].strip("`").split("(")[0]] = cells[-1]
    assert shown and all(shown[n] == SECTIONS[n] for n in shown), shown
    assert {"sin", "sum", "kron", "elu", "max", "eye", "diag"} <= set(shown)


# -- notes and hints -----------------------------------------------------------------------

def test_the_note_on_an_elementwise_product_that_repeats_a_row():
    d = matcalc.diff("sum(x'*A*x)", "A", shapes={"x": "n", "A": "n,n"})
    assert d.notes == ["* is element-wise and broadcasts as NumPy does (𝟙 vᵀ repeats the row "
                       "vᵀ in every row); for a matrix product write @, as in x'@A@x"]
    assert_verified(d)
    plain = matcalc.diff("x'@A@x", "A", shapes={"x": "n", "A": "n,n"})
    assert plain.notes == [] and str(plain) == "x xᵀ"


@pytest.mark.parametrize("expr, column, carets, hint", [
    ("ones(x+1)", 6, "^^^", "write ones(n) or ones(3), or ones(m, n) for a matrix"),
    ("zeros(m, -1)", 10, "^^", "write zeros(n) or zeros(3)"),
    ("eye(2.5)", 5, "^^^", "write eye(n) or eye(3)"),
    ("x + ones(n, 0)", 13, "^", "write ones(n) or ones(3), or ones(m, n) for a matrix"),
])
def test_a_size_that_is_not_a_size(expr, column, carets, hint):
    name = expr.split("(")[0].split()[-1]
    with pytest.raises(MatcalcError) as err:
        matcalc.parse(expr)
    e = err.value
    assert e.args[0].startswith(f"the arguments of {name} are sizes: names or positive integers")
    assert e.hint == hint
    assert e.line_column == (1, column)
    assert str(e).splitlines()[3].strip() == carets
    assert str(e).splitlines()[3].index("^") == column + 1      # under the argument


# -- where a caret points for nodes the parser makes ----------------------------------------

@pytest.mark.parametrize("expr, shapes, quoted, span", [
    # a row of a matrix literal that is not a row of scalars
    ("[[1, 2], [x]]", {"x": "n"}, "[x]", (9, 12)),
    ("y + [[a, b], [c, x]]", {"x": "n"}, "[c, x]", (13, 19)),
    ("[[a, b], [c, d]] @ x", {"x": "2"}, None, None),
])
def test_errors_in_a_matrix_literal_point_into_it(expr, shapes, quoted, span):
    if quoted is None:
        f = matcalc.parse(expr, shapes)
        assert f.shape == ("2",) and f.shapes["x"] == ("2",)
        return
    with pytest.raises(ShapeError) as err:
        matcalc.parse(expr, shapes)
    assert err.value.span == span
    assert expr[slice(*span)] == quoted


@pytest.mark.parametrize("expr, text, fn", [
    ("1 if x < 0; 0 if x >= 0", "1 if x < 0; 0 if x ≥ 0", lambda x, y: float(x < 0)),
    ("x if x < 0; 0 if x >= 0", "x if x < 0; 0 if x ≥ 0", lambda x, y: min(x, 0.0)),
    ("x if x ≥ y; y if x < y", None, lambda x, y: max(x, y)),
    ("x if x > y; y if x <= y", None, lambda x, y: max(x, y)),
])
def test_cases_with_a_negated_condition(expr, text, fn):
    f = matcalc.parse(expr)
    if text is not None:
        assert str(f) == text
    for x in (-1.5, 0.0, 0.5, 2.0):
        env = {"x": x, "y": 0.5}
        assert float(f.evaluate({n: env[n] for n in f.variables})) == fn(x, 0.5)


@pytest.mark.parametrize("expr, shapes", [
    ("1 if x < y; 0 if x >= y", {"x": "n", "y": "m"}),
    ("1 if x ≥ y; 0 if x < y", {"x": "n", "y": "m"}),
])
def test_a_conflict_in_a_negated_condition_points_at_the_cases(expr, shapes):
    with pytest.raises(ShapeError) as err:
        matcalc.parse(expr, shapes)
    assert err.value.span == (0, len(expr)), str(err.value)
    assert "x: vector of length n; y: vector of length m" in err.value.args[0]


# -- derivatives through the table's helpers ------------------------------------------------

DERIVATIVES = [
    # the Kronecker product of columns is a column (mn), of a column and a matrix a matrix
    ("kron(x, y)", "x", {"x": "n", "y": "m"}, "kron(Iₙ, y)", ("mn", "n")),
    ("kron(x, y)", "y", {"x": "n", "y": "m"}, "kron(x, Iₘ)", ("mn", "m")),
    ("kron(x, y)@z", "z", {"x": "n", "y": "m", "z": S}, "kron(x, y)", ("mn",)),
    ("sum(kron(x, y))", "x", {"x": "n", "y": "m"}, "sum(y) 𝟙ₙᵀ", ("1", "n")),
    ("kron(x, A)", "x", {"x": "n", "A": "m,k"}, "kron(𝕂ₖₙ, Iₘ) kron(Iₙ, vec(A))",
     ("mn", "k", "n")),
    ("kron(A, x)", "A", {"x": "n", "A": "m,k"}, "kron(kron(Iₖ, Iₘ), x)", ("mn", "k", "m", "k")),
    # sizes written as numbers
    ("x * ones(3)", "x", {"x": S}, "𝟙₃", ("3",)),
    ("sum(x * ones(3))", "x", {"x": S}, "3", ()),
    ("ones(2, 3) * x", "x", {"x": S}, "𝟙₆", ("2", "3")),
    ("ones(3) * exp(x)", "x", {"x": S}, "exp(x) 𝟙₃", ("3",)),
    ("eye(3) @ y", "y", {"y": "3"}, "I₃", ("3", "3")),
    # a constant argument of an element-wise function folds
    ("exp(0) * x", "x", {"x": "n"}, "I", ("n", "n")),
    ("sin(0) + cos(0) * x", "x", {"x": "n"}, "I", ("n", "n")),
    ("sum(exp(log(1)) * x)", "x", {"x": "n"}, "𝟙ᵀ", ("1", "n")),
    ("sqrt(4) * x", "x", {"x": "n"}, "2I", ("n", "n")),
    # a literal of one item is a column of one entry
    ("[x]", "x", {"x": S}, "[1]", ("1",)),
    ("[sin(x)]", "x", {"x": S}, "[cos(x)]", ("1",)),
    ("sum([x^2])", "x", {"x": S}, "2x", ()),
    # a matrix adjoint pushed onto a scalar
    ("sum(sin(s*X))", "s", {"X": "m,n", "s": S}, "sum(X ⊙ cos(s X))", ()),
    ("sum(sin(X@(s*Y)))", "s", {"X": "m,n", "Y": "n,k", "s": S}, "sum(Y ⊙ (Xᵀ cos(s X Y)))",
     ()),
    ("sum(exp(A@B*s))", "s", {"A": "m,n", "B": "n,k", "s": S}, "sum((A B) ⊙ exp(s A B))", ()),
    ("sum(sin(kron(A, s*y)))", "s", {"A": "m,n", "y": "k", "s": S},
     "sum(kron(A, y) ⊙ cos(s kron(A, y)))", ()),
    ("sum(sin(s*X@Y))", "s", {"X": "m,n", "Y": "n,k", "s": S}, "sum(X ⊙ (cos(s X Y) Yᵀ))", ()),
    ("sum(exp(X - s))", "s", {"X": "m,n", "s": S}, "−sum(exp(X − s))", ()),
    ("sum(sin(X*s + Y*s))", "s", {"X": "m,n", "Y": "m,n", "s": S},
     "sum(Y ⊙ u) + sum(X ⊙ u) where u = cos(s X + s Y)", ()),
    ("sum(sin(x/s))", "s", {"x": "n", "s": S}, "−sum(x ⊙ cos(x/s))/s²", ()),
    # max and min broadcast a vector beside a matrix as a row, as + does (their build)
    ("sum(max(X, x))", "X", {"X": "m,n", "x": "n"}, "1 − step(𝟙 xᵀ − X)", ("m", "n")),
    ("sum(max(x, X))", "x", {"X": "m,n", "x": "n"}, "𝟙ᵀ (1 − step(X − 𝟙 xᵀ))", ("1", "n")),
    ("sum(min(X, x))", "x", {"X": "m,n", "x": "n"}, "𝟙ᵀ step(X − 𝟙 xᵀ)", ("1", "n")),
    # the Kronecker product of two columns: a column's one column is the number 1, not 𝟙₁
    ("sum(kron(x, y))", "y", {"x": "n", "y": "m"}, "sum(x) 𝟙ₘᵀ", ("1", "m")),
    ("sum(exp(kron(x, y)))", "y", {"x": "n", "y": "m"},
     "(exp(kron(x, y)) ⊙ kron(x, 𝟙ₘ))ᵀ kron(𝟙ₙ, Iₘ)", ("1", "m")),
    ("sum(exp(kron(x, y)))", "x", {"x": "n", "y": "m"},
     "(exp(kron(x, y)) ⊙ kron(𝟙ₙ, y))ᵀ kron(Iₙ, 𝟙ₘ)", ("1", "n")),
]


@pytest.mark.parametrize("expr, wrt, shapes, text, shape", DERIVATIVES,
                         ids=[f"{e} wrt {w}" for e, w, *_ in DERIVATIVES])
def test_derivatives_through_the_helpers(expr, wrt, shapes, text, shape):
    d = matcalc.diff(expr, wrt, shapes=shapes)
    if text is not None:
        assert str(d) == text
    assert d.shape == shape
    assert_verified(d)


# -- SymPy forms the forms test does not reach -------------------------------------------------
# The exact component form (evaluate with symbolic=True, on rationals and on symbols) and the
# matrix-expression form (Derivative.sympy, render.to_sympy) agree with the NumPy value.

FORMS = [
    ("div", "x / s", {"x": "n", "s": S}), ("div", "X / s", {"X": "m,n", "s": S}),
    ("div", "s / X", {"X": "m,n", "s": S}), ("div", "s / x", {"x": "n", "s": S}),
    ("div", "s / t", {"s": S, "t": S}),
    ("norm", "norm([a, b])", {}), ("norm", "norm([a, b, c], 1)", {}),
    ("norm", "norm(s*[a, b])", {"s": S}), ("norm", "norm(x)", {"x": "n"}),
    ("norm", "norm(X, 1)", {"X": "m,n"}),
    ("elu", "elu(s)", {"s": S}), ("elu", "elu(s, a)", {"s": S, "a": S}),
    ("leaky_relu", "leaky_relu(s, a)", {"s": S, "a": S}),
    ("min", "min(s, t)", {"s": S, "t": S}), ("max", "max(s, t)", {"s": S, "t": S}),
    ("min", "min(x, s)", {"x": "n", "s": S}), ("max", "max(s, x)", {"x": "n", "s": S}),
    ("min", "min(X, Y)", {"X": "m,n", "Y": "m,n"}),
    ("matmul", "s * A @ x", {"A": "m,n", "s": S}), ("matmul", "(s*x)'@A@x", {"A": "n,n"}),
    ("matmul", "x'@y @ z'", {"x": "n", "y": "n", "z": "m"}),
    ("mul", "s * t * x", {"s": S, "t": S, "x": "n"}), ("mul", "X * Y * s", {"X": "m,n"}),
]


def _agree(name, expr, shapes):
    from test_forms_agree import _written_out
    from test_forms_agree import test_numpy_and_exact_sympy_forms_agree as exact
    from test_forms_agree import test_the_matrix_expression_form_agrees as matrix_form
    exact(name, expr, shapes)
    if _written_out((name, expr, shapes)):      # not an opaque min(x, s)
        matrix_form(name, expr, shapes)


@pytest.mark.parametrize("name, expr, shapes", FORMS, ids=[c[1] for c in FORMS])
def test_numpy_sympy_and_matrix_forms_agree(name, expr, shapes):
    _agree(name, expr, shapes)


@pytest.mark.parametrize("name, numbers, symbols, want", [
    ("min", [1.0, -2.0], [sympy.Symbol("t")] * 2, [sympy.Min(1.0, sympy.Symbol("t")),
                                                   sympy.Min(-2.0, sympy.Symbol("t"))]),
    ("max", [1.0, -2.0], [sympy.Symbol("t")] * 2, [sympy.Max(1.0, sympy.Symbol("t")),
                                                   sympy.Max(-2.0, sympy.Symbol("t"))]),
])
def test_min_and_max_of_numbers_and_symbols(name, numbers, symbols, want):
    """An array of numbers beside one of symbols (the component check mixes them): SymPy's
    Min/Max entry by entry, in either order."""
    fn = RULES[name].numpy
    a, b = np.array(numbers), np.array(symbols, dtype=object)
    assert list(fn(a, b)) == want
    assert list(fn(b, a)) == want


@pytest.mark.parametrize("name, args, want", [
    ("elu", (sympy.Symbol("x"), sympy.Rational(1, 2)),
     sympy.Piecewise((sympy.Symbol("x"), sympy.Symbol("x") > 0),
                     (sympy.Rational(1, 2) * (sympy.exp(sympy.Symbol("x")) - 1), True))),
    ("elu", (sympy.Integer(-1), sympy.Integer(2)), 2 * (sympy.exp(-1) - 1)),
    ("elu", (sympy.Integer(3), sympy.Integer(2)), sympy.Integer(3)),
    ("leaky_relu", (sympy.Symbol("x"), sympy.Rational(1, 4)),
     sympy.Piecewise((sympy.Symbol("x"), sympy.Symbol("x") > 0),
                     (sympy.Symbol("x") / 4, True))),
    ("leaky_relu", (sympy.Integer(-2), sympy.Rational(1, 4)), sympy.Rational(-1, 2)),
])
def test_scalar_sympy_forms_of_the_activations(name, args, want):
    assert RULES[name].sympy(*args) == want


# -- generated NumPy code --------------------------------------------------------------------

def test_the_diagonal_of_a_row_in_generated_code():
    d = matcalc.diff("x' * y'", "x", shapes={"x": "n", "y": "n"})
    assert str(d) == "diag(vec(yᵀ))"
    source = d.to_numpy()
    assert "np.diag(y)" in source and "ravel" not in source
    assert_generated(d)
    m = matcalc.diff("sum(sin(X)) + x'@y", "X", shapes={"X": "m,n"})
    assert_generated(m)


@pytest.mark.parametrize("count", [33, 40, 70])
def test_a_chain_longer_than_a_piece_is_generated_in_pieces(count):
    expr = "@".join(["A"] * count) + "@x"
    d = matcalc.diff(f"sum({expr})", "x", shapes={"A": "n,n", "x": "n"})
    g = assert_generated(d, dom=(-0.5, 0.5))
    assert "f_and_grad" in g.source


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_matrices_keep_their_name_in_the_sympy_form(name):
    """SymPy has no element-wise max of two matrix symbols: the matrix form is an opaque
    function, and it must say which one."""
    d = matcalc.diff(f"sum({name}(X, Y)^2)", "X", shapes={"X": "m,n", "Y": "m,n"})
    assert f"{name}(X, Y)" in str(d.sympy)
    assert_verified(d)


def test_a_jacobian_diagonal_rebuilt_on_a_scalar_is_that_scalar_times_identity():
    """diag(c𝟙) = c I: a rewrite that rebuilds a jdiag node whose argument became a scalar
    keeps the node's size (from the node it replaces), or 1×1 when there is none."""
    from matcalc import expr as E
    from matcalc.shapes import Shape, dim
    s = E.var("s", Shape(()))
    rebuilt = RULES["jdiag"].make([s], (), Shape((dim("n"), dim("n"))))
    assert render.text(rebuilt) == "s I" and rebuilt.shape == Shape((dim("n"), dim("n")))
    assert RULES["jdiag"].make([s], ()) == s


def test_the_sympy_matrix_form_of_a_product_keeps_its_scalar_factors():
    """A factor whose SymPy form is a scalar (a 1×1 value) scales the product."""
    from matcalc import expr as E
    from matcalc.shapes import Shape, dim
    A = E.var("A", Shape((dim("m"), dim("n"))))
    B = E.var("B", Shape((dim("n"), dim("k"))))
    node = E.matmul(A, B)
    s = sympy.Symbol("s")
    SA = sympy.MatrixSymbol("A", 2, 3)
    SB = sympy.MatrixSymbol("B", 3, 4)
    form = RULES["matmul"].matrix([s, SA, SB], node)
    assert form == s * SA * SB
    values = {SA: sympy.Matrix(2, 3, range(6)), SB: sympy.Matrix(3, 4, range(12)), s: 5}
    assert sympy.Matrix(form.subs(values).doit()) == \
        5 * values[SA] * values[SB]


def test_the_latex_of_a_transpose_comes_from_its_table_entry():
    d = matcalc.diff("x@A@x", "x", shapes={"A": "n,n"})
    assert str(d) == "xᵀ (A + Aᵀ)"
    assert d.latex == r"\mathbf{x}^{\top} \left(\mathbf{A} + \mathbf{A}^{\top}\right)"
    assert_verified(d)


@pytest.mark.parametrize("op", ["matmul", "juxtapose"])
def test_the_shape_of_a_chain_from_its_table_entry(op):
    """Nodes of a chain are built through ``E.matmul``; the entry's own shape function (what
    ``apply`` uses) agrees: inner sizes chain, and a 1×1 factor scales."""
    from matcalc.shapes import Shape, dim
    m, n, k = dim("m"), dim("n"), dim("k")
    shape = RULES[op].shape
    assert shape([Shape((m, n)), Shape((n, k))], ()) == Shape((m, k))
    assert shape([Shape((m, n)), Shape((n,))], ()) == Shape((m,))
    assert shape([Shape((n,)).T, Shape((n, k)), Shape((k,))], ()) == Shape(())
    assert shape([Shape(()), Shape((m, n)), Shape((n, k))], ()) == Shape((m, k))
    with pytest.raises(ShapeError):
        shape([Shape((m, n)), Shape((k,))], ())
