"""The vector chain rule (paper §6), driven by the rule table.

Every operation's local partial Jacobians come from ``RULES``; this module only multiplies
them along the data-flow paths from the variable to the result and adds the paths (the total
derivative).  It never names an operation.

* A scalar result (every loss) is differentiated in reverse: the adjoint ∂f/∂u — kept in u's own
  shape, a column for a vector, a matrix for a matrix — is carried from the root to the leaves,
  and each operation applies its partial as a vector-Jacobian product that never builds
  ``diag``/``I``/``𝟙``: ``gᵀ diag(v) = (g ⊙ v)ᵀ``, ``gᵀ I = gᵀ``, ``gᵀ 𝟙 = sum(g)``, and the
  adjoint of ``W`` in ``W x`` is ``g xᵀ``.  This is how ``sum(w*x)`` lands on ``xᵀ`` directly.
* A vector or matrix result is differentiated forward: ∂y/∂x = Σᵢ ∂y/∂uᵢ · ∂uᵢ/∂x over the
  arguments uᵢ, with the paper's structured Jacobians, simplified afterwards.

Both return the derivative in numerator layout (DESIGN.md): a scalar, a row ``1×n`` (gradient of
a scalar w.r.t. a vector), the matrix's shape (scalar w.r.t. a matrix), a column (vector w.r.t.
a scalar), a ``p×n`` Jacobian, or — for tensors — the ``vec`` Jacobian ``size(y) × size(X)``.
"""

from __future__ import annotations

from . import expr as E
from .errors import UnsupportedError
from .expr import Call, Const, Expr, Identity, Var
from .rules import RULES, as_shape, entry_sum, rule_for, side_by_side, vec
from .shapes import ONE, Shape


def depends(e: Expr, name: str) -> set[Expr]:
    """The nodes of ``e`` whose value depends on the variable ``name``."""
    dep: set[Expr] = set()
    for n in E.topological(e):
        if isinstance(n, Var):
            if n.name == name:
                dep.add(n)
        elif any(a in dep for a in n.args):
            dep.add(n)
    return dep


def derivative(f: Expr, x: Var) -> Expr:
    """∂f/∂x in numerator layout (unsimplified beyond the smart constructors)."""
    dep = depends(f, x.name)
    if f not in dep:
        return E.zero(jacobian_shape(f.shape, x.shape))
    if f.shape.is_scalar:
        adj = _reverse(f, x, dep)
        if x.shape.is_vector:
            return E.transpose(adj)
        return adj
    return forward(f, x, dep)


def jacobian_shape(fs: Shape, xs: Shape) -> Shape:
    """Shape of the numerator-layout derivative ∂f/∂x (tensors as vec Jacobians)."""
    if fs.is_scalar:
        return xs.T if xs.is_vector else xs
    if xs.is_scalar:
        return fs if not fs.is_matrix else Shape((fs.size,))
    rows, cols = fs.size, xs.size
    return Shape((rows, cols))


# ---------------------------------------------------------------------------------------------
# Reverse accumulation (scalar results)


def _reverse(f: Expr, x: Var, dep: set) -> Expr:
    order = [n for n in E.topological(f) if n in dep and not isinstance(n, Var)]
    adjoint: dict[Expr, list[Expr]] = {f: [E.const(1)]}
    for node in reversed(order):
        g = _total(adjoint.pop(node, []), node.shape)
        rule = rule_for(node)
        args = node.args
        partials = None
        by_rule = rule.vjp(g, node, args, node.params) if rule.vjp is not None else None
        repeated: dict = {}     # (argument, partial) seen before: the same contribution again
        for i, a in enumerate(args):
            if a not in dep:
                continue
            if by_rule is not None:
                contrib = by_rule[i]
            else:
                if partials is None:
                    partials = _partials(rule, node)
                key = (id(a), id(partials[i]))
                contrib = repeated.get(key)
                if contrib is None:
                    contrib = repeated[key] = vjp(g, partials[i], node.shape, a.shape)
            adjoint.setdefault(a, []).append(contrib)
    return _total(adjoint.get(x, []), x.shape)


def _total(contributions: list[Expr], shape: Shape) -> Expr:
    """The total derivative: the sum of the contributions of every data-flow path."""
    if not contributions:
        return E.zero(shape)
    # an n×1 matrix's adjoint may arrive as a vector on one path: the same entries
    return E.add(*(c if c.shape == shape or c.shape.is_scalar else as_shape(c, shape)
                   for c in contributions))


