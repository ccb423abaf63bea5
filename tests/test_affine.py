"""Matrices as far as the affine layer (issue: W@x + b w.r.t. x, b and W, and sigmoid(W@x + b)):
the expected form, finite differences (evaluate in tensor form included) and SymPy component
expansion, with the dimensions distinct so a missing transpose cannot hide."""

import numpy as np
import pytest

import matcalc
from oracles import assert_verified

# (expression, wrt, declared shapes, expected text, expected shape)
AFFINE = [
    ("W@x + b", "x", {}, "W", ("n", "m")),
    ("W@x + b", "b", {}, "Iₙ", ("n", "n")),
    ("W@x + b", "W", {}, "kron(xᵀ, Iₙ)", ("n", "n", "m")),
    ("W@x", "x", {"W": "m,n"}, "W", ("m", "n")),
    ("sigmoid(W@x + b)", "x", {}, "diag(u ⊙ (1 − u)) W where u = σ(W x + b)", ("n", "m")),
    ("sigmoid(W@x + b)", "b", {}, "diag(u ⊙ (1 − u)) where u = σ(W x + b)", ("n", "n")),
    ("sigmoid(W@x + b)", "W", {}, "kron(xᵀ, diag(u ⊙ (1 − u))) where u = σ(W x + b)", ("n", "n", "m")),
    ("sum((W@x + b - y)^2)", "W", {}, "2(W x + b − y) xᵀ", ("n", "m")),
    ("sum((W@x + b - y)^2)", "b", {}, "2(W x + b − y)ᵀ", ("1", "n")),
    ("sum((W@x + b - y)^2)", "x", {}, "2(W x + b − y)ᵀ W", ("1", "m")),
    ("w·x + b", "x", {}, "wᵀ", ("1", "n")),
]

IDS = [f"{e} wrt {w}" for e, w, *_ in AFFINE]


@pytest.mark.parametrize("expr, wrt, shapes, text, shape", AFFINE, ids=IDS)
def test_expected_form_and_shape(expr, wrt, shapes, text, shape):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    assert d.shape == shape


@pytest.mark.parametrize("expr, wrt, shapes, text, shape", AFFINE, ids=IDS)
def test_both_oracles(expr, wrt, shapes, text, shape):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert_verified(d, seeds=range(2))


def test_tensor_entries_are_out_shape_then_wrt_shape():
    """∂(W x)/∂W as a tensor T[i, j, k] = ∂(Wx)ᵢ/∂Wⱼₖ = δᵢⱼ xₖ, by hand."""
    d = matcalc.diff("W@x", wrt="W", shapes={"W": "m,n"})
    x = np.array([1.0, 2.0, 3.0])
    T = d.evaluate({"W": np.zeros((2, 3)), "x": x})
    assert T.shape == (2, 2, 3)
    expected = np.einsum("ij,k->ijk", np.eye(2), x)
    np.testing.assert_array_equal(T, expected)


def test_denominator_layout_transposes_only_vector_cases():
    num = matcalc.diff("W@x + b", wrt="x", shapes={"W": "m,n"})
    den = matcalc.diff("W@x + b", wrt="x", shapes={"W": "m,n"}, layout="denominator")
    assert (str(num), num.shape) == ("W", ("m", "n"))
    assert (str(den), den.shape) == ("Wᵀ", ("n", "m"))
    rng = np.random.default_rng(0)
    values = {"W": rng.normal(size=(2, 3)), "x": rng.normal(size=3), "b": rng.normal(size=2)}
    np.testing.assert_allclose(den.evaluate(values), num.evaluate(values).T)
    # scalar by matrix: the matrix's shape in both layouts
    g = matcalc.diff("sum((W@x + b - y)^2)", wrt="W", layout="denominator")
    assert (str(g), g.shape) == ("2(W x + b − y) xᵀ", ("n", "m"))
