"""Shape inference: from the untyped parse tree to the typed IR.

Shapes are solved by unification over the whole expression (DESIGN.md, "Shapes"): every node has
a shape slot, every operation adds a constraint taken from its rule's ``infer`` kind, and the
constraints are solved to a fixpoint.  Where the constraints leave a choice, defaults apply in
this order, re-solving after each: operands of an element-wise operator take their partner's
shape; an operand of ``@`` is a matrix on the left and a vector on the right (a name starting
with an upper-case letter is a matrix); an argument of a reduction is a vector; anything left is
a scalar (or a matrix, for an upper-case name).  Fresh dimensions are named ``n, m, k, p, q …``
in order of appearance.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import sympy

from . import expr as E
from .errors import ShapeError
from .expr import Call, Const, Expr, Var
from .parse import canonical_name
from .rules import RULES, axis_of
from .shapes import ONE, SCALAR, Shape, dim, numpy_broadcast, numpy_matmul, parse_shape

_FRESH_NAMES = ["n", "m", "k", "p", "q", "r", "s", "t", "l", "d", "h"]


class _Conflict(Exception):
    """Shapes that cannot fit; ``args[0]``, if given, says why instead of the kind's text."""


# ---------------------------------------------------------------------------------------------
# Union-find over dimensions and shapes


class _Dim:
    __slots__ = ("parent", "value", "order", "product")

    def __init__(self, value=None, product=None):
        self.parent = self
        self.value = value      # None (unknown), a sympy Integer, or a declared Symbol
        self.order = None
        self.product = product  # the dims this one is the product of (kron), if unknown


def _find(x):
    while x.parent is not x:
        x.parent = x.parent.parent
        x = x.parent
    return x


def _unify_dims(a: _Dim, b: _Dim):
    a, b = _find(a), _find(b)
    if a is b:
        return
    if a.value is not None and b.value is not None:
        if a.value != b.value:
            raise _Conflict()
        b.parent = a
        return
    if a.value is None:
        a, b = b, a
    b.parent = a  # a has the value (or both unknown)
    if a.product is None:
        a.product = b.product


class _Slot:
    __slots__ = ("parent", "dims", "watchers")

    def __init__(self, dims=None):
        self.parent = self
        self.dims = dims        # None: rank unknown; else a list of _Dim
        self.watchers = []      # constraints to wake when the rank becomes known


def _dims_of(slot: _Slot):
    return _find(slot).dims


def _unify(a: _Slot, b: _Slot):
    a, b = _find(a), _find(b)
    if a is b:
        return
    if a.dims is not None and b.dims is not None:
        if len(a.dims) != len(b.dims):
            raise _Conflict()
        for x, y in zip(a.dims, b.dims):
            _unify_dims(x, y)
        b.parent = a
        _merge_watchers(a, b)
        return
    if a.dims is None:
        a, b = b, a
    b.parent = a
    if a.dims is not None:          # b's rank just became known: wake what waited on it
        for c in b.watchers:
            c.wake()
    _merge_watchers(a, b)


def _merge_watchers(a: _Slot, b: _Slot):
    if len(a.watchers) < len(b.watchers):
        a.watchers, b.watchers = b.watchers, a.watchers
    a.watchers.extend(b.watchers)
    b.watchers = []


def _set(slot: _Slot, dims: list):
    tmp = _Slot(dims)
    _unify(slot, tmp)


def _fresh(k: int):
    return [_Dim() for _ in range(k)]


def _dim_value(d: _Dim):
    return _find(d).value


def _shape_text(slot: _Slot) -> str:
    dims = _dims_of(slot)
    if dims is None:
        return "unknown"
    if not dims:
        return "scalar"
    if len(dims) == 1:
        return f"vector of length {_dim_text(dims[0])}"
    return "matrix " + "×".join(_dim_text(d) for d in dims)


def _dim_text(d: _Dim) -> str:
    v = _dim_value(d)
    return str(v) if v is not None else "?"


# ---------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    text: str | None
    slots: dict = field(default_factory=dict)      # id(node) -> slot
    var_slots: dict = field(default_factory=dict)  # name -> slot
    constraints: list = field(default_factory=list)
    order: dict = field(default_factory=dict)      # variable names in order of appearance
    #                                                (the keys: an ordered set)
    props: dict = field(default_factory=dict)      # name -> declared properties
    rigid: dict = field(default_factory=dict)      # declared dimension -> its _Dim
    structural: set = field(default_factory=set)   # names an operation other than an
    #                                                element-wise one takes (sum(θ), A@θ)

    def error(self, node, message, *slots):
        where = self.text[node.span[0]:node.span[1]] if (self.text and node.span) else None
        shown = ", ".join(_shape_text(s) for s in slots)
        subject = f"in {where!r}: " if where else ""
        detail = f" (shapes: {shown})" if shown else ""
        raise ShapeError(f"shape conflict {subject}{message}{detail}", text=self.text,
                         span=node.span)


