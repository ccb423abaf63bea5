"""Start-up (issue 6): printing a derivative does not load NumPy, and the parser's tables are
cached on disk under a name derived from the grammar text, so an edited grammar never meets
stale tables.  (The timings themselves are in benchmarks/bench.py, not here.)"""

import subprocess
import sys
from pathlib import Path

import pytest
from lark.exceptions import UnexpectedInput

from matcalc.parse import _grammar_path, _resolve, build_parser, cache_path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from matcalc.cli import main
main(["diff", "sum(w*x)", "--wrt", "w"])
print(sorted(m for m in sys.modules if m == "numpy" or m.startswith("numpy.")))
"""


def test_printing_a_derivative_does_not_load_numpy():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[-2] == "∂/∂w sum(w ⊙ x) = xᵀ    [1×n]"
    # the lazy placeholder is not a module in sys.modules: NumPy was not imported at all
    assert out[-1] == "[]"


def test_numpy_loads_when_evaluating():
    import numpy as np

    import matcalc
    d = matcalc.diff("sum(w*x)", wrt="w")
    assert d.evaluate({"w": np.ones(2), "x": np.array([3.0, 4.0])}).tolist() == [[3.0, 4.0]]


def test_parser_cache_is_named_by_the_grammar(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    grammar = _grammar_path().read_text(encoding="utf-8")
    path = cache_path(grammar)
    assert path.parent == tmp_path / "matcalc"
    assert cache_path(grammar) == path
    assert cache_path(grammar + "\n// edited\n") != path


def test_cached_tables_parse_like_fresh_ones(tmp_path):
    grammar = _grammar_path().read_text(encoding="utf-8")
    cache = tmp_path / "parser.lark"
    built = build_parser(grammar, cache)
    assert cache.exists()
    loaded = build_parser(grammar, cache)
    text = "sum((W@x + b - y)^2) + max(0, w·x)' - x^T@A@x"
    # the parser builds the IR; its calls are resolved (and compared) after the parse
    assert _resolve(loaded.parse(text), text) == _resolve(built.parse(text), text)


def test_stale_tables_are_rebuilt(tmp_path):
    """Tables cached for one grammar are never used for another, even at the same path."""
    grammar = _grammar_path().read_text(encoding="utf-8")
    cache = tmp_path / "parser.lark"
    build_parser(grammar, cache).parse("w·x")
    without_dot = grammar.replace('| dotprod "·" product', "// (no dot)")
    assert without_dot != grammar
    with pytest.raises(UnexpectedInput):
        build_parser(without_dot, cache).parse("w·x")


def test_an_unwritable_cache_only_costs_the_build(tmp_path):
    grammar = _grammar_path().read_text(encoding="utf-8")
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    p = build_parser(grammar, blocked / "parser.lark")
    assert p.parse("x + 1") is not None


THREADS = """
import sys, threading
import matcalc
d = matcalc.diff("sum(sigmoid(W@x + b))", wrt="W", shapes={"W": "2,3"})
barrier = threading.Barrier(8)
errors = []
def first_calls(i):
    import numpy as np
    barrier.wait()
    try:
        if i % 2:
            d.evaluate({"W": np.ones((2, 3)), "x": np.ones(3), "b": np.zeros(2)})
        else:
            matcalc.to_numpy(d, compile=True)
    except Exception as e:          # any failure of a first call counts
        errors.append(repr(e))
threads = [threading.Thread(target=first_calls, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(errors)
"""


@pytest.mark.parametrize("run", range(3))
def test_first_calls_from_eight_threads(run):
    """A fresh process whose first evaluate and to_numpy calls come from 8 threads at once
    (a web server's workers): the lazy imports of NumPy, the steps view and the code generator
    must hand every thread the whole module."""
    out = subprocess.run([sys.executable, "-c", THREADS], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[-1] == "[]"


def test_a_missing_module_is_an_error_at_first_use_only():
    from matcalc.lazy import lazy_module
    m = lazy_module("matcalc_no_such_module")      # no error yet: the browser has no NumPy
    with pytest.raises(ImportError, match="pip install matcalc_no_such_module"):
        m.anything
