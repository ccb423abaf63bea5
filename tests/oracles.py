"""The two independent oracles every derivative test uses.

1. Central finite differences of the expression itself, at concrete sizes with distinct
   dimensions (2, 3, 4, …) so a missing transpose cannot hide.
2. SymPy component expansion (``Derivative.check``): the expression ground down to scalars.
"""

from __future__ import annotations

import numpy as np
import sympy

from matcalc import expr as E
from matcalc import verify
from matcalc.layout import result_shape


def concrete_dims(d) -> dict:
    """Sizes for every dimension of f, its variables' and those only a constant names
    (the m of sum(ones(m)@[[a, b]]))."""
    symbols = sorted({s for n in E.topological(d.f.node) for x in n.shape.dims
                      for s in x.free_symbols}, key=str)
    return verify.small_dims(symbols)


def assert_numeric(d, seed: int = 0, domain=(-2.0, 2.0), tol: float = 1e-5, values=None):
    """The derivative agrees with central finite differences of f, in tensor form, and
    ``evaluate`` returns an array of exactly ``d.shape``."""
    shapes = {n: v.shape for n, v in E.free_vars(d.f.node).items()}
    dims = concrete_dims(d)
    rng = np.random.default_rng(seed)
    props = {n: v.props for n, v in E.free_vars(d.f.node).items()}
    if values is None:
        values = verify.random_values(shapes, dims, rng, domain=domain, props=props)
    for w in d.wrt:
        if w.name not in values:
            values[w.name] = verify.random_values({w.name: w.shape}, dims, rng, domain)[w.name]
    numeric = []
    for w in d.wrt:
        def f(xv, w=w):
            env = dict(values)
            env[w.name] = xv
            return np.asarray(verify.evaluate(d.f.node, env, dims), dtype=float)
        numeric.append(verify.numeric_jacobian(f, np.asarray(values[w.name], dtype=float)))
    if len(d.wrt) > 1 or d._literal:
        numeric = np.stack(numeric, axis=-1)
    else:
        numeric = numeric[0]
    got = np.asarray(d.tensor(values, dims), dtype=float)
    assert np.isfinite(numeric).all(), "f is not differentiable at the test point: pick values"
    np.testing.assert_allclose(got.reshape(numeric.shape), numeric, rtol=tol, atol=tol)
    # evaluate(): exactly the advertised shape, in the requested layout
    value = d.evaluate({**{str(k): int(v) for k, v in dims.items()}, **values})
    want = tuple(int(sympy.sympify(x).subs(dims)) for x in
                 result_shape(d.f.node.shape, d.wrt_shape, d.layout))
    assert value.shape == want, (value.shape, want)
    return values


def assert_verified(d, seeds=(0,), **numeric):
    """Both oracles: finite differences at each seed (``numeric`` passes on to
    ``assert_numeric``) and SymPy component expansion (``d.check()``)."""
    for seed in seeds:
        assert_numeric(d, seed=seed, **numeric)
    assert d.check()


def assert_second_derivative(d2, a: str, b: str, seed: int = 0, domain=(-2.0, 2.0),
                             values=None, eps: float = 1e-4, tol: float = 1e-4):
    """``d2 = diff(f, a).diff(b)`` checked against f itself (not against matcalc's gradient),
    two independent ways: finite differences of finite differences of f, and SymPy's second
    derivatives of f's components.  Entries T[i…, j…] = ∂²f/∂aᵢ∂bⱼ."""
    root = d2.f.origin
    variables = E.free_vars(root)
    shapes = {n: v.shape for n, v in variables.items()}
    props = {n: v.props for n, v in variables.items()}
    symbols = sorted({s for sh in shapes.values() for x in sh.dims for s in x.free_symbols},
                     key=str)
    dims = verify.small_dims(symbols)
    rng = np.random.default_rng(seed)
    if values is None:
        values = verify.random_values(shapes, dims, rng, domain=domain, props=props)
    values = {n: np.asarray(v, dtype=float) for n, v in values.items()}

    def f(env):
        return float(verify.evaluate(root, env, dims))

    A, B = values[a], values[b]
    H = np.zeros(A.shape + B.shape)
    for i in np.ndindex(*A.shape):
        for j in np.ndindex(*B.shape):
            total = 0.0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                env = {n: v.copy() for n, v in values.items()}
                env[a][i] += si * eps
                env[b][j] += sj * eps
                total += si * sj * f(env)
            H[i + j] = total / (4 * eps * eps)
    got = np.asarray(d2.tensor(values, dims), dtype=float).reshape(H.shape)
    assert np.isfinite(H).all(), "f is not twice differentiable at the test point: pick values"
    np.testing.assert_allclose(got, H, rtol=tol, atol=tol)
    assert d2.evaluate(values).size == H.size
    # SymPy: the components of f, differentiated twice
    env = verify.symbol_values(shapes, dims, {n: p for n, p in props.items()
                                              if n not in (a, b)})
    fs = sympy.sympify(np.asarray(verify.evaluate(root, env, dims, symbolic=True)).item())
    xa, xb = np.asarray(env[a], dtype=object), np.asarray(env[b], dtype=object)
    expected = np.empty(xa.shape + xb.shape, dtype=object)
    for i in np.ndindex(*xa.shape):
        di = sympy.diff(fs, xa[i])
        for j in np.ndindex(*xb.shape):
            expected[i + j] = sympy.diff(di, xb[j])
    symbolic = np.asarray(d2.tensor(env, dims, symbolic=True), dtype=object)
    expected = verify.on_constraints(expected, env, props)       # e.g. sum(y) = 1 declared
    symbolic = verify.on_constraints(symbolic.reshape(expected.shape), env, props)
    bad, unverified = verify.compare_symbolic(expected, symbolic, env, rng)
    assert not bad, bad[0]
    assert unverified < expected.size
