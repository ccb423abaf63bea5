"""Tests written against the survivors of the seed-21 mutation sample (issue 13, part 2;
docs/mutation.md lists the sample), and against what probing them found.  Each checks what a
user sees, by exact form where the form is the point and against an independent oracle (finite
differences, SymPy's component expansion, a value computed by hand) where there is a
derivative."""

import math

import numpy as np
import pytest
import sympy

import matcalc
from matcalc import infer as infer_module
from matcalc import simplify
from matcalc.parse import parse_syntax
from oracles import assert_verified


# -- the logistic function written out (simplify._logistic: its second pass, over powers, was
# never needed by a test; probing it found that a squared denominator was not rewritten at
# all: ∂/∂x 1/(1 + e⁻ˣ) printed exp(−x)/(1 + exp(−x))²)

def _sigmoid(t):
    return 1 / (1 + math.exp(-t))


@pytest.mark.parametrize("text, want, value", [
    ("1/(1 + exp(-x))", "σ(−x) σ(x)", lambda t: _sigmoid(t) * _sigmoid(-t)),
    ("2/(1 + exp(-x))", "2σ(−x) σ(x)", lambda t: 2 * _sigmoid(t) * _sigmoid(-t)),
    ("1/(1 + exp(-x))^2", "2σ(−x) σ(x)²", lambda t: 2 * _sigmoid(t)**2 * _sigmoid(-t)),
    ("x + 1/(1 + exp(-x))", "1 + σ(−x) σ(x)", lambda t: 1 + _sigmoid(t) * _sigmoid(-t)),
    ("log(1 + exp(x))", "σ(x)", _sigmoid),
])
def test_the_logistic_written_out(text, want, value):
    d = matcalc.diff(text, "x")
    assert str(d) == want
    for t in (-1.3, 0.2, 2.1):
        assert float(d.evaluate({"x": t})) == pytest.approx(value(t), rel=1e-12)
    assert_verified(d)


@pytest.mark.parametrize("text, want, value", [
    # 1 − eˣ/(1 + eˣ) comes back from SymPy as a bare 1/(1 + eˣ), not a product
    ("x - log(1 + exp(x))", "σ(−x)", lambda t: _sigmoid(-t)),
    ("log(1 + exp(-x)) + x", "σ(x)", _sigmoid),
])
def test_the_logistic_alone_is_rewritten_too(text, want, value):
    d = matcalc.diff(text, "x")
    assert str(d) == want
    for t in (-1.3, 0.2, 2.1):
        assert float(d.evaluate({"x": t})) == pytest.approx(value(t), rel=1e-12)
    assert_verified(d)


# -- the entries of literals (simplify.index_of_known and _entry: probing a mutant that dropped
# the entry of a matrix literal found that entries of element-wise functions of vector literals
# and of outer products were never read, so ∂/∂x sum(sin(2 [x, y])) printed 2(𝕖₁ᵀ cos(2 [x, y])))

@pytest.mark.parametrize("text, wrt, want, value", [
    ("sum(sin([x, y] * 2))", "x", "2cos(2x)", lambda x, y: 2 * math.cos(2 * x)),
    ("sum(exp([[x, 1], [2, x]]) @ [1, 2])", "x", "3exp(x)", lambda x, y: 3 * math.exp(x)),
    ("[1, 0] @ exp([[x, y], [2, 3]]) @ [0, 1]", "y", "exp(y)", lambda x, y: math.exp(y)),
    ("[1, 0] @ [[x, y], [2, 3]] @ [0, 1]", "y", "1", lambda x, y: 1.0),
    ("trace(exp([[x, 1], [2, x]]))", "x", "2exp(x)", lambda x, y: 2 * math.exp(x)),  # ⊙ I
    ("trace([[x, y], [y, x]] @ [[x, 1], [1, x]])", "x", "4x", lambda x, y: 4 * x),
    # s₁ + s₂ of the softmax of [x + 1, x + 2]: every entry once is the sum, 1
    ("logsumexp([[x, 1], [2, x]] @ [1, 1])", "x", "1", lambda x, y: 1.0),
])
def test_entries_of_functions_of_literals(text, wrt, want, value):
    d = matcalc.diff(text, wrt)
    assert str(d) == want
    for x, y in [(0.3, -0.7), (1.1, 0.4)]:
        assert float(np.asarray(d.evaluate({"x": x, "y": y}))) == \
            pytest.approx(value(x, y), rel=1e-12)
    assert_verified(d)


