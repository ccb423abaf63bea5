"""THE rule table: everything matcalc knows about each operation, one entry per operation.

An entry holds the operation's shape rule, its local partial Jacobians (numerator layout, in the
paper's structured forms: ``diag``, ``I``, ``𝟙``, transposes, Kronecker products), how it prints,
its NumPy form, the paper section it encodes and, for tests, its domain.  Entries are built by
family constructors named after the paper's rule families, which supply the generic Jacobian
(diagonal, scalar expansion, row of ones); an entry gives only what is particular to it.

Conventions.  Every Jacobian has one row per entry of the output and one column per entry of the
argument; matrices enter through ``vec`` (column-major), so the Jacobian of ``W@x`` w.r.t. ``W``
is ``xᵀ ⊗ I``.  A scalar-by-matrix gradient is carried as ``vec(G)ᵀ`` (op ``vecT``).
In docstrings here ``⊗`` is the Kronecker product, as in the Matrix Cookbook; users type it
``kron(A, B)`` (a typed ``⊗`` is the paper's element-wise product) and matcalc prints it so.
Kinks follow the paper: ``relu′(0) = 0``, ``step(0) = 0``, ``sign(0) = 0``, and ``max(a, b)``
sends a tie to ``a`` only, so ``max(x, x)`` still has derivative ``I``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import functools
import math
from typing import Callable

import sympy

from . import expr as E
from .errors import ShapeError, UnsupportedError
from .expr import Call, Expr
from .lazy import lazy_module
from .shapes import ONE, SCALAR, Shape, as_matrix, dim, matmul_shape

np = lazy_module("numpy")  # the NumPy forms run only when evaluating (start-up: lazy.py)

# Inference kinds (how infer.py constrains shapes; infer._step treats each kind once):
#   "map"      out = arg (element-wise unary)          "map2"   element-wise binary, broadcasting
#   "power"    element-wise, scalar exponent           "chain"  matrix product (@)
#   "inner"    two vectors of one length -> scalar     "flip"   transpose
#   "literal"  scalars -> vector ([f, g])              "reduce" non-scalar -> scalar
#   "square"   square matrix -> scalar                 "invertible" square -> same square
#   "vec2vec"  vector -> same vector                   "vec2scalar" vector -> scalar
#   "diagonal" vector -> square matrix (or matrix -> vector)  "internal": never typed by a user
#   "kronecker" A ⊗ B (dimensions multiply)         "side_by_side" juxtaposition (2x, W x)
#   "flatten"  vec(X)                               "identity", "constant" I, 𝟙, 0 (eye, ones)
#   "symbol", "unit_vector"  𝕂ₘₙ, 𝔻ₙ, 𝕖ᵢ as printed  "rows" a matrix literal by rows


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


# Printing precedences (higher binds tighter), shared with the printer (``render.py``): where an
# operand prints in parentheses.  The dot product prints at the level of products, so its
# operands that are products keep parentheses: x·(A x), (2w)·x.
ADD, NEG, MUL, POW, POST, ATOM = 10, 15, 20, 40, 50, 100


@dataclass(frozen=True)
class Rule:
    """One operation.  ``code`` is its NumPy spelling in generated source (``codegen.py``): a
    template over the operands' names ``{0}``, ``{1}``, … or a function ``(args, node, ctx)``
    of those names, the node (for shapes and params) and the generator's context (``ctx.dim``
    prints a dimension, ``ctx.dims`` a shape).  In generated code a vector and a row are both
    1-D arrays (so transposing a vector costs nothing), a matrix is 2-D, a scalar a NumPy
    scalar.

    How it prints: ``fixity`` names one of the printer's forms (``render.Printer.form_*``:
    ``func`` name(args), ``infix``, ``postfix``, ``root``, ``symbol`` with subscripts, …), with
    ``text``/``latex`` its spelling and ``prec`` its precedence.  The printer never names an
    operation; the table says which form each one takes."""

    name: str
    family: str
    arity: tuple[int, int]
    infer: str                                      # how infer.py constrains shapes (KINDS)
    shape: Callable[..., Shape]                     # (arg shapes, params) -> out shape
    partials: Callable[..., tuple] | None = None    # (y, args, params) -> Jacobian per arg
    vjp: Callable[..., tuple] | None = None         # (g, y, args, params) -> adjoint per arg
    jvp: Callable | None = None                     # (y, args, arg Jacobians) -> Jacobian
    numpy: Callable | None = None                   # (*arrays, *params) -> array (evaluate)
    code: str | Callable | None = None              # NumPy source text (generated code)
    sympy: Callable | None = None                   # scalar SymPy function (element-wise entries)
    matrix: Callable | None = None                  # (SymPy args, node) -> SymPy matrix form
    text: str = ""                                  # printed name or operator
    latex: str = ""
    fixity: str = "func"                            # the printer's form (see above)
    prec: int = ATOM
    section: str = ""                               # the paper section (or source) it encodes
    steps: StepRule = StepRule()                    # how steps.py presents it
    domain: tuple[float, float] = (-2.0, 2.0)       # where the tests sample it
    doc: str = ""
    what: str = ""                                  # how a message names it, if not by text
    jacobian_doc: dict = field(default_factory=dict)  # rule names per argument, for steps
    name_hint: str = "u"                            # letter for a named intermediate value
    left: Callable | None = None   # (g, P, y_shape, a_shape, vjp): vec(g)ᵀ P, P a Jacobian of
    #                                this kind, in a's shape, without forming P (reverse mode)
    build: Callable | None = None  # (args, params, shape) -> Expr: the node from typed operands
    #                                (smart constructors fold 0, 1, I; default: ``apply``)
    call: Callable | None = None   # (args, keywords, fail) -> (args, params): how a user's call's
    #                                arguments become operands and params (norm's p, axis=)
    chain: bool = False            # n-ary and associative: a chain a ∘ b ∘ c is one node
    callable: bool = True          # users may call it by name
    transposed: tuple[str, str] = ("", "")   # postfix marks of its transpose (X⁻ᵀ for inv)
    subscript: Callable | None = None        # params -> the subscripts of a ``symbol`` (𝕂ₘₙ)
    vec_args: bool = False         # a matrix argument prints as vec(·): diag(vec(D))
    defaults: tuple = ()           # per operand: the value a call may leave out (None: required)
    keywords: tuple[str, ...] = ()  # keyword arguments a call takes (axis=)
    macro: bool = False            # never a node of its own: ``build`` writes it with other
    #                                entries (eye(n) is I, log_softmax(x) is x − logsumexp(x))
    axis_param: int | None = None  # the position of the axis in ``params``, when given
    indicator: bool = False        # piecewise constant (step, sign): printed first in a product
    sides: Callable | None = None  # (node) -> (z, value if z ≤ 0, value if z > 0) or None: a
    #                                scalar piecewise in the sign of z prints as cases (§8)
    view: bool = False             # the same entries rearranged (ᵀ, vec): never worth naming
    scaling: bool = False          # ⊙, ⊘: a lowercase name beside a matrix scales it (a scalar),
    #                                where + and − broadcast it as a row (X W + b)
    note: Callable | None = None   # (node) -> a remark on the user's expression, or None
    result_note: Callable | None = None   # (node, f) -> a remark on a node of the derivative
    #                                       of the user's expression f, or None

    def make(self, args, params=(), shape=None) -> Expr:
        """The node of this operation on typed operands (``shape``: the old node's, when a
        rewrite rebuilds it)."""
        if self.build is not None:
            return self.build(list(args), tuple(params), shape)
        return apply(self.name, *args, params=params)


RULES: dict[str, Rule] = {}
ALIASES = {"ln": "log", "tr": "trace", "transpose": "T", "Φ": "normcdf", "φ": "normpdf",
           "σ": "sigmoid"}


def _register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name} registered twice")
    RULES[rule.name] = rule
    return rule


# ---------------------------------------------------------------------------------------------
# Building nodes through the table


def apply(op: str, *args: Expr, params: tuple = ()) -> Expr:
    """The node ``op(args)`` with its shape from the table; constant arguments of element-wise
    functions fold (exp(0) = 1)."""
    rule = RULES[op]
    shape = rule.shape([a.shape for a in args], params)
    if rule.family == "elementwise" and isinstance(args[0], E.Const) and rule.sympy is not None:
        value = rule.sympy(args[0].value)
        if value.is_number and value.is_rational:
            return E.Const(shape, value=value)
    return E.Call(shape, op=op, operands=tuple(args), params=tuple(params))


def entry_sum(x: Expr) -> Expr:
    """sum(x) = 𝟙ᵀ vec(x): the sum of the entries (a row of ones times a column)."""
    return apply("sum", x)


def side_by_side(parts) -> Expr:
    """Columns (or rows of one entry) side by side: [∂f/∂x, ∂f/∂y] (paper §2)."""
    return apply("hcat", *parts)


def column_of(items) -> Expr:
    """[f, g, h] exactly as given (the steps view shows layers of functions so, §6)."""
    return E.call("stack", list(items), Shape((dim(len(items)),)))


def diagonal_rows(entries) -> Expr:
    """The m×m matrix with ``entries`` on its diagonal, written out row by row (§6)."""
    m = len(entries)
    rows = [E.call("hcat", [entries[i] if c == i else E.const(0) for c in range(m)],
                   Shape((ONE, dim(m)))) for i in range(m)]
    return E.call("vstack", rows, Shape((dim(m), dim(m))))


def product_as_written(factors, shape: Shape) -> Expr:
    """The matrix product of ``factors`` as written, not multiplied out (a step's product)."""
    return E.call("matmul", list(factors), shape)


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
    if g.shape.size == shape.size and ONE in (g.shape.rows, g.shape.cols) and \
            ONE in (shape.rows, shape.cols):
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
    rows, cols = a.shape.rows, b_t.shape.rows      # Y = A X B: A's rows, B's columns
    if (g.shape.rows, g.shape.cols) != (rows, cols):
        # a user's kron(C, D) @ w: P is that matrix, g a vector, and gᵀ P as for any matrix
        return as_shape(E.matmul(E.transpose(g), P), a_shape)
    return as_shape(E.matmul(E.transpose(a), g, b_t), a_shape)


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
    core = E.call("kron", [a, b], _kron_shape((a.shape, b.shape), ()))
    return E.mul(*scalars, core) if scalars else core


def broadcast(args) -> list:
    """Operands of an element-wise operation with NumPy's broadcasting written out as the paper's
    matrices: beside an m×n matrix, a vector v is the matrix 𝟙 vᵀ (each row v: the bias of a
    batched layer, X W + 𝟙 bᵀ), a row r is 𝟙 r, a column c (m×1) is c 𝟙ᵀ.  Scalars stay (scalar
    expansion); shapes that do not broadcast are left for the smart constructors to refuse."""
    full = next((a.shape for a in args if a.shape.is_matrix and not a.shape.is_row and
                 a.shape.cols != ONE), None)
    if full is None:
        rows = [a for a in args if a.shape.is_row]
        if rows:            # a vector beside a row (1×n): NumPy's result is the row
            return [E.transpose(a) if a.shape.is_vector else a for a in args]
        return list(args)
    m, n = full.dims
    out = []
    for a in args:
        s = a.shape
        scalars = []
        if isinstance(a, Call) and a.op == "mul" and s != full and not s.is_scalar:
            scalars = [f for f in a.operands if f.shape.is_scalar]   # −c 𝟙 vᵀ, not 𝟙 (−c v)ᵀ
            a = E.mul(*(f for f in a.operands if not f.shape.is_scalar)) if scalars else a
        if s.is_vector and s.dims[0] == n and s != full:
            a = E.matmul(E.ones(Shape((m,))), transposed_product(a))
        elif s.is_row and s != full:
            a = E.matmul(E.ones(Shape((m,))), a)
        elif s.is_matrix and s.cols == ONE and s.rows == m and s != full:
            a = E.matmul(a, E.transpose(E.ones(Shape((n,)))))
        out.append(E.mul(*scalars, a) if scalars else a)
    return out


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


def _is_matrix(x) -> bool:
    return isinstance(x, sympy.MatrixBase) or getattr(x, "is_Matrix", False)


def _sympy_stack(args, horizontal: bool):
    """SymPy's form of [a, b, …] side by side (or one above the other): an explicit Matrix where
    every size is a number, a BlockMatrix of the pieces where a size is a symbol (𝟙ₙ)."""
    pieces = [a if _is_matrix(a) else sympy.Matrix([[a]]) for a in args]
    if all(isinstance(a, sympy.MatrixBase) or all(getattr(d, "is_Integer", False)
                                                   for d in a.shape) for a in pieces):
        pieces = [sympy.Matrix(a) for a in pieces]
        return sympy.Matrix.hstack(*pieces) if horizontal else sympy.Matrix.vstack(*pieces)
    return sympy.BlockMatrix([pieces] if horizontal else [[a] for a in pieces])


def _msize(shape: Shape):
    return shape.rows, shape.cols


def _applyfunc(fn, x):
    """``fn`` entry by entry: on an explicit Matrix, or on a matrix expression (a
    MatrixSymbol's function, ``ElementwiseApplyFunction``)."""
    if isinstance(x, sympy.MatrixBase):
        return x.applyfunc(fn)
    if _is_matrix(x):
        d = sympy.Dummy(real=True)
        return x.applyfunc(sympy.Lambda(d, fn(d)))
    return fn(x)


def _entry_sum(x):
    """The sum of the entries of a SymPy matrix (expression): 𝟙ᵀ X 𝟙."""
    rows, cols = x.shape
    return (sympy.OneMatrix(1, rows) * x * sympy.OneMatrix(cols, 1))[0, 0]


def _matrix_elementwise(fn):
    """The SymPy form of an element-wise function: ``applyfunc`` on a matrix argument."""
    def form(args, node):
        return _applyfunc(fn, args[0])
    return form


def _matrix_function(op):
    """For forms SymPy's matrix expressions do not have: an undefined function where the node
    is a scalar, an opaque matrix symbol named by its operation and arguments otherwise
    (𝕂ₘₙ, vec(X))."""
    def form(args, node):
        if node.shape.is_scalar:
            return sympy.Function(op)(*args)
        name = f"{op}({', '.join(map(str, args))}{', ' if args and node.params else ''}" \
               f"{', '.join(map(str, node.params))})"
        return sympy.MatrixSymbol(name, *_msize(node.shape))
    return form


def elementwise(name, derivative, numpy, sympy_fn, *, code=None, text=None, latex=None,
                section="§7", domain=(-2.0, 2.0), doc="", fixity="func", **extra):
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
                          matrix=_matrix_elementwise(sympy_fn),
                          text=text or name, fixity=fixity, **extra,
                          latex=latex or rf"\operatorname{{{name}}}", section=section,
                          domain=domain, doc=doc,
                          jacobian_doc={0: f"element-wise {name}: diagonal Jacobian "
                                           f"diag({name}′)"}))