def infer(tree: Expr, shapes: dict[str, Shape] | None = None, text: str | None = None,
          props: dict[str, set] | None = None) -> Expr:
    """The typed IR of an untyped parse tree, with declared ``shapes`` (and properties such as
    ``sym``) winning."""
    prob = _Problem(text)
    prob.props = props or {}
    shapes = shapes or {}
    rigid: dict = {}
    for name, shape in shapes.items():
        dims = []
        for d in shape.dims:
            if d not in rigid:
                rigid[d] = _Dim(d)
            dims.append(rigid[d])
        prob.var_slots[name] = _Slot(dims)

    tree = _dimension_names(tree, shapes)
    nodes = E.topological(tree)
    if not shapes and _scalar_throughout(nodes):
        return _build(prob, nodes, tree, lambda node: SCALAR)
    for node in nodes:          # sizes named in eye(n), ones(m, n) are fixed like declared ones
        if isinstance(node, Call) and RULES[node.op].infer in ("constant", "identity"):
            for d in node.params:
                rigid.setdefault(d, _Dim(d))
    prob.rigid = rigid
    for node in nodes:
        _constrain(prob, node)
        if isinstance(node, Call) and RULES[node.op].infer not in _ELEMENTWISE:
            prob.structural.update(a.name for a in node.args if isinstance(a, Var))
        elif isinstance(node, Call) and RULES[node.op].infer == "map2" and \
                not RULES[node.op].scaling:
            # a term of a sum or difference (x − μ) takes its partner's shape, Greek or not
            prob.structural.update(v.name for a in node.args if (v := _term_name(a)))
    _solve(prob, nodes)
    _size_constants(prob, nodes, rigid)
    names = _name_dims(prob, rigid)
    return _build(prob, nodes, tree, lambda node: _concrete(prob, _slot(prob, node), names))


# the kinds of inference of the element-wise operations: they give no operand a shape of its own
_ELEMENTWISE = frozenset(("map", "map2", "power"))


def _scalar_throughout(nodes) -> bool:
    """Whether every node of an expression with no declared shapes is a scalar without
    solving: when it holds only numbers, lower-case names and element-wise operations.  No
    constraint of these gives a rank other than a scalar's (only reductions, products, literals,
    sized constants and upper-case names do), so the solver would leave every rank unknown and
    then default each to a scalar."""
    for node in nodes:
        if isinstance(node, Call):
            if RULES[node.op].infer not in _ELEMENTWISE:
                return False
        elif isinstance(node, Var):
            if _is_upper_var(node):
                return False
        elif not isinstance(node, Const):
            return False
    return True


def _size_constants(prob, nodes, rigid):
    """An I, 𝟙 or 0 whose size nothing determines takes the one declared dimension, when the
    declared shapes have exactly one (the paper's ∂(w + x)/∂w = I, with w, x ∈ ℝⁿ); with
    several, matcalc prints the size (Iₙ)."""
    symbols = [d for d in rigid if isinstance(d, sympy.Symbol)]
    if len(symbols) != 1:
        return
    only = rigid[symbols[0]]
    for node in nodes:
        if isinstance(node, Call) and RULES[node.op].infer in ("identity", "constant") and \
                not node.params:
            for d in _dims_of(_slot(prob, node)) or []:
                r = _find(d)
                if r.value is None and r.product is None:
                    _unify_dims(r, only)


def _dimension_names(tree: Expr, shapes: dict) -> Expr:
    """A name that is a dimension of the declared shapes, and not itself declared, stands for
    that size (1/n, 2/N as matcalc prints them): a scalar constant."""
    sizes = {str(d): d for s in shapes.values() for d in s.dims if isinstance(d, sympy.Symbol)}
    if not sizes:
        return tree
    mapping = {n: Const(SCALAR, value=sizes[n.name], span=n.span) for n in E.topological(tree)
               if isinstance(n, Var) and n.name in sizes and n.name not in shapes}
    if not mapping:
        return tree
    return E.substitute(tree, mapping, lambda n, args: Call(None, op=n.op, operands=tuple(args),
                                                              params=n.params, span=n.span))


def _slot(prob: _Problem, node: Expr) -> _Slot:
    return prob.slots[node]


def _constrain(prob: _Problem, node: Expr):
    if isinstance(node, Var):
        if node.name not in prob.var_slots:
            prob.var_slots[node.name] = _Slot()
        prob.order.setdefault(node.name)
        prob.slots[node] = prob.var_slots[node.name]
        return
    if isinstance(node, Const):
        prob.slots[node] = _Slot([])
        return
    out = _Slot()
    prob.slots[node] = out
    prob.constraints.append((RULES[node.op].infer, node))


class _Constraint:
    """One operation's shape constraint; ``wake`` re-queues it when a rank it waits on is known."""

    __slots__ = ("kind", "node", "index", "done", "queued", "queue")

    def __init__(self, kind, node, index, queue):
        self.kind, self.node, self.index, self.queue = kind, node, index, queue
        self.done = False
        self.queued = True

    def wake(self):
        if not self.done and not self.queued:
            self.queued = True
            self.queue.append(self)


# Defaults, applied one at a time when propagation is stuck, in this order: @ operands that are
# names (so W@x + W is reported at the +), arguments of reductions and other structural
# operations, Greek-named coefficients (λ in λ w·w), then element-wise partners (x in sum(w*x)
# takes w's shape, N in sum(x)/N is a scalar).
GREEK = 0
_DEFAULT_STAGES = ((2, {"chain", "flip", "side_by_side"}), (1, {"literal"}),
                   (3, {"reduce", "diagonal", "kronecker", "flatten", "square", "invertible",
                        "chain", "vec2vec", "vec2scalar"}), (GREEK, set()), (1, {"map2"}))