@pytest.mark.parametrize("text, want, value", [
    ("logsumexp([x, y])", "u (1 − u) where u = 𝕖₁ᵀ softmax([x, y])",
     lambda x, y: math.exp(x) * math.exp(y) / (math.exp(x) + math.exp(y))**2),
    ("logsumexp([x*y, y])", "y² u (1 − u) where u = 𝕖₁ᵀ softmax([x y, y])",
     lambda x, y: y * y * math.exp(x * y) * math.exp(y) / (math.exp(x * y) + math.exp(y))**2),
    ("sum(exp([x, y]))", "exp(x)", lambda x, y: math.exp(x)),
])
def test_hessians_of_functions_of_literals_read_entry_by_entry(text, want, value):
    h = matcalc.hessian(text, "x")
    assert str(h) == want
    for x, y in [(0.3, -0.7), (1.1, 0.4)]:
        assert float(np.asarray(h.evaluate({"x": x, "y": y}))) == \
            pytest.approx(value(x, y), rel=1e-10)


# -- a Greek name with a subscript is Greek (infer.is_greek: θ₁ is θ with a subscript, a scalar
# coefficient by the convention; a mutant that did not split off the subscript made it a vector)

@pytest.mark.parametrize("text", ["sum(θ₁ * x)", "sum(θ_1 * x)", "sum(exp(θ₁) + x)"])
def test_a_greek_name_with_a_subscript_is_a_scalar(text):
    assert matcalc.parse(text).shapes == {"theta_1": (), "x": ("n",)}
    assert_verified(matcalc.diff(text, "x"))


# -- full factorisation only when it is shorter (simplify._factored: a tie keeps the sum as it is)

def test_a_factorisation_that_is_no_shorter_is_not_taken():
    u = sympy.Symbol("u")
    s = u * (u + 1)**2 + u + 1
    assert sympy.count_ops(sympy.factor(s)) == sympy.count_ops(sympy.factor_terms(s))
    assert simplify._factored(s) == sympy.factor_terms(s)


# -- shape inference that makes no progress ends in an internal error, not an endless loop
# (infer._solve's bound on its rounds)

def test_inference_that_makes_no_progress_ends_in_an_internal_error(monkeypatch):
    monkeypatch.setattr(infer_module, "_step", lambda prob, c, stage: False)
    with pytest.raises(AssertionError, match="^internal: shape inference made no progress$"):
        infer_module.infer(parse_syntax("W @ x + b"), text="W @ x + b")


# -- generated code multiplies a chain in the cheapest order (rules._chain_order: the cost of a
# product is rows × inner × columns; a mutant counted the first factor's columns as its rows)

@pytest.mark.parametrize("shapes, product", [
    ({"A": "3,2", "B": "2,50", "C": "50,2"}, "A @ (B @ C)"),      # 212 multiplications, not 600
    ({"A": "2,50", "B": "50,2", "C": "2,3"}, "(A @ B) @ C"),      # 212, not 600
])
def test_generated_code_multiplies_a_chain_in_the_cheapest_order(shapes, product):
    d = matcalc.diff("sum(A@B@C)", "A", shapes=shapes)
    g = matcalc.to_numpy(d, compile=True)
    assert f"= {product}\n" in g.source
    rng = np.random.default_rng(0)
    values = {n: rng.normal(size=tuple(int(k) for k in s.split(","))) for n, s in shapes.items()}
    f, grad = g(**values)
    assert f == pytest.approx(float(np.sum(values["A"] @ values["B"] @ values["C"])), rel=1e-12)
    assert np.allclose(grad, np.asarray(d.evaluate(values)), rtol=1e-12)


# -- the derivative of the 1-norm (rules.reduction: the order of a norm reaches its gradient
# through the table's params; a mutant dropped them, and ∂‖x‖₁/∂x became xᵀ/‖x‖₁: no test
# differentiated a 1-norm)

@pytest.mark.parametrize("text, wrt, want", [
    ("norm(x, 1)", "x", "sign(x)ᵀ"),
    ("norm(W@x, 1)", "x", "sign(W x)ᵀ W"),
    ("sum((X@w - y)^2) + lam*norm(w, 1)", "w", "(lam sign(w) + 2Xᵀ (X w − y))ᵀ"),  # the lasso
])
def test_the_derivative_of_a_one_norm(text, wrt, want):
    d = matcalc.diff(text, wrt)
    assert str(d) == want
    assert_verified(d, seeds=(0, 1, 2))
    assert matcalc.check(text, wrt, claim=want)


