"""The check that cannot be fooled (issue 13, part 1): ``matcalc check --claim``,
``matcalc.check`` and ``Derivative.check``.  Every wrong claim of the issue is refused with a
counterexample, right claims in other forms are accepted, kinks are tested on both sides and at
the kink itself, a claim of the wrong shape says what is expected, and a sample of perturbed
derivatives (a sign, a transpose, a dropped term, a factor 1 + 10⁻⁶) is refused."""

import io

import numpy as np
import pytest
import sympy
from checking import PERTURBATIONS, differs, perturbed, problem_for
from strategies import RandomSource, Sample, generate

import matcalc
from matcalc import checker, terminal
from matcalc import expr as E
from matcalc.cli import main

# (expression, wrt, wrong claim): every one was accepted by the check before issue 13
WRONG = [
    ("relu(x-5)", "x", "0"),
    ("sum(relu(x-5))", "x", "0"),
    ("max(x,3)", "x", "0"),
    ("x^2", "x", "2*x + max(0, x - 8/5)"),
    ("relu(x)", "x", "step(x + 1/2)"),
    ("[sqrt(x-2), x^2]", "x", "[7, 2*x]"),             # the first entry is real for x > 2 only
    ("mean(x)", "x", "1/2*(x*0 + 1)'"),                 # right at n = 2 only
    ("sum(exp(x))", "x", "exp(x)'*(1 + 1e-10)"),        # off by a relative 10⁻¹⁰
]

RIGHT = [
    ("sum(w*x)", "w", "x'", {}),
    ("sum(w*x)", "w", "x^T", {}),
    ("sum(w*x)", "w", "transpose(x)", {}),
    ("sum(w*x)", "w", "x.T", {}),
    ("relu(x)", "x", "step(x)", {}),                    # relu′(0) = 0 = step(0)
    ("abs(x)", "x", "sign(x)", {}),
    ("max(x,3)", "x", "1 - step(3 - x)", {}),           # a tie goes to x
    ("mean(x)", "x", "(x*0 + 1)'/n", {}),               # the size's name as a number
    ("[sqrt(x-2), x^2]", "x", "[1/(2*sqrt(x-2)), 2*x]", {}),
    ("sum(exp(x))", "x", "exp(x)'", {}),
    ("x^2", "x", "x + x", {}),
    ("sum((W@x + b - y)^2)", "W", "2*(W@x + b - y)@x'", {}),
    ("sum((W@x + b - y)^2)", "x", "2*(W@x + b - y)'@W", {}),
    ("max(0, w·x + b)", "w", "step(w·x + b)*x'", {}),
    ("sigmoid(W@x + b)", "x", "diag(sigmoid(W@x + b)*(1 - sigmoid(W@x + b)))@W", {}),
    ("x'@A@x", "x", "x'@(A + A')", {}),
    ("logdet(X)", "X", "inv(X)'", {"X": "n,n"}),
]


@pytest.mark.parametrize("expr, wrt, claim", WRONG, ids=[f"{e} ≠ {c}" for e, _, c in WRONG])
def test_every_wrong_claim_of_the_issue_is_refused_with_a_counterexample(expr, wrt, claim):
    verdict = matcalc.check(expr, wrt, claim=claim)
    assert not verdict
    ce = verdict.counterexample
    assert ce is not None and wrt in ce.point
    assert ce.claimed is None or float(ce.claimed) != float(ce.true) or \
        sympy.nsimplify(ce.claimed) != sympy.nsimplify(ce.true)
    text = str(verdict)
    assert text.startswith("not equal") and "claimed" in text and "true" in text


def test_the_counterexamples_are_where_the_claims_are_wrong():
    v = matcalc.check("[sqrt(x-2), x^2]", "x", claim="[7, 2*x]")
    assert v.counterexample.point["x"] > 2 and v.counterexample.entry == (0,)
    v = matcalc.check("mean(x)", "x", claim="1/2*(x*0 + 1)'")
    assert v.counterexample.sizes["n"] != 2 and v.counterexample.true == sympy.Rational(
        1, v.counterexample.sizes["n"])
    v = matcalc.check("relu(x)", "x", claim="step(x + 1/2)")
    assert -0.5 <= v.counterexample.point["x"] <= 0
    v = matcalc.check("sum(exp(x))", "x", claim="exp(x)'*(1 + 1e-10)")
    ce = v.counterexample
    assert abs(float(ce.claimed) / float(ce.true) - (1 + 1e-10)) < 1e-14


