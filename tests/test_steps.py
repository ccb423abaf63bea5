"""Derivations step by step (issue 5): the paper's worked examples reproduce its intermediate
variables and its choice of chain rule, and — independently — every step is numerically right:
each intermediate's definition, each local partial Jacobian (against finite differences of that
definition), each product of the chain rule (against finite differences of the intermediate it
differentiates), the substitution back, and the last line, which is the engine's result."""

import json

import numpy as np
import pytest
from oracles import concrete_dims

import matcalc
from matcalc import expr as E
from matcalc import steps as S
from matcalc import verify
from matcalc.cli import main

SC = "scalar"

# (paper section, expression, wrt, declared shapes,
#  the intermediate variables as (name, definition), the chain rule)
WORKED = [
    ("§6 single-variable chain rule", "sin(x^2)", "x", {},
     [("u", "x²"), ("y", "sin(u)")], S.SINGLE),
    ("§6 single-variable chain rule, four intermediate variables", "ln(sin(x^3)^2)", "x", {},
     [("u₁", "x³"), ("u₂", "sin(u₁)"), ("u₃", "u₂²"), ("u₄", "ln(u₃)")], S.SINGLE),
    ("§6 total-derivative chain rule", "x + x^2", "x", {},
     [("u₁", "x²"), ("u₂", "x + u₁")], S.TOTAL),
    ("§6 total-derivative chain rule", "sin(x + x^2)", "x", {},
     [("u₁", "x²"), ("u₂", "x + u₁"), ("u₃", "sin(u₂)")], S.TOTAL),
    ("§6 total-derivative chain rule", "x*x^2", "x", {},
     [("u₁", "x²"), ("u₂", "x u₁")], S.TOTAL),
    ("§6 vector chain rule", "[ln(x^2), sin(3*x)]", "x", {},
     [("g", "[x², 3x]"), ("f", "[ln(g₁), sin(g₂)]")], S.VECTOR),
    ("§5 dot product, u = w ⊗ x, y = sum(u)", "w·x", "w", {},
     [("u", "w ⊙ x"), ("y", "sum(u)")], S.VECTOR),
    ("§5 dot product, u = w ⊗ x, y = sum(u)", "w·x", "x", {},
     [("u", "w ⊙ x"), ("y", "sum(u)")], S.VECTOR),
    ("§8 neuron activation", "max(0, w·x + b)", "w", {},
     [("z", "w·x + b"), ("y", "max(0, z)")], S.VECTOR),
    ("§8 neuron activation", "max(0, w·x + b)", "b", {},
     [("z", "w·x + b"), ("y", "max(0, z)")], S.SINGLE),
    ("§9 loss, one sample", "(y - max(0, w·x + b))^2", "w", {},
     [("z", "w·x + b"), ("u", "max(0, z)"), ("v", "y − u"), ("C", "v²")], S.VECTOR),
    ("§9 loss, one sample", "(y - max(0, w·x + b))^2", "b", {},
     [("z", "w·x + b"), ("u", "max(0, z)"), ("v", "y − u"), ("C", "v²")], S.SINGLE),
    ("§9 loss, vectorised", "mean((y - max(0, X@w + b))^2)", "w", {"X": "N,n", "b": SC},
     [("z", "X w + b"), ("u", "max(0, z)"), ("v", "y − u"), ("C", "mean(v²)")], S.VECTOR),
    ("§9 loss, vectorised", "mean((y - max(0, X@w + b))^2)", "b", {"X": "N,n", "b": SC},
     [("z", "X w + b"), ("u", "max(0, z)"), ("v", "y − u"), ("C", "mean(v²)")], S.VECTOR),
]

IDS = [f"{sec}: {e} wrt {w}" for sec, e, w, *_ in WORKED]

