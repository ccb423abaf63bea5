"""docs/language.md is written from the rule table by docs/make_language.py: it may not drift
from the table (a new function appears there by its entry alone)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_language_reference_is_the_tables():
    spec = importlib.util.spec_from_file_location("make_language", ROOT / "docs" /
                                                  "make_language.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    assert written == module.render(), "run python docs/make_language.py"
    for name in ("gelu", "kron", "softmax", "log_softmax", "eye"):
        assert f"`{name}(" in written
