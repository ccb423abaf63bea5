"""Tests written against the survivors of the seed-20 mutation sample (issue 13, part 2;
docs/mutation.md lists the sample), and against what a differential fuzzer found while looking
for an input that told a mutant apart.  Each checks behaviour a user sees, by exact form where
the form is the point and against an independent oracle (finite differences, SymPy's component
expansion) where there is a derivative."""

import math

import pytest
import sympy

import matcalc
from matcalc import simplify
from matcalc.errors import ShapeError
from matcalc.infer import infer
from matcalc.parse import parse_syntax
from oracles import assert_verified


# -- inference along an axis of a vector (infer._axis_step: sum(x, axis=0) is a scalar and
# softmax(x, axis=0) a vector like x; a mutant swapped the two, and no test added a name to them)

def test_a_sum_of_a_vector_along_its_axis_is_a_scalar_beside_an_unknown():
    e = matcalc.parse("sum(x, axis=0) + b")
    assert e.shapes == {"x": ("n",), "b": ()}
    d = matcalc.diff("sum(x, axis=0) + b", "x")
    assert str(d) == "𝟙ᵀ"
    assert_verified(d)


def test_a_softmax_of_a_vector_along_its_axis_is_a_vector_beside_an_unknown():
    e = matcalc.parse("softmax(x, axis=0) + b")
    assert e.shapes == {"x": ("n",), "b": ("n",)}
    d = matcalc.diff("softmax(x, axis=0) + b", "x")
    assert str(d) == "diag(s) − s sᵀ where s = softmax(x)"
    assert_verified(d)


# -- a product written right-nested is one product (infer._chain splices a parenthesised
# product of the same associative operation; a mutant closed it into a node of its own, and past
# 32 factors the product stayed nested and printed with brackets)

def test_a_right_nested_product_of_forty_factors_is_one_product():
    text = "x0"
    for i in range(1, 40):
        text = f"x{i} * ({text})"
    e = matcalc.parse(text)
    assert str(e) == " ".join(f"x{i}" for i in range(39, -1, -1))
    d = matcalc.diff(text, "x5")
    assert str(d) == " ".join(f"x{i}" for i in range(39, -1, -1) if i != 5)
    values = {f"x{i}": 1.0 + i / 100 for i in range(40)}
    want = 1.0
    for i in range(40):
        want *= 1.0 if i == 5 else values[f"x{i}"]
    assert float(d.evaluate(values)) == pytest.approx(want, rel=1e-12)


# -- a transposed product of unknowns after @ (infer._matmul_step typed the product's own
# argument at stage 2, before the operands inside it were typed: u @ (sᵀ (s + z))ᵀ was refused
# with a false conflict inside the product; the code is gone and the flip step decides it)

def test_a_vector_times_a_transposed_inner_product_of_unknowns():
    e = matcalc.parse("u @ (s' @ (s + z))'")
    assert e.shapes == {"u": ("n",), "s": ("m",), "z": ("m",)}
    assert str(e) == "u sᵀ (s + z)"
    d = matcalc.diff("u @ (s' @ (s + z))'", "s")
    assert str(d) == "u (2s + z)ᵀ"
    assert_verified(d)


def test_a_matrix_times_a_transposed_inner_product_says_to_scale():
    with pytest.raises(ShapeError) as err:
        matcalc.parse("W @ (s' @ (s - z))'")
    assert "@ with a scalar on the right: a 1×1 value chains only after a column; " \
           "write * to scale" in str(err.value)


# -- a Greek name under a power is a scalar coefficient, as under any element-wise function
# (infer: only operations other than element-wise ones and powers make a name structural; a
# mutant counted powers, and θ² + x made θ a vector)

@pytest.mark.parametrize("text, theta", [
    ("sum(θ^2 + x)", ()),
    ("sum(exp(θ) + x)", ()),
    ("sum(θ + x)", ("n",)),         # a term of a sum takes its partner's shape
])
def test_a_greek_name_under_a_power_is_a_scalar(text, theta):
    assert matcalc.parse(text).shapes == {"theta": theta, "x": ("n",)}
    d = matcalc.diff(text, "theta")
    assert_verified(d)


def test_the_derivative_of_a_sum_with_a_squared_greek_coefficient():
    d = matcalc.diff("sum(θ^2 + x)", "θ")
    assert str(d) == "2 n θ"
    assert_verified(d)


# -- a shape conflict found without the source text names no subject (infer._Problem.error:
# the text is optional, for trees built without one)

def test_a_conflict_without_source_text_has_no_subject():
    with pytest.raises(ShapeError) as err:
        infer(parse_syntax("softmax(X) + y"))
    assert str(err.value).splitlines()[0] == (
        "shape conflict softmax takes a vector; for each row of a matrix write "
        "softmax(X, axis=1) (operand: matrix ?×?)")
    with pytest.raises(ShapeError) as err:
        infer(parse_syntax("softmax(X) + y"), text="softmax(X) + y")
    assert str(err.value).splitlines()[0].startswith("shape conflict in 'softmax(X)': ")


