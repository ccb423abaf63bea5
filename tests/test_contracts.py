"""Contracts of issue 12 that broke (each test is the regression test of one report): shapes
round-trip through ``shapes=``, ``--shape`` hints a mistyped property, ``hessian`` with several
variables, the generated NumPy code (1×1 products, second derivatives, a self-check that tests
something), and the command line's robustness (pipes, expressions starting with ``-``)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from oracles import assert_second_derivative
from strategies import RandomSource, generate
from test_codegen import assert_generated

import matcalc
from matcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]     # python -m matcalc imports this checkout's


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_generated(tmp_path, source: str) -> subprocess.CompletedProcess:
    """The generated module run as a script: its ``__main__`` self-check."""
    path = tmp_path / "generated.py"
    path.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          check=False)


# -- --format numpy with a 1×1 product beside a vector or I (issue 12: AttributeError) ---------

ONE_BY_ONE = [("x^T@A@x/(x^T@x)", "x", {}),                 # the Rayleigh quotient
              ("u @ u^T @ ln(u^2 + 0.5)", "u", {"u": "m"}),  # (uᵀ ln z) I in the Jacobian
              ("(x'@x)*x", "x", {"x": "n"})]


@pytest.mark.parametrize("expr, wrt, shapes", ONE_BY_ONE, ids=[e for e, *_ in ONE_BY_ONE])
def test_numpy_code_with_a_one_by_one_product_as_a_scalar_factor(expr, wrt, shapes, tmp_path,
                                                                  capsys):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert_generated(d)               # against evaluate and finite differences of f
    argv = ["diff", expr, "--wrt", wrt, "--format", "numpy"]
    argv += [a for n, s in shapes.items() for a in ("--shape", f"{n}={s}")]
    code, source, err = run(capsys, *argv)
    assert code == 0 and err == ""
    done = run_generated(tmp_path, source)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("finite differences agree")


# -- shapes round-trip through shapes= (issue 12: a scalar's () was refused) -----------------

def test_shapes_of_a_derivative_round_trip_with_a_scalar():
    d = matcalc.diff("max(0, w·x + b)", wrt="w")
    assert d.shapes == {"w": ("n",), "x": ("n",), "b": ()}
    again = matcalc.diff("max(0, w·x + b)", wrt="w", shapes=d.shapes)
    assert (str(again), again.shapes) == (str(d), d.shapes)
    h = matcalc.hessian("a*sum(x^3)", wrt="x")
    assert matcalc.hessian("a*sum(x^3)", wrt="x", shapes=h.shapes).shapes == h.shapes


def test_json_shapes_round_trip(capsys):
    code, out, _ = run(capsys, "diff", "max(0, w·x + b) + trace(W)", "--wrt", "b",
                       "--shape", "W=3x3", "--format", "json")
    assert code == 0
    shapes = json.loads(out)["shapes"]
    assert shapes == {"w": ["n"], "x": ["n"], "b": [], "W": ["3", "3"]}
    e = matcalc.parse("max(0, w·x + b) + trace(W)", shapes=shapes)
    assert {n: list(s) for n, s in e.shapes.items()} == shapes


@pytest.mark.parametrize("spec, dims", [((), ()), ([], ()), (["n"], ("n",)),
                                        (("m", "n"), ("m", "n")), (["3", "4"], ("3", "4")),
                                        ((3, 4), ("3", "4")), ("scalar", ()), ("n", ("n",)),
                                        ("m,n", ("m", "n"))])
def test_every_reported_form_of_a_shape_is_accepted(spec, dims):
    assert matcalc.parse("W", shapes={"W": spec}).shapes == {"W": dims}


def test_declared_properties_round_trip_through_declarations():
    shapes = {"A": "n,n,sym", "y": "m,prob"}
    f = "x'@A@x - sum(y*log(softmax(W@x)))"
    e = matcalc.parse(f, shapes=shapes)
    assert e.properties == {"A": ("sym",), "y": ("prob",)}
    assert e.declarations["A"] == ("n", "n", "sym") and e.declarations["y"] == ("m", "prob")
    d = matcalc.diff(f, wrt="x", shapes=shapes)
    for declared in (d.declarations, json.loads(json.dumps(d.declarations))):
        again = matcalc.diff(f, wrt="x", shapes=declared)
        assert (str(again), again.f.properties, again.shapes) == (str(d), e.properties, d.shapes)
    # shapes alone give back the shapes, not the properties
    assert matcalc.parse(f, shapes=d.shapes).properties == {}


def test_shapes_round_trip_over_generated_expressions():
    """Declared or inferred, the shapes an expression reports give it back (as tuples and as
    JSON lists)."""
    tried = 0
    for seed in range(150):
        sample = generate(RandomSource(seed), max_depth=3)
        for declared in (sample.shapes, None):
            try:
                e = matcalc.parse(sample.text, shapes=declared)
            except matcalc.MatcalcError:
                assert declared is None     # inference alone may not pin every shape
                continue
            for shapes in (e.shapes, json.loads(json.dumps(e.shapes)), e.declarations):
                again = matcalc.parse(sample.text, shapes=shapes)
                assert (again.shapes, str(again)) == (e.shapes, str(e)), sample
            tried += 1
    assert tried > 200


# -- --shape w=n,pos: a word that reads as a property is not a dimension -------------------

@pytest.mark.parametrize("spec, expected", [
    ("w=n,pos", "pos is not a property matcalc knows"),
    ("w=n,positive", "positive is not a property matcalc knows"),
    ("A=n,n,psd", "psd is not a property matcalc knows"),
    ("A=n,n,symm", "did you mean sym?"),
    ("A=n,symmetrical", "did you mean sym?"),
    ("y=n,proba", "did you mean prob?"),
    ("y=n,probs", "did you mean prob?"),
    ("A=n,n,sym,pos", "pos is not a property matcalc knows"),
])
def test_a_mistyped_property_is_an_error_with_a_hint(capsys, spec, expected):
    code, out, err = run(capsys, "diff", "sum(w*x)", "--wrt", "x", "--shape", spec)
    assert code == 2 and out == "" and "Traceback" not in err
    assert expected in err
    assert "needs a digit or an underscore" in err
    # the caret is under the word, in the argument as typed
    value = spec.split("=")[1]
    word = value.split(",")[-1]
    lines = err.splitlines()
    at = lines.index(f"  {spec}")
    assert lines[at + 1] == "  " + " " * spec.rindex(word) + "^" * len(word)


@pytest.mark.parametrize("spec, dims", [("w=n,p", ("n", "p")), ("w=n,n2", ("n", "n2")),
                                        ("w=n,pos_dim", ("n", "pos_dim")),
                                        ("w=n,hidden", ("n", "hidden")),
                                        ("w=pos,n", ("pos", "n")), ("w=pos", ("pos",)),
                                        ("w=n,N", ("n", "N"))])
def test_real_dimension_names_keep_working(capsys, spec, dims):
    e = matcalc.parse("sum(w*x)", shapes=dict([spec.split("=")]))
    assert e.shapes["w"] == dims
    code, out, err = run(capsys, "diff", "sum(w*x)", "--wrt", "x", "--shape", spec)
    assert code == 0 and err == "" and out


def test_the_shape_help_states_the_rule(capsys):
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "a last name that reads as a property" in help_text


def test_a_dimension_name_with_a_digit_is_not_printed_as_a_power(capsys):
    """ℝⁿ²ˣⁿ would read as n squared by n."""
    code, out, _ = run(capsys, "diff", "W@x", "--wrt", "x", "--shape", "W=n2,n")
    assert code == 0 and out.splitlines()[0] == "W ∈ ℝ^(n2×n), x ∈ ℝⁿ"


# -- hessian(e, wrt=[...]) (issue 12: AttributeError) ------------------------------------------

def _fd_hessian(f, z, eps=1e-4):
    """∂²f/∂zᵢ∂zⱼ by central differences of central differences of f (not of a gradient)."""
    H = np.zeros((z.size, z.size))
    for i in range(z.size):
        for j in range(z.size):
            total = 0.0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                w = z.copy()
                w[i] += si * eps
                w[j] += sj * eps
                total += si * sj * f(w)
            H[i, j] = total / (4 * eps * eps)
    return H


def test_hessian_with_several_variables_is_the_blocks_of_the_stacked_hessian():
    expr = "sum(exp(W@x)) + c*(x'@x) + c^3 + sum(b*x)*c"
    shapes = {"W": "m,n", "c": "scalar", "b": "n"}
    names = ["x", "c", "b"]
    H = matcalc.hessian(expr, wrt=names, shapes=shapes)
    assert [[h.wrt_text for h in row] for row in H] == [names] * 3
    assert [[h.first.wrt_text for h in row] for row in H] == [[n] * 3 for n in names]
    assert [h.shape for h in H[0]] == [("n", "n"), ("n",), ("n", "n")]
    rng = np.random.default_rng(1)
    values = {"W": rng.normal(size=(2, 3)), "x": rng.normal(size=3), "c": 0.7,
              "b": rng.normal(size=3)}
    sizes = [3, 1, 3]
    blocks = [[np.reshape(h.evaluate(values), (p, q)) for h, q in zip(row, sizes)]
              for row, p in zip(H, sizes)]
    got = np.block(blocks)

    def f(z):
        x, c, b = z[:3], z[3], z[4:]
        return float(np.sum(np.exp(values["W"] @ x)) + c * (x @ x) + c ** 3 + np.sum(b * x) * c)

    z = np.concatenate([values["x"], [values["c"]], values["b"]])
    np.testing.assert_allclose(got, _fd_hessian(f, z), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, got.T, atol=1e-12)


def test_hessian_blocks_with_a_matrix_are_checked_by_both_oracles():
    H = matcalc.hessian("sum(sigmoid(W@x)) + x'@x", wrt=["W", "x"], shapes={"W": "m,n"})
    for row, a in zip(H, ["W", "x"]):
        for h, b in zip(row, ["W", "x"]):
            assert_second_derivative(h, a, b, seed=2)
    assert H[0][1].shape == ("m", "n", "n") and H[1][0].shape == ("n", "m", "n")


def test_hessian_of_one_variable_is_unchanged_and_a_list_of_one_is_one_block():
    h = matcalc.hessian("sum(exp(x))", wrt="x")
    [[block]] = matcalc.hessian("sum(exp(x))", wrt=["x"])
    assert str(h) == str(block) == "diag(exp(x))"


@pytest.mark.parametrize("expr, kind", [("W@x", "a vector (n)"), ("x@x'", "a matrix (n×n)")])
def test_hessian_of_a_non_scalar_is_a_clear_error(expr, kind):
    for wrt in ("x", ["x"]):
        with pytest.raises(matcalc.ShapeError, match="the Hessian is of a scalar expression") \
                as info:
            matcalc.hessian(expr, wrt=wrt)
        assert kind in str(info.value) and 'diff(expr, "x").diff("x")' in str(info.value)
    with pytest.raises(matcalc.MatcalcError):
        matcalc.hessian("sum(x)", wrt=[])


# -- the command line: an expression starting with -, a reader that stops early ---------------

CROSS_ENTROPY = "∂/∂p (−sum(y ⊙ ln(p))) = −(y ⊘ p)ᵀ    [1×n]"


@pytest.mark.parametrize("argv", [
    ["diff", "-sum(y*log(p))", "--wrt", "p"],
    ["diff", "--wrt", "p", "-sum(y*log(p))"],
    ["diff", "--wrt=p", "-sum(y*log(p))"],
    ["diff", "--wr", "p", "-sum(y*log(p))"],              # an abbreviated option
    ["diff", "--wrt", "p", "--", "-sum(y*log(p))"],         # -- still works
    ["diff", "--", "-sum(y*log(p))", "--wrt", "p"],         # … also just before the expression
    ["diff", "-sum(y * log(p))", "--wrt", "p"],             # (spaces: argparse never minded)
])
def test_an_expression_may_start_with_a_minus(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == CROSS_ENTROPY


def test_a_leading_minus_in_check_and_with_other_options(capsys):
    code, out, _ = run(capsys, "check", "-sum(y*log(p))", "--wrt", "p")
    assert code == 0 and out.splitlines()[1] == "✓ " + CROSS_ENTROPY
    code, out, _ = run(capsys, "diff", "-x^2", "--wrt", "x", "--order", "2")
    assert code == 0 and out.splitlines()[1] == "∂²/∂x² (−x²) = −2    [1×1]"
    code, out, _ = run(capsys, "diff", "-x", "--wrt", "x", "--format", "latex")
    assert code == 0 and out.strip().endswith("= -1")


def test_a_leading_minus_keeps_the_caret_and_the_options(capsys):
    code, out, err = run(capsys, "diff", "-sum(w*x", "--wrt", "w")
    assert code == 2 and out == "" and err.splitlines()[2:4] == ["  -sum(w*x", "      ^"]
    with pytest.raises(SystemExit) as info:                 # -h is still the help …
        main(["diff", "-h"])
    assert info.value.code == 0 and "usage: matcalc diff" in capsys.readouterr().out
    for argv in (["diff", "--wrt", "h", "--", "-h"], ["diff", "--", "-h", "--wrt", "h"]):
        code, out, _ = run(capsys, *argv)                   # … and after --, the expression
        assert code == 0 and out.splitlines()[1] == "∂/∂h (−h) = −1    [1×1]"
    with pytest.raises(SystemExit) as info:                 # an unknown option is still one
        main(["diff", "sum(x)", "--wrt", "x", "--frmat", "numpy"])
    assert info.value.code == 2 and "--frmat" in capsys.readouterr().err


class _ClosedPipe:
    """A stdout whose reader has gone."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_in_process(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["diff", "sum(w*x)", "--wrt", "w"]) == 141
    assert main(["diff", "sum(w*x)", "--wrt", "w", "--format", "numpy"]) == 141
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [["diff", "sum(w*x)", "--wrt", "w", "--steps"],
                                  ["diff", "sum(w*x)", "--wrt", "w", "--format", "numpy"],
                                  ["--help"]])
