"""Simplification to the form a textbook prints: a tuple of small named rewrites applied
bottom-up to a fixpoint, then element-wise algebra by SymPy.

Each rewrite takes a node and returns a replacement or None; its docstring states the identity.
SymPy simplifies only element-wise algebra (``+ ⊙ ⊘ ^`` of operands of one shape and scalars:
coefficients, the scalar chain rule's products, y ⊘ s ⊙ s); everything else — matrix
products, function calls, reductions — enters it as an opaque symbol, so the user's own
subexpressions print as they were written.
"""

from __future__ import annotations

import contextvars
import itertools

import sympy

from . import expr as E
from .expr import Call, Const, Expr, Identity, Var
from .rules import RULES, apply, grad_row, jdiag, kron, vec
from .shapes import ONE, SCALAR, Shape, matmul_shape

# ---------------------------------------------------------------------------------------------
# Rebuilding a node from new arguments through the smart constructors


def rebuild(node: Call, args) -> Expr:
    """``node`` with ``args`` substituted, re-folded by the smart constructors (the table's
    ``build`` for its operation)."""
    return RULES[node.op].make(args, node.params, node.shape)


# ---------------------------------------------------------------------------------------------
# Rewrites


def _is(e, op):
    return isinstance(e, Call) and e.op == op


def _ones_vector(e):
    return isinstance(e, Const) and e.value == 1 and e.shape.is_vector


def _inverse_of(a: Expr) -> Expr | None:
    """B when ``a`` is B⁻¹ (or (Bᵀ)⁻¹ = B⁻ᵀ as Bᵀ, or (B⁻¹)ᵀ)."""
    if _is(a, "inv"):
        return a.operands[0]
    if _is(a, "T") and _is(a.operands[0], "inv"):
        return E.transpose(a.operands[0].operands[0])
    return None


def _pair(a: Expr, b: Expr) -> Expr | None:
    """One product of neighbours in a matrix chain, if an identity applies."""
    if _inverse_of(a) == b or _inverse_of(b) == a:   # X⁻¹ X = X X⁻¹ = I
        return E.identity(a.shape.rows)
    if _is(b, "unit") and _is(a, "T") and a.operands[0].shape.is_vector:
        return _index(a.operands[0], b.params[0])    # uᵀ 𝕖ⱼ = 𝕖ⱼᵀ u = uⱼ
    if _is(a, "jdiag") and _is(b, "jdiag"):        # diag(a) diag(b) = diag(a ⊙ b)
        return jdiag(E.mul(a.operands[0], b.operands[0]), b.operands[0].shape)
    if _is(a, "jdiag") and b.shape.is_vector and a.operands[0].shape == b.shape:
        return E.mul(a.operands[0], b)               # diag(a) b = a ⊙ b
    if _is(b, "jdiag") and a.shape.is_row and _is(a, "T") and \
            a.operands[0].shape == b.operands[0].shape:
        return E.transpose(E.mul(a.operands[0], b.operands[0]))  # gᵀ diag(d) = (g ⊙ d)ᵀ
    if _is(b, "jdiag") and isinstance(a, Const) and a.shape.is_row:
        d = b.operands[0]                                        # 𝟙ᵀ diag(d) = dᵀ
        return E.transpose(E.mul(E.const(a.value), d)) if d.shape.is_vector else \
            grad_row(E.mul(E.const(a.value), d))
    if _is(b, "jdiag") and _is(a, "vecT") and a.operands[0].shape == b.operands[0].shape:
        return grad_row(E.mul(a.operands[0], b.operands[0]))    # vec(G)ᵀ diag(vec(D)) = vec(G ⊙ D)ᵀ
    if _is(b, "kron") and isinstance(b.operands[1], Identity) and b.operands[0].shape.is_row \
            and b.operands[1].shape.rows == a.shape.cols:   # A (rᵀ ⊗ I) = rᵀ ⊗ A, r a vector
        return kron(b.operands[0], a)
    if _is(a, "kron") and _is(b, "diag_embedding") and a.operands[0].shape.is_row and \
            isinstance(a.operands[1], Identity):     # (yᵀ ⊗ I) Δ = diag(y): vec(diag(x) y)
        y = E.transpose(a.operands[0])
        return jdiag(y, y.shape)
    if _is(a, "kron") and b.shape.is_vector:         # (F ⊗ A) vec(M) = vec(A M Fᵀ)
        f, m = a.operands[0], b.operands[0] if _is(b, "vec") else b
        if a.operands[1].shape.cols == m.shape.rows and f.shape.cols == m.shape.cols:
            return vec(E.matmul(a.operands[1], m, E.transpose(f)))
    if _is(a, "jdiag") and _is(b, "vec") and a.operands[0].shape == b.operands[0].shape:
        return vec(E.mul(a.operands[0], b.operands[0]))   # diag(vec(D)) vec(M) = vec(D ⊙ M)
    if _is(a, "K") and _is(b, "vec") and b.operands[0].shape.dims == a.params:
        return vec(E.transpose(b.operands[0]))       # 𝕂ₘₙ vec(M) = vec(Mᵀ), M m×n
    if _is(a, "kron") and _is(b, "kron"):            # (A ⊗ B)(C ⊗ D) = AC ⊗ BD
        (p, q), (r, s) = a.operands, b.operands
        if p.shape.cols == r.shape.rows and q.shape.cols == s.shape.rows:
            return kron(E.matmul(p, r), E.matmul(q, s))
    if isinstance(a, Const) and a.shape.is_row and b.shape.is_vector:
        return E.mul(E.const(a.value), apply("sum", b))     # c 𝟙ᵀ v = c sum(v)
    if _is(a, "T") and _is(a.operands[0], "unit") and \
            (b.shape.is_vector or b.shape.is_matrix and b.shape.cols == ONE):
        return _index(b, a.operands[0].params[0])          # 𝕖ᵢᵀ v = vᵢ
    if _is(a, "T") and _is(a.operands[0], "stack") and _is(b, "stack") and \
            len(b.operands) == len(a.operands[0].operands):    # [a, b]ᵀ [c, d] = a c + b d
        return E.add(*(E.mul(u, v) for u, v in zip(a.operands[0].operands, b.operands)))
    if _is(a, "vstack") and _is(b, "stack"):          # [r₁ᵀ; r₂ᵀ] v = [r₁ᵀ v, r₂ᵀ v]
        entries = [E.matmul(r, b) for r in a.operands]
        if all(t.shape.is_scalar for t in entries):
            return apply("stack", *entries)
    if _is(a, "T") and _is(a.operands[0], "unit") and _is(b, "vstack"):
        row = b.operands[a.operands[0].params[0]]          # 𝕖ᵢᵀ [r₁ᵀ; r₂ᵀ; …] = rᵢᵀ, a row
        return row
    if isinstance(a, Const) and _is(b, "unit") or \
            isinstance(b, Const) and _is(a, "T") and _is(a.operands[0], "unit"):
        c = a if isinstance(a, Const) else b                # c𝟙𝟙ᵀ 𝕖ⱼ = c𝟙: a column of a
        return E.Const(E.matmul(a, b).shape, value=c.value)  # constant is the constant
    if _is(a, "T") and a.operands[0].shape.is_vector and b.shape.is_vector:
        u = a.operands[0]                            # uᵀ v = sum(u ⊙ v) when u ⊙ v simplifies:
        h = _simplify_algebra(E.mul(u, b), frozenset())     # sᵀ (y ⊘ s) = sum(y), and
        if _size(h) < _size(u) + _size(b):                  # vᵀ 𝟙 = sum(v ⊙ 𝟙) = sum(v)
            return apply("sum", h)
    return None


def dot_of_rows(e: Expr) -> Expr | None:
    """sum(uᵀ ⊙ vᵀ) = uᵀ v: the entries of a product of two rows summed are a dot product
    (∂(s xᵀ) z/∂s = xᵀ z).  Applied once the others are done, to factors in print order."""
    if _is(e, "sum") and _is(e.operands[0], "mul"):
        fs = e.operands[0].operands
        if len(fs) == 2 and fs[0].shape.is_row and fs[1].shape.is_row:
            return E.matmul(fs[0], E.transpose(fs[1]))
    return None


def product_of_constants(e: Expr) -> Expr | None:
    """𝟙ₙᵀ 𝟙ₙ𝟙ₖᵀ = n 𝟙ₖᵀ (the bias gradient of a batch): neighbours in a chain that are both
    constants are one, each entry adding n equal products.  Applied once the others are done,
    so that it does not make a distributed form look smaller (𝟙ᵀ (P − a) stays)."""
    if not _is(e, "matmul"):
        return None
    fs = list(e.operands)
    for i in range(len(fs) - 1):
        a, b = fs[i], fs[i + 1]
        if isinstance(a, Const) and isinstance(b, Const):
            c = E.Const(E.matmul(a, b).shape, value=a.value * b.value * a.shape.cols)
            return E.matmul(*fs[:i], c, *fs[i + 2:])
    return None


