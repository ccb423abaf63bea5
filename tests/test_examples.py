"""Every script in examples/ runs to completion (each asserts its own results)."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_the_required_examples_exist():
    assert {"neuron.py", "mse_loss.py"} <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys):
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()


def test_gradient_descent_visibly_lowers_the_loss():
    sys.path.insert(0, str(EXAMPLES[0].parent))
    try:
        import mse_loss
    finally:
        sys.path.pop(0)
    history = mse_loss.main(steps=25)
    assert history[-1] < 0.5 * history[0]
    assert all(b <= a + 1e-12 for a, b in zip(history, history[1:]))


def test_examples_run_as_scripts():
    for path in EXAMPLES:
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
