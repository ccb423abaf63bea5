"""NumPy code generation: an expression's value and derivatives as standalone Python source.

``numpy_source(derivatives)`` writes a module (it imports only NumPy)::

    import numpy as np

    def f_and_grad(W2, W1, x, b1, b2, y):
        '''f = sum((W2 relu(W1 x + b1) + b2 − y)²), and ∂f/∂W1 [m×k], ∂f/∂b1 [1×m], …'''
        W2 = np.asarray(W2, dtype=float)
        …
        n = W2.shape[0]
        u1 = W1 @ x
        …
        return f, df_dW1, df_db1

    def check_f_and_grad(W2, W1, x, b1, b2, y, *, eps=1e-06, rtol=0.0001, atol=1e-06):
        central finite differences of f against every derivative returned

    if __name__ == "__main__":
        the check at random inputs of small distinct sizes, drawn again (a bounded number of
        times) until f and every derivative are finite and no derivative is all zeros — a ReLU
        network whose units are all inactive has zero gradients, and agreeing with zero tests
        nothing; if no such point turns up, the message says which derivative went untested

For second derivatives (``Derivative.diff``, ``--order 2``) ``f`` is still the expression itself,
returned with the second derivatives; a private ``_first_derivatives`` computes the first
derivatives they differentiate (numerator layout), and the check compares it with central
differences of ``f``, then the second derivatives with central differences of it.

The value and the derivatives are one DAG: a subexpression they share — the forward values the
backward pass reuses — is one node, computed once into a named local (``u…`` for subexpressions
of f, ``t…`` for the rest), each before its first use.  Each operation's NumPy spelling is its
rule-table entry's ``code`` (``rules.Rule``); this module only supplies the conventions: a vector
and a row are 1-D arrays, a matrix is 2-D, a scalar a NumPy scalar; a constant broadcasts as a
number where an element-wise partner has the full shape; and each result is returned exactly as
``Derivative.evaluate`` returns it (tensors as ``out.shape + wrt.shape``).

It is a module of its own rather than a printer in ``render.py`` because it prints a program —
several expressions sharing locals, inputs converted, dimensions bound, a self-check — not an
expression.  User text reaches the source only as identifiers (variable names that Python
accepts as they are, or else replaced) and inside string literals written with ``repr``.
"""

from __future__ import annotations

import dataclasses
import itertools
import keyword
import linecache
import unicodedata

import sympy
from sympy.printing.numpy import NumPyPrinter

from . import expr as E
from . import layout as L
from . import render
from .errors import MatcalcError, UnsupportedError
from .expr import Call, Const, Expr, Identity, Var
from .rules import rule_for
from .shapes import Shape, as_sympy
from .simplify import rebuild

_LARGE = sympy.Integer(1000)   # a symbolic dimension, in cost estimates
_ELEMENTWISE = ("elementwise", "elementwise2")
_RESERVED = {"np", "math", "f_and_grad", "check_f_and_grad", "eps", "rtol", "atol", "f"}
TRIES = 20        # random points the self-check draws before it gives up on a nonzero derivative