def elementwise2(name, da, db, numpy, *, code=None, text, latex, fixity="func", prec=ATOM,
                 section, sympy_fn=None, doc="", build=None, infer="map2", matrix=None,
                 shape=None, arity=(2, 2), **extra):
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

    def default_matrix(args, node):
        if not any(_is_matrix(a) for a in args):
            return sympy_fn(*args)
        return _matrix_function(name)(args, node)

    if build is None and infer == "map2":
        def build(args, params, old):
            return apply(name, *broadcast(args), params=params)
    return _register(Rule(name, "elementwise2", arity, infer, shape or _elementwise_args(text),
                          partials, numpy=numpy, code=code, sympy=sympy_fn,
                          matrix=matrix or default_matrix, text=text,
                          latex=latex, fixity=fixity, prec=prec, section=section, doc=doc,
                          build=build, **extra,
                          jacobian_doc={0: f"element-wise {text}, diagonal condition holds",
                                        1: f"element-wise {text}, diagonal condition holds"}))


def nary(name, numpy, *, code=None, text, latex, prec, section, doc="", name_hint="u", build,
         fixity, matrix, **extra):
    """n-ary ``+`` and ``⊙`` (flattened by the smart constructors): each argument's partial is
    that of the binary operator with the other arguments' sum/product as partner."""
    if name == "add":
        def partials(y, args, params):
            one = E.const(1)
            return tuple(jdiag(one, a.shape) if a.shape == y.shape else column(one, y.shape)
                         for a in args)
    else:
        def partials(y, args, params):
            out = []
            by_operand: dict = {}   # a repeated factor (x in x*x*…*x) has one partial, built once
            for i, a in enumerate(args):
                p = by_operand.get(a)
                if p is None:
                    others = E.mul(*args[:i], *args[i + 1:])     # arity ≥ 2: never empty
                    p = by_operand[a] = jdiag(others, a.shape) if a.shape == y.shape else \
                        column(others, y.shape)
                out.append(p)
            return tuple(out)
    return _register(Rule(name, "elementwise2", (2, 10**9), "map2", _elementwise_args(text),
                          partials, numpy=numpy, code=code, text=text, latex=latex,
                          fixity=fixity, prec=prec, section=section, doc=doc,
                          name_hint=name_hint, build=build, chain=True, callable=False,
                          matrix=matrix, **extra,
                          left=_left_sum if name == "add" else _left_scaled,
                          jacobian_doc={"*": f"element-wise {text}, diagonal condition holds"}))


def reduction(name, gradient, numpy, *, code=None, section="§5", arity=(1, 1), infer="reduce",
              doc="", text=None, latex=None, matrix=None, fixity="func", shape=None,
              partials=None, **extra):
    """A function to a scalar (paper §5: sum, and the dot product's y = sum(u)): its Jacobian is
    the row ``gᵀ`` with ``gradient(y, x, params)`` in the shape of ``x``."""

    def default_shape(shapes, params):
        return SCALAR           # inference has checked the argument (a vector, a square matrix)

    def row(y, args, params):
        return (grad_row(gradient(y, args[0], params)),)

    return _register(Rule(name, "reduction", arity, infer, shape or default_shape,
                          partials or row, numpy=numpy,
                          code=code, text=text or name,
                          latex=latex or rf"\operatorname{{{name}}}",
                          section=section, doc=doc, matrix=matrix or _matrix_function(name),
                          fixity=fixity, **extra,
                          jacobian_doc={0: f"{name}: a row, the gradient of {name}"}))


def linear(name, partial, vjp, numpy, *, code=None, shape, infer, text, latex, fixity, prec=ATOM,
           section, doc="", build=None, matrix=None, what=None, **extra):
    """A linear map: its Jacobian, ``partial(y, x)``, does not depend on the argument's value;
    the steps view names it "``what`` is linear"."""
    return _register(Rule(name, "linear", (1, 1), infer, shape,
                          lambda y, args, params: (partial(y, args[0]),),
                          vjp=vjp, numpy=numpy, code=code, text=text, latex=latex, fixity=fixity,
                          prec=prec, section=section, doc=doc, build=build,
                          matrix=matrix or _matrix_function(name), **extra,
                          jacobian_doc={0: f"{what or name} is linear"}))


def bilinear(name, pa, pb, numpy, *, code=None, shape, infer, text, latex, fixity, prec, section,
             doc, matrix=None):
    """A bilinear map (matrix product, dot product): ∂(ab)/∂a uses b and vice versa."""
    return _register(Rule(name, "bilinear", (2, 2), infer, shape,
                          lambda y, args, params: (pa(*args), pb(*args)), numpy=numpy,
                          code=code, text=text, latex=latex, fixity=fixity, prec=prec,
                          section=section, doc=doc, matrix=matrix or _matrix_function(name),
                          jacobian_doc={0: f"{name} is bilinear", 1: f"{name} is bilinear"}))


def internal(name, shape, numpy, *, code=None, text, latex="", fixity="func", partials=None,
             left=None, prec=ATOM, build=None, matrix=None, infer="internal", callable=False,
             arity=(0, 10**9), **extra):
    """Structured matrices that appear in derivatives (``diag``, ``⊗``, ``vec``, ``step``);
    ``left`` multiplies an adjoint by one without forming it.  By default a node is rebuilt
    with its shape recomputed by ``shape`` (the smart constructors of the others fold)."""
    def default_build(args, params, old):
        return E.call(name, args, shape([a.shape for a in args], params), params)
    return _register(Rule(name, "internal", arity, infer, shape, partials,
                          numpy=numpy, code=code, text=text, latex=latex, fixity=fixity,
                          left=left, prec=prec, build=build or default_build, callable=callable,
                          matrix=matrix or _matrix_function(name), **extra))


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


def _erf(x):
    """erf entry by entry (NumPy has no erf; the standard library's is exact to rounding)."""
    return np.vectorize(math.erf, otypes=[float])(x)


_ERF_CODE = "np.vectorize(math.erf, otypes=[float])({0})"   # generated code imports math


def _sp_normcdf(x):
    return (1 + sympy.erf(x / sympy.sqrt(2))) / 2


def _sp_normpdf(x):
    return sympy.exp(-x**2 / 2) / sympy.sqrt(2 * sympy.pi)


def _sp_leaky(x, a):
    return sympy.Piecewise((x, x > 0), (a * x, True)) if not (x.is_number and a.is_number) else \
        (x if x > 0 else a * x)


def _sp_elu(x, a):
    return sympy.Piecewise((x, x > 0), (a * (sympy.exp(x) - 1), True))   # (at a number: a branch)


def _entrywise(fn, a, b):
    """``fn`` of each pair of entries (broadcast), as an object array: SymPy's entries."""
    return np.asarray(np.frompyfunc(fn, 2, 1)(a, b), dtype=object)


