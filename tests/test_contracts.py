"""Contracts of issue 12 that broke (each test is the regression test of one report): shapes
round-trip through ``shapes=``, ``--shape`` hints a mistyped property, ``hessian`` with several
variables, the generated NumPy code (1×1 products, second derivatives, a self-check that tests
something), and the command line's robustness (pipes, expressions starting with ``-``)."""

import subprocess
import sys

import numpy as np
import pytest
from test_codegen import assert_generated

import matcalc
from matcalc.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_generated(tmp_path, source: str) -> subprocess.CompletedProcess:
    """The generated module run as a script: its ``__main__`` self-check."""
    path = tmp_path / "generated.py"
    path.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True)


# -- --format numpy with a 1×1 product beside a vector or I (issue 12: AttributeError) ---------

ONE_BY_ONE = [("x^T@A@x/(x^T@x)", "x", {}),                 # the Rayleigh quotient
              ("u @ u^T @ ln(u^2 + 0.5)", "u", {"u": "m"}),  # (uᵀ ln z) I in the Jacobian
              ("(x'@x)*x", "x", {"x": "n"})]


@pytest.mark.parametrize("expr, wrt, shapes", ONE_BY_ONE, ids=[e for e, *_ in ONE_BY_ONE])
def test_numpy_code_with_a_one_by_one_product_as_a_scalar_factor(expr, wrt, shapes, tmp_path,
                                                                  capsys):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert_generated(d)               # against evaluate and finite differences of f
    argv = ["diff", expr, "--wrt", wrt, "--format", "numpy"]
    argv += [a for n, s in shapes.items() for a in ("--shape", f"{n}={s}")]
    code, source, err = run(capsys, *argv)
    assert code == 0 and err == ""
    done = run_generated(tmp_path, source)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("finite differences agree")