class Context:
    """What a rule's ``code`` function may use besides its operands' names."""

    def __init__(self, dim_names: dict, assign=None):
        self._names = dim_names          # dimension symbol -> symbol named as its local
        self._assign = assign

    def assign(self, text: str) -> str:
        """A local holding ``text``, computed on a line of its own before the node's (a long
        chain is multiplied out in pieces)."""
        return self._assign(text)

    def dim(self, d) -> str:
        """A dimension (or any expression of dimensions) as Python: ``n``, ``(m*n)``."""
        d = as_sympy(d)
        if d.is_Integer:
            return str(int(d))
        text = str(d.xreplace(self._names))
        return text if text.isidentifier() else f"({text})"

    def dims(self, shape: Shape) -> str:
        """The array shape of a value of ``shape`` in generated code: vectors and rows 1-D."""
        if shape.is_scalar:
            return "()"
        if shape.is_vector or shape.is_row:
            return f"({self.dim(shape.dims[-1])},)"
        return f"({self.dim(shape.dims[0])}, {self.dim(shape.dims[1])})"

    def value(self, v) -> str:
        """A constant: ``2``, ``(1/3)``, ``(1/N)``."""
        v = as_sympy(v)
        if v.is_Integer:
            return str(int(v))
        if v.is_Rational:
            return f"({v.p}/{v.q})"
        if v.is_Float:
            return repr(float(v))
        if v.free_symbols:
            return self.dim(v)
        # an exact irrational number (2/√π): NumPy's spelling of it
        return "(" + NumPyPrinter().doprint(v).replace("numpy.", "np.") + ")"

    @staticmethod
    def estimate(d) -> float:
        """A size for cost estimates: symbolic dimensions count as large."""
        d = as_sympy(d)
        return float(d.xreplace({s: _LARGE for s in d.free_symbols}))


class _Names:
    """Identifiers for the generated source, distinct after Python's NFKC normalisation."""

    def __init__(self):
        self.taken: set[str] = set()

    def claim(self, wanted: str, fallback: str) -> str:
        """``wanted`` if Python takes it as it is, else ``wanted_``, else ``fallback1``, …"""
        candidates = itertools.chain([wanted, wanted + "_", wanted.lstrip("_") + "_"],
                                     (f"{fallback}{i}" for i in itertools.count(1)))
        name = next(c for c in candidates if _usable(c) and _norm(c) not in self.taken)
        self.taken.add(_norm(name))
        return name

    def fresh(self, prefix: str, counter) -> str:
        while True:
            name = f"{prefix}{next(counter)}"
            if _norm(name) not in self.taken:
                self.taken.add(_norm(name))
                return name


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def _usable(name: str) -> bool:
    return (name.isidentifier() and name == _norm(name) and not keyword.iskeyword(name)
            and not keyword.issoftkeyword(name) and name not in _RESERVED
            and not name.startswith("_"))


# ---------------------------------------------------------------------------------------------


def numpy_source(derivatives) -> str:
    """The source of a module computing ``f`` and the given derivatives of it (all of one
    expression; first or second derivatives), with a finite-difference self-check; see the
    module docstring."""
    ds = list(derivatives)
    if not ds:
        raise MatcalcError("code generation needs at least one derivative")
    f = _root(ds[0])
    if any(_root(d) != f for d in ds):
        raise MatcalcError("one generated function computes derivatives of one expression",
                           hint="generate one function per expression")
    if any(d.first is not None and d.first.first is not None for d in ds):
        raise UnsupportedError("NumPy code is written for first and second derivatives",
                               hint="differentiate at most twice")
    return _Module(ds).source()


def _root(d) -> Expr:
    """The expression a derivative is of: f itself, for a second derivative too."""
    return d.f.origin or d.f.node


def numpy_function(derivatives):
    """``numpy_source(derivatives)`` compiled: the function ``f_and_grad``, with its source in
    ``.source`` and the finite-difference check in ``.check``."""
    return _compile(numpy_source(derivatives))


def _compile(source: str, name: str = "f_and_grad"):
    filename = f"<matcalc-generated-{next(_SERIAL)}>"
    # so tracebacks and inspect show the generated lines
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": "matcalc_generated"}
    # Executes only source just written by numpy_source (numpy_function is the one caller):
    # operations come from the rule table, user text appears only as checked identifiers and
    # inside repr() string literals.
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    fn = namespace[name]
    fn.source = source
    fn.check = namespace["check_" + name]
    return fn


_SERIAL = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Rewrites for less work (the value is the same; the printed form is not the point here)


def _is(e: Expr, op: str) -> bool:
    return isinstance(e, Call) and e.op == op


