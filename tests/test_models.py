"""Batched models (issue 11, part 4): a matrix of probability rows (``prob`` for matrices), the
rewrites that use it, and the textbook forms of batched layers and losses — each with its exact
expected form and both oracles (finite differences and SymPy component expansion) at distinct
dimensions (N ≠ n ≠ k)."""

import inspect

import numpy as np
import pytest
import sympy

import matcalc
from matcalc import expr as E
from matcalc import render, verify
from matcalc.cli import main
from matcalc.shapes import Shape, dim, parse_shape
from matcalc.simplify import (kron_absorbs_commutation, product_cancels_quotient,
                              rows_sum_to_one, simplify, sum_of_centered, sum_of_constant,
                              sum_of_quotient)
from oracles import assert_second_derivative, assert_verified

N, n, k = dim("N"), dim("n"), dim("k")
LABELS = E.var("Y", Shape((N, k)), {"prob"})          # one-hot labels, a row per example
PLAIN = E.var("Y", Shape((N, k)))


# -- the property: a matrix whose rows sum to 1 ---------------------------------------------

def test_prob_is_declared_for_a_matrix():
    assert parse_shape("N,k,prob") == (Shape((N, k)), {"prob"})
    assert parse_shape(("N", "k", "prob")) == (Shape((N, k)), {"prob"})
    e = matcalc.parse("sum(Y*log(P))", shapes={"Y": "N,k,prob"})
    assert e.properties == {"Y": ("prob",)} and e.declarations["Y"] == ("N", "k", "prob")


def test_random_values_and_constraints_keep_the_rows_on_the_simplex():
    dims = {N: 3, k: 4}
    rng = np.random.default_rng(0)
    Y = verify.random_values({"Y": LABELS.shape}, dims, rng, props={"Y": {"prob"}})["Y"]
    assert Y.shape == (3, 4) and (Y > 0).all()
    np.testing.assert_allclose(Y.sum(axis=1), 1)
    env = verify.symbol_values({"Y": LABELS.shape}, dims)
    rows = np.array([sum(env["Y"][i]) for i in range(3)], dtype=object)
    assert list(verify.on_constraints(rows, env, {"Y": {"prob"}})) == [1, 1, 1]
    # the last entry of each row is one minus the others; nothing else changes
    last = verify.on_constraints(env["Y"], env, {"Y": {"prob"}})
    assert last[0, 0] == env["Y"][0, 0] and sympy.expand(last[1, 3] - 1 + sum(env["Y"][1, :3])) == 0


# -- the rewrites, each before and after ---------------------------------------------------

def test_rows_sum_to_one():
    """Y 𝟙 = 𝟙, Y 𝟙𝟙ᵀ = 𝟙𝟙ᵀ, 𝟙ᵀ Yᵀ = 𝟙ᵀ, A Y (2𝟙) = A (2𝟙); not for an undeclared Y, nor
    for the column sums Yᵀ 𝟙."""
    ones_k, ones_kk = E.ones(Shape((k,))), E.ones(Shape((k, k)))
    before = E.matmul(LABELS, ones_k)
    assert render.text(before) == "Y 𝟙"
    assert rows_sum_to_one(before) == E.ones(Shape((N,)))
    assert rows_sum_to_one(E.matmul(LABELS, ones_kk)) == E.ones(Shape((N, k)))
    assert rows_sum_to_one(E.matmul(E.transpose(ones_k), E.transpose(LABELS))) == \
        E.transpose(E.ones(Shape((N,))))
    A = E.var("A", Shape((n, N)))
    after = rows_sum_to_one(E.matmul(A, LABELS, E.Const(Shape((k,)), value=2)))
    assert render.text(after) == "A (2𝟙)"
    assert rows_sum_to_one(E.matmul(PLAIN, ones_k)) is None
    assert rows_sum_to_one(E.matmul(E.transpose(LABELS), E.ones(Shape((N,))))) is None  # Yᵀ𝟙


def test_rows_sum_to_one_in_the_cross_entropy():
    """(Y 𝟙𝟙ᵀ) ⊙ S − Y = S − Y, the residue of −sum(Y ⊙ log_softmax(Z, axis=1))."""
    S = matcalc.parse("softmax(Z, axis=1)", shapes={"Z": "N,k"}).node
    for Y, text in ((LABELS, "softmax(Z, axis=1) − Y"),
                    (PLAIN, "(Y 𝟙𝟙ᵀ) ⊙ softmax(Z, axis=1) − Y")):
        before = E.sub(E.mul(E.matmul(Y, E.ones(Shape((k, k)))), S), Y)
        assert render.text(simplify(before)) == text


