"""Notebooks: a derivative, several derivatives (one block), a Hessian's blocks, an expression and
the steps display as display math with the shapes; the example notebook runs.

``examples/matrix_calculus.ipynb`` is executed here in a real Jupyter kernel (nbclient and
ipykernel, from the ``test`` extra): every cell must run, each output must be what the notebook
has recorded (so what a reader sees on opening it is what matcalc prints today), and every
``text/latex`` output must render with KaTeX.  After a change to what matcalc prints, refresh the
recorded outputs with ``python tests/test_notebook.py``.

KaTeX comes from ``npm ci --prefix tests/katex`` (``.ci/run`` does it); without it the KaTeX
checks are skipped, except in CI (``CI`` set), where they fail."""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.formatters import DisplayFormatter
from nbclient import NotebookClient
from test_latex import KATEX_DIR, NODE, katex_errors
from test_paper import PAPER

import matcalc
from matcalc import cli, report

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "matrix_calculus.ipynb"


# -- Derivatives: a list that displays as one block ----------------------------------------------

def test_several_derivatives_are_still_a_list():
    ds = matcalc.diff("max(0, w·x + b)", wrt=["w", "b"])
    assert isinstance(ds, matcalc.Derivatives) and isinstance(ds, list)
    dw, db = ds
    assert len(ds) == 2 and ds[0] is dw and ds[-1] is db and list(ds) == [dw, db]
    assert ds == [dw, db] and [dw, db] == ds and ds != [db, dw]
    assert isinstance(ds[:1], matcalc.Derivatives) and ds[:1] == [dw]
    assert [str(d) for d in ds] == [str(dw), str(db)]
    assert ds + [dw] == [dw, db, dw]
    assert repr(ds) == repr([dw, db])           # a list's repr: nothing that printed one changes
    assert isinstance(matcalc.diff("sum(w*x)", wrt="w"), matcalc.Derivative)   # one: no list


def test_the_hessian_blocks_are_rows_of_derivatives():
    H = matcalc.hessian("x^2*y + y^3", wrt=["x", "y"])
    assert isinstance(H, matcalc.Derivatives) and all(
        isinstance(row, matcalc.Derivatives) for row in H)
    assert [[str(h) for h in row] for row in H] == [["2y", "2x"], ["2x", "6y"]]
    assert str(H).splitlines() == ["x, y ∈ ℝ", "∂²/∂x² (x² y + y³) = 2y    [1×1]",
                                   "∂²/∂y∂x (x² y + y³) = 2x    [1×1]",
                                   "∂²/∂x∂y (x² y + y³) = 2x    [1×1]",
                                   "∂²/∂y² (x² y + y³) = 6y    [1×1]"]
    latex = H.display_latex
    assert latex.count(r"&= ") == 4 and latex.count(r"\in \mathbb{R} \\") == 4
    assert r"\frac{\partial^{2}}{\partial y \, \partial x}" in latex
    assert H[1].display_latex.count("&= ") == 2      # a row alone: its two blocks


def test_no_derivatives_display_as_text():
    ds = matcalc.diff("x", wrt=[])
    assert ds == [] and isinstance(ds, matcalc.Derivatives)
    assert ds._repr_latex_() is None and str(ds) == "[]"


@pytest.mark.parametrize("expr, wrt, shapes", [
    ("max(0, w·x + b)", ["w", "b"], None),
    ("-sum(y*log(softmax(W@x)))", ["W", "x"], None),          # a note
    ("x'@A@x", ["x"], {"A": "n,n,sym"}),                       # a property
    ("sum(x)", ["x", "y"], {"y": "m"}),                        # y absent: a note
    ("mean((X@W + b - Y)^2)", ["W", "b"], {"X": "N,n"}),
])
def test_the_text_is_what_the_cli_prints(expr, wrt, shapes, capsys):
    ds = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    argv = ["diff", expr] + [a for w in wrt for a in ("--wrt", w)]
    argv += [a for n, s in (shapes or {}).items() for a in ("--shape", f"{n}={s}")]
    assert cli.main(argv) == 0
    assert str(ds) == capsys.readouterr().out.rstrip("\n")


def test_the_shapes_line_is_the_clis():
    for _sec, expr, wrt, shapes, *_ in PAPER:
        d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
        line = report.shapes_line(d.shapes, d.f.properties)
        # a constant has no variables: no shapes line (the CLI prints an empty one)
        lines = [line] * bool(line) + [d.line] + [f"  note: {n}" for n in d.notes]
        assert str(matcalc.Derivatives([d])).splitlines() == lines


