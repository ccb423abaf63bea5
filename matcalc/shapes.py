"""Shapes: scalar, column vector ``(n)``, matrix ``(m, n)``.

Dimensions are SymPy expressions: a symbol (``n``), an integer, or a product (``m*n``, the length
of ``vec(W)``).  A row vector is the matrix ``(1, n)``; a ``(1, 1)`` product is a scalar.
"""

from __future__ import annotations

import difflib
import numbers
import re
from dataclasses import dataclass

import sympy

from .errors import ShapeError

Dim = sympy.Expr

_SYMBOLS: dict[str, sympy.Symbol] = {}


def dim(value: int | str | sympy.Expr) -> Dim:
    """A dimension from an int, a name or a SymPy expression.

    >>> dim(3), dim("n")
    (3, n)
    """
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, int):
        return sympy.Integer(value)
    if value not in _SYMBOLS:
        _SYMBOLS[value] = sympy.Symbol(value, integer=True, positive=True)
    return _SYMBOLS[value]


ONE = sympy.Integer(1)


def as_sympy(value) -> sympy.Basic:
    """A SymPy number from a Python or NumPy number (a SymPy object is returned as it is).
    Text is refused: matcalc never lets SymPy parse a string (user text goes through the
    grammar only).

    >>> as_sympy(3), as_sympy(0.5), as_sympy(dim("n"))
    (3, 0.500000000000000, n)
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, numbers.Integral):
        return sympy.Integer(int(value))
    if isinstance(value, numbers.Rational):
        return sympy.Rational(int(value.numerator), int(value.denominator))
    if isinstance(value, numbers.Real):
        return sympy.Float(float(value))
    raise TypeError(f"internal: not a number or a SymPy expression: {value!r}")


def dim_str(d: Dim) -> str:
    """``m*n`` prints as ``mn``, as textbooks write the length of ``vec(W)``."""
    return str(d).replace("*", "")


@dataclass(frozen=True)
class Shape:
    """The shape of a value; ``dims`` has 0 (scalar), 1 (column vector) or 2 (matrix) entries."""

    dims: tuple[Dim, ...] = ()

    @property
    def is_scalar(self) -> bool:
        return not self.dims

    @property
    def is_vector(self) -> bool:
        return len(self.dims) == 1

    @property
    def is_matrix(self) -> bool:
        return len(self.dims) == 2

    @property
    def is_row(self) -> bool:
        return self.is_matrix and self.dims[0] == ONE

    @property
    def is_square(self) -> bool:
        return self.is_matrix and self.dims[0] == self.dims[1]

    @property
    def size(self) -> Dim:
        """Number of entries: the length of ``vec`` of a value of this shape."""
        return sympy.Mul(*self.dims) if self.dims else ONE

    @property
    def T(self) -> Shape:
        """The shape of the transpose: ``n`` ↔ ``1×n``, ``m×n`` → ``n×m``."""
        if self.is_vector:
            return Shape((ONE, self.dims[0]))
        if self.is_row:
            return Shape((self.dims[1],))
        if self.is_matrix:
            return Shape((self.dims[1], self.dims[0]))
        return self

    @property
    def rows(self) -> Dim:
        return self.dims[0] if self.dims else ONE

    @property
    def cols(self) -> Dim:
        return self.dims[1] if self.is_matrix else ONE

    def __str__(self) -> str:
        if self.is_scalar:
            return "scalar"
        return "×".join(dim_str(d) for d in self.dims)

    def as_strings(self) -> tuple[str, ...]:
        return tuple(dim_str(d) for d in self.dims)


SCALAR = Shape(())


def normalize(dims: tuple[Dim, ...]) -> Shape:
    """A 2-D result with a unit dimension: ``1×1`` is a scalar, ``n×1`` a column vector."""
    if len(dims) == 2 and dims[1] == ONE:
        return SCALAR if dims[0] == ONE else Shape((dims[0],))
    return Shape(tuple(dims))


def as_matrix(shape: Shape) -> tuple[Dim, Dim]:
    """Rows and columns, reading a vector as a column and a scalar as ``1×1``."""
    return shape.rows, shape.cols


def matmul_shape(a: Shape, b: Shape) -> Shape | None:
    """Shape of ``a @ b`` or None if the inner dimensions differ."""
    (m, k1), (k2, n) = as_matrix(a), as_matrix(b)
    if k1 != k2:
        return None
    return normalize((m, n))


def numpy_broadcast(a: Shape, b: Shape) -> Shape | None:
    """The shape of an element-wise operation under NumPy's broadcasting, on the column-vector
    model: equal shapes; a scalar with anything; a vector (n) or a row (1×n) beside an m×n
    matrix is one of its rows; a column (m×1) beside it one of its columns.  None if NumPy
    would refuse."""
    if a == b or b.is_scalar:
        return a
    if a.is_scalar:
        return b
    for x, y in ((a, b), (b, a)):
        if not y.is_matrix:
            continue
        if x.is_vector and x.dims[0] == y.dims[1]:
            return y
        if x.is_row and x.dims[1] == y.dims[1]:
            return y
        if x.is_matrix and x.dims[1] == ONE and x.dims[0] == y.dims[0]:
            return y
    return None


def numpy_matmul(a: Shape, b: Shape) -> Shape | None:
    """The shape of ``a @ b`` as NumPy reads it, on the column-vector model: as matrices (a
    vector a column, a scalar 1×1); where a vector on the left does not chain as a column it is
    read as a row, as NumPy's 1-D operand is, and the product NumPy returns 1-D is a vector
    (w@x a scalar, x@W the vector Wᵀx).  None if the shapes do not chain."""
    if a.is_scalar:
        return b if (b.is_scalar or b.is_row) else None
    if b.is_scalar:
        return a if a.is_vector else None
    if a.is_vector and not b.is_row:
        s = matmul_shape(a.T, b)
        return None if s is None else (s.T if s.is_row else s)
    return matmul_shape(a, b)


_PLAIN = "0123456789abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW×+-"
_SUP = str.maketrans(_PLAIN, "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂˣ⁺⁻")


def space(dims: tuple[str, ...]) -> str:
    """Set notation from dimension names: ``ℝ``, ``ℝⁿ``, ``ℝᴺˣⁿ``, ``ℝ³ˣ⁴``; ``ℝ^(…)`` where a
    letter has no superscript form, and for a name with both letters and digits (``ℝⁿ²`` would
    read as n squared).

    >>> space(()), space(("n",)), space(("N", "n")), space(("3", "4")), space(("n1", "q"))
    ('ℝ', 'ℝⁿ', 'ℝᴺˣⁿ', 'ℝ³ˣ⁴', 'ℝ^(n1×q)')
    >>> space(("n2", "n"))
    'ℝ^(n2×n)'
    """
    if not dims:
        return "ℝ"
    text = "×".join(dims)
    if all(c in _PLAIN for c in text) and not any(
            any(c.isdigit() for c in d) and not d.isdigit() for d in dims):
        return "ℝ" + text.translate(_SUP)
    return f"ℝ^({text})"


_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$")
_DIM = re.compile(r"^(?:[1-9][0-9]*|[A-Za-z_][A-Za-z0-9_]*)$")


PROPERTIES = {"sym": "sym", "symmetric": "sym", "prob": "prob", "simplex": "prob"}
_HINT = "write scalar, n, m,n, m×n or 3x4, optionally followed by ,sym (a symmetric matrix) " \
    "or ,prob (a vector whose entries sum to 1)"

# Words a trailing dimension name is compared with (see ``parse_shape``): the properties, other
# spellings of them, and properties matcalc does not have (None), so that ``n,pos`` or
# ``n,n,symm`` is an error with a hint rather than an n×pos or three-dimensional shape.
PROPERTY_WORDS = {**PROPERTIES, "symmetrical": "sym", "probability": "prob",
                  "probabilities": "prob", "onehot": "prob",
                  **dict.fromkeys(("pos", "positive", "posdef", "psd", "spd", "definite", "diag",
                                   "diagonal", "orth", "orthogonal", "triangular", "nonneg",
                                   "nonnegative", "integer", "square", "invertible"))}
NEAR_MISS = 0.75      # difflib's ratio from which a trailing word reads as a property


_PAIR = re.compile(r"^([1-9][0-9]*|[A-Za-z_][A-Za-z0-9_]*?)x([1-9][0-9]*|[A-Za-z_][A-Za-z0-9_]*)$")


def _split_dims(text: str) -> list[str] | None:
    """``"m,n"``, ``"m×n"``, ``"m * n"``, ``"m x n"``, ``"3x4"``, ``"mxn"`` → ``["m", "n"]``;
    a name that merely contains an x (``"nx"``) stays whole; a dangling separator is None."""
    tokens = [t for t in re.split(r"\s*[,×*]\s*|\s+", text.strip())]
    if any(t == "" for t in tokens):
        return None                       # "n," or ", n" or "n,,m"
    out: list[str] = []
    for i, t in enumerate(tokens):
        if t == "x":                      # "m x n"
            if i == 0 or i == len(tokens) - 1:
                return None
            continue
        m = _PAIR.match(t)
        if m and not _DIM.match(t):       # "3x4"
            out += [m.group(1), m.group(2)]
        elif m and len(m.group(1)) == 1 and len(m.group(2)) == 1:   # "mxn": one letter each
            out += [m.group(1), m.group(2)]
        else:
            out.append(t)
    return out


def parse_shape(spec) -> tuple[Shape, set[str]]:
    """A shape from a declaration: ``"scalar"``, ``"n"``, ``"m,n"``, ``"mxn"``, ``"m×n"``,
    ``"3x4"``, or a tuple or list of dimensions, ``("m", "n")``, ``["n"]``, ``()`` or ``[]`` a
    scalar, as ``Expression.shapes`` and the JSON output report them (so they round-trip);
    trailing properties: ``sym`` (``"n,n,sym"``, a symmetric matrix) and ``prob`` (``"n,prob"``,
    a vector whose entries sum to 1, e.g. one-hot labels), also in a tuple
    (``("n", "n", "sym")``, as ``Expression.declarations`` reports them).
    Returns the shape and its set of properties.

    >>> parse_shape("m×n")[0], parse_shape("3x4")[0], parse_shape("scalar")[0]
    (Shape(dims=(m, n)), Shape(dims=(3, 4)), Shape(dims=()))
    >>> parse_shape("n,n,sym")[1], parse_shape("k,prob")[1]
    ({'sym'}, {'prob'})
    >>> parse_shape(())[0], parse_shape([])[0], parse_shape(["m", "n"])[0]
    (Shape(dims=()), Shape(dims=()), Shape(dims=(m, n)))

    A dimension is named by a positive integer or an identifier, but a last dimension (after
    the first) that is a word of three or more letters reading as a property — a near-miss of
    one by difflib (ratio ≥ 0.75: ``symm``, ``proba``), or a property matcalc does not have
    (``pos``, ``positive``, ``psd``, ``diag``, …; ``PROPERTY_WORDS``) — is an error with a
    hint, not a silent n×pos matrix.  Dimension names with a digit or an underscore, one or
    two letters, or other words are never taken for properties (``p``, ``n2``, ``pos_dim``,
    ``hidden``):

    >>> parse_shape("n,pos")
    Traceback (most recent call last):
      ...
    matcalc.errors.ShapeError: cannot read the shape 'n,pos': pos is not a property matcalc knows
    line 1, column 3:
      n,pos
        ^^^
    the properties are sym (a symmetric matrix) and prob (...); a dimension named like a
    property needs a digit or an underscore: pos_dim, pos2
    >>> parse_shape("n,pos_dim")[0], parse_shape("m,p")[0]
    (Shape(dims=(n, pos_dim)), Shape(dims=(m, p)))
    """
    props: set[str] = set()
    if isinstance(spec, Shape):
        return spec, props
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = (spec,)
    if isinstance(spec, (tuple, list)):
        if not spec:
            return SCALAR, props          # () from Expression.shapes, [] from the JSON
        parts = [str(p).strip() for p in spec]
    elif isinstance(spec, str):
        text = spec.strip()
        if text.lower() in ("scalar", "", "()", "1"):
            return SCALAR, props
        parts = _split_dims(text)
        if parts is None:
            raise ShapeError(f"cannot read the shape {spec!r}", hint=_HINT)
    else:
        raise ShapeError(f"cannot read the shape {spec!r}", hint=_HINT)
    while parts and parts[-1].lower() in PROPERTIES:
        props.add(PROPERTIES[parts.pop().lower()])
    if len(parts) > 1:
        _refuse_a_property_lookalike(spec, parts[-1])
    if not parts or len(parts) > 2 or any(not _DIM.match(p) for p in parts):
        raise ShapeError(f"cannot read the shape {spec!r}", hint=_HINT)
    dims = tuple(dim(int(p)) if p.isdigit() else dim(p) for p in parts)
    if "sym" in props and not (len(dims) == 2 and dims[0] == dims[1]):
        raise ShapeError(f"a symmetric matrix must be square, not {spec!r}", hint=_HINT)
    if "prob" in props and len(dims) != 1:
        raise ShapeError(f"entries summing to 1 (prob) are declared for vectors, not {spec!r}",
                         hint=_HINT)
    return Shape(dims), props


def _refuse_a_property_lookalike(spec, word: str) -> None:
    """The near-miss rule of ``parse_shape``: ``word``, the last dimension name, must not read
    as a property."""
    if not (word.isascii() and word.isalpha() and len(word) >= 3):
        return
    close = difflib.get_close_matches(word.lower(), PROPERTY_WORDS, n=1, cutoff=NEAR_MISS)
    if not close:
        return
    meant = PROPERTY_WORDS[close[0]]
    rename = f"a dimension named like a property needs a digit or an underscore: " \
        f"{word}_dim, {word}2"
    if meant is None:
        message = f"{word} is not a property matcalc knows"
        hint = "the properties are sym (a symmetric matrix) and prob (a vector whose entries " \
            f"sum to 1); {rename}"
    else:
        message = f"{word} reads as a mistyped property"
        hint = f"did you mean {meant}? ({rename})"
    text = spec if isinstance(spec, str) else None
    span = None
    if text is not None:
        start = text.rfind(word)
        span = (start, start + len(word))
    raise ShapeError(f"cannot read the shape {spec!r}: {message}", text=text, span=span,
                     hint=hint)


def parse_shape_assignment(text: str) -> tuple[str, str]:
    """Split a CLI ``--shape`` argument ``NAME=SPEC``."""
    m = _SPEC.match(text)
    if not m:
        raise ShapeError(f"cannot read the shape declaration {text!r}",
                         hint="write NAME=SPEC, e.g. --shape W=m,n or --shape b=scalar")
    return m.group(1), m.group(2)
