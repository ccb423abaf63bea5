"""Checking one generated expression: differentiate it w.r.t. each of its variables and verify
each derivative by both oracles — SymPy component expansion (``Derivative.check``) and central
finite differences at a random point away from kinks.  Shared by the property-based tests and
the soak (``benchmarks/soak.py``)."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

import numpy as np
import sympy

import matcalc
from matcalc import checker, verify
from matcalc import expr as E
from matcalc.api import _check_variables
from matcalc.layout import result_shape

OK, WRONG, UNSUPPORTED, ERROR = "ok", "wrong", "unsupported", "error"


@dataclass
class Outcome:
    text: str
    wrt: str
    status: str
    detail: str = ""
    seconds: float = 0.0        # matcalc's time: differentiate, simplify and print
    numeric: bool = False       # whether finite differences were compared (not at a kink)
    total: float = 0.0          # with both checks


def values_for(variables: dict, dims, rng, well_conditioned) -> dict:
    """Random values in (−1, 1); well-conditioned square matrices where inv/det/logdet act."""
    out = {}
    for name, v in variables.items():
        size = verify.concrete(v.shape, dims)
        value = rng.uniform(-1, 1, size=size) if size else np.float64(rng.uniform(-1, 1))
        if name in well_conditioned:
            value = 0.3 * value + 2 * np.eye(size[0])
        out[name] = value
    return out


def _jacobian(f, dims, values, name, eps):
    def g(x):
        env = dict(values)
        env[name] = x
        return np.asarray(verify.evaluate(f, env, dims), dtype=float)
    return verify.numeric_jacobian(g, np.asarray(values[name], dtype=float), eps=eps)


def numeric_check(d, sample, rng, tries: int = 6) -> bool | str:
    """Compare with central finite differences at a random smooth point: True if compared and
    equal, False if no smooth point was found (kinks everywhere tried), or a message."""
    f = d.f.node
    shapes = {n: v.shape for n, v in E.free_vars(f).items()}
    scope = [v.shape for v in d.f.variables.values()]      # second derivatives too
    dims = verify.small_dims(sorted({s for sh in list(shapes.values()) + scope for x in sh.dims
                                     for s in x.free_symbols}, key=str))
    name = d.wrt[0].name
    if name not in shapes:
        return False
    for _ in range(tries):
        values = values_for(d.f.variables, dims, rng, sample.well_conditioned)
        with np.errstate(all="ignore"):
            value = np.asarray(verify.evaluate(f, values, dims), dtype=float)
            if not np.all(np.isfinite(value)) or np.abs(value).max(initial=0) > 1e8:
                continue
            fine = _jacobian(f, dims, values, name, 1e-6)
            coarse = _jacobian(f, dims, values, name, 1e-5)
        scale = max(1.0, float(np.abs(fine).max(initial=0)))
        if not np.all(np.isfinite(fine)) or np.abs(fine - coarse).max(initial=0) > 1e-4 * scale:
            continue        # a kink (or an overflow) near this point: try another
        with np.errstate(all="ignore"):
            got = np.asarray(d.tensor(values, dims), dtype=float).reshape(fine.shape)
        if not np.allclose(got, fine, rtol=1e-4, atol=1e-5 * scale):
            worst = np.unravel_index(np.argmax(np.abs(got - fine)), fine.shape)
            return (f"finite differences disagree at {worst}: matcalc {got[worst]!r}, "
                    f"numeric {fine[worst]!r}")
        shape = d.evaluate(values).shape
        want = tuple(int(sympy.sympify(x).subs(dims)) for x in
                     result_shape(f.shape, d.wrt_shape, d.layout))
        if shape != want:
            return f"evaluate gave shape {shape}, the derivative's shape is {want}"
        return True
    return False


def _targets(sample, rng) -> list[tuple[str, str, str | None]]:
    """(wrt, layout, second wrt): every variable once, in a random layout; a vector literal of
    two scalar variables; and, for a scalar expression, a second derivative now and then."""
    out = [(name, str(rng.choice(["numerator", "denominator"])), None)
           for name in sample.variables]
    scalars = [n for n, s in sample.shapes.items() if s == "scalar"]
    if len(scalars) >= 2:
        out.append((f"[{scalars[0]}, {scalars[1]}]", "numerator", None))
    if sample.variables and rng.uniform() < 0.25:
        a, b = rng.choice(sample.variables, size=2)
        out.append((str(a), "numerator", str(b)))
    return out


def check_sample(sample, seed: int = 0, symbolic: bool = True) -> list[Outcome]:
    """One outcome per derivative: ok, wrong (an oracle disagrees), unsupported (an
    UnsupportedError, the only acceptable refusal), or error (any other exception)."""
    rng = np.random.default_rng(seed)
    out = []
    for name, layout, second in _targets(sample, rng):
        start = time.perf_counter()
        label = name if second is None else f"{name}, then {second}"
        derived = None
        try:
            d = matcalc.diff(sample.text, wrt=name, shapes=sample.shapes, layout=layout)
            if second is not None:
                if d.f.node.shape.is_scalar:
                    d = d.diff(second)
                else:
                    out.append(Outcome(sample.text, label, OK, "skipped: not a scalar", 0.0))
                    continue
            str(d), d.latex, d.equation_latex, d.shape
            derived = time.perf_counter() - start     # matcalc's own time: derive and print
            status, detail, numeric = OK, "", False
            if symbolic:
                d.check()
            result = numeric_check(d, sample, rng) if not name.startswith("[") else False
            if isinstance(result, str):
                status, detail = WRONG, result
            numeric = result is True
        except matcalc.UnsupportedError as e:
            status, detail, numeric = UNSUPPORTED, str(e).splitlines()[0], False
        except matcalc.VerificationError as e:
            status, detail, numeric = WRONG, str(e)[:2000], False
        except Exception:  # noqa: BLE001 - any other exception is a bug to report
            status, detail, numeric = ERROR, traceback.format_exc(limit=8), False
        total = time.perf_counter() - start
        out.append(Outcome(sample.text, label, status, detail,
                           total if derived is None else derived, numeric, total))
    return out


def round_trip(sample, seed: int):
    """For each derivative of a generated expression: None if its text parses back (with the
    shapes the derivative reports) to an expression with the same values, else a message.
    Values are drawn in (0.3, 1.5), where every generated expression is defined."""
    try:
        f = matcalc.parse(sample.text, sample.shapes)
    except matcalc.MatcalcError as err:
        yield f"{sample!r} does not parse: {err}"
        return
    dims = verify.small_dims({s for v in f.variables.values() for x in v.shape.dims
                              for s in x.free_symbols})
    for name in f.shapes:
        try:
            d = matcalc.diff(f, wrt=name)
            text = str(d)
        except matcalc.UnsupportedError:
            continue
        try:
            back = matcalc.parse(text, shapes=d.shapes)
            rng = np.random.default_rng(seed)
            values = verify.random_values({n: v.shape for n, v in f.variables.items()}, dims,
                                          rng, domain=(0.3, 1.5))
            want = np.ravel(np.asarray(verify.evaluate(
                d.expression, {n: values[n] for n in E.free_vars(d.expression)}, dims),
                dtype=float))
            got = np.ravel(back.evaluate(values))
            if got.size == 1 and want.size != 1:      # a constant, printed once: 0, not 0₃₃
                got = np.broadcast_to(got, want.shape)
            with np.errstate(invalid="ignore"):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
            yield None
        except Exception as err:  # noqa: BLE001 - any failure to read back is the finding
            yield (f"{sample!r} wrt {name}: {text!r} does not read back: "
                   f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")


# ---------------------------------------------------------------------------------------------
# Wrong claims: matcalc's derivatives perturbed, for the check (issue 13; benchmarks/claims.py)

PERTURBATIONS = ("sign", "transpose", "term", "factor")


def perturbed(d, kind: str):
    """``d``'s derivative (as shown, layout applied) made wrong: its sign flipped, transposed
    (a square, non-symmetric result), a term dropped (a sum), or times 1 + 10⁻⁶; None where
    the perturbation does not apply."""
    e = d.expression
    if kind == "sign":
        return E.neg(e)
    if kind == "factor":
        return E.mul(E.const(sympy.Rational(1000001, 1000000)), e)
    if kind == "transpose":
        return E.transpose(e) if e.shape.is_square and not E.is_symmetric(e) else None
    if kind == "term":
        if isinstance(e, E.Call) and e.op == "add" and len(e.operands) > 1:
            rest = E.add(*e.operands[1:])
            return rest if rest.shape == e.shape else None
        return None
    raise ValueError(kind)


def problem_for(d, candidate):
    """The check of ``candidate`` as ∂f/∂wrt of ``d``'s expression (a Problem)."""
    variables = _check_variables(d.f, d.wrt)
    return checker.Problem(f=d.f.node, wrt=d.wrt, literal=d._literal, candidate=candidate,
                           layout=d.layout, variables=variables,
                           props={n: v.props for n, v in variables.items()},
                           subject=f"∂/∂{d.wrt_text} {d.f}")


