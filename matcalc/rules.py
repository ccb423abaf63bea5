"""THE rule table: everything matcalc knows about each operation, one entry per operation.

An entry holds the operation's shape rule, its local partial Jacobians (numerator layout, in the
paper's structured forms: ``diag``, ``I``, ``𝟙``, transposes, Kronecker products), how it prints,
its NumPy form, the paper section it encodes and, for tests, its domain.  Entries are built by
family constructors named after the paper's rule families, which supply the generic Jacobian
(diagonal, scalar expansion, row of ones); an entry gives only what is particular to it.

Conventions.  Every Jacobian has one row per entry of the output and one column per entry of the
argument; matrices enter through ``vec`` (column-major), so the Jacobian of ``W@x`` w.r.t. ``W``
is ``xᵀ ⊗ I``.  A scalar-by-matrix gradient is carried as ``vec(G)ᵀ`` (op ``vecT``).
Kinks follow the paper: ``relu′(0) = 0``, ``step(0) = 0``, ``sign(0) = 0``, and ``max(a, b)``
sends a tie to ``a`` only, so ``max(x, x)`` still has derivative ``I``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import sympy

from . import expr as E
from .errors import ShapeError, UnsupportedError
from .expr import Call, Expr
from .lazy import lazy_module
from .shapes import ONE, SCALAR, Shape, as_matrix, dim, matmul_shape

np = lazy_module("numpy")  # the NumPy forms run only when evaluating (start-up: lazy.py)

# Inference kinds (how infer.py constrains shapes):
#   "map"      out = arg (element-wise unary)          "map2"   element-wise binary, broadcasting
#   "reduce"   non-scalar -> scalar                      "matmul" "dot" "T" "stack"
#   "square"   square matrix -> scalar                   "inv"    square -> same square
#   "vec2vec"  vector -> same vector                     "vec2scalar" vector -> scalar
#   "diag"     vector -> square matrix (or matrix -> vector)  "internal": never typed by a user


@dataclass(frozen=True)
class StepRule:
    """How the step-by-step view (``steps.py``) presents an operation, as the paper's worked
    examples do.  Data only: the Jacobians themselves are the entry's ``partials``."""

    linear: str = ""        # "all": linear in every argument (+); "one": linear in each argument
    #                         when only one depends on the variable (⊙, ·, @).  Linear operations
    #                         on the variable form one affine step, z = w·x + b (§8)
    expand: Callable | None = None  # (*args) -> Expr: the paper's rewriting when the operation is
    #                                 the whole function: w·x = sum(w ⊗ x), so u = w ⊗ x (§5)
    absorbs: bool = False   # a reduction takes an element-wise function of one argument into its
    #                         step: sum(f(x)) (§5), C(v) = 1/N Σ v² (§9)
    layers: bool = False    # a vector of functions, differentiated as y = f(g(x)) (§6)
    scalar: dict = field(default_factory=dict)  # rule name per argument ("*": all) when every
    #                                             value is a scalar: "power rule (§1)"


@dataclass(frozen=True)
class Rule:
    """One operation.  ``code`` is its NumPy spelling in generated source (``codegen.py``): a
    template over the operands' names ``{0}``, ``{1}``, … or a function ``(args, node, ctx)``
    of those names, the node (for shapes and params) and the generator's context (``ctx.dim``
    prints a dimension, ``ctx.dims`` a shape).  In generated code a vector and a row are both
    1-D arrays (so transposing a vector costs nothing), a matrix is 2-D, a scalar a NumPy
    scalar."""

    name: str
    family: str
    arity: tuple[int, int]
    infer: str
    shape: Callable[..., Shape]                     # (arg shapes, params) -> out shape
    partials: Callable[..., tuple] | None = None    # (y, args, params) -> Jacobian per arg
    vjp: Callable[..., tuple] | None = None         # (g, y, args, params) -> adjoint per arg
    jvp: Callable | None = None                     # (y, args, arg Jacobians) -> Jacobian
    numpy: Callable | None = None                   # (*arrays, *params) -> array (evaluate)
    code: str | Callable | None = None              # NumPy source text (generated code)
    sympy: Callable | None = None                   # scalar SymPy function (element-wise entries)
    text: str = ""                                  # printed name or operator
    latex: str = ""
    fixity: str = "func"                            # func | infix | prefix | postfix | special
    prec: int = 100
    section: str = ""                               # the paper section (or source) it encodes
    steps: StepRule = StepRule()                    # how steps.py presents it
    domain: tuple[float, float] = (-2.0, 2.0)       # where the tests sample it
    doc: str = ""
    jacobian_doc: dict = field(default_factory=dict)  # rule names per argument, for steps
    name_hint: str = "u"                            # letter for a named intermediate value
    left: Callable | None = None   # (g, P, y_shape, a_shape, vjp): vec(g)ᵀ P, P a Jacobian of
    #                                this kind, in a's shape, without forming P (reverse mode)


RULES: dict[str, Rule] = {}
ALIASES = {"ln": "log", "tr": "trace", "transpose": "T"}


def _register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name} registered twice")
    RULES[rule.name] = rule
    return rule


# ---------------------------------------------------------------------------------------------
# Building nodes through the table


def apply(op: str, *args: Expr, params: tuple = (), span=None) -> Expr:
    """The node ``op(args)`` with its shape from the table; constant arguments of element-wise
    functions fold (exp(0) = 1)."""
    rule = RULES[op]
    shape = rule.shape([a.shape for a in args], params)
    if rule.family == "elementwise" and isinstance(args[0], E.Const) and rule.sympy is not None:
        value = rule.sympy(args[0].value)
        if value.is_number and value.is_rational:
            return E.Const(shape, value=value)
    return E.Call(shape, op=op, operands=tuple(args), params=tuple(params), span=span)


def rule_for(node: Expr) -> Rule:
    """The rule of ``node``; the one place a missing rule is reported."""
    op = node.op if isinstance(node, Call) else type(node).__name__
    rule = RULES.get(op)
    if rule is None:
        raise UnsupportedError(f"no rule for {op}")
    return rule


