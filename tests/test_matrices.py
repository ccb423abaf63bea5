"""Beyond the paper: scalar functions of matrices (Matrix Cookbook, ch. 2), deep-learning layers
and losses, tensor results, second derivatives, and named intermediates.  Each row: the exact
expected form, finite differences (evaluate in tensor form included) and SymPy component
expansion, at sizes with distinct dimensions."""

import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc import verify
from oracles import assert_numeric, assert_second_derivative, assert_verified, concrete_dims


def invertible(d, seed):
    """Values where every square matrix is well conditioned with a positive determinant (det,
    inv and log det stay finite and smooth; symmetric where declared so), the rest random in
    (−1, 1)."""
    rng = np.random.default_rng(seed)
    dims = concrete_dims(d)
    values = {}
    for name, v in E.free_vars(d.f.node).items():
        size = verify.concrete(v.shape, dims)
        value = rng.uniform(-1, 1, size=size)
        if v.shape.is_matrix and size[0] == size[1]:
            if "sym" in v.props:
                value = (value + value.T) / 2
            value = value * 0.3 + 2 * np.eye(size[0])
        values[name] = value
    return values


# (Cookbook equation, expression, wrt, declared shapes, expected text)
COOKBOOK = [
    ("(49)", "det(X)", "X", {}, "det(X) X⁻ᵀ"),
    ("(51)", "det(A@X@B)", "X", {"A": "n,n", "B": "n,n"}, "det(A X B) X⁻ᵀ"),
    ("(57)", "log(det(X))", "X", {}, "X⁻ᵀ"),
    ("(57)", "logdet(X)", "X", {}, "X⁻ᵀ"),
    ("(61)", "a^T@inv(X)@b", "X", {}, "−X⁻ᵀ a bᵀ X⁻ᵀ"),
    ("(63)", "det(inv(X))", "X", {}, "−det(X⁻¹) X⁻ᵀ"),
    ("(69)", "x^T@a", "x", {}, "aᵀ"),
    ("(70)", "a^T@X@b", "X", {}, "a bᵀ"),
    ("(71)", "a^T@X^T@b", "X", {}, "b aᵀ"),
    ("(72)", "a^T@X@a", "X", {}, "a aᵀ"),
    ("(77)", "b^T@X^T@X@c", "X", {}, "X (b cᵀ + c bᵀ)"),
    ("(78)", "(B@x + b)^T@C@(D@x + d)", "x", {}, "(B x + b)ᵀ C D + (D x + d)ᵀ Cᵀ B"),
    ("(81)", "x^T@B@x", "x", {}, "xᵀ (B + Bᵀ)"),
    ("(82)", "b^T@X^T@D@X@c", "X", {}, "Dᵀ X b cᵀ + D X c bᵀ"),
    ("(83)", "(X@b + c)^T@D@(X@b + c)", "X", {}, "(D + Dᵀ) (X b + c) bᵀ"),
    ("(99)", "trace(X)", "X", {}, "I"),
    ("(100)", "trace(A@X)", "X", {}, "Aᵀ"),
    ("(101)", "trace(A@X@B)", "X", {}, "Aᵀ Bᵀ"),
    ("(102)", "trace(A@X^T@B)", "X", {}, "B A"),
    ("(103)", "trace(X^T@A)", "X", {}, "A"),
    ("(104)", "trace(A@X^T)", "X", {}, "A"),
    ("(106)", "trace(X@X)", "X", {}, "2Xᵀ"),
    ("(107)", "trace(X@X@B)", "X", {}, "(X B + B X)ᵀ"),
    ("(108)", "trace(X^T@A@X)", "X", {}, "(A + Aᵀ) X"),
    ("(109)", "trace(X@B@X^T)", "X", {}, "X (B + Bᵀ)"),
    ("(110)", "trace(A@X@B@X)", "X", {}, "(B X A + A X B)ᵀ"),
    ("(111)", "trace(X^T@X)", "X", {}, "2X"),
    ("(112)", "trace(B@X@X^T)", "X", {}, "(B + Bᵀ) X"),
    ("(113)", "trace(B^T@X^T@C@X@B)", "X", {}, "(C + Cᵀ) X B Bᵀ"),
    ("(114)", "trace(X^T@B@X@C)", "X", {}, "Bᵀ X Cᵀ + B X C"),
    ("(115)", "trace(A@X@B@X^T@C)", "X", {}, "Aᵀ Cᵀ X Bᵀ + C A X B"),
    ("(116)", "trace((A@X@B + C)@(A@X@B + C)^T)", "X", {}, "2Aᵀ (A X B + C) Bᵀ"),
    ("(124)", "trace(A@inv(X)@B)", "X", {}, "−X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ"),
    ("(124)", "trace(inv(X)@A)", "X", {}, "−X⁻ᵀ Aᵀ X⁻ᵀ"),
    ("(129)", "norm(x - a)", "x", {}, "(x − a)ᵀ/‖x − a‖"),
    ("(130)", "(x - a)/norm(x - a)", "x", {}, "(I − z zᵀ/u²)/u where z = x − a, u = ‖z‖"),
    ("(131)", "norm(x)^2", "x", {}, "2xᵀ"),
    ("(132)", "norm(X)^2", "X", {}, "2X"),
    ("(132)", "sum(X*X)", "X", {}, "2X"),
    ("", "norm(A@x - b)^2", "x", {}, "2(A x − b)ᵀ A"),
    ("", "norm(A@x - b)^2", "A", {}, "2(A x − b) xᵀ"),
    ("", "x^T@A@x", "x", {"A": "n,n,sym"}, "2xᵀ A"),
    ("", "x^T@A^T@x", "x", {"A": "n,n,sym"}, "2xᵀ A"),
    # an inverted product cancels against its neighbours: X (B X)⁻¹ = B⁻¹ for square X
    ("", "det(X@X)", "X", {}, "2det(X X) X⁻ᵀ"),
    ("", "logdet(A@X)", "X", {"A": "n,n"}, "X⁻ᵀ"),
    ("", "logdet(X@A@X)", "X", {"A": "n,n"}, "2X⁻ᵀ"),
    ("", "logdet(X@A)", "X", {"X": "k,n", "A": "n,k"}, "(X A)⁻ᵀ Aᵀ"),   # X not square
    ("", "trace(inv(A@X)@X)", "X", {"A": "n,n"}, "0"),   # tr(X⁻¹ A⁻¹ X) = tr(A⁻¹)
    # Xᵀ X and Xᵀ A X (A symmetric) are symmetric: their inverse transposed is itself
    ("", "logdet(X^T@X)", "X", {"X": "n,k"}, "2X (Xᵀ X)⁻¹"),
    ("", "logdet(X^T@A@X)", "X", {"X": "n,k", "A": "n,n,sym"}, "2A X (Xᵀ A X)⁻¹"),
    ("", "trace(inv(X^T@X))", "X", {"X": "n,k"}, "−2X (Xᵀ X)⁻¹ (Xᵀ X)⁻¹"),
]