def _elementwise_pair(np_fn, sp_fn):
    """A function of an array and a scalar parameter: NumPy for numbers, SymPy entry by entry
    for object arrays (the component check)."""
    def run(x, a):
        x, a = np.asarray(x), np.asarray(a)
        if x.dtype == object or a.dtype == object:
            return _entrywise(sp_fn, x, a)
        return np_fn(x.astype(float), a.astype(float))
    return run


def _max(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return _entrywise(sympy.Max, a, b)
    return np.maximum(a, b)


def _min(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return _entrywise(sympy.Min, a, b)
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


def _softmax(x, axis=None):
    """softmax of a vector, or of each row (axis=1) or column (axis=0) of a matrix."""
    x = np.asarray(x)
    if x.dtype == object:
        e = _vectorize(sympy.exp)(x)
        return e / np.sum(e, axis=axis, keepdims=True)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(x, axis=None):
    """log Σ exp over a vector, or over each row (axis=1) or column (axis=0) of a matrix."""
    x = np.asarray(x)
    if x.dtype == object:
        e = _vectorize(sympy.exp)(x)
        return _vectorize(sympy.log)(np.sum(e, axis=axis)) \
            if axis is not None else sympy.log(np.sum(e))
    m = np.max(x, axis=axis, keepdims=True)      # kept dims: the evaluator reshapes a node's
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))   # value to its shape


def _norm(x, *order):
    """‖x‖ (the 2-norm), or ‖x‖₁ for the order 1."""
    x = np.asarray(x)
    l1 = 1 in order
    if x.dtype == object:
        if l1:
            return sum(sympy.Abs(v) for v in x.ravel())
        return sympy.sqrt(sum(v**2 for v in x.ravel()))
    return np.abs(x).sum() if l1 else np.sqrt((x * x).sum())


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


def _diag(x):
    x = np.asarray(x)
    return np.diag(x) if x.ndim == 1 else np.diag(x).copy()


def _jdiag(d):
    return np.diag(np.asarray(d).ravel(order="F"))


def _kron(a, b):
    """np.kron with a vector as a column (the evaluators read a column back as a vector)."""
    a, b = np.asarray(a), np.asarray(b)
    return np.kron(a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1))


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


def _sympy_add(args, node):
    if node.shape.is_scalar:
        return sympy.Add(*args)
    return sympy.MatAdd(*[a if _is_matrix(a) else a * sympy.OneMatrix(*_msize(node.shape))
                          for a in args])


def _sympy_mul(args, node):
    scal = [a for a in args if not _is_matrix(a)]
    mats = [a for a in args if _is_matrix(a)]
    core = mats[0] if len(mats) == 1 else \
        sympy.matrices.expressions.HadamardProduct(*mats) if mats else 1
    return sympy.Mul(*scal) * core if scal else core


def _broadcast_note(node):
    """An element-wise product that repeats a row in every row of a matrix (x'*A*x): perhaps
    a matrix product was meant."""
    for f in node.operands:
        if isinstance(f, Call) and f.op == "matmul" and isinstance(f.operands[0], E.Const) \
                and f.operands[0].shape.is_vector and f.shape.is_matrix:
            return ("* is element-wise and broadcasts as NumPy does (𝟙 vᵀ repeats the row vᵀ "
                    "in every row); for a matrix product write @, as in x'@A@x")
    return None


nary("add", lambda *xs: sum(np.asarray(x) for x in xs[1:]) + np.asarray(xs[0]) * 1
     if len(xs) > 1 else xs[0], code=lambda args, node, ctx: " + ".join(args), text="+",
     latex="+", prec=ADD, fixity="terms", section="§3 (w + x), §4 (x + z)",
     doc="∂(w + x)/∂w = I, ∂(x + z)/∂z = 𝟙", name_hint="z",
     build=lambda a, p, s: E.add(*broadcast(a)), matrix=_sympy_add)
nary("mul", lambda *xs: _product(xs), code=lambda args, node, ctx: _product_code(args),
     text="⊙", latex=r"\odot", prec=MUL, fixity="factors", section="§3 (w ⊗ x), §4 (x z)",
     doc="∂(w ⊙ x)/∂w = diag(x), ∂(x z)/∂z = x",
     build=lambda a, p, s: E.mul(*broadcast(a)), matrix=_sympy_mul, note=_broadcast_note,
     scaling=True)


def _product_code(args):
    if args[0] == "-1" and len(args) == 2:
        return "-" + args[1]
    return " * ".join(args)


def _product(xs):
    out = np.asarray(xs[0])
    for x in xs[1:]:
        out = out * np.asarray(x)
    return out


def _sympy_div(args, node):
    a, b = args
    if node.shape.is_scalar:
        return a / b
    b_inv = sympy.matrices.expressions.HadamardPower(b, -1)    # of a scalar: 1/b
    if not _is_matrix(a):
        return a * b_inv
    return sympy.matrices.expressions.HadamardProduct(a, b_inv) if _is_matrix(b_inv) else \
        a * b_inv


def _sympy_pow(args, node):
    a, p = args
    return sympy.matrices.expressions.HadamardPower(a, p) if _is_matrix(a) else a ** p


def _note_e(node):
    base = node.operands[0]
    if isinstance(base, E.Var) and base.name == "e":
        return "e is a variable here; for the exponential eˣ write exp(x)"
    return None


def _max_sides(n):
    """max(0, z) and max(z, 0) are 0 where z ≤ 0 and z where z > 0."""
    a, b = n.operands
    z = b if E.is_zero(a) else a if E.is_zero(b) else None
    return None if z is None else (z, E.zero(SCALAR), z)


def _min_sides(n):
    """min(0, z) and min(z, 0) are z where z ≤ 0 and 0 where z > 0."""
    a, b = n.operands
    z = b if E.is_zero(a) else a if E.is_zero(b) else None
    return None if z is None else (z, z, E.zero(SCALAR))


elementwise2("div", lambda y, a, b: E.div(one, b),
             lambda y, a, b: E.neg(E.div(a, E.power(b, _s(2)))),
             lambda a, b: np.asarray(a) / np.asarray(b), code="{0} / {1}", text="⊘",
             latex=r"\oslash",
             fixity="quotient", prec=MUL, section="§3 (w ⊘ x)",
             doc="∂(w ⊘ x)/∂w = diag(1 ⊘ x), ∂(w ⊘ x)/∂x = diag(−w ⊘ x²)",
             build=lambda a, p, s: E.div(*broadcast(a)), matrix=_sympy_div, callable=False,
             scaling=True)
elementwise2("pow", lambda y, a, p: E.mul(p, E.power(a, E.sub(p, one))),
             lambda y, a, p: E.mul(y, apply("log", a)), _pow, code="{0} ** {1}", text="^",
             latex="^", fixity="power", prec=POW, section="§1 power rule",
             doc="∂xⁿ/∂x = n xⁿ⁻¹ (element-wise); ∂aᵖ/∂p = aᵖ log a", infer="power",
             build=lambda a, p, s: E.power(*a), matrix=_sympy_pow, callable=False,
             note=_note_e)
elementwise2("max", lambda y, a, b: E.sub(one, apply("step", E.sub(b, a))),
             lambda y, a, b: apply("step", E.sub(b, a)), _max, code="np.maximum({0}, {1})",
             text="max",
             latex=r"\max", section="§8 (max(0, z))", sympy_fn=sympy.Max,
             doc="∂max(0, z)/∂z = step(z); a tie goes to the first argument", sides=_max_sides)
elementwise2("min", lambda y, a, b: E.sub(one, apply("step", E.sub(a, b))),
             lambda y, a, b: apply("step", E.sub(a, b)), _min, code="np.minimum({0}, {1})",
             text="min",
             latex=r"\min", section="§8 (by symmetry with max)", sympy_fn=sympy.Min,
             doc="∂min(a, b)/∂a = 1 − step(a − b); a tie goes to the first argument",
             sides=_min_sides)


def _slope(name, default):
    """The call of an activation with a scalar slope: ``name(x)`` or ``name(x, a)``."""
    def call(args, keywords, fail):
        return (args if len(args) == 2 else [args[0], E.const(default)]), ()
    return call


def _param_shape(name):
    def shape(shapes, params):
        if not shapes[1].is_scalar:
            raise ShapeError(f"the slope of {name} must be a scalar, not {shapes[1]}")
        return shapes[0]
    return shape


def _below(x):
    """1 − step(x): the indicator of x ≤ 0."""
    return E.sub(one, apply("step", x))


elementwise2("leaky_relu",
             lambda y, x, a: E.add(apply("step", x), E.mul(a, _below(x))),
             lambda y, x, a: E.mul(x, _below(x)),
             _elementwise_pair(lambda x, a: np.where(x > 0, x, a * x), _sp_leaky),
             code="np.where({0} > 0, {0}, {1} * {0})", text="leaky_relu",
             latex=r"\operatorname{leaky\_relu}", infer="power", sympy_fn=_sp_leaky,
             section="deep learning (Maas et al.)", arity=(1, 2), shape=_param_shape("leaky_relu"), call=_slope("leaky_relu", sympy.Rational(1, 100)),
             defaults=(None, sympy.Rational(1, 100)),
             doc="leaky_relu(x, a) = x if x > 0 else a x (a = 0.01 by default); ∂/∂x = 1 for "
                 "x > 0, a for x ≤ 0 (at 0: a, as relu′(0) = 0)")
elementwise2("elu",
             lambda y, x, a: E.add(apply("step", x), E.mul(_below(x), E.add(y, a))),
             lambda y, x, a: E.mul(_below(x), apply("expm1", x)),
             _elementwise_pair(lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
                               _sp_elu),
             code="np.where({0} > 0, {0}, {1} * np.expm1(np.minimum({0}, 0)))", text="elu",
             latex=r"\operatorname{elu}", infer="power", sympy_fn=_sp_elu,
             section="deep learning (Clevert et al.)", arity=(1, 2), shape=_param_shape("elu"), call=_slope("elu", sympy.Integer(1)),
             defaults=(None, sympy.Integer(1)),
             doc="elu(x, a) = x if x > 0 else a (exp(x) − 1) (a = 1 by default); ∂/∂x = 1 for "
                 "x > 0, elu(x) + a for x ≤ 0")


def _matmul_shape(shapes, params):
    """A chain's shape, a 1×1 factor scaling (as ``E.matmul`` builds it).  Inference has
    already checked the user's @ (a scalar operand, inner sizes)."""
    return functools.reduce(E.chain_shape, shapes)


