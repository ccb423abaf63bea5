"""Every rule of rules.md §1–§9 (Parr & Howard's reference tables and worked examples): the
exact expected form in text and LaTeX, finite differences, and SymPy component expansion."""

import pytest

import matcalc
from oracles import assert_numeric

S = "scalar"

# (section, expression, wrt, declared shapes, expected text, expected LaTeX)
PAPER = [
    ("§1 constant", "99", "x", {"x": S}, "0", "0"),
    ("§1 constant factor", "3*x", "x", {}, "3", "3"),
    ("§1 power", "x^3", "x", {}, "3x²", "3 x^{2}"),
    ("§1 sum", "x^2 + 3*x", "x", {}, "2x + 3", "2 x + 3"),
    ("§1 difference", "x^2 - 3*x", "x", {}, "2x − 3", "2 x - 3"),
    ("§1 product", "x^2*x", "x", {}, "3x²", "3 x^{2}"),
    ("§1 chain", "ln(x^2)", "x", {}, "2/x", r"\frac{2}{x}"),
    ("§1 chain, nested", "sin(x^2)", "x", {}, "2x cos(x²)", r"2 x \cos\left(x^{2}\right)"),
    ("§1 chain, nested", "ln(sin(x^3)^2)", "x", {}, "6x² cos(x³)/sin(x³)",
     r"\frac{6 x^{2} \cos\left(x^{3}\right)}{\sin\left(x^{3}\right)}"),
    ("§1 total derivative", "x + x^2", "x", {}, "2x + 1", "2 x + 1"),
    ("§1 total derivative", "sin(x + x^2)", "x", {}, "(2x + 1) cos(x + x²)",
     r"\left(2 x + 1\right) \cos\left(x + x^{2}\right)"),
    ("§1 total derivative", "x*x^2", "x", {}, "3x²", "3 x^{2}"),
    ("§1 partial", "3*x^2*y", "x", {}, "6x y", "6 x y"),
    ("§1 partial", "3*x^2*y", "y", {}, "3x²", "3 x^{2}"),
    ("§2 gradient", "3*x^2*y", "[x, y]", {}, "[6x y, 3x²]",
     r"\begin{bmatrix}6 x y & 3 x^{2}\end{bmatrix}"),
    ("§2 Jacobian", "[3*x^2*y, 2*x + y^8]", "[x, y]", {}, "[[6x y, 3x²], [2, 8y⁷]]",
     r"\begin{bmatrix}6 x y & 3 x^{2} \\ 2 & 8 y^{7}\end{bmatrix}"),
    ("§2 identity", "x", "x", {"x": "n"}, "I", "I"),
    ("§3 w + x", "w + x", "w", {"w": "n"}, "I", "I"),
    ("§3 w + x", "w + x", "x", {"w": "n"}, "I", "I"),
    ("§3 w − x", "w - x", "w", {"w": "n"}, "I", "I"),
    ("§3 w − x", "w - x", "x", {"w": "n"}, "−I", "-I"),
    ("§3 w ⊗ x", "w ⊗ x", "w", {"w": "n"}, "diag(x)",
     r"\operatorname{diag}\left(\mathbf{x}\right)"),
    ("§3 w ⊗ x", "w*x", "x", {"w": "n"}, "diag(w)",
     r"\operatorname{diag}\left(\mathbf{w}\right)"),
    ("§3 w ⊘ x", "w/x", "w", {"w": "n"}, "diag(1 ⊘ x)",
     r"\operatorname{diag}\left(1 \oslash \mathbf{x}\right)"),
    ("§3 w ⊘ x", "w ⊘ x", "x", {"w": "n"}, "diag(−w ⊘ x²)",
     r"\operatorname{diag}\left(-\mathbf{w} \oslash \mathbf{x}^{2}\right)"),
    ("§4 x + z", "x + z", "x", {"x": "n", "z": S}, "I", "I"),
    ("§4 x + z", "x + z", "z", {"x": "n", "z": S}, "𝟙", r"\mathbf{1}"),
    ("§4 x z", "x*z", "x", {"x": "n", "z": S}, "z I", "z I"),
    ("§4 x z", "x*z", "z", {"x": "n", "z": S}, "x", r"\mathbf{x}"),
    ("§5 sum", "sum(x)", "x", {}, "𝟙ᵀ", r"\mathbf{1}^{\top}"),
    ("§5 sum of f", "sum(x^2)", "x", {}, "2xᵀ", r"2 \mathbf{x}^{\top}"),
    ("§5 sum(x z)", "sum(x*z)", "x", {"z": S}, "z 𝟙ᵀ", r"z \mathbf{1}^{\top}"),
    ("§5 sum(x z)", "sum(x*z)", "z", {"z": S}, "sum(x)", r"\sum\left(\mathbf{x}\right)"),
    ("§5 dot", "w·x", "x", {}, "wᵀ", r"\mathbf{w}^{\top}"),
    ("§5 dot", "dot(w, x)", "w", {}, "xᵀ", r"\mathbf{x}^{\top}"),
    ("§5 dot as sum", "sum(w*x)", "w", {}, "xᵀ", r"\mathbf{x}^{\top}"),
    ("§6 vector chain rule", "[ln(x^2), sin(3*x)]", "x", {}, "[2/x, 3cos(3x)]",
     r"\begin{bmatrix}\frac{2}{x} \\ 3 \cos\left(3 x\right)\end{bmatrix}"),
    ("§6 diagonal chain", "exp(x^2)", "x", {"x": "n"}, "diag(2x ⊙ exp(x²))",
     r"\operatorname{diag}\left(2 \mathbf{x} \odot \exp\left(\mathbf{x}^{2}\right)\right)"),
    ("§7 element-wise", "exp(x)", "x", {"x": "n"}, "diag(exp(x))",
     r"\operatorname{diag}\left(\exp\left(\mathbf{x}\right)\right)"),
    ("§7 max(0, x)", "max(0, x)", "x", {"x": "n"}, "diag(step(x))",
     r"\operatorname{diag}\left(\operatorname{step}\left(\mathbf{x}\right)\right)"),
    ("§8 affine", "w·x + b", "w", {}, "xᵀ", r"\mathbf{x}^{\top}"),
    ("§8 affine", "w·x + b", "b", {}, "1", "1"),
    ("§8 max(0, z)", "max(0, z)", "z", {}, "0 if z ≤ 0; 1 if z > 0",
     r"\begin{cases}0 & \text{if } z \le 0 \\ 1 & \text{if } z > 0\end{cases}"),
    ("§8 neuron", "max(0, w·x + b)", "w", {}, "0ᵀ if w·x + b ≤ 0; xᵀ if w·x + b > 0",
     r"\begin{cases}\mathbf{0}^{\top} & \text{if } \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ "
     r"\mathbf{x}^{\top} & \text{if } \mathbf{w} \cdot \mathbf{x} + b > 0\end{cases}"),
    ("§8 neuron", "max(0, w·x + b)", "b", {}, "0 if w·x + b ≤ 0; 1 if w·x + b > 0",
     r"\begin{cases}0 & \text{if } \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ "
     r"1 & \text{if } \mathbf{w} \cdot \mathbf{x} + b > 0\end{cases}"),
    ("§9 single-sample loss", "(y - max(0, w·x + b))^2", "w", {},
     "0ᵀ if w·x + b ≤ 0; 2(w·x + b − y) xᵀ if w·x + b > 0",
     r"\begin{cases}\mathbf{0}^{\top} & \text{if } \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ "
     r"2 \left(\mathbf{w} \cdot \mathbf{x} + b - y\right) \mathbf{x}^{\top} & \text{if } "
     r"\mathbf{w} \cdot \mathbf{x} + b > 0\end{cases}"),
    ("§9 single-sample loss", "(y - max(0, w·x + b))^2", "b", {},
     "0 if w·x + b ≤ 0; 2(w·x + b − y) if w·x + b > 0",
     r"\begin{cases}0 & \text{if } \mathbf{w} \cdot \mathbf{x} + b \le 0 \\ "
     r"2 \left(\mathbf{w} \cdot \mathbf{x} + b - y\right) & \text{if } "
     r"\mathbf{w} \cdot \mathbf{x} + b > 0\end{cases}"),
    ("§9 vectorised loss", "mean((y - max(0, X@w + b))^2)", "w", {"X": "N,n", "b": S},
     "2/N (step(z) ⊙ (z − y))ᵀ X where z = X w + b", None),
    ("§9 vectorised loss", "mean((y - max(0, X@w + b))^2)", "b", {"X": "N,n", "b": S},
     "2/N sum(step(z) ⊙ (z − y)) where z = X w + b", None),
]

IDS = [f"{sec} {expr} wrt {wrt}" for sec, expr, wrt, *_ in PAPER]


@pytest.mark.parametrize("sec, expr, wrt, shapes, text, latex", PAPER, ids=IDS)
def test_expected_form(sec, expr, wrt, shapes, text, latex):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    assert str(d) == text
    if latex is not None:
        assert d.latex == latex


@pytest.mark.parametrize("sec, expr, wrt, shapes, text, latex", PAPER, ids=IDS)
def test_finite_differences(sec, expr, wrt, shapes, text, latex):
    d = matcalc.diff(expr, wrt=wrt, shapes=shapes)
    domain = (0.3, 2.0) if "ln" in expr else (-2.0, 2.0)
    for seed in range(3):
        assert_numeric(d, seed=seed, domain=domain)


@pytest.mark.parametrize("sec, expr, wrt, shapes, text, latex", PAPER, ids=IDS)
def test_component_expansion(sec, expr, wrt, shapes, text, latex):
    assert matcalc.diff(expr, wrt=wrt, shapes=shapes).check()