def vec_of_row(e: Expr) -> Expr | None:
    """vec(rᵀ) = r: a row and its vec hold the same entries in the same order."""
    if _is(e, "vec") and e.operands[0].shape.is_row:
        return E.transpose(e.operands[0])
    return None


def sum_of_deviations(e: Expr) -> Expr | None:
    """sum(v − mean(v)) = 0: the entries of a sum with a scalar term add up as
    sum(a) + n s, and mean(v) = sum(v)/n; used when that makes the whole a number (the
    deviations from a mean add up to 0)."""
    if not (_is(e, "sum") and _is(e.operands[0], "add") and e.operands[0].shape.is_vector):
        return None
    terms = e.operands[0].operands
    if not any(t.shape.is_scalar for t in terms):
        return None
    n = E.const(e.operands[0].shape.size)
    parts = [E.mul(n, t) if t.shape.is_scalar else apply("sum", t) for t in terms]
    means = {m: E.div(apply("sum", m.operands[0]), n)
             for m in E.topological(e) if _is(m, "mean") and m.operands[0].shape.is_vector}
    total = scalar_algebra(E.substitute(E.add(*parts), means, rebuild))
    return total if isinstance(total, Const) else None


def softmax_sums_to_one(e: Expr) -> Expr | None:
    """𝟙ᵀ softmax(x) = 1; softmax(X, axis=1) 𝟙 = 𝟙 (each row sums to 1), 𝟙ᵀ softmax(X,
    axis=0) = 𝟙ᵀ; so sum(softmax(X, axis=1)) is the number of rows."""
    if _is(e, "sum") and _is(e.operands[0], "softmax"):
        s = e.operands[0]
        return E.const(1) if not s.params else E.const(s.shape.dims[1 - s.params[0]])
    if not _is(e, "matmul"):
        return None
    fs = list(e.operands)
    for i in range(len(fs) - 1):
        a, b = fs[i], fs[i + 1]
        if _is(a, "softmax") and a.params == (1,) and isinstance(b, Const) and b.value == 1 \
                and b.shape.rows == a.shape.cols:
            ones = E.ones(Shape((a.shape.rows,)) if b.shape.is_vector else
                          Shape((a.shape.rows, b.shape.cols)))
            return E.matmul(*fs[:i], ones, *fs[i + 2:])
        if _is(b, "softmax") and b.params == (0,) and isinstance(a, Const) and a.value == 1 \
                and a.shape.cols == b.shape.rows:
            ones = E.ones(Shape((ONE, b.shape.cols)) if a.shape.is_row else
                          Shape((a.shape.rows, b.shape.cols)))
            return E.matmul(*fs[:i], ones, *fs[i + 2:])
    return None


def sum_by_ones(e: Expr) -> Expr | None:
    """𝟙ᵀ M 𝟙 = sum(M): a row of ones and a column of ones around a product add its entries."""
    if not (_is(e, "matmul") and len(e.operands) >= 3 and e.shape.is_scalar):
        return None
    first, *middle, last = e.operands
    if isinstance(first, Const) and first.value == 1 and first.shape.is_row and \
            _ones_vector(last):
        return apply("sum", E.matmul(*middle))
    return None


def sum_with_unit(e: Expr) -> Expr | None:
    """sum(u ⊙ 𝕖ⱼ) = uⱼ: a unit vector picks one entry of an element-wise product."""
    if not (_is(e, "sum") and not e.params and _is(e.operands[0], "mul")):
        return None
    fs = e.operands[0].operands
    unit = next((f for f in fs if _is(f, "unit")), None)
    if unit is None:
        return None
    rest = list(fs)
    rest.remove(unit)
    return _index(E.mul(*rest), unit.params[0])


def entries_make_a_sum(e: Expr) -> Expr | None:
    """v₁ + v₂ + … + vₙ = sum(v): every entry of a vector of known length, once each."""
    if not (_is(e, "add") and e.shape.is_scalar):
        return None
    by_vector: dict[Expr, list[int]] = {}
    for t in e.operands:
        if _is(t, "index"):
            by_vector.setdefault(t.operands[0], []).append(t.params[0])
    for v, entries in by_vector.items():
        n = v.shape.rows
        if getattr(n, "is_Integer", False) and sorted(entries) == list(range(int(n))):
            rest = [t for t in e.operands if not (_is(t, "index") and t.operands[0] == v)]
            return E.add(apply("sum", v), *rest)
    return None


def _size(e: Expr) -> int:
    return len(E.topological(e))


def matmul_pairs(e: Expr) -> Expr | None:
    """Products of structured neighbours in a chain: diag·diag, diag·v, gᵀ·diag, 𝟙ᵀ·v,
    diag·(Bᵀ ⊗ I), (A ⊗ B)(C ⊗ D), (F ⊗ A) vec(M), diag(vec(D)) vec(M), 𝕂 vec(M)."""
    if not _is(e, "matmul"):
        return None
    fs = list(e.operands)
    for i in range(len(fs) - 1):
        r = _pair(fs[i], fs[i + 1])
        if r is not None:
            return E.matmul(*fs[:i], r, *fs[i + 2:])
    return None


def _spelled_out(fs) -> list[Expr]:
    """A chain's factors with each transposed product (B C)ᵀ spelled out as Cᵀ Bᵀ."""
    out = []
    for f in fs:
        if _is(f, "T") and _is(f.operands[0], "matmul"):
            out.extend(E.transpose(g) for g in reversed(f.operands[0].operands))
        else:
            out.append(f)
    return out


def _inverted_chain(a: Expr) -> list[Expr]:
    """The factors of the product P when ``a`` is P⁻¹ (or P⁻ᵀ, as the factors of Pᵀ)."""
    p = _inverse_of(a)
    return _spelled_out(p.operands if _is(p, "matmul") else [p]) if p is not None else []


def _square(a: Expr) -> bool:
    return a.shape.is_matrix and a.shape.rows == a.shape.cols


def inverse_of_product_cancels(e: Expr) -> Expr | None:
    """X (B X)⁻¹ = X X⁻¹ B⁻¹ = B⁻¹ and (X B)⁻¹ X = B⁻¹ for square X: the factors beside an
    inverted product cancel against its ends, transposed products spelled out to match."""
    if not _is(e, "matmul"):
        return None
    fs = _spelled_out(e.operands)
    for i, f in enumerate(fs):
        inner = _inverted_chain(f)
        if len(inner) < 2:
            continue
        k = 0                       # factors before f that match the end of the product
        while k < len(inner) - 1 and i - k - 1 >= 0 and fs[i - k - 1] == inner[-k - 1] \
                and _square(fs[i - k - 1]):
            k += 1
        if k:
            return E.matmul(*fs[:i - k], apply("inv", E.matmul(*inner[:-k])), *fs[i + 1:])
        while k < len(inner) - 1 and i + k + 1 < len(fs) and fs[i + k + 1] == inner[k] \
                and _square(fs[i + k + 1]):
            k += 1
        if k:
            return E.matmul(*fs[:i], apply("inv", E.matmul(*inner[k:])), *fs[i + k + 1:])
    return None


def scalars_out_of_products(e: Expr) -> Expr | None:
    """(c A) B = c (A B): scalar factors of a factor move in front of the product."""
    if not _is(e, "matmul"):
        return None
    for i, f in enumerate(e.operands):
        if _is(f, "mul") and any(g.shape.is_scalar for g in f.operands):
            scalars = [g for g in f.operands if g.shape.is_scalar]
            rest = E.mul(*[g for g in f.operands if not g.shape.is_scalar])
            fs = list(e.operands)
            fs[i] = rest
            return E.mul(*scalars, E.matmul(*fs))
        if _is(f, "div") and f.operands[1].shape.is_scalar:    # (A/s) B = (1/s) A B
            fs = list(e.operands)
            fs[i] = f.operands[0]
            return E.mul(E.div(E.const(1), f.operands[1]), E.matmul(*fs))
        if _is(f, "div") and _is(f.operands[1], "mul"):      # (a ⊘ (c v)) B = 1/c (a ⊘ v) B
            den = f.operands[1].operands
            numbers = [g for g in den if isinstance(g, Const) and g.shape.is_scalar]
            others = [g for g in den if not (isinstance(g, Const) and g.shape.is_scalar)]
            if numbers and others:
                fs = list(e.operands)
                fs[i] = E.div(f.operands[0], E.mul(*others))
                return E.mul(E.div(E.const(1), E.mul(*numbers)), E.matmul(*fs))
    return None


_COUNTS: dict = {}
_FLIPS: dict = {}


