"""The command line, run in-process (``main(argv) -> int``) as DESIGN.md specifies it."""

import json
import subprocess
import sys

import pytest

import matcalc
from matcalc.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_output_prints_shapes_then_one_line_per_variable(capsys):
    code, out, err = run(capsys, "diff", "sum(w*x)", "--wrt", "w")
    assert code == 0 and err == ""
    assert out.splitlines() == ["w, x ∈ ℝⁿ", "∂/∂w sum(w ⊙ x) = xᵀ    [1×n]"]


def test_repeated_wrt_and_inferred_scalar(capsys):
    code, out, _ = run(capsys, "diff", "max(0, w·x + b)", "--wrt", "w", "--wrt", "b")
    assert code == 0
    assert out.splitlines() == [
        "w, x ∈ ℝⁿ, b ∈ ℝ",
        "∂/∂w max(0, w·x + b) = 0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0    [1×n]",
        "∂/∂b max(0, w·x + b) = 0 if w·x + b ≤ 0; 1 if w·x + b > 0    [1×1]",
    ]


def test_shape_declarations_in_every_accepted_spelling(capsys):
    for spec in ("W=m,n", "W=mxn", "W=m×n"):
        code, out, _ = run(capsys, "diff", "W@x + b", "--wrt", "x", "--shape", spec)
        assert code == 0
        assert out.splitlines()[0] == "W ∈ ℝᵐˣⁿ, x ∈ ℝⁿ, b ∈ ℝᵐ"
        assert out.splitlines()[1] == "∂/∂x (W x + b) = W    [m×n]"
    code, out, _ = run(capsys, "diff", "W@x", "--wrt", "x", "--shape", "W=3x4")
    assert out.splitlines() == ["W ∈ ℝ³ˣ⁴, x ∈ ℝ⁴", "∂/∂x (W x) = W    [3×4]"]


def test_denominator_layout(capsys):
    code, out, _ = run(capsys, "diff", "sum(w*x)", "--wrt", "w", "--layout", "denominator")
    assert out.splitlines()[1] == "∂/∂w sum(w ⊙ x) = x    [n×1]"
    code, out, _ = run(capsys, "diff", "W@x", "--wrt", "x", "--shape", "W=m,n",
                       "--layout", "denominator")
    assert out.splitlines()[1] == "∂/∂x (W x) = Wᵀ    [n×m]"


def test_latex_format_prints_the_equation(capsys):
    code, out, _ = run(capsys, "diff", "sum(w*x)", "--wrt", "w", "--format", "latex")
    assert code == 0
    assert out.strip() == (r"\frac{\partial}{\partial \mathbf{w}} "
                           r"\sum\left(\mathbf{w} \odot \mathbf{x}\right) = \mathbf{x}^{\top}")


def test_json_format(capsys):
    code, out, _ = run(capsys, "diff", "max(0, w·x + b)", "--wrt", "w", "--wrt", "b",
                       "--format", "json", "--check")
    assert code == 0
    data = json.loads(out)
    assert data["shapes"] == {"w": ["n"], "x": ["n"], "b": []}
    assert data["layout"] == "numerator"
    dw, db = data["derivatives"]
    assert dw["wrt"] == "w" and dw["shape"] == ["1", "n"] and dw["checked"] is True
    assert dw["text"] == "0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0"
    assert dw["latex"].startswith(r"\begin{cases}")
    assert db["text"] == "0 if w·x + b ≤ 0; 1 if w·x + b > 0"


def test_check_flag_and_check_command(capsys):
    code, out, _ = run(capsys, "diff", "sigmoid(W@x + b)", "--wrt", "x", "--check")
    assert code == 0 and "✓ verified against SymPy and finite differences" in out
    code, out, _ = run(capsys, "check", "sum((W@x + b - y)^2)", "--wrt", "W", "--wrt", "b")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("✓ ∂/∂W") and lines[3].startswith("✓ ∂/∂b")


def test_check_failure_exits_1(capsys, monkeypatch):
    def broken(self):
        raise matcalc.VerificationError("component (0,) should be 1, matcalc's result gives 2")
    monkeypatch.setattr(matcalc.Derivative, "check", broken)
    code, out, err = run(capsys, "check", "sum(x)", "--wrt", "x")
    assert code == 1 and "check failed" in err and "Traceback" not in err


def test_vector_literal_wrt(capsys):
    code, out, _ = run(capsys, "diff", "[3*x^2*y, 2*x + y^8]", "--wrt", "[x, y]")
    assert out.splitlines()[1] == "∂/∂[x, y] [3x² y, 2x + y⁸] = [[6x y, 3x²], [2, 8y⁷]]    [2×2]"


def test_second_order(capsys):
    code, out, _ = run(capsys, "diff", "sum(exp(x))", "--wrt", "x", "--order", "2")
    assert code == 0
    assert out.splitlines()[1] == "∂²/∂x² sum(exp(x)) = diag(exp(x))    [n×n]"


def test_user_error_exits_2_with_caret_and_no_traceback(capsys):
    code, out, err = run(capsys, "diff", "sum(w*x", "--wrt", "w")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "matcalc: error: unexpected end of input: expected ')' to close the '(' at column 4",
        "line 1, column 4:",
        "  sum(w*x",
        "     ^",
        "unbalanced brackets",
    ]


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"matcalc {matcalc.__version__}"
    for argv in (["--help"], ["diff", "--help"], ["check", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        assert "usage: matcalc" in capsys.readouterr().out
    assert main([]) == 2  # no command: the help, and a usage error


def test_argparse_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["diff", "sum(x)"])   # --wrt missing
    assert info.value.code == 2
    assert "--wrt" in capsys.readouterr().err


def test_python_dash_m_and_console_script():
    out = subprocess.run([sys.executable, "-m", "matcalc", "diff", "sum(w*x)", "--wrt", "w"],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[1] == "∂/∂w sum(w ⊙ x) = xᵀ    [1×n]"
    bad = subprocess.run([sys.executable, "-m", "matcalc", "diff", "sum(w*x", "--wrt", "w"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "^" in bad.stderr


def test_note_on_an_undeclared_probability_vector(capsys):
    code, out, _ = run(capsys, "diff", "-sum(y*log(softmax(W@x + b)))", "--wrt", "b")
    lines = out.splitlines()
    assert lines[1].endswith("= (sum(y) softmax(W x + b) − y)ᵀ    [1×n]")
    assert lines[2] == ("  note: sum(y) = 1 when y holds probabilities or one-hot labels: declare "
                        "it (--shape y=n,prob or shapes={'y': 'n,prob'}) to simplify")
    code, out, _ = run(capsys, "diff", "-sum(y*log(softmax(W@x + b)))", "--wrt", "b",
                       "--shape", "y=n,prob")
    assert out.splitlines()[1:] == [
        "∂/∂b (−sum(y ⊙ ln(softmax(W x + b)))) = (softmax(W x + b) − y)ᵀ    [1×n]"]
    code, out, _ = run(capsys, "diff", "sum(x*z)", "--wrt", "z", "--shape", "z=scalar")
    assert "note" not in out
