"""The public Python API of DESIGN.md: diff, hessian, parse, Derivative, the error hierarchy."""

import numpy as np
import pytest
import sympy

import matcalc


def test_derivative_surface():
    d = matcalc.diff("sum(w*x)", wrt="w")
    assert str(d) == "xᵀ"
    assert d.latex == r"\mathbf{x}^{\top}"
    assert d.equation_latex == (r"\frac{\partial}{\partial \mathbf{w}} "
                                r"\sum\left(\mathbf{w} \odot \mathbf{x}\right) = \mathbf{x}^{\top}")
    assert d._repr_latex_() == f"$${d.display_latex}$$"     # display math: tests/test_notebook.py
    assert d.shape == ("1", "n")
    assert d.shapes == {"w": ("n",), "x": ("n",)}
    assert d.check() is True
    n = sympy.Symbol("n", integer=True, positive=True)
    assert d.sympy == sympy.MatrixSymbol("x", n, 1).T


def test_equation_parenthesises_a_sum():
    d = matcalc.diff("x + x^2", wrt="x")
    assert d.line == "∂/∂x (x + x²) = 2x + 1    [1×1]"
    assert d.equation_latex == r"\frac{\partial}{\partial x} \left(x + x^{2}\right) = 2 x + 1"


def test_evaluate_returns_exactly_the_shape_and_accepts_columns_and_numbers():
    d = matcalc.diff("W@x + b", wrt="x", shapes={"W": "m,n"})
    W = np.arange(6.0).reshape(2, 3)
    for x in (np.ones(3), np.ones((3, 1))):
        for b in (np.zeros(2), np.zeros((2, 1))):
            out = d.evaluate({"W": W, "x": x, "b": b})
            assert isinstance(out, np.ndarray) and out.shape == (2, 3)
            np.testing.assert_array_equal(out, W)
    g = matcalc.diff("max(0, w·x + b)", wrt="b")
    for b in (1.0, np.float64(1.0), np.array(1.0)):
        out = g.evaluate({"w": np.ones(2), "x": np.ones(2), "b": b})
        assert out.shape == () and float(out) == 1.0
    row = matcalc.diff("max(0, w·x + b)", wrt="w").evaluate(
        {"w": np.ones(2), "x": np.array([2.0, 3.0]), "b": -10.0})
    assert row.shape == (1, 2) and not row.any()


def test_evaluate_binds_sizes_and_rejects_mismatches():
    d = matcalc.diff("W@x + b", wrt="x", shapes={"W": "m,n"})
    with pytest.raises(matcalc.ShapeError, match="dimension n"):
        d.evaluate({"W": np.ones((2, 3)), "x": np.ones(4), "b": np.ones(2)})
    with pytest.raises(matcalc.ShapeError, match="needs values for b"):
        d.evaluate({"W": np.ones((2, 3)), "x": np.ones(3)})
    with pytest.raises(matcalc.ShapeError, match="declared"):
        d.evaluate({"W": np.ones(3), "x": np.ones(3), "b": np.ones(2)})
    fixed = matcalc.diff("W@x", wrt="x", shapes={"W": "2,3"})
    with pytest.raises(matcalc.ShapeError):
        fixed.evaluate({"W": np.ones((3, 3)), "x": np.ones(3)})


def test_several_wrt_give_one_derivative_each_in_order():
    ds = matcalc.diff("sum((W@x + b - y)^2)", wrt=["W", "b", "x"])
    assert [d.wrt_text for d in ds] == ["W", "b", "x"]
    assert [d.shape for d in ds] == [("n", "m"), ("1", "n"), ("1", "m")]


def test_vector_literal_wrt_is_the_stacked_jacobian():
    d = matcalc.diff("[3*x^2*y, 2*x + y^8]", wrt="[x, y]")
    assert d.shape == ("2", "2")
    np.testing.assert_allclose(d.evaluate({"x": 1.0, "y": 2.0}), [[12.0, 3.0], [2.0, 1024.0]])


