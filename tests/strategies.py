"""Random well-typed expressions of matcalc's whole language, for property-based tests and the
soak (``benchmarks/soak.py``).

One generator draws from a ``Source``: Hypothesis's ``draw`` in the test suite (so failures
shrink), or a seeded ``random.Random`` in the soak (fast, reproducible by seed).  It covers every
operator and function, every spelling of an operator, scalars, vectors and matrices of three
distinct dimensions, variables used several times, scalar expansion, nesting several levels
deep and the piecewise functions.  Domains are respected by construction: ``log``, ``sqrt``,
fractional powers and denominators only see positive subexpressions, ``tan`` only bounded ones,
and ``inv``/``det``/``logdet`` only square variables that the checker fills with
well-conditioned values (positive determinant).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import strategies as st

from matcalc.rules import ALIASES, RULES

DIMS = ("k", "m", "n")            # checked at 2, 3, 4 (distinct: a missing transpose shows)

# precedence of the printed text (higher binds tighter), as in the grammar
ADD, MUL, NEG, POW, POST, ATOM = 1, 2, 3, 4, 5, 6

SCALAR_NAMES = ["a", "b", "c", "d"]
VECTOR_NAMES = {"n": ["x", "y", "z"], "m": ["u", "v"], "k": ["p", "q"]}
MATRIX_NAMES = {("n", "n"): ["S", "R"], ("n", "m"): ["A", "B"], ("m", "n"): ["C", "D"],
                ("n", "k"): ["E", "F"], ("k", "n"): ["G", "H"], ("m", "k"): ["J", "K"],
                ("k", "m"): ["L", "M"], ("m", "m"): ["P", "Q"], ("k", "k"): ["U", "V"]}
WELL_CONDITIONED = ("k", "k")     # inv, det and logdet take these (2×2 in the checks)

# Element-wise functions of one argument, from the rule table (a new entry is generated as soon
# as it exists), with every spelling; those defined for positive arguments get positive ones.
ELEMENTWISE = sorted(name for name, rule in RULES.items()
                     if rule.family == "elementwise" and rule.callable)
SPELLINGS = {name: [name] + [a for a, t in ALIASES.items() if t == name and a.isascii()]
             for name in ELEMENTWISE}
POSITIVE_VALUES = {"exp", "sigmoid", "softplus", "sqrt", "normcdf", "normpdf", "cosh"}
BOUNDED_VALUES = {"sin", "cos", "tanh", "sigmoid", "erf", "softsign", "normcdf", "normpdf",
                  "step", "sign"}
GROWING = {"exp", "expm1", "sinh", "cosh"}        # kept to moderate arguments when nested


# ---------------------------------------------------------------------------------------------
# Sources of choices


class RandomSource:
    """Choices from a seeded ``random.Random`` (the soak)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]


class HypothesisSource:
    """Choices from Hypothesis's ``draw`` (the test suite: failures shrink)."""

    def __init__(self, draw):
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def choice(self, seq):
        return seq[self.draw(st.integers(0, len(seq) - 1))]


# ---------------------------------------------------------------------------------------------


@dataclass
class Node:
    """A generated subexpression: its text, shape (``()``, ``(d,)`` or ``(d1, d2)``), the
    precedence of its text, and what is known of its values."""

    text: str
    shape: tuple
    prec: int = ATOM
    positive: bool = False      # > 0 wherever the checker samples
    bounded: bool = False       # |value| ≤ 1.2 there (tan's argument)


@dataclass
class Sample:
    """A generated expression with its declared shapes."""

    text: str
    shapes: dict = field(default_factory=dict)    # name -> "n", "m,k", "scalar"
    well_conditioned: set = field(default_factory=set)

    @property
    def variables(self) -> list[str]:
        return list(self.shapes)

    def __repr__(self) -> str:
        return f"Sample({self.text!r}, shapes={self.shapes!r})"