# More expressions whose steps must be right (not the paper's worked examples): matrices, several
# paths through vectors, operations without a structured Jacobian, layouts, vector literals.
MORE = [
    ("sum(w*x)", "w", {}, "numerator"), ("sum(x^2)", "x", {}, "numerator"),
    ("exp(x^2)", "x", {"x": "n"}, "numerator"), ("x*sin(x)", "x", {"x": "n"}, "numerator"),
    ("sigmoid(W@x + b)", "x", {}, "numerator"), ("sigmoid(W@x + b)", "W", {}, "numerator"),
    ("sum((W@x + b - y)^2)", "W", {}, "numerator"), ("x'@A@x", "x", {}, "numerator"),
    ("softmax(x)", "x", {}, "numerator"), ("trace(inv(X)@A)", "X", {}, "numerator"),
    ("sum(diag(x) @ y)", "x", {}, "numerator"), ("norm(x)", "x", {}, "numerator"),
    ("x + z", "z", {"x": "n", "z": SC}, "numerator"), ("tanh(x)*tanh(x)", "x", {}, "numerator"),
    ("3*x^2*y", "[x, y]", {}, "numerator"), ("[3*x^2*y, 2*x + y^8]", "[x, y]", {}, "numerator"),
    ("[x^2, sin(3*x), 5]", "x", {}, "numerator"), ("x", "x", {"x": "n"}, "numerator"),
    ("99", "x", {"x": SC}, "numerator"), ("sum(w*x)", "w", {}, "denominator"),
    ("sigmoid(W@x + b)", "b", {}, "denominator"), ("log(sum(exp(x)))", "x", {}, "numerator"),
    ("x - x^2", "x", {}, "numerator"), ("sin(w·x)", "w", {}, "numerator"),
    ("[x*y, sin(x)*y]", "[x, y]", {}, "numerator"), ("[sum(x), x·x]", "x", {}, "numerator"),
    ("inv(X)", "X", {}, "numerator"), ("W'@W", "W", {"W": "m,n"}, "numerator"),
    ("x^y", "x", {}, "numerator"), ("relu(W@x + b)·v", "W", {}, "numerator"),
    ("mean((X@w - y)^2)", "w", {}, "numerator"), ("tanh(tanh(tanh(x)))", "x", {}, "numerator"),
    ("exp(x)", "x", {"x": "m,n"}, "numerator"), ("sum(X*Y)", "X", {}, "numerator"),
    ("max(0, W@x + b)", "W", {}, "numerator"), ("x'@A@x + b'@x", "x", {}, "numerator"),
    ("sum(x)^2", "x", {}, "denominator"), ("u*v + sin(u)", "u", {}, "numerator"),
]


def _domain(expr):
    return (0.3, 2.0) if any(f in expr for f in ("ln", "log", "sqrt")) else (-2.0, 2.0)


# ---------------------------------------------------------------------------------------------
# The independent check: every step against finite differences


def _environment(d: S.Derivation, values: dict, dims: dict) -> dict:
    """The inputs, and each intermediate's value computed from the inputs (its ``value``)."""
    env = dict(values)
    for s in d.intermediates:
        env[s.var.name] = np.asarray(verify.evaluate(s.value, values, dims), dtype=float)
        for c, v in zip(s.components, s.component_values):
            env[c.name] = np.asarray(verify.evaluate(v, values, dims), dtype=float)
    return env


def _fd(fn, x0):
    """Central finite differences of fn at x0: shape fn(x0).shape + x0.shape."""
    return verify.numeric_jacobian(fn, np.asarray(x0, dtype=float))


def _as_tensor(value, out_shape, wrt_shape):
    return verify.to_tensor(np.asarray(value, dtype=float), out_shape, wrt_shape)


def _close(got, want, what):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.size == want.size, f"{what}: {got.shape} vs {want.shape}"
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-5,
                               err_msg=what)


def check_derivation(d: S.Derivation, derivative: matcalc.Derivative, values: dict, dims: dict):
    """Raises AssertionError if any step of ``d`` is numerically wrong at ``values``."""
    env = _environment(d, values, dims)
    x = d.wrt.name

    def shape(s):
        return verify.concrete(s, dims)

    # the definitions: each intermediate, computed from the earlier ones, is its value
    for s in d.intermediates:
        _close(verify.evaluate(s.definition, env, dims), env[s.var.name],
               f"definition of {s.var.name}")

    # each local partial against finite differences of the definition it differentiates
    for p in d.partials:
        of, wrt = p.of, p.wrt
        below = next((s for s in d.intermediates if s.var == wrt), None)
        components = below.components if below is not None else ()

        def local(v, of=of, wrt=wrt, components=components):
            e = dict(env)
            if components:
                for i, c in enumerate(components):
                    e[c.name] = v[i]
            else:
                e[wrt.name] = v
            return np.asarray(verify.evaluate(of.definition, e, dims), dtype=float)

        numeric = _fd(local, env[wrt.name])
        got = verify.evaluate(p.jacobian, env, dims)
        _close(_as_tensor(got, shape(of.var.shape), shape(wrt.shape)), numeric,
               f"∂{of.var.name}/∂{wrt.name} = {S.label_text((of.var, wrt))}")

    # each product of the chain rule against finite differences of the intermediate's value
    for line in d.lines:
        def total(v, line=line):
            e = dict(values)
            e[x] = v
            return np.asarray(verify.evaluate(line.of.value, e, dims), dtype=float)

        numeric = _fd(total, values[x])
        for what, e in (("product", line.product), ("simplified product", line.value)):
            got = verify.evaluate(e, env, dims)
            _close(_as_tensor(got, shape(line.of.var.shape), shape(d.wrt.shape)), numeric,
                   f"{what} for ∂{line.of.var.name}/∂{x}")

    # the result, in the intermediates and substituted back, is the engine's derivative
    fs, xs = d.function.shape, d.wrt.shape
    want = derivative.tensor(values, dims) if len(derivative.wrt) == 1 else None

    def of_f(v):
        e = dict(values)
        e[x] = v
        return np.asarray(verify.evaluate(d.function, e, dims), dtype=float)

    numeric = _fd(of_f, values[x])
    for what, e in (("in the intermediates", d.simplified), ("substituted", d.substituted),
                    ("simplified", d.result)):
        got = verify.evaluate(e, env, dims)
        _close(_as_tensor(got, shape(fs), shape(xs)), numeric, f"∂f/∂{x} {what}")
        if want is not None:
            _close(_as_tensor(got, shape(fs), shape(xs)), want, f"∂f/∂{x} {what} vs engine")


