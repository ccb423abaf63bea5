"""Tests written against the survivors of the seed-15 mutation sample (issue 13, part 2;
docs/mutation.md gives every survivor's verdict).  Each case is behaviour a user sees: a printed
derivative (checked by its exact form and numerically: finite differences at distinct sizes and
SymPy's component expansion), a note, an inferred shape, a SymPy form."""

import pytest
import sympy

import matcalc
from oracles import assert_verified


# -- e written as a variable: the note says so when e is the base, not when it is the exponent
# (rules._note_e read the base; reading the exponent noted x^e and missed e^x)

def test_e_as_a_base_is_noted():
    d = matcalc.diff("e^x", "x")
    assert str(d) == "e^x ln(e)"
    assert d.notes == ["e is a variable here; for the exponential eˣ write exp(x)"]
    assert_verified(d, domain=(0.5, 2.0))


def test_e_as_an_exponent_is_not_noted():
    d = matcalc.diff("x^e", "x")
    assert str(d) == "x^(e − 1) e"
    assert d.notes == []
    assert_verified(d, domain=(0.5, 2.0))


# -- norm(x) is norm(x, 2): one node, so the two cancel and combine
# (rules._norm_call with another default order made them two norms: (1/‖x‖ − 1/‖x‖) xᵀ)

@pytest.mark.parametrize("expr, text", [
    ("norm(x)*norm(x, 2)", "2xᵀ"),
    ("norm(x) - norm(x, 2)", "0ᵀ"),
    ("norm(x, 2)/norm(x)", "0ᵀ"),
])
def test_norm_and_norm_of_order_2_are_the_same(expr, text):
    assert str(matcalc.parse("norm(x, 2)")) == str(matcalc.parse("norm(x)")) == "‖x‖"
    d = matcalc.diff(expr, "x", shapes={"x": "n"})
    assert str(d) == text
    assert d.shape == ("1", "n")
    assert_verified(d, seeds=(0, 1))


# -- a Greek name with digits (η2, theta1) is Greek: an unknown one used element-wise is a
# scalar (infer.is_greek stripped the digits from the wrong end)

@pytest.mark.parametrize("expr, name, text", [
    ("sum(exp(η2*x))", "η2", "η2 exp(η2 x)ᵀ"),
    ("sum(exp(theta1*x))", "theta1", "theta1 exp(theta1 x)ᵀ"),
    ("sum(η2*x)", "η2", "η2 𝟙ᵀ"),
])
def test_a_greek_name_with_digits_is_a_scalar(expr, name, text):
    d = matcalc.diff(expr, "x")
    assert d.shapes == {name: (), "x": ("n",)}
    assert str(d) == text
    assert_verified(d, seeds=(0, 1))


# -- a shape declared under the Greek letter (shapes={"θ": "n"}) is the variable's: the parser
# reads θ as theta, and the declaration was silently dropped (θ became a scalar)

@pytest.mark.parametrize("declared", ["θ", "theta"])
def test_a_shape_declared_by_a_greek_letter_applies(declared):
    d = matcalc.diff("sum(exp(θ*x))", "x", shapes={declared: "n"})
    assert d.shapes == {"theta": ("n",), "x": ("n",)}
    assert str(d) == "(θ ⊙ exp(θ ⊙ x))ᵀ"
    assert_verified(d, seeds=(0, 1))


def test_a_shape_declared_with_a_subscript_applies():
    d = matcalc.diff("sum(exp(w₁*x))", "x", shapes={"w₁": "n"})
    assert d.shapes == {"w_1": ("n",), "x": ("n",)}
    assert_verified(d)


# -- the logistic function is found beside other factors of the quotient
# (simplify._logistic stopped at the first 1/(1 + u) whose u is not an exponential)

