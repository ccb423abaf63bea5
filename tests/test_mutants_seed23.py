"""Tests written against survivors of the seed-23 mutation sample (issue 13, part 2;
docs/mutation.md lists the sample)."""

import math

import pytest
import sympy

import matcalc
from matcalc.rules import RULES
from oracles import assert_verified


# -- an entry of a vector times a 1×1 product (simplify.index_of_known: (u c)ᵢ = uᵢ c; a
# mutant dropped uᵢ, and only the softmax of a literal reaches the rule)

def test_the_softmax_of_a_literal_against_weights():
    d = matcalc.diff("softmax([x, y]) @ [1, 2]", "x")
    assert str(d) == "(1 − softmax([x, y])ᵀ [1, 2]) (𝕖₁ᵀ softmax([x, y]))"
    for x, y in [(0.3, -0.7), (1.1, 0.4)]:
        s1 = math.exp(x) / (math.exp(x) + math.exp(y))
        want = s1 * (1 - (s1 + 2 * (1 - s1)))          # ∂/∂x (s₁ + 2 s₂) = s₁ (1 − (s₁ + 2 s₂))
        assert float(d.evaluate({"x": x, "y": y})) == pytest.approx(want, rel=1e-12)
    assert_verified(d)


# -- step's SymPy form keeps matcalc's convention at the kink, step(0) = 0 (rules._sp_step;
# the component check compares against it)

def test_the_sympy_form_of_step_is_zero_at_zero():
    t = sympy.Symbol("t", real=True)
    step = RULES["step"].sympy(t)
    assert [step.subs(t, v) for v in (-1, 0, sympy.Rational(1, 3))] == [0, 0, 1]
