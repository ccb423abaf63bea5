"""NumPy code generation (issue 6): the generated ``f_and_grad`` agrees with ``Derivative.evaluate``
and with central finite differences of the expression itself, on the paper's examples (rules.md
§1–§9), the affine layer, every function of the table, tensor results and the 2-layer MLP loss;
and the source is standalone, computes shared subexpressions once and survives hostile names.
Timings are in benchmarks/bench.py, not here."""

import subprocess
import sys

import numpy as np
import pytest
from test_affine import AFFINE
from test_functions import ELEMENTWISE, OTHERS, domain
from test_paper import PAPER

import matcalc
from matcalc import expr as E
from matcalc import verify
from matcalc.cli import main
from matcalc.rules import RULES

MLP = "sum((W2@relu(W1@x + b1) + b2 - y)^2)"


def _root(d):
    """The expression itself (for a second derivative, d.f is the gradient)."""
    return d.f.origin or d.f.node


def _inputs(d) -> dict:
    """The generated function's parameters, in order: f's variables, then absent wrt ones."""
    shapes = {n: v.shape for n, v in E.free_vars(_root(d)).items()}
    for v in d.wrt:
        shapes.setdefault(v.name, v.shape)
    return shapes


def _values(d, seed, dom):
    shapes = _inputs(d)
    symbols = {s for sh in shapes.values() for x in sh.dims for s in x.free_symbols}
    dims = verify.small_dims(symbols)
    rng = np.random.default_rng(seed)
    return verify.random_values(shapes, dims, rng, domain=dom), dims


def _tensor(d, got):
    """A returned derivative read as T[o…, w…] (undoing the denominator layout's transpose)."""
    swap = d.layout == "denominator" and d.f.node.shape.is_vector and d.wrt_shape.is_vector
    got = np.asarray(got, dtype=float)
    return got.T if swap else got


def assert_generated(ds, seed=0, dom=(-2.0, 2.0), values=None):
    """Generated code vs evaluate and vs finite differences of f (both independent of it)."""
    ds = ds if isinstance(ds, list) else [ds]
    g = matcalc.to_numpy(ds, compile=True)
    d0 = ds[0]
    if values is None:
        values, dims = _values(d0, seed, dom)
    else:
        dims = verify.bind_dims({n: v.shape for n, v in E.free_vars(_root(d0)).items()}, values)
    f_value, *grads = g(*[values[name] for name in _inputs(d0)])
    expected_f = verify.evaluate(_root(d0), values, dims)
    np.testing.assert_allclose(np.asarray(f_value, dtype=float), expected_f, rtol=1e-9, atol=1e-12)
    assert len(grads) == len(ds)
    for d, got in zip(ds, grads):
        want = d.evaluate(values)
        assert np.shape(got) == want.shape, (np.shape(got), want.shape)
        np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-12)
        numeric = []
        for v in d.wrt:
            def fn(xv, name=v.name, node=d.f.node):
                return np.asarray(verify.evaluate(node, {**values, name: xv}, dims), dtype=float)
            numeric.append(verify.numeric_jacobian(fn, np.asarray(values[v.name], dtype=float)))
        numeric = np.stack(numeric, axis=-1) if d._literal else numeric[0]
        tensor = _tensor(d, got).reshape(numeric.shape)
        np.testing.assert_allclose(tensor, numeric, rtol=1e-5, atol=1e-5)
    # the generated self-check agrees too
    assert g.check(*[values[name] for name in _inputs(d0)]) < 1e-4
    return g


@pytest.mark.parametrize("sec, expr, wrt, shapes, text, latex", PAPER,
                         ids=[f"{s} {e} wrt {w}" for s, e, w, *_ in PAPER])
def test_paper_examples(sec, expr, wrt, shapes, text, latex):
    dom = (0.3, 2.0) if "ln" in expr else (-2.0, 2.0)
    for layout in ("numerator", "denominator"):
        d = matcalc.diff(expr, wrt=wrt, shapes=shapes, layout=layout)
        assert_generated(d, dom=dom)


@pytest.mark.parametrize("expr, wrt, shapes, text, shape", AFFINE,
                         ids=[f"{e} wrt {w}" for e, w, *_ in AFFINE])
def test_affine_layer(expr, wrt, shapes, text, shape):
    for seed in range(2):
        assert_generated(matcalc.diff(expr, wrt=wrt, shapes=shapes), seed=seed)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_functions(name):
    assert_generated(matcalc.diff(f"{name}(x)", wrt="x", shapes={"x": "n"}), dom=domain(name))
    lo, hi = domain(name)
    assert_generated(matcalc.diff(f"sum({name}(W@x))", wrt=["W", "x"]),
                     dom=(lo / 3, hi / 3) if lo > 0 else (-0.6, 0.6))


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_functions(name):
    expr, wrt, shapes, _ = OTHERS[name]
    values = None
    if name in ("det", "logdet", "inv"):
        rng = np.random.default_rng(3)
        values = {"X": rng.normal(size=(2, 2)) + 3 * np.eye(2), "A": rng.normal(size=(2, 2))}
        if name != "inv":
            del values["A"]
    assert_generated(matcalc.diff(expr, wrt=wrt, shapes=shapes), values=values)