SQUARE = {"det", "inv", "logdet", "log(det"}


@pytest.mark.parametrize("eq, expr, wrt, shapes, text", COOKBOOK,
                         ids=[f"{eq} {e} wrt {w}" for eq, e, w, *_ in COOKBOOK])
def test_matrix_cookbook(eq, expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    if any(k in expr for k in SQUARE):
        for seed in range(2):
            assert_numeric(d, values=invertible(d, seed))
    else:
        for seed in range(2):
            assert_numeric(d, seed=seed)
    assert d.check()


# (expression, wrt, declared shapes, expected text)
LAYERS = [
    ("softmax(x)", "x", {}, "diag(s) − s sᵀ where s = softmax(x)"),
    ("logsumexp(x)", "x", {}, "softmax(x)ᵀ"),
    ("logsumexp(W@x)", "W", {}, "softmax(W x) xᵀ"),
    ("-sum(y*log(softmax(W@x + b)))", "W", {}, "(sum(y) softmax(W x + b) − y) xᵀ"),
    ("-sum(y*log(softmax(W@x + b)))", "b", {}, "(sum(y) softmax(W x + b) − y)ᵀ"),
    ("-sum(y*log(softmax(W@x + b)))", "x", {}, "(sum(y) softmax(W x + b) − y)ᵀ W"),
    ("-sum(y*log(softmax(W@x + b)))", "W", {"y": "n,prob"}, "(softmax(W x + b) − y) xᵀ"),
    ("-sum(y*log(softmax(W@x + b)))", "b", {"y": "n,prob"}, "(softmax(W x + b) − y)ᵀ"),
    ("-sum(y*log(softmax(W@x + b)))", "x", {"y": "n,prob"}, "(softmax(W x + b) − y)ᵀ W"),
    ("log(1 + exp(-y*(w·x)))", "w", {}, "−y σ(−y (w·x)) xᵀ"),
    ("mean(log(1 + exp(-y*(X@w))))", "w", {"X": "N,n"}, "−1/N (y ⊙ σ(−y ⊙ (X w)))ᵀ X"),
    ("sum((W@x + b - y)^2) + lambda*sum(W*W)", "W", {}, "2(λ W + (W x + b − y) xᵀ)"),
    ("norm(X@w - y)^2 + alpha*norm(w)^2", "w", {}, "2(α w + Xᵀ (X w − y))ᵀ"),
    ("sum((W2@relu(W1@x + b1) + b2 - y)^2)", "W1", {},
     "2(step(z) ⊙ (W2ᵀ (W2 relu(z) + b2 − y))) xᵀ where z = W1 x + b1"),
    ("sum((W2@relu(W1@x + b1) + b2 - y)^2)", "b1", {},
     "2(step(z) ⊙ (W2ᵀ (W2 relu(z) + b2 − y)))ᵀ where z = W1 x + b1"),
    ("sum((W2@relu(W1@x + b1) + b2 - y)^2)", "W2", {},
     "2(W2 u + b2 − y) uᵀ where u = relu(W1 x + b1)"),
    ("sum((W2@relu(W1@x + b1) + b2 - y)^2)", "b2", {}, "2(W2 relu(W1 x + b1) + b2 − y)ᵀ"),
    ("sum((W2@sigmoid(W1@x + b1) + b2 - y)^2)", "W1", {},
     "2(u ⊙ (1 − u) ⊙ (W2ᵀ (W2 u + b2 − y))) xᵀ where u = σ(W1 x + b1)"),
    ("sum((W2@tanh(W1@x + b1) + b2 - y)^2)", "b1", {},
     "2((1 − u²) ⊙ (W2ᵀ (W2 u + b2 − y)))ᵀ where u = tanh(W1 x + b1)"),
]


@pytest.mark.parametrize("expr, wrt, shapes, text", LAYERS,
                         ids=[f"{e} wrt {w} {s}" for e, w, s, _ in LAYERS])
def test_deep_learning_layers_and_losses(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    assert_verified(d, seeds=range(2))


# Tensor results: vec/Kronecker form; evaluate gives out.shape + wrt.shape.
TENSORS = [
    ("inv(X)", "X", {}, "−kron(X⁻ᵀ, X⁻¹)", ("n", "n", "n", "n")),
    ("X@X", "X", {}, "kron(Xᵀ, I) + kron(I, X)", ("n", "n", "n", "n")),
    ("X^T", "X", {}, "𝕂ₙₘ", ("m", "n", "n", "m")),
    ("A@X@B", "X", {}, "kron(Bᵀ, A)", ("n", "p", "m", "k")),
    ("W@x", "W", {}, "kron(xᵀ, Iₙ)", ("n", "n", "m")),
    ("x@x^T", "x", {}, "kron(x, I) + kron(I, x)", ("n", "n", "n")),
    ("X^T@X", "X", {}, "kron(Xᵀ, Iₘ) 𝕂ₙₘ + kron(Iₘ, Xᵀ)", ("m", "m", "n", "m")),
    ("softmax(W@x + b)", "W", {}, "kron(xᵀ, diag(s) − s sᵀ) where s = softmax(W x + b)",
     ("n", "n", "m")),
    ("tanh(W@x)", "W", {}, "kron(xᵀ, diag(1 − tanh(W x)²))", ("n", "n", "m")),
]


@pytest.mark.parametrize("expr, wrt, shapes, text, shape", TENSORS,
                         ids=[f"{e} wrt {w}" for e, w, *_ in TENSORS])
def test_tensor_results(expr, wrt, shapes, text, shape):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert (str(d), d.shape) == (text, shape)
    values = invertible(d, 0) if "inv" in expr else None
    assert_verified(d, values=values)   # evaluate() has shape out.shape + wrt.shape, checked


def test_tensor_evaluate_by_hand():
    """∂(X⁻¹)/∂X as T[i, j, k, l] = −(X⁻¹)ᵢₖ (X⁻¹)ₗⱼ (Matrix Cookbook 59)."""
    d = matcalc.diff("inv(X)", wrt="X")
    X = np.array([[2.0, 1.0], [0.5, 3.0]])
    Y = np.linalg.inv(X)
    np.testing.assert_allclose(d.evaluate({"X": X}), -np.einsum("ik,lj->ijkl", Y, Y))


# Second derivatives: (expression, first wrt, second wrt, shapes, expected text, shape)
SECOND = [
    ("x^T@A@x", "x", "x", {}, "A + Aᵀ", ("n", "n")),
    ("x^T@A@x", "x", "x", {"A": "n,n,sym"}, "2A", ("n", "n")),
    ("sum(exp(x))", "x", "x", {}, "diag(exp(x))", ("n", "n")),
    ("logsumexp(x)", "x", "x", {}, "diag(s) − s sᵀ where s = softmax(x)", ("n", "n")),
    ("log(1 + exp(-y*(w·x)))", "w", "w", {}, "y² u (1 − u) x xᵀ where u = σ(−y (w·x))",
     ("n", "n")),
    ("sum(log(1 + exp(-y*(X@w))))", "w", "w", {},
     "Xᵀ diag(y² ⊙ u ⊙ (1 − u)) X where u = σ(−y ⊙ (X w))", ("m", "m")),
    ("norm(x)", "x", "x", {}, "(I − x xᵀ/‖x‖²)/‖x‖", ("n", "n")),
    ("sum((W@x + b - y)^2)", "b", "b", {}, "2Iₙ", ("n", "n")),
    ("sum((W@x + b - y)^2)", "W", "b", {}, "2kron(x, Iₙ)", ("n", "m", "n")),
    ("sum((W@x + b - y)^2)", "b", "W", {}, "2kron(xᵀ, Iₙ)", ("n", "n", "m")),
    ("w·x + b", "w", "b", {}, "0", ("n",)),
    ("x^3", "x", "x", {}, "6x", ()),
    ("sin(x)*y", "x", "y", {}, "cos(x)", ()),
    ("-sum(y*log(softmax(W@x + b)))", "b", "b", {"y": "n,prob"},
     "diag(s) − s sᵀ where s = softmax(W x + b)", ("n", "n")),
]


@pytest.mark.parametrize("expr, a, b, shapes, text, shape", SECOND,
                         ids=[f"{e} d{a} d{b}" for e, a, b, *_ in SECOND])
def test_second_derivatives(expr, a, b, shapes, text, shape):
    d2 = matcalc.diff(expr, wrt=a, shapes=shapes).diff(b)
    assert (str(d2), d2.shape) == (text, shape)
    assert_second_derivative(d2, a, b)
    if a == b:
        assert str(matcalc.hessian(expr, wrt=a, shapes=shapes)) == text


def test_second_derivative_oracle_can_fail():
    d2 = matcalc.diff("x^T@A@x", wrt="x").diff("x")
    wrong = matcalc.diff("x^T@A@A@x", wrt="x").diff("x")
    wrong.f = d2.f     # the Hessian of another function, checked against this one
    with pytest.raises(AssertionError):
        assert_second_derivative(wrong, "x", "x")


def test_named_intermediates_keep_printed_size_linear():
    """sum(tanh(W_L … tanh(W_1 x))) w.r.t. W_1: each layer's value is printed once."""
    lengths = []
    for layers in (2, 4, 8, 16):
        e = "x"
        for i in range(1, layers + 1):
            e = f"tanh(W{i}@{e})"
        text = str(matcalc.diff(f"sum({e})", wrt="W1"))
        lengths.append(len(text))
        assert text.count("tanh(W1 x)") <= 2
    steps = [b - a for a, b in zip(lengths, lengths[1:])]
    per_layer = [s / n for s, n in zip(steps, (2, 4, 8))]
    assert max(per_layer) < 1.5 * min(per_layer), lengths


def test_where_clause_in_latex():
    d = matcalc.diff("softmax(x)", wrt="x")
    assert d.latex == (r"\operatorname{diag}\left(\mathbf{s}\right) - \mathbf{s} "
                       r"\mathbf{s}^{\top} \quad \text{where } \mathbf{s} = "
                       r"\operatorname{softmax}\left(\mathbf{x}\right)")


def test_cli_second_order_and_symmetric_declaration(capsys):
    from matcalc.cli import main
    assert main(["diff", "x^T@A@x", "--wrt", "x", "--order", "2", "--shape", "A=n,n,sym"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["x ∈ ℝⁿ, A ∈ ℝⁿˣⁿ (symmetric)", "∂²/∂x² xᵀ A x = 2A    [n×n]"]