@pytest.mark.parametrize("expr, wrt, claim, shapes", RIGHT,
                         ids=[f"{e} = {c}" for e, _, c, _ in RIGHT])
def test_right_claims_in_other_forms_are_equal(expr, wrt, claim, shapes):
    verdict = matcalc.check(expr, wrt, claim=claim, shapes=shapes)
    assert verdict, str(verdict)
    assert verdict.points > 0 and verdict.precise > 0


def test_the_convention_at_the_kink_itself_is_checked():
    """max(x, 3) sends the tie x = 3 to x: step(x − 3) is right on both sides, not at 3."""
    v = matcalc.check("max(x, 3)", "x", claim="step(x - 3)")
    assert not v and v.counterexample.point["x"] == 3
    assert "at the kink x − 3 = 0" in v.counterexample.where
    assert "tie" in v.counterexample.where
    # (sign(x) + 1)/2 is 1/2 at 0, where relu′(0) = 0
    v = matcalc.check("relu(x)", "x", claim="(sign(x) + 1)/2")
    assert not v and v.counterexample.point["x"] == 0 and v.counterexample.true == 0
    # both sides of a kink the claim (not the expression) has
    assert matcalc.check("relu(x)", "x", claim="step(x)").kinks > 0


def test_probability_rows_stay_on_their_constraint_at_kinks():
    """A ``prob`` variable is fixed along each line, and at a kink the refined point keeps each
    row of a ``prob`` matrix summing to 1: cross-entropy through a relu layer, whose derivative
    uses that the rows of Y sum to 1, is right at the kinks too."""
    for expr, wrt, shapes in [
            ("-sum(y*log_softmax(relu(W@x)))", "W", {"y": "k,prob", "x": "n"}),
            ("-sum(Y*log_softmax(relu(X@W1)@W2, axis=1))/N", "W1", {"X": "N,n", "Y": "N,k,prob"})]:
        d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
        verdict = d.verdict()
        assert verdict and verdict.kinks > 0, str(verdict)


@pytest.mark.parametrize("expr, wrt", [
    ("c - softmax(d - x)", "[c, d]"),
    ("c + softmax(d + x)", "[d, c]"),
    ("erf(tanh(elu(d, c)) - softmax(d - x))", "d"),
    ("erf(tanh(elu(d, c)) - softmax(d - x))", "[d, c]"),
])
def test_a_slope_lost_to_cancellation_does_not_poison_exact_sums(expr, wrt):
    """softmax(d − x) does not move with d: in 60 digits its slope along d cancels to a float
    of one bit (10⁻¹⁹⁰), which added to c's exact slope 3 made 4 — the soak saw right results
    refused.  They are equal now, and a wrong claim there is still refused."""
    shapes = {"c": "scalar", "d": "scalar", "x": "n"}
    verdict = matcalc.diff(expr, wrt=wrt, shapes=shapes).verdict()
    assert verdict, str(verdict)
    assert not matcalc.check("c - softmax(d - x)", "d", claim="-softmax(d - x)", shapes=shapes)