# ---------------------------------------------------------------------------------------------
# Generic Jacobian pieces (the paper's structured matrices)


def jdiag(d: Expr, arg_shape: Shape) -> Expr:
    """Jacobian of an element-wise map with local derivative ``d``: ``diag(d)`` (paper §3, §7);
    ``c I`` when ``d`` is a scalar ``c``; just ``d`` for scalar arguments."""
    if arg_shape.is_scalar:
        return d
    n = arg_shape.size
    if d.shape.is_scalar:
        return E.mul(d, E.identity(n))
    return E.call("jdiag", [d], Shape((n, n)))


def column(d: Expr, out_shape: Shape) -> Expr:
    """Jacobian of an output of ``out_shape`` w.r.t. a scalar: the column ``vec(d)`` (paper §4:
    ∂(x + z)/∂z = 𝟙, ∂(x z)/∂z = x)."""
    d = E.expand_to(d, out_shape)
    if out_shape.is_matrix:
        return vec(d)
    return d


def grad_row(g: Expr) -> Expr:
    """Jacobian of a scalar w.r.t. an argument, given the gradient ``g`` in the argument's shape:
    ``gᵀ`` for a vector, ``vec(G)ᵀ`` for a matrix."""
    if g.shape.is_scalar:
        return g
    if g.shape.is_vector:
        return E.transpose(g)
    return E.call("vecT", [g], Shape((ONE, g.shape.size)))


def vec(g: Expr) -> Expr:
    if not g.shape.is_matrix:
        return g
    if isinstance(g, E.Const):
        return E.Const(Shape((g.shape.size,)), value=g.value)
    return E.call("vec", [g], Shape((g.shape.size,)))


def as_shape(g: Expr, shape: Shape) -> Expr:
    """``g`` read in ``shape``: the same entries (a vector and its transpose, or vec)."""
    if g.shape == shape:
        return g
    if g.shape.T == shape:
        return E.transpose(g)
    if isinstance(g, E.Const):
        return E.Const(shape, value=g.value)
    if g.shape.size == shape.size and (shape.is_vector or ONE in (shape.rows, shape.cols)):
        # an n×1 (or 1×n) matrix and a vector hold the same entries in the same order
        v = E.transpose(g) if g.shape.is_row else g
        return v if v.shape == shape else E.call("reshape", [v], shape)
    raise UnsupportedError(f"internal: cannot read a {g.shape} adjoint as {shape}")


# Left products vec(g)ᵀ P with a structured Jacobian P, for reverse mode (``Rule.left``); each
# states its identity.  ``vjp`` is the generic product, for the parts of a compound P.

def _left_sum(g, P, y_shape, a_shape, vjp):
    """gᵀ (P₁ + P₂) = gᵀ P₁ + gᵀ P₂, where a scalar term of a vector or matrix P stands for
    that scalar in every entry (scalar expansion: P − a is P − a 𝟙𝟙ᵀ, not P − a I)."""
    return E.add(*(vjp(g, E.expand_to(t, P.shape), y_shape, a_shape) for t in P.operands))


def _left_scaled(g, P, y_shape, a_shape, vjp):
    """gᵀ (c P) = c gᵀ P for scalars c."""
    scalars = [f for f in P.operands if f.shape.is_scalar]
    rest = [f for f in P.operands if not f.shape.is_scalar]
    if scalars and len(rest) == 1:
        return E.mul(*scalars, vjp(g, rest[0], y_shape, a_shape))
    return None


def _left_diag(g, P, y_shape, a_shape, vjp):
    """gᵀ diag(d) = (g ⊙ d)ᵀ."""
    return as_shape(E.mul(g, P.operands[0]), a_shape)


def _left_kron(g, P, y_shape, a_shape, vjp):
    """(Bᵀ ⊗ A) vec(X) = vec(A X B), so vec(g)ᵀ (Bᵀ ⊗ A) = vec(Aᵀ g Bᵀ)ᵀ."""
    b_t, a = P.operands
    if g.shape.is_scalar:
        return as_shape(E.mul(g, E.matmul(E.transpose(a), b_t)), a_shape)
    return as_shape(E.matmul(E.transpose(a), g, b_t), a_shape)


def _left_commutation(g, P, y_shape, a_shape, vjp):
    """vec(g)ᵀ K = vec(gᵀ)ᵀ."""
    return as_shape(E.transpose(g), a_shape)


def _left_gradient_row(g, P, y_shape, a_shape, vjp):
    """A scalar result, a matrix argument: P = vec(G)ᵀ, so g P is g G."""
    return E.mul(g, P.operands[0])


def _left_column(g, P, y_shape, a_shape, vjp):
    """A matrix result, a scalar argument: P = vec(D), so vec(g)ᵀ P = ⟨g, D⟩ = sum(g ⊙ D)."""
    return apply("sum", E.mul(g, P.operands[0]))


def _left_unit(g, P, y_shape, a_shape, vjp):
    """gᵀ eᵢ = gᵢ: an entry of a vector literal."""
    return E.call("index", [g], SCALAR, params=(P.params[0],))


def kron(a: Expr, b: Expr) -> Expr:
    """``a ⊗ b`` (Kronecker product); ``1 ⊗ b = b``, ``a ⊗ 1 = a``; scalar factors come out:
    a ⊗ (c B) = c (a ⊗ B)."""
    if a.shape.is_scalar or b.shape.is_scalar:
        return E.mul(a, b)
    scalars = []
    parts = []
    for x in (a, b):
        if isinstance(x, Call) and x.op == "mul" and any(f.shape.is_scalar for f in x.operands):
            scalars += [f for f in x.operands if f.shape.is_scalar]
            x = E.mul(*[f for f in x.operands if not f.shape.is_scalar])
        parts.append(x)
    a, b = parts
    (ra, ca), (rb, cb) = (a.shape.rows, a.shape.cols), (b.shape.rows, b.shape.cols)
    shape = Shape((ra * rb, ca * cb)) if (ca * cb) != ONE else Shape((ra * rb,))
    core = E.call("kron", [a, b], shape)
    return E.mul(*scalars, core) if scalars else core