def check_steps(derivative: matcalc.Derivative, seed: int = 0, domain=(-2.0, 2.0)):
    steps = derivative.steps
    dims = concrete_dims(derivative)
    rng = np.random.default_rng(seed)
    shapes = {n: v.shape for n, v in E.free_vars(derivative.f.node).items()}
    shapes.update({v.name: v.shape for v in derivative.wrt})
    values = verify.random_values(shapes, dims, rng, domain=domain)
    for d in steps.derivations:
        check_derivation(d, derivative, values, dims)
    # the last line of the text (and of the LaTeX) is the engine's result
    last = steps.text.splitlines()[-1]
    assert last.split(" = ", 1)[1].split("    [")[0] == str(derivative), last
    assert steps.latex.splitlines()[-2].split("&= ", 1)[1].split(" && ")[0] == \
        derivative.latex


# ---------------------------------------------------------------------------------------------
# The paper's worked examples


def _diff(expr, wrt, shapes):
    return matcalc.diff(expr, wrt=wrt, shapes=shapes)


@pytest.mark.parametrize("sec, expr, wrt, shapes, intermediates, rule", WORKED, ids=IDS)
def test_intermediate_variables_and_chain_rule_are_the_papers(sec, expr, wrt, shapes,
                                                               intermediates, rule):
    steps = _diff(expr, wrt, shapes).steps
    d = steps.derivations[0]
    printer = S._Text()         # the intermediates print with their own names (u₁, not u_1)
    printer.names = d._names
    got = [(S._sub(s.var.name), printer.expr(s.definition, cases=False))
           for s in d.intermediates]
    assert got == intermediates
    assert steps.chain_rule == rule
    # the shapes of the intermediates as the paper gives them: z, u, v scalars per sample
    for s in d.intermediates:
        assert s.var.shape == s.value.shape


@pytest.mark.parametrize("sec, expr, wrt, shapes, intermediates, rule", WORKED, ids=IDS)
def test_every_step_is_numerically_right(sec, expr, wrt, shapes, intermediates, rule):
    d = _diff(expr, wrt, shapes)
    for seed in range(3):
        check_steps(d, seed=seed, domain=_domain(expr))


@pytest.mark.parametrize("expr, wrt, shapes, layout", MORE,
                         ids=[f"{e} wrt {w} {lay}" for e, w, _, lay in MORE])
def test_steps_of_more_expressions_are_numerically_right(expr, wrt, shapes, layout):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes, layout=layout)
    domain = (0.5, 1.5) if any(f in expr for f in ("trace", "inv", "^y")) else _domain(expr)
    check_steps(d, seed=1, domain=domain)