# Greek letters, spelled or written, name scalars by the field's convention (λ a regulariser's
# weight, α and η rates, ε a tolerance): one constrained by nothing but element-wise partners is
# a scalar coefficient.
GREEK_NAMES = frozenset(
    "alpha beta gamma delta epsilon eps zeta eta theta iota kappa lambda lam mu nu xi "
    "omicron rho sigma tau upsilon phi chi psi omega".split()) | frozenset(
    "αβγδεζηθικλμνξοπρστυφχψω")


def is_greek(name: str) -> bool:
    """``lam``, ``alpha_1``, ``λ``, ``η2``: a name whose stem is a Greek letter."""
    stem = name.split("_")[0].rstrip("0123456789")
    return stem in GREEK_NAMES


def _term_name(node):
    """The name a term of a sum is, up to a number: μ in x − μ (x + (−1) μ), else None."""
    if isinstance(node, Var):
        return node
    if isinstance(node, Call) and RULES[node.op].scaling:
        names = [a for a in node.args if isinstance(a, Var)]
        if len(names) == 1 and all(isinstance(a, (Var, Const)) for a in node.args):
            return names[0]
    return None


def _greek_default(prob, greek) -> bool:
    """Make the first unknown Greek-named variable that only element-wise operations use a
    scalar (True if one was).  ``greek`` iterates over the Greek names in order and resumes
    where the last call stopped: a name passed over is known (declared names are) or
    structural, and stays so."""
    for name in greek:
        if _dims_of(prob.var_slots[name]) is None and name not in prob.structural:
            _set(prob.var_slots[name], [])
            return True
    return False


def _solve(prob: _Problem, nodes):
    """Propagate to a fixpoint (each constraint re-runs only when a rank it waits on becomes
    known), then apply the first applicable default and propagate again."""
    queue: deque = deque()
    constraints = []
    for i, (kind, node) in enumerate(prob.constraints):
        c = _Constraint(kind, node, i, queue)
        constraints.append(c)
        for s in {id(x): x for x in [_find(_slot(prob, node))] +
                  [_find(_slot(prob, a)) for a in node.args]}.values():
            s.watchers.append(c)
        queue.append(c)
    cursors = {i: 0 for i in range(len(_DEFAULT_STAGES))}
    by_stage = {i: [c for c in constraints if c.kind in kinds]
                for i, (_, kinds) in enumerate(_DEFAULT_STAGES)}

    remaining = [len(constraints)]
    greek = (name for name in prob.order if is_greek(name))
    unknown_names = iter(prob.order)    # resumed by each default: a known name stays known

    def run(c, stage):
        try:
            result = _step(prob, (c.kind, c.node), stage=stage)
        except _Conflict as err:
            _explain(prob, (c.kind, c.node), err.args[0] if err.args else None)
        if result is True:
            c.done = True
            remaining[0] -= 1
        return result

    # each round after the first sets one slot that was unknown, so a correct solver ends
    # within as many rounds as there are nodes; a bug that makes no progress ends here, not in
    # an endless loop
    for _ in range(2 * len(nodes) + 16):
        while queue:
            c = queue.popleft()
            c.queued = False
            if not c.done:
                run(c, 0)
        if not remaining[0]:
            break
        for group, (stage, _) in enumerate(_DEFAULT_STAGES):
            if stage == GREEK:
                if _greek_default(prob, greek):
                    break
                continue
            items = by_stage[group]
            i = cursors[group]
            while i < len(items) and items[i].done:
                i += 1
            cursors[group] = i
            applied = False
            for j in range(i, len(items)):
                c = items[j]
                if not c.done and run(c, stage):
                    applied = True
                    break
            if applied:
                break
        else:
            # Rank still unknown anywhere: variables default to scalar (matrix if upper-case).
            # (when every name is known and still no default applies, nothing is left to do:
            # a bug, which ends below; a fallback that made any unknown operand a scalar stood
            # here, and no test and no fuzzed expression, of 90,000, came to it)
            for name in unknown_names:
                slot = prob.var_slots[name]
                if _dims_of(slot) is None:
                    _set(slot, _fresh(2) if name[:1].isupper() else [])
                    break
    else:
        raise AssertionError("internal: shape inference made no progress")
    # every remaining slot must be known: a name by the case convention (A a matrix in A², x a
    # scalar in x²), then anything else a scalar
    for name in prob.order:
        if _dims_of(prob.var_slots[name]) is None:
            _set(prob.var_slots[name], _fresh(2) if name[:1].isupper() else [])
    for node in nodes:
        s = _slot(prob, node)
        if _dims_of(s) is None:
            _set(s, [])


def _explain(prob, c, why=None):
    kind, node = c
    label = why or _KIND_TEXT.get(kind, kind)
    shapes = []
    for a in node.args:
        where = prob.text[a.span[0]:a.span[1]] if (prob.text and a.span) else "operand"
        shapes.append(f"{where}: {_shape_text(_slot(prob, a))}")
    prob.error(node, f"{label} ({'; '.join(shapes)})")


_KIND_TEXT = {
    "map2": "element-wise operands need equal shapes, or one of them scalar",
    "map": "an element-wise function keeps its argument's shape",
    "power": "the exponent of ^ must be a scalar",
    "chain": "@ needs the columns of the left operand to match the rows of the right",
    "inner": "· needs two vectors of one length",
    "flip": "a transpose",
    "literal": "a vector literal [f, g, …] holds scalars",
    "reduce": "a reduction takes a vector or matrix",
    "square": "this function takes a square matrix",
    "invertible": "inv takes a square matrix",
    "vec2vec": "this function takes a vector",
    "vec2scalar": "this function takes a vector",
    "diagonal": "diag takes a vector or a square matrix",
    "kronecker": "kron takes two matrices (or vectors); for a scalar multiple write *",
    "side_by_side": "side by side, the columns of the left operand must match the rows of the "
                 "right (a matrix product)",
    "rows": "the rows of a matrix [[a, b], [c, d]] hold scalars, each row as many",
    "flatten": "vec takes a vector or a matrix",
}