def differs(d, candidate, seed: int = 0, points: int = 4) -> bool:
    """Whether ``candidate`` differs from ``d``'s derivative at random points (double
    precision, at small distinct sizes): a perturbation that changes nothing (the sign of a
    zero, a dropped zero term) is no wrong claim."""
    rng = np.random.default_rng(seed)
    problem = problem_for(d, candidate)
    c = checker.Checker(problem, seed=seed)
    for dims in checker.size_sets(c._symbols())[:2]:
        c._setup(dims)
        plan = checker.Plan([d.expression, candidate], dims)
        for _ in range(points):
            point = {n: rng.uniform(-2, 2, size=s) for n, s in c.var_shapes.items()}
            for n, v in c.p.variables.items():
                if "sym" in v.props:
                    point[n] = (point[n] + point[n].T) / 2
                if "prob" in v.props:
                    point[n] = np.abs(point[n]) / np.abs(point[n]).sum()
            with np.errstate(all="ignore"):
                memo = plan.run(c._values(point))
            a = np.asarray(memo[d.expression], dtype=float)
            b = np.asarray(memo[candidate], dtype=float).reshape(a.shape) \
                if np.size(memo[candidate]) == a.size else None
            if b is None:
                return True
            ok = np.isfinite(a) & np.isfinite(b)
            scale = max(1.0, float(np.abs(a[ok]).max(initial=0)))
            if np.any(np.abs(a[ok] - b[ok]) > 1e-9 * scale):
                return True
    return False