def test_a_closed_pipe_ends_quietly(argv):
    """`matcalc … | head -1`, made deterministic: the read end is closed before matcalc writes
    anything, so every write finds no reader.  (argparse itself drops a help text it cannot
    write, and exits 0.)"""
    p = subprocess.Popen([sys.executable, "-m", "matcalc", *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=ROOT)
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait() == (0 if argv == ["--help"] else 141)
    assert err == ""


# -- --order 2 --format numpy: f is the function, the check differentiates the gradient --------

def _fd_second(f, values, a, b, eps=1e-4):
    """T[i…, j…] = ∂²f/∂aᵢ∂bⱼ by central differences of central differences of f."""
    A, B = np.asarray(values[a], dtype=float), np.asarray(values[b], dtype=float)
    T = np.zeros(A.shape + B.shape)
    for i in np.ndindex(*A.shape):
        for j in np.ndindex(*B.shape):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                env = {n: np.array(v, dtype=float) for n, v in values.items()}
                env[a][i] += si * eps
                env[b][j] += sj * eps
                T[i + j] += si * sj * f(**env) / (4 * eps * eps)
    return T


SECOND = [  # expression, shapes, [(first wrt, second wrt)], layout, f in NumPy
    ("sum(exp(x)) + x'@A@x", {"A": "n,n"}, [("x", "x")], "numerator",
     lambda x, A: np.sum(np.exp(x)) + x @ A @ x),
    ("sum(exp(x)) + x'@A@x", {"A": "n,n"}, [("x", "x"), ("A", "A"), ("A", "x")], "denominator",
     lambda x, A: np.sum(np.exp(x)) + x @ A @ x),
    ("c*sum(sigmoid(W@x))", {"W": "m,n", "c": "scalar"}, [("W", "x"), ("x", "c"), ("c", "c")],
     "denominator", lambda c, W, x: c * np.sum(1 / (1 + np.exp(-(W @ x))))),
    ("x^2*y + y^3", {}, [("x", "y"), ("y", "y")], "numerator", lambda x, y: x ** 2 * y + y ** 3),
]


@pytest.mark.parametrize("expr, shapes, pairs, layout, numpy_f", SECOND,
                         ids=[f"{e} {p}" for e, _, p, *_ in SECOND])
def test_second_derivative_code_returns_f_and_checks_against_the_gradient(
        expr, shapes, pairs, layout, numpy_f):
    ds = [matcalc.diff(expr, wrt=a, shapes=shapes, layout=layout).diff(b) for a, b in pairs]
    g = matcalc.to_numpy(ds, compile=True)
    names = list(g.__code__.co_varnames[:g.__code__.co_argcount])
    rng = np.random.default_rng(4)
    sizes = {"n": 3, "m": 2}
    values = {}
    for name in names:
        shape = tuple(sizes[d] for d in ds[0].shapes[name])
        values[name] = rng.uniform(-1, 1, size=shape) if shape else float(rng.uniform(-1, 1))
    f, *second = g(**values)
    assert np.ndim(f) == 0                                   # the function, not its gradient
    np.testing.assert_allclose(f, numpy_f(**values), rtol=1e-12)
    for d, got, (a, b) in zip(ds, second, pairs):
        want = d.evaluate(values)
        assert np.shape(got) == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        T = _fd_second(numpy_f, values, a, b)                 # independent of matcalc
        swap = layout == "denominator" and np.ndim(got) == 2 and d.f.node.shape.is_vector \
            and d.wrt_shape.is_vector
        np.testing.assert_allclose((got.T if swap else got).reshape(T.shape), T, rtol=1e-4,
                                   atol=1e-4)
    assert g.check(**values) < 1e-4


def test_order_2_numpy_from_the_command_line(capsys, tmp_path):
    code, source, err = run(capsys, "diff", "sum(exp(x)) + x'@A@x", "--wrt", "x", "--wrt", "A",
                            "--order", "2", "--format", "numpy")
    assert code == 0 and err == ""
    assert "'f = sum(exp(x)) + xᵀ A x, and ∂²f/∂x² [n×n], ∂²f/∂A² [n×n×n×n]" in source
    assert "    return f, d2f_dx2, d2f_dA2\n" in source
    assert "def _first_derivatives(x, A):" in source
    done = run_generated(tmp_path, source)
    assert done.returncode == 0, done.stderr
    first, but = done.stdout.splitlines()
    assert first.startswith("finite differences agree")
    assert but.startswith("but d2f_dA2 was all zeros")     # xᵀAx is linear in A


def test_the_second_derivative_check_catches_a_wrong_hessian():
    d = matcalc.hessian("sum(exp(x)) + x'@A@x", wrt="x")
    source = d.to_numpy()
    assert "    d2f_dx2 = t3\n" in source
    namespace = {}
    exec(compile(source.replace("    d2f_dx2 = t3\n", "    d2f_dx2 = 1.001 * t3\n"),  # noqa: S102
                 "<wrong>", "exec"), namespace)
    x, A = np.array([0.3, -0.5]), np.array([[1.0, 2.0], [0.5, -1.0]])
    with pytest.raises(AssertionError, match="d2f_dx2 .* differs from finite differences of "
                                             "df_dx"):
        namespace["check_f_and_grad"](x, A)
    namespace = {}
    exec(compile(source.replace("    df_dx = np.reshape(t4, (1, n))\n",  # noqa: S102
                                "    df_dx = np.reshape(1.001 * t4, (1, n))\n"),
                 "<wrong>", "exec"), namespace)
    with pytest.raises(AssertionError, match="df_dx .* differs from finite differences of f"):
        namespace["check_f_and_grad"](x, A)


def test_third_derivatives_are_refused_with_a_reason():
    d = matcalc.diff("x^4", "x").diff("x")
    assert d.to_numpy()
    with pytest.raises(matcalc.UnsupportedError, match="first and second derivatives"):
        d.diff("x").to_numpy()


# -- the generated self-check tests something -------------------------------------------------

MLP = "sum((W2@relu(W1@x + b1) + b2 - y)^2)"


def _run_main(source: str, capsys) -> tuple[dict, str]:
    """The module's __main__ block, in-process: its namespace and what it printed."""
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<generated>", "exec"), namespace)  # noqa: S102 (matcalc's own code)
    return namespace, capsys.readouterr().out


def test_the_mlp_example_of_the_help_is_checked_where_its_gradients_are_not_zero(capsys,
                                                                                tmp_path):
    code, source, _ = run(capsys, "diff", MLP, "--wrt", "W1", "--wrt", "b1", "--format", "numpy")
    assert code == 0
    ns, out = _run_main(source, capsys)
    assert out.splitlines() == [out.splitlines()[0]] and out.startswith("finite differences agree")
    assert "(largest difference 0)" not in out
    _, dW1, db1 = ns["f_and_grad"](**ns["_inputs"])
    assert np.any(dW1) and np.any(db1)
    # the regression: at the first point drawn (the only one before) every ReLU is inactive
    assert ns["_try"] > 0
    code = ns["f_and_grad"].__code__
    rng = np.random.default_rng(0)
    first = {name: rng.uniform(-2.0, 2.0, size=ns["_inputs"][name].shape)
             for name in code.co_varnames[:code.co_argcount]}        # drawn in this order
    _, dW1, db1 = ns["f_and_grad"](**first)
    assert not np.any(dW1) and not np.any(db1)
    # and the script itself says so
    done = run_generated(tmp_path, source)
    assert done.returncode == 0 and done.stdout == out


def test_a_wrong_gradient_fails_the_self_check_of_the_mlp(capsys):
    source = matcalc.to_numpy(matcalc.diff(MLP, wrt=["W1", "b1"]))
    line = next(x for x in source.splitlines() if x.startswith("    df_db1 = "))
    wrong = source.replace(line, line.replace("df_db1 = ", "df_db1 = 1.01 * "))
    with pytest.raises(AssertionError, match="df_db1 .* differs from finite differences of f"):
        _run_main(wrong, capsys)


def test_a_derivative_that_is_always_zero_is_said_to_be_untested(capsys):
    source = matcalc.to_numpy(matcalc.diff("sum(x)", wrt=["x", "z"], shapes={"z": "scalar"}))
    _, out = _run_main(source, capsys)
    assert out.splitlines()[0].startswith("finite differences agree")
    assert out.splitlines()[1:] == [
        ("but df_dz was all zeros at each of the 20 random points tried, so the check could not "
         "test it")]
    source = matcalc.to_numpy(matcalc.hessian("sum(W@x)", wrt="x", shapes={"W": "m,n"}))
    _, out = _run_main(source, capsys)
    assert out.splitlines()[1].startswith("but d2f_dx2 was all zeros")
    source = matcalc.to_numpy(matcalc.diff("sum(x)", wrt=["y", "z"], shapes={"y": "n",
                                                                             "z": "scalar"}))
    _, out = _run_main(source, capsys)
    assert out.splitlines()[1] == ("but df_dy and df_dz were all zeros at each of the 20 random "
                                   "points tried, so the check could not test them")


def test_declared_properties_hold_at_the_check_points(capsys):
    """A symmetric matrix is drawn symmetric, a probability vector on the simplex: the results
    use those facts (2xᵀA, softmax − y), so the check fails at any other point."""
    for expr, wrt, shapes in [("x'@A@x", "x", {"A": "n,n,sym"}),
                              ("-sum(y*log(softmax(W@x + b)))", "b", {"y": "n,prob"})]:
        ns, out = _run_main(matcalc.diff(expr, wrt=wrt, shapes=shapes).to_numpy(), capsys)
        assert out.startswith("finite differences agree") and "but" not in out
        if "A" in ns["_inputs"]:
            np.testing.assert_array_equal(ns["_inputs"]["A"], ns["_inputs"]["A"].T)
        else:
            assert abs(ns["_inputs"]["y"].sum() - 1) < 1e-12 and (ns["_inputs"]["y"] > 0).all()


def test_no_finite_point_is_said_plainly(capsys):
    source = matcalc.to_numpy(matcalc.diff("log(-sum(exp(x)))", wrt="x"))
    with pytest.raises(SystemExit, match="nothing was checked"):
        _run_main(source, capsys)
