"""A matrix by a scalar: DESIGN.md's table gives ∂F/∂s the shape of F (p×q, a row 1×q) in both
layouts, the entries' own derivatives.  The engine computes vec(∂F/∂s), a column; the result is
read back in F's shape, so ∂(s X)/∂s prints X, not vec(X), and ∂(s xᵀ A)/∂s prints xᵀ A.
Each case is checked by its exact form in both layouts and numerically (finite differences at
distinct sizes and SymPy's component expansion)."""

import numpy as np
import pytest

import matcalc
from oracles import assert_verified

CASES = [
    # (expression, extra shapes, result, shape)
    ("s*X", {}, "X", ("n", "m")),
    ("X*s^2", {}, "2s X", ("n", "m")),
    ("X/s", {}, "−X/s²", ("n", "m")),
    ("sin(s*X)", {}, "X ⊙ cos(s X)", ("n", "m")),
    ("exp(s)*X + s*Y", {"Y": "n,m"}, "exp(s) X + Y", ("n", "m")),
    ("(s*X)'", {}, "Xᵀ", ("m", "n")),
    # (F ⊗ A) vec(M) = vec(A M Fᵀ): products keep their factors in place
    ("s*A@X", {"A": "k,n"}, "A X", ("k", "m")),
    ("A@(s*X)@B", {"A": "k,n", "B": "m,p"}, "A X B", ("k", "p")),
    ("s*x@y'", {"x": "n", "y": "m"}, "x yᵀ", ("n", "m")),
    ("(s*X)@(s*X)'", {}, "2s X Xᵀ", ("n", "n")),
    ("inv(s*C)", {"C": "n,n"}, "−(s C)⁻¹ C (s C)⁻¹", ("n", "n")),
    # a row: its column read back as the row
    ("s*x'", {"x": "n"}, "xᵀ", ("1", "n")),
    ("x'@A*s", {"x": "n", "A": "n,m"}, "xᵀ A", ("1", "m")),
    ("(s*x)'@A", {"x": "n", "A": "n,m"}, "xᵀ A", ("1", "m")),
]


def _shapes(expr, extra):
    shapes = {"X": "n,m", "s": "1", **extra}
    return {k: v for k, v in shapes.items() if k in expr}


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("expr, extra, text, shape", CASES, ids=[c[0] for c in CASES])
def test_a_matrix_by_a_scalar_has_the_matrix_shape(expr, extra, text, shape, layout):
    d = matcalc.diff(expr, "s", shapes=_shapes(expr, extra), layout=layout)
    assert str(d) == text
    assert d.shape == shape
    assert_verified(d, seeds=(0, 1))


def test_the_value_has_the_matrix_shape_entry_by_entry():
    d = matcalc.diff("A@(s*X)@B", "s", shapes=_shapes("A@(s*X)@B", {"A": "k,n", "B": "m,p"}))
    rng = np.random.default_rng(3)
    A, X, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(d.evaluate({"A": A, "X": X, "B": B, "s": 0.7}), A @ X @ B)


@pytest.mark.parametrize("expr, extra, claim", [
    ("s*X", {}, "X"), ("A@(s*X)@B", {"A": "k,n", "B": "m,p"}, "A@X@B"),
    ("x'@A*s", {"x": "n", "A": "n,m"}, "x'@A"), ("sin(s*X)", {}, "X*cos(s*X)"),
])
def test_a_claim_in_the_matrix_shape_is_equal(expr, extra, claim):
    assert matcalc.check(expr, "s", claim=claim, shapes=_shapes(expr, extra))
    wrong = matcalc.check(expr, "s", claim=f"2*({claim})", shapes=_shapes(expr, extra))
    assert not wrong and wrong.counterexample is not None


def test_the_steps_end_in_the_matrix_shape():
    d = matcalc.diff("sin(s*X)", "s", shapes={"X": "n,m", "s": "1"})
    lines = d.steps.text.splitlines()
    assert lines[-1].strip() == "= X ⊙ cos(s X)    [n×m; matcalc's result]"


# -- the rewrites behind it, where a vector result shows them ---------------------------------

@pytest.mark.parametrize("expr, wrt, shapes, text", [
    ("s*A@x", "s", {"A": "k,n", "x": "n", "s": "1"}, "A x"),            # (xᵀ ⊗ I) vec(A)
    ("sum(s*X, axis=1)", "s", {"X": "n,m", "s": "1"}, "X 𝟙"),           # (𝟙ᵀ ⊗ I) vec(X)
    ("sum(s*X, axis=0)", "s", {"X": "n,m", "s": "1"}, "Xᵀ 𝟙"),          # 𝕂 vec(X) = vec(Xᵀ)
])
def test_kronecker_times_vec_is_a_product(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt, shapes=shapes)
    assert str(d) == text
    assert_verified(d, seeds=(0, 1))


# -- signs and dot products the same changes touched -----------------------------------------

@pytest.mark.parametrize("expr, shapes, text", [
    # the user's own difference keeps its sign (was sum(−(x − y)))
    ("-s*sum(x - y)", {"x": "n", "y": "n", "s": "1"}, "−sum(x − y)"),
    ("-s*(x - y)", {"x": "n", "y": "n", "s": "1"}, "−(x − y)"),
    # a summed product of two rows is their dot product (was sum(xᵀ ⊙ zᵀ))
    ("s*x'@z", {"x": "n", "z": "n", "s": "1"}, "xᵀ z"),
    ("-s*(x - y)'@z", {"x": "n", "y": "n", "z": "n", "s": "1"}, "−(x − y)ᵀ z"),
    # and then cancels: (s x)ᵀ (y/s) = xᵀ y does not depend on s (was (sum(xᵀ ⊙ yᵀ) − xᵀ y)/s)
    ("(s*x)'@(y/s)", {"x": "n", "y": "n", "s": "1"}, "0"),
])
def test_signs_and_dot_products(expr, shapes, text):
    d = matcalc.diff(expr, "s", shapes=shapes)
    assert str(d) == text
    assert_verified(d, seeds=(0, 1))