def scalar_onto_smallest_factor(e: Expr) -> Expr | None:
    """c (A B) = (c A) B: a scalar scales the smallest factor of a product, not the product
    (2 (g xᵀ) costs n² multiplications, (2g) xᵀ costs n).  Only where the one non-scalar
    factor is the product: a 1×1 product (xᵀx) is itself a scalar factor, beside a vector or
    ``I``, as in (xᵀ A x) x/(xᵀ x)."""
    if not _is(e, "mul"):
        return None
    scalars = [f for f in e.operands if f.shape.is_scalar]
    rest = [f for f in e.operands if not f.shape.is_scalar]
    if not scalars or len(rest) != 1 or not _is(rest[0], "matmul"):
        return None
    factors = list(rest[0].operands)
    i = min(range(len(factors)), key=lambda j: Context.estimate(factors[j].shape.size))
    if Context.estimate(factors[i].shape.size) >= Context.estimate(rest[0].shape.size):
        return None
    factors[i] = E.mul(*scalars, factors[i])
    return E.matmul(*factors)


def row_as_column(e: Expr) -> Expr | None:
    """vᵀ A = (Aᵀ v)ᵀ: a row-valued product is computed as the column it transposes (the same
    1-D array in generated code), so gᵀ W and Wᵀ g are one computation."""
    if not (_is(e, "matmul") and e.shape.is_row):
        return None
    return E.transpose(E.matmul(*[E.transpose(f) for f in reversed(e.operands)]))


COST_REWRITES = (row_as_column, scalar_onto_smallest_factor)


def cheaper(e: Expr, memo: dict) -> Expr:
    """``e`` with ``COST_REWRITES`` applied bottom-up (``memo`` is shared across roots)."""
    for n in E.topological(e):
        if n in memo:
            continue
        m = n
        if isinstance(n, Call):
            args = tuple(memo[a] for a in n.operands)
            m = n if args == n.operands else rebuild(n, args)
        for rewrite in COST_REWRITES:
            r = rewrite(m)
            if r is not None:
                m = r
        memo[n] = m
    return memo[e]


# ---------------------------------------------------------------------------------------------