def _counts(f: Expr) -> tuple[int, int]:
    """(transposed factors, transposed factors once flipped) in ``f`` as a factor of a chain:
    a product kept as one factor of a long chain (``E.CHAIN_FLAT``) counts its own factors."""
    if not _is(f, "matmul"):
        return int(_is(f, "T")), int(_is(E.transpose(f), "T"))
    out = _COUNTS.get(f)
    if out is None:
        parts = [_counts(g) for g in f.operands]
        out = (sum(p[0] for p in parts), sum(p[1] for p in parts))
        if len(_COUNTS) > 65536:
            _COUNTS.clear()
        _COUNTS[f] = out
    return out


def _flipped(fs) -> list[Expr]:
    """The factors of (f₁ ⋯ fₙ)ᵀ = fₙᵀ ⋯ f₁ᵀ; a product kept as one factor is flipped through,
    so a long chain's transpose is spelled out in one step."""
    out = []
    for f in reversed(fs):
        if not _is(f, "matmul"):
            out.append(E.transpose(f))
            continue
        g = _FLIPS.get(f)
        if g is None:
            g = E.matmul(*_flipped(f.operands))
            if len(_FLIPS) > 65536:
                _FLIPS.clear()
            _FLIPS[f] = g
        out.append(g)
    return out


def transpose_of_product(e: Expr) -> Expr | None:
    """(A B)ᵀ = Bᵀ Aᵀ, used when it removes transposes, (Wᵀ g)ᵀ = gᵀ W, and for a row written
    as a product ending in a column, (M x)ᵀ = xᵀ Mᵀ (a gradient row starts with a row)."""
    if not (_is(e, "T") and _is(e.operands[0], "matmul")):
        return None
    fs = e.operands[0].operands
    count, flipped_count = _counts(e.operands[0])
    if flipped_count <= 1 + count or fs[-1].shape.is_vector:
        return E.matmul(*_flipped(fs))
    return None


def transpose_of_kron(e: Expr) -> Expr | None:
    """(A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ."""
    if _is(e, "T") and _is(e.operands[0], "kron"):
        a, b = e.operands[0].operands
        return kron(E.transpose(a), E.transpose(b))
    return None


def kron_of_vectors(e: Expr) -> Expr | None:
    """u ⊗ vᵀ = vᵀ ⊗ u = u vᵀ: the Kronecker product of a column and a row is their outer
    product (entry (i, j) is uᵢ vⱼ either way)."""
    if _is(e, "kron"):
        a, b = e.operands
        if a.shape.is_vector and b.shape.is_row:
            return E.matmul(a, b)
        if a.shape.is_row and b.shape.is_vector:
            return E.matmul(b, a)
    return None