def _elementwise_args(op: str):
    def shape(shapes, params):
        out = SCALAR
        for s in shapes:
            b = E.broadcast(out, s)
            if b is None:
                raise ShapeError(f"{op}: shapes {out} and {s} do not match (element-wise "
                                 "operands need equal shapes, or one scalar)")
            out = b
        return out
    return shape


def _same(shapes, params):
    return shapes[0]


# ---------------------------------------------------------------------------------------------
# Families


def elementwise(name, derivative, numpy, sympy_fn, *, code=None, text=None, latex=None,
                section="§7", domain=(-2.0, 2.0), doc=""):
    """A scalar function applied entry by entry (paper §7): Jacobian ``diag(f′(x))``.
    ``derivative(y, x)`` gives f′ as an expression, seeing the output ``y`` too.  ``numpy`` is
    the name of a NumPy ufunc (its code is then ``np.name(x)``) or a function with its ``code``."""
    if isinstance(numpy, str):
        code = code or f"np.{numpy}({{0}})"
        numpy = _ufunc(numpy)

    def partials(y, args, params):
        return (jdiag(derivative(y, args[0]), args[0].shape),)

    return _register(Rule(name, "elementwise", (1, 1), "map", _same, partials,
                          numpy=_np_or_obj(numpy, sympy_fn), code=code, sympy=sympy_fn,
                          text=text or name,
                          latex=latex or rf"\operatorname{{{name}}}", section=section,
                          domain=domain, doc=doc,
                          jacobian_doc={0: f"element-wise {name}: diagonal Jacobian "
                                           f"diag({name}′)"}))


def elementwise2(name, da, db, numpy, *, code=None, text, latex, fixity="func", prec=100,
                 section="§3", sympy_fn=None, doc=""):
    """An element-wise binary operator with scalar expansion (paper §3, §4).  ``da(y, a, b)`` and
    ``db(y, a, b)`` are the local derivatives; the Jacobian w.r.t. an argument of the output's
    shape is ``diag(·)`` (the element-wise diagonal condition holds), w.r.t. an expanded scalar
    it is the column of local derivatives."""

    def partials(y, args, params):
        out = []
        for d, a in zip((da, db), args):
            local = d(y, *args)
            if a.shape == y.shape:
                out.append(jdiag(local, a.shape))
            else:  # scalar expansion: a is a scalar, y is not
                out.append(column(local, y.shape))
        return tuple(out)

    return _register(Rule(name, "elementwise2", (2, 2), "map2", _elementwise_args(text),
                          partials, numpy=numpy, code=code, sympy=sympy_fn, text=text,
                          latex=latex, fixity=fixity, prec=prec, section=section, doc=doc,
                          jacobian_doc={0: f"element-wise {text}, diagonal condition holds",
                                        1: f"element-wise {text}, diagonal condition holds"}))


def nary(name, numpy, *, code=None, text, latex, prec, section, doc="", name_hint="u"):
    """n-ary ``+`` and ``⊙`` (flattened by the smart constructors): each argument's partial is
    that of the binary operator with the other arguments' sum/product as partner."""
    if name == "add":
        def partials(y, args, params):
            return tuple(jdiag(E.const(1), a.shape) if a.shape == y.shape else
                         column(E.const(1), y.shape) for a in args)
    else:
        def partials(y, args, params):
            out = []
            for i, a in enumerate(args):
                others = E.mul(*(b for j, b in enumerate(args) if j != i)) \
                    if len(args) > 1 else E.const(1)
                if a.shape == y.shape:
                    out.append(jdiag(others, a.shape))
                else:
                    out.append(column(others, y.shape))
            return tuple(out)
    return _register(Rule(name, "elementwise2", (2, 10**9), "map2", _elementwise_args(text),
                          partials, numpy=numpy, code=code, text=text, latex=latex,
                          fixity="infix", prec=prec, section=section, doc=doc,
                          name_hint=name_hint,
                          left=_left_sum if name == "add" else _left_scaled,
                          jacobian_doc={"*": f"element-wise {text}, diagonal condition holds"}))


def reduction(name, gradient, numpy, *, code=None, section="§5", arity=(1, 1), infer="reduce",
              doc="", text=None, latex=None):
    """A function to a scalar (paper §5: sum, and the dot product's y = sum(u)): its Jacobian is
    the row ``gᵀ`` with ``gradient(y, x, params)`` in the shape of ``x``."""

    def shape(shapes, params):
        s = shapes[0]
        if infer == "vec2scalar" and not s.is_vector:
            raise ShapeError(f"{name} takes a vector, not {s}")
        if infer == "square" and not s.is_square:
            raise ShapeError(f"{name} takes a square matrix, not {s}")
        return SCALAR

    def partials(y, args, params):
        return (grad_row(gradient(y, args[0], params)),)

    return _register(Rule(name, "reduction", arity, infer, shape, partials, numpy=numpy,
                          code=code, text=text or name,
                          latex=latex or rf"\operatorname{{{name}}}",
                          section=section, doc=doc,
                          jacobian_doc={0: f"{name}: a row, the gradient of {name}"}))


def linear(name, partial, vjp, numpy, *, code=None, shape, infer, text, latex, fixity, prec=100,
           section="§2", doc=""):
    """A linear map: its Jacobian does not depend on the argument's value."""
    return _register(Rule(name, "linear", (1, 1), infer, shape,
                          lambda y, args, params: (partial(y, args[0], params),),
                          vjp=vjp, numpy=numpy, code=code, text=text, latex=latex, fixity=fixity,
                          prec=prec, section=section, doc=doc,
                          jacobian_doc={0: f"{name} is linear"}))


def bilinear(name, pa, pb, numpy, *, code=None, shape, infer, text, latex, fixity, prec, section,
             doc=""):
    """A bilinear map (matrix product, dot product): ∂(ab)/∂a uses b and vice versa."""
    return _register(Rule(name, "bilinear", (2, 2), infer, shape,
                          lambda y, args, params: (pa(*args), pb(*args)), numpy=numpy,
                          code=code, text=text, latex=latex, fixity=fixity, prec=prec,
                          section=section, doc=doc,
                          jacobian_doc={0: f"{name} is bilinear", 1: f"{name} is bilinear"}))