def test_layout_denominator_and_unknown_layout():
    d = matcalc.diff("sum(w*x)", wrt="w", layout="denominator")
    assert (str(d), d.shape) == ("x", ("n",))    # a column: a vector, as in the language
    assert d.line.endswith("[n×1]")
    np.testing.assert_array_equal(d.evaluate({"w": np.ones(2), "x": np.array([3.0, 4.0])}),
                                  [3.0, 4.0])
    with pytest.raises(matcalc.MatcalcError, match="layout"):
        matcalc.diff("sum(w*x)", wrt="w", layout="sideways")


def test_parse_returns_a_typed_expression():
    e = matcalc.parse("max(0, w·x + b)")
    assert (str(e), e.shape) == ("max(0, w·x + b)", ())
    assert e.shapes == {"w": ("n",), "x": ("n",), "b": ()}
    assert e.latex == r"\max\left(0, \mathbf{w} \cdot \mathbf{x} + b\right)"
    e = matcalc.parse("W@x", shapes={"W": ("m", "n")})
    assert e.shape == ("m",) and e.shapes["W"] == ("m", "n")


def test_hessian_and_mixed_second_derivative():
    h = matcalc.hessian("sum(exp(x))", wrt="x")
    assert (str(h), h.shape) == ("diag(exp(x))", ("n", "n"))
    assert str(matcalc.diff("sum(exp(x))", "x").diff("x")) == str(h)


def test_error_hierarchy():
    for cls in (matcalc.ParseError, matcalc.ShapeError, matcalc.UnknownFunctionError,
                matcalc.UnsupportedError, matcalc.VerificationError):
        assert issubclass(cls, matcalc.MatcalcError)
    assert issubclass(matcalc.UnknownFunctionError, matcalc.ParseError)
    with pytest.raises(matcalc.ParseError):
        matcalc.parse(42)
    with pytest.raises(matcalc.ParseError):
        matcalc.diff("sum(x)", wrt=3)


def test_evaluate_a_matrix_by_a_scalar_has_the_matrix_layout():
    """∂(W s)/∂s = W entry by entry (the result is carried as vec(W), column-major)."""
    W = np.arange(6.0).reshape(2, 3)
    for layout in ("numerator", "denominator"):
        d = matcalc.diff("W*s", wrt="s", shapes={"W": "m,n", "s": "scalar"}, layout=layout)
        np.testing.assert_array_equal(d.evaluate({"W": W, "s": 2.0}), W)


@pytest.mark.parametrize("spec, dims", [("m,n", ("m", "n")), ("m×n", ("m", "n")),
                                        ("mxn", ("m", "n")), ("3x4", ("3", "4")),
                                        ("3 x 4", ("3", "4")), ("m * n", ("m", "n")),
                                        ("nx", ("nx",)), ("nx,ny", ("nx", "ny")),
                                        (("m", "n"), ("m", "n")), (5, ("5",)), ("scalar", ())])
def test_shape_declaration_spellings(spec, dims):
    assert matcalc.parse("W", shapes={"W": spec}).shape == dims


def test_the_garbage_collector_is_paused_only_while_matcalc_works():
    """parse, diff and printing pause Python's cyclic collector and resume it after, even when
    they raise; a collector the caller had disabled stays disabled."""
    import gc

    from matcalc import api
    seen = []
    original = api.derivative

    def spy(*args):
        seen.append(gc.isenabled())
        return original(*args)

    assert gc.isenabled()
    try:
        api.derivative = spy
        d = matcalc.diff("sum(w*x)", "w")
        assert str(d) == "xᵀ" and seen == [False] and gc.isenabled()
        with pytest.raises(matcalc.ParseError):
            matcalc.diff("x +", "x")
        assert gc.isenabled()
        gc.disable()
        matcalc.diff("x*x", "x")
        assert not gc.isenabled()
    finally:
        api.derivative = original
        gc.enable()