def _rank(prob, node):
    d = _dims_of(_slot(prob, node))
    return None if d is None else len(d)


def _default_rank(prob, node) -> int:
    """The rank a default gives ``node`` when nothing else decides: a matrix if it is, or is an
    element-wise combination involving, an upper-case name of unknown shape (``sum(X*X)``) or
    a matrix (``sum(σ(X W + b))``, broadcasting); otherwise a vector."""
    stack, seen = [node], set()
    best = 1
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        known = _rank(prob, n)
        if known is not None:
            best = max(best, known)
            continue
        if _is_upper_var(n):
            return 2
        kind = RULES[n.op].infer if isinstance(n, Call) else None
        if kind in _ELEMENTWISE:
            stack.extend(n.args)    # (the exponent of ^ is known by now: a scalar, from stage 0)
    return best


def _is_upper_var(node):
    return isinstance(node, Var) and node.name[:1].isupper()


PROGRESS = "progress"  # a default was applied but the constraint is not yet satisfied


def _step(prob: _Problem, c, stage: int):
    """Apply constraint ``c``: True when it is fully satisfied, PROGRESS when a default was
    applied, False when it must wait.  ``stage`` > 0 allows defaults."""
    kind, node = c
    out = prob.slots[node]
    args = node.args
    slots = [prob.slots[a] for a in args]
    ranks = [None if (d := _dims_of(s)) is None else len(d) for s in slots]

    if kind in ("reduce", "vec2scalar", "vec2vec") and axis_of(node) is not None:
        return _axis_step(prob, kind, node, out, slots, ranks, stage)
    if kind == "identity":
        if node.params:         # Iₙ, eye(n): n is fixed (``infer`` made its _Dim)
            _set(out, [prob.rigid[sympy.Mul(*node.params)]] * 2)
        else:
            d = _Dim()
            _set(out, [d, d])
        return True
    if kind == "constant":
        _set(out, [prob.rigid[d] for d in node.params] if node.params else _fresh(1))
        return True
    if kind == "map":
        _unify(out, slots[0])
        return True
    if kind == "power":
        if ranks[1] not in (None, 0):
            rule = RULES[node.op]
            raise _Conflict(("the exponent of ^" if rule.fixity == "power" else
                             f"the slope of {rule.text}") + " must be a scalar")
        _set(slots[1], [])
        _unify(out, slots[0])
        return True
    if kind == "map2":
        return _broadcast_step(prob, node, out, slots, ranks, stage)
    if kind == "inner":
        for s, r in zip(slots, ranks):
            if r is not None and r != 1:
                raise _Conflict()
        _set(slots[0], _fresh(1)) if ranks[0] is None else None
        _unify(slots[0], slots[1])
        _set(out, [])
        return True
    if kind == "flip":
        (a,), (ra,) = slots, ranks
        if ra is not None:
            _set(out, _transpose_dims(_dims_of(a)))
            return True
        ro = _rank(prob, node)
        if ro is not None:
            _set(a, _transpose_dims(_dims_of(out)))
            return True
        # a transposed product waits for the product's own defaults (((s*A)@B)': its operands
        # are typed first); anything else takes its default with the @ operands
        product = isinstance(args[0], Call) and RULES[args[0].op].infer == "chain"
        if stage >= (3 if product else 2):
            _set(a, _fresh(_default_rank(prob, args[0])))
            return PROGRESS  # solved on the next pass
        return False
    if kind == "literal":
        rows = [s for s, r in zip(slots, ranks) if r == 2]
        if rows:                # [gᵀ, 0ᵀ]: rows, a matrix (a Jacobian as matcalc prints it)
            cols = _dims_of(rows[0])[1]
            for s, r in zip(slots, ranks):
                if r == 2:
                    _set(s, [_Dim(ONE), cols])
                elif r is None and stage >= 1:
                    _set(s, [])
                elif r not in (0, None):
                    raise _Conflict("a literal holds scalars, or rows of one length")
            if any(r is None for r in ranks) and stage < 1:
                return False        # (from stage 1 on, the loop made every unknown a scalar)
            _set(out, [_Dim(sympy.Integer(len(args))), cols])
            return True
        if any(r is None for r in ranks) and stage < 1:
            return False
        for s in slots:
            _set(s, [])
        _set(out, [_Dim(sympy.Integer(len(args)))])
        return True
    if kind in ("reduce", "vec2scalar"):
        _set(out, [])
        if kind == "vec2scalar":
            return _vector_argument(prob, node, slots, ranks, stage)
        if ranks[0] is not None:
            if ranks[0] == 0:
                raise _Conflict()
            return True
        if stage >= 3:
            _set(slots[0], _fresh(_default_rank(prob, args[0])))
            return True
        return False
    if kind in ("square", "invertible"):
        if ranks[0] == 0:                       # a 1×1 product is a scalar: tr(xᵀx) = xᵀx
            _unify(out, slots[0])
            return True
        if ranks[0] is None and stage < 3 and not isinstance(node.args[0], Var):
            return False
        d = _Dim()
        _set(slots[0], [d, d])
        if kind == "square":
            _set(out, [])
        else:
            _unify(out, slots[0])
        return True
    if kind == "vec2vec":
        if not _vector_argument(prob, node, slots, ranks, stage):
            return False
        _unify(out, slots[0])
        return True
    if kind == "diagonal":
        ra = ranks[0]
        if ra == 1:
            d = _dims_of(slots[0])[0]
            _set(out, [d, d])
            return True
        if ra == 2:
            d = _Dim()
            _set(slots[0], [d, d])
            _set(out, [d])
            return True
        if ra == 0:
            raise _Conflict()
        if stage >= 3:
            _set(slots[0], _fresh(_default_rank(prob, args[0])))
            return PROGRESS
        return False
    if kind in ("chain", "side_by_side"):
        return _matmul_step(prob, node, out, slots, ranks, stage, kind == "side_by_side")
    if kind == "symbol":                    # 𝕂ₘₙ, 𝔻ₙ: a shape from the subscripts
        dims = RULES[node.op].shape([], node.params).dims
        _set(out, [prob.rigid.setdefault(d, _Dim(d)) for d in dims])
        return True
    if kind == "unit_vector":               # 𝕖ᵢ: a vector of the length its use says
        _set(out, _fresh(1))
        return True
    if kind == "flatten":
        if ranks[0] is None:
            if stage < 3:
                return False
            _set(slots[0], _fresh(_default_rank(prob, node.args[0])))
            return PROGRESS
        dims = _dims_of(slots[0])
        _set(out, dims if len(dims) < 2 else [_product_dim(*dims)])
        return True
    if kind == "rows":                      # [[a, b], [c, d]]: rows of one length
        lengths = {len(r.args[0].args) for r in args}   # each row is the parser's stack(…)ᵀ
        if len(lengths) > 1:
            for r, s in zip(args, slots):
                _set(s, [_Dim(ONE), _Dim(sympy.Integer(len(r.args[0].args)))])
            raise _Conflict("the rows of a matrix [[a, b], [c, d]] need as many entries each")
        # the column count is the rows' length from the start, so a product or sum that
        # needs another count is the conflict, not a row
        cols = _Dim(sympy.Integer(lengths.pop()))
        for s in slots:
            _set(s, [_Dim(ONE), cols])
        _set(out, [_Dim(sympy.Integer(len(slots))), cols])
        return True
    if kind == "kronecker":
        if any(r == 0 for r in ranks):
            raise _Conflict()
        if None in ranks:
            if stage < 3:
                return False
            i = ranks.index(None)
            _set(slots[i], _fresh(_default_rank(prob, args[i])))
            return PROGRESS
        (ra, ca), (rb, cb) = [_rows_cols(_dims_of(s)) for s in slots]
        rows = _product_dim(ra, rb)
        if _dim_value(ca) == ONE and _dim_value(cb) == ONE:
            _set(out, [rows])
        else:
            _set(out, [rows, _product_dim(ca, cb)])
        return True
    raise AssertionError(f"no inference for {kind}")


