"""Tests that catch planted bugs (issue 13, part 2): each case below was a mutant of
rules.py, differentiate.py, simplify.py, infer.py or layout.py that changed a result while the
suite stayed green.  Every derivative is checked two ways: its exact printed form, and numerically
(finite differences of the expression at distinct sizes, and SymPy component expansion)."""

import numpy as np
import pytest

import matcalc
from matcalc.errors import ShapeError
from oracles import assert_second_derivative, assert_verified

S = "scalar"


# -- a bilinear form inside a nonlinear function, w.r.t. the matrix -------------------------
# The Kronecker left product vec(g)ᵀ (Bᵀ ⊗ A) with a scalar adjoint g (the outer function's
# derivative): dropping g printed x yᵀ for ∂ sin(xᵀAy)/∂A.

@pytest.mark.parametrize("expr, text", [
    ("sin(x'@A@y)", "cos(xᵀ A y) x yᵀ"),
    ("cos(x'@A@y)", "−sin(xᵀ A y) x yᵀ"),
    ("exp(x'@A@y)", "exp(xᵀ A y) x yᵀ"),
    ("tanh(x·(A@y))", "(1 − tanh(x·(A y))²) x yᵀ"),
    ("sin(3*x'@A@y)", "3cos(3(xᵀ A y)) x yᵀ"),
])
def test_bilinear_form_inside_a_function_wrt_the_matrix(expr, text):
    d = matcalc.diff(expr, wrt="A")
    assert str(d) == text
    assert d.shape == ("n", "m")
    assert_verified(d)


# -- Hessians through relu and step --------------------------------------------------------
# diag(c 𝟙) = c I: with c dropped, diag(0 𝟙) became I and the Hessian of sum(relu(W x)),
# which is 0 away from the kinks, printed WᵀW.

@pytest.mark.parametrize("expr", ["sum(relu(W@x))", "sum(relu(W@x + b))",
                                  "sum(step(W@x) * (W@x))", "sum(max(0, W@x))"])
def test_hessian_through_relu_is_zero(expr):
    h = matcalc.hessian(expr, wrt="x", shapes={"W": "m,n"})
    assert str(h) == "0"
    assert h.shape == ("n", "n")
    assert_second_derivative(h, "x", "x")
    assert h.check()


@pytest.mark.parametrize("expr, text", [("sum(relu(x)^2)", "diag(2step(x))"),
                                        ("sum(step(x)*x^2)", "diag(2step(x))"),
                                        ("sum(3*relu(x)^2)", "diag(6step(x))")])
def test_hessian_through_step(expr, text):
    h = matcalc.hessian(expr, wrt="x", shapes={"x": "n"})
    assert str(h) == text
    assert_second_derivative(h, "x", "x")
    x = np.array([-1.5, 0.0, 2.0])
    c = 6.0 if expr.startswith("sum(3") else 2.0
    np.testing.assert_array_equal(h.evaluate({"x": x}), np.diag(c * (x > 0)))


# -- values at the kinks: relu′(0) = 0, step(0) = 0, a tie of max(a, b) goes to a -------------
# Evaluated exactly at the kink; the second way is the one-sided difference quotient the
# convention picks (relu′(0) is the left derivative 0; ∂max(a, b)/∂a at a tie the right one, 1).

def one_sided(f, x, h=1e-7, side=1):
    return side * (f(x + side * h) - f(x)) / h


def test_relu_derivative_at_zero():
    d = matcalc.diff("relu(x)", wrt="x")
    assert str(d) == "0 if x ≤ 0; 1 if x > 0"
    assert d.evaluate({"x": 0.0}) == 0.0 == one_sided(lambda x: max(x, 0.0), 0.0, side=-1)
    assert d.evaluate({"x": 1e-300}) == 1.0
    assert d.evaluate({"x": -1e-300}) == 0.0