def test_the_check_can_fail():
    """A wrong partial, a wrong product and a wrong definition are each caught."""
    d = _diff("(y - max(0, w·x + b))^2", "w", {})
    dims = concrete_dims(d)
    rng = np.random.default_rng(5)
    shapes = {n: v.shape for n, v in E.free_vars(d.f.node).items()}
    values = verify.random_values(shapes, dims, rng)
    values["b"] = np.float64(5.0)      # the neuron is active: no zero Jacobians to hide behind
    good = d.steps.derivations[0]
    check_derivation(good, d, values, dims)
    wrong_partial = S.Derivation(**{**good.__dict__, "partials": [
        S.Partial(p.of, p.wrt, E.mul(E.const(2), p.jacobian) if i == 2 else p.jacobian, p.rule)
        for i, p in enumerate(good.partials)]})
    line = good.lines[0]
    wrong_product = S.Derivation(**{**good.__dict__, "lines": [
        S.ChainLine(line.of, line.terms, E.neg(line.product), line.value)]})
    s0 = good.intermediates[1]
    wrong_definition = S.Derivation(**{**good.__dict__, "intermediates": [
        good.intermediates[0], S.Intermediate(s0.var, E.neg(s0.definition), s0.value, s0.ops),
        *good.intermediates[2:]]})
    for bad in (wrong_partial, wrong_product, wrong_definition):
        with pytest.raises(AssertionError):
            check_derivation(bad, d, values, dims)


# ---------------------------------------------------------------------------------------------
# The paper's derivations in detail


def test_dot_product_is_rewritten_as_a_sum_and_multiplied_out():
    """§5: u = w ⊗ x, y = sum(u); ∂u/∂w = diag(x), ∂y/∂u = 𝟙ᵀ; ∂y/∂w = 𝟙ᵀ diag(x) = xᵀ."""
    steps = _diff("w·x", "w", {}).steps
    text = steps.text
    assert "w·x = sum(w ⊙ x)" in text
    assert "∂u/∂w = diag(x)    [n×n; element-wise ⊙, diagonal condition holds]" in text
    assert "∂y/∂u = 𝟙ᵀ    [1×n;" in text
    assert "= 𝟙ᵀ diag(x)    [(1×n)(n×n) = 1×n]" in text
    assert text.splitlines()[-1].endswith("= xᵀ")


def test_four_intermediate_variables_multiply_out_as_in_the_paper():
    """§6: dy/dx = 1/u₃ · 2u₂ · cos(u₁) · 3x² = 6u₂x²cos(u₁)/u₃, then substitute back."""
    d = _diff("ln(sin(x^3)^2)", "x", {})
    text = d.steps.text
    assert "∂u₄/∂x = ∂u₄/∂u₃ ∂u₃/∂u₂ ∂u₂/∂u₁ ∂u₁/∂x" in text
    assert "= (1/u₃) (2u₂) cos(u₁) (3x²)    [(1×1)(1×1)(1×1)(1×1) = 1×1]" in text
    assert "= 6u₂ x² cos(u₁)/u₃" in text
    assert "Substitute back u₃ = u₂², u₂ = sin(u₁), u₁ = x³" in text
    assert "u₄ = ln(u₃)    [1×1; the result: y = u₄]" in text
    assert text.splitlines()[-1].strip() == f"= {d}" or text.splitlines()[-1].endswith(
        f"= {d}    [simplified]")


def test_total_derivative_adds_the_paths():
    """§6: ∂u₂/∂x = ∂u₂/∂x + ∂u₂/∂u₁ ∂u₁/∂x = 1 + 2x; sin(x + x²) carries it on."""
    d = _diff("sin(x + x^2)", "x", {}).steps.derivations[0]
    assert d.paths == 2
    assert [S.label_text(lab) for t in d.lines[0].terms for lab, _ in t] == \
        ["∂u₂/∂x", "∂u₂/∂u₁", "∂u₁/∂x"]
    text = _diff("sin(x + x^2)", "x", {}).steps.text
    assert "= 1 + 1 (2x)    [(1×1) + (1×1)(1×1) = 1×1]" in text
    assert "= cos(u₂) (2x + 1)" in text
    assert "2 data-flow paths" in text


def test_vector_chain_rule_for_a_vector_of_functions():
    """§6: g = [x², 3x], f = [ln(g₁), sin(g₂)]; ∂f/∂g is diagonal, ∂g/∂x a column."""
    text = _diff("[ln(x^2), sin(3*x)]", "x", {}).steps.text
    assert "∂g/∂x = [2x, 3]    [2×1;" in text
    assert "∂f/∂g = [[1/g₁, 0], [0, cos(g₂)]]    [2×2; diagonal: fᵢ depends on gᵢ only" in text
    assert "[(2×2)(2×1) = 2×1]" in text
    assert "= [2x/g₁, 3cos(g₂)]" in text
    assert text.splitlines()[-1].endswith("= [2/x, 3cos(3x)]    [simplified]")