def _vector_argument(prob, node, slots, ranks, stage) -> bool:
    """softmax(z), logsumexp(z): the argument is a vector (a name by the case convention; a
    compound argument by its own operation).  A matrix is an error that says to pass axis=."""
    if ranks[0] is None:
        arg = node.args[0]
        if not isinstance(arg, Var) and stage < 3:
            return False
        _set(slots[0], _fresh(2 if _is_upper_var(arg) else 1))
    rank = _rank(prob, node.args[0])
    if rank != 1:
        name = RULES[node.op].text
        raise _Conflict(f"{name} takes a vector" + (
            f"; for each row of a matrix write {name}(X, axis=1)" if rank == 2 else ""))
    return True


def _axis_step(prob, kind, node, out, slots, ranks, stage):
    """sum(X, axis=0), softmax(X, axis=1), …: along an axis of a matrix, or of a vector (whose
    one axis is 0, or −1).  An operand of unknown rank with an axis is a matrix."""
    axis = axis_of(node)
    rank = ranks[0]
    if rank is None:
        if not isinstance(node.args[0], Var) and stage < 3:
            return False
        rank = _default_rank(prob, node.args[0])   # by case: X a matrix, x a vector
        _set(slots[0], _fresh(rank))
    if rank == 0:
        raise _Conflict("an axis needs a vector or a matrix, not a scalar")
    if rank == 1:
        if axis not in (0, -1):
            raise _Conflict(f"axis {axis} is out of range for a vector: its one axis is 0 (or "
                            f"-1); declare a matrix (--shape NAME=m,n) or name it in upper case")
        if kind == "vec2vec":       # softmax(x, axis=0): a vector like x
            _unify(out, slots[0])
        else:                       # sum(x, axis=0): a scalar
            _set(out, [])
        return True
    rows, cols = _dims_of(slots[0])
    if kind == "vec2vec":
        _unify(out, slots[0])
    else:
        _set(out, [cols if axis == 0 else rows])
    return True


def _rows_cols(dims):
    return (dims[0], _Dim(ONE)) if len(dims) == 1 else (dims[0], dims[1])


def _product_dim(a: _Dim, b: _Dim) -> _Dim:
    """The dimension a·b (of a Kronecker product): its value if both are known."""
    va, vb = _dim_value(a), _dim_value(b)
    if va is not None and vb is not None:
        return _Dim(va * vb)
    return _Dim(product=[a, b])