def test_vector_relu_and_step_at_zero():
    d = matcalc.diff("relu(x)", wrt="x", shapes={"x": "n"})
    assert str(d) == "diag(step(x))"
    x = np.array([-1.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(d.evaluate({"x": x}), np.diag([0.0, 0.0, 1.0, 0.0]))
    f = matcalc.parse("step(x)", {"x": "n"})
    np.testing.assert_array_equal(f.evaluate({"x": x}), [0.0, 0.0, 1.0, 0.0])
    g = matcalc.diff("sum(relu(x))", wrt="x", shapes={"x": "n"})
    assert str(g) == "step(x)ᵀ"
    np.testing.assert_array_equal(g.evaluate({"x": x}), [[0.0, 0.0, 1.0, 0.0]])


@pytest.mark.parametrize("expr, wrt, text, at_tie, side", [
    ("max(x, y)", "x", "1 if y − x ≤ 0; 0 if y − x > 0", 1.0, 1),
    ("max(x, y)", "y", "0 if y − x ≤ 0; 1 if y − x > 0", 0.0, -1),
    ("min(x, y)", "x", "1 if x − y ≤ 0; 0 if x − y > 0", 1.0, -1),
    ("min(x, y)", "y", "0 if x − y ≤ 0; 1 if x − y > 0", 0.0, 1),
])
def test_max_and_min_tie_goes_to_the_first_argument(expr, wrt, text, at_tie, side):
    d = matcalc.diff(expr, wrt=wrt)
    assert str(d) == text
    fn = max if expr.startswith("max") else min
    for v in (1.0, -2.5, 0.0):
        assert d.evaluate({"x": v, "y": v}) == at_tie
        f = (lambda t: fn(t, v)) if wrt == "x" else (lambda t: fn(v, t))
        assert one_sided(f, v, side=side) == pytest.approx(at_tie)
    assert d.evaluate({"x": 2.0, "y": 1.0}) == (1.0 if (wrt == "x") == (fn is max) else 0.0)


def test_vector_max_tie_and_the_neuron_at_its_kink():
    d = matcalc.diff("max(x, y)", wrt="x", shapes={"x": "n", "y": "n"})
    x, y = np.array([1.0, 2.0, -1.0]), np.array([1.0, 3.0, -2.0])
    np.testing.assert_array_equal(np.diag(d.evaluate({"x": x, "y": y})), [1.0, 0.0, 1.0])
    neuron = matcalc.diff("max(0, w·x + b)", wrt="b")
    assert str(neuron) == "0 if w·x + b ≤ 0; 1 if w·x + b > 0"
    at_kink = {"w": np.array([1.0, 2.0]), "x": np.array([2.0, -1.0]), "b": 0.0}
    assert neuron.evaluate(at_kink) == 0.0
    assert neuron.evaluate({**at_kink, "b": 0.5}) == 1.0


# -- a piecewise result reads in the variable the user wrote ---------------------------------
# max(x, 0)′ is 1 − step(−x) (the tie goes to x), so the condition is −x ≤ 0; it prints as
# x ≥ 0, and max(x, 0) itself takes its value on each side (Rule.sides of max and min; a
# planted bug that reads the zero as max's variable left "2max(x, 0)" in a branch).

@pytest.mark.parametrize("expr, text, at_kink", [
    ("max(x, 0)^2", "0 if x < 0; 2x if x ≥ 0", 0.0),
    ("max(0, x)^2", "0 if x ≤ 0; 2x if x > 0", 0.0),
    ("min(x, 0)^2", "2x if x ≤ 0; 0 if x > 0", 0.0),
    ("min(0, x)^2", "2x if x < 0; 0 if x ≥ 0", 0.0),
    ("max(x, 0)", "0 if x < 0; 1 if x ≥ 0", 1.0),
    ("min(0, x)", "1 if x < 0; 0 if x ≥ 0", 0.0),
    ("max(x, 0)*sin(x)", "0 if x < 0; x cos(x) + sin(x) if x ≥ 0", 0.0),
    ("step(-x)*x", "1 if x < 0; 0 if x ≥ 0", 0.0),
])
def test_piecewise_in_the_variable(expr, text, at_kink):
    d = matcalc.diff(expr, wrt="x")
    assert str(d) == text
    assert_verified(d, seeds=(0, 1, 2))
    assert d.evaluate({"x": 0.0}) == at_kink
    assert matcalc.parse(text).evaluate({"x": 0.5}) == pytest.approx(d.evaluate({"x": 0.5}))


def test_piecewise_latex_in_the_variable():
    assert matcalc.diff("max(x, 0)^2", wrt="x").latex == \
        r"\begin{cases}0 & \text{if } x < 0 \\ 2 x & \text{if } x \ge 0\end{cases}"


# -- the exponent of ^ is a scalar ----------------------------------------------------------

def test_a_vector_exponent_is_a_shape_error():
    with pytest.raises(ShapeError, match="the exponent of \\^ must be a scalar"):
        matcalc.diff("x^p", wrt="p", shapes={"x": "n", "p": "n"})


@pytest.mark.parametrize("expr", ["sum(x^p + p)", "sum(p + x^p)", "sum(x^p) + p"])
def test_an_undeclared_exponent_is_inferred_scalar(expr):
    d = matcalc.diff(expr, wrt="p", shapes={"x": "n"})
    assert d.shapes["p"] == ()
    assert str(d) == ("1 + sum(x^p ⊙ ln(x))" if expr.endswith(" p") else
                      "n + sum(x^p ⊙ ln(x))")
    assert_verified(d, domain=(0.5, 2.0))


# -- vector literals beside vector variables ------------------------------------------------

@pytest.mark.parametrize("expr, wrt, text, shape", [
    ("[a, b, c] * x", "x", "diag([a, b, c])", ("3", "3")),
    ("[a, b, c] * x", "b", "x ⊙ [0, 1, 0]", ("3",)),
    ("sum([a, b, c] * x)", "x", "[a, b, c]ᵀ", ("1", "3")),
    ("sum([a, b, c] * x)", "c", "𝕖₃ᵀ x", ()),
    ("[a, b] + x", "a", "[1, 0]", ("2",)),
])
def test_vector_literal_beside_a_vector_variable(expr, wrt, text, shape):
    d = matcalc.diff(expr, wrt=wrt)
    assert str(d) == text
    assert d.shape == shape
    n = 3 if "c" in expr else 2
    assert d.shapes["x"] == (str(n),)
    assert_verified(d)


@pytest.mark.parametrize("expr, size", [("[a, b, c] * x", "4"), ("[a, b] + x", "3"),
                                        ("[a, b, c] * x", "2")])
def test_vector_literal_length_mismatch_is_a_clear_error(expr, size):
    with pytest.raises(ShapeError, match=f"vector of length {len(expr.split(']')[0].split(','))}"
                                         f"; x: vector of length {size}"):
        matcalc.diff(expr, wrt="x", shapes={"x": size})


# -- constant columns c ≠ 1 and c 𝟙ᵀ v ------------------------------------------------------
# The adjoint through a constant Jacobian column c 𝟙 (∂(2s 𝟙)/∂s = 2𝟙) is c sum(g).

@pytest.mark.parametrize("expr, text", [
    ("sum(exp(x - s))", "−sum(exp(x − s))"),
    ("sum(exp(x - 2*s))", "−2sum(exp(x − 2s))"),
    ("sum(exp(3*s + x))", "3sum(exp(3s + x))"),
    ("sum(exp(W - s))", "−sum(exp(W − s))"),
    ("sum(exp(x + s*(2*ones(n))))", "2sum(exp(x + 2s 𝟙))"),
    ("sum(exp(s*ones(n)*3 - x))", "3sum(exp(3s 𝟙 − x))"),
    ("sum(exp(3*ones(n)*s + x))", "3sum(exp(3s 𝟙 + x))"),
])
def test_constant_column_not_one(expr, text):
    d = matcalc.diff(expr, wrt="s", shapes={"s": S})
    assert str(d) == text
    assert_verified(d, domain=(-1.0, 1.0))


@pytest.mark.parametrize("expr, text", [("ones(n)'@(3*x)", "3𝟙ᵀ"), ("3*ones(n)'@x", "3𝟙ᵀ"),
                                        ("sum(ones(n)*3 * x)", "3𝟙ᵀ"),
                                        ("2*ones(n)'@x + sum(x)", "3𝟙ᵀ")])
def test_constant_row_times_vector(expr, text):
    d = matcalc.diff(expr, wrt="x", shapes={"x": "n"})
    assert str(d) == text
    assert_verified(d)


# -- a matrix result, a scalar argument: the adjoint through vec(D) is sum(g ⊙ D) --------------

@pytest.mark.parametrize("expr, text", [("sum(exp(W*s))", "sum(W ⊙ exp(s W))"),
                                        ("sum(sin(W*s))", "sum(W ⊙ cos(s W))"),
                                        ("sum((W*s)^2)", "2s sum(W^∘2)")])
def test_matrix_times_scalar_inside_a_function_wrt_the_scalar(expr, text):
    d = matcalc.diff(expr, wrt="s", shapes={"W": "m,n", "s": S})
    assert str(d) == text
    assert_verified(d, domain=(-1.0, 1.0))


# A constant row c 𝟙ᵀ (the partial of mean is 1/n 𝟙ᵀ) times a column in a forward Jacobian:
# c 𝟙ᵀ v = c sum(v).

@pytest.mark.parametrize("expr, text", [("[mean(x*s), s]", "[1/n sum(x), 1]"),
                                        ("[sum(3*x*s), s]", "[3sum(x), 1]"),
                                        ("mean(x*s)*[1, 2]", "1/n sum(x) [1, 2]")])
def test_constant_row_times_column_in_a_jacobian(expr, text):
    d = matcalc.diff(expr, wrt="s", shapes={"s": S, "x": "n"})
    assert str(d) == text
    assert_verified(d)


# -- the steps view names a function's output: exp′ = y, so ∂y/∂z = diag(y) -----------------

# Each partial names the rule of its own argument (quotient rule, not the table's ⊘ entry).

@pytest.mark.parametrize("expr, wrt, partial, back", [
    ("exp(W@x)", "x", "∂y/∂z = diag(y)    [n×n; element-wise exp: diagonal Jacobian diag(exp′)]",
     "Substitute back y = exp(z), z = W x"),
    ("sigmoid(W@x + b)", "x", "∂y/∂z = diag(y ⊙ (1 − y))    [n×n; element-wise sigmoid: "
     "diagonal Jacobian diag(sigmoid′)]", "Substitute back y = σ(z), z = W x + b"),
    ("tanh(x)", "x", "∂y/∂x = 1 − y² ", "Substitute back y = tanh(x)"),
    ("x/y", "y", "∂C/∂y = −x/y²    [1×1; quotient rule (§1)]", ""),
])
def test_steps_write_a_partial_in_the_output_variable(expr, wrt, partial, back):
    d = matcalc.diff(expr, wrt=wrt)
    text = str(d.steps)
    assert partial in text and back in text
    assert_verified(d)


# -- a vector or matrix that does not depend on a declared vector or matrix: 0 of the
# Jacobian's shape --------------------------------------------------------------------------

@pytest.mark.parametrize("expr, wrt, shapes, shape, size", [
    ("x*2", "y", {"x": "n", "y": "k"}, ("n", "k"), (2, 3)),
    ("W*2", "V", {"W": "m,n", "V": "p,q"}, ("m", "n", "p", "q"), (2, 3, 4, 5)),
    ("W*2", "y", {"W": "m,n", "y": "k"}, ("m", "n", "k"), (2, 3, 4)),
])
def test_derivative_wrt_an_absent_vector_or_matrix_is_zero(expr, wrt, shapes, shape, size):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == "0" and d.shape == shape
    sizes = dict(zip(shape, size))
    values = {k: np.ones(tuple(sizes[c] for c in v.split(","))) for k, v in shapes.items()}
    np.testing.assert_array_equal(d.evaluate(values), np.zeros(size))   # f does not move with it
    assert d.check()


# -- the shapes of derivatives in denominator layout ----------------------------------------

@pytest.mark.parametrize("expr, wrt, shapes, text, shape, size", [
    ("sum(w*x)", "w", {"w": "n"}, "x", ("n",), (3,)),
    ("W@x", "x", {"W": "m,n"}, "Wᵀ", ("n", "m"), (3, 2)),
    ("x*s", "s", {"x": "n", "s": S}, "xᵀ", ("1", "n"), (1, 3)),
    ("s^2", "s", {"s": S}, "2s", (), ()),
])
def test_denominator_layout_shapes(expr, wrt, shapes, text, shape, size):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes, layout="denominator")
    assert str(d) == text and d.shape == shape
    sizes = {"m": 2, "n": 3}
    values = {k: (1.5 if v == S else np.arange(1.0, 1.0 + np.prod(
        [sizes[c] for c in v.split(",")])).reshape([sizes[c] for c in v.split(",")]))
        for k, v in shapes.items()}
    values.setdefault("x", np.array([1.0, -2.0, 0.5]))
    got = d.evaluate(values)
    assert got.shape == size
    numerator = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    np.testing.assert_allclose(got.ravel(), numerator.evaluate(values).T.ravel())
    assert_verified(d)
