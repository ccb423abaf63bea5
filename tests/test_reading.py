"""Never misleading (issue 12): results that read right, one symbol one meaning, canonical forms,
and the contracts of every entry point; each finding of the issue with its regression test."""

import pytest

import matcalc
from matcalc import expr as E
from matcalc import simplify as S
from matcalc.rules import RULES, apply
from matcalc.shapes import Shape, dim
from oracles import assert_verified

n = dim("n")
x = E.var("x", Shape((n,)))


# -- each canonical-form rewrite, before and after ---------------------------------------------

def test_sum_of_deviations_is_zero():
    before = apply("sum", E.sub(x, apply("mean", x)))
    assert S.sum_of_deviations(before) == E.const(0)
    assert S.sum_of_deviations(apply("sum", E.sub(x, E.const(1)))) is None   # not a number


def test_softmax_sums_to_one():
    assert S.softmax_sums_to_one(apply("sum", apply("softmax", x))) == E.const(1)
    X = E.var("X", Shape((n, dim("m"))))
    rows = E.matmul(apply("softmax", X, params=(1,)), E.ones(Shape((dim("m"),))))
    assert S.softmax_sums_to_one(rows) == E.ones(Shape((n,)))


def test_a_sign_cancels_before_a_difference_takes_it():
    mu = E.var("mu", Shape((n,)))
    diff = E.sub(x, mu)
    twice = E.neg(E.matmul(E.neg(E.transpose(diff)), E.var("S", Shape((n, n)))))
    assert str(matcalc.render.text(S.simplify(twice, {diff: 0}))) == "(x − μ)ᵀ S"


# -- results that read right -------------------------------------------------------------------

FORMS = [
    ("sum((x-mean(x))^2)", "x", {}, "2(x − mean(x))ᵀ"),          # 𝟙ᵀ(x − 𝟙 mean(x)) = 0
    ("sum(softmax(x))", "x", {}, "0ᵀ"),                           # 𝟙ᵀ softmax = 1
    ("x - mean(x)", "x", {}, "I − 1/n 𝟙𝟙ᵀ"),                       # no − −, no bare I − 1/n
    ("-0.5*(x-mu)'@inv(S)@(x-mu)", "mu", {"S": "n,n,sym"}, "(x − μ)ᵀ S⁻¹"),
    ("-0.5*(x-mu)'@inv(S)@(x-mu)", "mu", {}, "1/2 (x − μ)ᵀ (S⁻¹ + S⁻ᵀ)"),
    ("X^-1", "X", {"X": "2,3"}, "diag(vec(−1 ⊘ X^∘2))"),          # a Hadamard power
    ("trace(X^-1)", "X", {}, "−I ⊘ X^∘2"),
    ("sum(A⊗B)", "A", {}, "B"),                                  # ⊗ is element-wise
    ("sum(kron(A, B))", "A", {}, "sum(B) 𝟙ₙ𝟙ₘᵀ"),                 # the Kronecker product
    ("exp(x/2 + y)", "x", {"x": "scalar"}, "1/2 exp(1/2 x + y)"),   # not 1/2x: that is 1/(2x)
    ("sin(3*x/2)", "x", {"x": "scalar"}, "3/2 cos(3/2 x)"),
    ("x^3", "x", {"x": "scalar"}, "3x²"),                         # an integer stays attached
]


@pytest.mark.parametrize("expr, wrt, shapes, text", FORMS, ids=[f[0] for f in FORMS])
def test_forms(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    assert "− −" not in d.line and "−-" not in d.line and "-- " not in d.latex
    if "X^-1" not in expr:
        assert_verified(d, domain=(0.5, 2.0))


# pairs of equivalent inputs print one result
PAIRS = [
    ("sum((X-U@V')^2)", "norm(X-U@V')^2", "U"),
    ("sum(w*x)", "w·x", "w"),
    ("sum(x^2)", "norm(x)^2", "x"),
    ("x'@A@x", "x·(A@x)", "x"),
    ("sum((W@x + b - y)^2)", "norm(W@x + b - y)^2", "W"),
    ("-sum(y*log(softmax(z)))", "-sum(y*log_softmax(z))", "z"),
]


@pytest.mark.parametrize("a, b, wrt", PAIRS, ids=[p[0] for p in PAIRS])
def test_equal_derivatives_print_alike(a, b, wrt):
    assert str(matcalc.diff(a, wrt=wrt)) == str(matcalc.diff(b, wrt=wrt))


def test_the_kronecker_product_and_the_papers_otimes_are_told_apart():
    d = matcalc.diff("sum(A⊗B)", wrt="A")
    assert any("kron(A, B)" in note for note in d.notes)
    assert "⊗" not in str(matcalc.diff("W@x", wrt="W"))           # kron(xᵀ, Iₙ) in text


def test_headings_and_declarations_print_greek_names():
    d = matcalc.diff("sum(mu*x) + lambda", wrt="mu")
    assert d.line.startswith("∂/∂μ (sum(μ x) + λ)")
    assert matcalc.diff("x*y", wrt="x").line.startswith("∂/∂x (x y) =")


def test_function_names_are_not_variables():
    with pytest.raises(matcalc.ParseError, match="write sin\\(x\\)"):
        matcalc.parse("sin * x")


def test_steps_latex_has_no_double_superscript():
    import re
    latex = matcalc.diff("det(inv(X))", wrt="X").steps.latex
    assert not re.search(r"\^\{[^{}]*\}\^", latex)       # X^{-1}^{-\top}: KaTeX refuses it


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.family != "internal"
                                        and not r.macro))
def test_every_entry_has_a_sympy_form(name):
    """Derivative.sympy gives a SymPy expression for every operation (softmax and the
    cross-entropy failed before)."""
    from test_functions import ELEMENTWISE, MORE, OTHERS
    cases = [(f"{name}(x)", "x", {"x": "n"})] if name in ELEMENTWISE else []
    if name in OTHERS:
        cases.append(OTHERS[name][:3])
    cases += [m[:3] for m in MORE if m[0].startswith(name)]
    for expr, wrt, shapes in cases:
        d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
        assert d.sympy is not None


def test_cross_entropy_has_a_sympy_form():
    d = matcalc.diff("-sum(y*log(softmax(z)))", wrt="z")
    assert "exp" in str(d.sympy)


def test_a_stacked_derivative_of_symbolic_size_has_a_sympy_form():
    """∂(c − x)/∂[c, d] = [𝟙ₙ, 0ₙ]: columns of symbolic length are a BlockMatrix of SymPy's
    OneMatrix and ZeroMatrix (an explicit Matrix needs numbers: it raised ValueError)."""
    import sympy
    d = matcalc.diff("c - x", "[c, d]", shapes={"c": "scalar", "d": "scalar", "x": "n"})
    m = d.sympy
    assert m.shape[1] == 2 and str(m.shape[0]) == "n"
    explicit = m.subs({s: 3 for s in m.free_symbols if str(s) == "n"}).as_explicit()
    assert explicit == sympy.Matrix([[1, 0]] * 3)
    # literal sizes stay an explicit Matrix
    assert matcalc.diff("[3*x^2*y, 2*x + y^8]", "[x, y]").sympy == sympy.Matrix(
        [[6 * sympy.Symbol("x", real=True) * sympy.Symbol("y", real=True),
          3 * sympy.Symbol("x", real=True) ** 2], [2, 8 * sympy.Symbol("y", real=True) ** 7]])