TENSORS = [
    ("W@x", "W", {"W": "m,n"}),
    ("W@x + b", "W", {}),
    ("sigmoid(W@x + b)", "W", {}),
    ("W*s", "s", {"W": "m,n", "s": "scalar"}),
    ("x'", "x", {}),
    ("A@B", "A", {"A": "m,k", "B": "k,n"}),
    ("A@B", "B", {"A": "m,k", "B": "k,n"}),
    ("A'", "A", {"A": "m,n"}),
    ("inv(X)", "X", {}),
    ("x@w'", "w", {"x": "m", "w": "n"}),
    ("x@w'", "x", {"x": "m", "w": "n"}),
]


@pytest.mark.parametrize("expr, wrt, shapes", TENSORS, ids=[f"{e} wrt {w}" for e, w, _ in TENSORS])
def test_tensor_and_matrix_results(expr, wrt, shapes):
    values = None
    if expr == "inv(X)":
        values = {"X": np.random.default_rng(1).normal(size=(3, 3)) + 3 * np.eye(3)}
    assert_generated(matcalc.diff(expr, wrt=wrt, shapes=shapes), values=values)


def test_mlp_loss_one_function_for_all_four_gradients():
    ds = matcalc.diff(MLP, wrt=["W1", "b1", "W2", "b2"])
    for seed in range(3):
        g = assert_generated(ds, seed=seed)
    body = g.source.split("def check_f_and_grad")[0]
    lines = [line.strip() for line in body.splitlines() if " = " in line]
    rhs = [line.split(" = ", 1)[1] for line in lines]
    assert len(rhs) == len(set(rhs))                      # nothing computed twice
    assert sum("W1 @ x" in r for r in rhs) == 1            # the forward pass, once …
    relu = next(line.split(" = ")[0] for line in lines if "np.maximum(" in line)
    assert any(relu in r and "np.outer" in r for r in rhs)  # … and reused by the backward one
    assert sum("np.outer(" in r for r in rhs) == 2         # one outer product per weight
    assert "return f, df_dW1, df_db1, df_dW2, df_db2" in body


def test_hessian_as_value_and_derivative_of_the_gradient():
    """f is the expression itself; the Hessian agrees with finite differences of the gradient
    (assert_generated) and the generated check runs (issue 12: f was the gradient)."""
    d = matcalc.hessian("sum(x^3) + x'@A@x", wrt="x")
    assert_generated(d)


def test_source_is_standalone_and_checks_itself(tmp_path):
    source = matcalc.to_numpy(matcalc.diff(MLP, wrt=["W1", "b1"]))
    assert source.startswith("import numpy as np\n")
    path = tmp_path / "mlp_grad.py"
    path.write_text(source, encoding="utf-8")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("finite differences agree")


def test_derivative_to_numpy_and_compile():
    d = matcalc.diff("sum(w*x)", wrt="w")
    source = d.to_numpy()
    assert "def f_and_grad(w, x):" in source and "def check_f_and_grad(" in source
    g = d.to_numpy(compile=True)
    assert g.source == source
    f, dw = g(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert float(f) == 11.0 and dw.tolist() == [[3.0, 4.0]]


def test_hostile_names_stay_identifiers():
    """Keywords, names the generated code uses, and names equal after NFKC become safe locals."""
    d = matcalc.diff("sum(lambda*np + f*_x + ϐ*β)", wrt=["lambda", "np", "ϐ"])
    g = assert_generated(d)
    assert "def f_and_grad(lambda_, np_, f_, x_, v1, beta):" in g.source
    renamed = "lambda as lambda_, np as np_, f as f_, _x as x_, ϐ as v1"
    assert f"variables renamed for Python: {renamed}" in g.source


def test_declared_but_absent_variable():
    d = matcalc.diff("sum(x)", wrt="z", shapes={"z": "scalar"})
    assert_generated(d)


def test_derivatives_of_different_expressions_are_refused():
    with pytest.raises(matcalc.MatcalcError):
        matcalc.to_numpy([matcalc.diff("sum(x)", wrt="x"), matcalc.diff("sum(x*x)", wrt="x")])


def test_cli_numpy_format_one_function_for_every_wrt(capsys):
    code = main(["diff", MLP, "--wrt", "W1", "--wrt", "b1", "--wrt", "W2", "--wrt", "b2",
                 "--format", "numpy"])
    source, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert source.count("def f_and_grad(") == 1
    assert "return f, df_dW1, df_db1, df_dW2, df_db2" in source
    ds = matcalc.diff(MLP, wrt=["W1", "b1", "W2", "b2"])
    assert source == matcalc.to_numpy(ds)
    g = matcalc.to_numpy(ds, compile=True)
    values, _ = _values(ds[0], 0, (-2.0, 2.0))
    _, *grads = g(*[values[name] for name in _inputs(ds[0])])
    for d, got in zip(ds, grads):
        np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-9, atol=1e-12)


def test_inputs_of_the_wrong_shape_are_refused():
    g = matcalc.diff("sum(w*x) + logdet(A)", wrt="A").to_numpy(compile=True)
    with pytest.raises(ValueError, match="the expression needs w n, x n, A m×m"):
        g(np.ones(2), np.ones(3), np.eye(2))
    with pytest.raises(ValueError, match="the expression needs"):
        g(np.ones(2), np.ones(2), np.ones(2))


def test_every_rule_has_numpy_code():
    """Generated from the table: a new entry needs its NumPy spelling too."""
    assert [name for name, rule in RULES.items() if rule.code is None and not rule.macro] == []