def test_sum_of_a_matrix_of_probability_rows():
    """sum(Y) = N for N rows each summing to 1; sum(y) = 1 for a vector, as before."""
    assert sum_of_constant(matcalc.parse("sum(Y)", {"Y": "N,k,prob"}).node) == E.const(N)
    assert sum_of_constant(matcalc.parse("sum(y)", {"y": "k,prob"}).node) == E.const(1)
    assert sum_of_constant(matcalc.parse("sum(Y)", {"Y": "N,k"}).node) is None


def test_product_cancels_quotient():
    """s ⊙ (1 − Y ⊘ s) = s − Y; a product without a quotient by one of its factors stays."""
    s, Y = E.var("s", Shape((N, k))), E.var("Y", Shape((N, k)))
    before = E.mul(s, E.sub(E.ones(Shape((N, k))), E.div(Y, s)))
    assert render.text(before) == "s ⊙ (1 − Y ⊘ s)"
    assert render.text(product_cancels_quotient(before)) == "s − Y"
    assert product_cancels_quotient(E.mul(s, E.sub(E.ones(Shape((N, k))), Y))) is None
    assert product_cancels_quotient(E.mul(s, E.sub(E.ones(Shape((N, k))), E.div(s, Y)))) is None


def test_sum_of_quotient():
    """sum(v/N) = sum(v)/N for a scalar N; an element-wise quotient stays inside."""
    e = matcalc.parse("sum((s - y)/N)", {"s": "N", "N": "scalar"}).node
    assert render.text(sum_of_quotient(e)) == "sum(s − y)/N"
    assert sum_of_quotient(matcalc.parse("sum(s/y)", {"s": "n", "y": "n"}).node) is None


def test_sum_of_centered():
    """sum(a + c (x − mean(x))/s) = sum(a): a centered vector's entries sum to 0, also as
    mean(x) − x and x − sum(x)/n, and for a matrix centered by its mean."""
    shapes = {"x": "n", "a": "n", "c": "scalar", "s": "scalar", "X": "m,n"}
    for before, after in [("sum(x - mean(x))", "0"),
                          ("sum(a + c*(x - mean(x))/s)", "sum(a)"),
                          ("sum(a - c*(mean(x) - x))", "sum(a)"),
                          ("sum(X - mean(X))", "0")]:
        assert render.text(sum_of_centered(matcalc.parse(before, shapes).node)) == after
    x, a, c = (matcalc.parse(v, shapes).node for v in ("x", "a", "c"))
    by_sum = E.sub(x, E.mul(E.const(1 / n), matcalc.rules.apply("sum", x)))   # x − sum(x)/n
    before = matcalc.rules.apply("sum", E.add(a, E.mul(c, by_sum)))
    assert render.text(before) == "sum(a + c (x − 1/n sum(x)))"
    assert sum_of_centered(before) == matcalc.rules.apply("sum", a)
    for kept in ("sum(a + x - mean(a))", "sum(x - 2*mean(x))", "sum(x - sum(x))",
                 "sum(a*(x - mean(x)))"):
        assert sum_of_centered(matcalc.parse(kept, shapes).node) is None, kept


def test_kron_absorbs_commutation():
    """(𝟙ᵀ ⊗ I) K_(N,k) = I ⊗ 𝟙ᵀ and K_(k,N) (𝟙 ⊗ I) = I ⊗ 𝟙 (K_(p,m) (A ⊗ B) K_(n,q) = B ⊗ A
    with a row or a column for A), checked on numbers too; a K that does not fit stays."""
    one_N, eye_k = E.ones(Shape((N,))), E.identity(k)
    K = E.call("K", [], Shape((N * k, N * k)), params=(N, k))
    Kt = E.call("K", [], Shape((N * k, N * k)), params=(k, N))
    rows = E.matmul(matcalc.rules.kron(E.transpose(one_N), eye_k), K)
    cols = E.matmul(Kt, matcalc.rules.kron(one_N, eye_k))
    assert render.text(rows) == "kron(ones(N)ᵀ, Iₖ) 𝕂_(N,k)"
    assert render.text(kron_absorbs_commutation(rows)) == "kron(Iₖ, ones(N)ᵀ)"
    assert render.text(kron_absorbs_commutation(cols)) == "kron(Iₖ, ones(N))"
    dims = {N: 3, k: 4}
    for before in (rows, cols):
        after = kron_absorbs_commutation(before)
        np.testing.assert_array_equal(verify.evaluate(before, {}, dims),
                                      verify.evaluate(after, {}, dims))
    assert kron_absorbs_commutation(E.matmul(matcalc.rules.kron(E.transpose(one_N), eye_k),
                                             Kt)) is None


