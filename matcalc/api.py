"""The public API: ``diff``, ``hessian``, ``parse`` and ``Derivative``."""

from __future__ import annotations

import difflib
import functools
import gc
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property

import sympy

from . import checker, render, verify
from . import expr as E
from . import layout as L
from .differentiate import derivative, hcat
from .errors import MatcalcError, ParseError, ShapeError, UnsupportedError, VerificationError
from .expr import Call, Expr, Var
from .infer import declared_shapes, infer
from .lazy import lazy_module
from .parse import parse_syntax, parse_wrt
from .rules import RULES
from .shapes import Shape, as_sympy, dim, dim_str, space
from .simplify import frozen, simplify, unvec
from .terminal import NoProgress, Progress

np = lazy_module("numpy")  # needed only to evaluate (start-up: lazy.py)
steps_view = lazy_module("matcalc.steps")      # needed only for --steps
codegen = lazy_module("matcalc.codegen")       # needed only for --format numpy
Verdict = checker.Verdict


_PAUSED = {"depth": 0, "was_enabled": False}
_PAUSE_LOCK = threading.Lock()


def _collector_paused(f):
    """``f`` with Python's cyclic garbage collector paused while it runs (and resumed after,
    by the outermost of nested or concurrent calls, if it was running).  matcalc allocates a
    node for every piece of an expression and keeps them until the result is printed; the
    collector, started by allocation counts, would walk them all again and again (an eighth of
    the time of a 50,000-term sum).  Pausing frees nothing later: garbage in cycles waits for
    the next collection."""

    @functools.wraps(f)
    def paused(*args, **kwargs):
        with _PAUSE_LOCK:
            if _PAUSED["depth"] == 0:
                _PAUSED["was_enabled"] = gc.isenabled()
                gc.disable()
            _PAUSED["depth"] += 1
        try:
            return f(*args, **kwargs)
        finally:
            with _PAUSE_LOCK:
                _PAUSED["depth"] -= 1
                if _PAUSED["depth"] == 0 and _PAUSED["was_enabled"]:
                    gc.enable()

    return paused


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
        """The variables' shapes (of the original expression, for a derivative's own); a
        variable of the text that simplification removed (x in x*0) is listed too."""
        out = {n: v.shape.as_strings() for n, v in E.free_vars(self.origin or self.node).items()}
        if self.origin is None:
            out.update({n: v.shape.as_strings() for n, v in self.scope.items() if n not in out})
        return out

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
        """The expression at concrete values (``{name: array}``; sizes bind the dimensions,
        and a size no variable carries is given by name, ``{'m': 3}``):
        a NumPy array of its shape, a vector 1-D, a row 1×n.  A derivative's text parses back
        to an Expression that evaluates as the Derivative does (its vec arrangement, for a
        tensor result)."""
        shapes = {**self.declared, **{n: v.shape for n, v in self.variables.items()}}
        missing = [n for n in E.free_vars(self.node) if n not in values]
        if missing:
            raise ShapeError(f"evaluate needs values for {', '.join(missing)}")
        given = {n: s for n, s in shapes.items() if n in values}
        arrays = {n: verify.real_array(n, values[n]) for n in given}
        dims = verify.bind_dims(given, arrays)
        unbound = {d for n in E.topological(self.node)      # ones(k) inside: k too
                   for x in n.shape.dims + ((n.value,) if isinstance(n, E.Const) else ())
                   for d in as_sympy(x).free_symbols}
        dims.update(_sizes_given(values, unbound - set(dims), E.free_vars(self.node)))
        if unbound - set(dims):
            raise ShapeError("evaluate needs values that fix the size "
                             f"{', '.join(sorted(map(str, unbound - set(dims))))}",
                             hint=_SIZE_HINT)
        value = verify.evaluate(self.node, {n: arrays[n] for n in E.free_vars(self.node)}, dims)
        return np.asarray(value, dtype=float)


_SIZE_HINT = "a size that no variable carries (the m of ones(m)) is given by name: {'m': 3}"


