"""Bad input ends in a MatcalcError a user can act on: where (a caret), what was expected, and
a suggestion where one exists; the CLI exits 2 with no traceback.  User text never reaches
eval, exec or sympify: code-like input is a parse error."""

import pytest

import matcalc
from matcalc.cli import main

# (expression, wrt, shapes, error class, fragment of the message)
BAD = [
    ("", "x", {}, matcalc.ParseError, "empty expression"),
    ("   ", "x", {}, matcalc.ParseError, "empty expression"),
    ("sum(w*x", "w", {}, matcalc.ParseError, "expected ')' to close the '('"),
    ("sum(w*x))", "w", {}, matcalc.ParseError, "no bracket to close"),
    ("[x, y", "x", {}, matcalc.ParseError, "expected ']'"),
    ("w * * x", "w", {}, matcalc.ParseError, "stray operator '*'"),
    ("+", "x", {}, matcalc.ParseError, "stray operator '+'"),
    ("x +", "x", {}, matcalc.ParseError, "unexpected end of input"),
    ("sigmoyd(x)", "x", {}, matcalc.UnknownFunctionError, "did you mean sigmoid?"),
    ("frobnicate(x)", "x", {}, matcalc.UnknownFunctionError, "known functions"),
    ("expm(X)", "X", {}, matcalc.UnknownFunctionError, "matrix exponential is not supported"),
    ("kron(2, X)", "X", {}, matcalc.ShapeError, "kron takes two matrices"),
    ("sum(x, y)", "x", {}, matcalc.ParseError, "sum takes 1 argument, got 2"),
    ("max(x)", "x", {}, matcalc.ParseError, "max takes 2 arguments, got 1"),
    ("max(x)", "x", {}, matcalc.ParseError, "max(a, b) is element-wise, as in max(0, x)"),
    ("sum(x, y)", "x", {}, matcalc.ParseError, "write sum(x)"),
    ("norm(x, 1, 2)", "x", {}, matcalc.ParseError, "norm takes 1 or 2 arguments, got 3"),
    ("norm()", "x", {}, matcalc.ParseError, "got 0"),
    ("norm(x, 3)", "x", {}, matcalc.ParseError, "must be 1 or 2"),
    ("x × y", "x", {}, matcalc.ParseError, "use * for the element-wise product"),
    ("ｘ + 1", "x", {}, matcalc.ParseError, "look-alike"),
    ("x ∗ y", "x", {}, matcalc.ParseError, "ASTERISK OPERATOR"),
    ("x;y", "x", {}, matcalc.ParseError, "write one expression"),
    ("a = b", "a", {}, matcalc.ParseError, "not equations"),
    ("__import__('os').system('x')", "x", {}, matcalc.ParseError, "unexpected"),
    ("lambda: 0", "x", {}, matcalc.ParseError, "not code"),
    ("x.__class__", "x", {}, matcalc.ParseError, "only .T"),
    ("x.y", "x", {}, matcalc.ParseError, "only .T"),
    ("\"x\"", "x", {}, matcalc.ParseError, "no strings"),
    ("import os", "x", {}, matcalc.ParseError, "not code"),
    ("os.system('x')", "x", {}, matcalc.ParseError, "only .T"),
    ("exec(\"x\")", "x", {}, matcalc.ParseError, "no strings"),
    ("x if y else z", "x", {}, matcalc.ParseError, "expected"),
    ("`x`", "x", {}, matcalc.ParseError, "no code"),
    ("x[0]", "x", {}, matcalc.ParseError, "no indexing"),
    # Unicode look-alikes
    ("х + 1", "x", {}, matcalc.ParseError, "the Latin letter 'x'"),
    ("x – y", "x", {}, matcalc.ParseError, "did you mean '-'"),
    ("x ⋅ y", "x", {}, matcalc.ParseError, "did you mean '·'"),
    # numbers out of range
    ("x^1e9999", "x", {}, matcalc.ParseError, "out of range"),
    # more shape conflicts: each kind of constraint
    ("inv(A)", "A", {"A": "m,n"}, matcalc.ShapeError, "square matrix"),
    ("det(A)", "A", {"A": "m,n"}, matcalc.ShapeError, "square matrix"),
    ("diag(a)", "a", {"a": "scalar"}, matcalc.ShapeError, "vector or a square matrix"),
    ("logsumexp(A)", "A", {"A": "m,n"}, matcalc.ShapeError, "takes a vector"),
    ("2 @ x", "x", {}, matcalc.ShapeError, "write * to scale"),
    ("A@B", "A", {"A": "m,n", "B": "m,n"}, matcalc.ShapeError, "@ needs the columns"),
    ("x + A", "x", {"x": "m", "A": "n,n"}, matcalc.ShapeError, "element-wise operands"),
    ("max(x, y)", "x", {"x": "n", "y": "m"}, matcalc.ShapeError, "element-wise operands"),
    # shapes
    ("w*x", "w", {"w": "n", "x": "m"}, matcalc.ShapeError, "element-wise operands"),
    ("W@x + V", "x", {"W": "n,m", "V": "k,m"}, matcalc.ShapeError, "element-wise operands"),
    ("A@x", "x", {"A": "m,n", "x": "m"}, matcalc.ShapeError, "@ needs the columns"),
    ("w·x", "x", {"w": "n", "x": "m"}, matcalc.ShapeError, "two vectors of one length"),
    ("w·X", "w", {"X": "m,n"}, matcalc.ShapeError, "two vectors"),
    ("trace(A)", "A", {"A": "m,n"}, matcalc.ShapeError, "square matrix"),
    ("softmax(A)", "A", {"A": "m,n"}, matcalc.ShapeError, "takes a vector"),
    ("x^y", "x", {"x": "n", "y": "n"}, matcalc.ShapeError, "exponent"),
    ("[x, y]", "x", {"x": "n"}, matcalc.ShapeError, "holds scalars"),
    ("sum(x)", "x", {"x": "scalar"}, matcalc.ShapeError, "vector or matrix"),
    ("w*x", "w", {"w": "n by m"}, matcalc.ShapeError, "cannot read the shape"),
    ("w*x", "w", {"w": "2,3,4"}, matcalc.ShapeError, "cannot read the shape"),
    ("w*x", "w", {"w": "0"}, matcalc.ShapeError, "cannot read the shape"),
    ("w*x", "w", {"w": "n,m,sym"}, matcalc.ShapeError, "symmetric matrix must be square"),
    ("w*x", "w", {"w": "n,m,prob"}, matcalc.ShapeError, "for vectors"),
    ("w*x", "w", {"w": "n;m"}, matcalc.ShapeError, "cannot read the shape"),
    # wrt
    ("sum(w*x)", "v", {}, matcalc.ShapeError, "'v' does not appear"),
    ("sum(w*x)", "w+x", {}, matcalc.ParseError, "--wrt takes a variable name"),
    ("sum(w*x)", "[w, x]", {}, matcalc.ShapeError, "holds scalar variables"),
]


