"""The intermediate representation: a small closed set of immutable nodes.

One IR serves the input expression and its derivative.  Nodes are compared and hashed
structurally, so a subexpression used twice is one node (the expression is a DAG).  Smart
constructors (``add``, ``mul``, ``matmul``, ``transpose`` …) fold the obvious cases (0, 1, I,
double transposes) and compute shapes; operations with a rule-table entry are built by
``rules.apply``.  Nothing here knows calculus.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

import sympy

from .errors import ShapeError
from .shapes import ONE, SCALAR, Shape, as_sympy, matmul_shape, normalize


@dataclass(frozen=True, eq=False, slots=True)
class Expr:
    """Base node.  ``span`` is the (start, end) of the source text it came from, if any."""

    shape: Shape
    span: tuple[int, int] | None = field(default=None, kw_only=True, repr=False)
    # the structural hash, and the representative of the node's class of equal nodes
    # (``_find``); nodes have slots, not a __dict__: they are many, and allocated often
    _h: int = field(default=0, init=False, repr=False)
    _rep: Expr | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        # hash now, bottom-up (operands already are), so a deep chain never recurses; every
        # node has its hash from here on, and __hash__ and __eq__ (the hot path of every dict
        # keyed by nodes) only read it
        object.__setattr__(self, "_h", hash((type(self).__name__, self.shape) + self._key()))

    def _key(self) -> tuple:
        raise NotImplementedError

    @property
    def key(self) -> tuple:
        return (type(self).__name__, self.shape) + self._key()

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, Expr) and self._h == other._h
                                 and (_find(self) is _find(other) or _same(self, other)))

    def __hash__(self) -> int:
        return self._h

    @property
    def args(self) -> tuple[Expr, ...]:
        return ()


def _same(a: Expr, b: Expr) -> bool:
    """Structural equality, compared with an explicit stack (no recursion, so depth is not
    limited by Python's stack); cached hashes rule out most differences at once.  Nodes found
    equal are merged into one class (union-find, ``_find``), so two equal DAGs are walked once:
    comparing them again, or any pair of their subexpressions, is then a pointer comparison."""
    x, y = _find(a), _find(b)
    if type(x) is Var and type(y) is Var:       # a name written twice: compared at once
        if x is y:
            return True
        if x._h != y._h or x.shape != y.shape or x.name != y.name or x.props != y.props:
            return False
        object.__setattr__(y, "_rep", x)
        return True
    stack = [(a, b)]
    equal = []
    while stack:
        x, y = stack.pop()
        x, y = _find(x), _find(y)
        if x is y:
            continue
        if type(x) is not type(y) or x._h != y._h or x.shape != y.shape:
            return False
        kx, ky = x._key(), y._key()
        if len(kx) != len(ky):
            return False
        for u, v in zip(kx, ky):
            if isinstance(u, tuple) and isinstance(v, tuple) and len(u) == len(v) and u and \
                    isinstance(u[0], Expr):
                stack.extend(zip(u, v))
            elif isinstance(u, Expr) and isinstance(v, Expr):
                stack.append((u, v))
            elif u != v:
                return False
        equal.append((x, y))
    for x, y in equal:
        x, y = _find(x), _find(y)
        if x is not y:
            object.__setattr__(y, "_rep", x)
    return True


def _find(e: Expr) -> Expr:
    """The representative of ``e``'s class of equal nodes (with path compression)."""
    root = e
    while (up := root._rep) is not None:
        root = up
    while e is not root:
        up = e._rep
        object.__setattr__(e, "_rep", root)
        e = up
    return root


@dataclass(frozen=True, eq=False, slots=True)
class Var(Expr):
    """A named input: ``x``, ``W_1``."""

    name: str = ""
    props: frozenset = frozenset()   # declared properties: "sym" (Aᵀ = A), "prob" (sum(y) = 1)

    def __post_init__(self):     # Expr's, without the calls: the same hash
        object.__setattr__(self, "_h", hash((type(self).__name__, self.shape, self.name,
                                             self.props)))

    def _key(self):
        return (self.name, self.props)

    def __repr__(self):
        return f"Var({self.name!r}, {self.shape})"


@dataclass(frozen=True, eq=False, slots=True)
class Const(Expr):
    """A constant: a scalar number, or every entry of a vector/matrix equal to ``value``
    (``0`` is the zero vector/matrix, ``1`` is the ones vector 𝟙)."""

    value: sympy.Expr = sympy.Integer(0)

    def _key(self):
        return (self.value,)

    def __repr__(self):
        return f"Const({self.value}, {self.shape})"


@dataclass(frozen=True, eq=False, slots=True)
class Identity(Expr):
    """The identity matrix ``I`` (square shape)."""

    def _key(self):
        return ()

    def __repr__(self):
        return f"I({self.shape})"


@dataclass(frozen=True, eq=False, slots=True)
class Call(Expr):
    """An operation from the rule table (``op`` is its key) applied to ``operands``;
    ``params`` holds non-expression arguments (e.g. the ``p`` of ``norm(x, p)``)."""

    op: str = ""
    operands: tuple[Expr, ...] = ()
    params: tuple = ()

    def __post_init__(self):     # Expr's, without the calls: the same hash
        object.__setattr__(self, "_h", hash((type(self).__name__, self.shape, self.op,
                                             self.operands, self.params)))

    def _key(self):
        return (self.op, self.operands, self.params)

    @property
    def args(self) -> tuple[Expr, ...]:
        return self.operands

    def __repr__(self):
        inner = ", ".join(repr(a) for a in self.operands)
        extra = f", params={self.params}" if self.params else ""
        return f"{self.op}({inner}{extra})"


# ---------------------------------------------------------------------------------------------
# Predicates


def is_const(e: Expr, value=None) -> bool:
    return isinstance(e, Const) and (value is None or e.value == value)


def is_zero(e: Expr) -> bool:
    return isinstance(e, Const) and e.value == 0


def const(value, shape: Shape = SCALAR) -> Const:
    if type(value) is int:
        return Const(shape, value=sympy.Integer(value))
    v = value if isinstance(value, sympy.Expr) else sympy.nsimplify(value) \
        if isinstance(value, float) and float(value).is_integer() else as_sympy(value)
    return Const(shape, value=v)


def zero(shape: Shape = SCALAR) -> Const:
    return Const(shape, value=sympy.Integer(0))


def ones(shape: Shape) -> Const:
    return Const(shape, value=sympy.Integer(1))


def identity(n) -> Expr:
    return Identity(Shape((n, n))) if n != ONE else const(1)


def var(name: str, shape: Shape, props=frozenset()) -> Var:
    return Var(shape, name=name, props=frozenset(props))


def is_symmetric(e: Expr) -> bool:
    """Known to equal its transpose: a variable declared ``sym``, ``I``, a scalar multiple, sum or
    inverse of symmetric matrices, a palindromic product (Xᵀ X, Xᵀ A X with A symmetric)."""
    if isinstance(e, Var):
        return "sym" in e.props
    if isinstance(e, Identity):
        return True
    if isinstance(e, Const):
        return e.shape.is_square
    if isinstance(e, Call) and e.op in ("add", "inv") and e.shape.is_square:
        return all(is_symmetric(a) for a in e.operands)
    if isinstance(e, Call) and e.op == "mul" and e.shape.is_square:
        return all(a.shape.is_scalar or is_symmetric(a) for a in e.operands)
    if isinstance(e, Call) and e.op == "matmul" and e.shape.is_square:
        fs = e.operands             # a product that reads the same transposed: Xᵀ X, Xᵀ A X (A sym)
        return all(fs[i] == transpose(fs[-1 - i]) for i in range(len(fs) // 2)) and \
            (len(fs) % 2 == 0 or is_symmetric(fs[len(fs) // 2]))
    return False


def call(op: str, operands, shape: Shape, params: tuple = ()) -> Call:
    return Call(shape, op=op, operands=tuple(operands), params=tuple(params))


def with_span(e: Expr, span) -> Expr:
    """The same node, remembering where it came from (spans are not part of equality)."""
    if span is None or e.span == span:
        return e
    cls = type(e)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(e) if f.name not in ("span", "_rep"))
    new = object.__new__(cls)           # a copy: the constructor would compute the same hash
    for k in names:
        object.__setattr__(new, k, getattr(e, k))
    object.__setattr__(new, "span", span)
    object.__setattr__(new, "_rep", None)
    return new


_FIELDS: dict[type, tuple[str, ...]] = {}   # the fields a node is copied with, but its span


# ---------------------------------------------------------------------------------------------
# Smart constructors for the structural algebra.


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """Element-wise result shape: equal shapes, or a scalar expanded to the other (the paper's
    scalar expansion).  None if they do not fit."""
    if a == b or b.is_scalar:
        return a
    if a.is_scalar:
        return b
    return None


def _elementwise_shape(op: str, args) -> Shape:
    shape = SCALAR
    for a in args:
        s = broadcast(shape, a.shape)
        if s is None:
            raise ShapeError(f"element-wise {op}: shapes {shape} and {a.shape} do not match")
        shape = s
    return shape


def _plain(e: Expr, op: str) -> bool:
    """Neither a constant nor an ``op`` node: an operand that ``add`` or ``mul`` (``op``) takes
    as it is."""
    return not isinstance(e, Const) and not (isinstance(e, Call) and e.op == op)


def add(*terms: Expr) -> Expr:
    """Element-wise sum (n-ary, flattened); zeros are dropped, constants folded.  A sum of more
    than ``FLATTEN_LIMIT`` terms stays one term, as in ``mul``: s₂ = s₁ + s₁, s₃ = s₂ + s₂, …
    (a "where" chain) is k nodes, not 2ᵏ terms."""
    if len(terms) == 1 and not isinstance(terms[0], Const) and \
            not (isinstance(terms[0], Call) and terms[0].op == "add"):
        return terms[0]         # what the rest would make of it, without the work
    if len(terms) == 1 and isinstance(terms[0], Const):     # likewise
        value = sympy.Integer(0) + terms[0].value
        return Const(terms[0].shape, value=value) if value != 0 else zero(terms[0].shape)
    if len(terms) == 2 and _plain(terms[0], "add") and _plain(terms[1], "add") and \
            terms[0].shape == terms[1].shape:
        return Call(terms[0].shape, op="add", operands=terms)      # likewise
    flat: list[Expr] = []
    for t in terms:
        nested = isinstance(t, Call) and t.op == "add" and len(t.operands) <= FLATTEN_LIMIT
        flat.extend(t.operands if nested else (t,))
    shape = _elementwise_shape("+", flat)
    cval = sympy.Integer(0)
    rest: list = []
    where = None
    for t in flat:
        if isinstance(t, Const):
            cval += t.value
            where = len(rest) if where is None else where
        else:
            rest.append(t)
    if cval != 0:  # constants fold into one term, where the first one was: 1 + tan²
        rest.insert(where, Const(shape, value=cval))
    if not rest:
        return zero(shape)
    if len(rest) == 1:
        return expand_to(rest[0], shape)
    if not any(t.shape == shape for t in rest):
        # the shape is carried by a zero that was dropped: keep it explicit
        rest.append(zero(shape))
    return call("add", rest, shape)


def expand_to(e: Expr, shape: Shape) -> Expr:
    """``e`` broadcast to ``shape`` (a scalar times 𝟙 when shapes differ)."""
    if e.shape == shape:
        return e
    if isinstance(e, Const):
        return Const(shape, value=e.value)
    return mul(e, ones(shape))


def neg(a: Expr) -> Expr:
    return mul(const(-1), a)


def negated(e: Expr) -> Expr | None:
    """a when ``e`` is −a (``neg``'s form), else None."""
    if isinstance(e, Call) and e.op == "mul" and len(e.operands) == 2 and \
            is_const(e.operands[0], -1):
        return e.operands[1]
    return None


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


FLATTEN_LIMIT = 32


def mul(*factors: Expr) -> Expr:
    """Element-wise (Hadamard) product, n-ary; a scalar factor is scalar expansion.  Constant
    factors are folded into one leading coefficient; a zero factor gives zero.  A product of
    more than ``FLATTEN_LIMIT`` factors stays one factor, so that multiplying a chain one factor
    at a time (the reverse pass through exp(exp(…))) costs linear, not quadratic, time."""
    if len(factors) == 1 and not isinstance(factors[0], Const) and \
            not (isinstance(factors[0], Call) and factors[0].op == "mul"):
        return factors[0]       # what the rest would make of it, without the work
    if len(factors) == 2 and _plain(factors[0], "mul") and _plain(factors[1], "mul") and \
            factors[0].shape == factors[1].shape:
        return Call(factors[0].shape, op="mul", operands=factors)   # likewise
    if len(factors) == 2:       # a number times an operand (the reverse pass's products)
        a, b = factors
        c, other = (a, b) if isinstance(a, Const) else (b, a)
        if isinstance(c, Const) and c.shape.is_scalar and isinstance(other, Const):
            value = a.value * b.value
            return zero(other.shape) if value == 0 else Const(other.shape, value=value)
        if isinstance(c, Const) and c.shape.is_scalar and _plain(other, "mul"):
            if c.value == 0:
                return zero(other.shape)
            if c.value == 1:
                return other
            return Call(other.shape, op="mul", operands=(Const(SCALAR, value=c.value), other))
    flat: list[Expr] = []
    for f in factors:
        nested = isinstance(f, Call) and f.op == "mul" and len(f.operands) <= FLATTEN_LIMIT
        flat.extend(f.operands if nested else (f,))
    shape = _elementwise_shape("⊙", flat)
    coeff = sympy.Integer(1)
    rest = []
    for f in flat:
        if isinstance(f, Const):
            coeff *= f.value
        else:
            rest.append(f)
    folded = len(rest) < len(flat)      # else the coefficient is 1
    if folded and coeff == 0:
        return zero(shape)
    if not rest:
        return Const(shape, value=coeff)
    if not any(r.shape == shape for r in rest):
        rest.append(ones(shape))  # scalar expansion kept explicit: s 𝟙
    if folded and coeff != 1:
        rest.insert(0, const(coeff))
    if len(rest) == 1:
        return rest[0]
    return call("mul", rest, shape)


def div(a: Expr, b: Expr) -> Expr:
    if is_const(b, 1):
        return expand_to(a, _elementwise_shape("⊘", [a, b]))
    if isinstance(b, Const) and b.shape.is_scalar and b.value != 0:
        return mul(const(1 / b.value), a)
    if is_zero(a):
        return zero(_elementwise_shape("⊘", [a, b]))
    return call("div", [a, b], _elementwise_shape("⊘", [a, b]))


def power(a: Expr, p: Expr) -> Expr:
    if not p.shape.is_scalar:
        raise ShapeError(f"the exponent must be a scalar, not {p.shape}")
    if is_const(p, 1):
        return a
    if is_const(p, 0):
        return ones(a.shape) if not a.shape.is_scalar else const(1)
    if isinstance(a, Const) and isinstance(p, Const) and foldable_power(a.value, p.value):
        return Const(a.shape, value=a.value ** p.value)
    return call("pow", [a, p], a.shape)


def foldable_power(base, exponent) -> bool:
    """Whether baseᵉˣᵖᵒⁿᵉⁿᵗ of two numbers may be computed exactly: a rational exponent of
    moderate size and a result of at most a few thousand bits (9^9^9 stays unevaluated)."""
    if not (getattr(base, "is_Rational", False) and getattr(exponent, "is_Rational", False)):
        return True
    if abs(exponent.p) > 10**6 or exponent.q > 1000:
        return False
    bits = max(abs(base.p).bit_length(), base.q.bit_length())
    return bits * abs(exponent.p) // exponent.q <= 4000


def transpose(a: Expr) -> Expr:
    """``aᵀ``; scalars, ``I`` and double transposes fold."""
    if a.shape.is_scalar or isinstance(a, Identity) or (a.shape.is_square and is_symmetric(a)):
        return a
    if isinstance(a, Const):
        return Const(a.shape.T, value=a.value)
    if isinstance(a, Call) and a.op == "T":
        return a.operands[0]
    if isinstance(a, Call) and a.op == "div" and a.operands[1].shape.is_scalar:
        return div(transpose(a.operands[0]), a.operands[1])   # (x/s)ᵀ = xᵀ/s
    if isinstance(a, Call) and a.op == "add" and a.shape.is_square and \
            sorted(map(hash, a.operands)) == sorted(hash(transpose(t)) for t in a.operands):
        return a    # a symmetric sum: (A + Aᵀ)ᵀ = A + Aᵀ
    if isinstance(a, Call) and a.op == "mul" and any(f.shape.is_scalar for f in a.operands):
        # (c x)ᵀ = c xᵀ: keep scalar coefficients outside, the rest transposed as one
        scalars = [f for f in a.operands if f.shape.is_scalar]
        rest = [f for f in a.operands if not f.shape.is_scalar]
        return mul(*scalars, transpose(mul(*rest)) if len(rest) > 1 else transpose(rest[0]))
    return call("T", [a], a.shape.T)


def matmul(*factors: Expr) -> Expr:
    """Matrix product chain (n-ary, flattened up to ``CHAIN_FLAT`` factors); ``I`` is dropped,
    a zero factor gives zero, scalar (1×1) factors become coefficients."""
    flat: list[Expr] = []
    for f in factors:
        flat.extend(f.operands if isinstance(f, Call) and f.op == "matmul" else (f,))
    if len(flat) > CHAIN_FLAT and len(factors) < len(flat):
        # a long chain keeps its products as factors (one level): the prefixes of a chain of N
        # factors share their pieces, so N of them cost O(N) nodes, not O(N²)
        flat = list(factors)
    flat = _scalar_runs(flat)
    shape = flat[0].shape
    for f in flat[1:]:
        shape = chain_shape(shape, f.shape)
    scalars = [f for f in flat if f.shape.is_scalar]
    mats = _fold_constants([f for f in flat if not f.shape.is_scalar and
                            not isinstance(f, Identity)])
    if any(is_zero(f) for f in flat):
        return zero(shape)
    if not mats:
        base = identity(shape.rows) if shape.is_matrix else ones(shape)
        return mul(*scalars, base) if scalars else base
    core = mats[0] if len(mats) == 1 else call("matmul", mats, _chain_shape(mats))
    if core.shape != shape:
        core = normalize_shape(core, shape)
    return mul(*scalars, core) if scalars else core


CHAIN_FLAT = 16   # a product longer than this keeps its factors' products as single factors


def chain_shape(shape: Shape, factor: Shape) -> Shape:
    """The shape of a product of shape ``shape`` times one more factor (a 1×1 factor scales)."""
    if shape.is_scalar or factor.is_scalar:
        return broadcast(shape, factor)
    s = matmul_shape(shape, factor)
    if s is None:
        raise ShapeError(f"matrix product: shapes {shape} and {factor} do not chain")
    return s


def _scalar_runs(flat: list) -> list:
    """The factors with each run that multiplies out to 1×1 before more factors follow
    (xᵀ A x in xᵀ A x B) made one scalar factor: it scales, it does not chain."""
    out: list = []
    run: list = []
    shape = None
    for f in flat:
        if f.shape.is_scalar:
            out.append(f)
            continue
        if run and shape.is_scalar:
            out.append(call("matmul", run, SCALAR))
            run, shape = [], None
        run.append(f)
        s = f.shape if shape is None else matmul_shape(shape, f.shape)
        shape = s if s is not None else f.shape      # a mismatch is reported by the caller
    return out + run


def _fold_constants(mats: list) -> list:
    """Neighbouring constant factors multiply out: a 𝟙 · b 𝟙ᵀ = ab 𝟙𝟙ᵀ, a 𝟙ᵀ · b 𝟙 = abn."""
    out: list = []
    for f in mats:
        if out and isinstance(out[-1], Const) and isinstance(f, Const) and (
                (out[-1].shape.is_vector and f.shape.is_row) or
                (out[-1].shape.is_row and f.shape.is_vector)):
            a = out.pop()
            s = matmul_shape(a.shape, f.shape)
            out.append(Const(s if s is not None else SCALAR,
                             value=a.value * f.value * a.shape.cols))
        else:
            out.append(f)
    return out


def _chain_shape(mats) -> Shape:
    shape = mats[0].shape
    for f in mats[1:]:
        shape = matmul_shape(shape, f.shape)
    return shape


def normalize_shape(e: Expr, shape: Shape) -> Expr:
    if e.shape == shape:
        return e
    if normalize(e.shape.dims) == shape or e.shape.size == shape.size:
        return e if e.shape == shape else call("reshape", [e], shape)
    raise ShapeError(f"internal shape mismatch {e.shape} vs {shape}")


def free_vars(e: Expr) -> dict[str, Var]:
    """Variables of ``e`` by name, in order of first appearance (remembered for a large DAG, as
    ``topological``'s order is)."""
    known = _VARS.get(id(e))
    if known is not None and known[0] is e:
        return dict(known[1])
    out: dict[str, Var] = {}
    seen: set[int] = set()
    stack = [e]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if type(n) is Call:
            stack.extend(reversed(n.operands))
        elif isinstance(n, Var) and n.name not in out:
            out[n.name] = n
    if len(seen) >= _ORDER_MIN:
        _remember(_VARS, e, dict(out))
    return out


def topological(e: Expr) -> tuple[Expr, ...]:
    """Nodes of the DAG, each once, children before parents (iterative: no recursion limit).
    The order of a large DAG is remembered (nodes are immutable): parsing, inference,
    differentiation, simplification and printing each walk the same expressions."""
    known = _ORDERS.get(id(e))
    if known is not None and known[0] is e:
        return known[1]
    order = _topological(e)
    if len(order) >= _ORDER_MIN:
        _remember(_ORDERS, e, order)
    return order


# the orders (and the variables) of the last few large DAGs walked, by the root's identity (the
# root is kept, so its id is not reused while the entry lives)
_ORDERS: dict[int, tuple[Expr, tuple[Expr, ...]]] = {}
_VARS: dict[int, tuple[Expr, dict[str, Var]]] = {}
_ORDER_LIMIT = 8
_ORDER_MIN = 256


def _remember(memo: dict, e: Expr, value) -> None:
    with _REMEMBER_LOCK:                    # (the web server differentiates in threads)
        if len(memo) >= _ORDER_LIMIT:
            del memo[next(iter(memo))]      # the oldest
        memo[id(e)] = (e, value)


_REMEMBER_LOCK = threading.Lock()


def forget_orders() -> None:
    """Forget the remembered orders and variables (``simplify.clear_caches``)."""
    _ORDERS.clear()
    _VARS.clear()


def _topological(e: Expr) -> tuple[Expr, ...]:
    order: list[Expr] = []
    done: set[Expr] = set()
    stack: list = [e]       # a node to expand, or _FINISH above the node to finish
    while stack:
        n = stack.pop()
        if n is _FINISH:
            n = stack.pop()
            if n not in done:
                done.add(n)
                order.append(n)
        elif type(n) is not Call:       # a leaf: finished at once
            if n not in done:
                done.add(n)
                order.append(n)
        elif n not in done:
            stack.append(n)
            stack.append(_FINISH)
            stack.extend([a for a in reversed(n.operands) if a not in done])
    return tuple(order)


_FINISH = object()


def topological_all(roots) -> list[Expr]:
    """The nodes of several DAGs, each once, children before parents."""
    order: list[Expr] = []
    seen: set[Expr] = set()
    for r in roots:
        for n in topological(r):
            if n not in seen:
                seen.add(n)
                order.append(n)
    return order


def substitute(e: Expr, mapping: dict[Expr, Expr], rebuild) -> Expr:
    """Replace subexpressions by ``mapping``; ``rebuild(node, new_args)`` rebuilds a Call."""
    memo: dict[Expr, Expr] = dict(mapping)
    for n in topological(e):
        if n in memo:
            continue
        if isinstance(n, Call):
            new_args = tuple(memo[a] for a in n.operands)
            memo[n] = n if new_args == n.operands else rebuild(n, new_args)
        else:
            memo[n] = n
    return memo[e]