class Partials(Sequence):
    """The partial Jacobians of an n-ary operation, each built when it is first asked for: a
    chain of n factors differentiated by one of them builds one partial, not n (each of n
    factors)."""

    def __init__(self, count: int, build: Callable[[int], Expr]):
        self._count, self._build, self._built = count, build, {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> Expr:
        if not 0 <= i < self._count:        # (Sequence's iteration ends at the IndexError)
            raise IndexError(i)
        if i not in self._built:
            self._built[i] = self._build(i)
        return self._built[i]


def _matmul_partials(y, args, params):
    """For y = L A R: ∂vec(y)/∂vec(A) = Rᵀ ⊗ L (Matrix Cookbook 520), with L, R = I when absent;
    so ∂(Wx)/∂x = W (paper §6) and ∂vec(Wx)/∂vec(W) = xᵀ ⊗ I."""
    n = len(args)
    lefts: list = []      # lefts[i] = args[0] ⋯ args[i-1], rights[i] = args[i+1] ⋯ args[n-1]:
    rights: list = []     # each built from its neighbour, so all n share their pieces

    def partial(i):
        a = args[i]
        if not lefts:
            lefts.append(None)
            for j in range(1, n):
                lefts.append(args[0] if j == 1 else E.matmul(lefts[-1], args[j - 1]))
            rights.extend([None] * n)
            for j in range(n - 2, -1, -1):
                rights[j] = args[n - 1] if j == n - 2 else E.matmul(args[j + 1], rights[j + 1])
        left = lefts[i] if i else E.identity(a.shape.rows)
        right = rights[i] if i + 1 < n else E.identity(a.shape.cols)
        return kron(E.transpose(right), left)
    return Partials(n, partial)


CHAIN_PIECE = 32   # factors ordered together; a longer chain is multiplied out in pieces


def _matmul_code(args, node, ctx):
    """The chain in its cheapest association (the matrix-chain order, each symbolic dimension
    counted as large): g (xᵀ W) costs n², (g xᵀ) W costs n³.  A column times a row is an outer
    product; a 1×1 factor multiplies.  A chain longer than ``CHAIN_PIECE`` is ordered in
    pieces, each computed into a local of its own (``ctx.assign``), then the chain of the
    pieces: the ordering costs linear time, and no expression nests deeper than Python's
    parser allows."""
    items = list(zip(args, (as_matrix(a.shape) for a in node.operands)))
    while len(items) > CHAIN_PIECE:
        pieces = [items[i:i + CHAIN_PIECE] for i in range(0, len(items), CHAIN_PIECE)]
        items = [p[0] if len(p) == 1 else _piece(p, ctx) for p in pieces]
    return _bare(_chain_order(items, ctx)[0])


def _piece(items, ctx):
    """(the local holding the product of ``items``, its (rows, cols))."""
    text, dims = _chain_order(items, ctx)
    return ctx.assign(_bare(text)), dims


def _bare(text: str) -> str:
    return text[1:-1] if text.startswith("(") else text


def _chain_order(items, ctx):
    """(code, (rows, cols)) of the product of ``items`` — (code, (rows, cols)) each — in the
    matrix-chain order."""
    dims = [d for _, d in items]
    size = [(ctx.estimate(r), ctx.estimate(c)) for r, c in dims]
    k = len(items)
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
            return items[i]
        s = split[i, j]
        (a, (ra, ca)), (b, (rb, cb)) = build(i, s), build(s + 1, j)
        out = (ra, cb)
        if (ra, ca) == (ONE, ONE) or (rb, cb) == (ONE, ONE):
            return f"({a} * {b})", out
        if ca == ONE:                       # column times row
            return f"np.outer({a}, {b})", out
        return f"({a} @ {b})", out

    return build(0, k - 1)


def _sympy_matmul(args, node):
    scal = [a for a in args if not _is_matrix(a)]
    mats = [a for a in args if _is_matrix(a)]
    out = sympy.MatMul(*mats)
    out = sympy.Mul(*scal) * out if scal else out
    return out[0, 0] if node.shape.is_scalar and _is_matrix(out) else out


def transposed_product(e: Expr) -> Expr:
    """(A B C)ᵀ written as Cᵀ Bᵀ Aᵀ (the transpose of anything else as it is)."""
    if isinstance(e, Call) and e.op == "matmul":
        return E.matmul(*(E.transpose(f) for f in reversed(e.operands)))
    return E.transpose(e)


def _matmul_build(args, params, old):
    """A @ B @ … as NumPy reads it (``shapes.numpy_matmul``): a vector on the left that does
    not chain as a column is its transpose, and a product NumPy would return 1-D is written as
    the vector it is: w@x = wᵀ x, x@W = Wᵀ x, x@A@B = Bᵀ Aᵀ x."""
    factors = [args[0]]         # multiplied out in one step (one factor at a time is quadratic)
    shape = args[0].shape
    implicit = False
    for f in args[1:]:
        if shape.is_vector and not (f.shape.is_row or f.shape.is_scalar):
            factors = [transposed_product(E.matmul(*factors))]
            shape = factors[0].shape
            implicit = True
        factors.append(f)
        shape = E.chain_shape(shape, f.shape)
    acc = E.matmul(*factors)
    if implicit and acc.shape.is_row:
        acc = transposed_product(acc)
    return acc


def _juxtapose_build(args, params, old):
    """a b c written side by side: scalars scale, the rest is a matrix product (2x, 2/N aᵀ X)."""
    scalars = [a for a in args if a.shape.is_scalar]
    rest = [a for a in args if not a.shape.is_scalar]
    return E.mul(*scalars, _matmul_build(rest, (), None)) if rest else E.mul(*scalars)


_register(Rule("juxtapose", "bilinear", (2, 10**9), "side_by_side", _matmul_shape, None,
               build=_juxtapose_build, chain=True, callable=False, macro=True,
               section="notation: juxtaposition",
               doc="a b side by side: a scalar factor scales, otherwise the matrix product (as "
                   "matcalc prints products: 2x, W x, xᵀ A x)"))


def _weighs_a_log(y: Expr, f: Expr) -> bool:
    """``y`` multiplies a logarithm in ``f``, as the labels of a cross-entropy do:
    y ⊙ log(p), y ⊙ log_softmax(z) (= y ⊙ (z − logsumexp(z)))."""
    for n in E.topological(f):
        if isinstance(n, Call) and n.op == "mul" and y in n.operands:
            for b in n.operands:
                if b != y and any(isinstance(c, Call) and c.op in ("log", "logsumexp")
                                  for c in E.topological(b)):
                    return True
    return False


def _row_sums_of_weights(node, f):
    """Y 𝟙 left in the derivative of a cross-entropy over a batch, −sum(Y ⊙ log_softmax(Z,
    axis=1)): 𝟙 for labels whose rows are probabilities, which the user can declare."""
    for y, c in zip(node.operands, node.operands[1:]):
        if isinstance(y, E.Var) and y.shape.is_matrix and isinstance(c, E.Const) and \
                "prob" not in y.props and _weighs_a_log(y, f):
            m, n = y.shape.as_strings()
            return (f"{y.name} 𝟙 = 𝟙 when each row of {y.name} holds probabilities or one-hot "
                    f"labels: declare it (--shape {y.name}={m},{n},prob or "
                    f"shapes={{'{y.name}': '{m},{n},prob'}}) to simplify")
    return None


_register(Rule("matmul", "bilinear", (2, 10**9), "chain", _matmul_shape, _matmul_partials,
               numpy=_matmul, code=_matmul_code, text="", latex="", fixity="product_chain",
               prec=MUL, section="§6 (affine layer Wx + b); Matrix Cookbook (520)",
               doc="∂(Wx)/∂x = W; ∂vec(Wx)/∂vec(W) = kron(xᵀ, I)", chain=True, callable=False,
               build=_matmul_build, matrix=_sympy_matmul, result_note=_row_sums_of_weights,
               jacobian_doc={"*": "matrix product: linear in each factor"}))


def _dot_shape(shapes, params):
    a, b = shapes
    if not (a.is_vector and b.is_vector and a == b):
        raise ShapeError(f"· needs two vectors of one length, not {a} and {b}")
    return SCALAR


bilinear("dot", lambda a, b: E.transpose(b), lambda a, b: E.transpose(a),
         lambda a, b: np.dot(np.asarray(a).ravel(), np.asarray(b).ravel()), code="{0} @ {1}",
         shape=_dot_shape, infer="inner", text="·", latex=r" \cdot ", fixity="infix", prec=MUL,
         section="§5 (w · x = sum(w ⊗ x))", doc="∂(w·x)/∂w = xᵀ, ∂(w·x)/∂x = wᵀ",
         matrix=lambda args, node: (sympy.Transpose(args[0]) * args[1])[0, 0])


def _transpose_partial(y, x):
    if not x.shape.is_matrix or x.shape.is_row or x.shape.cols == ONE:
        return E.identity(x.shape.size)  # a vector and its transpose have the same entries
    m, n = x.shape.dims
    return E.call("K", [], Shape((m * n, m * n)), params=(m, n))


def _transpose_code(args, node, ctx):
    s = node.operands[0].shape
    return f"{args[0]}.T" if s.is_matrix and not s.is_row else args[0]  # 1-D: nothing to do


def _transpose(x):
    """xᵀ's entries in order; the evaluators reshape every value to its node's shape (a vector
    and its transpose hold the same entries)."""
    return np.transpose(x)


linear("T", _transpose_partial, lambda g, y, args, params: (E.transpose(g),), _transpose,
       code=_transpose_code, shape=lambda shapes, params: shapes[0].T, infer="flip", text="ᵀ",
       latex=r"^{\top}", fixity="transposed", prec=POST, view=True, section="§2 (layouts)",
       doc="∂xᵀ/∂x = I for vectors; the commutation matrix 𝕂 for matrices",
       what="the transpose",
       build=lambda a, p, s: E.transpose(*a),
       matrix=lambda args, node: sympy.Transpose(args[0]) if _is_matrix(args[0]) else args[0])


def _stack_shape(shapes, params):
    for s in shapes:
        if not s.is_scalar:
            raise ShapeError(f"a vector literal [f, g, …] holds scalars, not {s}")
    return Shape((dim(len(shapes)),))


def _stack_build(args, params, old):
    """[f, g, h]: a column of scalars; [gᵀ, 0ᵀ]: rows, the matrix they stack (a scalar item
    a row of that scalar)."""
    rows = [a.shape for a in args if a.shape.is_row]
    if not rows:
        return apply("stack", *args)
    width = rows[0]
    return E.call("vstack", [E.expand_to(a, width) for a in args],
                  Shape((dim(len(args)), width.cols)))


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


_register(Rule("stack", "stack", (1, 10**9), "literal", _stack_shape, _stack_partials,
               jvp=_stack_jvp, numpy=_stack, code=lambda args, node, ctx: _array(args),
               text="[]", latex="", fixity="column", section="§2 (Jacobians)",
               doc="∂[f, g]/∂x stacks ∂f/∂x and ∂g/∂x", callable=False, build=_stack_build,
               matrix=lambda args, node: sympy.Matrix(args),
               jacobian_doc={"*": "vector of functions: one row per entry"}))

# --- element-wise functions (§7) -------------------------------------------------------------

elementwise("exp", lambda y, x: y, "exp", sympy.exp, latex=r"\exp", doc="exp′ = exp")
elementwise("log", lambda y, x: E.div(one, x), "log", sympy.log, latex=r"\ln", text="ln",
            domain=(0.2, 3.0), section="§1 (ln)", doc="log′(x) = 1/x")
elementwise("sqrt", lambda y, x: E.div(one, E.mul(_s(2), y)), "sqrt", sympy.sqrt,
            latex=r"\sqrt", domain=(0.2, 3.0), doc="√x′ = 1/(2√x)", fixity="root")
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
            doc="relu′ = step, relu′(0) = 0",
            sides=lambda n: (n.operands[0], E.zero(SCALAR), n.operands[0]))
