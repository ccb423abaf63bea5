"""Matrix literals [[a, b], [c, d]] are differentiated (they were refused: "no Jacobian for a
matrix literal"): by a scalar, the matrix of the entries' derivatives; inside a scalar
function, through the partials ∂vec(Y)/∂vec(rᵢ) = I ⊗ 𝕖ᵢ of its rows; by a vector, the vec
Jacobian, each entry's gradient as a row in the order of vec(Y).  Every result is checked by
its exact text, by finite differences and by SymPy component expansion."""

import numpy as np
import pytest

import matcalc
from oracles import assert_verified

CASES = [
    # a matrix by a scalar: the matrix of derivatives, zero rows spelled out
    ("[[a, b], [c, d]]", "a", "[[1, 0], [0, 0]]"),
    ("[[a*x, b], [c, x^2]]", "x", "[[a, 0], [0, 2x]]"),
    ("[[a*x, b], [c, x^2]]", "b", "[[0, 1], [0, 0]]"),
    ("[[a^2, b], [c, a*b]]", "a", "[[2a, 0], [0, b]]"),
    ("[[a, b, c]]", "b", "[[0, 1, 0]]"),
    ("[[a], [b]]", "b", "[[0], [1]]"),
    # scalar functions of a literal: its entries come back out of 𝕖ᵢᵀ Y 𝕖ⱼ
    ("sum([[a, b], [c, d]])", "a", "1"),
    ("sum([[a^2, b], [c, a*d]])", "a", "2a + d"),
    ("trace([[a, b], [c, a]])", "a", "2"),
    ("sum([[a, b]])", "b", "1"),
    ("x @ [[a, b], [c, d]] @ x", "b", "(𝕖₁ᵀ x) (𝕖₂ᵀ x)"),
    ("sum(sin([[a, b], [c, d]] @ x))", "a", "(𝕖₁ᵀ cos([[a, b], [c, d]] x)) (𝕖₁ᵀ x)"),
    ("sum(exp([[a, b], [c, d]]))", "a", "exp(a)"),
    ("sum(exp([[a, b], [c, d]]))", "d", "exp(d)"),
    ("sum([[a, b], [c, d]]^2)", "b", "2b"),
    ("sum([[a, b], [c, d]] @ [[a], [b]])", "a", "2a + c"),     # an n×1 literal on the right
    ("sum([[a, b], [c, d]] @ [[a], [b]])", "c", "a"),
    ("[[a, b], [c, d]] @ [a, b]", "a", "[2a, c]"),
    # by a vector: the rows of vec(Y)'s Jacobian, column by column
    ("[[x@x, sum(x)], [c, d]]", "x", "[2xᵀ, 0ᵀ, 𝟙ᵀ, 0ᵀ]"),
    ("[[sum(x), c], [d, x@x]]", "x", "[𝟙ᵀ, 0ᵀ, 0ᵀ, 2xᵀ]"),
]


@pytest.mark.parametrize("expr, wrt, text", CASES, ids=[f"{e} by {w}" for e, w, _ in CASES])
def test_a_matrix_literal_is_differentiated(expr, wrt, text):
    d = matcalc.diff(expr, wrt=wrt)
    assert str(d) == text
    assert_verified(d)


def test_the_vec_jacobian_of_a_literal_evaluates_in_numpys_shape():
    d = matcalc.diff("[[x@x, sum(x)], [c, d]]", wrt="x", shapes={"x": "3"})
    x = np.array([1.0, 2.0, 3.0])
    got = d.evaluate({"x": x, "c": 1.0, "d": 2.0})
    want = np.zeros((2, 2, 3))
    want[0, 0] = 2 * x
    want[0, 1] = 1.0
    assert got.shape == (2, 2, 3)
    assert np.allclose(got, want)


def test_the_hessian_of_a_vector_of_functions():
    """The Jacobian [2xᵀ, cos(x)ᵀ] is a matrix of rows; its derivative (a tensor) was refused."""
    d = matcalc.diff("[sum(x^2), sum(sin(x))]", wrt="x")
    assert str(d) == "[2xᵀ, cos(x)ᵀ]"
    h = d.diff("x")
    assert str(h) == "2kron(Iₙ, 𝕖₁) + kron(Iₙ, 𝕖₂) diag(−sin(x))"
    assert h.check()
    got = h.evaluate({"x": np.array([0.3, -1.2, 0.7])})
    want = np.zeros((2, 3, 3))
    want[0] = 2 * np.eye(3)
    want[1] = np.diag(-np.sin([0.3, -1.2, 0.7]))
    assert np.allclose(got, want)


def test_an_entry_of_a_literal_is_read_only_where_it_is_known():
    """𝕖ᵢᵀ 𝕖ⱼ = δᵢⱼ and a constant's column is the constant; an unknown matrix keeps 𝕖ᵢᵀ M 𝕖ⱼ."""
    d = matcalc.diff("trace([[a, b], [c, a]] @ M)", wrt="a", shapes={"M": "2,2"})
    assert_verified(d)


@pytest.mark.parametrize("expr, wrt, shapes, text", [
    # an n×1 matrix operand of a product: its adjoint was refused ("cannot yet push a matrix
    # adjoint through this Jacobian")
    ("sum(A @ c)", "c", {"A": "n,m", "c": "m,1"}, "Aᵀ 𝟙ₙ"),
    ("sum(exp(A @ c))", "c", {"A": "n,m", "c": "m,1"}, "Aᵀ exp(A c)"),
    ("sum(W@c + b)", "c", {"W": "n,m", "c": "m,1"}, "Wᵀ 𝟙ₙ"),
    ("r@c", "c", {"r": "1,n", "c": "n,1"}, "rᵀ"),
])
def test_a_column_matrix_operand_of_a_product(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    assert_verified(d)


def test_a_column_read_as_a_vector_and_back_is_itself():
    """tr(c cᵀ) by an n×1 c printed c + c: one path read c as a vector and back (reshape of a
    reshape)."""
    d = matcalc.diff("trace(c@c')", wrt="c", shapes={"c": "n,1"})
    assert str(d) == "2c"
    assert_verified(d)