@pytest.mark.parametrize("expr, text", [
    ("log(1+exp(x))/(1+y^2)", "σ(x)/(1 + y²)"),
    ("log(1+exp(x))/(1+y^2)/(2+y^2)", "σ(x)/((1 + y²) (2 + y²))"),
])
def test_the_logistic_beside_another_quotient(expr, text):
    d = matcalc.diff(expr, "x")
    assert str(d) == text
    assert_verified(d, seeds=(0, 1))


# -- a stacked derivative whose column is a product with a literal has a SymPy form
# (rules._sympy_stack: SymPy gives such a product a Python int as a size)

def test_a_stacked_derivative_with_a_literal_factor_has_a_sympy_form():
    shapes = {"A": "2,2", "x": "2", "c": "scalar", "d": "scalar"}
    d = matcalc.diff("c*(A@[1, 2]) + d*x", "[c, d]", shapes=shapes)
    assert str(d) == "[A [1, 2], x]"
    assert d.shape == ("2", "2")
    assert_verified(d)
    A = sympy.MatrixSymbol("A", 2, 2)
    x = sympy.MatrixSymbol("x", 2, 1)
    want = sympy.Matrix([[A[0, 0] + 2 * A[0, 1], x[0, 0]], [A[1, 0] + 2 * A[1, 1], x[1, 0]]])
    got = sympy.Matrix(d.sympy.as_explicit())
    assert (got - want).applyfunc(sympy.expand) == sympy.zeros(2, 2)


# -- C (A B C)⁻¹ = (A B)⁻¹: the factors before an inverted product cancel its last ones, and
# no more than stand before it (simplify.inverse_of_product_cancels counted a factor after the
# product as one before it, and rewrote C (A B C)⁻¹ B without end)

@pytest.mark.timeout(120)
@pytest.mark.parametrize("expr, text", [
    ("C@inv(A@B@C)@B@x", "(A B)⁻¹ B"),
    ("B@C@inv(A@B@C)@A@x", "I"),
])
def test_an_inverted_product_cancels_only_the_factors_before_it(expr, text):
    d = matcalc.diff(expr, "x", shapes={"A": "n,n", "B": "n,n", "C": "n,n", "x": "n"})
    assert str(d) == text
    assert d.shape == ("n", "n")
    assert_verified(d)


# -- step(z) ⊙ g(relu(z)) = step(z) ⊙ g(z), but the argument of another step is the user's own
# pre-activation and prints as written (simplify.step_selects rewrote inside the other steps:
# step(x − 1) for step(relu(x) − 1))

@pytest.mark.parametrize("expr, shapes, text", [
    ("relu(relu(x) - 1)", {}, "step(relu(x) − 1) step(x)"),
    ("relu(relu(x) - 1)", {"x": "n"}, "diag(step(relu(x) − 1) ⊙ step(x))"),
    ("relu(w2*relu(w1*x + b1) + b2)", {},
     "w2 w1 step(w2 relu(z) + b2) step(z) where z = w1 x + b1"),
])
def test_the_argument_of_an_outer_step_is_kept_as_written(expr, shapes, text):
    d = matcalc.diff(expr, "x", shapes=shapes)
    assert str(d) == text
    assert_verified(d, seeds=(0, 1))


# -- a value and its condition of different shapes: the condition's operand is named by the
# whole piecewise expression, as the caret is (test_rule_table's conflict in a negated condition),
# for every relation alike (rules._indicator's 1 − step(d) without its span made it "operand"
# for ≤ and ≥ only)

@pytest.mark.parametrize("expr", [
    "x if y <= 0; z if y > 0",
    "x if y ≥ 0; z if y < 0",
    "x if y > 0; z if y <= 0",
])
def test_a_condition_of_another_shape_is_named_by_the_cases(expr):
    with pytest.raises(matcalc.ShapeError) as info:
        matcalc.parse(expr, {"x": "m", "y": "n", "z": "m"})
    assert str(info.value).splitlines()[0] == (
        f"shape conflict in {expr!r}: element-wise operands need equal shapes, or one of them "
        f"scalar (x: vector of length m; {expr}: vector of length n)")
    assert info.value.span == (0, len(expr))
