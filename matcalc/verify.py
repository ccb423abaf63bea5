"""Verification: evaluate the IR at concrete values, and the two independent oracles.

* ``evaluate`` runs an expression (or a derivative) at numbers, or at SymPy symbols (object
  arrays) for the component check.
* ``symbolic_jacobian`` is the paper's own check — grind the expression down to scalars: build
  it from one SymPy symbol per component at small distinct sizes and differentiate each
  component with SymPy.
* ``numeric_jacobian`` is central finite differences.

Values: a scalar is a 0-d array, a vector ``(n)`` a 1-D array (a column), a matrix — a row
``(1, n)`` included — a 2-D array.  Jacobians use vec (column-major) on both sides.
"""

from __future__ import annotations

import itertools

import sympy

from . import expr as E
from .errors import MatcalcError, ShapeError
from .expr import Call, Const, Expr, Identity, Var
from .lazy import lazy_module
from .rules import RULES
from .shapes import Shape, as_sympy

np = lazy_module("numpy")  # needed only to evaluate (start-up: lazy.py)


def concrete(shape: Shape, dims: dict) -> tuple[int, ...]:
    return tuple(int(as_sympy(d).subs(dims)) for d in shape.dims)


def _param(p, dims):
    return int(p.subs(dims)) if isinstance(p, sympy.Expr) else p


def evaluate(e: Expr, values: dict, dims: dict, symbolic: bool = False) -> np.ndarray:
    """The value of ``e`` (iteratively over the DAG: no recursion limit).  ``symbolic`` keeps
    exact SymPy numbers in object arrays."""
    memo: dict[Expr, np.ndarray] = {}
    dtype = object if symbolic else float
    for n in E.topological(e):
        shape = concrete(n.shape, dims)
        if isinstance(n, Var):
            v = np.asarray(values[n.name], dtype=dtype)
            if v.shape != shape and v.size == int(np.prod(shape, dtype=int)):
                v = v.reshape(shape)
            memo[n] = v
        elif isinstance(n, Const):
            val = n.value.subs(dims) if isinstance(n.value, sympy.Expr) else n.value
            memo[n] = np.full(shape, val if symbolic else float(val), dtype=dtype)
        elif isinstance(n, Identity):
            memo[n] = np.eye(shape[0], dtype=int).astype(dtype)
        else:
            args = [memo[a] for a in n.operands]
            params = [_param(p, dims) for p in n.params]
            out = np.asarray(RULES[n.op].numpy(*args, *params))
            if symbolic and out.dtype != object:
                out = out.astype(object)
            if out.shape != shape:
                if out.size == int(np.prod(shape, dtype=int)):
                    out = out.reshape(shape)
                else:
                    raise AssertionError(f"internal: {n!r} evaluated to shape {out.shape}, "
                                         f"expected {shape}")
            memo[n] = out
    return memo[e]


def real_array(name: str, value) -> np.ndarray:
    """``value`` as an array of real numbers (floats), or a MatcalcError saying what is wrong
    with it: None, text, complex numbers, lists of unequal lengths, other objects."""
    what = "a number or an array of numbers"
    if value is None:
        raise MatcalcError(f"the value of {name} is None", hint=f"give {what}")
    if isinstance(value, (str, bytes)):
        raise MatcalcError(f"the value of {name} is text ({value!r:.40})",
                           hint=f"give {what}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise MatcalcError(f"the value of {name} is not a rectangular array of numbers "
                           f"(rows of different lengths?)", hint=str(err)) from None
    if arr.dtype.kind == "c" or (arr.dtype == object and any(
            isinstance(v, complex) for v in arr.ravel())):
        if np.any(np.imag(arr.astype(complex)) != 0):
            raise MatcalcError(f"the value of {name} has complex entries; matcalc's "
                               f"derivatives are of real functions of real variables",
                               hint="give real numbers (the real part, if that is meant)")
        arr = np.real(arr.astype(complex))
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(float)
        except (ValueError, TypeError):
            raise MatcalcError(f"the value of {name} is not {what} (it holds "
                               f"{type(arr.ravel()[0]).__name__ if arr.size else 'nothing'})",
                               hint=f"give {what}") from None
    return arr.astype(float)