def test_a_negated_factor_goes_in_front_of_a_quotient():
    """γ − sum(γ ⊙ z) z/(n u²), not γ + −sum(γ ⊙ z) z/(n u²): SymPy's u − x for the user's
    x − u comes back as −(x − u), and its sign leaves the numerator."""
    d = matcalc.diff("sum(gamma*(x - mean(x))/sqrt(mean((x - mean(x))^2) + eps))", wrt="x",
                     shapes={"gamma": "n"})
    assert "+ −" not in str(d) and "γ − sum(γ ⊙ z) z/(n u²)" in str(d)


# -- notes, help and shapes line -------------------------------------------------------------

def test_note_suggests_declaring_the_rows_of_labels():
    f = "-sum(Y*log_softmax(X@W + b, axis=1))/N"
    d = matcalc.diff(f, wrt="W", shapes={"X": "N,n", "Y": "N,k"})
    assert str(d) == "1/N Xᵀ ((Y 𝟙ₖ𝟙ₖᵀ) ⊙ softmax(X W + ones(N) bᵀ, axis=1) − Y)"
    assert d.notes == ["Y 𝟙 = 𝟙 when each row of Y holds probabilities or one-hot labels: "
                       "declare it (--shape Y=N,k,prob or shapes={'Y': 'N,k,prob'}) to simplify"]
    d = matcalc.diff(f, wrt="W", shapes={"X": "N,n", "Y": "N,k,prob"})
    assert str(d) == "1/N Xᵀ (softmax(X W + 𝟙 bᵀ, axis=1) − Y)" and d.notes == []
    # sum(Y) left over: N for probability rows
    d = matcalc.diff("-sum(Y*log(p))", wrt="p", shapes={"Y": "N,k", "p": "scalar"})
    assert (str(d), d.notes) == ("−sum(Y)/p", [
        "sum(Y) = N when each row of Y holds probabilities or one-hot labels: declare it "
        "(--shape Y=N,k,prob or shapes={'Y': 'N,k,prob'}) to simplify"])
    d = matcalc.diff("-sum(Y*log(p))", wrt="p", shapes={"Y": "N,k,prob", "p": "scalar"})
    assert (str(d), d.notes) == ("−N/p", [])
    assert_verified(d)
    # a vector's log_softmax leaves sum(y): the note for vectors says so too
    d = matcalc.diff("-sum(y*log_softmax(W@x))", wrt="W")
    assert d.notes == ["sum(y) = 1 when y holds probabilities or one-hot labels: declare it "
                       "(--shape y=n,prob or shapes={'y': 'n,prob'}) to simplify"]


def test_shapes_line_says_each_row_sums_to_one():
    ds = matcalc.diff("-sum(Y*log(y@W))", wrt=["W"], shapes={"Y": "N,k,prob", "y": "n,prob"})
    assert str(ds).splitlines()[0] == \
        "Y ∈ ℝᴺˣᵏ (each row sums to 1), W ∈ ℝⁿˣᵏ, y ∈ ℝⁿ (entries sum to 1)"
    assert r"\text{(each row sums to 1)}" in ds.display_latex
    assert r"\text{(entries sum to 1)}" in ds.display_latex


