"""Checks that hold for every test: simplification always reaches its fixpoint (rewrites that
undo each other would otherwise go unnoticed, costing time and printing an arbitrary form)."""

import pytest

from matcalc import simplify


@pytest.fixture(autouse=True)
def simplification_converges():
    before = simplify.STATS["unconverged"]
    yield
    assert simplify.STATS["unconverged"] == before, "a simplification did not reach its fixpoint"
