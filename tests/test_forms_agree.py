"""Every entry's forms agree (issue 13, part 2): the value an operation has by its NumPy form (what
``evaluate`` and the check's screen use), by its exact SymPy form (the component expansion, the
oracle of the tests and the check's precise tier) and, where the entry has one, by its SymPy
matrix-expression form (``Derivative.sympy``) are one value, at points on both sides of zero
and away from it, at distinct sizes.  Generated from the table's test data (test_functions), so
a new entry is covered here too.  Mutation testing showed a wrong SymPy form (elu's a·(eˣ − 1)
made a/(eˣ − 1), min's object path dropped, the norm's square dropped) went unseen: the tests
compared derivatives, and a form used by both sides of a comparison cannot be caught by it."""

import numpy as np
import pytest
import sympy
from test_functions import ELEMENTWISE, MORE, OTHERS

import matcalc
from matcalc import render, verify
from matcalc.rules import RULES


def _cases():
    out = []
    for name in sorted(ELEMENTWISE):
        out.append((name, f"{name}(x)", {"x": "n"}))
    for name, (expr, _wrt, shapes, _want) in sorted(OTHERS.items()):
        out.append((name, expr, shapes))
    for expr, _wrt, shapes, *_ in MORE:
        out.append((expr.split("(")[0], expr, shapes))
    # forms the test data above reaches on one side only
    out += [
        ("elu", "elu(x)", {"x": "n"}), ("elu", "elu(x, 0.5)", {"x": "n"}),
        ("leaky_relu", "leaky_relu(x)", {"x": "n"}),
        ("min", "min(x, 0.25)", {"x": "n"}), ("max", "max(x, 0.25)", {"x": "n"}),
        ("max", "max(X, Y)", {"X": "m,n", "Y": "m,n"}),
        ("div", "X / Y", {"X": "m,n", "Y": "m,n"}), ("div", "x / 3", {"x": "n"}),
        ("div", "3 / x", {"x": "n"}),
        ("norm", "norm(X)", {"X": "m,n"}), ("norm", "norm(x, 1)", {"x": "n"}),
        ("matmul", "2 * A @ x", {"A": "m,n"}), ("matmul", "A @ B", {"A": "m,n", "B": "n,k"}),
        ("logsumexp", "logsumexp(X, axis=1)", {"X": "m,n"}),
        ("logsumexp", "logsumexp(X, axis=0)", {"X": "m,n"}),
        ("softmax", "softmax(X, axis=1)", {"X": "m,n"}),
        ("mean", "mean(X, axis=0)", {"X": "m,n"}),
        ("stack", "[x^2, 3*x]", {"x": "scalar"}),
        ("pow", "X ^ 2", {"X": "m,n"}),
        ("kron", "kron(A, B)", {"A": "m,n", "B": "k,n"}),
    ]
    return out


CASES = _cases()


def _values(f, rng, name):
    lo, hi = RULES[name].domain if name in RULES else (-2.0, 2.0)
    dims = verify.small_dims({s for v in f.variables.values() for d in v.shape.dims
                              for s in sympy.sympify(d).free_symbols})
    shapes = {n: v.shape for n, v in f.variables.items()}
    if name in ("det", "logdet", "inv"):
        vals = {}
        for n, s in shapes.items():
            k = verify.concrete(s, dims)
            vals[n] = rng.normal(size=k) + (3 * np.eye(k[0]) if len(k) == 2 and k[0] == k[1]
                                            else 0)
        return vals, dims
    vals = verify.random_values(shapes, dims, rng, domain=(lo, hi))
    return vals, dims


def _rational(v):
    a = np.asarray(v, dtype=float)
    out = np.empty(a.shape, dtype=object)
    for i in np.ndindex(*a.shape):
        out[i] = sympy.Rational(float(a[i]))
    return out