def _sizes_given(values: dict, unbound: set, variables) -> dict:
    """Sizes given by name for dimensions that no value fixes (sum(ones(m)@[[a, b]]) has no
    variable of size m): ``{'m': 3}``.  A name that is also a variable is the variable."""
    out = {}
    for d in unbound:
        v = values.get(str(d))
        if str(d) in variables or v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ShapeError(f"the size {d} must be a positive whole number, not {v!r}")
        out[d] = int(v)
    return out


@_collector_paused
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
    node = infer(tree, declared, text, props)
    return Expression(node, text, declared, props, _vanished(tree, node, declared, text, props))


def _vanished(tree: Expr, node: Expr, declared: dict, text: str, props: dict) -> dict[str, Var]:
    """The variables of the text that the smart constructors folded away (x in x*0, 0*x, x^0),
    with the shapes inference gave them: the text is inferred again with every number read as
    a scalar variable (a number is a scalar, so the constraints are the same, and nothing
    folds)."""
    written = {n.name for n in E.topological(tree) if isinstance(n, Var)}   # (inference's walk)
    present = E.free_vars(node)
    if all(name in present for name in written):
        return {}
    numbers: dict = {}

    def rebuild(n, args):
        return Call(None, op=n.op, operands=tuple(args), params=n.params, span=n.span)

    mapping = {}
    for n in E.topological(tree):
        if isinstance(n, E.Const) and n.shape is not None and n.shape.is_scalar and \
                n not in mapping:
            name = f"\0{len(numbers)}"          # no name the grammar can read
            numbers[name] = Shape(())
            mapping[n] = Var(None, name=name, span=n.span)
    kept = E.substitute(tree, mapping, rebuild)
    try:
        typed = infer(kept, {**declared, **numbers}, text, props)
    except MatcalcError:                        # cannot happen; the shapes stay unknown then
        return {}
    return {name: v for name, v in E.free_vars(typed).items()
            if name in written and name not in present}