elementwise("abs", lambda y, x: apply("sign", x), "abs", sympy.Abs, latex=r"\operatorname{abs}",
            doc="abs′ = sign, abs′(0) = 0")
elementwise("softplus", lambda y, x: apply("sigmoid", x), _softplus, _sp_softplus,
            code="np.logaddexp(0, {0})", doc="softplus′ = σ")
elementwise("step", lambda y, x: E.zero(x.shape), _step, _sp_step, code="np.heaviside({0}, 0.0)",
            doc="step(x) = 1 if x > 0 else 0; step′ = 0 away from the kink", indicator=True,
            sides=lambda n: (n.operands[0], E.zero(SCALAR), E.const(1)))
elementwise("sign", lambda y, x: E.zero(x.shape), "sign", sympy.sign, doc="sign′ = 0 away from 0",
            indicator=True)
elementwise("sinh", lambda y, x: apply("cosh", x), "sinh", sympy.sinh, latex=r"\sinh",
            doc="sinh′ = cosh")
elementwise("cosh", lambda y, x: apply("sinh", x), "cosh", sympy.cosh, latex=r"\cosh",
            doc="cosh′ = sinh")
elementwise("log1p", lambda y, x: E.div(one, E.add(one, x)), "log1p",
            lambda x: sympy.log(1 + x), domain=(-0.8, 3.0), doc="log1p′(x) = 1/(1 + x)",
            section="deep learning (numerically stable log(1 + x))")
elementwise("expm1", lambda y, x: apply("exp", x), "expm1", lambda x: sympy.exp(x) - 1,
            doc="expm1′ = exp", section="deep learning (numerically stable exp(x) − 1)")
elementwise("erf", lambda y, x: E.mul(E.const(2 / sympy.sqrt(sympy.pi)),
                                      apply("exp", E.neg(E.power(x, _s(2))))),
            _erf, sympy.erf, code=_ERF_CODE, latex=r"\operatorname{erf}",
            doc="erf′(x) = 2/√π exp(−x²)", section="the error function")
elementwise("normcdf", lambda y, x: apply("normpdf", x),
            lambda x: 0.5 * (1 + _erf(np.asarray(x) / math.sqrt(2))), _sp_normcdf,
            code="0.5 * (1 + np.vectorize(math.erf, otypes=[float])({0} / np.sqrt(2)))",
            text="Φ", latex=r"\Phi", doc="Φ′ = φ, the standard normal density",
            section="the standard normal distribution (gelu)")
elementwise("normpdf", lambda y, x: E.neg(E.mul(x, y)),
            lambda x: np.exp(-np.asarray(x) ** 2 / 2) / math.sqrt(2 * math.pi), _sp_normpdf,
            code="np.exp(-{0} ** 2 / 2) / np.sqrt(2 * np.pi)", text="φ", latex=r"\varphi",
            doc="φ′(x) = −x φ(x)", section="the standard normal distribution (gelu)")
elementwise("gelu", lambda y, x: E.add(apply("normcdf", x), E.mul(x, apply("normpdf", x))),
            lambda x: 0.5 * np.asarray(x) * (1 + _erf(np.asarray(x) / math.sqrt(2))),
            lambda x: x * _sp_normcdf(x),
            code="0.5 * {0} * (1 + np.vectorize(math.erf, otypes=[float])({0} / np.sqrt(2)))",
            latex=r"\operatorname{gelu}", doc="gelu(x) = x Φ(x) (exact); gelu′ = Φ(x) + x φ(x)",
            section="deep learning (Hendrycks & Gimpel)")
elementwise("silu", lambda y, x: E.mul(apply("sigmoid", x),
                                       E.add(one, E.mul(x, E.sub(one, apply("sigmoid", x))))),
            lambda x: np.asarray(x) * _sigmoid(np.asarray(x)), lambda x: x / (1 + sympy.exp(-x)),
            code="{0} * np.exp(-np.logaddexp(0, -{0}))", latex=r"\operatorname{silu}",
            doc="silu(x) = x σ(x); silu′ = σ(x) (1 + x (1 − σ(x)))", section="deep learning")
elementwise("softsign", lambda y, x: E.div(one, E.power(E.add(one, apply("abs", x)), _s(2))),
            lambda x: np.asarray(x) / (1 + np.abs(x)), lambda x: x / (1 + sympy.Abs(x)),
            code="{0} / (1 + np.abs({0}))", latex=r"\operatorname{softsign}",
            doc="softsign(x) = x/(1 + |x|); softsign′ = 1/(1 + |x|)²", section="deep learning")

# --- reductions (§5) and scalar functions of matrices (Matrix Cookbook) -------------------------
# NumPy's axis: sum(X, axis=0) adds down the rows (one entry per column), axis=1 along each row;
# -1 is the last axis.  On a vector, axis 0 (or -1) is the whole vector.


def _number(node) -> sympy.Expr | None:
    """The value of a literal number as parsed (−1 is (−1)·1 before inference), or None."""
    if isinstance(node, E.Const):
        return node.value
    if isinstance(node, Call) and node.op == "mul" and all(
            isinstance(a, E.Const) for a in node.operands):
        return sympy.Mul(*(a.value for a in node.operands))
    return None


AXIS_HINT = "axis=0 works down the rows (one result per column), axis=1 along each row, as NumPy"


def _axis(keywords, fail) -> tuple:
    """The params of an ``axis=`` keyword: (0,), (1,), (−1,), or () when absent."""
    node = keywords.get("axis")
    if node is None:
        return ()
    value = _number(node)
    if value not in (0, 1, -1):
        fail("axis must be 0, 1 or -1", node, hint=AXIS_HINT)
    return (int(value),)


def _axis_call(args, keywords, fail):
    return args, _axis(keywords, fail)


def axis_of(node) -> int | None:
    """The axis a node of an axis-taking operation works along, or None for all entries."""
    rule = RULES[node.op]
    i = rule.axis_param
    return node.params[i] if i is not None and len(node.params) > i else None


def _along(x: Expr, axis) -> int | None:
    """The axis a typed operand is reduced along: None for a vector (its one axis) or none
    given, else 0 or 1 (−1 is 1 for a matrix)."""
    if axis is None or not x.shape.is_matrix:
        return None
    return 1 if axis == -1 else axis


def _sums(x: Expr, axis: int) -> Expr:
    """The column sums Xᵀ 𝟙 (axis 0) or the row sums X 𝟙 (axis 1) of a matrix, as vectors."""
    rows, cols = x.shape.dims
    if axis == 0:
        return E.matmul(E.transpose(x), E.ones(Shape((rows,))))
    return E.matmul(x, E.ones(Shape((cols,))))


def _sum_build(args, params, old):
    x = args[0]
    axis = _along(x, params[0] if params else None)
    return apply("sum", x) if axis is None else _sums(x, axis)


def _mean_build(args, params, old):
    x = args[0]
    axis = _along(x, params[0] if params else None)
    if axis is None:
        return apply("mean", x)
    return E.div(_sums(x, axis), E.const(x.shape.dims[axis]))


def _broadcast_back(v: Expr, x: Expr, axis: int) -> Expr:
    """A vector of one value per row (axis 1: v 𝟙ᵀ) or per column (axis 0: 𝟙 vᵀ) in x's shape."""
    rows, cols = x.shape.dims
    if axis == 1:
        return E.matmul(v, E.transpose(E.ones(Shape((cols,)))))
    return E.matmul(E.ones(Shape((rows,))), E.transpose(v))



def _sympy_sum(args, node):
    x = node.operands[0].shape
    return (sympy.OneMatrix(1, x.rows) * args[0] * sympy.OneMatrix(x.cols, 1))[0, 0]


def _sum_of_weights(node, f):
    """sum(y) left in the derivative of a cross-entropy −sum(y ⊙ log(p)): 1 for labels that
    are probabilities, which the user can declare."""
    y = node.operands[0]
    if not (isinstance(y, E.Var) and _weighs_a_log(y, f)):
        return None
    if y.shape.is_matrix:         # a batch of labels: each row sums to 1
        m, n = y.shape.as_strings()
        return (f"sum({y.name}) = {m} when each row of {y.name} holds probabilities or one-hot "
                f"labels: declare it (--shape {y.name}={m},{n},prob or "
                f"shapes={{'{y.name}': '{m},{n},prob'}}) to simplify")
    n = y.shape.as_strings()[0]
    return (f"sum({y.name}) = 1 when {y.name} holds probabilities or one-hot labels: declare it "
            f"(--shape {y.name}={n},prob or shapes={{'{y.name}': '{n},prob'}}) to simplify")


reduction("sum", lambda y, x, p: E.ones(x.shape), lambda x: np.sum(np.asarray(x)),
          code="np.sum({0})", doc="∂sum(x)/∂x = 𝟙ᵀ; sum(X, axis=1) = X 𝟙 (row sums), "
          "sum(X, axis=0) = Xᵀ 𝟙 (column sums)", latex=r"\sum", matrix=_sympy_sum,
          result_note=_sum_of_weights, call=_axis_call, keywords=("axis",), axis_param=0,
          build=_sum_build)
reduction("mean", lambda y, x, p: E.Const(x.shape, value=1 / x.shape.size),
          lambda x: np.sum(np.asarray(x)) / np.asarray(x).size, code="np.mean({0})",
          doc="∂mean(x)/∂x = 𝟙ᵀ/n; mean(X, axis=1) = X 𝟙/n", call=_axis_call,
          keywords=("axis",), axis_param=0, build=_mean_build)


def _norm_grad(y, x, params):
    if params and params[0] == 1:
        return apply("sign", x)
    return E.div(x, y)


def _norm_call(args, keywords, fail):
    """norm(x), norm(x, 1), norm(X, axis=1): the order (1 or 2) and the axis are params."""
    p = 2
    if len(args) == 2:
        node = args[1]
        if _number(node) not in (1, 2):
            fail("the second argument of norm must be 1 or 2", node,
                 hint="write norm(x) or norm(x, 1)")
        p = int(_number(node))
    return args[:1], (p,) + _axis(keywords, fail)


def _norm_build(args, params, old):
    """The norms of the rows or columns of a matrix: √(sum(X², axis)), sum(abs(X), axis)."""
    x = args[0]
    p = params[0] if params else 2
    axis = _along(x, params[1] if len(params) > 1 else None)
    if axis is None:
        return apply("norm", x, params=(p,))
    if p == 1:
        return _sums(apply("abs", x), axis)
    return apply("sqrt", _sums(E.power(x, E.const(2)), axis))