class Generator:
    def __init__(self, src, max_depth: int = 4):
        self.src = src
        self.max_depth = max_depth
        self.shapes: dict[str, tuple] = {}

    # -- helpers ---------------------------------------------------------------------------

    def coin(self, percent: int) -> bool:
        return self.src.int(0, 99) < percent

    @staticmethod
    def wrap(n: Node, prec: int) -> str:
        return n.text if n.prec >= prec else f"({n.text})"

    def variable(self, shape: tuple) -> Node:
        if shape == ():
            names = SCALAR_NAMES
        elif len(shape) == 1:
            names = VECTOR_NAMES[shape[0]]
        else:
            names = MATRIX_NAMES[shape]
        used = [n for n in names if n in self.shapes]
        name = self.src.choice(used) if used and self.coin(60) else self.src.choice(names)
        self.shapes[name] = shape
        return Node(name, shape, ATOM, bounded=True)   # values drawn in (−1, 1)

    def constant(self) -> Node:
        text = self.src.choice(["2", "3", "0.5", "1.5", "1e-1", "4"])
        return Node(text, (), ATOM, positive=True, bounded=float(text) <= 1.2)

    # -- the generator by shape --------------------------------------------------------------

    def expr(self, shape: tuple, depth: int) -> Node:
        if depth <= 0 or self.coin(20):
            if shape == () and self.coin(25):
                return self.constant()
            return self.variable(shape)
        builders = [self.elementwise, self.elementwise, self.unary, self.binary, self.binary,
                    self.expand, self.minmax, self.power, self.slope]
        if shape == ():
            builders += [self.reduction, self.reduction, self.inner, self.square_scalar,
                         self.literal_reduction]
        elif len(shape) == 1:
            builders += [self.matvec, self.matvec, self.softmax, self.diag_of, self.along_axis]
        else:
            builders += [self.matmat, self.transposed, self.outer, self.inverse, self.diag_mat,
                         self.broadcast, self.along_axis]
        for _ in range(10):
            n = self.src.choice(builders)(shape, depth - 1)
            if n is not None:
                return n
        return self.variable(shape)

    def positive(self, shape: tuple, depth: int) -> Node:
        """A subexpression known to be positive."""
        a = self.expr(shape, depth)
        if a.positive:
            return a
        form = self.src.int(0, 5)
        if form == 0:
            return Node(f"exp({a.text})", shape, ATOM, positive=True)
        if form == 1:
            return Node(f"sigmoid({a.text})", shape, ATOM, positive=True, bounded=True)
        if form == 2:
            return Node(f"softplus({a.text})", shape, ATOM, positive=True)
        if form == 3:
            return Node(f"{self.wrap(a, POW + 1)}^2 + 0.5", shape, ADD, positive=True)
        if form == 4:
            return Node(f"abs({a.text}) + 1", shape, ADD, positive=True)
        return Node(f"{self.wrap(a, POW + 1)}**2 + 1", shape, ADD, positive=True)

    def unary(self, shape, depth):
        a = self.expr(shape, depth)
        return Node(f"-{self.wrap(a, NEG)}", shape, NEG, bounded=a.bounded)

    def elementwise(self, shape, depth):
        name = self.src.choice(ELEMENTWISE)
        lo, hi = RULES[name].domain
        if lo >= 0 or name == "log1p":
            a = self.positive(shape, depth)
        else:
            a = self.expr(shape, depth)
        if lo < 0 and hi - lo < 3 and not a.bounded:    # tan: a bounded argument
            a = Node(f"sin({a.text})", shape, ATOM, bounded=True)
        if name in GROWING and depth > 1:               # keep values moderate
            a = Node(f"tanh({a.text})", shape, ATOM, bounded=True)
        spelled = self.src.choice(SPELLINGS[name])
        return Node(f"{spelled}({a.text})", shape, ATOM, positive=name in POSITIVE_VALUES,
                    bounded=name in BOUNDED_VALUES)

    def slope(self, shape, depth):
        """leaky_relu(x), elu(x, a): activations with a scalar slope, given or by default."""
        name = self.src.choice(["leaky_relu", "elu"])
        a = self.expr(shape, depth)
        if self.coin(50):
            return Node(f"{name}({a.text})", shape, ATOM)
        return Node(f"{name}({a.text}, {self.expr((), 0).text})", shape, ATOM)

    def broadcast(self, shape, depth):
        """A matrix and a row of it, as NumPy broadcasts: X + v, X - v (v has X's columns)."""
        if len(shape) != 2:
            return None
        a = self.expr(shape, depth)
        v = self.expr((shape[1],), depth)
        op = self.src.choice(["+", "-"])
        if self.coin(50):
            return Node(f"{self.wrap(a, ADD)} {op} {self.wrap(v, ADD + 1)}", shape, ADD)
        return Node(f"{self.wrap(v, ADD)} {op} {self.wrap(a, ADD + 1)}", shape, ADD)

    def along_axis(self, shape, depth):
        """sum, mean, logsumexp, norm along an axis of a matrix (a vector); softmax and
        log_softmax along one (a matrix)."""
        if len(shape) == 1:
            (d,) = shape
            other = self.src.choice(DIMS)
            axis = self.src.int(0, 1)
            M = (other, d) if axis == 0 else (d, other)
            name = self.src.choice(["sum", "mean", "logsumexp", "norm"])
            a = self.positive(M, depth) if name == "norm" else self.expr(M, depth)
            spelled = "-1" if axis == 1 and self.coin(30) else str(axis)
            return Node(f"{name}({a.text}, axis={spelled})", shape, ATOM,
                        positive=name == "norm")
        if len(shape) == 2:
            name = self.src.choice(["softmax", "log_softmax"])
            a = self.expr(shape, depth)
            return Node(f"{name}({a.text}, axis={self.src.int(0, 1)})", shape, ATOM,
                        positive=name == "softmax", bounded=name == "softmax")
        return None

    def binary(self, shape, depth):
        op = self.src.choice(["+", "-", "*", "⊙", "/", "⊘", "*"])
        a = self.expr(shape, depth)
        b = self.positive(shape, depth) if op in ("/", "⊘") else self.expr(shape, depth)
        prec = ADD if op in "+-" else MUL
        text = f"{self.wrap(a, prec)} {op} {self.wrap(b, prec + 1)}"
        positive = a.positive and b.positive and op in ("+", "*", "⊙", "/", "⊘")
        return Node(text, shape, prec, positive=positive)

    def expand(self, shape, depth):
        """Scalar expansion: a scalar combined with a vector or matrix."""
        if shape == ():
            return None
        s = self.expr((), depth)
        a = self.expr(shape, depth)
        op = self.src.choice(["+", "-", "*", "*"])
        prec = ADD if op in "+-" else MUL
        if self.coin(50):
            text = f"{self.wrap(s, prec)} {op} {self.wrap(a, prec + 1)}"
        else:
            text = f"{self.wrap(a, prec)} {op} {self.wrap(s, prec + 1)}"
        return Node(text, shape, prec)

    def minmax(self, shape, depth):
        name = self.src.choice(["max", "min", "max"])
        a = self.expr(shape, depth)
        b = Node("0", (), ATOM) if self.coin(40) else self.expr(
            self.src.choice([shape, ()]) if shape else (), depth)
        args = [a.text, b.text] if self.coin(50) else [b.text, a.text]
        return Node(f"{name}({args[0]}, {args[1]})", shape, ATOM)

    def power(self, shape, depth):
        form = self.src.int(0, 3)
        if form <= 1:
            a = self.expr(shape, depth)
            p = self.src.choice(["2", "3"])
            op = self.src.choice(["^", "**"])
            return Node(f"{self.wrap(a, POW + 1)}{op}{p}", shape, POW,
                        positive=a.positive)
        a = self.positive(shape, depth)
        if form == 2:
            p = self.src.choice(["0.5", "1.5", "-1", "(-2)"])
            return Node(f"{self.wrap(a, POW + 1)}^{p}", shape, POW, positive=True)
        e = self.variable(())                            # a variable exponent: aᵖ log a
        return Node(f"{self.wrap(a, POW + 1)}^{e.text}", shape, POW, positive=True)

    def reduction(self, shape, depth):
        kind = self.src.int(0, 5)
        inner = self.src.choice([(d,) for d in DIMS] + [("n", "m"), ("k", "k")])
        a = self.expr(inner, depth)
        if kind == 0:
            return Node(f"sum({a.text})", (), ATOM)
        if kind == 1:
            return Node(f"mean({a.text})", (), ATOM)
        if kind == 2:
            return Node(f"norm({self.positive(inner, depth).text})", (), ATOM, positive=True)
        if kind == 3 and len(inner) == 1:
            return Node(f"norm({self.positive(inner, depth).text}, 1)", (), ATOM,
                        positive=True)
        if kind == 4 and len(inner) == 1:
            return Node(f"logsumexp({a.text})", (), ATOM)
        return Node(f"sum({a.text})", (), ATOM)

    def transpose_text(self, a: Node) -> str:
        form = self.src.int(0, 3)
        if form == 0:
            return f"{self.wrap(a, POST)}'"
        if form == 1:
            return f"{self.wrap(a, POST)}^T"
        if form == 2:
            return f"{self.wrap(a, POST)}.T"
        return f"transpose({a.text})"

    def inner(self, shape, depth):
        """Scalars from vectors: u·v, dot(u, v), uᵀ v, uᵀ M v."""
        d = self.src.choice(DIMS)
        a, b = self.expr((d,), depth), self.expr((d,), depth)
        form = self.src.int(0, 5)
        if form == 4:                                   # NumPy's 1-D @: the dot product
            return Node(f"{self.wrap(a, MUL)} @ {self.wrap(b, MUL + 1)}", (), MUL)
        if form == 5:                                   # the Kronecker product's entries
            e = self.src.choice(DIMS)
            A, B = self.expr((d, e), depth), self.expr((e, d), depth)
            return Node(f"sum(kron({A.text}, {B.text}))", (), ATOM)
        if form == 0:
            return Node(f"{self.wrap(a, MUL)}·{self.wrap(b, MUL + 1)}", (), MUL)
        if form == 1:
            return Node(f"dot({a.text}, {b.text})", (), ATOM)
        if form == 2:
            return Node(f"{self.transpose_text(a)} @ {self.wrap(b, MUL + 1)}", (), MUL)
        e = self.src.choice(DIMS)
        c = self.expr((e,), depth)
        M = self.expr((d, e), depth)
        return Node(f"{self.transpose_text(a)} @ {self.wrap(M, MUL + 1)} @ "
                    f"{self.wrap(c, MUL + 1)}", (), MUL)

    def square_scalar(self, shape, depth):
        kind = self.src.int(0, 3)
        if kind == 0:
            d = self.src.choice(DIMS)
            a = self.expr((d, d), depth)
            return Node(f"{self.src.choice(['trace', 'tr'])}({a.text})", (), ATOM)
        X = self.variable(WELL_CONDITIONED)
        if kind == 1:
            return Node(f"det({X.text})", (), ATOM, positive=True)
        if kind == 2:
            return Node(f"logdet({X.text})", (), ATOM)
        return Node(f"log(det({X.text}))", (), ATOM)

    def literal_reduction(self, shape, depth):
        items = [self.expr((), depth) for _ in range(self.src.int(2, 3))]
        return Node(f"sum([{', '.join(i.text for i in items)}])", (), ATOM)

    def matvec(self, shape, depth):
        (d,) = shape
        e = self.src.choice(DIMS)
        v = self.expr((e,), depth)
        if self.coin(30):                               # Mᵀ v
            M = self.expr((e, d), depth)
            return Node(f"{self.transpose_text(M)} @ {self.wrap(v, MUL + 1)}", shape, MUL)
        if self.coin(20):                               # v @ M: NumPy's row-vector product
            M = self.expr((e, d), depth)
            return Node(f"{self.wrap(v, MUL)} @ {self.wrap(M, MUL + 1)}", shape, MUL)
        M = self.expr((d, e), depth)
        return Node(f"{self.wrap(M, MUL)} @ {self.wrap(v, MUL + 1)}", shape, MUL)

    def softmax(self, shape, depth):
        a = self.expr(shape, depth)
        return Node(f"softmax({a.text})", shape, ATOM, positive=True, bounded=True)

    def diag_of(self, shape, depth):
        (d,) = shape
        return Node(f"diag({self.expr((d, d), depth).text})", shape, ATOM)

    def matmat(self, shape, depth):
        d1, d2 = shape
        e = self.src.choice(DIMS)
        a, b = self.expr((d1, e), depth), self.expr((e, d2), depth)
        return Node(f"{self.wrap(a, MUL)} @ {self.wrap(b, MUL + 1)}", shape, MUL)

    def transposed(self, shape, depth):
        d1, d2 = shape
        return Node(self.transpose_text(self.expr((d2, d1), depth)), shape, POST)

    def outer(self, shape, depth):
        d1, d2 = shape
        a, b = self.expr((d1,), depth), self.expr((d2,), depth)
        return Node(f"{self.wrap(a, MUL)} @ {self.transpose_text(b)}", shape, MUL)

    def inverse(self, shape, depth):
        if shape != WELL_CONDITIONED:
            return None
        X = self.variable(WELL_CONDITIONED)
        return Node(f"inv({X.text})", shape, ATOM)

    def diag_mat(self, shape, depth):
        d1, d2 = shape
        if d1 != d2:
            return None
        return Node(f"diag({self.expr((d1,), depth).text})", shape, ATOM)

    # -- a whole sample ----------------------------------------------------------------------

    def sample(self) -> Sample:
        kind = self.src.int(0, 9)
        if kind < 6:
            shape = ()
        elif kind < 9:
            shape = (self.src.choice(DIMS),)
        else:
            shape = self.src.choice(list(MATRIX_NAMES))
        node = self.expr(shape, self.src.int(1, self.max_depth))
        declared = {name: ("scalar" if s == () else ",".join(s)) for name, s in
                    self.shapes.items()}
        wc = {name for name, s in self.shapes.items() if s == WELL_CONDITIONED}
        return Sample(node.text, declared, wc)


def generate(src, max_depth: int = 4) -> Sample:
    return Generator(src, max_depth).sample()


@st.composite
def samples(draw, max_depth: int = 4) -> Sample:
    """Hypothesis strategy: a random well-typed expression with its declared shapes."""
    return generate(HypothesisSource(draw), max_depth)