# -- display math with the shapes -------------------------------------------------------------

def _display_math(obj) -> str:
    """``obj._repr_latex_()``, checked to be one display-math ``aligned`` block; its inside."""
    out = obj._repr_latex_()
    assert out.startswith("$$\\begin{aligned}\n") and out.endswith("\n\\end{aligned}$$"), out
    inner = out[2:-2]
    assert "$$" not in inner
    return inner


def test_a_derivative_displays_with_its_shape_and_the_variables_shapes():
    d = matcalc.diff("max(0, w·x + b)", wrt="w")
    inner = _display_math(d)
    assert inner == d.display_latex
    first, last = inner.splitlines()[1], inner.splitlines()[-2]
    lhs, rhs = d.equation_latex.split(" = ", 1)
    assert first == rf"{lhs} &= {rhs} && \in \mathbb{{R}}^{{1 \times n}} \\"
    assert last == r"&\text{for } \mathbf{w}, \mathbf{x} \in \mathbb{R}^{n}, \; b \in \mathbb{R}"


@pytest.mark.parametrize("expr, wrt, shapes, layout, space", [
    ("sum(w*x)", "w", None, "numerator", r"\mathbb{R}^{1 \times n}"),
    ("sum(w*x)", "w", None, "denominator", r"\mathbb{R}^{n}"),
    ("sin(x)", "x", None, "numerator", r"\mathbb{R}"),
    ("W@x + b", "x", {"W": "m,n"}, "numerator", r"\mathbb{R}^{m \times n}"),
    ("W@x + b", "W", {"W": "m,n"}, "numerator", r"\mathbb{R}^{m \times m \times n}"),
    ("sum(W@x)", "W", {"W": "N,n1"}, "numerator", r"\mathbb{R}^{N \times n_{1}}"),
])
def test_the_shape_shown_is_the_derivatives(expr, wrt, shapes, layout, space):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes, layout=layout)
    assert d.display_latex.splitlines()[1].endswith(rf"&& \in {space} \\")


def test_declared_properties_and_notes_are_shown():
    d = matcalc.diff("x'@A@x", wrt="x", shapes={"A": "n,n,sym"})
    assert r"\mathbf{A} \in \mathbb{R}^{n \times n} \ \text{(symmetric)}" in d.display_latex
    d = matcalc.diff("-sum(y*log(softmax(W@x)))", wrt="W")
    assert r"&\text{note: sum(y) = 1 when y holds probabilities" in d.display_latex
    assert r"(-{}-shape y=n,prob" in d.display_latex     # not an en dash
    assert d.notes and all(n.split(":")[0] in str(matcalc.Derivatives([d])) for n in d.notes)


def test_an_expression_and_the_steps_display_as_display_math():
    e = matcalc.parse("sum((X@W + b - Y)^2)")
    inner = _display_math(e)
    assert inner.splitlines()[1] == rf"&{e.latex} && \in \mathbb{{R}} \\"
    assert r"\mathbf{b} \in \mathbb{R}^{k}" in inner
    steps = matcalc.diff("sin(x^2)", wrt="x").steps
    assert steps._repr_latex_() == f"$${steps.latex}$$"


def test_ipython_shows_the_latex_and_the_text():
    """What Jupyter receives: text/latex from _repr_latex_, text/plain from _repr_pretty_."""
    formatter = DisplayFormatter()
    ds = matcalc.diff("max(0, w·x + b)", wrt=["w", "b"])
    data, _ = formatter.format(ds)
    assert data["text/latex"] == ds._repr_latex_() and data["text/plain"] == str(ds)
    data, _ = formatter.format(ds[0])
    assert data["text/latex"] == ds[0]._repr_latex_()
    data, _ = formatter.format(matcalc.hessian("x^2*y", wrt=["x", "y"]))
    assert data["text/plain"].startswith("x, y ∈ ℝ\n∂²/∂x²")


# -- KaTeX ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def katex():
    """``katex_errors``, or a skip where KaTeX is not installed (a failure in CI)."""
    if NODE is None or not (KATEX_DIR / "node_modules" / "katex").is_dir():
        message = "KaTeX is not installed: run `npm ci --prefix tests/katex`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return katex_errors