def bind_dims(shapes: dict[str, Shape], values: dict) -> dict:
    """The sizes of the given arrays bind the symbolic dimensions."""
    dims: dict = {}
    for name, shape in shapes.items():
        v = np.asarray(values[name])
        got = v.shape
        want_rank = len(shape.dims)
        if want_rank == 1 and v.ndim == 2 and got[1] == 1:
            got = (got[0],)
        if want_rank == 0 and v.size == 1:
            got = ()
        if len(got) != want_rank:
            raise ShapeError(f"{name} is declared {shape} but the value given has shape "
                             f"{v.shape}")
        for d, size in zip(shape.dims, got):
            d = as_sympy(d)
            if d.is_Integer:
                if int(d) != size:
                    raise ShapeError(f"{name} has shape {shape} but the value given has "
                                     f"shape {v.shape}")
            elif d.is_Symbol:
                if d in dims and dims[d] != size:
                    raise ShapeError(f"dimension {d} is {dims[d]} elsewhere but {size} in "
                                     f"{name} (shape {v.shape})")
                dims[d] = size
    return dims


def small_dims(symbols) -> dict:
    """Distinct small sizes (2, 3, 4, …) so a missing transpose cannot hide."""
    return {s: i + 2 for i, s in enumerate(sorted(set(symbols), key=str))}


def size_choices(symbols, limit: int = 6):
    """``small_dims`` first, then the same sizes permuted (at most ``limit`` in all): some
    expressions are singular at some sizes, log det(X A) with X n×m whenever m < n."""
    names = sorted(set(symbols), key=str)
    for sizes in itertools.islice(itertools.permutations(range(2, 2 + len(names))), limit):
        yield dict(zip(names, sizes))


def random_values(shapes: dict[str, Shape], dims: dict, rng, domain=(-2.0, 2.0),
                  props: dict | None = None) -> dict:
    """Random values in ``domain``; a variable declared ``sym`` gets a symmetric matrix, one
    declared ``prob`` positive entries summing to 1 (a matrix: in each row)."""
    lo, hi = domain
    out = {}
    for n, s in shapes.items():
        p = (props or {}).get(n, ())
        if "prob" in p:
            v = rng.uniform(0.1, 1.0, size=concrete(s, dims))
            out[n] = v / v.sum(axis=-1, keepdims=True)
            continue
        v = rng.uniform(lo, hi, size=concrete(s, dims)) if s.dims else np.float64(
            rng.uniform(lo, hi))
        out[n] = (v + v.T) / 2 if "sym" in p else v
    return out


def symbol_values(shapes: dict[str, Shape], dims: dict, props: dict | None = None) -> dict:
    """One real SymPy symbol per component: ``x_1``, ``W_1_2``; plain ``x`` for scalars.  A
    matrix declared ``sym`` shares one symbol between entries (i, j) and (j, i)."""
    out = {}
    for name, s in shapes.items():
        shape = concrete(s, dims)
        if not shape:
            out[name] = np.array(sympy.Symbol(name, real=True), dtype=object)
            continue
        sym = "sym" in (props or {}).get(name, ())
        arr = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            key = tuple(sorted(idx)) if sym else idx
            arr[idx] = sympy.Symbol(name + "_" + "_".join(str(i + 1) for i in key), real=True)
        out[name] = arr
    return out


def on_constraints(values: np.ndarray, env: dict, props: dict) -> np.ndarray:
    """``values`` (an object array) on the set where every ``prob`` vector sums to 1: its last
    entry replaced by one minus the others (for a matrix, in each row)."""
    subs = {}
    for name, p in props.items():
        if "prob" in p and name in env:
            a = np.asarray(env[name], dtype=object)
            for v in (a if a.ndim == 2 else [a.ravel()]):
                subs[v[-1]] = 1 - sum(v[:-1])
    if not subs:
        return values
    out = np.empty(values.shape, dtype=object)
    for idx in np.ndindex(*values.shape) if values.shape else [()]:
        out[idx] = as_sympy(values[idx]).xreplace(subs)
    return out


