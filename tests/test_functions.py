"""Every entry of the rule table that a user can write, generated from the table: its expected
textbook form and both oracles (finite differences and SymPy component expansion), on the entry's
own domain.  The test data is below, one item per entry; an entry without it fails
``test_every_entry_has_test_data``, so a new function cannot land untested."""

import pytest

import matcalc
from matcalc.rules import RULES
from oracles import assert_verified

# Element-wise functions on a vector: the Jacobian is diag(f′(x)) (paper §7).
ELEMENTWISE = {
    "exp": "diag(exp(x))",
    "log": "diag(1 ⊘ x)",
    "sqrt": "diag(1 ⊘ (2√x))",
    "sin": "diag(cos(x))",
    "cos": "diag(−sin(x))",
    "tan": "diag(1 + tan(x)²)",
    "tanh": "diag(1 − tanh(x)²)",
    "sigmoid": "diag(σ(x) ⊙ (1 − σ(x)))",
    "relu": "diag(step(x))",
    "abs": "diag(sign(x))",
    "softplus": "diag(σ(x))",
    "step": "0",                # piecewise constant: 0 away from the kink
    "sign": "0",
    "sinh": "diag(cosh(x))",
    "cosh": "diag(sinh(x))",
    "log1p": "diag(1 ⊘ (x + 1))",
    "expm1": "diag(exp(x))",
    "erf": "diag(2/√π exp(−x²))",
    "normcdf": "diag(φ(x))",
    "normpdf": "diag(−x ⊙ φ(x))",
    "gelu": "diag(x ⊙ φ(x) + Φ(x))",
    "silu": "diag((1 + x ⊙ (1 − σ(x))) ⊙ σ(x))",
    "softsign": "diag(1 ⊘ (1 + abs(x))²)",
}

# Everything else: (expression, wrt, shapes, expected text)
OTHERS = {
    "max": ("max(x, y)", "y", {"x": "n"}, "diag(step(y − x))"),
    "min": ("min(x, y)", "x", {"x": "n"}, "diag(1 − step(x − y))"),
    "sum": ("sum(x)", "x", {}, "𝟙ᵀ"),
    "mean": ("mean(x)", "x", {}, "1/n 𝟙ᵀ"),
    "norm": ("norm(x)", "x", {}, "xᵀ/‖x‖"),
    "dot": ("dot(w, x)", "w", {}, "xᵀ"),
    "T": ("sum(transpose(x) @ A)", "x", {}, "𝟙ᵀ Aᵀ"),
    "add": ("x + y", "y", {"x": "n"}, "I"),
    "juxtapose": ("2x A x", "x", {"x": "n"}, "2xᵀ (A + Aᵀ)"),
    "vec": ("sum(vec(X) * v)", "X", {"X": "m,n"}, "vec⁻¹(v)"),
    "kron": ("sum(kron(A, B))", "A", {}, "sum(B) 𝟙ₙ𝟙ₘᵀ"),
    "log_softmax": ("log_softmax(x)", "x", {}, "I − 𝟙 softmax(x)ᵀ"),
    "zeros": ("sum((X + zeros(m, n)) * A)", "X", {}, "A"),
    "eye": ("sum((X + 2*eye(n)) * A)", "X", {}, "A"),
    "ones": ("sum(ones(m, n) * X)", "X", {}, "𝟙ₘ𝟙ₙᵀ"),
    "leaky_relu": ("sum(leaky_relu(x, a))", "a", {"x": "n"}, "sum(x ⊙ (1 − step(x)))"),
    "elu": ("elu(x, a)", "a", {"x": "n"}, "(1 − step(x)) ⊙ expm1(x)"),
    "mul": ("x * y", "y", {"x": "n"}, "diag(x)"),
    "div": ("x / y", "y", {"x": "n"}, "diag(−x ⊘ y²)"),
    "pow": ("x ^ 3", "x", {"x": "n"}, "diag(3x²)"),
    "matmul": ("A @ x", "A", {"A": "m,n"}, "kron(xᵀ, Iₘ)"),
    "stack": ("[x^2, 3*x]", "x", {}, "[2x, 3]"),

    "diag": ("sum(diag(x) @ y)", "x", {}, "yᵀ"),
    "trace": ("trace(X)", "X", {}, "I"),
    "det": ("det(X)", "X", {}, "det(X) X⁻ᵀ"),
    "logdet": ("logdet(X)", "X", {}, "X⁻ᵀ"),
    "inv": ("trace(inv(X)@A)", "X", {}, "−X⁻ᵀ Aᵀ X⁻ᵀ"),
    "softmax": ("softmax(x)", "x", {}, "diag(s) − s sᵀ where s = softmax(x)"),
    "logsumexp": ("logsumexp(x)", "x", {}, "softmax(x)ᵀ"),
}

def domain(name):
    """The function's own domain, from its table entry."""
    return RULES[name].domain


def test_every_entry_has_test_data():
    """Every entry a user can write (a function or an operator, not the structured matrices
    of derivatives) has its test data here and cites its source."""
    written = {name for name, rule in RULES.items() if rule.family != "internal"}
    covered = set(ELEMENTWISE) | set(OTHERS)
    assert written <= covered, f"entries without test data: {sorted(written - covered)}"
    elementwise = {name for name in written if RULES[name].family == "elementwise"}
    assert elementwise <= set(ELEMENTWISE), sorted(elementwise - set(ELEMENTWISE))
    for op in written:
        assert RULES[op].section or RULES[op].doc, op