def _transpose_dims(dims):
    if not dims:
        return []
    if len(dims) == 1:
        return [_Dim(ONE), dims[0]]
    if _dim_value(dims[0]) == ONE:
        return [dims[1]]
    return [dims[1], dims[0]]


def _broadcast_step(prob, node, out, slots, ranks, stage):
    """An element-wise operation, with NumPy's broadcasting: a scalar goes with anything; a
    vector beside a matrix is one of its rows (X W + b: b has as many entries as X W has
    columns).  An operand of unknown shape waits for other constraints; then, by the case
    convention: beside a scalar (not a number), a lower-case name is a scalar, and so is an
    upper-case divisor (sum(x)/N, a count); beside a matrix, a lower-case name is a row of it
    for + and − (NumPy's bias) and a scalar for ⊙ and ⊘ (X/d, √d included); otherwise a name
    takes its partner's shape (upper case a matrix), and so does a compound operand."""
    a, b = slots
    ra, rb = ranks
    args = node.args
    for i, r in ((0, ra), (1, rb)):
        if r == 0:                  # a scalar partner: the result is the other operand's shape,
            other = args[1 - i]     # and a name beside a scalar is a scalar (sum(x)/N)
            _unify(out, slots[1 - i])
            divisor = i == 0 and RULES[node.op].fixity == "quotient"   # sum(x)/N: a count
            if ranks[1 - i] is None and isinstance(other, Var) and \
                    (divisor or not _is_upper_var(other)) and \
                    not isinstance(args[i], Const):         # not −x, 2x: those say nothing
                if stage < 1:
                    return False
                _set(slots[1 - i], [])
            return True
    if ra is not None and rb is not None:
        _broadcast_known(out, a, b)
        return True
    if ra is not None or rb is not None:
        if stage < 1:
            return False
        i = 1 if ra is not None else 0
        unknown, known_rank = args[i], ra if ra is not None else rb
        row = known_rank == 2 and _dim_value(_dims_of(slots[1 - i])[0]) == ONE
        names = _leaf_names(prob, unknown)
        if known_rank == 2 and not row and RULES[node.op].scaling and names and \
                not any(_is_upper_var(v) for v in names):
            # X/d, X*alpha, Q Kᵀ/√d: a lowercase name scaling a matrix is a scalar
            _set(prob.var_slots[names[0].name], [])
            return PROGRESS
        # a name, or in a product a name up to a number (−Y ⊙ v reads as Y ⊙ v; in a sum,
        # x − B, the term −B takes its partner's shape below)
        named = _term_name(unknown) if RULES[node.op].scaling else \
            unknown if isinstance(unknown, Var) else None
        if named is not None:
            rank = 2 if _is_upper_var(named) else 1
            if rank == known_rank and not row:
                _unify(a, b)
            else:
                _set(slots[i], _fresh(rank))
            return PROGRESS
        if _rank(prob, node) not in (None, known_rank):
            # the result is a matrix beside a known vector (sum(−Y ⊙ ln(softmax(x))), Y upper
            # case): the unknown operand is that matrix, and the vector one of its rows
            _unify(out, slots[i])
            return PROGRESS
        _unify(a, b)
        _unify(out, a)
        return True
    ro = _rank(prob, node)
    if ro == 0:
        _set(a, [])
        _set(b, [])
        return True
    if stage >= 1:
        upper = [i for i, x in enumerate(args) if _is_upper_var(x)]
        if upper:       # the upper-case name is the matrix first, and its partner is then read
            _set(slots[upper[0]], _fresh(2))    # beside a matrix: X + b a row of it (the
            return PROGRESS                     # bias), X/√d a scalar, X + Y a matrix
        _unify(a, b)
        _unify(out, a)
        return True
    return False


def _leaf_names(prob, node) -> list:
    """The names of unknown shape an operand is an element-wise function of (d in √d), if it
    is built of such names and constants only; else []."""
    out, stack, seen = [], [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, Var):
            if _dims_of(prob.var_slots[n.name]) is not None:
                return []
            out.append(n)
        elif isinstance(n, Call) and RULES[n.op].infer in _ELEMENTWISE:
            stack.extend(n.args)
        elif not isinstance(n, Const):
            return []
    return out


def _broadcast_known(out, a, b):
    """Unify two known operand shapes under NumPy's broadcasting rules."""
    da, db = _dims_of(a), _dims_of(b)
    if len(da) == len(db) == 1:
        _unify(a, b)
        _unify(out, a)
        return
    if len(da) == len(db) == 2:
        one = [_dim_value(d) == ONE for d in da], [_dim_value(d) == ONE for d in db]
        for ox, oy in one, one[::-1]:
            if ox == [True, False] and oy == [False, True]:
                raise _Conflict(
                    "a row (1×n) beside a column (m×1): NumPy would broadcast both to m×n, "
                    "which matcalc does not; repeat them explicitly: ones(m)@r and "
                    "c@ones(n)' for a row r and a column c")
        for (x, dx, ox), (y, dy, oy) in (((a, da, one[0]), (b, db, one[1])),
                                        ((b, db, one[1]), (a, da, one[0]))):
            if ox[0] and not oy[0]:         # a row (1×n) beside an m×n matrix
                _unify_dims(dx[1], dy[1])
                _unify(out, y)
                return
            if ox[1] and not oy[1]:         # a column (m×1) beside an m×n matrix
                _unify_dims(dx[0], dy[0])
                _unify(out, y)
                return
        _unify(a, b)
        _unify(out, a)
        return
    (mat, dm), (vec, dv) = ((a, da), (b, db)) if len(da) == 2 else ((b, db), (a, da))
    if _dim_value(dm[1]) == ONE and _dim_value(dm[0]) != ONE and _dim_value(dv[0]) != ONE:
        raise _Conflict("a vector beside a column (m×1): matcalc keeps the two apart (NumPy "
                        "would broadcast a 1-D vector and a column to m×n); declare both m×1, "
                        "or both vectors")
    _unify_dims(dm[1], dv[0])           # a vector is a row of the matrix (or the row itself)
    _unify(out, mat)