def _sympy_norm(args, node):
    """‖x‖ = √(sum of squares) (Frobenius for a matrix); ‖x‖₁ = sum of |entries|."""
    x = args[0]
    if node.params[0] == 1:
        return _entry_sum(_applyfunc(sympy.Abs, x))
    if isinstance(x, sympy.MatrixBase) or not _is_matrix(x):     # (of a scalar, √(x²) = |x|)
        return sympy.sqrt(_entry_sum(_applyfunc(lambda t: t**2, x)))
    return sympy.sqrt(_entry_sum(sympy.matrices.expressions.HadamardProduct(x, x)))


reduction("norm", _norm_grad, _norm, arity=(1, 2), call=_norm_call, fixity="norm",
          keywords=("axis",), axis_param=1, build=_norm_build,
          text="‖", latex=r"\lVert",
          code=lambda args, node, ctx: f"np.sum(np.abs({args[0]}))" if node.params == (1,)
          else f"np.linalg.norm({args[0]})", matrix=_sympy_norm,
          doc="∂‖x‖/∂x = xᵀ/‖x‖; ∂‖x‖₁/∂x = sign(x)ᵀ")


def _of_scalar(op, scalar):
    """``op`` of a matrix; of a scalar (a 1×1 product), ``scalar(x)``: tr(s) = det(s) = s."""
    def build(args, params, old):
        x = args[0]
        return scalar(x) if x.shape.is_scalar else apply(op, x, params=params)
    return build


reduction("trace", lambda y, X, p: E.identity(X.shape.rows),
          _obj(lambda x: np.trace(x), lambda m: m.trace()), code="np.trace({0})",
          infer="square", section="Matrix Cookbook (100)", text="tr",
          latex=r"\operatorname{tr}", doc="∂tr(X)/∂X = I",
          matrix=lambda args, node: sympy.Trace(args[0]), build=_of_scalar("trace", lambda x: x))
reduction("det", lambda y, X, p: E.mul(y, E.transpose(apply("inv", X))),
          _obj(lambda x: np.linalg.det(x), lambda m: m.det()), code="np.linalg.det({0})",
          infer="square",
          latex=r"\det", section="Matrix Cookbook (49)", doc="∂det(X)/∂X = det(X) X⁻ᵀ",
          matrix=lambda args, node: sympy.Determinant(args[0]),
          build=_of_scalar("det", lambda x: x))
reduction("logdet", lambda y, X, p: E.transpose(apply("inv", X)),
          _obj(lambda x: np.linalg.slogdet(x)[1], lambda m: sympy.log(m.det())),
          code="np.linalg.slogdet({0})[1]", infer="square", latex=r"\log\det",
          section="Matrix Cookbook (57)", doc="∂log det(X)/∂X = X⁻ᵀ",
          matrix=lambda args, node: sympy.log(sympy.Determinant(args[0])),
          build=_of_scalar("logdet", lambda x: apply("log", x)))
def _softmax_along(x: Expr, params) -> Expr:
    return apply("softmax", x, params=params)


def _lse_shape(shapes, params):
    x = shapes[0]
    if params and x.is_matrix:
        return Shape((x.dims[1 - params[0]],))
    if not x.is_vector:
        raise ShapeError(f"logsumexp takes a vector, not {x}")
    return SCALAR


def _lse_partials(y, args, params):
    """∂ logsumexp(X, axis=1)/∂vec(X) = (𝟙ᵀ ⊗ I) diag(vec(S)), S = softmax(X, axis=1): row i
    depends on row i of X only, with weights the softmax of that row (axis 0: I ⊗ 𝟙ᵀ)."""
    x = args[0]
    if not params:
        return (grad_row(_softmax_along(x, ())),)
    (m, n), S = x.shape.dims, _softmax_along(x, params)
    D = E.call("jdiag", [S], Shape((m * n, m * n)))
    pick = kron(E.transpose(_ones(n)), E.identity(m)) if params[0] == 1 else \
        kron(E.identity(n), E.transpose(_ones(m)))
    return (E.matmul(pick, D),)


def _lse_vjp(g, y, args, params):
    """X̄ = (g 𝟙ᵀ) ⊙ S for the row-wise logsumexp (axis 0: (𝟙 gᵀ) ⊙ S)."""
    if not params:
        return None
    x = args[0]
    return (E.mul(_broadcast_back(g, x, params[0]), _softmax_along(x, params)),)


def _lse_build(args, params, old):
    x = args[0]
    axis = _along(x, params[0] if params else None)
    return apply("logsumexp", x, params=() if axis is None else (axis,))


def _lse_code(args, node, ctx):
    if node.params:
        return f"np.logaddexp.reduce({args[0]}, axis={node.params[0]})"
    return f"np.logaddexp.reduce({args[0]})"


reduction("logsumexp", lambda y, x, p: apply("softmax", x), _logsumexp,
          code=_lse_code, infer="vec2scalar", shape=_lse_shape, partials=_lse_partials,
          vjp=_lse_vjp, call=_axis_call, keywords=("axis",), axis_param=0, build=_lse_build,
          section="deep learning", doc="∂logsumexp(x)/∂x = softmax(x)ᵀ",
          matrix=lambda args, node: sympy.log(_entry_sum(_applyfunc(sympy.exp, args[0])))
          if not node.params else _applyfunc(sympy.log, _applyfunc(sympy.exp, args[0]) *
                                             sympy.OneMatrix(args[0].shape[1], 1)
                                             if node.params[0] == 1 else
                                             _applyfunc(sympy.exp, args[0]).T *
                                             sympy.OneMatrix(args[0].shape[0], 1)))


def _square(shapes, params):
    if not shapes[0].is_square:
        raise ShapeError(f"inv takes a square matrix, not {shapes[0]}")
    return shapes[0]


def _inv_partial(y):
    """∂vec(X⁻¹)/∂vec(X) = −X⁻ᵀ ⊗ X⁻¹ (Matrix Cookbook 59)."""
    return E.neg(kron(E.transpose(y), y))


_register(Rule("inv", "matrix", (1, 1), "invertible", _square,
               lambda y, args, params: (_inv_partial(y),),
               numpy=_obj(lambda x: np.linalg.inv(x), lambda m: _as_array(m.inv())),
               code="np.linalg.inv({0})", text="⁻¹", latex="^{-1}", fixity="postfix",
               prec=POST, transposed=("⁻ᵀ", r"^{-\top}"), section="Matrix Cookbook (59)",
               matrix=lambda args, node: sympy.Inverse(args[0]),
               build=_of_scalar("inv", lambda x: E.div(one, x)),
               doc="d(X⁻¹) = −X⁻¹ dX X⁻¹", jacobian_doc={0: "inverse: −X⁻ᵀ ⊗ X⁻¹"}))


def _sympy_softmax(args, node):
    """exp(x)/(𝟙ᵀ exp(x)) (row by row or column by column with an axis)."""
    x = args[0]
    e = _applyfunc(sympy.exp, x)
    if not node.params:
        return e / _entry_sum(e)
    rows, cols = x.shape
    if node.params[0] == 1:         # each row over its sum: diag(E 𝟙)⁻¹ E
        sums = e * sympy.OneMatrix(cols, 1)
        return sympy.matrices.expressions.DiagMatrix(sums).inverse() * e
    sums = sympy.OneMatrix(1, rows) * e
    return e * sympy.matrices.expressions.DiagMatrix(sums.T).inverse()


def _vec2vec(shapes, params):
    if params and shapes[0].is_matrix:
        return shapes[0]
    if not shapes[0].is_vector:
        raise ShapeError(f"softmax takes a vector, not {shapes[0]}")
    return shapes[0]


def _softmax_partial(y, args, params):
    """∂softmax(x)/∂x = diag(s) − s sᵀ with s = softmax(x).  Row by row (axis=1), with
    D = diag(vec(S)): ∂vec(S)/∂vec(X) = D − D (𝟙𝟙ᵀ ⊗ I) D, since dS = S ⊙ dX − S ⊙ ((S ⊙ dX) 𝟙𝟙ᵀ)
    (axis 0: D − D (I ⊗ 𝟙𝟙ᵀ) D)."""
    s = y
    if not params:
        return (E.sub(E.call("jdiag", [s], Shape((s.shape.rows, s.shape.rows))),
                      E.matmul(s, E.transpose(s))),)
    m, n = s.shape.dims
    D = E.call("jdiag", [s], Shape((m * n, m * n)))
    spread = kron(_ones(n, n), E.identity(m)) if params[0] == 1 else \
        kron(E.identity(n), _ones(m, m))
    return (E.sub(D, E.matmul(D, spread, D)),)


def _softmax_vjp(g, y, args, params):
    """X̄ = S ⊙ (G − ((G ⊙ S) 𝟙) 𝟙ᵀ) row by row (axis 0: S ⊙ (G − 𝟙 (𝟙ᵀ (G ⊙ S))))."""
    if not params:
        return None
    s, axis = y, params[0]
    g = E.expand_to(g, s.shape)
    return (E.mul(s, E.sub(g, _broadcast_back(_sums(E.mul(g, s), axis), s, axis))),)


def _softmax_build(args, params, old):
    x = args[0]
    axis = _along(x, params[0] if params else None)
    return apply("softmax", x, params=() if axis is None else (axis,))


def _softmax_code(args, node, ctx):
    if node.params:
        return (f"np.exp({args[0]} - np.logaddexp.reduce({args[0]}, axis={node.params[0]}, "
                f"keepdims=True))")
    return "np.exp({0} - np.logaddexp.reduce({0}))".format(args[0])


def _log_softmax_build(args, params, old):
    """log_softmax(x) = x − logsumexp(x) (each entry), row by row with axis=1: X − lse 𝟙ᵀ."""
    x = args[0]
    axis = _along(x, params[0] if params else None)
    if axis is None:
        return E.sub(x, apply("logsumexp", x))
    return E.sub(x, _broadcast_back(apply("logsumexp", x, params=(axis,)), x, axis))


_register(Rule("log_softmax", "vector", (1, 1), "vec2vec", _vec2vec, None,
               text="log_softmax", latex=r"\operatorname{log\_softmax}",
               section="deep learning", build=_log_softmax_build, call=_axis_call, macro=True,
               keywords=("axis",), axis_param=0,
               doc="log_softmax(x) = x − logsumexp(x); its Jacobian is I − 𝟙 softmax(x)ᵀ"))


_register(Rule("softmax", "vector", (1, 1), "vec2vec", _vec2vec, _softmax_partial,
               vjp=_softmax_vjp, build=_softmax_build, call=_axis_call, keywords=("axis",),
               axis_param=0,
               numpy=_softmax, code=_softmax_code, text="softmax",
               latex=r"\operatorname{softmax}",
               section="deep learning", doc="∂s/∂x = diag(s) − s sᵀ", name_hint="s",
               matrix=_sympy_softmax,
               jacobian_doc={0: "softmax: diag(s) − s sᵀ"}))