def to_tensor(J, out_shape: tuple, wrt_shape: tuple) -> np.ndarray:
    """T[o…, w…] = ∂out[o…]/∂wrt[w…] from the vec Jacobian J (rows vec(out), columns
    vec(wrt), column-major)."""
    J = np.asarray(J)
    rows = int(np.prod(out_shape, dtype=int))
    cols = int(np.prod(wrt_shape, dtype=int))
    J = J.reshape(rows, cols)
    T = J.reshape(tuple(reversed(out_shape)) + tuple(reversed(wrt_shape)))
    k, m = len(out_shape), len(wrt_shape)
    axes = list(reversed(range(k))) + [k + i for i in reversed(range(m))]
    return T.transpose(axes)


def numeric_jacobian(f, x0, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences: result shape f(x0).shape + x0.shape."""
    x0 = np.asarray(x0, dtype=float)
    y0 = np.asarray(f(x0), dtype=float)
    out = np.zeros(y0.shape + x0.shape)
    for idx in np.ndindex(*x0.shape) if x0.shape else [()]:
        step = np.zeros_like(x0)
        step[idx] = eps
        d = (np.asarray(f(x0 + step), dtype=float) - np.asarray(f(x0 - step), dtype=float))
        out[(Ellipsis,) + tuple(idx)] = d / (2 * eps)
    return out


def symbolic_jacobian(e: Expr, wrt: str, shapes: dict[str, Shape], dims: dict,
                      props: dict | None = None):
    """∂e/∂wrt component by component, by SymPy: an object array out.shape + wrt.shape, and the
    symbolic values used.  The entries of ``wrt`` are independent symbols even if it is
    declared symmetric (the derivative treats them so)."""
    props = {n: p for n, p in (props or {}).items() if n != wrt}
    env = symbol_values(shapes, dims, props)
    value = evaluate(e, env, dims, symbolic=True)
    x = env[wrt]
    out = np.empty(value.shape + x.shape, dtype=object)
    for o in np.ndindex(*value.shape) if value.shape else [()]:
        comp = _for_real_arguments(as_sympy(value[o]) if value.shape else
                                   as_sympy(value.item()))
        for w in np.ndindex(*x.shape) if x.shape else [()]:
            sym = x[w] if x.shape else x.item()
            out[tuple(o) + tuple(w)] = _away_from_kinks(sympy.diff(comp, sym))
    return out, env


def _for_real_arguments(expr):
    """|u| as √(u²): equal for real u, and SymPy differentiates it even where it cannot tell
    that u is real (|ln det V|), where it would leave Abs's derivative unevaluated."""
    return expr.replace(lambda e: isinstance(e, sympy.Abs),
                        lambda e: sympy.sqrt(e.args[0] ** 2))


def _away_from_kinks(expr):
    """The derivatives of step and sign are 0 away from their kink (matcalc's convention, and
    the comparison points avoid kinks): SymPy's DiracDelta and unevaluated derivatives of sign
    and Heaviside become 0."""
    return expr.replace(lambda e: isinstance(e, sympy.DiracDelta) or (
        isinstance(e, sympy.Derivative) and isinstance(e.expr, (sympy.sign, sympy.Heaviside))),
        lambda e: sympy.Integer(0))


_KINKS = (sympy.Heaviside, sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Piecewise)


def _kink_args(expr) -> list:
    out = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (sympy.Heaviside, sympy.Abs, sympy.sign)):
            out.append(node.args[0])
        elif isinstance(node, (sympy.Max, sympy.Min)):
            a = node.args
            out.extend(a[i] - a[j] for i in range(len(a)) for j in range(i + 1, len(a)))
        elif isinstance(node, sympy.Piecewise):
            for _, cond in node.args:
                if isinstance(cond, sympy.core.relational.Relational):
                    out.append(cond.lhs - cond.rhs)
    return out