class _Program:
    """One generated function: ``f`` (the expression) and the derivatives ``ds`` of it."""

    def __init__(self, ds, params: list[Var]):
        self.ds = ds
        memo: dict = {}
        root = _root(ds[0])
        self.f = cheaper(root, memo)
        self.results = [cheaper(d.expression, memo) for d in ds]
        self.names = _Names()
        self.lines: list[str] = []
        self.code: dict[Expr, str] = {}          # node -> its name or literal
        self.by_text: dict[str, str] = {}        # right-hand side -> the local holding it
        self.forward = set(E.topological(self.f))
        self.params = params
        self.local = {v.name: self.names.claim(v.name, "v") for v in self.params}
        self.dim_names = {}
        for s in sorted({s for v in self.params for d in v.shape.dims for s in d.free_symbols},
                        key=str):
            self.dim_names[s] = sympy.Symbol(self.names.claim(str(s), "dim"))
        self.ctx = Context(self.dim_names)
        self.outputs = ["f"] + [self.names.claim(_output_name(d), "d2f_d" if d.first else "df_d")
                                for d in ds]
        self.counters = {"u": itertools.count(1), "t": itertools.count(1)}

    # -- the body ------------------------------------------------------------------------

    def function(self, name: str, doc: str) -> list[str]:
        args = ", ".join(self.local[v.name] for v in self.params)
        body = self._inputs() + self._dims() + self._values()
        return [f"def {name}({args}):", "    " + repr(doc)] + ["    " + line for line in body]

    def doc(self) -> str:
        parts = [f"{_symbol(d)} {d.shape_label}" for d in self.ds]
        renamed = [f"{v.name} as {self.local[v.name]}" for v in self.params
                   if self.local[v.name] != v.name]
        return (f"f = {render.text(_root(self.ds[0]))}, and {', '.join(parts)}; by matcalc "
                f"(layout: {self.ds[0].layout})" +
                (f"; variables renamed for Python: {', '.join(renamed)}." if renamed else "."))

    def _inputs(self) -> list[str]:
        out = []
        for v in self.params:
            a = self.local[v.name]
            if v.shape.is_scalar:
                out.append(f"{a} = np.float64(np.reshape({a}, ()))")
            elif v.shape.is_vector:
                out.append(f"{a} = np.asarray({a}, dtype=float).reshape(-1)")
            else:
                out.append(f"{a} = np.asarray({a}, dtype=float)")
        return out

    def _dims(self) -> list[str]:
        """Bind each dimension from the first input that has it, then check every input."""
        out = []
        arrays = [v for v in self.params if not v.shape.is_scalar]
        spec = ", ".join(f"{v.name} {v.shape}" for v in arrays)
        if arrays:
            ndims = ", ".join(f"{self.local[v.name]}.ndim" for v in arrays)
            want = ", ".join(str(len(v.shape.dims)) for v in arrays)
            out += [f"if ({ndims},) != ({want},):",
                    f"    raise ValueError({'the expression needs ' + spec!r})"]
        first: dict = {}                 # each dimension's first input and axis
        for v in self.params:
            for i, d in enumerate(v.shape.dims):
                first.setdefault(d, (v, i))
        for s, local in self.dim_names.items():
            v, axis = first[s]
            out.append(f"{local} = {self.local[v.name]}.shape[{axis}]")
        if arrays:
            got = ", ".join(f"{self.local[v.name]}.shape" for v in arrays)
            want = ", ".join(self.ctx.dims(v.shape) for v in arrays)
            shown = ", ".join(f"{{{self.local[v.name]}.shape}}" for v in arrays)
            out += [f"if ({got},) != ({want},):",
                    (f"    raise ValueError(f'the inputs have shapes {shown}; ' + "
                     f"{'the expression needs ' + spec!r})")]
        return out

    def _values(self) -> list[str]:
        self.lines = []
        for node in E.topological_all([self.f] + self.results):
            self._emit(node)
        returned = [self._result_f()] + [self._result(d, e) for d, e in zip(self.ds, self.results)]
        tail = []
        for name, text in zip(self.outputs, returned):
            if text != name:
                tail.append(f"{name} = {text}")
        return self.lines + tail + ["return " + ", ".join(self.outputs)]

    def _emit(self, node: Expr):
        if isinstance(node, Var):
            self.code[node] = self.local[node.name]
        elif isinstance(node, Const):
            if node.shape.is_scalar:
                self.code[node] = self.ctx.value(node.value)
            # other constants are written where they are used (they may broadcast)
        elif isinstance(node, Identity):
            self._assign(node, f"np.eye({self.ctx.dim(node.shape.rows)})")
        else:
            rule = rule_for(node)
            if rule.code is None:
                raise UnsupportedError(f"no NumPy code for {rule.text or rule.name} yet",
                                       hint="add its 'code' to its entry in rules.py")
            args = [self._operand(a, node) for a in node.operands]
            code = rule.code
            ctx = Context(self.dim_names, lambda text: self._assign(node, text, keep=False))
            text = code.format(*args) if isinstance(code, str) else code(args, node, ctx)
            if text in args:
                self.code[node] = text      # nothing to compute (a transpose of a vector)
            else:
                self._assign(node, text)

    def _operand(self, a: Expr, parent: Call | None) -> str:
        if a in self.code:
            return self.code[a]
        # a constant vector or matrix: a number where an element-wise partner has the shape
        if parent is not None and rule_for(parent).family in _ELEMENTWISE and any(
                b.shape == parent.shape and not isinstance(b, Const) for b in parent.operands):
            return self.ctx.value(a.value)
        value = as_sympy(a.value)
        dims = self.ctx.dims(a.shape)
        text = (f"np.zeros({dims})" if value == 0 else f"np.ones({dims})" if value == 1 else
                f"np.full({dims}, {self.ctx.value(value)})")
        return self._assign(a, text)

    def _assign(self, node: Expr, text: str, keep: bool = True) -> str:
        """A local holding ``text``, for ``node`` (``keep``: as the node's own value, else as a
        part of it)."""
        if text not in self.by_text:   # the same computation on the same locals: once
            prefix = "u" if node in self.forward else "t"
            name = self.names.fresh(prefix, self.counters[prefix])
            self.lines.append(f"{name} = {text}")
            self.by_text[text] = name
        if keep:
            self.code[node] = self.by_text[text]
        return self.by_text[text]

    # -- results, in exactly the shapes Derivative.evaluate returns -------------------------

    def _result_f(self) -> str:
        text = self._operand(self.f, None)
        if self.f.shape.is_scalar:
            return f"np.float64({text})" if isinstance(self.f, Const) else text
        if self.f.shape.is_row:
            return f"np.reshape({text}, (1, {self.ctx.dim(self.f.shape.dims[1])}))"
        return text

    def _result(self, d, e: Expr) -> str:
        text = self._operand(e, None)
        fs, xs = d.f.node.shape, d.wrt_shape     # d.f: the gradient, for a second derivative
        if L.is_tensor(fs, xs):    # vec Jacobian -> T[o…, w…] (as verify.to_tensor)
            rev = [self.ctx.dim(x) for x in reversed(fs.dims)] + \
                  [self.ctx.dim(x) for x in reversed(xs.dims)]
            k, m = len(fs.dims), len(xs.dims)
            axes = list(reversed(range(k))) + [k + i for i in reversed(range(m))]
            return f"np.reshape({text}, ({', '.join(rev)})).transpose({tuple(axes)})"
        target = L.result_shape(fs, xs, d.layout)
        if not target:
            return f"np.float64({text})" if isinstance(e, Const) else text
        dims = "(" + ", ".join(self.ctx.dim(x) for x in target) + ("," if len(target) == 1
                                                                   else "") + ")"
        if dims == self.ctx.dims(e.shape) and not e.shape.is_row:
            return text
        # a matrix by a scalar is carried as vec (column-major), as in evaluate
        order = ", order='F'" if fs.is_matrix and xs.is_scalar else ""
        return f"np.reshape({text}, {dims}{order})"