# -- found while probing _denominators: the cross-entropy with a negated upper-case label
# (infer._broadcast_step: inside sum, the product was a matrix by the case convention while its
# operands were unified as vectors, and sum(−Y ⊙ log(softmax(x))) was refused with "element-wise
# operands need equal shapes (vector of length ?; vector of length ?)")

@pytest.mark.parametrize("text, want", [
    ("sum(-Y * log(softmax(x)))", "(sum(Yᵀ 𝟙) softmax(x) − Yᵀ 𝟙)ᵀ"),
    ("sum(Y * log(softmax(x)))", "(Yᵀ 𝟙 − sum(Yᵀ 𝟙) softmax(x))ᵀ"),
])
def test_a_cross_entropy_with_a_negated_upper_case_label(text, want):
    assert matcalc.parse(text).shapes == {"Y": ("n", "m"), "x": ("m",)}
    d = matcalc.diff(text, "x")
    assert str(d) == want
    assert_verified(d, seeds=(0, 1))


# -- the shape functions of the table refuse what their operation does not take (rules: the
# smart constructors build derivative nodes through them, after inference has typed the user's
# text; a mutant that let dot take two equal matrices, or dropped a message, went unseen)

@pytest.mark.parametrize("op, shapes, message", [
    ("dot", ["2,3", "2,3"], "· needs two vectors of one length, not 2×3 and 2×3"),
    ("dot", ["2", "3"], "· needs two vectors of one length, not 2 and 3"),
    ("dot", ["scalar", "scalar"], "· needs two vectors of one length, not scalar and scalar"),
    ("add", ["2", "3"], "+: shapes 2 and 3 do not match (element-wise operands need equal "
                        "shapes, or one scalar)"),
    ("mul", ["2,3", "3,2"], "⊙: shapes 2×3 and 3×2 do not match (element-wise operands need "
                            "equal shapes, or one scalar)"),
    ("kron", ["scalar", "2"], "kron takes two matrices (or vectors), not scalar and 2"),
    ("softmax", ["2,3"], "softmax takes a vector, not 2×3"),
    ("logsumexp", ["2,3"], "logsumexp takes a vector, not 2×3"),
    ("diag", ["2,3"], "diag takes a vector or a square matrix, not 2×3"),
])
def test_the_table_refuses_shapes_its_operation_does_not_take(op, shapes, message):
    from matcalc.errors import ShapeError
    from matcalc.rules import RULES
    from matcalc.shapes import parse_shape
    with pytest.raises(ShapeError) as err:
        RULES[op].shape([parse_shape(s)[0] for s in shapes], ())
    assert err.value.message == message
    assert err.value.hint == ("for a scalar multiple write *" if op == "kron" else None)


# -- the cross-entropy of a softmax written out (simplify._denominators: a bare quotient term,
# u ⊙ (y ⊘ u − c), cancels against the factor it is multiplied by)

def test_the_cross_entropy_of_a_softmax_written_out():
    d = matcalc.diff("sum(y * log(exp(x) / sum(exp(x))))", "x")
    assert str(d) == "(y − sum(y) exp(x)/sum(exp(x)))ᵀ"
    assert_verified(d, seeds=(0, 1))


@pytest.mark.parametrize("text", ["Y * log(softmax(x))", "-Y * log(softmax(x))",
                                  "2 * Y * log(softmax(x))", "(-Y) * log(softmax(x))"])
def test_a_negated_or_scaled_upper_case_name_reads_as_the_name(text):
    # −Y ⊙ v and 2 Y ⊙ v read Y as Y ⊙ v does: a matrix, by the case convention (−Y was a
    # vector on its own and a matrix inside sum)
    assert matcalc.parse(text).shapes == {"Y": ("n", "m"), "x": ("m",)}
    assert matcalc.parse(f"sum({text})").shapes == {"Y": ("n", "m"), "x": ("m",)}
    assert_verified(matcalc.diff(f"sum({text})", "x"))


def test_a_difference_with_an_upper_case_term_keeps_its_partners_shape():
    # in a sum the term −B takes its partner's shape (x − B, as x − μ), not the case convention
    assert matcalc.parse("softmax(x - B)").shapes == {"x": ("n",), "B": ("n",)}
