"""Checks that hold for every test: simplification always reaches its fixpoint (rewrites that
undo each other would otherwise go unnoticed, costing time and printing an arbitrary form).

Under mutation testing (``MUTANT_UNDER_TEST`` set, by mutmut or ``benchmarks/try_mutants.py``)
each test also starts with the engine's memos empty (simplify's scalar results, the printer's
record of which results need their sizes written).  mutmut runs the clean
tests in the process it later forks for every mutant, so without this a mutant's run inherits
the memos the unmutated code filled, and a mutant of the SymPy round trip (``_to_sympy``,
``_from_sympy``, ``_logistic``, …) never runs for any expression the clean run saw; its
recording run likewise credits a memoised result to the first test that computed it only."""

import os

import pytest

from matcalc import render, simplify


@pytest.fixture(autouse=True)
def simplification_converges():
    if os.environ.get("MUTANT_UNDER_TEST"):
        simplify.clear_caches()
        render._SIZES.clear()       # the printer's memo of which results need their sizes
    before = simplify.STATS["unconverged"]
    yield
    assert simplify.STATS["unconverged"] == before, "a simplification did not reach its fixpoint"