@pytest.mark.parametrize("expr, wrt, shapes, cls, fragment", BAD,
                         ids=[f"{e!r} wrt {w}" for e, w, *_ in BAD])
def test_api_error(expr, wrt, shapes, cls, fragment):
    with pytest.raises(cls) as info:
        matcalc.diff(expr, wrt=wrt, shapes=shapes)
    message = str(info.value)
    assert isinstance(info.value, matcalc.MatcalcError)
    if fragment:
        assert fragment in message
    if info.value.span is not None:
        assert "^" in message and "line 1, column" in message


@pytest.mark.parametrize("expr, wrt, shapes, cls, fragment", BAD,
                         ids=[f"{e!r} wrt {w}" for e, w, *_ in BAD])
def test_cli_error_exit_2(expr, wrt, shapes, cls, fragment, capsys):
    argv = ["diff", expr, "--wrt", wrt]
    for name, spec in shapes.items():
        argv += ["--shape", f"{name}={spec}"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err and err.startswith("matcalc: error:")


def test_declared_but_absent_variable_has_zero_derivative_with_a_note(capsys):
    d = matcalc.diff("sum(w*x)", wrt="v", shapes={"v": "n"})
    assert str(d) == "0ᵀ" and d.shape == ("1", "n")
    assert d.notes == ["v does not appear in sum(w*x): the derivative is zero"]
    assert main(["diff", "sum(w*x)", "--wrt", "v", "--shape", "v=n"]) == 0
    assert "note: v does not appear in sum(w*x): the derivative is zero" in capsys.readouterr().out
    z = matcalc.diff("sum(x)", wrt="z", shapes={"z": "m"})     # its own dimension
    assert z.evaluate({"x": [1.0, 2.0], "z": [0.0, 0.0, 0.0]}).shape == (1, 3)


@pytest.mark.parametrize("spec", ["w", "w=", "=n", "w:n", "1w=n", "w=n,m,k", "w=n x", "w=☃"])
def test_bad_shape_spec_in_cli(spec, capsys):
    assert main(["diff", "sum(w*x)", "--wrt", "w", "--shape", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matcalc: error: cannot read the shape") and "Traceback" not in err
    assert "NAME=SPEC" in err or "write scalar, n, m,n" in err


def test_caret_points_at_the_offending_column():
    with pytest.raises(matcalc.ParseError) as info:
        matcalc.parse("exp(x) + $")
    assert info.value.line_column == (1, 10)
    assert str(info.value).splitlines()[-1].rstrip().endswith("^")


def test_long_expression_parses():
    expr = "+".join(["x"] * 50000)  # 99,999 characters
    assert len(expr) >= 99_999
    d = matcalc.diff(expr, wrt="x")
    assert str(d) == "50000"


def test_long_garbage_is_a_clear_error():
    expr = "x+" * 50_000 + ")"   # 100,001 characters, the error at the very end
    with pytest.raises(matcalc.ParseError) as info:
        matcalc.diff(expr, wrt="x")
    assert info.value.line_column == (1, 100_001)
    assert len(str(info.value)) < 400     # the caret line is cut around the error


def test_ten_thousand_nested_calls():
    d = matcalc.diff("exp(" * 10_000 + "x" + ")" * 10_000, wrt="x")
    assert str(d).startswith("u₁ ⊙") or "exp" in str(d)
    assert d.shape == ()


def test_deep_nesting_is_not_a_recursion_error():
    expr = "(" * 10000 + "x" + ")" * 10000
    try:
        d = matcalc.diff(expr, wrt="x")
    except matcalc.MatcalcError as e:  # a clear error is acceptable, a RecursionError is not
        assert "nested" in str(e)
    else:
        assert str(d) == "1"


def test_no_rule_raises_unsupported(monkeypatch):
    """A table entry without a Jacobian makes matcalc refuse (UnsupportedError naming the
    construct), never return 0 or a guess."""
    import dataclasses

    from matcalc.rules import RULES
    monkeypatch.setitem(RULES, "diag", dataclasses.replace(RULES["diag"], partials=None))
    with pytest.raises(matcalc.UnsupportedError, match="diag"):
        matcalc.diff("diag(x)", wrt="x", shapes={"x": "n"})
    assert str(matcalc.diff("sum(diag(x))", wrt="x")) == "𝟙ᵀ"   # the direct product form


def test_sympy_silent_zero_cases_are_right_here():
    # SymPy 1.14's matrix derivative returns 0 for these; matcalc must not
    assert str(matcalc.diff("log(det(X))", wrt="X")) == "X⁻ᵀ"
    assert str(matcalc.diff("max(0, w·x + b)", wrt="w")).startswith("0ᵀ if")


def test_regression_known_operands_of_an_elementwise_operator_unify_at_once():
    """Found by the expression generator: both operands' shapes known, yet the constraint
    waited, and a default for @ then guessed a vector."""
    e = matcalc.parse("max(diag(x), 0) @ (ln(sigmoid(F)) * (F - max(F, 0)))",
                      shapes={"F": "n,k", "x": "n"})
    assert e.shape == ("n", "k")


# Regressions found by the expression generator (benchmarks/soak.py), kept here.
REGRESSIONS = [
    # second derivative through a vector literal: the adjoint's entries gᵢ had no Jacobian
    ("a*sum([a*b, c, a])", "a", "a", {}, "2(b + 1)"),
    # a constant column 𝟙 in a vector-Jacobian product: its value was not wrapped as a node
    ("-a * sum([a, c, a])", "a", "a", {}, "−4"),
    # a second derivative after a variable that does not appear: its dimensions were unbound
    ("norm(softmax(sigmoid(y)^c))", "B", "c", {"B": "n,m"}, "0"),
]


# Found by the soak: a scalar term of a vector or matrix sum is scalar expansion (b − u is
# b 𝟙 − u), and the reverse pass read it as b I (or as a row).  Both oracles now agree.
EXPANSION = [
    ("sum((b - u)*c)", "c", {"c": "scalar", "b": "scalar", "u": "m"}, "m b − sum(u)"),
    ("v·((P - a) @ u)", "u", {"P": "m,m", "a": "scalar", "u": "m", "v": "m"}, "vᵀ (P − a)"),
    ("sum((P - a) @ u)", "u", {"P": "m,m", "a": "scalar", "u": "m"}, "𝟙ᵀ (P − a)"),
]


@pytest.mark.parametrize("expr, wrt, shapes, expected", EXPANSION, ids=[e for e, *_ in EXPANSION])
def test_regression_scalar_expansion_inside_a_jacobian(expr, wrt, shapes, expected):
    from oracles import assert_verified
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == expected
    assert_verified(d)


def test_regression_check_of_abs_of_logdet():
    """SymPy left |ln det V|'s derivative unevaluated (it cannot tell the argument is real):
    the oracle now differentiates √(u²) instead, and sign′ = 0 away from the kink."""
    assert matcalc.diff("-abs(logdet(V))", wrt="V").diff("V").check()


def test_generator_regression_sympy_functions_come_back():
    """SymPy rewrites (σ(a)⁻²)^1.5 as |σ(a)|⁻³ for a real atom: abs must come back as the
    table's abs, not crash the simplifier."""
    d = matcalc.diff("(sigmoid(a)^(-2))^1.5 ⊘ (abs(sum(U) - 0.5 ⊘ sigmoid(a)) + 1)", wrt="a",
                     shapes={"U": "k,k"})
    assert "abs(" in str(d)
    assert d.check()


@pytest.mark.parametrize("expr, a, b, shapes, expected", REGRESSIONS,
                         ids=[e for e, *_ in REGRESSIONS])
def test_generator_regressions(expr, a, b, shapes, expected):
    d = matcalc.diff(expr, wrt=a, shapes=shapes).diff(b)
    assert str(d) == expected
    assert d.check()


def test_regression_check_picks_sizes_where_the_inverse_exists():
    """log det(X A), X n×m: at the first small sizes (m = 2 < n = 3) X A is singular for every
    value, and check() raised SymPy's NonInvertibleMatrixError; it now tries the sizes permuted."""
    d = matcalc.diff("logdet(X@A)", wrt="X")
    assert d.shapes == {"X": ("n", "m"), "A": ("m", "n")}
    assert d.check()


def test_a_matrix_singular_at_every_size_is_a_verification_error():
    """x xᵀ has rank 1 at every size n ≥ 2: never invertible, so nothing to verify against;
    a clear VerificationError, not SymPy's exception."""
    d = matcalc.diff("logdet(x@x^T)", wrt="x")
    with pytest.raises(matcalc.VerificationError, match="singular at every size"):
        d.check()


def test_regression_entry_of_a_scalar_times_ones():
    """Found by the soak (its slowest derivative): ∂ sum([a, ½])/∂a left (2a L 𝟙)[1] in the
    result; (c 𝟙)ᵢ = c.  And the named intermediate was u₁ beside the user's vector u."""
    from oracles import assert_verified
    d = matcalc.diff("(a + a) * logsumexp(q) ⊙ max(sum([a, 0.5]), transpose(u) @ J @ q)",
                     wrt="a")
    assert str(d) == ("2(a + v) logsumexp(q) if uᵀ J q − sum([a, 1/2]) ≤ 0; "
                      "2logsumexp(q) v if uᵀ J q − sum([a, 1/2]) > 0 "
                      "where v = max(sum([a, 1/2]), uᵀ J q)")
    assert_verified(d)


@pytest.mark.parametrize("expr, wrt, expected", [
    ("softmax(s)", "s", "diag(u) − u uᵀ where u = softmax(s)"),
    ("sigmoid(W@u + b)", "W", "kron(uᵀ, diag(v ⊙ (1 − v))) where v = σ(W u + b)"),
])
def test_named_intermediates_avoid_the_users_letters(expr, wrt, expected):
    from oracles import assert_verified
    d = matcalc.diff(expr, wrt=wrt)
    assert str(d) == expected
    assert_verified(d)