def _domain_point(env: dict, rng, attempt: int) -> dict:
    """A random point (30-digit floats: exact rationals make SymPy factor huge integers in
    nested powers) for the symbols of ``env``: alternately signed values in
    (−1.5, 1.5) and positive ones in (0.2, 1.5) (log, sqrt and fractional powers of variables
    need those); square matrices near 2I (inv, det and log det need them invertible with a
    positive determinant)."""
    positive = attempt % 2 == 1
    pt = {}
    for value in env.values():
        arr = np.asarray(value, dtype=object)
        square = arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] > 1
        for idx in np.ndindex(*arr.shape) if arr.shape else [()]:
            sym = arr[idx] if arr.shape else arr.item()
            if sym in pt:
                continue            # a symmetric matrix shares symbols
            if square:
                x = (2.0 if idx[0] == idx[1] else 0.0) + rng.uniform(-0.3, 0.3)
            elif positive:
                x = rng.uniform(0.2, 1.5)
            else:
                x = rng.uniform(-1.5, 1.5)
            pt[sym] = sympy.Float(round(float(x), 6), 30)
    return pt


def _real(value) -> float | None:
    """A real, finite float of a SymPy number, or None."""
    try:
        c = complex(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not np.isfinite(c.real) or abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
        return None
    return c.real


def _value_at(expr, pt: dict) -> float | None:
    """``expr`` at ``pt`` in 30-digit arithmetic, or None where it is not a real number there
    (outside its domain, or a form SymPy cannot evaluate)."""
    try:
        return _real(sympy.N(expr.xreplace(pt), 30))
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _smooth_at(kinks: list, pt: dict, rng) -> bool:
    """Every kink argument is real at ``pt`` and keeps its sign under small perturbations (a
    kink argument that is 0 on a whole region, like max(0, p) for p < 0, is smooth there)."""
    if not kinks:
        return True
    shifted = []
    for _ in range(2):
        shifted.append({s: v + sympy.Float(int(rng.integers(-9, 10)) / 10000, 30)
                        for s, v in pt.items()})
    for k in kinks:
        v0 = _value_at(k, pt)
        if v0 is None:
            return False
        for q in shifted:
            v = _value_at(k, q)
            if v is None or np.sign(round(v, 12)) != np.sign(round(v0, 12)):
                return False
    return True


def compare_symbolic(expected, got, env, rng, *, trials: int = 3):
    """Entrywise comparison of two object arrays of SymPy expressions.  Returns
    ``(bad, unverified)``: ``bad`` lists (index, expected, got) of mismatches; ``unverified``
    counts entries no point could decide.  Exact when SymPy can tell cheaply (a small difference
    expands to 0), otherwise at random points where every kink argument keeps its sign
    nearby and both values are real and finite, in 30-digit arithmetic (two different analytic
    expressions agree at random points with probability 0)."""
    expected = np.asarray(expected, dtype=object)
    got = np.asarray(got, dtype=object).reshape(expected.shape)
    kinks: set = set()
    for v in list(expected.ravel()) + list(got.ravel()):
        kinks.update(k for k in _kink_args(as_sympy(v)) if k.free_symbols)
    kinks = sorted(kinks, key=sympy.default_sort_key)
    points = []
    for attempt in range(200):
        if len(points) >= trials:
            break
        pt = _domain_point(env, rng, attempt)
        if _smooth_at(kinks, pt, rng):
            points.append(pt)
    bad, unverified = [], 0
    for idx in np.ndindex(*expected.shape) if expected.shape else [()]:
        a, b = as_sympy(expected[idx]), as_sympy(got[idx])
        diff = a - b
        if diff == 0:
            continue
        if not kinks and sympy.count_ops(diff) <= 60:     # expand is exact but can explode
            try:
                if sympy.expand(diff) == 0:
                    continue
            except Exception:  # noqa: BLE001 - SymPy may fail on odd forms: use numbers
                pass
        used, ok = 0, True
        for pt in points:
            va, vb = _value_at(a, pt), _value_at(b, pt)
            if va is None:
                continue              # outside the real domain of f here
            used += 1
            if vb is None or abs(va - vb) > 1e-9 * max(1.0, abs(va)):
                ok = False
                break
        if not ok:
            bad.append((idx, a, b))
        elif not used:
            unverified += 1
    return bad, unverified


__all__ = ["evaluate", "bind_dims", "small_dims", "size_choices", "random_values", "symbol_values",
           "to_tensor", "numeric_jacobian", "symbolic_jacobian", "compare_symbolic",
           "Call"]
