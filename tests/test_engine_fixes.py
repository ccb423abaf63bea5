"""Engine bugs found while building the step-by-step view (issue 5), each with its reproducer,
checked by both oracles."""

from oracles import assert_verified

import matcalc
from matcalc import expr as E
from matcalc import render
from matcalc.shapes import Shape
from matcalc.simplify import simplify


def test_ones_row_times_diag_rewrite():
    """𝟙ᵀ diag(x) = xᵀ (and 3𝟙ᵀ diag(x) = 3xᵀ): the rewrite passed a SymPy number to E.mul."""
    x = matcalc.parse("x", {"x": "n"}).node
    n = x.shape.dims[0]
    before = E.matmul(E.ones(x.shape.T), E.call("jdiag", [x], Shape((n, n))))
    assert render.text(before) == "𝟙ᵀ diag(x)"
    assert render.text(simplify(before)) == "xᵀ"
    three = E.matmul(E.Const(x.shape.T, value=3), E.call("jdiag", [x], Shape((n, n))))
    assert render.text(simplify(three)) == "3xᵀ"


def test_variable_exponent():
    """x^y: the simplifier turned the exponent y − 1 into a constant holding a SymPy dummy
    (printed x^(Abs(_y - 1)) y, and evaluate() failed)."""
    for wrt, text in (("x", "x^(y − 1) y"), ("y", "x^y ln(x)")):
        d = matcalc.diff("x^y", wrt=wrt)
        assert str(d) == text
        assert_verified(d, domain=(0.5, 2.0))


def test_negative_terms_sort():
    """tanh(tanh(tanh(x))): sorting terms by a key mixing bool and SymPy's BooleanFalse
    raised TypeError."""
    d = matcalc.diff("tanh(tanh(tanh(x)))", wrt="x")
    assert str(d)
    assert_verified(d)


def test_latex_of_an_inverse_transposed_is_one_superscript_each():
    """(X⁻¹)ᵀ printed X^{-1}^{\\top}, a double superscript LaTeX rejects."""
    assert "^{-1}^" not in matcalc.diff("det(X)", wrt="X").latex


def test_a_negated_numerator_needs_no_parentheses():
    """exp(−‖x − m‖²/(2s²)), not exp((−‖x − m‖²)/(2s²)); the Gaussian's gradients checked."""
    for wrt, text in [("x", "−exp(−‖x − m‖²/(2s²)) (x − m)ᵀ/s²"),
                      ("s", "u exp(−u/(2s²))/s³ where u = ‖x − m‖²")]:
        d = matcalc.diff("exp(-norm(x - m)^2 / (2*s^2))", wrt=wrt)
        assert str(d) == text
        assert_verified(d)
    assert str(matcalc.parse("2*(-x/y)")) == "2(−x/y)"
    assert str(matcalc.parse("(-x/y)^2")) == "(−x/y)²"
