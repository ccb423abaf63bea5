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
    shapes = {n: v.shape for n, v in E.free_vars(d.f.node).items()}
    symbols = sorted({s for sh in shapes.values() for x in sh.dims for s in x.free_symbols},
                     key=str)
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
    np.testing.assert_allclose(got.reshape(numeric.shape), numeric, rtol=tol, atol=tol)
    # evaluate(): exactly the advertised shape, in the requested layout
    value = d.evaluate(values)
    want = tuple(int(sympy.sympify(x).subs(dims)) for x in
                 result_shape(d.f.node.shape, d.wrt_shape, d.layout))
    assert value.shape == want, (value.shape, want)
    return values