def test_neuron_piecewise_as_in_the_paper():
    """§8: ∂y/∂z = 0 if z ≤ 0, 1 if z > 0; ∂y/∂w = 0ᵀ / xᵀ; substitute z = w·x + b."""
    text = _diff("max(0, w·x + b)", "w", {}).steps.text
    assert "∂y/∂z = 0 if z ≤ 0; 1 if z > 0" in text
    assert "∂z/∂w = xᵀ    [1×n; affine in w (§8)" in text
    assert "= 0ᵀ if z ≤ 0; xᵀ if z > 0" in text
    assert "Substitute back z = w·x + b" in text
    assert "w is a vector" in text


def test_loss_multiplies_out_with_the_shapes():
    """§9, vectorised: (1×N)(N×N)(N×N)(N×n) = 1×n."""
    text = _diff("mean((y - max(0, X@w + b))^2)", "w", {"X": "N,n", "b": SC}).steps.text
    assert "∂C/∂w = ∂C/∂v ∂v/∂u ∂u/∂z ∂z/∂w" in text
    assert "[(1×N)(N×N)(N×N)(N×n) = 1×n]" in text
    assert "∂v/∂u = −I" in text and "∂C/∂v = 2/N vᵀ" in text


def test_the_last_line_is_the_result_in_every_layout_and_for_matrices():
    d = matcalc.diff("sum(w*x)", wrt="w", layout="denominator")
    assert d.steps.text.splitlines()[-1].endswith("= x    [n×1; denominator layout: the transpose]")
    g = matcalc.diff("sum((W@x + b - y)^2)", wrt="W")
    assert g.steps.text.splitlines()[-1].endswith(
        f"= {g}    [n×m; the same entries in the shape of W]")


def test_names_avoid_the_inputs():
    """The result is C when y is an input (§9); u is not reused when the user has a u."""
    d = matcalc.diff("sin(u^2)", wrt="u").steps.derivations[0]
    names = [s.var.name for s in d.intermediates]
    assert "u" not in names and len(set(names)) == len(names)
    assert [s.var.name for s in _diff("sin(y^2)", "y", {}).steps.intermediates] == ["u", "C"]


def test_steps_as_json_and_latex():
    steps = _diff("sin(x^2)", "x", {}).steps
    data = json.loads(steps.json)
    d = data["derivations"][0]
    assert [s["name"] for s in d["intermediates"]] == ["u", "y"]
    assert d["chain_rule"]["name"] == S.SINGLE
    assert d["products"][0]["shapes"] == "(1×1)(1×1) = 1×1"
    assert d["partials"][1]["rule"] == "sin′ = cos"
    assert data["result"]["text"] == "2x cos(x²)"
    assert steps.latex.startswith("\\begin{aligned}") and steps.latex.endswith("\\end{aligned}")
    assert steps._repr_latex_() == f"$${steps.latex}$$"


# ---------------------------------------------------------------------------------------------
# Command line


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_steps_text(capsys):
    code, out, err = run(capsys, "diff", "sin(x^2)", "--wrt", "x", "--steps")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:3] == ["x ∈ ℝ", "∂/∂x sin(x²) = 2x cos(x²)    [1×1]",
                         "  1. Intermediate variables, one per operation"]
    assert lines[-1] == "      ∂y/∂x = 2x cos(x²)"


def test_cli_steps_latex_and_json(capsys):
    code, out, _ = run(capsys, "diff", "max(0, w·x + b)", "--wrt", "w", "--wrt", "b",
                       "--steps", "--format", "latex")
    assert code == 0 and out.count("\\begin{aligned}") == 2
    code, out, _ = run(capsys, "diff", "max(0, w·x + b)", "--wrt", "w", "--wrt", "b",
                       "--steps", "--format", "json")
    data = json.loads(out)
    dw, db = data["derivatives"]
    assert [s["name"] for s in dw["steps"]["derivations"][0]["intermediates"]] == ["z", "y"]
    assert db["steps"]["derivations"][0]["chain_rule"]["name"] == S.SINGLE
    assert db["steps"]["result"]["text"] == db["text"]
    code, out, _ = run(capsys, "diff", "sum(w*x)", "--wrt", "w", "--format", "json")
    assert "steps" not in json.loads(out)["derivatives"][0]


def test_cli_steps_user_error_is_exit_2(capsys):
    code, _, err = run(capsys, "diff", "sin(x", "--wrt", "x", "--steps")
    assert code == 2 and "Traceback" not in err and err.startswith("matcalc: error")