def _assert_renders(katex, strings: list[str]) -> None:
    errors = katex(strings)
    bad = [(s, e) for s, e in zip(strings, errors) if e is not None]
    assert not bad, "\n\n".join(f"{s}\n  -> {e}" for s, e in bad[:5])


def test_every_display_renders_with_katex(katex):
    strings = []
    for _sec, expr, wrt, shapes, *_ in PAPER:
        strings.append(matcalc.diff(expr, wrt=wrt, shapes=shapes)._repr_latex_()[2:-2])
        strings.append(matcalc.parse(expr, shapes=shapes)._repr_latex_()[2:-2])
    for expr, wrt, shapes in [("max(0, w·x + b)", ["w", "b"], None),
                              ("-sum(y*log(softmax(W@x)))", ["W", "x"], None),   # a note
                              ("sum(A⊗B)", ["A"], None),                        # a note with ⊙
                              ("x'@A@x", ["x"], {"A": "n_1,n_1,sym"}),
                              ("sum(x)", ["y"], {"y": "pos_dim"}),
                              ("W@x + b", ["W", "x"], {"W": "m,n"})]:
        strings.append(matcalc.diff(expr, wrt=wrt, shapes=shapes)._repr_latex_()[2:-2])
    strings.append(matcalc.hessian("sum(exp(W@x)) + c*(x'@x)", wrt=["x", "c"])
                   ._repr_latex_()[2:-2])
    strings.append(matcalc.diff("sum(w*x)", wrt="w").diff("w")._repr_latex_()[2:-2])
    _assert_renders(katex, strings)


# -- the example notebook ------------------------------------------------------------------------

def run(path: Path = NOTEBOOK):
    """The notebook executed in a fresh kernel (importing this checkout's matcalc), with one
    cell appended that prints where matcalc was imported from; that cell's output last."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import matcalc, pathlib; print(pathlib.Path(matcalc.__file__).resolve().parent)"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    where = nb.cells.pop()
    return nb, where.outputs[0]["text"].strip()


def _seen(outputs) -> list[dict]:
    """What a reader sees of a cell's outputs: streams' text and the text/plain and text/latex
    of results and displays (no metadata, no execution counts)."""
    out = []
    for o in outputs:
        if o["output_type"] == "stream":
            out.append({"stream": o["name"], "text": o["text"]})
        elif o["output_type"] in ("execute_result", "display_data"):
            out.append({k: o["data"][k] for k in ("text/plain", "text/latex") if k in o["data"]})
        else:
            out.append(dict(o))
    return out


@pytest.fixture(scope="module")
def executed():
    recorded = nbformat.read(NOTEBOOK, as_version=4)
    fresh, where = run()
    return recorded, fresh, where


def test_the_example_notebook_runs_as_recorded(executed):
    recorded, fresh, where = executed
    assert Path(where) == ROOT / "matcalc", f"the kernel imported matcalc from {where}"
    code = [c for c in fresh.cells if c.cell_type == "code"]
    assert len(code) >= 10 and all(c.outputs for c in code[1:])
    stale = [i for i, (a, b) in enumerate(zip(recorded.cells, fresh.cells))
             if a.cell_type == "code" and _seen(a.outputs) != _seen(b.outputs)]
    assert not stale, (f"{NOTEBOOK.name}: the recorded outputs of cells {stale} differ from "
                       "what matcalc prints now; refresh them: python tests/test_notebook.py")


def test_the_example_notebook_shows_display_math_that_katex_renders(executed, katex):
    _recorded, fresh, _ = executed
    latex = [o["data"]["text/latex"] for c in fresh.cells if c.cell_type == "code"
             for o in c.outputs if "text/latex" in o.get("data", {})]
    # the neuron, the layer, the expression, the cross-entropy, two Hessians, the steps
    assert len(latex) >= 7
    assert all(s.startswith("$$\\begin{aligned}") and s.endswith("\\end{aligned}$$")
               for s in latex)
    assert any(r"\in \mathbb{R}^{1 \times n}" in s and "&\\text{for }" in s for s in latex)
    _assert_renders(katex, [s[2:-2] for s in latex])


def write(path: Path = NOTEBOOK) -> None:
    """Runs the notebook and writes it back with the new outputs."""
    fresh, _ = run(path)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
    nbformat.write(fresh, path)


if __name__ == "__main__":        # python tests/test_notebook.py: refresh the recorded outputs
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else NOTEBOOK)
    print(f"wrote {NOTEBOOK.relative_to(ROOT)} with fresh outputs")
