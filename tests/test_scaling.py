"""Large inputs work and give the right answer (issue 13, part 3: linear time).

No timings are asserted here (the machines are shared); ``benchmarks/scaling.py`` prints them.
Each input below was quadratic or worse before: thousands of factors, thousands of nested
calls, hundreds of matrices in a chain, a declared size of 100,000.
"""

import numpy as np
import pytest

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


def _power_gradient(W, x, n):
    """∂ sum(Wⁿ x)/∂W by hand: Σₖ (Wᵏ)ᵀ 𝟙 (Wⁿ⁻¹⁻ᵏ x)ᵀ."""
    ones = np.ones(len(x))
    total = np.zeros_like(W)
    for k in range(n):
        left = np.linalg.matrix_power(W, k).T @ ones
        right = np.linalg.matrix_power(W, n - 1 - k) @ x
        total += np.outer(left, right)
    return total


def test_a_power_of_200_factors_prints_in_linear_size():
    """sum(W@W@…@W@x) w.r.t. W: each of the N terms holds a product of up to N factors; a long
    chain keeps its products as shared pieces (expr.CHAIN_FLAT), so the printed result grows
    with N, not N² (it was 87.6 s and Θ(N²) characters at N = 200)."""
    sizes = {}
    rng = np.random.default_rng(3)
    W = rng.uniform(-0.4, 0.4, (3, 3))
    x = rng.uniform(-1, 1, 3)
    for n in (50, 100, 200):
        d = matcalc.diff("sum(" + "@".join(["W"] * n) + "@x)", wrt="W")
        text = str(d)
        sizes[n] = len(text)
        assert " where " in text                        # shared pieces, named once
        got = np.asarray(d.evaluate({"W": W, "x": x}), dtype=float)
        want = _power_gradient(W, x, n)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-300)
    assert sizes[200] <= 2.5 * sizes[100] and sizes[100] <= 2.5 * sizes[50]


def test_powers_just_past_the_flattening_limit_are_right():
    """At and just past expr.CHAIN_FLAT factors the chain changes representation; the value
    does not (W a 4×4 matrix, so a missing transpose shows), checked again by check()."""
    from matcalc.expr import CHAIN_FLAT
    rng = np.random.default_rng(4)
    W = rng.uniform(-0.5, 0.5, (4, 4))
    x = rng.uniform(-1, 1, 4)
    for n in (CHAIN_FLAT - 1, CHAIN_FLAT, CHAIN_FLAT + 1, CHAIN_FLAT + 2, 2 * CHAIN_FLAT + 3):
        d = matcalc.diff("sum(" + "@".join(["W"] * n) + "@x)", wrt="W")
        got = np.asarray(d.evaluate({"W": W, "x": x}), dtype=float)
        assert np.allclose(got, _power_gradient(W, x, n), rtol=1e-9, atol=1e-300), n
    assert matcalc.check("sum(" + "@".join(["W"] * 20) + "@x)", "W").equal


@pytest.mark.parametrize("n", [40, 320])
def test_a_transposed_long_chain_spells_out_flat(n):
    """(A1 ⋯ AN x)ᵀ y by A1: the transpose of a chain kept in pieces is spelled out through
    every piece at once, and prints without parentheses: y (A2 ⋯ AN x)ᵀ = y xᵀ ANᵀ ⋯ A2ᵀ.
    At 320 factors the pieces hold pieces (past CHAIN_FLAT² factors); flipping only the outer
    level printed shared pieces, "where Y = (A291 ⋯)", and took 5× as long."""
    names = [f"A{i}" for i in range(1, n + 1)]
    shapes = {a: "n,n" for a in names} | {"x": "n", "y": "n"}
    d = matcalc.diff("(" + "@".join(names) + "@x)' @ y", wrt="A1", shapes=shapes)
    assert str(d) == "y xᵀ " + " ".join(f"{a}ᵀ" for a in reversed(names[1:]))
    rng = np.random.default_rng(5)
    values = {a: rng.uniform(-1, 1, (3, 3)) / 1.2 for a in names}
    values |= {"x": rng.uniform(-1, 1, 3), "y": rng.uniform(-1, 1, 3)}
    right = values["x"]
    for a in reversed(names[1:]):
        right = values[a] @ right
    got = np.asarray(d.evaluate(values), dtype=float)
    assert np.allclose(got, np.outer(values["y"], right), rtol=1e-9, atol=0)


def test_a_sum_too_large_for_sympy_keeps_the_order_of_the_text():
    """Reverse mode meets the last term first; past simplify's ALGEBRA_LIMIT the terms were
    printed a1000 + a999 + … (SymPy's round trip orders smaller sums by the text)."""
    from matcalc.simplify import ALGEBRA_LIMIT
    n = ALGEBRA_LIMIT + 100
    d = matcalc.diff(" + ".join(f"a{i}*x" for i in range(1, n + 1)), "x")
    assert str(d) == " + ".join(f"a{i}" for i in range(1, n + 1))
    values = {f"a{i}": float(i) for i in range(1, n + 1)}
    values["x"] = 0.5
    assert d.evaluate(values) == sum(range(1, n + 1))
