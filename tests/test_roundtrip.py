"""The text of every result is a matcalc expression (issue 12): parsing what matcalc prints, with
the shapes it reports, gives back the same value.  The long run over 2,000+ generated
expressions is benchmarks/roundtrip.py; here a sample of them, and the notations by name."""

import numpy as np
import pytest

import matcalc
from matcalc import verify
from checking import round_trip
from strategies import RandomSource, generate


@pytest.mark.parametrize("seed", range(0, 400, 4))
def test_generated_results_read_back(seed):
    sample = generate(RandomSource(seed))
    failures = [f for f in round_trip(sample, seed) if f is not None]
    assert not failures, failures


# Each notation matcalc prints, in a result that must read back
NOTATIONS = [
    ("sum(w*x)", "w", {}, "xᵀ"),                                     # ᵀ
    ("max(0, w·x + b)", "w", {}, "0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0"),   # cases
    ("mean((y - max(0, X@w + b))^2)", "w", {"X": "N,n", "b": "scalar"},
     "2/N (step(z) ⊙ (z − y))ᵀ X where z = X w + b"),               # where, 2/N
    ("softmax(x)", "x", {}, "diag(s) − s sᵀ where s = softmax(x)"),  # diag, named
    ("W@x", "W", {}, "kron(xᵀ, Iₙ)"),                               # Kronecker, sized I
    ("X^T", "X", {}, "𝕂ₙₘ"),                                        # commutation
    ("diag(x)", "x", {}, "𝔻ₙ"),                                     # diagonal embedding
    ("norm(x)^3", "x", {}, "3 ‖x‖ xᵀ"),                             # ‖·‖ after a number
    ("x/norm(x)", "x", {}, "(I − x xᵀ/‖x‖²)/‖x‖"),
    ("sqrt(x)", "x", {"x": "scalar"}, "1/(2√x)"),                   # √
    ("sum(sigmoid(x))", "x", {}, "(σ(x) ⊙ (1 − σ(x)))ᵀ"),           # σ
    ("sum(X^3)", "X", {}, "3X^∘2"),                                  # Hadamard power
    ("mean(x)", "x", {}, "1/n 𝟙ᵀ"),                                 # 𝟙 with its size
    ("sum(relu(x))", "x", {}, "step(x)ᵀ"),                           # step
    ("det(X)", "X", {}, "det(X) X⁻ᵀ"),                               # ⁻ᵀ
    ("[3*x^2*y, 2*x + y^8]", "[x, y]", {}, "[[6x y, 3x²], [2, 8y⁷]]"),  # a literal matrix
    ("lambda*w·w", "w", {}, "2λ wᵀ"),                                # Greek
]


@pytest.mark.parametrize("expr, wrt, shapes, text", NOTATIONS, ids=[n[0] for n in NOTATIONS])
def test_notations_read_back(expr, wrt, shapes, text):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    back = matcalc.parse(text, shapes=d.shapes)
    rng = np.random.default_rng(7)
    sizes = {"n": 3, "m": 4, "N": 5}
    dims = {matcalc.shapes.dim(k): v for k, v in sizes.items()}
    values = {}
    for name, shape in d.shapes.items():
        dshape = tuple(sizes[s] for s in shape)
        values[name] = rng.uniform(0.3, 1.5, size=dshape) if dshape else rng.uniform(0.3, 1.5)
    used = {n: values[n] for n in matcalc.expr.free_vars(d.expression)}
    want = np.ravel(np.asarray(verify.evaluate(d.expression, used, dims), dtype=float))
    got = np.ravel(back.evaluate(values))
    np.testing.assert_allclose(np.broadcast_to(got, want.shape), want, rtol=1e-10)


@pytest.mark.parametrize("expr, text, value", [
    # a column beside scalars alone keeps its 𝟙: 3 − s would read as a scalar, its sum n times
    # too small
    ("sum(exp(3*ones(n) - s))", "−sum(exp(3𝟙ₙ − s))", lambda s, n: -n * np.exp(3 - s)),
    # −n, not −-1 n (the sign of a number made of dimensions was printed twice)
    ("-sum(ones(n)*s)", "−n", lambda s, n: -n),
])
def test_results_with_a_size_no_variable_carries(expr, text, value):
    d = matcalc.diff(expr, "s", shapes={"s": "scalar"})
    assert str(d) == text
    assert "-1" not in d.latex
    back = matcalc.parse(text, shapes=d.shapes)
    dims = {matcalc.shapes.dim("n"): 4}
    for node in (d.expression, back.node):     # a size read back is a variable: its value
        values = {"s": 0.7, "n": 4.0} if "n" in matcalc.expr.free_vars(node) else {"s": 0.7}
        got = float(np.asarray(verify.evaluate(node, values, dims), dtype=float))
        assert got == pytest.approx(value(0.7, 4), rel=1e-12)


def test_pasted_output_gets_no_wrong_hint():
    """matcalc's own notation pasted back is read, not refused with a look-alike hint."""
    for text in ["xᵀ", "x²", "w₁ + 2"]:
        matcalc.parse(text)