class _Module:
    """The generated module: ``f_and_grad``, for second derivatives ``_first_derivatives``,
    the self-check ``check_f_and_grad`` and the ``__main__`` block that runs it."""

    def __init__(self, ds):
        params: dict[str, Var] = dict(E.free_vars(_root(ds[0])))   # in order of appearance
        for d in ds:                  # then variables f lacks that a derivative is taken by
            for v in (d.first.wrt if d.first is not None else ()) + d.wrt:
                params.setdefault(v.name, v)
        self.main = _Program(ds, list(params.values()))
        firsts: list = []
        for d in ds:
            if d.first is not None and not any(_same_wrt(d.first, g) for g in firsts):
                firsts.append(dataclasses.replace(d.first, layout="numerator"))
        self.firsts = firsts
        self.helper = _Program(firsts, self.main.params) if firsts else None

    def source(self) -> str:
        out = self.main.function("f_and_grad", self.main.doc())
        if self.helper is not None:
            out += ["", ""] + self.helper.function("_first_derivatives", self.helper.doc() + (
                " For check_f_and_grad: the second derivatives f_and_grad returns are checked "
                "against finite differences of these first derivatives."))
        imports = ["import math"] if any("math." in line for line in out) else []
        out = imports + ["import numpy as np", "", ""] + out
        out += ["", ""] + self._check() + ["", ""] + self._main()
        return "\n".join(out) + "\n"

    # -- the self-check ------------------------------------------------------------------

    def _items(self) -> list[str]:
        """(what is differentiated, its function and output, the derivative's label, function
        and output, the variables, stacked?, transposed?) for each derivative checked."""
        main, helper = self.main, self.helper
        items = []

        def item(of, i, by, k, d):
            names = tuple(main.local[v.name] for v in d.wrt)
            swap = d.layout == "denominator" and d.f.node.shape.is_vector and \
                d.wrt_shape.is_vector
            label = (helper if by == "_first_derivatives" else main).outputs[k]
            of_label = "f" if i == 0 else helper.outputs[i]
            items.append(f"({of_label!r}, {of}, {i}, {label!r}, {by}, {k}, {names!r}, "
                         f"{d._literal!r}, {swap!r})")

        for j, g in enumerate(self.firsts, start=1):
            item("_first_derivatives", 0, "_first_derivatives", j, g)
        for k, d in enumerate(main.ds, start=1):
            if d.first is None:
                item("f_and_grad", 0, "f_and_grad", k, d)
            else:
                j = next(j for j, g in enumerate(self.firsts, start=1) if _same_wrt(d.first, g))
                item("_first_derivatives", j, "f_and_grad", k, d)
        return items

    def _check(self) -> list[str]:
        main = self.main
        args = ", ".join(main.local[v.name] for v in main.params)
        inputs = ", ".join(f"{main.local[v.name]!r}: {main.local[v.name]}" for v in main.params)
        what = ("central finite differences of f against each derivative f_and_grad returns"
                if self.helper is None else
                "central finite differences of f against each first derivative, and of the "
                "first derivatives against each second derivative f_and_grad returns")
        return [
            f"def check_f_and_grad({args}, *, eps=1e-06, rtol=0.0001, atol=1e-06):",
            "    " + repr(f"Compares {what}: raises AssertionError on a mismatch, returns the "
                          "largest absolute difference.  Two calls per input entry: use small "
                          "sizes."),
            f"    _inputs = {{{inputs}}}",
            "    _worst = 0.0",
            "    for _of_label, _of, _i, _label, _by, _k, _names, _literal, _swap in (",
            *[f"            {it}," for it in self._items()],
            "    ):",
            "        _value = _of(**_inputs)[_i]",
            "        _parts = []",
            "        for _name in _names:",
            "            _x = np.array(_inputs[_name], dtype=float)",
            "            _fd = np.zeros(np.shape(_value) + _x.shape)",
            "            for _j in np.ndindex(*_x.shape):",
            "                _plus, _minus = _x.copy(), _x.copy()",
            "                _plus[_j] += eps",
            "                _minus[_j] -= eps",
            "                _up = _of(**{**_inputs, _name: _plus})[_i]",
            "                _down = _of(**{**_inputs, _name: _minus})[_i]",
            "                _step = np.asarray(_up) - np.asarray(_down)",
            "                _fd[(Ellipsis,) + _j] = _step / (2 * eps)",
            "            _parts.append(_fd)",
            "        _fd = np.stack(_parts, axis=-1) if _literal else _parts[0]",
            "        _got = np.asarray(_by(**_inputs)[_k], dtype=float)",
            "        _got = np.reshape(_got.T if _swap else _got, _fd.shape)",
            "        _error = float(np.max(np.abs(_got - _fd), initial=0.0))",
            "        if not np.allclose(_got, _fd, rtol=rtol, atol=atol):",
            "            raise AssertionError(f'{_label} (w.r.t. {\", \".join(_names)}) differs '",
            "                                 f'from finite differences of {_of_label} by '",
            "                                 f'{_error:.3g}')",
            "        _worst = max(_worst, _error)",
            "    return _worst",
        ]

    def _main(self) -> list[str]:
        """Draw inputs (declared properties kept: a symmetric matrix, a probability vector, a
        matrix of probability rows) until f and every derivative are finite and none is all
        zeros, at most TRIES times."""
        main = self.main
        sizes = {s: i + 2 for i, s in enumerate(main.dim_names)}    # distinct: 2, 3, 4, …
        lo, hi = self._domain()
        lines = ['if __name__ == "__main__":', "    _rng = np.random.default_rng(0)",
                 "    _usable = None",
                 f"    for _try in range({TRIES}):",
                 "        _inputs = {}"]
        for v in main.params:
            shape = tuple(int(as_sympy(d).xreplace(sizes)) for d in v.shape.dims)
            a = main.local[v.name]
            if "prob" in v.props:
                lines += [f"        _a = _rng.uniform(0.1, 1.0, size={shape!r})",   # each row
                          f"        _inputs[{a!r}] = _a / _a.sum(axis=-1, keepdims=True)"]
            elif "sym" in v.props:
                lines += [f"        _a = _rng.uniform({lo}, {hi}, size={shape!r})",
                          f"        _inputs[{a!r}] = (_a + _a.T) / 2"]
            else:
                lines.append(f"        _inputs[{a!r}] = _rng.uniform({lo}, {hi}, size={shape!r})")
        outputs = tuple(main.outputs[1:])
        lines += [
            "        with np.errstate(all='ignore'):",
            "            _results = [np.asarray(r, dtype=float) for r in f_and_grad(**_inputs)]",
            "        if not all(np.all(np.isfinite(r)) for r in _results):",
            "            continue                  # outside the domain of a function: again",
            f"        _zero = [_n for _n, _r in zip({outputs!r}, _results[1:]) if not _r.any()]",
            "        if _usable is None or not _zero:",
            "            _usable = (_inputs, _zero)",
            "        if not _zero:",
            "            break",
            "    if _usable is None:",
            (f"        raise SystemExit('no finite value of f and its derivatives at any of the "
             f"{TRIES} random points tried: nothing was checked')"),
            "    _inputs, _zero = _usable",
            "    _error = check_f_and_grad(**_inputs)",
            "    print(f'finite differences agree (largest difference {_error:.2g})')",
            "    if _zero:",
            "        _one = len(_zero) == 1",
            ("        print('but ' + ' and '.join(_zero) + (' was' if _one else ' were') + ' all "
             f"zeros at each of the {TRIES} random points tried, so the check could not test ' "
             "+ ('it' if _one else 'them'))"),
        ]
        return lines

    def _domain(self) -> tuple[float, float]:
        """Where to sample: inside the domain of every function used (the table's ``domain``)."""
        lo, hi = -2.0, 2.0
        for n in E.topological(self.main.f):
            if isinstance(n, Call):
                a, b = rule_for(n).domain
                lo, hi = max(lo, a), min(hi, b)
        return lo, hi


def _same_wrt(a, b) -> bool:
    return a.wrt == b.wrt and a._literal == b._literal


def _symbol(d) -> str:
    """∂f/∂x, ∂²f/∂x² or ∂²f/∂b∂w (∂/∂b of ∂f/∂w), as ``Derivative.line`` writes them."""
    if d.first is None:
        return f"∂f/∂{d.wrt_text}"
    if _same_wrt(d.first, d):
        return f"∂²f/∂{d.wrt_text}²"
    return f"∂²f/∂{d.wrt_text}∂{d.first.wrt_text}"


def _output_name(d) -> str:
    """``df_dx``; ``d2f_dx2``; ``d2f_dw_db`` for ∂/∂b of ∂f/∂w (entries ∂²f/∂wᵢ∂bⱼ)."""
    if d.first is None:
        return f"df_d{_wrt_name(d)}"
    if _same_wrt(d.first, d):
        return f"d2f_d{_wrt_name(d)}2"
    return f"d2f_d{_wrt_name(d.first)}_d{_wrt_name(d)}"


def _wrt_name(d) -> str:
    return "_".join(v.name for v in d.wrt)