@pytest.mark.parametrize("name, expr, shapes", CASES, ids=[c[1] for c in CASES])
def test_numpy_and_exact_sympy_forms_agree(name, expr, shapes):
    f = matcalc.parse(expr, shapes)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        vals, dims = _values(f, rng, name)
        numeric = np.asarray(verify.evaluate(f.node, vals, dims), dtype=float)
        exact = verify.evaluate(f.node, {n: _rational(v) for n, v in vals.items()}, dims,
                                symbolic=True)
        exact = np.vectorize(lambda t: float(sympy.N(t, 30)), otypes=[float])(
            np.asarray(exact, dtype=object))
        assert exact.shape == numeric.shape, (expr, exact.shape, numeric.shape)
        np.testing.assert_allclose(exact, numeric, rtol=1e-9, atol=1e-12, err_msg=expr)
        # the same entries as SymPy symbols (the forms a symbolic oracle differentiates:
        # Piecewise, Max, Min), the numbers put in afterwards
        syms, point = {}, {}
        for n, v in vals.items():
            a = np.empty(np.shape(v), dtype=object)
            for i in np.ndindex(*a.shape):
                a[i] = sympy.Symbol(f"{n}_{'_'.join(map(str, i))}", real=True)
                point[a[i]] = sympy.Rational(float(np.asarray(v)[i]))
            syms[n] = a
        symbolic = verify.evaluate(f.node, syms, dims, symbolic=True)
        symbolic = np.vectorize(lambda t: float(sympy.N(sympy.sympify(t).xreplace(point), 30)),
                                otypes=[float])(np.asarray(symbolic, dtype=object))
        np.testing.assert_allclose(symbolic, numeric, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{expr} (symbolic entries)")


def _explicit(value):
    if isinstance(value, sympy.MatrixBase) or hasattr(value, "as_explicit"):
        return np.array(sympy.Matrix(value.as_explicit() if hasattr(value, "as_explicit")
                                     else value).evalf(30).tolist(), dtype=float)
    return np.array(float(sympy.N(value, 30)))


def _written_out(case) -> bool:
    """Whether the case's SymPy matrix form is written out in matrix algebra, not an opaque
    applied function such as ``mean(x)`` or a matrix symbol named ``elu(x, a)``."""
    _name, expr, shapes = case
    f = matcalc.parse(expr, shapes)
    form = render.to_sympy(f.node)
    names = {str(s) for s in form.free_symbols}
    return not form.atoms(sympy.core.function.AppliedUndef) and \
        names <= set(f.variables) | {str(d) for d in _dim_symbols(f)}


def _dim_symbols(f):
    return {s for v in f.variables.values() for d in v.shape.dims
            for s in sympy.sympify(d).free_symbols}


WRITTEN_OUT = [c for c in CASES if _written_out(c)]


def test_most_entries_have_a_written_out_matrix_form():
    assert len(WRITTEN_OUT) >= len(CASES) - 20, sorted({c[0] for c in CASES} -
                                                        {c[0] for c in WRITTEN_OUT})


@pytest.mark.parametrize("name, expr, shapes", WRITTEN_OUT, ids=[c[1] for c in WRITTEN_OUT])
def test_the_matrix_expression_form_agrees(name, expr, shapes):
    """Where an entry's SymPy matrix form is written out in matrix algebra (not an opaque
    applied function), it has the NumPy value once the variables are given numbers."""
    f = matcalc.parse(expr, shapes)
    form = render.to_sympy(f.node)
    rng = np.random.default_rng(5)
    vals, dims = _values(f, rng, name)
    form = form.xreplace(dims)
    sub = {}
    for s in form.atoms(sympy.MatrixSymbol):
        v = np.asarray(vals[str(s.name)], dtype=float)
        sub[s] = sympy.ImmutableMatrix(v.reshape(int(s.shape[0]), int(s.shape[1]))
                                       if v.ndim else [[v.item()]]).applyfunc(sympy.Rational)
    for s in form.free_symbols:
        if isinstance(s, sympy.Symbol) and str(s) in vals:
            sub[s] = sympy.Rational(float(vals[str(s)]))
    got = _explicit(form.xreplace(sub).doit())
    want = np.asarray(verify.evaluate(f.node, vals, dims), dtype=float)
    np.testing.assert_allclose(got.reshape(want.shape) if got.size == want.size else got, want,
                               rtol=1e-9, atol=1e-12, err_msg=f"{expr}: {form}")