class _Residue:
    """A stand-in for the precise tier at one point: the difference it finds is ``real`` plus
    a rounding residue 10⁴⁸⁻ᵈ of the precision d in use (a softmax's column sums, 1 to d
    digits, times a cosh of 10⁴⁸ — what the soak met at seed 347)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def _precise_once(self, exact_point, V, where=""):
        digits = checker._DIGITS.get()
        self.calls.append(digits)
        truth = sympy.Float(self.real, digits) + sympy.Float(10, digits) ** (48 - digits)
        return checker._EQUAL if checker._same(truth, sympy.Integer(0), 1.0) else \
            ((), truth, sympy.Integer(0))


def test_a_rounding_residue_is_decided_at_more_digits():
    """Claimed exactly 0, true −1.6·10⁻¹³ at 60 digits: a difference that shrinks by 10⁶⁰ when
    the digits double is rounding, not a wrong claim (seed 347 of the soak, a right result of
    matcalc refused).  A difference that stays when the digits double is a counterexample."""
    residue = _Residue(0)
    assert checker.Checker._precise_at(residue, {}, None) is checker._EQUAL
    assert residue.calls == [60, 120]
    real = _Residue(sympy.Rational(1, 10**6))
    bad = checker.Checker._precise_at(real, {}, None)
    assert isinstance(bad, tuple) and abs(float(bad[1]) - 1e-6) < 1e-12
    assert real.calls == [60, 120]                  # the same difference at 120 digits: final
    assert checker._DIGITS.get() == checker.DIGITS


def test_denominator_layout_claims():
    assert matcalc.check("sum(w*x)", "w", claim="x", layout="denominator")
    assert matcalc.check("W@x", "x", claim="W'", layout="denominator")
    assert not matcalc.check("W@x", "x", claim="W", shapes={"W": "n,n"}, layout="denominator")


def test_a_constant_claim_stands_for_every_entry():
    assert matcalc.check("sum(relu(x - x))", "x", claim="0")
    assert matcalc.check("sum(x)", "x", claim="1")


def test_a_claim_of_the_wrong_shape_says_what_is_expected():
    with pytest.raises(matcalc.ShapeError) as err:
        matcalc.check("sum(w*x)", "w", claim="x")
    text = str(err.value)
    assert "the claim is a column n" in text and "a row 1×n in numerator layout" in text
    assert "did you mean the transpose (x')" in text and "--layout denominator" in text
    with pytest.raises(matcalc.ShapeError, match="the claim is a scalar"):
        matcalc.check("W@x", "x", claim="sum(x)")


def test_a_claim_uses_the_expression_s_variables_only():
    with pytest.raises(matcalc.ShapeError) as err:
        matcalc.check("sum(w*x)", "w", claim="xx'")
    assert "did you mean x?" in str(err.value) and "^^" in str(err.value)


def test_a_tensor_derivative_cannot_be_claimed():
    with pytest.raises(matcalc.UnsupportedError, match="more than two axes"):
        matcalc.check("W@x", "W", claim="0")


def test_claims_are_parsed_by_the_grammar_only():
    with pytest.raises(matcalc.ParseError):
        matcalc.check("x^2", "x", claim="__import__('os')")
    with pytest.raises(matcalc.ParseError):
        matcalc.check("x^2", "x", claim=3)


def test_matcalc_s_own_results_pass_the_same_check():
    for expr, wrt in [("sum((W4@relu(W3@relu(W2@relu(W1@x + b1) + b2) + b3) + b4 - y)^2)",
                       "W1"), ("max(x, x)", "x"), ("abs(x*y - 1)", "y"),
                      ("sum(relu(W@x) * exp(x'@x))", "W")]:
        d = matcalc.diff(expr, wrt=wrt)
        assert d.check() and d.checked.kinks > 0


def test_a_wrong_result_of_matcalc_is_a_verification_error(monkeypatch):
    d = matcalc.diff("sum(relu(x - 5))", wrt="x")
    wrong = E.transpose(E.call("step", [E.sub(d.wrt[0], E.const(4))], d.wrt[0].shape))
    monkeypatch.setattr(type(d), "expression", property(lambda self: wrong))
    with pytest.raises(matcalc.VerificationError, match="bug in matcalc") as err:
        d.check()
    assert "claimed 1, true 0" in str(err.value)


# -- generated wrong claims: perturbations of matcalc's own results ----------------------------

HAND = ["sum(sigmoid(W@x + b))", "x'@A@x", "sum((W@x - y)^2) + sum(W*W)", "tanh(W@x) + b",
        "logsumexp(W@x)", "sum(relu(W@x) * log(1 + exp(x'@x)))", "trace(inv(X) @ A)",
        "max(0, w·x + b)^2", "norm(W@x - y)", "max(logsumexp(v), a)^2",
        "max(v * max(v, 0), exp(relu(v))^c)"]


def _wrong_claims(sample):
    """Every perturbation of every derivative of ``sample`` that changes a value."""
    for name in sample.variables:
        d = matcalc.diff(sample.text, wrt=name, shapes=sample.shapes)
        for kind in PERTURBATIONS:
            wrong = perturbed(d, kind)
            if wrong is not None and differs(d, wrong):
                yield d, kind, wrong


@pytest.mark.parametrize("sample", [Sample(t, {n: ",".join(v) or "scalar" for n, v in
                                               matcalc.parse(t).shapes.items()})
                                    for t in HAND] +
                         [generate(RandomSource(seed), max_depth=3) for seed in
                          (3, 7, 12, 19, 26, 33, 41, 156, 160)], ids=repr)
def test_perturbed_derivatives_are_refused(sample):
    """A sign, a transpose, a dropped term, a factor 1 + 10⁻⁶ (benchmarks/claims.py runs
    1,000 of these)."""
    count = 0
    for d, kind, wrong in _wrong_claims(sample):
        count += 1
        assert not checker.check(problem_for(d, wrong)), f"{kind} of ∂/∂{d.wrt_text} accepted"
    assert count


# -- the progress bar -------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_long_check_draws_a_bar_on_stderr_only(monkeypatch, capsys):
    ticks = iter(range(0, 10**6, 5))
    monkeypatch.setattr(terminal.Progress, "clock", staticmethod(lambda: next(ticks)))
    d = matcalc.diff("sum(relu(W@x))", wrt="W")
    assert d.check(progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "matcalc: checking [" in err and err.endswith("\r\x1b[K")


def test_a_quick_check_is_silent(monkeypatch, capsys):
    monkeypatch.setattr(terminal.Progress, "clock", staticmethod(lambda: 0.0))
    assert matcalc.diff("sum(relu(W@x))", wrt="W").check(progress=True)
    assert capsys.readouterr() == ("", "")


def test_the_bar_is_drawn_on_a_terminal_only():
    assert not terminal.Progress(3, "x", stream=io.StringIO()).enabled
    assert terminal.Progress(3, "x", stream=_Tty()).enabled


# -- the command line -------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_claim_equal_exits_0(capsys):
    code, out, err = run(capsys, "check", "sum(w*x)", "--wrt", "w", "--claim", "x'")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "w, x ∈ ℝⁿ"
    assert lines[1] == "✓ equal: ∂/∂w sum(w ⊙ x) = x'    [1×n]"
    assert lines[2].startswith("  checked at ")


def test_cli_claim_wrong_exits_1_with_a_counterexample(capsys):
    code, out, err = run(capsys, "check", "x^2", "--wrt", "x", "--claim",
                         "2*x + max(0, x - 8/5)")
    assert code == 1 and err == ""
    assert "✗ not equal: ∂/∂x x² ≠ 2*x + max(0, x - 8/5)" in out
    assert "  at x = " in out and "claimed" in out and "true" in out


def test_cli_claim_of_the_wrong_shape_exits_2(capsys):
    code, out, err = run(capsys, "check", "sum(w*x)", "--wrt", "w", "--claim", "x")
    assert code == 2 and "a row 1×n in numerator layout" in err and "Traceback" not in err
    code, out, err = run(capsys, "check", "sum(w*x)", "--wrt", "w", "--wrt", "x",
                         "--claim", "x'")
    assert code == 2 and "one --wrt" in err


def test_cli_claim_in_the_denominator_layout(capsys):
    code, out, _ = run(capsys, "check", "sum(w*x)", "--wrt", "w", "--claim", "x",
                       "--layout", "denominator")
    assert code == 0 and "✓ equal" in out


def test_checks_use_several_sizes_and_scales():
    v = matcalc.check("sum(w*x)", "w", claim="x'")
    assert [s["n"] for s in v.size_sets] == [2, 3, 5]
    sets = checker.size_sets([sympy.Symbol("m"), sympy.Symbol("n")])
    assert all(len(set(s.values())) == 2 for s in sets) and len(sets) == 4
    assert np.all([scale for scale, _, _ in checker.LINES] == [1.0, 6.0, 40.0])


def test_a_kink_argument_that_overflows_is_quiet():
    """max(a, b) with a − b beyond the largest float: the kink argument is ∞, and NumPy's
    overflow warning does not reach the user's terminal (the claims benchmark printed one)."""
    import types
    import warnings
    node = types.SimpleNamespace(op="max")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = checker._kink_arg(node, [np.array([1.5e308]), np.array([-1.5e308])])
    assert np.isinf(z).all()
