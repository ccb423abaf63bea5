"""Writing to a terminal: a progress bar for long checks, and text for terminals that cannot
show matcalc's symbols.

**Progress.**  ``Progress(total, label)`` is a context manager; ``advance()`` counts work done.
Nothing is drawn during the first second (a quick check stays silent), nothing ever goes to
stdout (results there stay clean to pipe), and nothing is drawn unless the stream is a terminal
(a log file or a captured stream gets no carriage returns).  When it finishes, the bar's line is
erased.  The clock and the stream can be passed in, so tests need neither time nor a terminal::

    >>> import io
    >>> class Tty(io.StringIO):
    ...     def isatty(self):
    ...         return True
    >>> now = [0.0]
    >>> out = Tty()
    >>> with Progress(4, "checking", stream=out, clock=lambda: now[0]) as bar:
    ...     bar.advance()               # at 0 s: silent
    ...     now[0] = 2.0
    ...     bar.advance()               # at 2 s: drawn
    >>> out.getvalue().split("\\r")[1]
    'checking [##########          ] 2/4  2 s'

No library is needed for this (tqdm would do, at the price of a dependency for twenty lines).

**ASCII.**  ``make_printable(stream)`` lets a stream whose encoding cannot show ``∂``, ``ℝⁿ`` or
``ᵀ`` (``PYTHONIOENCODING=ascii``, an old console) print an ASCII rendering instead of raising
``UnicodeEncodeError``: ``ℝⁿˣᵐ`` becomes ``R^(nxm)``, ``x²`` ``x^2``, ``xᵀ`` ``x'``, ``⊙`` ``*``.

    >>> "∂/∂w sum(w ⊙ x) = xᵀ, w ∈ ℝⁿ, A ∈ ℝⁿˣᵐ, x²".encode("ascii", "matcalc-ascii").decode()
    "d/dw sum(w * x) = x', w in R^n, A in R^(nxm), x^2"
"""

from __future__ import annotations

import codecs
import sys
import time

# -- progress --------------------------------------------------------------------------------


class Progress:
    """A progress bar on ``stream`` (stderr by default), drawn only after ``delay`` seconds and
    only on a terminal; ``total`` may grow while the work runs (``grow``)."""

    WIDTH = 20
    clock = staticmethod(time.monotonic)    # the default clock (tests replace it)

    def __init__(self, total: int, label: str, *, stream=None, delay: float = 1.0,
                 clock=None, enabled: bool | None = None):
        self.total = max(1, int(total))
        self.done = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        if clock is not None:
            self.clock = clock
        self.start = self.clock()
        self.drawn = False
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grow(self, more: int) -> None:
        self.total += max(0, int(more))

    def advance(self, n: int = 1, label: str | None = None) -> None:
        self.done = min(self.total, self.done + n)
        if label is not None:
            self.label = label
        if not self.enabled:
            return
        elapsed = self.clock() - self.start
        if elapsed < self.delay:
            return
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + " " * (self.WIDTH - filled)
        self._write(f"\r{self.label} [{bar}] {self.done}/{self.total}  {elapsed:.0f} s")
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self._write("\r\x1b[K")         # erase the line: the terminal is left as it was
            self.drawn = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):       # a closed or broken stream: drop the bar, not the work
            self.enabled = False


def progress(total: int, label: str, enabled: bool | None = None) -> Progress:
    """A ``Progress`` on stderr; ``enabled=None`` draws it only on a terminal."""
    return Progress(total, label, enabled=enabled)


class NoProgress:
    """Stands in for a ``Progress`` when none is wanted."""

    total = done = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def grow(self, more: int) -> None:
        pass

    def advance(self, n: int = 1, label: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


# -- ASCII -----------------------------------------------------------------------------------

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣᵐᵏᵖᵠʳˢᵗˡᵈʰᵃᵇᶜᵉᶠᵍʲᵒᵘᵛʷʸᶻᴺᴹᴷᴾᴰᵀ",
                         "0123456789+-=()nixmkpqrstldhabcefgjouvwyzNMKPDT"))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋", "0123456789+-"))
_ASCII = {
    "∂": "d", "∈": "in", "ℝ": "R", "ᵀ": "'", "⊙": "*", "⊗": "(x)", "⊘": "/", "·": ".",
    "−": "-", "×": "x", "≤": "<=", "≥": ">=", "≠": "!=", "✓": "ok:", "✗": "no:", "‖": "||",
    "𝟙": "1", "√": "sqrt", "σ": "sigmoid", "…": "...", "Σ": "sum", "Δ": "Delta",
    "→": "->", "—": "--", "–": "-", "′": "'", "½": "1/2", "∞": "inf", "≈": "~",
}


def _ascii(text: str) -> str:
    """An ASCII rendering of ``text``: known symbols spelled out, runs of superscripts as
    ``^x`` or ``^(xy)`` (a transpose ᵀ as '), subscripts as digits, anything else as ``?``."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch in _SUPERSCRIPTS and ch != "ᵀ":
            j = i
            while j < len(text) and text[j] in _SUPERSCRIPTS and text[j] != "ᵀ":
                j += 1
            run = "".join(_SUPERSCRIPTS[c] for c in text[i:j])
            out.append("^" + (run if len(run) == 1 or run.lstrip("-").isdigit() else f"({run})"))
            i = j
            continue
        if ch in _SUBSCRIPTS:
            out.append(_SUBSCRIPTS[ch])
        elif ch in _ASCII:
            out.append(_ASCII[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")
        i += 1
    return "".join(out)


def _ascii_errors(err: UnicodeError):
    if not isinstance(err, UnicodeEncodeError):
        raise err
    return _ascii(err.object[err.start:err.end]), err.end


codecs.register_error("matcalc-ascii", _ascii_errors)


def make_printable(stream) -> None:
    """Let ``stream`` print what its encoding cannot show in ASCII (see the module docstring)
    instead of raising UnicodeEncodeError; a stream that can show matcalc's symbols, or that
    cannot be reconfigured, is left as it is."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return
    try:
        "∂∈ℝⁿᵀ⊙·−≤✓𝟙".encode(encoding)
        return
    except (UnicodeEncodeError, LookupError):
        pass
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="matcalc-ascii")
        except (ValueError, OSError):
            pass


__all__ = ["NoProgress", "Progress", "make_printable", "progress"]
