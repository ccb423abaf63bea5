"""The structured constants as printed (𝕂ₘₙ, 𝔻ₙ, 𝕖ᵢ) read back with their subscripts: 𝕂 takes
two (one character each, as the printer writes 𝕂₂₃ for 𝕂 of 2 and 3), 𝔻 and 𝕖 one (𝕖₁₂ is
𝕖 of 12).  A wrong count is a clear error with a caret (it was an IndexError traceback for 𝕂₂,
and extra subscripts were dropped silently)."""

import numpy as np
import pytest

import matcalc
from oracles import assert_verified


def test_commutation_matrix_of_numeric_sizes_reads_back_as_printed():
    e = matcalc.parse("𝕂_(2,3) @ vec(X)", {"X": "2,3"})
    assert str(e) == "𝕂₂₃ vec(X)" and e.shape == ("6",)
    back = matcalc.parse(str(e), {"X": "2,3"})
    assert str(back) == str(e)
    X = np.arange(6.0).reshape(2, 3)
    assert np.allclose(back.evaluate({"X": X}), X.T.ravel(order="F"))   # 𝕂 vec(X) = vec(Xᵀ)


def test_a_derivative_through_numeric_commutation_is_right():
    d = matcalc.diff("sum(sin(𝕂₂₃ @ vec(X)))", "X", shapes={"X": "2,3"})
    assert_verified(d)


@pytest.mark.parametrize("text, message", [
    ("𝕂₂ @ x", "𝕂 takes two subscripts, not 1\nline 1, column 1:\n  𝕂₂ @ x\n  ^^\n"
               "write 𝕂ₘₙ or 𝕂_(2,3)"),
    ("𝕂_(2) @ x", "𝕂 takes two subscripts, not 1\nline 1, column 1:\n  𝕂_(2) @ x\n  ^^^^^\n"
                  "write 𝕂ₘₙ or 𝕂_(2,3)"),
    ("𝕂ₘₙₖ", "𝕂 takes two subscripts, not 3\nline 1, column 1:\n  𝕂ₘₙₖ\n  ^^^^\n"
            "write 𝕂ₘₙ or 𝕂_(2,3)"),
    ("𝕖_(1,2)", "𝕖 takes one subscript, not 2\nline 1, column 1:\n  𝕖_(1,2)\n  ^^^^^^^\n"
               "write 𝕖₂ or 𝕖_(12)"),
    ("𝔻_(2,3)", "𝔻 takes one subscript, not 2\nline 1, column 1:\n  𝔻_(2,3)\n  ^^^^^^^\n"
               "write 𝔻ₙ or 𝔻_(12)"),
    # the entry of a unit vector is a number from 1 (𝕖ᵢ ended in a traceback: int('i'))
    ("𝕖ᵢ@x", "the unit vector 𝕖 takes the number of its entry, counted from 1, not 'i'\n"
             "line 1, column 1:\n  𝕖ᵢ@x\n  ^^\nwrite 𝕖₂ or 𝕖_(12)"),
    ("𝕖₀@x", "the unit vector 𝕖 takes the number of its entry, counted from 1, not '0'\n"
             "line 1, column 1:\n  𝕖₀@x\n  ^^\nwrite 𝕖₂ or 𝕖_(12)"),
    ("sum(x) + 𝕖_(n)@x", "the unit vector 𝕖 takes the number of its entry, counted from 1, "
                         "not 'n'\nline 1, column 10:\n  sum(x) + 𝕖_(n)@x\n           ^^^^^\n"
                         "write 𝕖₂ or 𝕖_(12)"),
])
def test_a_wrong_number_of_subscripts_is_a_clear_error(text, message):
    with pytest.raises(matcalc.ParseError) as info:
        matcalc.parse(text)
    assert str(info.value) == message


def test_cli_exits_2_on_a_wrong_subscript_count(capsys):
    from matcalc.cli import main
    assert main(["diff", "sum(𝕂₂ @ x)", "--wrt", "x"]) == 2
    assert "𝕂 takes two subscripts" in capsys.readouterr().err


@pytest.mark.parametrize("text, shape", [("𝕖₁₂", ("n",)), ("𝔻₂₃", ("529", "23"))])
def test_one_subscript_of_digits_is_one_number(text, shape):
    assert matcalc.parse(text).shape == shape