@dataclass
class Derivative:
    """∂f/∂x: the result, its shape (layout applied), the shapes used, and how to check it."""

    f: Expression
    wrt: tuple[Var, ...]          # one variable, or the entries of a vector literal [x, y]
    result: Expr                  # numerator layout
    layout: str = "numerator"
    first: Derivative | None = field(default=None, repr=False)   # for ∂/∂b (∂f/∂w): ∂f/∂w
    stacked: bool = False         # wrt a vector literal [x, y] (even of one entry)
    checked: checker.Verdict | None = field(default=None, repr=False, compare=False)
    #                               the verdict of the last check()

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
        f, x = self.f.node.shape, self.wrt_shape
        out = simplify(L.convert(self.result, f, x, self.layout), self._frozen)
        if f.is_matrix and x.is_scalar:
            m = unvec(out, f)              # computed as vec(∂F/∂s): read back in F's shape
            if m is not None:
                out = simplify(m, self._frozen)
        return out

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

    @_collector_paused
    def __str__(self) -> str:
        return render.text(self.expression, frozen=self._frozen, scope=self.f.variables)

    def __repr__(self) -> str:
        return f"<Derivative ∂/∂{self.wrt_text} {self.f} = {self}>"

    @property
    @_collector_paused
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
            if v.name in present or self.first is not None:
                continue
            if v.name in self.f.scope:      # written, then simplified away: x*0, x^0
                out.append(f"{v.name} vanishes from {self.f.source} once it is simplified (to "
                           f"{render.text(self.f.node)}): the derivative is zero")
            else:
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
        the dimensions; a mismatch is a ShapeError; a size no variable carries is given by
        name, ``{'m': 3}``).  Values are real numbers or arrays of them: anything else (None,
        text, complex numbers, ragged lists) is a MatcalcError."""
        if not isinstance(values, dict):
            raise MatcalcError(f"evaluate takes a dict of values by name, not "
                               f"{type(values).__name__}", hint="e.g. {'x': [1.0, 2.0]}")
        shapes = {n: v.shape for n, v in E.free_vars(self.f.node).items()}
        missing = [n for n in shapes if n not in values]
        if missing:
            raise ShapeError(f"evaluate needs values for {', '.join(missing)}")
        # the sizes of every given variable of f bind the dimensions (a second derivative may
        # have lost the variable that carried one, as in ∂/∂C of (1/k) 𝟙ᵀ …)
        scope = {n: v.shape for n, v in self.f.variables.items()}
        scope.update({v.name: v.shape for v in self.wrt})
        given = {n: s for n, s in {**scope, **shapes}.items() if n in values}
        arrays = {n: verify.real_array(n, values[n]) for n in given}
        dims = verify.bind_dims(given, arrays)
        unbound = {d for s in shapes.values() for x in s.dims for d in x.free_symbols} | {
            d for x in L.result_shape(self.f.node.shape, self.wrt_shape, self.layout)
            for d in as_sympy(x).free_symbols} | {
            d for n in E.topological(self.expression)
            for x in n.shape.dims + ((n.value,) if isinstance(n, E.Const) else ())
            for d in as_sympy(x).free_symbols}
        dims.update(_sizes_given(values, unbound - set(dims), scope))
        if unbound - set(dims):
            sizes = sorted(map(str, unbound - set(dims)))
            carriers = [n for n, s in scope.items() if n not in values and any(
                str(d) in sizes for x in s.dims for d in as_sympy(x).free_symbols)]
            raise ShapeError("evaluate needs values that fix the size " + ", ".join(sizes),
                             hint=f"give a value for {', '.join(carriers)}" if carriers
                             else _SIZE_HINT)
        value = verify.evaluate(self.expression, {n: arrays[n] for n in shapes}, dims)
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

    def check(self, progress: bool | None = None) -> bool:
        """Verify this result against the true derivative (``matcalc.check``'s oracle: SymPy
        and finite differences of the expression's components, at points on both sides of
        every kink and at the kinks, at several sets of sizes); raises VerificationError on a
        mismatch, returns True otherwise.  ``progress``: a bar on stderr for a check over a
        second (None: on a terminal only)."""
        verdict = self.checked = self.verdict(progress)
        if verdict.equal:
            return True
        if verdict.counterexample is None:
            raise VerificationError(f"∂/∂{self.wrt_text} {self.f}: {verdict.unverified}, so "
                                    f"the derivative could not be verified")
        raise VerificationError(
            f"∂/∂{self.wrt_text} {self.f} = {self} is wrong "
            f"(this is a bug in matcalc: please report it)\n"
            + verdict.counterexample.describe(self.shape_label[1:-1]))

    def verdict(self, progress: bool | None = None) -> checker.Verdict:
        """The check of this result as a ``Verdict`` (``check`` raises instead)."""
        huge = _huge_sizes(self)
        if huge:
            symbolic = self._with_symbolic_sizes(huge)
            verdict = symbolic.verdict(progress)
            verdict.notes.insert(0, _huge_note(huge))
            return verdict
        problem = checker.Problem(
            f=self.f.node, wrt=self.wrt, literal=self._literal,
            candidate=self.expression, layout=self.layout,
            variables=_check_variables(self.f, self.wrt),
            props={n: v.props for n, v in _check_variables(self.f, self.wrt).items()},
            subject=f"∂/∂{self.wrt_text} {render.operand_text(self.f.node)}")
        verdict = _run_check(problem, progress)
        verdict.text_of_candidate = self.__str__        # printed only when asked for
        verdict.shape_label = self.shape_label[1:-1]
        return verdict

    def _with_symbolic_sizes(self, huge: dict) -> Derivative:
        """The same derivative with every huge declared size a symbol (checked at small
        sizes: declared sizes never allocate)."""
        if self.first is not None:
            return self.first._with_symbolic_sizes(huge).diff(self.wrt_text)
        declared = {}
        for name, shape in self.f.declared.items():
            dims = tuple(dim(huge[d]) if d in huge else d for d in shape.dims)
            declared[name] = tuple(str(d) for d in dims) + tuple(sorted(self.f.props.get(
                name, ())))
        f = parse(self.f.source, declared)
        return _diff_one(f, self.wrt_text, self.layout)


def _check_variables(f: Expression, wrt) -> dict[str, Var]:
    """Everything that takes a value in a check: the variables of f (those simplified away
    included) and the variables differentiated by."""
    out = dict(f.variables)
    out.update({v.name: v for v in wrt})
    return out


def _huge_sizes(d: Derivative) -> dict:
    """Declared integer sizes too large to instantiate, each with a fresh name."""
    sizes = set()
    for v in _check_variables(d.f, d.wrt).values():
        sizes |= {x for x in map(as_sympy, v.shape.dims) if x.is_Integer and
                  int(x) > checker.SIZE_LIMIT}
    if not sizes:
        return {}
    taken = {str(s) for v in _check_variables(d.f, d.wrt).values() for x in v.shape.dims
             for s in as_sympy(x).free_symbols} | set(_check_variables(d.f, d.wrt))
    names = (f"N{i}" if i else "N" for i in range(10**6))
    out = {}
    for size in sorted(sizes):
        name = next(n for n in names if n not in taken)
        out[size] = name
    return out


def _huge_note(huge: dict) -> str:
    what = ", ".join(f"{_size_text(k)} as {v}" for k, v in huge.items())
    return (f"declared sizes never allocate: the check re-derived the expression with "
            f"{what}, a symbol, and checked that at small sizes")


def _size_text(n) -> str:
    s = str(n)
    return s if len(s) <= 12 else f"{s[:3]}…({len(s)} digits)"


def _run_check(problem: checker.Problem, progress) -> checker.Verdict:
    if progress is False:
        bar = NoProgress()
    else:
        bar = Progress(0, "matcalc: checking", enabled=progress)
    with bar:
        return checker.check(problem, bar)


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


@_collector_paused
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
    targets, literal = _targets(f, wrt)
    if literal:
        result = hcat([simplify(derivative(f.node, v), frozen(f.node)) for v in targets])
    else:
        result = derivative(f.node, targets[0])
    return Derivative(f, tuple(targets), result, layout, stacked=literal)


def _targets(f: Expression, wrt: str) -> tuple[list[Var], bool]:
    """The variables of ``wrt`` (a name or a vector literal of scalar names), and whether it is
    a literal."""
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
    return targets, literal


def check(expr: str | Expression, wrt: str, claim: str | None = None,
          shapes: dict | None = None, layout: str = "numerator",
          progress: bool | None = None) -> checker.Verdict:
    """Whether ``claim`` — a derivative typed in matcalc's language, with the expression's
    variables and shapes (a dimension's name stands for its size) — equals ∂expr/∂wrt in
    ``layout``; without a claim, matcalc's own result is checked.  Returns a ``Verdict``:
    true when equal, else with a counterexample (the point, the entry, the claimed and the
    true value).  A claim of the wrong shape is a ShapeError saying what is expected.

    >>> bool(check("sum(w*x)", "w", claim="x'"))
    True
    >>> v = check("x^2", "x", claim="2*x + max(0, x - 8/5)")
    >>> bool(v), v.counterexample.point["x"] > 8/5
    (False, True)
    """
    if layout not in L.LAYOUTS:
        raise MatcalcError(f"unknown layout {layout!r}", hint="use numerator or denominator")
    f = expr if isinstance(expr, Expression) else parse(expr, shapes)
    if claim is None:
        return _diff_one(f, wrt, layout).verdict(progress)
    if not isinstance(claim, str):
        raise ParseError(f"a claim must be a string, not {type(claim).__name__}")
    targets, literal = _targets(f, wrt)
    fake = Derivative(f, tuple(targets), E.zero(), layout, stacked=literal)
    huge = _huge_sizes(fake)
    if huge:
        size = _size_text(next(iter(huge)))
        raise ShapeError(f"a claim is checked at small sizes, and the size {size} is declared "
                         f"as a number", hint="declare it by a name (--shape x=N, or "
                         "shapes={'x': 'N'}) and write that name in the claim where the size "
                         "appears")
    candidate, sizes = _parse_claim(claim, f, fake)
    problem = checker.Problem(
        f=f.node, wrt=tuple(targets), literal=literal, candidate=candidate, layout=layout,
        variables=_check_variables(f, targets),
        props={n: v.props for n, v in _check_variables(f, targets).items()},
        sizes_as_values=sizes,
        subject=f"∂/∂{fake.wrt_text} {render.operand_text(f.node)}")
    verdict = _run_check(problem, progress)
    verdict.candidate = " ".join(claim.split())
    verdict.shape_label = fake.shape_label[1:-1]
    return verdict


def _shape_words(shape: Shape) -> str:
    if shape.is_scalar:
        return "a scalar"
    if shape.is_vector:
        return f"a column {dim_str(as_sympy(shape.dims[0]))}"
    if shape.is_row:
        return f"a row 1×{dim_str(as_sympy(shape.dims[1]))}"
    return f"a {shape} matrix"


def _parse_claim(text: str, f: Expression, d: Derivative):
    """The claim as a typed expression of the derivative's shape, with the expression's
    shapes; names of dimensions that are not variables stand for the sizes."""
    variables = _check_variables(f, d.wrt)
    dims = {str(s): s for v in variables.values() for x in v.shape.dims
            for s in as_sympy(x).free_symbols}
    tree = parse_syntax(text)
    sizes = {}
    for name, v in E.free_vars(tree).items():
        if name in variables:
            continue
        if name in dims:
            sizes[name] = dims[name]
            continue
        known = list(variables) + sorted(dims)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        raise ShapeError(f"the claim uses {name}, which is not a variable of {f.source}",
                         text=text, span=v.span,
                         hint=(f"did you mean {close[0]}? " if close else "") +
                         f"the variables are: {', '.join(variables) or 'none'}" +
                         (f"; the sizes {', '.join(sorted(dims))} may be used as numbers"
                          if dims else ""))
    declared = {n: v.shape for n, v in variables.items()}
    declared.update({n: Shape(()) for n in sizes})
    props = {n: set(v.props) for n, v in variables.items() if v.props}
    node = infer(tree, declared, text, props)
    fs, xs = f.node.shape, d.wrt_shape
    if L.is_tensor(fs, xs):
        raise UnsupportedError(
            f"∂/∂{d.wrt_text} {f.source} has more than two axes ({d.shape_label[1:-1]}); a "
            f"claim cannot be written for it in the language",
            hint="check matcalc's own result (leave out the claim), or claim the derivative "
                 "of a scalar function of the expression")
    want = Shape(tuple(as_sympy(x) for x in L.result_shape(fs, xs, d.layout)))
    if node.shape != want:
        if node.shape.is_scalar and isinstance(node, E.Const):
            return E.Const(want, value=node.value), sizes      # 0 for every entry
        other = "denominator" if d.layout == "numerator" else "numerator"
        other_shape = Shape(tuple(as_sympy(x) for x in L.result_shape(fs, xs, other)))
        hints = []
        if node.shape.T == want:
            hints.append("the transpose (" + (text.strip() + "'" if len(text) < 40 else
                                              "write ' after it") + ")")
        if node.shape == other_shape and other_shape != want:
            hints.append(f"--layout {other} (layout='{other}')")
        raise ShapeError(
            f"the claim is {_shape_words(node.shape)}, but ∂/∂{d.wrt_text} {f.source} is "
            f"{_shape_words(want)} in {d.layout} layout", text=text, span=(0, len(text)),
            hint=("did you mean " + ", or ".join(hints) + "?") if hints else
            "write a derivative of that shape")
    return node, sizes


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


@_collector_paused
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


__all__ = ["diff", "hessian", "parse", "check", "to_numpy", "Derivative", "Derivatives",
           "Expression", "Verdict", "VerificationError"]