def _diag_shape(shapes, params):
    s = shapes[0]
    if s.is_vector:
        return Shape((s.rows, s.rows))
    if s.is_square:
        return Shape((s.rows,))
    raise ShapeError(f"diag takes a vector or a square matrix, not {s}")


def _diag_partial(y, args, params):
    """vec(diag(v)) = 𝔻ₙ v and diag(X) = 𝔻ₙᵀ vec(X), with 𝔻ₙ the n²×n matrix of the
    diagonal's positions in vec."""
    x = args[0]
    n = x.shape.dims[0]
    D = E.call("diag_embedding", [], Shape((n * n, n)), params=(n,))
    return (D if x.shape.is_vector else E.transpose(D),)


def _diagonal_embedding(n):
    D = np.zeros((int(n) * int(n), int(n)))
    for i in range(int(n)):
        D[i * int(n) + i, i] = 1
    return D


_register(Rule("diag", "linear", (1, 1), "diagonal", _diag_shape, _diag_partial,
               vjp=lambda g, y, args, params: (apply("diag", g),),
               numpy=_obj(_diag, lambda m: _as_array(m.diagonal()) if m.shape[0] != 1 and
                          m.shape[1] != 1 else _as_array(sympy.diag(*m))),
               code="np.diag({0})", text="diag", latex=r"\operatorname{diag}",
               section="linear algebra",
               doc="diag(v) builds a diagonal matrix; diag(X) takes the diagonal; both linear: "
                   "∂vec(diag(v))/∂v = 𝔻ₙ, ∂diag(X)/∂vec(X) = 𝔻ₙᵀ",
               matrix=lambda args, node: sympy.matrices.expressions.DiagMatrix(args[0])
               if node.shape.is_matrix else sympy.matrices.expressions.DiagonalOf(args[0]),
               jacobian_doc={0: "diag is linear: it moves entries to or from the diagonal"}))

# --- constants of a named size: eye(n), ones(n), ones(m, n); I and 𝟙 of an inferred size ------


def _dims_call(name):
    """eye(n), ones(m, n): the arguments are dimensions (names or positive integers)."""
    def call(args, keywords, fail):
        dims = []
        for a in args:
            size = _size_of(a)
            if size is None:
                fail(f"the arguments of {name} are sizes: names or positive integers", a,
                     hint=f"write {name}(n) or {name}(3)" + (", or ones(m, n) for a matrix"
                                                          if name == "ones" else ""))
            dims.append(size)
        return [], tuple(dims)
    return call


def _size_of(node):
    """A size as written: a name, a positive integer, or a product of them (k m, k*m)."""
    if isinstance(node, E.Var):
        return dim(node.name)
    if isinstance(node, E.Const) and node.value.is_Integer and node.value > 0:
        return node.value
    if isinstance(node, Call) and node.op in ("mul", "juxtapose"):
        parts = [_size_of(a) for a in node.operands]
        return None if None in parts else sympy.Mul(*parts)
    return None


def _eye_shape(shapes, params):
    n = sympy.Mul(*params)          # Iₖₘ: the identity of size k m
    return Shape((n, n))


_register(Rule("eye", "constant", (1, 1), "identity", _eye_shape, text="eye",
               build=lambda a, p, old: E.identity(sympy.Mul(*p) if p else old.rows),
               call=_dims_call("eye"), section="linear algebra", macro=True,
               doc="eye(n) = I, the n×n identity (written I where its size is inferred); "
                   "a constant"))
def constant(name, value, doc):
    """A constant of a named size, every entry ``value``: ones(m, n), zeros(n)."""
    maker = E.ones if value == 1 else E.zero
    return _register(Rule(name, "constant", (1, 2), "constant", None,   # a macro: no node,
                          text=name, call=_dims_call(name), section="linear algebra",
                          macro=True, doc=doc,                   # so no shape of its own
                          build=lambda a, p, old: maker(old if old is not None else
                                                        Shape(tuple(p)))))


constant("ones", 1, "ones(n) = 𝟙, ones(m, n) = 𝟙𝟙ᵀ (written 𝟙 where its size is inferred); "
         "a constant")
constant("zeros", 0, "zeros(n), zeros(m, n): the zero vector and matrix (written 0ₙ where a "
         "size must be shown); a constant")

# Names that are constants, not variables: I (the identity, its size inferred) and π.
RESERVED = {
    "I": lambda span: Call(None, op="eye", operands=(), span=span),
    "π": lambda span: E.Const(SCALAR, value=sympy.pi, span=span),
}

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


def _jdiag_build(args, params, old):
    d = args[0]
    return jdiag(d, d.shape) if not d.shape.is_scalar else \
        E.mul(d, E.identity(old.rows if old is not None else ONE))


def _sympy_vec(x):
    """vec(X) for SymPy: the column of X's entries (explicit), or an opaque column."""
    if isinstance(x, sympy.MatrixBase):
        return sympy.Matrix(x.T.reshape(x.rows * x.cols, 1))
    rows, cols = x.shape
    return sympy.MatrixSymbol(f"vec({x})", rows * cols, 1)


internal("jdiag", lambda s, p: Shape((s[0].size, s[0].size)), _jdiag, code=_jdiag_code,
         text="diag", latex=r"\operatorname{diag}", left=_left_diag, build=_jdiag_build,
         vec_args=True,
         matrix=lambda args, node: sympy.matrices.expressions.DiagMatrix(
             args[0] if node.operands[0].shape.is_vector else _sympy_vec(args[0])))
def _kron_shape(shapes, params):
    a, b = shapes
    if a.is_scalar or b.is_scalar:
        raise ShapeError(f"kron takes two matrices (or vectors), not {a} and {b}",
                         hint="for a scalar multiple write *")
    rows, cols = a.rows * b.rows, a.cols * b.cols
    return Shape((rows,)) if cols == ONE else Shape((rows, cols))


def _ones(rows, cols=ONE) -> Expr:
    """The constant 𝟙 of shape rows×cols (a vector for one column, the number 1 for 1×1: a
    Kronecker factor of a vector's one column, which would print as 𝟙₁)."""
    if rows == ONE and cols == ONE:
        return E.const(1)
    return E.ones(Shape((rows,)) if cols == ONE else Shape((rows, cols)))


def _kron_partials(y, args, params):
    """vec(A ⊗ B) = (Iₙ ⊗ K_qm ⊗ Iₚ)(vec A ⊗ vec B) for A m×n, B p×q (Magnus & Neudecker,
    Theorem 3.10), so ∂vec(A ⊗ B)/∂vec(A) = (Iₙ ⊗ K_qm ⊗ Iₚ)(I_mn ⊗ vec B) and
    ∂vec(A ⊗ B)/∂vec(B) = (Iₙ ⊗ K_qm ⊗ Iₚ)(vec A ⊗ I_pq)."""
    a, b = args
    (m, n), (p, q) = as_matrix(a.shape), as_matrix(b.shape)
    K = E.call("K", [], Shape((q * m, q * m)), params=(q, m)) if (q != ONE and m != ONE) else \
        E.identity(q * m)
    perm = kron(kron(E.identity(n), K), E.identity(p))
    return (E.matmul(perm, kron(E.identity(m * n), vec(b))),
            E.matmul(perm, kron(vec(a), E.identity(p * q))))


def _kron_vjp(g, y, args, params):
    """The adjoint G of A ⊗ B (mp×nq) sums over blocks: Ā = (Iₘ ⊗ 𝟙ₚᵀ)(G ⊙ (𝟙ₘ𝟙ₙᵀ ⊗ B))(Iₙ ⊗ 𝟙_q)
    and B̄ = (𝟙ₘᵀ ⊗ Iₚ)(G ⊙ (A ⊗ 𝟙ₚ𝟙_qᵀ))(𝟙ₙ ⊗ I_q): each block of G weighted by B, summed, and
    the blocks weighted by A, added."""
    a, b = args
    (m, n), (p, q) = as_matrix(a.shape), as_matrix(b.shape)
    g = E.expand_to(g, y.shape)
    ga = E.matmul(kron(E.identity(m), E.transpose(_ones(p))),
                  E.mul(g, kron(_ones(m, n), b)), kron(E.identity(n), _ones(q)))
    gb = E.matmul(kron(E.transpose(_ones(m)), E.identity(p)),
                  E.mul(g, kron(a, _ones(p, q))), kron(_ones(n), E.identity(q)))
    return (as_shape(ga, a.shape), as_shape(gb, b.shape))


_register(Rule("kron", "bilinear", (2, 2), "kronecker", _kron_shape, _kron_partials, vjp=_kron_vjp,
               numpy=_kron, code=_kron_code, text="kron", latex=r"\operatorname{kron}",
               left=_left_kron, build=lambda a, p, s: kron(*a),
               section="Kronecker product (Magnus & Neudecker, Thm 3.10)",
               doc="kron(A, B), the Kronecker product (⊗ typed between two operands is the "
                   "paper's element-wise product)",
               matrix=lambda args, node: sympy.matrices.expressions.KroneckerProduct(*args),
               jacobian_doc={0: "Kronecker product: linear in each factor",
                             1: "Kronecker product: linear in each factor"}))
def _vec_partials(y, args, params):
    """vec is linear and keeps the entries in order: its Jacobian is I."""
    return (E.identity(args[0].shape.size),)


internal("unvec", lambda s, p: Shape(tuple(p)),
         lambda x, m, n: np.reshape(np.asarray(x), (int(m), int(n)), order="F"),
         code=lambda args, node, ctx: f"np.reshape({args[0]}, {ctx.dims(node.shape)}, "
         "order='F')", text="vec⁻¹", latex=r"\operatorname{vec}^{-1}", view=True)


def _vec_vjp(g, y, args, params):
    """The adjoint of X in vec(X) is g folded back into X's shape, column by column (a vec
    node always holds a matrix: vec() of a vector is the vector itself)."""
    x = args[0]
    return (E.call("unvec", [g], x.shape, params=x.shape.dims),)


internal("vec", lambda s, p: Shape((s[0].size,)), _vec, code="np.ravel({0}, order='F')",
         text="vec", latex=r"\operatorname{vec}", left=_left_column, view=True, infer="flatten",
         callable=True, arity=(1, 1), partials=_vec_partials, build=lambda a, p, old: vec(a[0]),
         vjp=_vec_vjp,
         doc="vec(X) stacks the columns of X into one vector (column-major, as every Jacobian "
             "of a matrix here)", section="linear algebra (Magnus & Neudecker)")
internal("vecT", lambda s, p: Shape((ONE, s[0].size)), _vecT, code="np.ravel({0}, order='F')",
         text="vec", latex=r"\operatorname{vec}", left=_left_gradient_row, fixity="func_T",
         prec=POST, view=True)