def _partials(rule, node: Call, y: Expr | None = None):
    """The local partial Jacobians of ``node`` from its entry; they see the output as ``y``
    (the node itself, or the name the steps view gives it)."""
    if rule.partials is None:
        raise UnsupportedError(f"matcalc has no Jacobian for {rule.what or rule.text or rule.name} "
                               "here")
    return rule.partials(node if y is None else y, node.args, node.params)


def vjp(g: Expr, P: Expr, y_shape: Shape, a_shape: Shape) -> Expr:
    """The adjoint of an argument (in its own shape) from the adjoint ``g`` of the result (in
    the result's shape) and the structured partial Jacobian ``P`` = ∂vec(y)/∂vec(a):
    vec(ā)ᵀ = vec(g)ᵀ P, computed without forming ``P`` — by the table entry of ``P``'s kind
    (``Rule.left``: gᵀ diag(d) = (g ⊙ d)ᵀ, …) where it has one."""
    if isinstance(P, Identity):
        return as_shape(g, a_shape)
    if isinstance(P, Const):
        if P.value == 0:
            return E.zero(a_shape)
        if y_shape.is_scalar:      # a constant row, e.g. 𝟙ᵀ: g·𝟙
            return E.mul(g, Const(a_shape, value=P.value))
        if a_shape.is_scalar:      # a constant column, e.g. 𝟙: gᵀ𝟙 = sum(g)
            return E.mul(E.const(P.value), entry_sum(g)) if P.value != 1 else entry_sum(g)
    rule = RULES.get(P.op) if isinstance(P, Call) else None
    if rule is not None and rule.left is not None:
        out = rule.left(g, P, y_shape, a_shape, vjp)
        if out is not None:
            return out
    # a general matrix (or row/column)
    if y_shape.is_scalar:
        return E.mul(g, as_shape(P, a_shape))
    if a_shape.is_scalar:      # a column P = ∂vec(y)/∂a: vec(g)ᵀ P (P = vec(D) has its entry)
        return E.matmul(E.transpose(vec(g)), P)
    if _vectorish(y_shape) and _vectorish(a_shape):   # rows read as the vectors they are
        col = E.transpose(g) if g.shape.is_row else g
        return as_shape(E.matmul(E.transpose(P), col), a_shape)
    raise UnsupportedError("matcalc cannot yet push a matrix adjoint through this Jacobian")


def _vectorish(s: Shape) -> bool:
    """A vector, a row, or an n×1 matrix (a column): its entries in one line."""
    return s.is_vector or s.is_row or (s.is_matrix and s.cols == ONE)


# ---------------------------------------------------------------------------------------------
# Forward accumulation (vector and matrix results): the vector chain rule


def forward(f: Expr, x: Var, dep: set, outputs: dict | None = None, record=None) -> Expr:
    """∂f/∂x by the vector chain rule, J(node) = Σᵢ ∂node/∂aᵢ J(aᵢ) over the arguments aᵢ that
    depend on x, in data-flow order.  ``outputs`` gives a node's partials another name for its
    output (the steps view's intermediate variable: exp′ = y); ``record(rule, i, node, arg)``
    is told of each partial used (the steps view names the rules)."""
    J: dict[Expr, Expr] = {}
    for node in E.topological(f):
        if node not in dep:
            continue
        if isinstance(node, Var):
            J[node] = E.identity(x.shape.size) if not x.shape.is_scalar else E.const(1)
            continue
        rule = rule_for(node)
        args = node.args
        if rule.jvp is not None:
            J[node] = rule.jvp(node, args, [J.get(a) for a in args])
            continue
        partials = _partials(rule, node, (outputs or {}).get(node))
        terms = []
        repeated: dict = {}     # (argument, partial) seen before: the same term again
        for i, a in enumerate(args):
            if a in dep:
                key = (id(a), id(partials[i]))
                if key not in repeated:
                    repeated[key] = E.matmul(partials[i], J[a])
                terms.append(repeated[key])
                if record is not None:
                    record(rule, i, node, a)
        J[node] = E.add(*terms)
    return J[f]


def hcat(parts: list[Expr]) -> Expr:
    """Derivatives w.r.t. the entries of a vector literal ``[x, y]`` side by side (paper §2)."""
    return side_by_side(parts)
