"""The error hierarchy.  Every error a user can cause is a ``MatcalcError``; its message says
where (line, column and a caret under the offending text), what was expected, and what to try."""

from __future__ import annotations


class MatcalcError(ValueError):
    """Base of every user-facing error.  ``str(e)`` is the full, printable message."""

    def __init__(self, message: str, text: str | None = None, span: tuple[int, int] | None = None,
                 hint: str | None = None):
        self.message = message
        self.text = text
        self.span = span  # (start, end) character offsets into ``text``
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.text is not None and self.span is not None:
            parts.append(caret(self.text, *self.span))
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)

    @property
    def line_column(self) -> tuple[int, int] | None:
        """1-based (line, column) of the start of the offending text, if known."""
        if self.text is None or self.span is None:
            return None
        start = self.span[0]
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        return line, column


class ParseError(MatcalcError):
    """The text is not an expression of the language."""


class UnknownFunctionError(ParseError):
    """A name in call position is not a function matcalc knows."""


class ShapeError(MatcalcError):
    """Shapes do not fit together (or a declaration does not parse)."""


class UnsupportedError(MatcalcError):
    """No rule applies: matcalc refuses rather than return a guess."""


class VerificationError(MatcalcError):
    """A derivative failed its own check (this is a bug in matcalc: please report it)."""


_MAX_CONTEXT = 60


def caret(text: str, start: int, end: int | None = None) -> str:
    """The offending line of ``text`` with ``^`` under columns ``start..end`` and its position.

    >>> print(caret("sum(w*x", 7))
    line 1, column 8:
      sum(w*x
             ^
    """
    start = max(0, min(start, len(text)))
    end = start + 1 if end is None or end <= start else end
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    col = start - line_start
    width = max(1, min(end, line_end) - start)
    # Long lines are cut around the caret so the message stays readable.
    offset = 0
    if len(line) > 2 * _MAX_CONTEXT:
        offset = max(0, col - _MAX_CONTEXT)
        line = ("…" if offset else "") + line[offset: col + _MAX_CONTEXT] + "…"
        col = col - offset + (1 if offset else 0)
        width = min(width, _MAX_CONTEXT)
    lineno = text.count("\n", 0, start) + 1
    return f"line {lineno}, column {start - line_start + 1}:\n  {line}\n  {' ' * col}{'^' * width}"
