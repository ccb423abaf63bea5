"""Every LaTeX string matcalc emits is valid: rendered by KaTeX (``throwOnError``, display mode)
in one Node process.  The corpus: every result and equation of the paper table, the affine-layer,
function and matrix tests (second derivatives and tensors included), of 150 generated
expressions, the steps (and the LaTeX in their JSON) of the worked examples and more, and every
LaTeX string in the README's and docs' examples.

KaTeX comes from the npm registry into ``tests/katex/node_modules`` (``npm ci --prefix
tests/katex``, which ``.ci/run`` does); the test is skipped only where Node or KaTeX is absent."""

import ast
import doctest
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from strategies import RandomSource, generate
from test_affine import AFFINE
from test_functions import DIAG, ELEMENTWISE, OTHERS
from test_matrices import COOKBOOK, LAYERS, SECOND, TENSORS
from test_paper import PAPER
from test_steps import MORE, WORKED

import matcalc

ROOT = Path(__file__).resolve().parent.parent
KATEX_DIR = Path(__file__).resolve().parent / "katex"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the KaTeX check needs it"),
    pytest.mark.skipif(not (KATEX_DIR / "node_modules" / "katex").is_dir(),
                       reason="KaTeX is not installed: run `npm ci --prefix tests/katex`"),
]


def katex_errors(strings: list[str]) -> list[str | None]:
    """KaTeX's error message for each string (None where it renders), in one Node process."""
    done = subprocess.run([NODE, str(KATEX_DIR / "render.js")], input=json.dumps(strings),
                          capture_output=True, text=True, cwd=KATEX_DIR, check=True)
    return json.loads(done.stdout)


def _latex_in(obj) -> list[str]:
    """Every string under a "latex" key of a JSON document."""
    if isinstance(obj, dict):
        return [v for k, v in obj.items() if k == "latex" and isinstance(v, str)] + \
            [s for k, v in obj.items() if k != "latex" for s in _latex_in(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _latex_in(v)]
    return []


def _of(d: matcalc.Derivative, steps: bool = False) -> list[str]:
    out = [d.latex, d.equation_latex, d.f.latex]
    if steps:
        out += [d.steps.latex] + _latex_in(d.steps.as_dict())
    return out


def _docs() -> list[str]:
    """The LaTeX in the examples' expected output in README.md and docs/*.md: quoted strings
    (``'\\\\mathbf{x}^{\\\\top}'``) and printed blocks (``\\begin{aligned} … \\end{aligned}``)."""
    out = []
    parser = doctest.DocTestParser()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for example in parser.get_examples(path.read_text(encoding="utf-8")):
            want = example.want.strip()
            if "\\" not in want or want.startswith("Traceback"):
                continue
            if want[0] in "'\"":
                out.append(ast.literal_eval(want))
            elif want.startswith("\\"):
                out.append(want)
    return out


def corpus() -> list[str]:
    strings = []
    for _sec, expr, wrt, shapes, *_ in PAPER:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes), steps=True)
    for expr, wrt, shapes, *_ in AFFINE:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes), steps=True)
    for name in ELEMENTWISE:
        strings += _of(matcalc.diff(f"{name}(x)", wrt="x", shapes={"x": "n"}), steps=True)
        strings += _of(matcalc.diff(f"{name}(3*x)", wrt="x"), steps=True)
    for expr, wrt, shapes, _ in OTHERS.values():
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes), steps=True)
    for _sec, expr, wrt, shapes, *_ in WORKED:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes), steps=True)
    for expr, wrt, shapes, layout in MORE:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes, layout=layout), steps=True)
    for _eq, expr, wrt, shapes, _ in COOKBOOK:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes))
    for expr, wrt, shapes, *_ in LAYERS + TENSORS + DIAG:
        strings += _of(matcalc.diff(expr, wrt=wrt, shapes=shapes))
    for expr, a, b, shapes, *_ in SECOND:
        strings += _of(matcalc.diff(expr, wrt=a, shapes=shapes).diff(b))
    for seed in range(150):          # generated expressions: every operator and function
        sample = generate(RandomSource(seed))
        for name in sample.variables:
            strings += _of(matcalc.diff(sample.text, wrt=name, shapes=sample.shapes))
    return strings


def test_every_latex_string_renders_with_katex():
    strings = list(dict.fromkeys(corpus() + _docs()))
    assert len(strings) > 400
    assert any(s.startswith("\\begin{aligned}") for s in _docs()), "no steps in the docs"
    errors = katex_errors(strings)
    bad = [(s, e) for s, e in zip(strings, errors) if e is not None]
    assert not bad, "\n\n".join(f"{s}\n  -> {e}" for s, e in bad[:10])


def test_the_katex_check_rejects_invalid_latex():
    errors = katex_errors([r"\frac{1}{2}", r"\frac{1}{2", r"\notacommand x",
                           r"\begin{aligned} a &= b \end{cases}"])
    assert errors[0] is None and all(e is not None for e in errors[1:])