def _matmul_step(prob, node, out, slots, ranks, stage, juxtaposed=False) -> bool:
    """A @ B @ … as NumPy reads it, on the column-vector model: shapes chain as matrices (a
    vector is a column); where a vector on the left does not chain, it is read as a row, as
    NumPy's 1-D operand is (w@x is wᵀx, x@W is Wᵀx), and a product that NumPy would return
    1-D is a vector.  A scalar (a 1×1 product) chains as 1×1.  Operands of unknown shape take
    one by the case convention (upper case a matrix, lower case a vector)."""
    args = node.args
    if None in ranks:
        if stage < 2:
            return False
        if juxtaposed:
            return _side_by_side_default(prob, args, slots, ranks)
        # the first unknown operand by the case convention, except a transpose (decided
        # through its argument) and, before the last stage, a compound operand (its own
        # operation decides first: diag(x) @ y)
        ready = [i for i, (a, r) in enumerate(zip(args, ranks)) if r is None and
                 not (isinstance(a, Call) and RULES[a.op].infer == "flip") and
                 (isinstance(a, Var) or stage >= 3)]
        if not ready:
            return False
        _set(slots[ready[0]], _fresh(_default_rank(prob, args[ready[0]])))
        return PROGRESS
    acc = None                  # ("scalar",) | ("col", n) | ("row", n) | ("mat", m, n)
    implicit = False            # a vector was read as a row (NumPy's 1-D left operand)
    if juxtaposed:              # 2x, 2/N aᵀ X: side by side, a scalar factor scales
        slots = [s for s, r in zip(slots, ranks) if r != 0]
        if not slots:
            _set(out, [])
            return True
    for s in slots:
        f = _operand_form(_dims_of(s))
        if acc is None:
            acc = f
            continue
        acc, flipped = _chain_forms(acc, f)
        implicit = implicit or flipped
    if acc[0] == "scalar":
        _set(out, [])
    elif acc[0] == "col" or (acc[0] == "row" and implicit):
        _set(out, [acc[1]])
    elif acc[0] == "row":
        _set(out, [_Dim(ONE), acc[1]])
    else:
        _set(out, [acc[1], acc[2]])
    return True


def _side_by_side_default(prob, args, slots, ranks):
    """Side by side, an upper-case name of unknown shape is a matrix, and a lower-case name
    right of a matrix (or a row) is the vector it multiplies, as in a paper: W x, B A x, xᵀ y.
    Any other unknown waits (a B, a b: scalar coefficients, by the case convention at the
    end)."""
    for i, a in enumerate(args):
        if ranks[i] is None and _is_upper_var(a):
            _set(slots[i], _fresh(2))
            return PROGRESS
    for i in range(1, len(args)):
        if ranks[i] is None and isinstance(args[i], Var) and ranks[i - 1] == 2:
            _set(slots[i], _fresh(1))
            return PROGRESS
    return False


def _operand_form(dims):
    if not dims:
        return ("scalar",)
    if len(dims) == 1:
        return ("col", dims[0])
    if _dim_value(dims[0]) == ONE:
        return ("scalar",) if _dim_value(dims[1]) == ONE else ("row", dims[1])
    if _dim_value(dims[1]) == ONE:
        return ("col", dims[0])
    return ("mat", dims[0], dims[1])


_NOT_CHAINED = "@ needs the columns of the left operand to match the rows of the right"


def _chain_forms(acc, f):
    """The product of two operand forms, and whether a vector was read as a row."""
    a, b = acc[0], f[0]
    if a == "scalar":
        if b in ("scalar", "row"):
            return f, False
        raise _Conflict("@ with a scalar on the left: a 1×1 value chains only with a row; "
                        "write * to scale")
    if b == "scalar":
        if a in ("col",):
            return acc, False
        raise _Conflict("@ with a scalar on the right: a 1×1 value chains only after a "
                        "column; write * to scale")
    if a == "col":
        if b == "row":
            return ("mat", acc[1], f[1]), False          # an outer product
        if b == "col":
            _unify_dims(acc[1], f[1])                    # w@x: the dot product
            return ("scalar",), True
        _unify_dims(acc[1], f[1])                        # x@W: xᵀ W, read back as Wᵀ x
        return ("row", f[2]), True
    if a == "row":
        if b == "row":
            raise _Conflict(_NOT_CHAINED + " (a row times a row)")
        _unify_dims(acc[1], f[1])
        return (("scalar",) if b == "col" else ("row", f[2])), False
    if b == "row":
        raise _Conflict(_NOT_CHAINED + " (a matrix times a row)")
    _unify_dims(acc[2], f[1])
    return (("col", acc[1]) if b == "col" else ("mat", acc[1], f[2])), False