def internal(name, shape, numpy, *, code=None, text, latex="", fixity="special", partials=None,
             left=None):
    """Structured matrices that appear in derivatives (``diag``, ``⊗``, ``vec``, ``step``);
    ``left`` multiplies an adjoint by one without forming it."""
    return _register(Rule(name, "internal", (0, 10**9), "internal", shape, partials,
                          numpy=numpy, code=code, text=text, latex=latex, fixity=fixity,
                          left=left))


# ---------------------------------------------------------------------------------------------
# Helpers for the NumPy forms


def _ufunc(name):
    """The NumPy ufunc ``np.<name>``, looked up when first called (NumPy loads lazily)."""
    def run(x):
        return getattr(np, name)(x)
    return run


def _vectorize(fn):
    """A SymPy scalar function applied entry by entry to an object array (for checks)."""
    return np.vectorize(fn, otypes=[object])


def _np_or_obj(np_fn, sp_fn):
    def run(x):
        x = np.asarray(x)
        if x.dtype == object:
            return _vectorize(sp_fn)(x)
        return np_fn(x)
    return run


def _sigmoid(x):
    e = np.exp(-np.abs(x))                      # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    return np.logaddexp(0, x)


def _step(x):
    return (np.asarray(x) > 0).astype(float)


def _sp_sigmoid(x):
    return 1 / (1 + sympy.exp(-x))


def _sp_step(x):
    return sympy.Piecewise((1, x > 0), (0, True)) if not x.is_number else \
        sympy.Integer(1 if x > 0 else 0)


def _sp_relu(x):
    return sympy.Max(0, x)


def _sp_softplus(x):
    return sympy.log(1 + sympy.exp(x))


