"""The rule table is the one place that knows an operation (issue 11): the modules that walk
expressions — the parser, inference, the engine, the printers, the steps view, the API and the
code generator — name at most a few operations (rewrite modules, simplify.py and codegen's cost
rewrites, may name the ones they rewrite), so a new function is one entry in rules.py."""

import ast
from pathlib import Path

from matcalc.rules import ALIASES, RULES

MODULES = ["infer.py", "render.py", "parse.py", "steps.py", "api.py", "differentiate.py",
           "codegen.py"]
ROOT = Path(__file__).resolve().parent.parent / "matcalc"


def operation_literals() -> dict[str, set[str]]:
    """Per module, the string literals that are the name of an operation (ASCII spellings:
    Greek letters are also variables' names)."""
    ops = {n for n in list(RULES) + list(ALIASES) if n.isascii()} | {"sub", "neg"}
    out = {}
    for name in MODULES:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        out[name] = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                     and isinstance(n.value, str) and n.value in ops}
    return out


def test_the_modules_name_at_most_fifteen_operations():
    found = operation_literals()
    names = set().union(*found.values())
    assert len(names) <= 15, found
    assert not found["differentiate.py"] and not found["render.py"], found