class _Namer:
    """Fresh dimension names ``n, m, k, …``, skipping declared dimensions and variable names."""

    def __init__(self, prob: _Problem, rigid):
        taken = {str(v) for v in rigid} | set(prob.var_slots)
        numbered = (f"n{i}" for i in itertools.count(1))
        self.pool = (n for n in itertools.chain(_FRESH_NAMES, numbered) if n not in taken)
        self.names: dict[int, sympy.Symbol] = {}

    def __call__(self, d: _Dim, visiting: frozenset = frozenset()):
        r = _find(d)
        if r.value is not None:
            return r.value
        if r.product is not None and id(r) not in visiting:
            # a product of dimensions (kron, vec); one that contains itself has its own name
            inner = visiting | {id(r)}
            if not any(id(_find(x)) in inner for x in r.product):
                return sympy.Mul(*(self(x, inner) for x in r.product))
        if id(r) not in self.names:
            self.names[id(r)] = dim(next(self.pool))
        return self.names[id(r)]


def _name_dims(prob: _Problem, rigid) -> _Namer:
    """Name every unknown dimension of the variables, in order of appearance."""
    namer = _Namer(prob, rigid)
    for name in prob.order:
        for d in _dims_of(prob.var_slots[name]) or []:
            namer(d)
    return namer


def _concrete(prob, slot, namer: _Namer) -> Shape:
    dims = _dims_of(slot)
    return Shape(tuple(namer(d) for d in dims)) if dims else SCALAR


class _Chain(list):
    """The flattened terms of a sum or factors of a product whose node is consumed only by the
    same operation: built once, at the top of the chain, so long chains stay linear."""

    def __init__(self, op, terms, shape):
        super().__init__(terms)
        self.op, self.shape = op, shape


def _chain_of(node) -> str | None:
    """The op of an n-ary chain (a + b + c, a ⊙ b, A B C) that ``node`` extends, if any."""
    return node.op if isinstance(node, Call) and RULES[node.op].chain else None


def _chain_shape(fam, a: Shape, b: Shape):
    kind = RULES[fam].infer
    if kind == "side_by_side" and (a.is_scalar or b.is_scalar):
        return b if a.is_scalar else a
    if kind not in ("chain", "side_by_side"):
        return numpy_broadcast(a, b)
    return numpy_matmul(a, b)


def _build(prob, nodes, tree, shape_of) -> Expr:
    """The typed IR: each node rebuilt, children first, in its shape (``shape_of(node)``)."""
    parents: dict = {}          # of the links of chains (a + b + c): who uses them
    for node in nodes:
        for a in node.args:
            if _chain_of(a):
                parents.setdefault(a, []).append(node)
    built: dict = {}
    for node in nodes:
        shape = shape_of(node)
        if isinstance(node, Var):
            new = Var(shape, name=node.name, props=frozenset(prob.props.get(node.name, ())))
        elif isinstance(node, Const):
            new = node
        else:
            fam = _chain_of(node)
            ups = parents.get(node, ())
            if fam and node is not tree and len(ups) == 1 and _chain_of(ups[0]) == fam:
                built[node] = _chain(prob, node, fam, [built[a] for a in node.args])
                continue
            args = [_close(built[a]) for a in node.args] if not fam else \
                list(_chain(prob, node, fam, [built[a] for a in node.args]))
            try:
                new = RULES[node.op].make(args, node.params, shape)
            except ShapeError as err:
                prob.error(node, err.message, *[_shown_slot(prob, a) for a in node.args])
        built[node] = E.with_span(new, node.span)
    return built[tree]


def _shown_slot(prob, node) -> _Slot:
    """A node's slot, for an error message (a scalar's, where no slots were made)."""
    return prob.slots.get(node) or _Slot([])


def _close(v) -> Expr:
    return RULES[v.op].make(list(v)) if isinstance(v, _Chain) else v


def _chain(prob, node, fam, args) -> _Chain:
    """Extend the chain of the first operand (in place: it has no other consumer)."""
    first = args[0]
    out = first if isinstance(first, _Chain) and first.op == fam else \
        _Chain(fam, [_close(first)], first.shape)
    # a parenthesised product on the right is one factor: NumPy's reading of a 1-D operand is
    # not associative (M @ (u @ C) is M Cᵀu, while (M @ u) @ C need not even chain); a sum or
    # an element-wise product on the right is flattened by its own constructor
    for a in args[1:]:
        a = _close(a)
        shape = _chain_shape(fam, out.shape, a.shape)
        if shape is None:
            rule = _KIND_TEXT[RULES[fam].infer]
            prob.error(node, f"{rule} ({out.shape} and {a.shape})",
                       *[_shown_slot(prob, x) for x in node.args])
        out.shape = shape
        out.append(a)
    return out


def declared_shapes(spec: dict | None) -> tuple[dict[str, Shape], dict[str, set]]:
    """Parse a ``shapes=`` mapping (values like ``"n"``, ``"m,n"``, ``("m", "n")``,
    ``"scalar"``).  A name is read as the parser reads it: ``θ`` declares theta, ``w₁`` w_1."""
    out, props = {}, {}
    for name, value in (spec or {}).items():
        if not isinstance(name, str):
            raise ShapeError(f"shapes= maps variable names to shapes, not {name!r}",
                             hint="e.g. shapes={'x': 'n', 'W': 'm,n'}")
        shape, p = parse_shape(value)
        name = canonical_name(name)
        out[name] = shape
        props[name] = p
    return out, props