def _max(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return np.vectorize(sympy.Max, otypes=[object])(a, b)
    return np.maximum(a, b)


def _min(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return np.vectorize(sympy.Min, otypes=[object])(a, b)
    return np.minimum(a, b)


def _obj(np_fn, sp_matrix_fn):
    """A matrix function: NumPy for numbers, a SymPy Matrix method for object arrays."""
    def run(x):
        x = np.asarray(x)
        if x.dtype == object:
            return sp_matrix_fn(sympy.Matrix(x))
        return np_fn(x)
    return run


def _as_array(m):
    return np.array(m.tolist(), dtype=object)


def _softmax(x):
    x = np.asarray(x)
    if x.dtype == object:
        e = np.array([sympy.exp(v) for v in x], dtype=object)
        return e / sum(e)
    e = np.exp(x - x.max())
    return e / e.sum()


def _logsumexp(x):
    x = np.asarray(x)
    if x.dtype == object:
        return sympy.log(sum(sympy.exp(v) for v in x))
    m = x.max()
    return m + np.log(np.exp(x - m).sum())


def _norm(x, p=2):
    x = np.asarray(x)
    if x.dtype == object:
        if p == 1:
            return sum(sympy.Abs(v) for v in x.ravel())
        return sympy.sqrt(sum(v**2 for v in x.ravel()))
    return np.abs(x).sum() if p == 1 else np.sqrt((x * x).sum())


def _matmul(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = _matmul2(out, x)
    return out


def _matmul2(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim == 1:
        a = a[:, None]
    out = a @ b
    if out.ndim == 2 and out.shape[1] == 1 and b.ndim == 2:
        out = out[:, 0]
    if out.ndim == 2 and out.shape == (1, 1):
        return out[0, 0]
    if out.ndim == 1 and out.shape == (1,):
        return out[0]
    return out


def _transpose(x):
    x = np.asarray(x)
    if x.ndim == 0:
        return x
    if x.ndim == 1:
        return x[None, :]
    if x.shape[0] == 1:
        return x[0, :]
    return x.T


def _diag(x):
    x = np.asarray(x)
    return np.diag(x) if x.ndim == 1 else np.diag(x).copy()


def _jdiag(d):
    return np.diag(np.asarray(d).ravel(order="F"))


def _kron(a, b):
    a, b = np.asarray(a), np.asarray(b)
    a2 = a[:, None] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    out = np.kron(a2, b2)
    return out[:, 0] if out.shape[1] == 1 else out


def _vec(x):
    return np.asarray(x).ravel(order="F")


def _vecT(x):
    return np.asarray(x).ravel(order="F")[None, :]


def _commutation(m, n):
    """K with K vec(X) = vec(Xᵀ) for X m×n."""
    K = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            K[i * n + j, j * m + i] = 1
    return K


def _stack(*xs):
    arr = np.array([np.asarray(x).reshape(()) for x in xs])
    if any(np.asarray(x).dtype == object for x in xs):
        arr = np.array([np.asarray(x).reshape(()).item() for x in xs], dtype=object)
    return arr


def _hcat(*xs):
    cols = [np.asarray(x) for x in xs]
    if all(c.ndim == 0 for c in cols):
        return np.array([[c.item() for c in cols]], dtype=cols[0].dtype if all(
            c.dtype != object for c in cols) else object)
    return np.column_stack([c.reshape(-1) for c in cols])


def _pow(a, p):
    a, p = np.asarray(a), np.asarray(p)
    if a.dtype == object or p.dtype == object:
        return np.vectorize(lambda u, v: u**v, otypes=[object])(a, p)
    return np.power(a.astype(float), p)


# ---------------------------------------------------------------------------------------------
# The table.  Structural operators first (§3–§5), then functions (§7, §8, Matrix Cookbook).

one = E.const(1)


def _s(v):
    return E.const(v)


nary("add", lambda *xs: sum(np.asarray(x) for x in xs[1:]) + np.asarray(xs[0]) * 1
     if len(xs) > 1 else xs[0], code=lambda args, node, ctx: " + ".join(args), text="+",
     latex="+", prec=10, section="§3 (w + x), §4 (x + z)",
     doc="∂(w + x)/∂w = I, ∂(x + z)/∂z = 𝟙", name_hint="z")
nary("mul", lambda *xs: _product(xs), code=lambda args, node, ctx: _product_code(args),
     text="⊙", latex=r"\odot", prec=20, section="§3 (w ⊗ x), §4 (x z)",
     doc="∂(w ⊙ x)/∂w = diag(x), ∂(x z)/∂z = x")


def _product_code(args):
    if args[0] == "-1" and len(args) == 2:
        return "-" + args[1]
    return " * ".join(args)


def _product(xs):
    out = np.asarray(xs[0])
    for x in xs[1:]:
        out = out * np.asarray(x)
    return out


elementwise2("div", lambda y, a, b: E.div(one, b),
             lambda y, a, b: E.neg(E.div(a, E.power(b, _s(2)))),
             lambda a, b: np.asarray(a) / np.asarray(b), code="{0} / {1}", text="⊘",
             latex=r"\oslash",
             fixity="infix", prec=20, section="§3 (w ⊘ x)",
             doc="∂(w ⊘ x)/∂w = diag(1 ⊘ x), ∂(w ⊘ x)/∂x = diag(−w ⊘ x²)")
elementwise2("pow", lambda y, a, p: E.mul(p, E.power(a, E.sub(p, one))),
             lambda y, a, p: E.mul(y, apply("log", a)), _pow, code="{0} ** {1}", text="^",
             latex="^",
             fixity="special", prec=40, section="§1 power rule",
             doc="∂xⁿ/∂x = n xⁿ⁻¹ (element-wise); ∂aᵖ/∂p = aᵖ log a")
elementwise2("max", lambda y, a, b: E.sub(one, apply("step", E.sub(b, a))),
             lambda y, a, b: apply("step", E.sub(b, a)), _max, code="np.maximum({0}, {1})",
             text="max",
             latex=r"\max", section="§8 (max(0, z))", sympy_fn=sympy.Max,
             doc="∂max(0, z)/∂z = step(z); a tie goes to the first argument")
elementwise2("min", lambda y, a, b: E.sub(one, apply("step", E.sub(a, b))),
             lambda y, a, b: apply("step", E.sub(a, b)), _min, code="np.minimum({0}, {1})",
             text="min",
             latex=r"\min", section="§8 (by symmetry with max)", sympy_fn=sympy.Min,
             doc="∂min(a, b)/∂a = 1 − step(a − b); a tie goes to the first argument")


def _matmul_shape(shapes, params):
    out = shapes[0]
    for s in shapes[1:]:
        if out.is_scalar or s.is_scalar:
            raise ShapeError(f"@ needs vectors or matrices on both sides, not {out} and {s}")
        nxt = matmul_shape(out, s)
        if nxt is None:
            raise ShapeError(f"@: inner dimensions differ ({out} @ {s})")
        out = nxt
    return out


def _matmul_partials(y, args, params):
    """For y = L A R: ∂vec(y)/∂vec(A) = Rᵀ ⊗ L (Matrix Cookbook 520), with L, R = I when absent;
    so ∂(Wx)/∂x = W (paper §6) and ∂vec(Wx)/∂vec(W) = xᵀ ⊗ I."""
    out = []
    for i, a in enumerate(args):
        left = E.matmul(*args[:i]) if i else E.identity(a.shape.rows)
        right = E.matmul(*args[i + 1:]) if i + 1 < len(args) else E.identity(a.shape.cols)
        out.append(kron(E.transpose(right), left))
    return tuple(out)


def _matmul_code(args, node, ctx):
    """The chain in its cheapest association (the matrix-chain order, each symbolic dimension
    counted as large): g (xᵀ W) costs n², (g xᵀ) W costs n³.  A column times a row is an outer
    product; a 1×1 factor multiplies."""
    dims = [as_matrix(a.shape) for a in node.operands]
    size = [(ctx.estimate(r), ctx.estimate(c)) for r, c in dims]
    k = len(args)
    cost = {(i, i): 0.0 for i in range(k)}
    split = {}
    for span in range(1, k):
        for i in range(k - span):
            j = i + span
            cost[i, j], split[i, j] = min(
                (cost[i, s] + cost[s + 1, j] + size[i][0] * size[s][1] * size[j][1], s)
                for s in range(i, j))

    def build(i, j):
        if i == j:
            return args[i], dims[i]
        s = split[i, j]
        (a, (ra, ca)), (b, (rb, cb)) = build(i, s), build(s + 1, j)
        out = (ra, cb)
        if (ra, ca) == (ONE, ONE) or (rb, cb) == (ONE, ONE):
            return f"({a} * {b})", out
        if ca == ONE:                       # column times row
            return f"np.outer({a}, {b})", out
        return f"({a} @ {b})", out

    text = build(0, k - 1)[0]
    return text[1:-1] if text.startswith("(") else text


_register(Rule("matmul", "bilinear", (2, 10**9), "matmul", _matmul_shape, _matmul_partials,
               numpy=_matmul, code=_matmul_code, text="", latex="", fixity="infix", prec=30,
               section="§6 (affine layer Wx + b); Matrix Cookbook (520)",
               doc="∂(Wx)/∂x = W; ∂vec(Wx)/∂vec(W) = xᵀ ⊗ I",
               jacobian_doc={"*": "matrix product: linear in each factor"}))


def _dot_shape(shapes, params):
    a, b = shapes
    if not (a.is_vector and b.is_vector and a == b):
        raise ShapeError(f"· needs two vectors of one length, not {a} and {b}")
    return SCALAR


bilinear("dot", lambda a, b: E.transpose(b), lambda a, b: E.transpose(a),
         lambda a, b: np.dot(np.asarray(a).ravel(), np.asarray(b).ravel()), code="{0} @ {1}",
         shape=_dot_shape, infer="dot", text="·", latex=r"\cdot", fixity="infix", prec=30,
         section="§5 (w · x = sum(w ⊗ x))", doc="∂(w·x)/∂w = xᵀ, ∂(w·x)/∂x = wᵀ")


def _transpose_partial(y, x, params):
    if not x.shape.is_matrix or x.shape.is_row or x.shape.cols == ONE:
        return E.identity(x.shape.size)  # a vector and its transpose have the same entries
    m, n = x.shape.dims
    return E.call("K", [], Shape((m * n, m * n)), params=(m, n))


def _transpose_code(args, node, ctx):
    s = node.operands[0].shape
    return f"{args[0]}.T" if s.is_matrix and not s.is_row else args[0]  # 1-D: nothing to do


linear("T", _transpose_partial, lambda g, y, args, params: (E.transpose(g),), _transpose,
       code=_transpose_code, shape=lambda shapes, params: shapes[0].T, infer="T", text="ᵀ",
       latex=r"^{\top}",
       fixity="postfix", prec=50, section="§2 (layouts)",
       doc="∂xᵀ/∂x = I for vectors; the commutation matrix K for matrices")


def _stack_shape(shapes, params):
    for s in shapes:
        if not s.is_scalar:
            raise ShapeError(f"a vector literal [f, g, …] holds scalars, not {s}")
    return Shape((dim(len(shapes)),))


def _stack_partials(y, args, params):
    n = len(args)
    return tuple(E.call("unit", [], Shape((dim(n),)), params=(i, n)) for i in range(n))


def _stack_jvp(y, args, jacobians):
    """∂[f, g]/∂x: the Jacobians of the entries stacked as rows (paper §2); a column of
    derivatives for a scalar x (paper §6, [ln(x²), sin(3x)])."""
    shapes = [j.shape for j in jacobians if j is not None]
    width = shapes[0] if shapes else SCALAR
    rows = [j if j is not None else E.zero(width) for j in jacobians]
    if width.is_scalar:
        return apply("stack", *rows)
    return E.call("vstack", rows, Shape((dim(len(rows)), width.cols)))


_register(Rule("stack", "stack", (1, 10**9), "stack", _stack_shape, _stack_partials,
               jvp=_stack_jvp, numpy=_stack, code=lambda args, node, ctx: _array(args),
               text="[]", latex="", fixity="special", section="§2 (Jacobians)",
               doc="∂[f, g]/∂x stacks ∂f/∂x and ∂g/∂x",
               jacobian_doc={"*": "vector of functions: one row per entry"}))

# --- element-wise functions (§7) -------------------------------------------------------------

elementwise("exp", lambda y, x: y, "exp", sympy.exp, latex=r"\exp", doc="exp′ = exp")
elementwise("log", lambda y, x: E.div(one, x), "log", sympy.log, latex=r"\ln", text="log",
            domain=(0.2, 3.0), section="§1 (ln)", doc="log′(x) = 1/x")
elementwise("sqrt", lambda y, x: E.div(one, E.mul(_s(2), y)), "sqrt", sympy.sqrt,
            latex=r"\sqrt", domain=(0.2, 3.0), doc="√x′ = 1/(2√x)")
elementwise("sin", lambda y, x: apply("cos", x), "sin", sympy.sin, latex=r"\sin",
            section="§1 (sin)", doc="sin′ = cos")
elementwise("cos", lambda y, x: E.neg(apply("sin", x)), "cos", sympy.cos, latex=r"\cos",
            doc="cos′ = −sin")
elementwise("tan", lambda y, x: E.add(one, E.power(y, _s(2))), "tan", sympy.tan, latex=r"\tan",
            domain=(-1.2, 1.2), doc="tan′ = 1 + tan²")
elementwise("tanh", lambda y, x: E.sub(one, E.power(y, _s(2))), "tanh", sympy.tanh,
            latex=r"\tanh", doc="tanh′ = 1 − tanh²")
elementwise("sigmoid", lambda y, x: E.mul(y, E.sub(one, y)), _sigmoid, _sp_sigmoid,
            code="np.exp(-np.logaddexp(0, -{0}))", text="σ", latex=r"\sigma",
            doc="σ′ = σ ⊙ (1 − σ)")
elementwise("relu", lambda y, x: apply("step", x), lambda x: np.maximum(x, 0), _sp_relu,
            code="np.maximum({0}, 0)", section="§8 (max(0, z))",
            doc="relu′ = step, relu′(0) = 0")
elementwise("abs", lambda y, x: apply("sign", x), "abs", sympy.Abs, latex=r"\operatorname{abs}",
            doc="abs′ = sign, abs′(0) = 0")
elementwise("softplus", lambda y, x: apply("sigmoid", x), _softplus, _sp_softplus,
            code="np.logaddexp(0, {0})", doc="softplus′ = σ")
elementwise("step", lambda y, x: E.zero(x.shape), _step, _sp_step, code="np.heaviside({0}, 0.0)",
            doc="step(x) = 1 if x > 0 else 0; step′ = 0 away from the kink")
elementwise("sign", lambda y, x: E.zero(x.shape), "sign", sympy.sign, doc="sign′ = 0 away from 0")

# --- reductions (§5) and scalar functions of matrices (Matrix Cookbook) -------------------------

reduction("sum", lambda y, x, p: E.ones(x.shape), lambda x: np.sum(np.asarray(x)),
          code="np.sum({0})", doc="∂sum(x)/∂x = 𝟙ᵀ")
reduction("mean", lambda y, x, p: E.Const(x.shape, value=1 / x.shape.size),
          lambda x: np.sum(np.asarray(x)) / np.asarray(x).size, code="np.mean({0})",
          doc="∂mean(x)/∂x = 𝟙ᵀ/n")


def _norm_grad(y, x, params):
    if params and params[0] == 1:
        return apply("sign", x)
    return E.div(x, y)


reduction("norm", _norm_grad, _norm, arity=(1, 2),
          code=lambda args, node, ctx: f"np.sum(np.abs({args[0]}))" if node.params == (1,)
          else f"np.linalg.norm({args[0]})",
          doc="∂‖x‖/∂x = xᵀ/‖x‖; ∂‖x‖₁/∂x = sign(x)ᵀ")
reduction("trace", lambda y, X, p: E.identity(X.shape.rows),
          _obj(lambda x: np.trace(x), lambda m: m.trace()), code="np.trace({0})",
          infer="square", section="Matrix Cookbook (100)", text="tr",
          latex=r"\operatorname{tr}", doc="∂tr(X)/∂X = I")
reduction("det", lambda y, X, p: E.mul(y, E.transpose(apply("inv", X))),
          _obj(lambda x: np.linalg.det(x), lambda m: m.det()), code="np.linalg.det({0})",
          infer="square",
          latex=r"\det", section="Matrix Cookbook (49)", doc="∂det(X)/∂X = det(X) X⁻ᵀ")
reduction("logdet", lambda y, X, p: E.transpose(apply("inv", X)),
          _obj(lambda x: np.linalg.slogdet(x)[1], lambda m: sympy.log(m.det())),
          code="np.linalg.slogdet({0})[1]", infer="square", latex=r"\log\det",
          section="Matrix Cookbook (57)", doc="∂log det(X)/∂X = X⁻ᵀ")
reduction("logsumexp", lambda y, x, p: apply("softmax", x), _logsumexp,
          code="np.logaddexp.reduce({0})", infer="vec2scalar",
          section="deep learning", doc="∂logsumexp(x)/∂x = softmax(x)ᵀ")


def _square(shapes, params):
    if not shapes[0].is_square:
        raise ShapeError(f"inv takes a square matrix, not {shapes[0]}")
    return shapes[0]


def _inv_partial(y, x, params):
    """∂vec(X⁻¹)/∂vec(X) = −X⁻ᵀ ⊗ X⁻¹ (Matrix Cookbook 59)."""
    return E.neg(kron(E.transpose(y), y))


_register(Rule("inv", "matrix", (1, 1), "inv", _square,
               lambda y, args, params: (_inv_partial(y, args[0], params),),
               numpy=_obj(lambda x: np.linalg.inv(x), lambda m: _as_array(m.inv())),
               code="np.linalg.inv({0})", text="inv",
               latex="", fixity="special", section="Matrix Cookbook (59)",
               doc="d(X⁻¹) = −X⁻¹ dX X⁻¹", jacobian_doc={0: "inverse: −X⁻ᵀ ⊗ X⁻¹"}))


def _vec2vec(shapes, params):
    if not shapes[0].is_vector:
        raise ShapeError(f"softmax takes a vector, not {shapes[0]}")
    return shapes[0]


def _softmax_partial(y, args, params):
    """∂softmax(x)/∂x = diag(s) − s sᵀ with s = softmax(x)."""
    s = y
    return (E.sub(E.call("jdiag", [s], Shape((s.shape.rows, s.shape.rows))),
                  E.matmul(s, E.transpose(s))),)


_register(Rule("softmax", "vector", (1, 1), "vec2vec", _vec2vec, _softmax_partial,
               numpy=_softmax, code="np.exp({0} - np.logaddexp.reduce({0}))", text="softmax",
               latex=r"\operatorname{softmax}",
               section="deep learning", doc="∂s/∂x = diag(s) − s sᵀ", name_hint="s",
               jacobian_doc={0: "softmax: diag(s) − s sᵀ"}))


def _diag_shape(shapes, params):
    s = shapes[0]
    if s.is_vector:
        return Shape((s.dims[0], s.dims[0]))
    if s.is_square:
        return Shape((s.dims[0],))
    raise ShapeError(f"diag takes a vector or a square matrix, not {s}")


def _diag_partial(y, args, params):
    """vec(diag(v)) = Δₙ v and diag(X) = Δₙᵀ vec(X), with Δₙ the n²×n matrix of the
    diagonal's positions in vec."""
    x = args[0]
    n = x.shape.dims[0]
    D = E.call("Delta", [], Shape((n * n, n)), params=(n,))
    return (D if x.shape.is_vector else E.transpose(D),)


def _diagonal_embedding(n):
    D = np.zeros((int(n) * int(n), int(n)))
    for i in range(int(n)):
        D[i * int(n) + i, i] = 1
    return D


_register(Rule("diag", "linear", (1, 1), "diag", _diag_shape, _diag_partial,
               vjp=lambda g, y, args, params: (apply("diag", g),),
               numpy=_obj(_diag, lambda m: _as_array(m.diagonal()) if m.shape[0] != 1 and
                          m.shape[1] != 1 else _as_array(sympy.diag(*m))),
               code="np.diag({0})", text="diag", latex=r"\operatorname{diag}",
               section="linear algebra",
               doc="diag(v) builds a diagonal matrix; diag(X) takes the diagonal; both linear: "
                   "∂vec(diag(v))/∂v = Δₙ, ∂diag(X)/∂vec(X) = Δₙᵀ",
               jacobian_doc={0: "diag is linear: it moves entries to or from the diagonal"}))

# --- structured matrices that appear in derivatives -------------------------------------------

def _jdiag_code(args, node, ctx):
    d = node.operands[0].shape
    return f"np.diag({args[0]})" if not d.is_matrix or d.is_row else \
        f"np.diag(np.ravel({args[0]}, order='F'))"


def _kron_code(args, node, ctx):
    """np.kron reads a 1-D operand as a row; a column beside a matrix is made n×1."""
    (a, b), (sa, sb) = args, [x.shape for x in node.operands]
    if sa.is_vector and sb.is_row:
        return f"np.outer({a}, {b})"           # column ⊗ row
    if sa.is_row and sb.is_vector:
        return f"np.outer({b}, {a})"           # row ⊗ column
    if sa.is_vector and sb.is_matrix:
        a = f"{a}[:, None]"
    if sb.is_vector and sa.is_matrix:
        b = f"{b}[:, None]"
    return f"np.kron({a}, {b})"


internal("jdiag", lambda s, p: s[0], _jdiag, code=_jdiag_code, text="diag",
         latex=r"\operatorname{diag}", left=_left_diag)
internal("kron", lambda s, p: s[0], _kron, code=_kron_code, text="⊗", latex=r"\otimes",
         left=_left_kron)
internal("vec", lambda s, p: Shape((s[0].size,)), _vec, code="np.ravel({0}, order='F')",
         text="vec", latex=r"\operatorname{vec}", left=_left_column)
internal("vecT", lambda s, p: Shape((ONE, s[0].size)), _vecT, code="np.ravel({0}, order='F')",
         text="vec", latex=r"\operatorname{vec}", left=_left_gradient_row)
internal("K", lambda s, p: Shape((p[0] * p[1], p[0] * p[1])),
         lambda m, n: _commutation(int(m), int(n)),
         code=lambda args, node, ctx: "np.eye({mn})[np.arange({mn}).reshape({n}, {m}).T.ravel()]"
         .format(mn=ctx.dim(node.params[0] * node.params[1]), m=ctx.dim(node.params[0]),
                 n=ctx.dim(node.params[1])), text="K", latex="K", left=_left_commutation)
internal("Delta", lambda s, p: Shape((p[0] * p[0], p[0])), _diagonal_embedding,
         code=lambda args, node, ctx: "np.eye({nn})[:, ::{step}]".format(
             nn=ctx.dim(node.params[0] * node.params[0]), step=ctx.dim(node.params[0] + 1)),
         text="Δ", latex=r"\Delta")
internal("unit", lambda s, p: Shape((dim(p[1]),)),
         lambda i, n: np.eye(int(n))[int(i)],
         code=lambda args, node, ctx: f"np.eye({node.params[1]})[{node.params[0]}]",
         text="e", latex="e", left=_left_unit)
internal("hcat", lambda s, p: Shape((s[0].rows, dim(len(s)))) if s[0].rows != ONE
         else Shape((ONE, dim(len(s)))), _hcat,
         code=lambda args, node, ctx: _array(args) if node.operands[0].shape.is_scalar else
         "np.column_stack([" + ", ".join(args) + "])", text="[]")
internal("vstack", lambda s, p: Shape((dim(len(s)), s[0].cols)),
         lambda *rows: np.vstack([np.asarray(r).reshape(1, -1) for r in rows]),
         code=lambda args, node, ctx: "np.vstack([" + ", ".join(args) + "])", text="[]")
def _index_partials(y, args, params):
    """∂gᵢ/∂g = eᵢᵀ: an entry of a vector (the adjoint of a vector literal's entry)."""
    n = args[0].shape.size
    return (E.transpose(E.call("unit", [], Shape((n,)), params=(params[0], n))),)


internal("index", lambda s, p: SCALAR, lambda x, i: np.asarray(x).ravel(order="F")[int(i)],
         code=lambda args, node, ctx: f"np.ravel({args[0]}, order='F')[{node.params[0]}]",
         text="[]", partials=_index_partials)
internal("reshape", lambda s, p: s[0], lambda x: x,
         code=lambda args, node, ctx: f"np.reshape({args[0]}, {ctx.dims(node.shape)})", text="")


def _array(args):
    return "np.array([" + ", ".join(args) + "])"


# ---------------------------------------------------------------------------------------------
# Names as users spell them


def resolve_function(name: str) -> str | None:
    """Canonical op name of a function spelled ``name`` by the user, or None if unknown."""
    name = ALIASES.get(name, name)
    rule = RULES.get(name)
    if rule is None or rule.family == "internal" or name in _NOT_CALLABLE:
        return None
    return name


_NOT_CALLABLE = {"add", "mul", "div", "pow", "matmul", "stack", "step", "sign"}


def function_arity(op: str) -> tuple[int, int]:
    return RULES[op].arity


def function_names() -> list[str]:
    """Every spelling a user may call (for "did you mean")."""
    names = {n for n in RULES if resolve_function(n)} | set(ALIASES)
    return sorted(names - {"T"})


USER_FUNCTIONS = ("exp log ln sqrt sin cos tan tanh sigmoid relu abs softplus max min sum mean "
                  "norm diag trace tr det inv logdet softmax logsumexp dot transpose").split()

# How to call a function, where "write f(x)" or "write f(a, b)" says too little: the hint of a
# wrong-argument-count error.
CALL_FORMS = {
    "max": "max(a, b) is element-wise, as in max(0, x); there is no max over the entries of "
           "one argument",
    "min": "min(a, b) is element-wise, as in min(x, 1); there is no min over the entries of "
           "one argument",
    "norm": "write norm(x) or norm(x, 1)",
}

# Functions people reach for that the language does not have, and what to write instead (an
# unknown-function error says this rather than "did you mean" a look-alike such as exp for expm).
NOT_IN_LANGUAGE = {
    "expm": "the matrix exponential is not supported; exp(X) is element-wise",
    "logm": "the matrix logarithm is not supported; log(X) is element-wise",
    "sqrtm": "the matrix square root is not supported; sqrt(X) is element-wise",
    "pinv": "the pseudo-inverse is not supported; inv(X) takes a square matrix",
    "kron": "the Kronecker product is not in the language (⊗ is the element-wise product)",
    "matmul": "write A @ B for the matrix product",
    "outer": "write x @ y^T for the outer product",
    "argmax": "argmax is piecewise constant: its derivative is 0 wherever it is defined",
    "mse": "write mean((y - yhat)^2)",
}


# ---------------------------------------------------------------------------------------------
# How the step-by-step view presents operations (steps.py), after the paper's worked examples.
# Element-wise functions of one argument name their scalar rule by ``doc`` (sin′ = cos).


def _present(name: str, **kw) -> None:
    RULES[name] = replace(RULES[name], steps=replace(RULES[name].steps, **kw))


_present("add", linear="all", scalar={"*": "sum rule (§1)"})
_present("mul", linear="one", scalar={"*": "product rule (§1)"})
_present("div", scalar={0: "quotient rule (§1)", 1: "quotient rule (§1)"})
_present("pow", scalar={0: "power rule (§1)", 1: "exponential rule: ∂aᵖ/∂p = aᵖ ln a"})
_present("max", scalar={"*": "max(a, b): 1 where its argument is the larger (§8)"})
_present("min", scalar={"*": "min(a, b): 1 where its argument is the smaller"})
_present("dot", linear="one", expand=lambda a, b: apply("sum", E.mul(a, b)))
_present("matmul", linear="one")
_present("T", linear="all")
_present("sum", absorbs=True)
_present("mean", absorbs=True)
_present("stack", layers=True)
