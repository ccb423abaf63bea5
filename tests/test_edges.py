"""Edges of issue 13 (part 5): each gets its clear error or its right answer."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- a variable that simplification removes -------------------------------------------------


@pytest.mark.parametrize("expr", ["x^0", "x*0", "0*x"])
def test_a_variable_multiplied_by_0_has_derivative_0(expr):
    d = matcalc.diff(expr, wrt="x")
    assert str(d) == "0" and d.shape == ()
    simplified = "1" if expr == "x^0" else "0"
    note = f"x vanishes from {expr} once it is simplified (to {simplified}): the derivative is zero"
    assert d.notes == [note]
    assert d.shapes == {"x": ()} and d.check()


def test_a_vanished_variable_keeps_its_inferred_shape():
    d = matcalc.diff("sum(0*(x + y))", wrt="x", shapes={"y": "n"})
    assert d.shapes["x"] == ("n",) and str(d) == "0ᵀ" and d.shape == ("1", "n")


def test_an_unbound_size_left_by_a_vanished_variable(capsys):
    """a*sum(x^0) = a n: check() and evaluate() raised TypeError on the size n."""
    d = matcalc.diff("a*sum(x^0)", wrt="a")
    assert d.shapes == {"a": (), "x": ("n",)}
    assert d.check()
    with pytest.raises(matcalc.ShapeError, match="fix the size n") as err:
        d.evaluate({"a": 2.0})
    assert "give a value for x" in str(err.value)
    assert d.evaluate({"a": 2.0, "x": [1.0, 2.0, 3.0]}) == 3.0
    code, out, _ = run(capsys, "check", "a*sum(x^0)", "--wrt", "a")
    assert code == 0 and "✓" in out


# -- huge declared sizes ----------------------------------------------------------------------

HUGE = "1234567890123456789012345678901234567890"


def test_a_40_digit_size_is_checked_at_small_sizes(capsys):
    code, out, err = run(capsys, "diff", "sum(x*x)", "--wrt", "x", "--shape", f"x={HUGE}",
                         "--check")
    assert code == 0 and "Traceback" not in err
    assert "declared sizes never allocate" in out and "as N, a symbol" in out
    d = matcalc.diff("mean(x)", wrt="x", shapes={"x": "100000"})
    assert d.check() and "100000 as N" in d.checked.notes[0]


def test_a_claim_with_a_huge_numeric_size_asks_for_a_name(capsys):
    code, _, err = run(capsys, "check", "sum(x*x)", "--wrt", "x", "--shape", f"x={HUGE}",
                       "--claim", "2*x'")
    assert code == 2 and "declare it by a name" in err
    assert matcalc.check("sum(x*x)", "x", claim="2*x'", shapes={"x": "N"})


# -- evaluate's inputs ------------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ([1j, 2.0], "complex entries"),
    (None, "is None"),
    ("ab", "is text"),
    ([[1.0, 2.0], [3.0]], "not a rectangular array"),
    ([object(), 1.0], "not a number or an array of numbers"),
])
def test_evaluate_refuses_what_is_not_real_numbers(value, message):
    d = matcalc.diff("sum(w*x)", wrt="w")
    with pytest.raises(matcalc.MatcalcError, match=message):
        d.evaluate({"w": [1.0, 2.0], "x": value})


def test_evaluate_accepts_complex_numbers_with_no_imaginary_part():
    d = matcalc.diff("sum(w*x)", wrt="w")
    assert d.evaluate({"w": [1.0, 2.0], "x": np.array([3 + 0j, 4])}).tolist() == [[3.0, 4.0]]


def test_evaluate_takes_a_dict():
    with pytest.raises(matcalc.MatcalcError, match="takes a dict"):
        matcalc.diff("sum(w*x)", wrt="w").evaluate([1.0, 2.0])


# -- an ASCII terminal ------------------------------------------------------------------------


def test_an_ascii_terminal_gets_ascii_not_a_traceback():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "matcalc", "diff", "sum((W@x - y)^2)",
                           "--wrt", "W", "--check"], capture_output=True, cwd=ROOT, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("ascii")
    assert out.splitlines()[:2] == ["W in R^(nxm), x in R^m, y in R^n",
                                    "d/dW sum((W x - y)^2) = 2(W x - y) x'    [nxm]"]
    done = subprocess.run([sys.executable, "-m", "matcalc", "diff", "sum(w*", "--wrt", "w"],
                          capture_output=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert done.returncode == 2 and b"Traceback" not in done.stderr


# -- look-alike punctuation -------------------------------------------------------------------


def test_greek_ano_teleia_is_not_part_of_a_name():
    """U+0387 looks like the dot product · (U+00B7) but was a Greek 'letter' of the NAME
    rule: w·x was one scalar variable."""
    with pytest.raises(matcalc.ParseError) as err:
        matcalc.diff("w\u0387x", wrt="w")
    text = str(err.value)
    assert "GREEK ANO TELEIA" in text and "U+00B7" in text and "column 2" in text
    with pytest.raises(matcalc.ParseError, match="transpose"):
        matcalc.parse("x\u0374@A@x")          # the Greek numeral sign looks like '
    assert str(matcalc.diff("w·x", wrt="w")) == "xᵀ"
    assert len(matcalc.parse("α*x + ω").shapes) == 3      # Greek letters are letters


# -- an n×1 matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("expr, expected", [("X'@X", "2X"), ("sum(X*X)", "2X"),
                                            ("X'@A@X", "Aᵀ X + A X")])
def test_an_n_by_1_matrix_is_differentiated(expr, expected):
    d = matcalc.diff(expr, wrt="X", shapes={"X": "n,1"})
    assert str(d) == expected and d.shape == ("n", "1")
    assert d.check()


def test_no_message_says_internal_for_an_n_by_1_matrix(capsys):
    for expr in ["X'@X", "trace(X@X')", "sum(diag(X@X'))", "sum(W@X)"]:
        code, out, err = run(capsys, "check", expr, "--wrt", "X", "--shape", "X=n,1")
        assert "internal" not in err and code in (0, 2), (expr, err)


# -- --shape declarations ---------------------------------------------------------------------


def test_a_shape_given_twice_is_an_error(capsys):
    code, out, err = run(capsys, "diff", "sum(x)", "--wrt", "x", "--shape", "x=n",
                         "--shape", "x=m")
    assert code == 2 and "declares x twice" in err


def test_a_shape_for_a_name_not_in_the_expression_is_an_error(capsys):
    code, out, err = run(capsys, "diff", "sum(w*x)", "--wrt", "w", "--shape", "xx=n")
    assert code == 2 and "xx is not a variable of sum(w*x)" in err
    assert "did you mean x?" in err and "the variables are: w, x" in err


def test_a_shape_for_the_wrt_variable_not_in_the_expression_gives_0(capsys):
    code, out, err = run(capsys, "diff", "sum(x)", "--wrt", "z", "--shape", "z=m")
    assert code == 0
    assert out.splitlines()[1] == "∂/∂z sum(x) = 0ᵀ    [1×m]"
    assert "z does not appear in sum(x): the derivative is zero" in out


# -- a size that no variable carries (the m of ones(m)) is given by name; an Expression's
# evaluate counted only its variables' sizes and raised TypeError on ones(k) inside a sum

def test_a_size_no_variable_carries_is_given_by_name():
    d = matcalc.diff("sum(ones(m)@[[a, b]])", "a")
    assert d.evaluate({"a": 1.0, "b": 2.0, "m": 3}) == 3.0
    e = matcalc.parse("sum(ones(m)*a) + sum(ones(k))*b", {"a": "scalar"})
    assert e.evaluate({"a": 1.0, "b": 2.0, "m": 3, "k": 2}) == 7.0
    for bad, message in [({}, "evaluate needs values that fix the size k"),
                         ({"k": 0}, "the size k must be a positive whole number, not 0"),
                         ({"k": 2.5}, "the size k must be a positive whole number, not 2.5"),
                         ({"k": True}, "the size k must be a positive whole number, not True")]:
        with pytest.raises(matcalc.ShapeError) as info:
            e.evaluate({"a": 1.0, "b": 2.0, "m": 3, **bad})
        assert info.value.message == message
    with pytest.raises(matcalc.ShapeError) as info:
        d.evaluate({"a": 1.0, "b": 2.0})
    assert info.value.hint == ("a size that no variable carries (the m of ones(m)) is given "
                               "by name: {'m': 3}")


@pytest.mark.parametrize("key", [1, None, ("x",)])
def test_a_shape_declared_for_something_not_a_name_is_refused(key):
    """shapes={1: 'n'} was accepted and ignored (infer.declared_shapes passed it through)."""
    with pytest.raises(matcalc.ShapeError) as info:
        matcalc.parse("x", {key: "n"})
    assert info.value.message == f"shapes= maps variable names to shapes, not {key!r}"
