"""The language NumPy users write (issue 11): ``@`` on 1-D operands, broadcasting, axes, the case
convention of shape inference.  Where NumPy's reading changed an old one, the table below shows
the old reading beside the new; every new reading is checked by both oracles."""

import numpy as np
import pytest

import matcalc
from oracles import assert_verified

# (expression, declared shapes, what it meant before, how it reads now, the shapes now)
READINGS = [
    ("w@x", {"w": "n", "x": "n"}, "a shape error", "wᵀ x", {"w": ("n",), "x": ("n",)}),
    ("x@W", {"x": "n"}, "a shape error", "Wᵀ x", {"x": ("n",), "W": ("n", "m")}),
    ("a@x", {}, "a x with a a matrix", "aᵀ x", {"a": ("n",), "x": ("n",)}),
    ("x@A@y", {}, "a shape error", "xᵀ A y", {"x": ("n",), "A": ("n", "m"), "y": ("m",)}),
    ("A@x@B", {}, "a shape error", "Bᵀ A x",
     {"A": ("n", "m"), "x": ("m",), "B": ("n", "k")}),
    ("X@W + b", {}, "b an N×k matrix", "X W + 𝟙 bᵀ",
     {"X": ("n", "m"), "W": ("m", "k"), "b": ("k",)}),
    ("x + A", {"x": "n", "A": "n,n"}, "a shape error", "𝟙 xᵀ + A",
     {"x": ("n",), "A": ("n", "n")}),
    ("W@x + W", {}, "a shape error", "𝟙 xᵀ Wᵀ + W", {"W": ("n", "n"), "x": ("n",)}),
    ("x·A@x", {}, "a shape error (x·A first)", "x·(A x)", {"x": ("n",), "A": ("n", "n")}),
    ("0.5*lam*w·w", {}, "lam a vector", "(1/2 lam w)·w", {"lam": (), "w": ("n",)}),
    ("A^2", {}, "A a scalar", "A^∘2", {"A": ("n", "m")}),
    ("lam*I + A", {}, "I a variable matrix", "lam I + A", {"lam": (), "A": ("n", "n")}),
    ("sum(x)/N", {}, "N a scalar", "sum(x)/N", {"x": ("n",), "N": ()}),
    ("trace(x^T@x)", {}, "a shape error", "xᵀ x", {"x": ("n",)}),
    ("(c^T@a)@x^T", {}, "a shape error", "(cᵀ a) xᵀ", {"c": ("n",), "a": ("n",), "x": ("m",)}),
    ("sum(X, axis=0)", {}, "a parse error", "Xᵀ 𝟙", {"X": ("n", "m")}),
    ("X - mean(X, axis=0)", {}, "a parse error", "X − 1/n 𝟙𝟙ᵀ X", {"X": ("n", "m")}),
    ("softmax(X, axis=1)", {}, "a parse error", "softmax(X, axis=1)", {"X": ("n", "m")}),
    ("x'*A*x", {}, "a shape error", "A ⊙ (𝟙 xᵀ) ⊙ (𝟙 xᵀ)", {"x": ("n",), "A": ("m", "n")}),
    ("X*v", {}, "v a matrix like X", "v X", {"X": ("n", "m"), "v": ()}),
    ("X*v", {"v": "m"}, "a shape error", "X ⊙ (𝟙 vᵀ)", {"X": ("n", "m"), "v": ("m",)}),
    ("Q@K.T/sqrt(d)", {}, "d a matrix", "Q Kᵀ/√d", {"Q": ("n", "m"), "K": ("k", "m"), "d": ()}),
]


@pytest.mark.parametrize("expr, shapes, old, new, inferred", READINGS,
                         ids=[r[0] for r in READINGS])
def test_new_readings(expr, shapes, old, new, inferred):
    e = matcalc.parse(expr, shapes)
    assert str(e) == new.split(" → ")[-1]
    assert e.shapes == inferred
    for name in e.shapes:
        assert_verified(matcalc.diff(e, wrt=name), domain=(0.2, 2.0) if "sqrt" in expr else
                        (-2.0, 2.0))


def test_numpy_agrees_on_the_values():
    """Each reading evaluates as NumPy evaluates the same expression."""
    rng = np.random.default_rng(1)
    x, y, w = rng.normal(size=3), rng.normal(size=4), rng.normal(size=3)
    X, W, A, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), \
        rng.normal(size=4)
    cases = [
        ("w@x", {"w": w, "x": x}, w @ x),
        ("x@A", {"x": x, "A": A}, x @ A),
        ("x@A@y", {"x": x, "A": A, "y": y}, x @ A @ y),
        ("X@W + b", {"X": X, "W": W, "b": b}, X @ W + b),
        ("sum(X, axis=0)", {"X": X}, X.sum(axis=0)),
        ("mean(X, axis=1)", {"X": X}, X.mean(axis=1)),
        ("X*v", {"X": X, "v": x}, X * x),
        ("X - mean(X, axis=0)", {"X": X}, X - X.mean(axis=0)),
    ]
    for expr, values, want in cases:
        e = matcalc.parse(expr, {"v": "m"} if "v" in expr else None)
        d = matcalc.diff(e, wrt=next(iter(e.shapes)))
        from matcalc import verify
        dims = verify.bind_dims({n: v.shape for n, v in matcalc.expr.free_vars(e.node).items()},
                                values)
        got = verify.evaluate(e.node, values, dims)
        np.testing.assert_allclose(np.asarray(got, dtype=float), want, err_msg=expr)
        assert d is not None


# Bad input NumPy would refuse, or the language does: each a clear error saying what to write.
BAD = [
    ("2 @ x", {}, "write * to scale"),
    ("x + A", {"x": "m", "A": "n,n"}, "element-wise operands need equal shapes"),
    ("softmax(X@W)", {}, "softmax(X, axis=1)"),
    ("logsumexp(X)", {}, "logsumexp(X, axis=1)"),
    ("sum(x, axis=1)", {"x": "n"}, "out of range for a vector"),
    ("sum(X, axis=2)", {}, "axis must be 0, 1 or -1"),
    ("sum(X, axes=0)", {}, "no keyword argument 'axes'"),
    ("exp(X, axis=0)", {}, "no keyword argument 'axis'"),
    ("sum(axis=0, X)", {}, "positional argument after a keyword"),
    ("[x, axis=1]", {}, "vector literal"),
    ("leaky_relu(x, W)", {"W": "n,n"}, "slope of leaky_relu must be a scalar"),
    ("kron(2, X)", {}, "kron takes two matrices"),
    ("eye(x + 1)", {}, "sizes"),
]


@pytest.mark.parametrize("expr, shapes, fragment", BAD, ids=[b[0] for b in BAD])
def test_clear_errors(expr, shapes, fragment):
    with pytest.raises(matcalc.MatcalcError) as info:
        matcalc.parse(expr, shapes)
    assert fragment in str(info.value)
    assert "line 1, column" in str(info.value)


def test_a_product_of_rows_notes_the_broadcast():
    d = matcalc.diff("x'*A*x", wrt="x")
    assert any("broadcast" in n and "@" in n for n in d.notes)
