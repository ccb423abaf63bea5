"""Definitions that use each other ("where s₂ = s₁ + s₁, s₃ = s₂ + s₂, …") make a small graph
that is exponential as a tree.  Every stage must work on the graph: a chain of 40 definitions
was 2⁴⁰ terms in the parser's flattened sum, 2⁴⁰ nodes in SymPy's factor_terms, and a check's
message printed the function out as a tree (a MemoryError)."""

from __future__ import annotations

import numpy as np

import matcalc

K = 40


def _chain(first: str, step: str, k: int = K) -> str:
    defs = [first] + [step.format(i=i, j=i - 1) for i in range(2, k + 1)]
    return ", ".join(defs)


def test_a_chain_of_doubling_sums_is_a_power_of_two():
    text = f"sum(s{K}) where " + _chain("s1 = x + x", "s{i} = s{j} + s{j}")
    d = matcalc.diff(text, "x")
    assert str(d) == f"{2 ** K}𝟙ᵀ"
    got = np.asarray(d.evaluate({"x": np.array([0.5, -1.0, 2.0])}), dtype=float)
    assert np.array_equal(got, np.full((1, 3), 2.0 ** K))


def test_a_chain_of_doubling_products_is_a_power():
    text = "sum(s6) where " + _chain("s1 = x * x", "s{i} = s{j} * s{j}", 6)
    d = matcalc.diff(text, "x")
    assert str(d) == "64(x⁶³)ᵀ"                   # x^64: one power, as SymPy folds it
    x = np.array([0.9, -1.01, 1.02])
    got = np.asarray(d.evaluate({"x": x}), dtype=float)
    assert np.allclose(got, 64 * x ** 63, rtol=1e-12)


def _sin_cos_chain(x, k):
    """s₁ = sin(x), sᵢ = sin(sᵢ₋₁) + cos(sᵢ₋₁): the value and the derivative, forward."""
    s, ds = np.sin(x), np.cos(x)
    for _ in range(2, k + 1):
        s, ds = np.sin(s) + np.cos(s), (np.cos(s) - np.sin(s)) * ds
    return s, ds


def test_a_chain_of_functions_used_twice_is_differentiated_and_checked():
    k = 24                                       # 2²⁴ as a tree
    text = f"sum(s{k}) where " + _chain("s1 = sin(x)", "s{i} = sin(s{j}) + cos(s{j})", k)
    d = matcalc.diff(text, "x", shapes={"x": "n"})
    x = np.array([0.3, -0.7, 1.1])
    got = np.asarray(d.evaluate({"x": x}), dtype=float)
    assert np.allclose(got.ravel(), _sin_cos_chain(x, k)[1], rtol=1e-9, atol=0)
    assert " where " in str(d) and len(str(d)) < 20_000
    verdict = d.verdict()
    assert verdict.equal
    message = str(verdict)                       # the function named once, in pieces
    assert message.startswith(f"equal: ∂/∂x sum(sin(z{_sub(k - 2)}) + cos(z{_sub(k - 2)})) "
                              f"where z₁ = sin(sin(x)) + cos(sin(x)), z₂ = sin(z₁) + cos(z₁)")
    assert len(message) < 50_000
    steps = str(d.steps)
    assert "Substitute back" in steps and len(steps) < 1_000_000


def test_a_small_operand_prints_as_written():
    """Only a function too large to print as a tree names pieces in a check's message."""
    verdict = matcalc.check("sin(x)*sin(x) + sin(x)", "x")
    assert str(verdict).startswith("equal: ∂/∂x (sin(x) sin(x) + sin(x)) = (1 + 2sin(x)) cos(x)")


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
