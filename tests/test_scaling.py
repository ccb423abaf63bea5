"""Large inputs work and give the right answer (issue 13, part 3: linear time).

No timings are asserted here (the machines are shared); ``benchmarks/scaling.py`` prints them.
Each input below was quadratic or worse before: thousands of factors, thousands of nested
calls, hundreds of matrices in a chain, a declared size of 100,000.
"""

import numpy as np

import matcalc
from matcalc.cli import main

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def test_a_product_of_2000_factors():
    n = 2000
    d = matcalc.diff("*".join(["x"] * n), wrt="x")
    assert str(d) == f"{n}x" + str(n - 1).translate(SUPERSCRIPT)
    assert float(d.evaluate({"x": 1.0005})) == np.float64(n * 1.0005 ** (n - 1))


def test_sigmoid_nested_2000_deep():
    n = 2000
    d = matcalc.diff("sigmoid(" * n + "x" + ")" * n, wrt="x")
    text = str(d)
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    assert all(f"u{k} (1 − u{k})" in text for k in (str(i).translate(sub) for i in (1, 2, n)))
    assert text.count(" = σ(") == n and "u₁ = σ(x)" in text
    x, slope = 0.3, 1.0                # the chain rule by hand: σ′ = σ (1 − σ) at each level
    for _ in range(n):
        x = 1 / (1 + np.exp(-x))
        slope *= x * (1 - x)
    assert np.isclose(float(d.evaluate({"x": 0.3})), slope, rtol=1e-9, atol=0)


def test_a_chain_of_500_matrices_prints_and_runs_as_numpy():
    n = 500
    names = [f"A{i}" for i in range(1, n + 1)]
    shapes = {a: "n,n" for a in names} | {"x": "n"}
    d = matcalc.diff("sum(" + "@".join(names) + "@x)", wrt="A1", shapes=shapes)
    assert str(d) == "𝟙 xᵀ " + " ".join(f"{a}ᵀ" for a in reversed(names[1:]))
    f_and_grad = matcalc.to_numpy([d], compile=True)     # the chain is computed in pieces
    rng = np.random.default_rng(1)
    values = {a: rng.uniform(-1, 1, (3, 3)) for a in names} | {"x": rng.uniform(-1, 1, 3)}
    f, grad = f_and_grad(**values)
    right = values["x"]
    for a in reversed(names[1:]):
        right = values[a] @ right
    assert np.allclose(f, np.sum(values["A1"] @ right))
    assert np.allclose(grad, np.outer(np.ones(3), right))     # ∂ sum(A1 r)/∂A1 = 𝟙 rᵀ


def test_a_huge_declared_size_is_checked_at_small_sizes(capsys):
    code = main(["check", "sum(x*x)", "--wrt", "x", "--shape", "x=100000"])
    out = capsys.readouterr().out
    assert code == 0 and "✓" in out and "[1×100000]" in out
    assert "declared sizes never allocate" in out and "checked that at small sizes" in out
