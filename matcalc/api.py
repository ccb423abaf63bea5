"""The public API: ``diff``, ``hessian``, ``parse`` and ``Derivative``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import sympy
from sympy.matrices.exceptions import NonInvertibleMatrixError

from . import expr as E
from . import layout as L
from . import render, verify
from .differentiate import derivative, hcat
from .errors import MatcalcError, ParseError, ShapeError, VerificationError
from .expr import Expr, Var
from .infer import declared_shapes, infer
from .lazy import lazy_module
from .parse import parse_syntax, parse_wrt
from .rules import RULES
from .shapes import Shape, as_sympy, dim, dim_str, space
from .simplify import frozen, simplify

np = lazy_module("numpy")  # needed only to evaluate (start-up: lazy.py)
steps_view = lazy_module("matcalc.steps")      # needed only for --steps
codegen = lazy_module("matcalc.codegen")       # needed only for --format numpy


@dataclass(frozen=True)
class Expression:
    """A parsed, shape-checked expression: ``.shape``, ``str()``, ``.latex``, ``.shapes``."""

    node: Expr
    source: str
    declared: dict = field(default_factory=dict, compare=False, repr=False)
    props: dict = field(default_factory=dict, compare=False, repr=False)
    scope: dict = field(default_factory=dict, compare=False, repr=False)  # outer variables
    origin: Expr | None = field(default=None, compare=False, repr=False)  # f, for ∂f/∂x here

    @property
    def shape(self) -> tuple[str, ...]:
        return self.node.shape.as_strings()

    @property
    def shapes(self) -> dict[str, tuple[str, ...]]:
        """The variables' shapes (of the original expression, for a derivative's own)."""
        return {n: v.shape.as_strings() for n, v in E.free_vars(self.origin or self.node).items()}

    @property
    def variables(self) -> dict[str, Var]:
        """Every variable in play: this expression's, the original expression's (for a
        derivative's own) and those a derivative was taken with respect to."""
        return {**self.scope, **E.free_vars(self.origin or self.node), **E.free_vars(self.node)}

    @property
    def properties(self) -> dict[str, tuple[str, ...]]:
        """Declared properties of the variables: ``{'A': ('sym',)}``."""
        return {n: tuple(sorted(v.props)) for n, v in E.free_vars(self.origin or self.node).items()
                if v.props}

    @property
    def declarations(self) -> dict[str, tuple[str, ...]]:
        """``shapes`` with the declared properties appended, ``{'A': ('n', 'n', 'sym')}``: as
        ``shapes=`` it gives back this expression, properties included (``shapes`` alone gives
        back the shapes)."""
        props = self.properties
        return {n: s + props.get(n, ()) for n, s in self.shapes.items()}

    @property
    def latex(self) -> str:
        return render.latex(self.node)

    def __str__(self) -> str:
        return render.text(self.node)

    def __repr__(self) -> str:
        return f"<Expression {self} : {self.node.shape}>"

    # -- display (Jupyter): see "Display" below ------------------------------------------------

    @property
    def display_latex(self) -> str:
        """What a notebook shows, without the ``$$``: an ``aligned`` block of the expression
        with its shape (``\\in \\mathbb{R}``) and a line of the variables' shapes."""
        return _display_block([(None, self.latex, self.node.shape.dims)],
                              [self.origin or self.node], [])

    def _repr_latex_(self) -> str:
        return f"$${self.display_latex}$$"

    def evaluate(self, values: dict) -> np.ndarray:
        """The expression at concrete values (``{name: array}``; sizes bind the dimensions):
        a NumPy array of its shape, a vector 1-D, a row 1×n.  A derivative's text parses back
        to an Expression that evaluates as the Derivative does (its vec arrangement, for a
        tensor result)."""
        shapes = {**self.declared, **{n: v.shape for n, v in self.variables.items()}}
        missing = [n for n in E.free_vars(self.node) if n not in values]
        if missing:
            raise ShapeError(f"evaluate needs values for {', '.join(missing)}")
        given = {n: s for n, s in shapes.items() if n in values}
        dims = verify.bind_dims(given, {n: values[n] for n in given})
        unbound = {d for x in self.node.shape.dims for d in as_sympy(x).free_symbols} | {
            d for v in E.free_vars(self.node).values() for x in v.shape.dims
            for d in as_sympy(x).free_symbols}
        if unbound - set(dims):
            raise ShapeError("evaluate needs values that fix the size "
                             f"{', '.join(sorted(map(str, unbound - set(dims))))}")
        value = verify.evaluate(self.node, {n: values[n] for n in E.free_vars(self.node)}, dims)
        return np.asarray(value, dtype=float)


def parse(text: str, shapes: dict | None = None) -> Expression:
    """Parse ``text`` and infer every shape (declared ``shapes`` win).

    >>> e = parse("max(0, w·x + b)")
    >>> str(e), e.shape, e.shapes
    ('max(0, w·x + b)', (), {'w': ('n',), 'x': ('n',), 'b': ()})
    """
    if not isinstance(text, str):
        raise ParseError(f"an expression must be a string, not {type(text).__name__}")
    declared, props = declared_shapes(shapes)
    tree = parse_syntax(text)
    return Expression(infer(tree, declared, text, props), text, declared, props)


@dataclass
class Derivative:
    """∂f/∂x: the result, its shape (layout applied), the shapes used, and how to check it."""

    f: Expression
    wrt: tuple[Var, ...]          # one variable, or the entries of a vector literal [x, y]
    result: Expr                  # numerator layout
    layout: str = "numerator"
    first: Derivative | None = field(default=None, repr=False)   # for ∂/∂b (∂f/∂w): ∂f/∂w
    stacked: bool = False         # wrt a vector literal [x, y] (even of one entry)

    # -- what it is --------------------------------------------------------------------------

    @property
    def wrt_shape(self) -> Shape:
        if len(self.wrt) == 1 and not self._literal:
            return self.wrt[0].shape
        return Shape((dim(len(self.wrt)),))

    @property
    def _literal(self) -> bool:
        return len(self.wrt) > 1 or self.stacked

    @cached_property
    def expression(self) -> Expr:
        """The derivative in the requested layout."""
        return simplify(L.convert(self.result, self.f.node.shape, self.wrt_shape, self.layout),
                        self._frozen)

    @cached_property
    def _frozen(self) -> dict:
        return frozen(self.f.node)

    @property
    def shape(self) -> tuple[str, ...]:
        """The derivative's shape, per DESIGN.md's table, layout applied: ``('1', 'n')``."""
        dims = L.result_shape(self.f.node.shape, self.wrt_shape, self.layout)
        return tuple(dim_str(as_sympy(d)) if not isinstance(d, int) else str(d) for d in dims)

    @property
    def shapes(self) -> dict[str, tuple[str, ...]]:
        """The shapes used, declared or inferred: ``{'w': ('n',), 'x': ('n',)}``; a scalar's is
        ``()``.  ``shapes=d.shapes`` gives back the same shapes (``d.declarations``, the
        declared properties too)."""
        return self.f.shapes

    @property
    def declarations(self) -> dict[str, tuple[str, ...]]:
        """``shapes`` with the declared properties appended: ``{'A': ('n', 'n', 'sym')}``."""
        return self.f.declarations

    @property
    def wrt_text(self) -> str:
        names = [render.name_text(v.name) for v in self.wrt]
        return names[0] if not self._literal else "[" + ", ".join(names) + "]"

    def __str__(self) -> str:
        return render.text(self.expression, frozen=self._frozen, scope=self.f.variables)

    def __repr__(self) -> str:
        return f"<Derivative ∂/∂{self.wrt_text} {self.f} = {self}>"

    @property
    def latex(self) -> str:
        return render.latex(self.expression, frozen=self._frozen, scope=self.f.variables)

    @property
    def equation_latex(self) -> str:
        return f"{self._operator_latex} = {self.latex}"

    @property
    def _operator_latex(self) -> str:
        """The left-hand side of ``equation_latex``: ∂/∂w f, ∂²/∂x² f or ∂²/∂b∂w f."""
        wrt = " ".join(render.latex(v) for v in self.wrt) if not self._literal else \
            r"\left[" + ", ".join(render.latex(v) for v in self.wrt) + r"\right]"
        f = render.operand_latex(self.f.origin or self.f.node)
        first = self.first
        if first is None:
            return rf"\frac{{\partial}}{{\partial {wrt}}} {f}"
        inner = " ".join(render.latex(v) for v in first.wrt)
        den = rf"\partial {wrt}^{{2}}" if first.wrt == self.wrt else \
            rf"\partial {wrt} \, \partial {inner}"
        return rf"\frac{{\partial^{{2}}}}{{{den}}} {f}"

    # -- display (Jupyter): see "Display" below ------------------------------------------------

    @property
    def display_latex(self) -> str:
        """What a notebook shows, without the ``$$``: an ``aligned`` block of
        ``equation_latex`` with the derivative's shape (``\\in \\mathbb{R}^{1 \\times n}``,
        the CLI's ``[1×n]``), the notes, and the variables' shapes (the CLI's shapes line)."""
        return Derivatives([self]).display_latex

    def _repr_latex_(self) -> str:
        return f"$${self.display_latex}$$"

    def _repr_pretty_(self, p, cycle: bool) -> None:
        """IPython's text display: the CLI's output, the shapes line and ``line``."""
        p.text(str(Derivatives([self])))

    @property
    def line(self) -> str:
        """The CLI's line: ``∂/∂w sum(w ⊙ x) = xᵀ    [1×n]``; for a second derivative
        ``∂²/∂x² xᵀ A x = A + Aᵀ`` or ``∂²/∂b∂w f`` (∂/∂b of ∂f/∂w)."""
        f = render.operand_text(self.f.origin or self.f.node)
        if self.first is None:
            op = f"∂/∂{self.wrt_text}"
        elif self.first.wrt == self.wrt:
            op = f"∂²/∂{self.wrt_text}²"
        else:
            op = f"∂²/∂{self.wrt_text}∂{self.first.wrt_text}"
        return f"{op} {f} = {self}    {self.shape_label}"

    @property
    def notes(self) -> list[str]:
        """Remarks on the result a reader may act on: a variable that does not appear (the
        derivative is zero), a sum(y) left in the derivative of a cross-entropy, y ⊙ log(·),
        which declaring y a probability vector simplifies."""
        out = []
        present = E.free_vars(self.f.origin or self.f.node)
        for v in self.wrt:
            if v.name not in present and self.first is None:
                out.append(f"{v.name} does not appear in {self.f.source}: the derivative is zero")
        f = self.f.origin or self.f.node
        if self.first is None and "⊗" in self.f.source:
            out.append("⊗ is the paper's element-wise product (⊙ in the output); for the "
                       "Kronecker product write kron(A, B)")
        if self.first is None:      # remarks on the user's expression (e^x), from the table
            out += [t for n in E.topological(f) if isinstance(n, E.Call)
                    and RULES[n.op].note is not None and (t := RULES[n.op].note(n))]
        # remarks on the result that the user's expression explains (sum(y) of a cross-entropy)
        out += [t for n in E.topological(self.expression) if isinstance(n, E.Call)
                and RULES[n.op].result_note is not None and (t := RULES[n.op].result_note(n, f))]
        return list(dict.fromkeys(out))
        return out

    @property
    def shape_label(self) -> str:
        s = self.shape
        if not s:
            return "[1×1]"
        if len(s) == 1:
            return f"[{s[0]}×1]"
        return "[" + "×".join(s) + "]"

    @cached_property
    def steps(self) -> "steps_view.Steps":
        """The derivation as the paper teaches it: intermediate variables, their partial
        Jacobians from the rule table, the chain rule that applies and why, the product with
        its shapes, the substitution back; ``str()`` is text, ``.latex`` an ``aligned`` block,
        ``.as_dict()`` JSON-ready.  Its last line is this result."""
        return steps_view.build(self.f.node, self.wrt, self._literal, self.expression,
                                self.shape_label[1:-1], self.layout)

    @property
    def sympy(self) -> sympy.Basic:
        """The result as a SymPy (matrix) expression."""
        return render.to_sympy(self.expression)

    # -- numbers -----------------------------------------------------------------------------

    def evaluate(self, values: dict) -> np.ndarray:
        """The derivative at concrete values, as an array of exactly ``shape`` (sizes bind
        the dimensions; a mismatch is a ShapeError)."""
        shapes = {n: v.shape for n, v in E.free_vars(self.f.node).items()}
        missing = [n for n in shapes if n not in values]
        if missing:
            raise ShapeError(f"evaluate needs values for {', '.join(missing)}")
        # the sizes of every given variable of f bind the dimensions (a second derivative may
        # have lost the variable that carried one, as in ∂/∂C of (1/k) 𝟙ᵀ …)
        scope = {n: v.shape for n, v in self.f.variables.items()}
        scope.update({v.name: v.shape for v in self.wrt})
        given = {n: s for n, s in {**scope, **shapes}.items() if n in values}
        dims = verify.bind_dims(given, {n: values[n] for n in given})
        unbound = {d for s in shapes.values() for x in s.dims for d in x.free_symbols} | {
            d for x in L.result_shape(self.f.node.shape, self.wrt_shape, self.layout)
            for d in as_sympy(x).free_symbols}
        if unbound - set(dims):
            raise ShapeError("evaluate needs values that fix the size "
                             f"{', '.join(sorted(map(str, unbound - set(dims))))}")
        value = verify.evaluate(self.expression, {n: values[n] for n in shapes}, dims)
        target = tuple(int(as_sympy(d).subs(dims)) if not isinstance(d, int) else d
                       for d in L.result_shape(self.f.node.shape, self.wrt_shape, self.layout))
        if L.is_tensor(self.f.node.shape, self.wrt_shape):
            return verify.to_tensor(np.asarray(value, dtype=float),
                                    _concrete(self.f.node.shape, dims),
                                    _concrete(self.wrt_shape, dims))
        # a matrix by a scalar is carried as vec (column-major): read it back the same way
        order = "F" if self.f.node.shape.is_matrix and self.wrt_shape.is_scalar else "C"
        return np.asarray(value, dtype=float).reshape(target, order=order)

    def tensor(self, values: dict, dims: dict, symbolic: bool = False) -> np.ndarray:
        """The numerator-layout derivative as the tensor T[o…, w…] = ∂f[o…]/∂x[w…]."""
        value = verify.evaluate(self.result_simplified, values, dims, symbolic=symbolic)
        fs, xs = self.f.node.shape, self.wrt_shape
        if fs.is_scalar and xs.is_matrix:
            return np.asarray(value)
        return verify.to_tensor(np.asarray(value), _concrete(fs, dims), _concrete(xs, dims))

    @cached_property
    def result_simplified(self) -> Expr:
        return simplify(self.result, self._frozen)

    def to_numpy(self, compile: bool = False):
        """Standalone NumPy source of ``f_and_grad(...)`` returning ``f`` and this derivative,
        with a finite-difference self-check (``check_f_and_grad``); with ``compile=True`` the
        function itself (its source in ``.source``, the check in ``.check``).  See
        ``to_numpy`` for several derivatives at once."""
        return to_numpy([self], compile=compile)

    def diff(self, wrt: str) -> Derivative:
        """Differentiate this derivative again: a gradient is differentiated as the vector it
        is, so ``diff(f, "x").diff("x")`` is the Hessian and ``diff(f, "w").diff("b")`` the
        mixed second derivative with entries ∂²f/∂wᵢ∂bⱼ."""
        g = self.result_simplified
        fs, xs = self.f.node.shape, self.wrt_shape
        if fs.is_scalar and xs.is_vector:
            g = simplify(E.transpose(g), self._frozen)   # the gradient as a column
        source = render.text(g, named=False)
        scope = {**self.f.variables, **{v.name: v for v in self.wrt}}  # ∂/∂b of what lacks b
        inner = Expression(g, source, self.f.declared, self.f.props, scope,
                           self.f.origin or self.f.node)
        second = _diff_one(inner, wrt, self.layout)
        second.first = self
        return second

    def _expanded(self, shapes, dims, props):
        """The Jacobian by SymPy component expansion, matcalc's result at the same symbolic
        point, and that point."""
        expected = []
        for v in self.wrt:
            exp, env = verify.symbolic_jacobian(self.f.node, v.name, shapes, dims, props)
            expected.append(exp)
        if self._literal:
            expected = np.stack([np.asarray(e) for e in expected], axis=-1)
        else:
            expected = expected[0]
        return expected, self.tensor(env, dims, symbolic=True), env

    def check(self) -> bool:
        """Verify by SymPy component expansion at small distinct sizes (the paper's "grind it
        down to scalars"); raises VerificationError on a mismatch, returns True otherwise."""
        shapes = {n: v.shape for n, v in E.free_vars(self.f.node).items()}
        shapes.update({v.name: v.shape for v in self.wrt})
        scope = [v.shape for v in self.f.variables.values()]
        symbols = sorted({d for s in list(shapes.values()) + scope for d in s.dims
                          if d.free_symbols}, key=str)
        props = {n: v.props for n, v in E.free_vars(self.f.node).items() if v.props}
        for dims in verify.size_choices([d for d in symbols if d.is_Symbol]):
            try:
                expected, got, env = self._expanded(shapes, dims, props)
                break
            except NonInvertibleMatrixError:    # log det(X A), X n×m, is singular for m < n
                continue
        else:
            raise VerificationError(
                f"∂/∂{self.wrt_text} {self.f}: a matrix that is inverted is singular at every "
                f"size tried, so the derivative could not be verified")
        rng = np.random.default_rng(0)
        expected = verify.on_constraints(np.asarray(expected, dtype=object), env, props)
        got = verify.on_constraints(np.asarray(got, dtype=object).reshape(np.shape(expected)),
                                    env, props)
        bad, unverified = verify.compare_symbolic(expected, got, env, rng)
        if bad:
            index, want, have = bad[0]
            raise VerificationError(
                f"∂/∂{self.wrt_text} {self.f}: component {index} should be {want}, "
                f"matcalc's result gives {have} (this is a bug in matcalc: please report it)")
        if unverified and unverified == np.size(expected):
            raise VerificationError(
                f"∂/∂{self.wrt_text} {self.f}: no point was found where the expression is real "
                f"and smooth, so the derivative could not be verified")
        return True


def _concrete(shape: Shape, dims: dict) -> tuple[int, ...]:
    return tuple(int(as_sympy(d).subs(dims)) for d in shape.dims)


# ---------------------------------------------------------------------------------------------
# Display: what a notebook shows (Jupyter's ``_repr_latex_``, IPython's ``_repr_pretty_``).
# Display math ($$\begin{aligned} … \end{aligned}$$, which MathJax and KaTeX both render), each
# result with its shape and the variables' shapes, as the CLI prints them.


class Derivatives(list):
    r"""Several derivatives, in order: what ``diff(expr, wrt=[…])`` returns, one ``Derivative``
    per variable (``hessian(expr, wrt=[…])`` returns a ``Derivatives`` of rows, each a
    ``Derivatives`` of blocks).  It is a list in every way (indexing, iteration, ``len``,
    equality with lists, ``repr``); in a notebook all of them display as one ``aligned`` block,
    and ``str()``, which IPython shows as text, is the CLI's output: the shapes line, then one
    line per derivative, with its notes.

    >>> ds = diff("sum(w*x) + b", wrt=["w", "b"])
    >>> print(ds)
    w, x ∈ ℝⁿ, b ∈ ℝ
    ∂/∂w (sum(w ⊙ x) + b) = xᵀ    [1×n]
    ∂/∂b (sum(w ⊙ x) + b) = 1    [1×1]
    >>> isinstance(ds, list), len(ds), ds == [ds[0], ds[1]]
    (True, 2, True)
    >>> print(ds.display_latex)
    \begin{aligned}
    \frac{\partial}{\partial \mathbf{w}} \left(\sum\left(\mathbf{w} \odot \mathbf{x}\right)
        + b\right) &= \mathbf{x}^{\top} && \in \mathbb{R}^{1 \times n} \\
    \frac{\partial}{\partial b} \left(\sum\left(\mathbf{w} \odot \mathbf{x}\right) + b\right)
        &= 1 && \in \mathbb{R} \\
    &\text{for } \mathbf{w}, \mathbf{x} \in \mathbb{R}^{n}, \; b \in \mathbb{R}
    \end{aligned}
    """

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Derivatives(item) if isinstance(index, slice) else item

    def _flat(self) -> list[Derivative]:
        """The derivatives in display order (a Hessian's blocks row by row)."""
        return [d for item in self
                for d in (Derivatives(item)._flat() if isinstance(item, list) else [item])]

    @property
    def display_latex(self) -> str:
        """What a notebook shows, without the ``$$``: one ``aligned`` block with a row per
        derivative (its ``equation_latex`` and its shape), the notes, and the variables'
        shapes."""
        ds = self._flat()
        rows = [(d._operator_latex, d.latex,
                 L.result_shape(d.f.node.shape, d.wrt_shape, d.layout)) for d in ds]
        notes = list(dict.fromkeys(n for d in ds for n in d.notes))
        return _display_block(rows, [d.f.origin or d.f.node for d in ds], notes)

    def _repr_latex_(self) -> str | None:
        return f"$${self.display_latex}$$" if self._flat() else None   # None: text instead

    def __str__(self) -> str:
        ds = self._flat()
        if not ds:
            return "[]"
        lines = [_shapes_text(_variables_of([d.f.origin or d.f.node for d in ds]))]
        for d in ds:
            lines.append(d.line)
            lines += [f"  note: {n}" for n in d.notes]
        return "\n".join(line for line in lines if line)

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text("[...]" if cycle else str(self))


# Declared properties in words, as the CLI's shapes line writes them (report.shapes_line).
_PROPERTY_TEXT = {"sym": "symmetric", "prob": "entries sum to 1"}
_MATRIX_PROPERTY_TEXT = {**_PROPERTY_TEXT, "prob": "each row sums to 1"}


def _property_words(props, rank: int) -> str:
    """``symmetric``, ``entries sum to 1`` (a vector), ``each row sums to 1`` (a matrix)."""
    text = _MATRIX_PROPERTY_TEXT if rank == 2 else _PROPERTY_TEXT
    return ", ".join(text[p] for p in props)


def _variables_of(functions: list[Expr]) -> dict[str, Var]:
    """The variables of the functions, by name, in order of first appearance."""
    out: dict[str, Var] = {}
    for f in functions:
        for name, v in E.free_vars(f).items():
            out.setdefault(name, v)
    return out


def _grouped(variables: dict[str, Var]) -> list[tuple[list[Var], Shape, tuple[str, ...]]]:
    """Variables of one shape and the same declared properties together, in order."""
    groups: dict[tuple, list[Var]] = {}
    for v in variables.values():
        groups.setdefault((v.shape, tuple(sorted(v.props))), []).append(v)
    return [(vs, shape, props) for (shape, props), vs in groups.items()]


def _shapes_text(variables: dict[str, Var]) -> str:
    """The CLI's shapes line: ``w, x ∈ ℝⁿ, b ∈ ℝ``, ``A ∈ ℝⁿˣⁿ (symmetric)``."""
    return shapes_line({n: v.shape.as_strings() for n, v in variables.items()},
                       {n: tuple(sorted(v.props)) for n, v in variables.items()})


def shapes_line(shapes: dict[str, tuple[str, ...]], properties: dict | None = None) -> str:
    """``w, x ∈ ℝⁿ, b ∈ ℝ``: the shapes used, grouped, names as results print them (λ);
    declared properties follow in parentheses (``A ∈ ℝⁿˣⁿ (symmetric)``)."""
    properties = properties or {}
    groups: dict[tuple, list[str]] = {}
    for name, s in shapes.items():
        groups.setdefault((tuple(s), tuple(sorted(properties.get(name, ())))), []).append(name)
    parts = []
    for (s, props), names in groups.items():
        note = f" ({_property_words(props, len(s))})" if props else ""
        parts.append(f"{', '.join(render.name_text(n) for n in names)} ∈ {space(s)}{note}")
    return ", ".join(parts)


def _shapes_latex(variables: dict[str, Var]) -> str:
    """The shapes line in LaTeX: ``\\mathbf{w}, \\mathbf{x} \\in \\mathbb{R}^{n}, \\; b \\in
    \\mathbb{R}``, a declared property in words after it."""
    parts = []
    for vs, shape, props in _grouped(variables):
        note = rf" \ \text{{({_property_words(props, len(shape.dims))})}}" if props else ""
        names = ", ".join(render.latex(v) for v in vs)
        parts.append(rf"{names} \in {_space_latex(shape.dims)}{note}")
    return r", \; ".join(parts)


def _space_latex(dims) -> str:
    """``\\mathbb{R}``, ``\\mathbb{R}^{n}``, ``\\mathbb{R}^{m \\times n}``; a dimension is named
    as a scalar variable of that name prints (``n_{1}``, ``\\mathit{pos}_{dim}``), a product
    of dimensions as SymPy writes it (``m n``)."""
    if not dims:
        return r"\mathbb{R}"
    out = []
    for d in dims:
        d = as_sympy(d)
        names = {s: render.latex(E.var(s.name, Shape())) for s in d.free_symbols}
        out.append(sympy.latex(d, symbol_names=names))
    return r"\mathbb{R}^{" + r" \times ".join(out) + "}"


def _display_block(rows: list[tuple], functions: list[Expr], notes: list[str]) -> str:
    """An ``aligned`` block: a row per ``(left side or None, LaTeX, shape dims)``, with the
    shape as ``\\in \\mathbb{R}^{…}`` in a column of its own, then the notes, then the
    variables of ``functions`` with their shapes (a ``for …`` row)."""
    lines = [rf"{'&' if lhs is None else lhs + ' &= '}{rhs} && \in {_space_latex(dims)}"
             for lhs, rhs, dims in rows]
    # a note in text mode, where TeX would set "--" (--shape) as an en dash
    lines += [rf"&\text{{note: {re.sub('-(?=-)', '-{}', steps_view._latex_text(n))}}}"
              for n in notes]
    variables = _variables_of(functions)
    if variables:
        lines.append(rf"&\text{{for }} {_shapes_latex(variables)}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def diff(expr: str | Expression, wrt, shapes: dict | None = None,
         layout: str = "numerator") -> Derivative | Derivatives:
    """∂expr/∂wrt.  ``wrt`` is a name, a vector literal of names ``"[x, y]"``, or a list of
    those: then a ``Derivatives``, a list of one Derivative each, in order, which a notebook
    displays as one block.

    >>> str(diff("sum(w*x)", wrt="w"))
    'xᵀ'
    >>> [str(d) for d in diff("max(0, w·x + b)", wrt=["w", "b"])]
    ['0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0', '0 if w·x + b ≤ 0; 1 if w·x + b > 0']
    """
    if layout not in L.LAYOUTS:
        raise MatcalcError(f"unknown layout {layout!r}", hint="use numerator or denominator")
    f = expr if isinstance(expr, Expression) else parse(expr, shapes)
    if isinstance(wrt, (list, tuple)):
        return Derivatives(_diff_one(f, w, layout) for w in wrt)
    return _diff_one(f, wrt, layout)


def _diff_one(f: Expression, wrt: str, layout: str) -> Derivative:
    if not isinstance(wrt, str):
        raise ParseError(f"wrt must be a variable name, not {wrt!r}")
    names = parse_wrt(wrt)
    variables = {**f.scope, **E.free_vars(f.node)}
    targets = []
    for name, span in names:
        v = variables.get(name)
        if v is None and name in f.declared:
            v = E.var(name, f.declared[name], f.props.get(name, ()))   # absent: derivative 0
        if v is None:
            raise ShapeError(f"{name!r} does not appear in {f.source!r}",
                             text=wrt, span=span,
                             hint=_hint_names(name, variables))
        targets.append(v)
    literal = wrt.strip().startswith("[")
    for v in targets if literal else ():
        if not v.shape.is_scalar:
            raise ShapeError(f"a vector literal in wrt holds scalar variables; {v.name} is "
                             f"{v.shape}", text=wrt)
    if literal:
        result = hcat([simplify(derivative(f.node, v), frozen(f.node)) for v in targets])
    else:
        result = derivative(f.node, targets[0])
    return Derivative(f, tuple(targets), result, layout, stacked=literal)


def _hint_names(name: str, variables) -> str:
    names = ", ".join(variables) or "none"
    return f"the variables are: {names}"


def to_numpy(derivatives, compile: bool = False):
    """NumPy code for derivatives of one expression: the source of one function
    ``f_and_grad(...)`` returning ``f`` and each derivative in order, each as
    ``Derivative.evaluate`` returns it, the forward values computed once and shared with the
    backward ones; with ``compile=True`` the function itself.

    >>> g = to_numpy(diff("sum((W@x + b - y)^2)", wrt=["W", "b"]), compile=True)
    >>> import numpy as np
    >>> f, dW, db = g(np.eye(2), np.ones(2), np.zeros(2), np.ones(2))
    >>> float(f), dW.tolist(), db.tolist()
    (0.0, [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0]])
    """
    ds = [derivatives] if isinstance(derivatives, Derivative) else list(derivatives)
    return codegen.numpy_function(ds) if compile else codegen.numpy_source(ds)


def hessian(expr: str | Expression, wrt, shapes: dict | None = None
            ) -> Derivative | Derivatives:
    """The Hessian of a scalar expression: ``diff(expr, wrt).diff(wrt)``, entries ∂²f/∂xᵢ∂xⱼ.

    With a list of variables ``[a, b, …]``, the Hessian w.r.t. them stacked, as its blocks:
    ``H[i][j] = diff(expr, wrt[i]).diff(wrt[j])``, the Derivative with entries
    ∂²f/∂(wrt[i])ₚ∂(wrt[j])_q, of shape ``wrt[i]``'s + ``wrt[j]``'s (a scalar's adds nothing,
    as in ``evaluate``), so ``[[∂²f/∂a², ∂²f/∂a∂b], [∂²f/∂b∂a, ∂²f/∂b²]]`` (``Derivatives``
    of ``Derivatives``, which a notebook displays as one block); for vectors
    and scalars, ``np.block`` of the evaluated blocks (each reshaped to 2-D) is the matrix of
    ∂²f/∂zₚ∂z_q for z = [a; b].

    >>> H = hessian("x^2*y + y^3", wrt=["x", "y"])
    >>> [[str(h) for h in row] for row in H]
    [['2y', '2x'], ['2x', '6y']]
    >>> hessian("W@x", wrt="x")
    Traceback (most recent call last):
      ...
    matcalc.errors.ShapeError: the Hessian is of a scalar expression; W x is a vector (n)
    for second derivatives of each entry, differentiate twice: diff(expr, "x").diff("x")
    """
    f = expr if isinstance(expr, Expression) else parse(expr, shapes)
    several = isinstance(wrt, (list, tuple))
    if not f.node.shape.is_scalar:
        kind = "a vector" if f.node.shape.is_vector else "a matrix"
        first = wrt[0] if several and wrt else wrt
        raise ShapeError(f"the Hessian is of a scalar expression; {f} is {kind} "
                         f"({f.node.shape})",
                         hint="for second derivatives of each entry, differentiate twice: "
                              f'diff(expr, "{first}").diff("{first}")')
    if not several:
        return diff(f, wrt).diff(wrt)
    if not wrt:
        raise ParseError("hessian needs at least one variable", hint='e.g. wrt=["a", "b"]')
    return Derivatives(Derivatives(d.diff(w) for w in wrt) for d in diff(f, list(wrt)))


__all__ = ["diff", "hessian", "parse", "to_numpy", "Derivative", "Derivatives", "Expression",
           "VerificationError"]