def test_cli_declares_probability_rows(capsys):
    argv = ["diff", "-sum(Y*log_softmax(X@W + b, axis=1))/N", "--wrt", "b",
            "--shape", "Y=N,k,prob", "--shape", "X=N,n", "--check"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Y ∈ ℝᴺˣᵏ (each row sums to 1), X ∈ ℝᴺˣⁿ, W ∈ ℝⁿˣᵏ, b ∈ ℝᵏ"
    assert out[1].endswith("= 1/N 𝟙ᵀ (softmax(X W + 𝟙 bᵀ, axis=1) − Y)    [1×k]")
    assert out[2].startswith("  ✓ verified against SymPy and finite differences")
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    assert "Y=N,k,prob (each row sums to 1" in " ".join(capsys.readouterr().out.split())


# -- the batched models: exact forms, both oracles, distinct dimensions ----------------------

BATCH = {"X": "N,n", "Y": "N,k,prob"}
XENT = "-sum(Y*log_softmax(X@W + b, axis=1))/N"
MLP = "-sum(Y*log_softmax(relu(X@W1 + b1)@W2 + b2, axis=1))/N"
LOGISTIC = "-mean(y*log(sigmoid(X@w + b)) + (1 - y)*log(1 - sigmoid(X@w + b)))"
ATTENTION = "sum(G*(softmax(Q@K.T/sqrt(d), axis=1)@V))"
ATTENTION_LOSS = "sum((softmax(Q@K.T/sqrt(d), axis=1)@V - T)^2)/2"
QKV = {"Q": "N,p", "K": "M,p", "V": "M,q"}
LAYER_NORM = "sum(G*(gamma*(x - mean(x))/sqrt(mean((x - mean(x))^2) + eps) + beta))"
S = "softmax(X W + 𝟙 bᵀ, axis=1)"
S_SIZED = "softmax(X W + ones(N) bᵀ, axis=1)"     # where nothing else fixes the size of 𝟙
ADJOINT = "s ⊙ (u − (s ⊙ u) 𝟙𝟙ᵀ)"    # the row-wise softmax's adjoint: (diag(sᵢ) − sᵢ sᵢᵀ) uᵢ

# (expression, wrt, declared shapes, expected text)
MODELS = [
    # a batched layer: the bias's gradient is the column sum 𝟙ᵀ G of the upstream gradient
    ("sum((X@W + b - Y)^2)", "W", {"X": "N,n", "W": "n,k"}, "2Xᵀ (X W + 𝟙 bᵀ − Y)"),
    ("sum((X@W + b - Y)^2)", "b", {"X": "N,n", "W": "n,k"}, "2𝟙ᵀ (X W + 𝟙 bᵀ − Y)"),
    ("sum(tanh(X@W + b))", "b", {"X": "N,n", "W": "n,k"}, "𝟙ᵀ (1 − tanh(X W + 𝟙 bᵀ)^∘2)"),
    # softmax regression: cross-entropy over a batch of one-hot rows
    (XENT, "W", BATCH, f"1/N Xᵀ ({S} − Y)"),
    (XENT, "b", BATCH, f"1/N 𝟙ᵀ ({S} − Y)"),
    (XENT, "X", BATCH, f"1/N ({S} − Y) Wᵀ"),
    ("-sum(Y*log(softmax(X@W + b, axis=1)))/N", "W", BATCH, f"1/N Xᵀ ({S} − Y)"),
    ("-mean(sum(Y*log_softmax(X@W + b, axis=1), axis=1))", "b", BATCH, f"1/N 𝟙ᵀ ({S} − Y)"),
    # the two-layer perceptron: δ₂ = (S − Y)/N, δ₁ = step(z) ⊙ (δ₂ W2ᵀ)
    (MLP, "W2", {**BATCH, "W1": "n,h"},
     "1/N uᵀ (softmax(u W2 + 𝟙 b2ᵀ, axis=1) − Y) where u = relu(X W1 + 𝟙 b1ᵀ)"),
    (MLP, "b2", {**BATCH, "W1": "n,h"},
     "1/N 𝟙ᵀ (softmax(relu(X W1 + 𝟙 b1ᵀ) W2 + 𝟙 b2ᵀ, axis=1) − Y)"),
    (MLP, "W1", {**BATCH, "W1": "n,h"},
     "1/N Xᵀ (step(z) ⊙ ((softmax(relu(z) W2 + 𝟙 b2ᵀ, axis=1) − Y) W2ᵀ)) "
     "where z = X W1 + 𝟙 b1ᵀ"),
    (MLP, "b1", {**BATCH, "W1": "n,h"},
     "1/N 𝟙ᵀ (step(z) ⊙ ((softmax(relu(z) W2 + 𝟙 b2ᵀ, axis=1) − Y) W2ᵀ)) "
     "where z = X W1 + 𝟙 b1ᵀ"),
    # logistic regression on a batch
    (LOGISTIC, "w", {"X": "N,n", "b": "scalar"}, "1/N (σ(X w + b) − y)ᵀ X"),
    (LOGISTIC, "b", {"X": "N,n", "b": "scalar"}, "1/N sum(σ(X w + b) − y)"),
    ("-sum(y*log(sigmoid(X@w + b)) + (1 - y)*log(1 - sigmoid(X@w + b)))/N", "b",
     {"X": "N,n", "b": "scalar"}, "1/N sum(σ(X w + b) − y)"),
    ("-sum(y*log(sigmoid(X@w + b)) + (1 - y)*log(1 - sigmoid(X@w + b)))/t", "b",
     {"X": "N,n", "b": "scalar", "t": "scalar"}, "sum(σ(X w + b) − y)/t"),
    # attention: the softmax named once, its row-wise adjoint s ⊙ (u − (s ⊙ u) 𝟙𝟙ᵀ)
    (ATTENTION, "Q", QKV, "(s ⊙ (G Vᵀ − (s ⊙ (G Vᵀ)) 𝟙𝟙ᵀ)) K/√d "
     "where s = softmax(Q Kᵀ/√d, axis=1)"),
    (ATTENTION, "K", QKV, "(s ⊙ (G Vᵀ − (s ⊙ (G Vᵀ)) 𝟙𝟙ᵀ))ᵀ Q/√d "
     "where s = softmax(Q Kᵀ/√d, axis=1)"),
    (ATTENTION, "V", QKV, "softmax(Q Kᵀ/√d, axis=1)ᵀ G"),
    (ATTENTION_LOSS, "Q", QKV, f"({ADJOINT}) K/√d "
     "where s = softmax(Q Kᵀ/√d, axis=1), u = (s V − T) Vᵀ"),
    (ATTENTION_LOSS, "K", QKV, f"({ADJOINT})ᵀ Q/√d "
     "where s = softmax(Q Kᵀ/√d, axis=1), u = (s V − T) Vᵀ"),
    (ATTENTION_LOSS, "V", QKV, "sᵀ (s V − T) where s = softmax(Q Kᵀ/√d, axis=1)"),
    # layer norm: (g − mean(g) − z (gᵀz)/(n σ²))/σ with g = G ⊙ γ, σ = √(mean(z²) + eps)
    (LAYER_NORM, "x", {"gamma": "n", "beta": "n", "G": "n"},
     "(G ⊙ γ − (Gᵀ (γ ⊙ z)) z/(n u²) − 1/n sum(G ⊙ γ))ᵀ/u "
     "where z = x − mean(x), u = √(mean(z²) + eps)"),
    (LAYER_NORM, "gamma", {"gamma": "n", "beta": "n", "G": "n"},
     "(G ⊙ (x − mean(x)))ᵀ/√(mean((x − mean(x))²) + eps)"),
    (LAYER_NORM, "beta", {"gamma": "n", "beta": "n", "G": "n"}, "Gᵀ"),
]


@pytest.mark.parametrize("expr, wrt, shapes, text", MODELS,
                         ids=[f"{e} wrt {w}" for e, w, _, _ in MODELS])
def test_batched_models(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    # the oracles size each dimension differently (verify.small_dims: N, k, n → 2, 3, 4)
    assert_verified(d, seeds=range(2), domain=(0.2, 1.5) if "sqrt" in expr else (-2.0, 2.0))


# (expression, first wrt, second wrt, shapes, expected text, shape)
SECOND = [
    (LOGISTIC, "w", "w", {"X": "N,n", "b": "scalar"},
     "1/N Xᵀ diag(u ⊙ (1 − u)) X where u = σ(X w + b)", ("n", "n")),
    (LOGISTIC, "w", "b", {"X": "N,n", "b": "scalar"},
     "1/N Xᵀ (u ⊙ (1 − u)) where u = σ(X w + b)", ("n",)),
    (LOGISTIC, "b", "b", {"X": "N,n", "b": "scalar"},
     "1/N sum(u ⊙ (1 − u)) where u = σ(X w + b)", ()),
    # softmax regression: the row-wise softmax Jacobian D − D (𝟙𝟙ᵀ ⊗ I) D, D = diag(vec(S)),
    # seen through ∂vec(Z)/∂b = I ⊗ 𝟙 and ∂vec(Z)/∂vec(W) = I ⊗ X
    (XENT, "b", "b", BATCH, "1/N kron(Iₖ, ones(N)ᵀ) (u − u kron(𝟙ₖ𝟙ₖᵀ, eye(N)) u) "
     f"kron(Iₖ, ones(N)) where u = diag(vec({S_SIZED}))", ("k", "k")),
    (XENT, "W", "b", BATCH, "1/N kron(Iₖ, Xᵀ) (u − u kron(𝟙ₖ𝟙ₖᵀ, eye(N)) u) kron(Iₖ, ones(N)) "
     f"where u = diag(vec({S_SIZED}))", ("n", "k", "k")),
    (XENT, "W", "W", BATCH, "1/N kron(Iₖ, Xᵀ) (u − u kron(𝟙ₖ𝟙ₖᵀ, eye(N)) u) kron(Iₖ, X) "
     f"where u = diag(vec({S_SIZED}))", ("n", "k", "n", "k")),
    ("sum((X@W + b - Y)^2)", "b", "b", {"X": "N,n", "W": "n,k"}, "2 N Iₖ", ("k", "k")),
    ("sum((X@W + b - Y)^2)", "W", "W", {"X": "N,n", "W": "n,k"}, "2kron(Iₖ, Xᵀ X)",
     ("n", "k", "n", "k")),
]


@pytest.mark.parametrize("expr, a, b, shapes, text, shape", SECOND,
                         ids=[f"{e} d{a} d{b}" for e, a, b, *_ in SECOND])
def test_second_derivatives_of_batched_losses(expr, a, b, shapes, text, shape):
    d2 = matcalc.diff(expr, wrt=a, shapes=shapes).diff(b)
    assert (str(d2), d2.shape) == (text, shape)
    assert_second_derivative(d2, a, b)       # against f itself: finite differences and SymPy
    assert d2.check()                        # against the first derivative, by SymPy


def test_softmax_regression_hessian_is_the_textbook_one():
    """∂²/∂b² of the batched cross-entropy is (diag(Sᵀ 𝟙) − Sᵀ S)/N: Σᵢ (diag(sᵢ) − sᵢ sᵢᵀ)/N
    over the rows sᵢ of S."""
    d2 = matcalc.diff(XENT, wrt="b", shapes=BATCH).diff("b")
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    Y = np.eye(4)[rng.integers(0, 4, size=5)]
    Z = X @ W + b
    Sm = np.exp(Z - Z.max(axis=1, keepdims=True))
    Sm /= Sm.sum(axis=1, keepdims=True)
    H = d2.evaluate({"X": X, "W": W, "b": b, "Y": Y})
    np.testing.assert_allclose(H, (np.diag(Sm.sum(axis=0)) - Sm.T @ Sm) / 5, atol=1e-12)


def test_generated_code_of_the_batched_models_agrees_with_finite_differences():
    """The NumPy code of every gradient of a model at once (forward values shared), compiled
    and compared with central differences, at one-hot labels."""
    rng = np.random.default_rng(2)
    Y = np.eye(4)[rng.integers(0, 4, size=5)]
    X = rng.normal(size=(5, 3))
    for expr, wrt, shapes, values in [
            (MLP, ["W1", "b1", "W2", "b2"], {**BATCH, "W1": "n,h"},
             {"W1": rng.normal(size=(3, 6)), "b1": rng.normal(size=6),
              "W2": rng.normal(size=(6, 4)), "b2": rng.normal(size=4)}),
            (XENT, ["W", "b"], BATCH, {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}),
            (ATTENTION_LOSS, ["Q", "K", "V"], QKV,
             {"Q": rng.normal(size=(5, 2)), "K": rng.normal(size=(7, 2)),
              "V": rng.normal(size=(7, 3)), "T": rng.normal(size=(5, 3)), "d": 2.0})]:
        ds = matcalc.diff(expr, wrt=wrt, shapes=shapes)
        values = {**values, "X": X, "Y": Y}
        f = matcalc.to_numpy(ds, compile=True)
        inputs = {n: values[n] for n in inspect.signature(f).parameters}
        assert f.check(**inputs) < 1e-6
        for d, got in zip(ds, f(**inputs)[1:]):
            np.testing.assert_allclose(got, d.evaluate(inputs), atol=1e-12)