@pytest.mark.parametrize("name, expected", sorted(ELEMENTWISE.items()))
def test_elementwise(name, expected):
    d = matcalc.diff(f"{name}(x)", wrt="x", shapes={"x": "n"})
    assert str(d) == expected
    assert_verified(d, seeds=range(2), domain=domain(name))


@pytest.mark.parametrize("name, expected", sorted(ELEMENTWISE.items()))
def test_elementwise_scalar_chain(name, expected):
    """The same rule through the scalar chain rule: ∂/∂x f(3x) on a scalar."""
    d = matcalc.diff(f"{name}(3*x)", wrt="x")
    lo, hi = domain(name)
    assert_verified(d, domain=(lo / 3, hi / 3))


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_functions(name):
    expr, wrt, shapes, expected = OTHERS[name]
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == expected
    values = None
    if name in ("det", "logdet", "inv"):
        import numpy as np
        rng = np.random.default_rng(3)
        X = rng.normal(size=(2, 2)) + 3 * np.eye(2)
        values = {"X": X, "A": rng.normal(size=(2, 2))}
    assert_verified(d, values=values)


# diag in the forward direction (a tensor result, or a Jacobian through diag): 𝔻ₙ
DIAG = [
    ("diag(x)", "x", {}, "𝔻ₙ"),
    ("diag(X)", "X", {}, "𝔻ₙᵀ"),
    ("diag(x) @ y", "x", {}, "diag(y)"),
    ("diag(W@x)", "x", {}, "𝔻ₙ W"),
    ("sum(diag(X))", "X", {}, "I"),
]


@pytest.mark.parametrize("expr, wrt, shapes, expected", DIAG, ids=[e for e, *_ in DIAG])
def test_diag_jacobian(expr, wrt, shapes, expected):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == expected
    assert_verified(d)


# More cases of entries whose test data above covers one argument only: both arguments, and the
# Kronecker product's forward (tensor) Jacobians and its adjoint with a non-constant upstream.
MORE = [
    ("sum(X, axis=0)", "X", {"X": "3,4"}, None),
    ("sum(X, axis=1)", "X", {"X": "3,4"}, None),
    ("sum(sum(X, axis=0) * v)", "X", {"X": "m,n"}, "𝟙ₘ vᵀ"),
    ("sum(sum(X, axis=1) * v)", "X", {"X": "m,n"}, "v 𝟙ₙᵀ"),
    ("mean(X, axis=1)", "X", {"X": "3,4"}, None),
    ("sum(mean(X, axis=0)^2)", "X", {"X": "m,n"}, None),
    ("norm(X, axis=1)", "X", {"X": "3,4"}, None),
    ("sum(norm(X, 1, axis=0))", "X", {"X": "3,4"}, None),
    ("softmax(X, axis=1)", "X", {"X": "3,4"}, None),
    ("softmax(X, axis=0)", "X", {"X": "3,4"}, None),
    ("sum(softmax(X, axis=1) * G)", "X", {"X": "m,n"},
     "softmax(X, axis=1) ⊙ (G − (G ⊙ softmax(X, axis=1)) 𝟙𝟙ᵀ)"),
    ("sum(softmax(X, axis=0) * G)", "X", {"X": "3,4"}, None),
    ("logsumexp(X, axis=1)", "X", {"X": "3,4"}, None),
    ("logsumexp(X, axis=0)", "X", {"X": "3,4"}, None),
    ("sum(logsumexp(X, axis=-1))", "X", {"X": "m,n"}, "softmax(X, axis=1)"),
    ("sum(y * logsumexp(X, axis=0))", "X", {"X": "3,4"}, None),
    ("log_softmax(X, axis=1)", "X", {"X": "3,4"}, None),
    ("sum(Y * log_softmax(X, axis=1))", "X", {"X": "m,n"}, None),
    ("leaky_relu(x, a)", "x", {"x": "n"}, "diag(a (1 − step(x)) + step(x))"),
    ("leaky_relu(x)", "x", {"x": "n"}, "diag(1/100 + 99/100 step(x))"),
    ("elu(x)", "x", {"x": "n"}, "diag((1 + elu(x)) ⊙ (1 − step(x)) + step(x))"),
    ("kron(A, B)", "A", {"A": "2,3", "B": "4,5"}, None),
    ("kron(A, B)", "B", {"A": "2,3", "B": "4,5"}, None),
    ("kron(x, y)", "x", {"x": "3", "y": "2"}, "kron(I₃, y)"),
    ("sum(kron(A, B) * C)", "A", {"A": "2,3", "B": "4,5"}, None),
    ("sum(kron(A, B) * C)", "B", {"A": "2,3", "B": "4,5"}, None),
    ("sum(kron(A, x) * C)", "x", {"A": "2,3", "x": "4"}, None),
]


@pytest.mark.parametrize("expr, wrt, shapes, expected", MORE, ids=[f"{e} wrt {w}" for e, w, *_ in MORE])
def test_more_cases(expr, wrt, shapes, expected):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    if expected is not None:
        assert str(d) == expected
    assert_verified(d)
