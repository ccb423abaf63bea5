"""Batched models (issue 11, part 4): a matrix of probability rows (``prob`` for matrices), the
rewrites that use it, and the textbook forms of batched layers and losses — each with its exact
expected form and both oracles (finite differences and SymPy component expansion) at distinct
dimensions (N ≠ n ≠ k)."""

import numpy as np
import pytest
import sympy

import matcalc
from matcalc import expr as E
from matcalc import render, verify
from matcalc.cli import main
from matcalc.shapes import Shape, dim, parse_shape
from matcalc.simplify import (product_cancels_quotient, rows_sum_to_one, simplify,
                              sum_of_constant)
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
    Z = E.var("Z", Shape((N, k)))
    for Y, text in ((LABELS, "softmax(Z, axis=1) − Y"),
                    (PLAIN, "(Y 𝟙𝟙ᵀ) ⊙ softmax(Z, axis=1) − Y")):
        S = matcalc.parse("softmax(Z, axis=1)", shapes={"Z": "N,k"}).node
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


# -- notes, help and shapes line -------------------------------------------------------------

def test_note_suggests_declaring_the_rows_of_labels():
    f = "-sum(Y*log_softmax(X@W + b, axis=1))/N"
    d = matcalc.diff(f, wrt="W", shapes={"X": "N,n", "Y": "N,k"})
    assert str(d) == "Xᵀ ((Y 𝟙𝟙ᵀ) ⊙ softmax(X W + 𝟙 bᵀ, axis=1) − Y)/N"
    assert d.notes == ["Y 𝟙 = 𝟙 when each row of Y holds probabilities or one-hot labels: "
                       "declare it (--shape Y=N,k,prob or shapes={'Y': 'N,k,prob'}) to simplify"]
    d = matcalc.diff(f, wrt="W", shapes={"X": "N,n", "Y": "N,k,prob"})
    assert str(d) == "Xᵀ (softmax(X W + 𝟙 bᵀ, axis=1) − Y)/N" and d.notes == []
    # a vector's log_softmax leaves sum(y): the note for vectors says so too
    d = matcalc.diff("-sum(y*log_softmax(W@x))", wrt="W")
    assert d.notes == ["sum(y) = 1 when y holds probabilities or one-hot labels: declare it "
                       "(--shape y=n,prob or shapes={'y': 'n,prob'}) to simplify"]


def test_cli_declares_probability_rows(capsys):
    argv = ["diff", "-sum(Y*log_softmax(X@W + b, axis=1))/N", "--wrt", "b",
            "--shape", "Y=N,k,prob", "--shape", "X=N,n", "--check"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Y ∈ ℝᴺˣᵏ (each row sums to 1), X ∈ ℝᴺˣⁿ, W ∈ ℝⁿˣᵏ, b ∈ ℝᵏ, N ∈ ℝ"
    assert out[1].endswith("= 𝟙ᵀ (softmax(X W + 𝟙 bᵀ, axis=1) − Y)/N    [1×k]")
    assert out[2] == "  ✓ verified by SymPy component expansion"
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    assert "Y=N,k,prob (each row sums to 1" in " ".join(capsys.readouterr().out.split())