def index_of_known(e: Expr) -> Expr | None:
    """[f, g, h]ᵢ is the i-th entry; (c 𝟙)ᵢ = c."""
    if not _is(e, "index"):
        return None
    v, i = e.operands[0], e.params[0]
    if isinstance(v, Const):
        return E.const(v.value)
    known = _vector_entry(v, i) if v.shape.is_vector else None
    if known is not None:
        return known
    if _is(v, "mul") and sum(not f.shape.is_scalar for f in v.operands) == 1:
        return E.mul(*[f if f.shape.is_scalar else _index(f, i) for f in v.operands])
    if v.shape.is_scalar:                               # a 1×1 product is its one entry
        return v
    if _is(v, "matmul") and v.operands[0].shape.is_vector:     # (u c)ᵢ = uᵢ c, c a 1×1 product
        return E.mul(_index(v.operands[0], i), E.matmul(*v.operands[1:]))
    if _is(v, "reshape"):                               # the same entries in the same order
        return _index(v.operands[0], i)
    if _is(v, "div") and v.operands[1].shape.is_scalar:     # (u/s)ᵢ = uᵢ/s
        return E.div(_index(v.operands[0], i), v.operands[1])
    if _is(v, "matmul") and len(v.operands) == 2 and _is(v.operands[1], "unit"):
        M, c = v.operands[0], v.operands[1].params[0]   # 𝕖ᵢᵀ M 𝕖ⱼ = Mᵢⱼ, read where known
        return _entry(M.operands[0], c, i) if _is(M, "T") else _entry(M, i, c)
    if _is(v, "matmul") and len(v.operands) == 2 and isinstance(v.operands[1], Const) and \
            getattr(v.operands[0].shape.cols, "is_Integer", False):
        M, ones = v.operands          # (M c𝟙)ᵢ = c Σₖ Mᵢₖ: a row sum of a literal
        entries = [_entry(M.operands[0], k, i) if _is(M, "T") else _entry(M, i, k)
                   for k in range(int(M.shape.cols))]
        if all(x is not None for x in entries):
            return E.mul(E.const(ones.value), E.add(*entries))
        return None
    if v.shape.is_matrix and getattr(v.shape.rows, "is_Integer", False):
        rows = int(v.shape.rows)                        # vec order: column by column
        return _entry(v, i % rows, i // rows)
    return None


def _vector_entry(v: Expr, i: int) -> Expr | None:
    """The entry i of a vector whose entries are known one by one: a literal, a constant, a
    unit vector (𝕖ᵢᵀ 𝕖ⱼ = δᵢⱼ), or an element-wise function with such an operand (cos(2 [x, y])
    has cos(2x) first; an operand of unknown entries stays indexed: (s ⊙ 𝕖₁)₁ = s₁); None where
    no entry is known."""
    if isinstance(v, Const):
        return E.const(v.value)
    if _is(v, "stack"):
        return v.operands[i]
    if _is(v, "unit"):
        return E.const(1 if v.params[0] == i else 0)
    if isinstance(v, Call) and RULES[v.op].infer in ("map", "map2", "power"):
        known = [None if a.shape.is_scalar else _vector_entry(a, i) for a in v.operands]
        if all(k is None for k in known):
            return None
        return rebuild(v, [a if a.shape.is_scalar else _index(a, i) if k is None else k
                           for a, k in zip(v.operands, known)])
    return None


def _entry(F: Expr, r: int, c: int) -> Expr | None:
    """The entry (r, c) of a matrix literal, of a constant, or of an element-wise function of
    them (exp([[a, b], [c, d]]) has exp(a) first); None where it is not known."""
    if isinstance(F, Const):
        return E.const(F.value)
    if isinstance(F, Identity):
        return E.const(1 if r == c else 0)
    if _is(F, "matmul") and len(F.operands) == 2 and F.operands[0].shape.is_vector:
        a, b = F.operands                       # an outer product u vᵀ: uᵣ v꜀
        u, v = _vector_entry(a, r), _vector_entry(E.transpose(b), c)
        return None if u is None or v is None else E.mul(u, v)
    if _is(F, "vstack"):
        row = F.operands[r]
        if _is(row, "T") and _is(row.operands[0], "stack"):
            return row.operands[0].operands[c]
        return E.const(row.value) if isinstance(row, Const) else None
    if isinstance(F, Call) and F.shape.is_matrix and \
            RULES[F.op].infer in ("map", "map2", "power"):
        args = [a if a.shape.is_scalar else _entry(a, r, c) for a in F.operands]
        return None if any(a is None for a in args) else rebuild(F, args)
    return None


def _index(v: Expr, i: int) -> Expr:
    return E.call("index", [v], SCALAR, params=(i,))


def inverse_of_inverse(e: Expr) -> Expr | None:
    """(X⁻¹)⁻¹ = X."""
    if _is(e, "inv") and _inverse_of(e.operands[0]) is not None:
        return _inverse_of(e.operands[0])
    return None


def _transposes_in(e: Expr) -> int:
    return sum(1 for n in E.topological(e) if _is(n, "T"))


def transpose_of_sum(e: Expr) -> Expr | None:
    """(Σ Aᵢ)ᵀ = Σ Aᵢᵀ and back, whichever spells fewer transposes: a gradient row
    (Bᵀ C u + Dᵀ v)ᵀ = uᵀ Cᵀ B + vᵀ D; (X B)ᵀ + Xᵀ Bᵀ = (X B + B X)ᵀ.  A sum with terms that
    are not products, (W x + b − y)ᵀ, stays as it is."""
    if _is(e, "T") and _is(e.operands[0], "add"):
        terms = e.operands[0].operands
        if not all(t.shape.is_scalar or _is(_product_factors(t)[1][-1], "T") or
                   len(_product_factors(t)[1]) > 1 for t in terms):
            return None
        out = E.add(*(_spelled(E.transpose(t)) for t in terms))
        return out if _transposes_in(out) < _transposes_in(e) else None
    if _is(e, "add") and e.shape.is_matrix:
        inner = E.add(*(_spelled(E.transpose(t)) for t in e.operands))
        out = E.transpose(inner)
        return out if _transposes_in(out) < _transposes_in(e) else None
    return None


def _spelled(e: Expr) -> Expr:
    """``e`` with a top-level transposed product spelled out: (A B)ᵀ = Bᵀ Aᵀ."""
    scalars, fs = _product_factors(e)
    if len(fs) == 1 and _is(fs[0], "T") and _is(fs[0].operands[0], "matmul"):
        inner = fs[0].operands[0].operands
        return E.mul(*scalars, E.matmul(*(E.transpose(g) for g in reversed(inner))))
    return e


def reshaped_constant(e: Expr) -> Expr | None:
    """vec(c 𝟙 𝟙ᵀ) = c 𝟙: the same constant entries in the new shape (vec⁻¹(c 𝟙) is
    ``unvec_of_elementwise``'s)."""
    if _is(e, "vec") and isinstance(e.operands[0], Const):
        return Const(e.shape, value=e.operands[0].value)
    return None


def reshape_of_reshape(e: Expr) -> Expr | None:
    """A vector read as an n×1 matrix and back is itself (tr(c cᵀ) by an n×1 c is 2c, not
    c + c with one of them read twice)."""
    if _is(e, "reshape") and _is(e.operands[0], "reshape"):
        inner = e.operands[0].operands[0]
        return inner if inner.shape == e.shape else E.call("reshape", [inner], e.shape)
    return None


def unvec_of_elementwise(e: Expr) -> Expr | None:
    """vec⁻¹(f(vec(X))) = f(X) for element-wise f (and scalar factors): the gradient of
    sum(exp(vec(X))) is exp(X), not vec⁻¹(exp(vec(X)))."""
    if _is(e, "unvec"):
        return _unvec_through(e.operands[0], e.shape)
    return None


def _unvec_through(v: Expr, shape: Shape) -> Expr | None:
    """vec⁻¹(v) in ``shape``, taken down element-wise operations to a vec(M) of that shape (M)
    or a constant; None where another operand is reached."""
    if v.shape.is_scalar:
        return v
    if _is(v, "vec"):
        return v.operands[0] if v.operands[0].shape == shape else None
    if isinstance(v, Const):
        return Const(shape, value=v.value)
    if isinstance(v, Call) and RULES[v.op].infer in ("map", "map2", "power"):
        args = [_unvec_through(a, shape) for a in v.operands]
        if any(a is None for a in args):
            return None
        return rebuild(v, args)
    return None


def sum_of_literals(e: Expr) -> Expr | None:
    """[a, b] + [c, d] = [a + c, b + d]: literals add entry by entry."""
    if _is(e, "add") and sum(_is(t, "stack") for t in e.operands) >= 2:
        stacks = [t for t in e.operands if _is(t, "stack")]
        if len({len(t.operands) for t in stacks}) == 1:
            rest = [t for t in e.operands if not _is(t, "stack")]
            one = apply("stack", *(E.add(*entries) for entries in
                                   zip(*(t.operands for t in stacks))))
            return E.add(one, *rest)
    return None


def sum_of_constant(e: Expr) -> Expr | None:
    """sum(c 𝟙) = c n;  sum(s) = s for a scalar s;  the sum of a row of numbers;  sum(y) = 1
    for y declared ``prob``, and
    sum(Y) = N for an N×k matrix Y declared ``prob`` (N rows, each summing to 1)."""
    if _is(e, "sum"):
        a = e.operands[0]
        if isinstance(a, Var) and "prob" in a.props:
            return E.const(a.shape.rows if a.shape.is_matrix else 1)
        if isinstance(a, Const):
            return E.const(a.value * a.shape.size)
        if a.shape.is_scalar:
            return a
        v = a.operands[0] if _is(a, "T") else a
        if _is(v, "stack") and all(isinstance(t, Const) for t in v.operands):
            return E.add(*v.operands)                  # sum([1, 2, 3]ᵀ) = 6
    return None


def _probability_rows(a: Expr) -> bool:
    """A matrix declared ``prob``: each row sums to 1 (a batch of one-hot labels)."""
    return isinstance(a, Var) and "prob" in a.props and a.shape.is_matrix


def rows_sum_to_one(e: Expr) -> Expr | None:
    """Y C = c 𝟙𝟙ᵀ and C Yᵀ = c 𝟙𝟙ᵀ for a matrix Y declared ``prob`` (each row sums to 1:
    Y 𝟙 = 𝟙) and a constant C with every entry c.  So the row sums Y 𝟙 of one-hot labels are
    𝟙, and the cross-entropy's (Y 𝟙𝟙ᵀ) ⊙ S − Y is S − Y."""
    if not _is(e, "matmul"):
        return None
    fs = e.operands
    for i in range(len(fs) - 1):
        a, b = fs[i], fs[i + 1]
        if _probability_rows(a) and isinstance(b, Const):
            value = b.value
        elif isinstance(a, Const) and _is(b, "T") and _probability_rows(b.operands[0]):
            value = a.value
        else:
            continue
        constant = E.const(value, matmul_shape(a.shape, b.shape))   # c 𝟙𝟙ᵀ, or c 𝟙, or c
        return E.matmul(*fs[:i], constant, *fs[i + 2:])
    return None


def _denominators(t: Expr) -> list[Expr]:
    """The divisors of a term: d in n ⊘ d and in c (n ⊘ d)."""
    if _is(t, "div"):
        return [t.operands[1]]
    if _is(t, "mul"):
        return [f.operands[1] for f in t.operands if _is(f, "div")]
    return []


def product_cancels_quotient(e: Expr) -> Expr | None:
    """a ⊙ (b + c ⊘ a) = a ⊙ b + c: a factor that divides a term of a sum it multiplies is
    distributed over the sum, so the quotient cancels (element-wise): s ⊙ (1 − Y ⊘ s) = s − Y,
    the cross-entropy of a softmax over a batch.  Only where the scalar algebra of the result
    is shorter than that of the product (σ (1 − σ) ⊙ (y ⊘ σ − …) is shorter as SymPy
    combines it)."""
    if not _is(e, "mul"):
        return None
    for i, f in enumerate(e.operands):
        if not _is(f, "add"):
            continue
        others = e.operands[:i] + e.operands[i + 1:]
        if any(d in others and d.shape == e.shape for t in f.operands
               for d in _denominators(t)):
            out = _simplify_algebra(E.add(*(E.mul(*others, t) for t in f.operands)),
                                    frozenset())
            return out if _size(out) < _size(_simplify_algebra(e, frozenset())) else None
    return None


def _product_factors(t: Expr):
    """A term as (scalar coefficients, matrix-product factors): 2 A X -> ([2], [A, X])."""
    scalars, core = [], t
    if _is(t, "mul"):
        sc = [f for f in t.operands if f.shape.is_scalar]
        rest = [f for f in t.operands if not f.shape.is_scalar]
        if sc and len(rest) == 1:
            scalars, core = sc, rest[0]
    return scalars, (list(core.operands) if _is(core, "matmul") else [core])


def factor_common(e: Expr) -> Expr | None:
    """A C + B C = (A + B) C and C A + C B = C (A + B): a factor shared by several products in a
    sum is taken out once (Aᵀ x + A x = (Aᵀ + A) x)."""
    if not _is(e, "add") or e.shape.is_scalar:
        return None
    terms = [_product_factors(t) for t in e.operands]
    for side in (-1, 0):
        groups: dict[Expr, list[int]] = {}
        for i, (_, fs) in enumerate(terms):
            if len(fs) >= 2:
                groups.setdefault(fs[side], []).append(i)
        for shared, idx in groups.items():
            if len(idx) < 2:
                continue
            rests = []
            for i in idx:
                sc, fs = terms[i]
                rest = E.matmul(*(fs[:-1] if side == -1 else fs[1:]))
                rests.append(E.mul(*sc, rest) if sc else rest)
            if len({r.shape for r in rests}) != 1:
                continue
            inner = E.add(*rests)
            merged = E.matmul(inner, shared) if side == -1 else E.matmul(shared, inner)
            out = [merged if i == idx[0] else t for i, t in enumerate(e.operands)
                   if i == idx[0] or i not in idx]
            return E.add(*out)
    return None


def transposes_after(e: Expr) -> Expr | None:
    """A + Aᵀ rather than Aᵀ + A: in a sum, a term comes before its own transpose."""
    if not _is(e, "add") or not e.shape.is_matrix:
        return None
    terms = list(e.operands)

    def base(t):
        _, fs = _product_factors(t)
        core = fs[0] if len(fs) == 1 else None
        return core.operands[0] if _is(core, "T") else core

    for i, t in enumerate(terms):
        b = base(t)
        if b is None or not _is(_product_factors(t)[1][0], "T"):
            continue
        for j in range(i + 1, len(terms)):
            if _product_factors(terms[j])[1] == [b]:
                terms.insert(i, terms.pop(j))
                return E.add(*terms)
    return None


def _split_coeff(t: Expr):
    if _is(t, "mul") and isinstance(t.operands[0], Const) and t.operands[0].shape.is_scalar:
        return t.operands[0].value, E.mul(*t.operands[1:])
    return sympy.Integer(1), t


def merge_terms(e: Expr) -> Expr | None:
    """a t + b t = (a + b) t for numbers a, b (the sum of equal contributions)."""
    if not _is(e, "add") or e.shape.is_scalar:
        return None
    seen: dict[Expr, sympy.Expr] = {}
    order = []
    for t in e.operands:
        c, base = _split_coeff(t)
        if base in seen:
            seen[base] += c
        else:
            seen[base] = c
            order.append(base)
    if len(order) == len(e.operands):
        return None
    return E.add(*(E.mul(E.const(seen[b]), b) for b in order))


def diag_is_linear(e: Expr) -> Expr | None:
    """a diag(u) + b diag(v) = diag(a u + b v): a sum of diagonal Jacobians is one."""
    if not _is(e, "add"):
        return None
    diags, others = [], []
    # a term repeated (x⁹⁹⁹ + x⁹⁹⁹ + …) is looked at once
    distinct = {id(t): t for t in e.operands}
    diagonal = {k: _diagonal_of(t) for k, t in distinct.items()}
    for t in e.operands:
        d = diagonal[id(t)]
        if d is not None:
            diags.append(d)
        else:
            others.append(t)
    if len(diags) < 2:
        return None
    d = E.add(*diags)
    return E.add(jdiag(d, d.shape), *others)


def _diagonal_of(t: Expr) -> Expr | None:
    """d when the term ``t`` is a diagonal Jacobian diag(d) times scalars (c diag(v): c v)."""
    scalars, fs = _product_factors(t)
    if len(fs) == 1 and _is(fs[0], "jdiag"):
        return E.mul(*scalars, fs[0].operands[0])
    return None


def jdiag_of_scalar(e: Expr) -> Expr | None:
    """diag(c 𝟙) = c I (for Jacobians and for the user's diag of a vector)."""
    if (_is(e, "jdiag") or (_is(e, "diag") and e.shape.is_matrix)) and \
            isinstance(e.operands[0], Const):
        return E.mul(E.const(e.operands[0].value), E.identity(e.shape.rows))
    return None


def step_selects(e: Expr) -> Expr | None:
    """step(z) ⊙ g(max(0, z)) = step(z) ⊙ g(z): where step(z) = 1, max(0, z) = z, and where it
    is 0 the product is 0 anyway (also for relu(z)).  For a vector z this holds entry by entry,
    so only occurrences whose entries line up with z's (reached through element-wise operations
    only) are replaced: in step(z) ⊙ (Wᵀ relu(z)) the relu(z) stays."""
    if not _is(e, "mul"):
        return None
    steps = [f.operands[0] for f in e.operands if _is(f, "step")]
    if not steps:
        return None
    new = list(e.operands)
    for z in steps:
        mapping = {}
        zeros = (E.zero(z.shape), E.const(0)) if not z.shape.is_scalar else (E.const(0),)
        for zero in zeros:
            for k in (apply("max", zero, z), apply("max", z, zero)):
                mapping[k] = z
        mapping[apply("relu", z)] = z
        new = [f if _is(f, "step") else
               E.substitute(f, mapping, rebuild) if z.shape.is_scalar else
               _replace_aligned(f, mapping, z.shape) for f in new]
    out = E.mul(*new)
    return out if out != e else None


_ALIGNED = ("elementwise", "elementwise2")


def _replace_aligned(f: Expr, mapping: dict, shape) -> Expr:
    """``f`` with the keys of ``mapping`` replaced where they occur entry-aligned with a value of
    ``shape``: on paths from ``f`` through element-wise operations of that shape only."""
    root = (f, f.shape == shape)
    memo: dict = {}
    stack = [(root, False)]
    while stack:
        (n, aligned), ready = stack.pop()
        if (n, aligned) in memo:
            continue
        if aligned and n in mapping:
            memo[(n, aligned)] = mapping[n]
            continue
        if not isinstance(n, Call):
            memo[(n, aligned)] = n
            continue
        inner = aligned and RULES[n.op].family in _ALIGNED
        kids = [(a, inner and a.shape == shape) for a in n.operands]
        if not ready:
            stack.append(((n, aligned), True))
            stack.extend((k, False) for k in kids)
            continue
        args = tuple(memo[k] for k in kids)
        memo[(n, aligned)] = n if args == n.operands else rebuild(n, args)
    return memo[root]


def _negative_term(t: Expr) -> bool:
    c = t.value if isinstance(t, Const) else _split_coeff(t)[0]
    return bool(c.could_extract_minus_sign())


def negate_into_sum(e: Expr) -> Expr | None:
    """−c (y − z) = c (z − y): a negative coefficient is absorbed by a difference, found in a
    factor, through a transpose, a matrix product or a diag: −(y − z)ᵀ = (z − y)ᵀ,
    −Xᵀ diag(u ⊙ (u − 1)) X = Xᵀ diag(u ⊙ (1 − u)) X.  While the rewrites run, a difference
    the user wrote keeps its order (its sign may yet cancel another: (x − μ)ᵀ S⁻¹); once they
    are done, ``sign_into_difference`` lets it take a sign that is left."""
    if not (_is(e, "mul") and isinstance(e.operands[0], Const) and
            e.operands[0].value.could_extract_minus_sign()):
        return None
    for i, f in enumerate(e.operands[1:], 1):
        r = _absorb_negation(f, keep=_KEEP.get())
        if r is not None:
            rest = list(e.operands)
            rest[i] = r
            rest[0] = E.const(-e.operands[0].value)
            return E.mul(*rest)
    return None


def _absorb_negation(x: Expr, tie: bool = True, keep=frozenset()) -> Expr | None:
    """−x written with the sign absorbed by a difference inside it, or None.  A difference with
    as many negative as positive terms absorbs it directly (−(y − z) = z − y) but, deeper inside
    products, only when that puts a constant first (u − 1 → 1 − u), so x − a in (x − a)(x − a)ᵀ
    stays as written."""
    if _is(x, "add"):
        if x in keep:
            return None
        neg = sum(1 for t in x.operands if _negative_term(t))
        constant = any(isinstance(t, Const) and _negative_term(t) for t in x.operands)
        if neg and (neg > len(x.operands) - neg or
                    (neg == len(x.operands) - neg and (tie or constant))):
            terms = [E.neg(t) for t in x.operands]
            terms.sort(key=_negative_term)  # positive terms first, in order: z − y
            return E.add(*terms)
        return None
    if _is(x, "T") or _is(x, "jdiag") or _is(x, "sum"):
        r = _absorb_negation(x.operands[0], tie and not _is(x, "jdiag"), keep)
        return None if r is None else rebuild(x, (r,))
    if _is(x, "mul") or _is(x, "matmul"):
        for i, f in enumerate(x.operands):
            r = _absorb_negation(f, False, keep)
            if r is not None:
                return rebuild(x, x.operands[:i] + (r,) + x.operands[i + 1:])
    return None


def sum_is_linear(e: Expr) -> Expr | None:
    """sum(c v) = c sum(v) for a scalar c."""
    if _is(e, "sum") and _is(e.operands[0], "mul"):
        fs = e.operands[0].operands
        scalars = [f for f in fs if f.shape.is_scalar]
        rest = [f for f in fs if not f.shape.is_scalar]     # never empty: sum takes no scalar
        if scalars:
            return E.mul(*scalars, apply("sum", E.mul(*rest)))
    return None


def _commutes(a: Expr, b: Expr) -> Expr | None:
    """B ⊗ A for a neighbouring pair (A ⊗ B) K or K (A ⊗ B) that the identity
    K_(p,m) (A ⊗ B) K_(n,q) = B ⊗ A (A m×n, B p×q) turns into it: the K left over is I."""
    if _is(a, "kron") and _is(b, "K"):
        A, B = a.operands
        if b.params == (A.shape.cols, B.shape.cols) and ONE in (A.shape.rows, B.shape.rows):
            return kron(B, A)
    if _is(a, "K") and _is(b, "kron"):
        A, B = b.operands
        if a.params == (B.shape.rows, A.shape.rows) and ONE in (A.shape.cols, B.shape.cols):
            return kron(B, A)
    return None


def kron_absorbs_commutation(e: Expr) -> Expr | None:
    """(aᵀ ⊗ B) K = B ⊗ aᵀ and K (a ⊗ B) = B ⊗ a (and with the factors the other way round),
    from K_(p,m) (A ⊗ B) K_(n,q) = B ⊗ A for A m×n, B p×q when a factor is a row or a column:
    (𝟙ᵀ ⊗ I) K = I ⊗ 𝟙ᵀ, the column sums of a batch seen through vec."""
    if not _is(e, "matmul"):
        return None
    fs = e.operands
    for i in range(len(fs) - 1):
        r = _commutes(fs[i], fs[i + 1])
        if r is not None:
            return E.matmul(*fs[:i], r, *fs[i + 2:])
    return None


def sum_of_quotient(e: Expr) -> Expr | None:
    """sum(v ⊘ s) = sum(v)/s for a scalar s: the mean over a batch prints as a sum over N,
    sum(σ(X w + b) − y)/N."""
    if _is(e, "sum") and _is(e.operands[0], "div") and e.operands[0].operands[1].shape.is_scalar:
        v, s = e.operands[0].operands
        return E.div(apply("sum", v), s)
    return None


def _centered(z: Expr) -> bool:
    """z = c v + d mean(v) with c + d = 0, or c v + d sum(v) with c + n d = 0 (v of n
    entries): c (v − mean(v)), whose entries sum to 0."""
    if not (_is(z, "add") and len(z.operands) == 2 and not z.shape.is_scalar):
        return False
    for a, b in (z.operands, reversed(z.operands)):
        (c, v), (d, m) = _split_coeff(a), _split_coeff(b)
        if v.shape == z.shape and (_is(m, "mean") or _is(m, "sum")) and m.operands[0] == v:
            size = 1 if _is(m, "mean") else v.shape.size
            return sympy.expand(c + d * size) == 0
    return False


def _sums_to_zero(t: Expr) -> bool:
    """t is c z or c z/s for a centered z (``_centered``) and scalars c, s."""
    while _is(t, "div") and t.operands[1].shape.is_scalar:
        t = t.operands[0]
    if _is(t, "mul"):
        rest = [f for f in t.operands if not f.shape.is_scalar]
        return len(rest) == 1 and _centered(rest[0])
    return _centered(t)


def sum_of_centered(e: Expr) -> Expr | None:
    """sum(a + c (v − mean(v))) = sum(a): the entries of a centered vector sum to 0 (layer
    norm's x − mean(x)), also times scalars c."""
    if not _is(e, "sum"):
        return None
    a = e.operands[0]
    if _sums_to_zero(a):
        return E.const(0)
    terms = a.operands if _is(a, "add") else (a,)
    rest = [t for t in terms if not _sums_to_zero(t)]
    if len(rest) == len(terms):
        return None
    return apply("sum", E.add(*rest)) if rest else E.const(0)


def diag_of_structured(e: Expr) -> Expr | None:
    """diag(a bᵀ) = a ⊙ b;  diag(diag(v)) = v;  diag(I) = 𝟙;  diag(c 𝟙𝟙ᵀ) = c 𝟙."""
    if not (_is(e, "diag") and e.shape.is_vector):
        return None
    M = e.operands[0]
    if _is(M, "matmul") and len(M.operands) == 2 and M.operands[0].shape.is_vector and \
            M.operands[1].shape.is_row:
        return E.mul(M.operands[0], E.transpose(M.operands[1]))
    if _is(M, "diag") and M.operands[0].shape.is_vector:
        return M.operands[0]
    if isinstance(M, Identity):
        return E.ones(e.shape)
    if isinstance(M, Const):                         # diag(c 𝟙𝟙ᵀ) = c 𝟙
        return Const(e.shape, value=M.value)
    return None


REWRITES = (diag_of_structured, step_selects, factor_common, transposes_after, inverse_of_inverse,
            inverse_of_product_cancels,
            transpose_of_sum, index_of_known,
            negate_into_sum, sum_is_linear, matmul_pairs, vec_of_row, sum_by_ones, sum_with_unit, entries_make_a_sum, sum_of_deviations,
            softmax_sums_to_one, scalars_out_of_products,
            transpose_of_product, transpose_of_kron, kron_of_vectors, sum_of_constant, reshaped_constant,
            unvec_of_elementwise, reshape_of_reshape,
            merge_terms, diag_is_linear, jdiag_of_scalar, rows_sum_to_one, product_cancels_quotient, sum_of_quotient,
            sum_of_centered, kron_absorbs_commutation, sum_of_literals)


def _rewrite_pass(e: Expr, rewrites=REWRITES, settled: set | None = None) -> Expr:
    """Each node, children first, rewritten until no rewrite applies.  ``settled`` holds the
    nodes found so in earlier passes (of the same rewrites, in the same ``simplify``): no
    rewrite applies to them again, so they are not tried (a rewrite depends only on the node)."""
    memo: dict[Expr, Expr] = {}
    for n in E.topological(e):
        if isinstance(n, Call):
            new_args = tuple(memo[a] for a in n.operands)
            m = n if new_args == n.operands else rebuild(n, new_args)
        else:
            m = n
        if not isinstance(m, Call) or (settled is not None and m in settled):
            memo[n] = m         # every rewrite is of an operation: none applies to a leaf
            continue
        for _ in range(50):
            for rw in rewrites:
                r = rw(m)
                if r is not None and r != m:
                    m = r
                    break
            else:
                if settled is not None:
                    settled.add(m)
                break
        else:
            STATS["unconverged"] += 1
        memo[n] = m
    return memo[e]


def unvec(result: Expr, f: Shape) -> Expr | None:
    """A matrix-by-scalar derivative is computed as vec(∂F/∂s), a column; this is the matrix
    ∂F/∂s in F's shape (``vec(M)`` → M, a row's column → the row), through scalar factors and
    sums, or None where the simplified column is not of that form."""
    if result.shape == f:
        return result
    if _is(result, "vec") and result.operands[0].shape == f:
        return result.operands[0]
    if f.is_row and result.shape == f.T:
        return E.transpose(result)
    if _is(result, "mul") or _is(result, "add"):
        scalars = [a for a in result.operands if a.shape.is_scalar]
        parts = [a for a in result.operands if not a.shape.is_scalar]
        if result.op == "mul" and len(parts) != 1:
            return None
        out = [unvec(a, f) for a in parts]
        if any(o is None for o in out):
            return None
        return E.mul(*scalars, *out) if result.op == "mul" else E.add(*scalars, *out)
    return None


def frozen(f: Expr) -> dict[Expr, int]:
    """The user's subexpressions, each with its position (children first, left to right):
    kept as written, and the order terms and factors print in."""
    return {n: i for i, n in enumerate(E.topological(f))}


def simplify(e: Expr, frozen: dict | frozenset = frozenset()) -> Expr:
    """Rewrites to a fixpoint, then scalar algebra; repeated until nothing changes; then a sign
    left in front is absorbed by a difference (``sign_into_difference``).  Subexpressions in
    ``frozen`` (the user's own) are kept exactly as written."""
    token = _KEEP.set(frozenset(frozen))
    settled: set = set()
    try:
        for _ in range(20):
            new = scalar_algebra(_rewrite_pass(e, settled=settled), frozen)
            if new == e:
                break
            e = new
        else:
            STATS["unconverged"] += 1   # rewrites that undo each other: a bug (tests watch)
        # once terms and factors are in their order: sum(xᵀ ⊙ zᵀ) = xᵀ z (so xᵀ z − xᵀ z = 0)
        dots = _rewrite_pass(e, (dot_of_rows, product_of_constants, index_of_known,
                                 sum_of_constant))
        if dots != e:
            e = scalar_algebra(dots, frozen)
    finally:
        _KEEP.reset(token)
    return sign_into_difference(e, frozen)


# the user's own subexpressions, while ``simplify`` runs (its rewrites take one argument)
_KEEP: contextvars.ContextVar = contextvars.ContextVar("keep", default=frozenset())


def sign_into_difference(e: Expr, frozen=frozenset()) -> Expr:
    """−c (y − z) = c (z − y), once the signs of a result have all come to the front (so two
    of them cancel first: (x − μ)ᵀ S⁻¹, not −(μ − x)ᵀ S⁻¹): in the result, or in each term of
    a sum that is the result."""
    token = _KEEP.set(frozenset(frozen))    # the user's x − y keeps its sign: −sum(x − y)
    try:
        if _is(e, "add"):
            terms = [negate_into_sum(t) or t for t in e.operands]
            out = E.add(*terms)
        else:
            out = negate_into_sum(e) or e
    finally:
        _KEEP.reset(token)
    return out if out == e else scalar_algebra(out, frozen)


STATS = {"unconverged": 0}


# ---------------------------------------------------------------------------------------------
# Scalar algebra by SymPy, with everything else opaque


_ALGEBRA = {"add", "mul", "div", "pow", "sqrt"}


def _algebraic(n: Expr) -> bool:
    """An element-wise ``+ ⊙ ⊘ ^`` whose operands have its shape or are scalars (scalar
    expansion): entry by entry this is ordinary commutative algebra, which SymPy can do."""
    if isinstance(n, Call) and n.op == "sqrt":
        # √u of an atom is u^(1/2), so x/(2√x) + √x is 3/2 √x; the root of a sum stays one
        # atom, which squares back to it: u² in (I − x xᵀ/(n u²))/u, u = √(mean(x²) + ε)
        return not _algebraic(n.operands[0]) and not isinstance(n.operands[0], Const)
    return isinstance(n, Call) and n.op in _ALGEBRA and all(
        a.shape == n.shape or a.shape.is_scalar for a in n.operands)


class _Atoms:
    """Opaque symbols for the non-algebraic scalar subexpressions, in order of appearance."""

    def __init__(self, order=None):
        self.order = order if isinstance(order, dict) else {}
        self.by_node: dict[Expr, sympy.Symbol] = {}
        self.node_of: dict[sympy.Symbol, Expr] = {}
        self.rank: dict[sympy.Symbol, tuple] = {}
        self._sums: dict | None = None

    def users_sum(self, e: Expr) -> Expr:
        """The user's own sum of the same terms as ``e`` in the user's order, else ``e``."""
        if self._sums is None:
            self._sums = {}
            for n in self.order:
                if _is(n, "add"):
                    self._sums.setdefault(_terms_key(n), n)
        mine = self._sums.get(_terms_key(e))
        if mine is None or len(mine.operands) != len(e.operands):
            return e
        rest = list(e.operands)
        for t in mine.operands:          # the same terms, not only the same hashes
            if t not in rest:
                return e
            rest.remove(t)
        return mine

    def symbol(self, node: Expr) -> sympy.Symbol:
        s = self.by_node.get(node)
        if s is None:
            s = sympy.Dummy(node.name if isinstance(node, Var) else "u", real=True)
            self.by_node[node] = s
            self.node_of[s] = node
            # polynomial-like atoms (variables) before function values, as textbooks print
            pos = self.order.get(node, 10**6 + len(self.rank))
            self.rank[s] = (0 if isinstance(node, Var) else 1, pos)
        return s


def _terms_key(e: Expr) -> tuple:
    return (e.shape, tuple(sorted(hash(t) for t in e.operands)))


def _to_sympy(e: Expr, atoms: _Atoms) -> sympy.Expr:
    """``e`` as SymPy, descending only through scalar ``+ ⊙ ⊘ ^``; anything else is an atom."""
    memo: dict[Expr, sympy.Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        n, ready = stack.pop()
        if n in memo:
            continue
        if isinstance(n, Const):
            memo[n] = n.value
        elif not _algebraic(n) or (n.op == "pow" and all(
                isinstance(a, Const) for a in n.operands) and not E.foldable_power(
                n.operands[0].value, n.operands[1].value)):
            memo[n] = atoms.symbol(n)       # (a number too large to compute: an atom)
        elif not ready:
            stack.append((n, True))
            stack.extend((a, False) for a in reversed(n.operands))
        else:
            a = [memo[x] for x in n.operands]
            if n.op == "add":
                memo[n] = sympy.Add(*a)
            elif n.op == "mul":
                memo[n] = sympy.Mul(*a)
            elif n.op == "div":
                memo[n] = a[0] / a[1]
            elif n.op == "sqrt":
                memo[n] = sympy.sqrt(a[0])
            else:
                memo[n] = a[0] ** a[1]
    return memo[e]


def _from_sympy(s: sympy.Expr, atoms: _Atoms, flip: bool = True) -> Expr:
    if s.is_Number or not (s.free_symbols & atoms.node_of.keys()):
        return E.const(s)    # a number, or one made of dimensions (1/N)
    if s in atoms.node_of:
        return atoms.node_of[s]
    if s.is_Add:
        # the user's order, positive terms first: w·x + b − y; a number last after polynomial
        # terms (2x + 1) but first before function values (1 + tan(x)², 1 − σ(x))
        # (a size such as n, or 1/n, counts as a number: n + cos(y), 2y + n)
        numeric = [not (t.free_symbols & atoms.rank.keys()) for t in s.args]
        poly = any(_factor_rank(t, atoms)[0] == 0 for t, c in zip(s.args, numeric) if not c)
        last = 10**9 if poly else -1
        terms = [t for t, _ in sorted(
            zip(s.args, numeric), key=lambda tc: (_is_negative(tc[0]), last if tc[1] else
                                                  _appearance(tc[0], atoms)))]
        out = E.add(*(_from_sympy(t, atoms) for t in terms))
        if flip and out not in atoms.order and len(s.args) == 2:
            # SymPy writes −(x − a) as a − x; the user's own x − a reads better: −(x − a)
            flipped = _from_sympy(-s, atoms, flip=False)
            if flipped in atoms.order:
                return E.neg(flipped)
        if _is(out, "add") and out not in atoms.order:
            return atoms.users_sum(out)       # the user's 1 + x², not SymPy's x² + 1
        return out
    if s.is_Mul or s.is_Pow:
        coeff, factors = s.as_coeff_mul()
        # irrational numbers join the coefficient: 2/√π exp(−x²), not 2 exp(−x²)/√π
        coeff *= sympy.Mul(*(f for f in factors if f.is_number))
        factors = [f for f in factors if not f.is_number]
        num, den = [], []
        for f in factors:
            b, ex = f.as_base_exp()
            if ex.is_number and ex < 0:
                den.append(b ** (-ex))
            else:
                num.append(f)
        num, den = _ordered(num, atoms), _ordered(den, atoms)
        sign = -1 if coeff < 0 else 1
        coeff = abs(coeff)
        p, q = (coeff.p, coeff.q) if coeff.is_Rational else (coeff, 1)
        top = E.mul(E.const(p), *(_factor(f, atoms) for f in num))
        bottom = E.mul(E.const(q), *(_factor(f, atoms) for f in den))
        out = E.div(top, bottom) if (den or q != 1) else top
        return E.neg(out) if sign < 0 else out
    op = _FROM_SYMPY_FUNCTION.get(s.func)
    if op is not None and len(s.args) == 1:     # SymPy made a function of an atom: |u|, exp(u)
        return apply(op, _from_sympy(s.args[0], atoms))
    raise ValueError(f"internal: unexpected SymPy form {s!r}")


# SymPy's function classes back to the table's element-wise entries (SymPy writes (u⁻²)^1.5
# as |u|⁻³ for a real u, and so on)
_FROM_SYMPY_FUNCTION = {rule.sympy: name for name, rule in RULES.items()
                        if rule.family == "elementwise" and isinstance(rule.sympy, type)}


def _factor(f: sympy.Expr, atoms: _Atoms) -> Expr:
    if f.is_Pow:
        b, ex = f.as_base_exp()
        base = _from_sympy(b, atoms)
        if ex == sympy.Rational(1, 2):
            return apply("sqrt", base)
        # a variable exponent (x^(y − 1)) comes back as an expression, not as a constant
        return E.power(base, _from_sympy(ex, atoms) if ex.free_symbols else E.const(ex))
    return _from_sympy(f, atoms)


def _is_negative(t: sympy.Expr) -> bool:
    return t.could_extract_minus_sign()


def _appearance(t: sympy.Expr, atoms: _Atoms):
    """Where the first atom of a term appeared (a term without atoms counts as a number)."""
    return min(atoms.rank[s][1] for s in t.free_symbols if s in atoms.rank)


def _factor_rank(t: sympy.Expr, atoms: _Atoms):
    """Polynomial factors (of variables only) before function values, as textbooks print:
    (2x + 1) cos(x + x²), 6x² cos(x³); then in order of appearance."""
    ranks = [atoms.rank[s] for s in t.free_symbols if s in atoms.rank]
    poly = all(r[0] == 0 for r in ranks)
    return (0 if poly else 1, min((r[1] for r in ranks), default=10**9))


def _ordered(factors: list, atoms: _Atoms) -> list:
    """Factors in print order (``_factor_rank``); ties, the simpler first: σ ⊙ (1 − σ)."""
    keyed = sorted(((_factor_rank(t, atoms), i, t) for i, t in enumerate(factors)),
                   key=lambda k: (k[0], k[1]))
    out = []
    for _, group in itertools.groupby(keyed, key=lambda k: k[0]):
        tied = [t for _, _, t in group]
        if len(tied) > 1:
            tied.sort(key=lambda t: (sympy.count_ops(t), sympy.default_sort_key(t)))
        out += tied
    return out


def scalar_algebra(e: Expr, frozen=frozenset()) -> Expr:
    """Every maximal element-wise algebraic subexpression (``+ ⊙ ⊘ ^`` of operands of one shape
    and scalars) goes through SymPy, entry by entry, with everything else as opaque symbols, and
    comes back factored: ``2(z − y)``, ``6x² cos(x³)/sin(x³)``, ``(y ⊘ s) ⊙ s = y``,
    ``2‖v‖ (v/‖v‖) = 2v``."""
    nodes = E.topological(e)
    inside: set[Expr] = set()     # nodes that some algebraic parent takes into its own SymPy form
    outside: set[Expr] = {e}      # nodes used by a non-algebraic parent (or the root)
    for n in nodes:
        (inside if _algebraic(n) else outside).update(n.args)
    memo: dict[Expr, Expr] = {}
    for n in nodes:
        if n in frozen:
            memo[n] = n
            continue
        if isinstance(n, Call):
            args = tuple(memo[a] for a in n.operands)
            m = n if args == n.operands else rebuild(n, args)
        else:
            m = n
        if _algebraic(m) and (n in outside or n not in inside):
            m = _simplify_algebra(m, frozen)
        memo[n] = m
    return memo[e]


# SymPy is the costly part of simplifying, and the same algebraic subexpressions come back to it:
# on the pass that confirms the fixpoint, in both branches of a piecewise result, in every
# derivative of one expression.  A result depends only on the node and on the positions (in
# ``frozen``) of its atoms, which order terms and factors; both make the memo's key.  A result
# is also recorded as its own normal form (factor_terms is idempotent on matcalc's output; the
# whole test suite checks that), so the confirming pass costs no SymPy call.
_SCALAR_MEMO: dict = {}
_MEMO_LIMIT = 20_000


def clear_caches() -> None:
    """Forget memoised simplifications, and the remembered orders of large expressions
    (benchmarks clear them to time cold work; mutation runs before every test, so a mutant
    cannot answer from the unmutated code's memo)."""
    _SCALAR_MEMO.clear()
    _COUNTS.clear()
    _FLIPS.clear()
    E.forget_orders()


ALGEBRA_LIMIT = 400   # nodes: a larger algebraic expression is left as it is


def _simplify_algebra(e: Expr, frozen) -> Expr:
    """``e`` through SymPy and back (memoised).  Very large expressions (a product of thousands
    of factors from exp(exp(…))) are left alone: SymPy's canonical ordering would make the cost
    grow faster than the expression."""
    order = frozen if isinstance(frozen, dict) else {}
    if _size_up_to_algebraic(e, ALGEBRA_LIMIT) >= ALGEBRA_LIMIT:
        return _terms_in_users_order(e, order)
    key = (e, _atom_positions(e, order))
    out = _SCALAR_MEMO.get(key)
    if out is None:
        atoms = _Atoms(frozen)
        s = _to_sympy(e, atoms)
        if _tree_size(s, TREE_LIMIT) >= TREE_LIMIT:
            return _terms_in_users_order(e, order)
        if any(not p.exp.is_number for p in s.atoms(sympy.Pow)):
            s = sympy.powsimp(s, combine="exp")     # x x^(x − 1) = x^x, as for numbers
        s = _logistic(_factored(s), atoms)
        out = E.expand_to(_from_sympy(s, atoms), e.shape)
        if len(_SCALAR_MEMO) >= _MEMO_LIMIT:
            _SCALAR_MEMO.clear()
        _SCALAR_MEMO[key] = out
        _SCALAR_MEMO[(out, _atom_positions(out, order))] = out
    return out


def _terms_in_users_order(e: Expr, order: dict) -> Expr:
    """A sum too large for SymPy with its terms in the order of the text, as SymPy's round
    trip would give (reverse mode meets the last use first: a1 + … + a1000, not a1000 + …):
    a term by its own position, else by the positions of its operands."""
    if not _is(e, "add") or not order:
        return e
    def key(t):
        if t in order:
            return (order[t],)
        known = sorted(order[a] for a in t.args if a in order)
        return tuple(known) or (len(order),)
    terms = sorted(e.operands, key=key)
    return e if list(terms) == list(e.operands) else E.add(*terms)


TREE_LIMIT = 4_000   # SymPy nodes, counted as a tree: SymPy's rewrites walk trees


def _tree_size(s: sympy.Basic, limit: int) -> int:
    """The number of nodes of ``s`` as a tree, up to ``limit``, in time linear in its distinct
    subexpressions.  ``e`` can be small as a graph and exponential as a tree (s₁₄ = sin(s₁₃) +
    cos(s₁₃), …, written with "where"), and SymPy's ``factor_terms`` walks the tree."""
    sizes: dict = {}
    stack = [(s, False)]
    while stack:
        n, ready = stack.pop()
        if n in sizes:
            continue
        if ready:
            sizes[n] = min(limit, 1 + sum(sizes[a] for a in n.args))
        else:
            stack.append((n, True))
            stack.extend((a, False) for a in n.args if a not in sizes)
    return sizes[s]


def _size_up_to_algebraic(e: Expr, limit: int) -> int:
    """The number of nodes SymPy would see for ``e`` (through ``+ ⊙ ⊘ ^``), up to ``limit``."""
    seen: set[Expr] = set()
    stack = [e]
    while stack and len(seen) < limit:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if _algebraic(n):
            stack.extend(n.operands)
    return len(seen)


def _factored(s: sympy.Expr) -> sympy.Expr:
    """Common factors out (``factor_terms``), or a full factorisation when it is shorter:
    (1 − u)² + u (u − 1) = (u − 1)(2u − 1).  Full factorisation is tried on small
    expressions only (its cost grows fast)."""
    a = sympy.factor_terms(s)
    if _fraction_of_integer_sum(a):
        return sympy.expand(s)    # 1/100 + 99/100 step(x), not 1/100 (1 + 99 step(x))
    if not _has_power_of_sum_in_sum(a):
        return a                  # nothing factor() could shorten that factor_terms did not
    ops = sympy.count_ops(a)
    if 3 <= ops <= 40:
        b = sympy.factor(a)
        if sympy.count_ops(b) < ops:
            return b
    return a


def _fraction_of_integer_sum(s: sympy.Expr) -> bool:
    """c (a + k b) with a number c that is not an integer and an integer k ≠ ±1: SymPy took a
    rational content out of a sum whose terms read better with their own coefficients."""
    if not s.is_Mul:
        return False
    coeff, rest = s.as_coeff_Mul()
    if not (coeff.is_Rational and not coeff.is_Integer and rest.is_Add):
        return False
    return any(abs(t.as_coeff_Mul()[0]) != 1 for t in rest.args)


def _has_power_of_sum_in_sum(s: sympy.Expr) -> bool:
    """A sum with a power of a sum among its terms' factors, ((1 − u)² + u (u − 1)): the shape
    that full factorisation can shorten."""
    for node in sympy.preorder_traversal(s):
        if node.is_Add and any(f.is_Pow and f.base.is_Add for t in node.args
                               for f in sympy.Mul.make_args(t)):
            return True
    return False


def _logistic(s: sympy.Expr, atoms: _Atoms) -> sympy.Expr:
    """eᵃ/(1 + eᵃ) = σ(a) and 1/(1 + eᵃ) = σ(−a): the logistic function, as textbooks print
    the derivatives of log(1 + eᵃ) and friends."""

    if not any(_is(node, "exp") for node in atoms.node_of.values()):
        return s                  # no eᵃ among the atoms: nothing to rewrite

    def exp_argument(u):
        node = atoms.node_of.get(u)
        return node.operands[0] if _is(node, "exp") else None

    def rewrite(m):
        """eʲᵃ/(1 + eᵃ)ᵏ = σ(a)ʲ σ(−a)ᵏ⁻ʲ for 0 ≤ j ≤ k."""
        factors = list(m.args) if m.is_Mul else [m]
        for i, f in enumerate(factors):
            if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add and
                    len(f.base.args) == 2 and sympy.Integer(1) in f.base.args):
                continue
            u = next(t for t in f.base.args if t != 1)
            a = exp_argument(u) if u.is_Symbol else None
            if a is None:
                continue
            k = -f.exp
            rest = factors[:i] + factors[i + 1:]
            powers = [g.as_base_exp()[1] for g in rest if g.as_base_exp()[0] == u]
            j = min(k, powers[0]) if powers and powers[0].is_Integer and powers[0] > 0 else 0
            if j:
                rest = [g for g in rest if g.as_base_exp()[0] != u] + [u**(powers[0] - j)]
            return sympy.Mul(*rest, atoms.symbol(apply("sigmoid", a))**j,
                             atoms.symbol(apply("sigmoid", E.neg(a)))**(k - j))
        return m

    # products first, so eᵃ and 1/(1 + eᵃ) meet before the quotient alone is rewritten
    return s.replace(lambda x: x.is_Mul, rewrite).replace(lambda x: x.is_Pow, rewrite)


def _atom_positions(e: Expr, order: dict) -> tuple:
    """The positions in ``order`` of ``e``'s atoms, in the order ``_to_sympy`` meets them."""
    out = []
    seen: set[Expr] = set()
    stack = [e]
    while stack:
        n = stack.pop()
        if n in seen or isinstance(n, Const):
            continue
        seen.add(n)
        if _algebraic(n):
            stack.extend(reversed(n.operands))
        else:
            out.append(order.get(n))
    return tuple(out)