# -- full factorisation is tried up to 40 operations (simplify._factored; the bound decides
# between (u − 1)(2u − 1) c ∏ sin(aᵢ) and the sum left as it is)

def _with_factors(k, extra=1):
    u = sympy.Symbol("u")
    s = ((1 - u)**2 + u * (u - 1)) * extra
    for a in sympy.symbols(f"a0:{k}"):
        s *= sympy.sin(a)
    return s, u


def test_full_factorisation_is_tried_at_forty_operations():
    s, u = _with_factors(17, sympy.Symbol("c"))
    assert sympy.count_ops(sympy.factor_terms(s)) == 40
    out = simplify._factored(s)
    assert out.has((u - 1) * (2 * u - 1)) or set(sympy.Mul.make_args(out)) >= {u - 1, 2 * u - 1}
    assert sympy.simplify(out - s) == 0


def test_full_factorisation_is_not_tried_past_forty_operations():
    s, u = _with_factors(18)
    assert sympy.count_ops(sympy.factor_terms(s)) == 41
    out = simplify._factored(s)
    assert (1 - u)**2 + u * (u - 1) in sympy.Mul.make_args(out)
    assert sympy.simplify(out - s) == 0


# -- found while probing the mutants above: a user's Kronecker product times a vector
# (rules._left_kron read every kron as the Jacobian Bᵀ ⊗ A of A X B, whose adjoint is a matrix;
# the adjoint of kron(A, B) @ w is a vector, and the derivative ended in "matrix product:
# shapes p×k and kn do not chain")

@pytest.mark.parametrize("text, want", [
    ("sum(kron(A, B) @ w)", "𝟙ᵀ kron(A, B)"),
    ("sum(sin(kron(A, B) @ w))", "cos(kron(A, B) w)ᵀ kron(A, B)"),
    ("sum(kron(A, u) @ w)", "𝟙ᵀ kron(A, u)"),
    ("sum(kron(u, A) @ w)", "𝟙ᵀ kron(u, A)"),
    ("sum(kron(u, s') @ w)", "sum(u) sᵀ"),       # u ⊗ sᵀ = u sᵀ
    ("sum(kron(s', u) @ w)", "sum(u) sᵀ"),       # sᵀ ⊗ u = u sᵀ
])
def test_a_kronecker_product_times_a_vector_by_the_vector(text, want):
    d = matcalc.diff(text, "w")
    assert str(d) == want
    assert_verified(d, seeds=(0, 1))


def test_a_kronecker_product_times_a_vector_by_its_factors():
    for wrt in ("A", "B"):
        assert_verified(matcalc.diff("sum(tanh(kron(A, B) @ w))", wrt))


def test_a_kronecker_product_of_a_column_and_a_row_is_their_outer_product():
    d = matcalc.diff("u @ (s' @ y)'", "s")
    assert str(d) == "u yᵀ"
    assert_verified(d)


# -- a matrix of ones whose size has no subscript letter prints with a space (render: 𝟙ₖₙ
# ones(q)ᵀ, not 𝟙ₖₙones(q)ᵀ)

def test_a_matrix_of_ones_of_a_size_without_a_subscript_letter():
    d = matcalc.diff("sum(kron(A, B) @ W)", "W")
    assert str(d) == "kron(Aᵀ, Bᵀ) 𝟙ₖₙ ones(q)ᵀ"
    assert_verified(d)


# -- found while probing _size_up_to_algebraic (the size past which SymPy is skipped): a long
# product kept nested (past FLATTEN_LIMIT factors, for linear time) printed a bracket for each
# level, "((((((((((((u₂₀₀ (1 − u₂₀₀) …"; a scalar product is associative, and a nested one
# without a coefficient prints as one product

def test_the_derivative_of_a_deep_composition_prints_without_nested_brackets():
    n = 200
    d = matcalc.diff("sigmoid(" * n + "x" + ")" * n, "x")
    text = str(d)
    assert text.startswith("u₂₀₀ (1 − u₂₀₀) u₁₉₉ (1 − u₁₉₉) u₁₉₈ (1 − u₁₉₈) ")
    product = text.split(" where ")[0]
    assert "((" not in product and "(u" not in product
    x = 0.3
    values = [x]
    for _ in range(n):
        values.append(1 / (1 + math.exp(-values[-1])))
    want = math.prod(s * (1 - s) for s in values[1:])
    assert float(d.evaluate({"x": x})) == pytest.approx(want, rel=1e-10)
    h = 1e-6
    def f(t):
        for _ in range(n):
            t = 1 / (1 + math.exp(-t))
        return t
    assert float(d.evaluate({"x": x})) == pytest.approx((f(x + h) - f(x - h)) / (2 * h), rel=1e-5)


def test_a_long_product_of_names_prints_as_one_product():
    d = matcalc.diff(" * ".join(f"a{i}" for i in range(40)) + " * sin(x)", "x")
    assert str(d) == " ".join(f"a{i}" for i in range(40)) + " cos(x)"
    assert_verified(d)