internal("K", lambda s, p: Shape((p[0] * p[1], p[0] * p[1])),
         lambda m, n: _commutation(int(m), int(n)),
         code=lambda args, node, ctx: "np.eye({mn})[np.arange({mn}).reshape({n}, {m}).T.ravel()]"
         .format(mn=ctx.dim(node.params[0] * node.params[1]), m=ctx.dim(node.params[0]),
                 n=ctx.dim(node.params[1])), text="𝕂", latex=r"\mathbb{K}",
         fixity="symbol", subscript=lambda p: list(p), infer="symbol")
internal("diag_embedding", lambda s, p: Shape((p[0] * p[0], p[0])), _diagonal_embedding,
         code=lambda args, node, ctx: "np.eye({nn})[:, ::{step}]".format(
             nn=ctx.dim(node.params[0] * node.params[0]), step=ctx.dim(node.params[0] + 1)),
         text="𝔻", latex=r"\mathbb{D}", fixity="symbol", subscript=lambda p: [p[0]],
         infer="symbol")
internal("unit", lambda s, p: Shape((dim(p[1]),)),
         lambda i, n: np.eye(int(n))[int(i)],
         code=lambda args, node, ctx: f"np.eye({node.params[1]})[{node.params[0]}]",
         text="𝕖", latex=r"\mathbf{e}", left=_left_unit, fixity="symbol",
         subscript=lambda p: [p[0] + 1], infer="unit_vector",
         build=lambda a, p, old: E.call("unit", [], old, p if len(p) == 2 else
                                        (p[0], old.dims[0])))
internal("hcat", lambda s, p: Shape((s[0].rows, dim(len(s)))) if s[0].rows != ONE
         else Shape((ONE, dim(len(s)))), _hcat,
         code=lambda args, node, ctx: _array(args) if node.operands[0].shape.is_scalar else
         "np.column_stack([" + ", ".join(args) + "])", text="[]", fixity="columns",
         what="a matrix of columns",
         matrix=lambda args, node: _sympy_stack(args, horizontal=True))
def _vstack_partials(y, args, params):
    """∂vec(Y)/∂vec(rᵢ) = I ⊗ 𝕖ᵢ: the i-th row of a matrix by rows, rᵢ 1×n, fills the
    entries i, i + m, …, of vec(Y) (column-major)."""
    m, n = len(args), args[0].shape.cols
    return tuple(kron(E.identity(n), E.call("unit", [], Shape((dim(m),)), params=(i, m)))
                 for i in range(m))


def _vstack_vjp(g, y, args, params):
    """The adjoint of the i-th row of a matrix by rows is the i-th row of its adjoint, 𝕖ᵢᵀ G."""
    m = len(args)
    return tuple(E.matmul(E.transpose(E.call("unit", [], Shape((dim(m),)), params=(i, m))), g)
                 for i in range(m))


def _vstack_jvp(y, args, jacobians):
    """∂[[a, b], [c, d]]/∂x: by a scalar x, the matrix of the entries' derivatives (a row's
    derivative stacked as that row), as its vec; otherwise the vec Jacobian Σᵢ (I ⊗ 𝕖ᵢ) ∂vec(rᵢ)/∂x."""
    known = [j for j in jacobians if j is not None]
    width = args[0].shape
    if all(j.shape.is_vector or j.shape.is_row for j in known):    # vec(∂Y/∂s), as forward
        return vec(E.call("vstack", [E.zero(width) if j is None else E.expand_to(  # mode has it
            E.transpose(j) if j.shape.is_vector else j, width) for j in jacobians], y.shape))
    if all(j.op == "vstack" for j in known if isinstance(j, Call)) and \
            all(isinstance(j, Call) for j in known):
        # the rows of each entry's gradient, in the order of vec(Y): column by column
        grad = known[0].operands[0].shape
        n = len(known[0].operands)
        return E.call("vstack", [E.zero(grad) if j is None else j.operands[c]
                                 for c in range(n) for j in jacobians],
                      Shape((dim(len(args) * n), grad.cols)))
    return E.add(*(E.matmul(p, j) for p, j in zip(_vstack_partials(y, args, ()), jacobians)
                   if j is not None))


internal("vstack", lambda s, p: Shape((dim(len(s)), s[0].cols)),
         lambda *rows: np.vstack([np.asarray(r).reshape(1, -1) for r in rows]),
         partials=_vstack_partials, jvp=_vstack_jvp, vjp=_vstack_vjp,
         code=lambda args, node, ctx: "np.vstack([" + ", ".join(args) + "])", text="[]",
         fixity="rows", infer="rows", what="a matrix literal [[a, b], [c, d]]",
         matrix=lambda args, node: _sympy_stack(args, horizontal=False))
def _index_partials(y, args, params):
    """∂gᵢ/∂g = eᵢᵀ: an entry of a vector (the adjoint of a vector literal's entry)."""
    n = args[0].shape.size
    return (E.transpose(E.call("unit", [], Shape((n,)), params=(params[0], n))),)


internal("index", lambda s, p: SCALAR, lambda x, i: np.asarray(x).ravel(order="F")[int(i)],
         code=lambda args, node, ctx: f"np.ravel({args[0]}, order='F')[{node.params[0]}]",
         text="𝕖", latex=r"\mathbf{e}", partials=_index_partials, fixity="index")
internal("reshape", lambda s, p: s[0], lambda x: x,
         code=lambda args, node, ctx: f"np.reshape({args[0]}, {ctx.dims(node.shape)})", text="",
         fixity="transparent", build=lambda a, p, old: E.call("reshape", a, old, p), view=True)


def _array(args):
    return "np.array([" + ", ".join(args) + "])"


# ---------------------------------------------------------------------------------------------
# Names as users spell them


def resolve_function(name: str) -> str | None:
    """Canonical op name of a function spelled ``name`` by the user, or None if unknown."""
    name = ALIASES.get(name, name)
    rule = RULES.get(name)
    if rule is None or not rule.callable:
        return None
    return name


# ---------------------------------------------------------------------------------------------
# Notation: the untyped nodes of what matcalc prints (the parser reads the text, these say which
# operations it is)


def power_node(base, exponent: int, span) -> Call:
    """x², A³: a power written with superscript digits."""
    return operator("pow", (base, E.Const(SCALAR, value=sympy.Integer(exponent))), span)


def inverse_transpose_node(x, span) -> Call:
    """X⁻ᵀ = (Xᵀ)⁻¹."""
    return operator("inv", (operator("transpose", (x,), span),), span)


def norm_node(x, one: bool, span) -> Call:
    """‖x‖, ‖x‖₁."""
    return Call(None, op="norm", operands=(x,), params=(1 if one else 2,), span=span)


# I, 𝟙, 0 with a size (Iₙ, 𝟙ₙ, 0ₙ), and the functions that write them where a letter has no
# subscript form (eye(q), ones(q), zeros(q))
SIZED = {"I": "eye", "𝟙": "ones", "0": "zeros"}


def sized_node(symbol: str, sizes: tuple, span) -> Call:
    """Iₙ, 𝟙ₙ (a vector of length the product of the subscripts), 0ₙ; I or 𝟙 of the size its use
    implies when no size is written."""
    params = (sympy.Mul(*sizes),) if sizes else ()
    return Call(None, op=SIZED[symbol], operands=(), params=params, span=span)


def cases_node(branches, span) -> Call:
    """v₁ if z ≤ 0; v₂ if z > 0: the sum of each value times the indicator of its condition
    (step(z) for z > 0, 1 − step(z) for z ≤ 0: matcalc's convention at 0)."""
    return operator("add", tuple(operator("mul", (value, _indicator(lhs, rel, rhs, span)), span)
                                 for value, lhs, rel, rhs in branches), span)


def _indicator(lhs, relation: str, rhs, span):
    """step(d) for d > 0, 1 − step(d) for d ≤ 0 (d = lhs − rhs), step(−d) for d < 0,
    1 − step(−d) for d ≥ 0."""
    d = operator("sub", (lhs, rhs), span) if not (isinstance(rhs, E.Const) and rhs.value == 0) \
        else lhs
    if relation in ("<", "≥", ">="):
        d = operator("neg", (d,), span)
    step = Call(None, op="step", operands=(d,), span=span)
    if relation in (">", "<"):
        return step
    return operator("sub", (E.Const(SCALAR, value=sympy.Integer(1)), step), span)


def literal_node(items: tuple, span) -> Call:
    """[f, g, h], a column; [[a, b], [c, d]], a matrix by rows."""
    if all(is_literal(i) for i in items):
        return Call(None, op="vstack", span=span, operands=tuple(
            operator("transpose", (row,), row.span) for row in items))
    return operator("stack", items, span)


def is_literal(node) -> bool:
    """A bracketed literal [..] (a vector, or a matrix by rows)."""
    return isinstance(node, Call) and node.op in ("stack", "vstack")


def operator(name: str, operands: tuple, span) -> Call:
    """The untyped node of an operator the grammar spells (its tree's name): a rule name, or
    one of the two spellings that are other rules' nodes: a − b = a + (−1) b, −a = (−1) a."""
    if name == "sub":
        a, b = operands
        return Call(None, op="add", operands=(a, operator("neg", (b,), b.span)), span=span)
    if name == "neg":
        return Call(None, op="mul", operands=(E.const(-1), operands[0]), span=span)
    return Call(None, op=ALIASES.get(name, name), operands=operands, span=span)


def function_arity(op: str) -> tuple[int, int]:
    return RULES[op].arity


def function_names() -> list[str]:
    """Every spelling a user may call (for "did you mean")."""
    names = {n for n in RULES if resolve_function(n)} | set(ALIASES)
    return sorted(names - {"T"})


def reserved_names() -> set[str]:
    """Names that are functions and so not variables: sin * x is an error (write sin(x)).
    Greek letters stay names: σ(x) is the sigmoid, σ alone the variable sigma."""
    return {n for n in function_names() if n.isascii()}


def _symbol_dim(text: str):
    return sympy.Integer(int(text)) if text.isdigit() else dim(text)


# matcalc's structured constants as printed, double-struck with subscripts (𝕂ₘₙ, 𝔻ₙ, 𝕖₂):
# the untyped node each one reads back as
SYMBOLS = {
    "𝕂": lambda items, span: Call(None, op="K", params=tuple(_symbol_dim(i) for i in items),
                                  span=span),
    "𝔻": lambda items, span: Call(None, op="diag_embedding", params=(_symbol_dim(items[0]),),
                                  span=span),
    "𝕖": lambda items, span: Call(None, op="unit", params=(int(items[0]) - 1,), span=span),
}
# how many subscripts each takes, and how to write them
SYMBOL_SUBSCRIPTS = {"𝕂": (2, "𝕂ₘₙ or 𝕂_(2,3)"), "𝔻": (1, "𝔻ₙ or 𝔻_(12)"),
                     "𝕖": (1, "𝕖₂ or 𝕖_(12)")}


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
