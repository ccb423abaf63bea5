"""Shape inference (issue 13, part 2): every step that solves an unknown shape, and every
message that says why shapes do not fit.  Readings go through ``matcalc.parse`` (the printed
form, each variable's inferred shape, the result's shape); conflicts through ``matcalc.parse``,
``matcalc.diff`` and the CLI (the whole message: the quoted source, what was expected, the
shapes named, and the line, column and caret); a derivative that inference makes possible is
checked by its printed form and by both oracles."""

import pytest

import matcalc
from matcalc.cli import main
from oracles import assert_verified

# (expression, declared shapes, printed form, inferred variable shapes, result shape)
READINGS = [
    ('sum(X, axis=0)', {}, 'Xᵀ 𝟙', {'X': ('n', 'm')}, ('m',)),
    ('sum(X, axis=1)', {}, 'X 𝟙', {'X': ('n', 'm')}, ('n',)),
    ('sum(X, axis=-1)', {}, 'X 𝟙', {'X': ('n', 'm')}, ('n',)),
    ('sum(x, axis=0)', {}, 'sum(x)', {'x': ('n',)}, ()),
    ('sum(x, axis=-1)', {}, 'sum(x)', {'x': ('n',)}, ()),
    ('sum(2*x, axis=0)', {}, 'sum(2x)', {'x': ('n',)}, ()),
    ('sum(X*Y, axis=1)', {}, '(X ⊙ Y) 𝟙', {'X': ('n', 'm'), 'Y': ('n', 'm')}, ('n',)),
    ('sum(exp(X), axis=0)', {}, 'exp(X)ᵀ 𝟙', {'X': ('n', 'm')}, ('m',)),
    ('mean(X, axis=0)', {}, '1/n Xᵀ 𝟙', {'X': ('n', 'm')}, ('m',)),
    ('mean(X, axis=1)', {}, '1/m X 𝟙', {'X': ('n', 'm')}, ('n',)),
    ('mean(x, axis=0)', {}, 'mean(x)', {'x': ('n',)}, ()),
    ('softmax(X, axis=1)', {}, 'softmax(X, axis=1)', {'X': ('n', 'm')}, ('n', 'm')),
    ('softmax(X, axis=0)', {}, 'softmax(X, axis=0)', {'X': ('n', 'm')}, ('n', 'm')),
    ('softmax(x, axis=0)', {}, 'softmax(x)', {'x': ('n',)}, ('n',)),
    ('softmax(x, axis=-1)', {}, 'softmax(x)', {'x': ('n',)}, ('n',)),
    ('logsumexp(X, axis=1)', {}, 'logsumexp(X, axis=1)', {'X': ('n', 'm')}, ('n',)),
    ('logsumexp(X, axis=0)', {}, 'logsumexp(X, axis=0)', {'X': ('n', 'm')}, ('m',)),
    ('logsumexp(x, axis=0)', {}, 'logsumexp(x)', {'x': ('n',)}, ()),
    ('softmax(X@W, axis=1)', {}, 'softmax(X W, axis=1)', {'X': ('n', 'm'), 'W': ('m', 'k')}, ('n', 'k')),
    ('sum(X@W, axis=0)', {}, '(X W)ᵀ 𝟙', {'X': ('n', 'm'), 'W': ('m', 'k')}, ('k',)),
    ('sum(X, axis=0)', {'X': '3,4'}, 'Xᵀ 𝟙', {'X': ('3', '4')}, ('4',)),
    ('sum(X, axis=1)', {'X': '3,4'}, 'X 𝟙', {'X': ('3', '4')}, ('3',)),
    ('sum(x, axis=0)', {'x': 'm,n'}, 'xᵀ 𝟙', {'x': ('m', 'n')}, ('n',)),
    ('softmax(2*x)', {}, 'softmax(2x)', {'x': ('n',)}, ('n',)),
    ('softmax(W@x)', {}, 'softmax(W x)', {'W': ('n', 'm'), 'x': ('m',)}, ('n',)),
    ('logsumexp(W@x)', {}, 'logsumexp(W x)', {'W': ('n', 'm'), 'x': ('m',)}, ()),
    ('logsumexp(x)', {}, 'logsumexp(x)', {'x': ('n',)}, ()),
    ('log(sum(exp(x)))', {}, 'ln(sum(exp(x)))', {'x': ('n',)}, ()),
    ('sum(softmax(X, axis=1))', {}, 'sum(softmax(X, axis=1))', {'X': ('n', 'm')}, ()),
    ('sum(logsumexp(X, axis=1))', {}, 'sum(logsumexp(X, axis=1))', {'X': ('n', 'm')}, ()),
    ('x + y', {}, 'x + y', {'x': (), 'y': ()}, ()),
    ('x + 1', {}, 'x + 1', {'x': ()}, ()),
    ('2 + x', {}, '2 + x', {'x': ()}, ()),
    ('x * y', {}, 'x y', {'x': (), 'y': ()}, ()),
    ('X * y', {}, 'y X', {'X': ('n', 'm'), 'y': ()}, ('n', 'm')),
    ('x * Y', {}, 'x Y', {'x': (), 'Y': ('n', 'm')}, ('n', 'm')),
    ('X + y', {}, 'X + 𝟙 yᵀ', {'X': ('n', 'm'), 'y': ('m',)}, ('n', 'm')),
    ('x + Y', {}, '𝟙 xᵀ + Y', {'x': ('n',), 'Y': ('m', 'n')}, ('m', 'n')),
    ('X + Y', {}, 'X + Y', {'X': ('n', 'm'), 'Y': ('n', 'm')}, ('n', 'm')),
    ('X / d', {}, 'X/d', {'X': ('n', 'm'), 'd': ()}, ('n', 'm')),
    ('X / D', {}, 'X ⊘ D', {'X': ('n', 'm'), 'D': ('n', 'm')}, ('n', 'm')),
    ('d / X', {}, 'd ⊘ X', {'d': (), 'X': ('n', 'm')}, ('n', 'm')),
    ('sum(x)/N', {}, 'sum(x)/N', {'x': ('n',), 'N': ()}, ()),
    ('sum(x)/n', {}, 'sum(x)/n', {'x': ('m',), 'n': ()}, ()),
    ('N/sum(x)', {}, 'N/sum(x)', {'N': ('n', 'm'), 'x': ('k',)}, ('n', 'm')),
    ('X*alpha', {}, 'α X', {'X': ('n', 'm'), 'alpha': ()}, ('n', 'm')),
    ('alpha*X', {}, 'α X', {'alpha': (), 'X': ('n', 'm')}, ('n', 'm')),
    ('X/sqrt(D)', {}, 'X ⊘ √D', {'X': ('n', 'm'), 'D': ('n', 'm')}, ('n', 'm')),
    ('X + b', {'X': 'n,m'}, 'X + 𝟙 bᵀ', {'X': ('n', 'm'), 'b': ('m',)}, ('n', 'm')),
    ('b + X', {'X': 'n,m'}, '𝟙 bᵀ + X', {'b': ('m',), 'X': ('n', 'm')}, ('n', 'm')),
    ('X*v', {'v': 'm'}, 'X ⊙ (𝟙 vᵀ)', {'X': ('n', 'm'), 'v': ('m',)}, ('n', 'm')),
    ('v*X', {'v': 'm'}, 'X ⊙ (𝟙 vᵀ)', {'v': ('m',), 'X': ('n', 'm')}, ('n', 'm')),
    ('X + c', {'X': 'n,m', 'c': 'n,1'}, 'X + c 𝟙ᵀ', {'X': ('n', 'm'), 'c': ('n', '1')}, ('n', 'm')),
    ('c + X', {'X': 'n,m', 'c': 'n,1'}, 'c 𝟙ᵀ + X', {'c': ('n', '1'), 'X': ('n', 'm')}, ('n', 'm')),
    ('X + r', {'X': 'n,m', 'r': '1,m'}, 'X + 𝟙 r', {'X': ('n', 'm'), 'r': ('1', 'm')}, ('n', 'm')),
    ('r + X', {'X': 'n,m', 'r': '1,m'}, '𝟙 r + X', {'r': ('1', 'm'), 'X': ('n', 'm')}, ('n', 'm')),
    ('X + r', {'X': '3,4', 'r': '1,4'}, 'X + 𝟙 r', {'X': ('3', '4'), 'r': ('1', '4')}, ('3', '4')),
    ('X + c', {'X': '3,4', 'c': '3,1'}, 'X + c 𝟙ᵀ', {'X': ('3', '4'), 'c': ('3', '1')}, ('3', '4')),
    ('x + X', {'x': 'n', 'X': 'm,n'}, '𝟙 xᵀ + X', {'x': ('n',), 'X': ('m', 'n')}, ('m', 'n')),
    ('x + y', {'x': 'n'}, 'x + y', {'x': ('n',), 'y': ('n',)}, ('n',)),
    ('-x', {}, '−x', {'x': ()}, ()),
    ('2*x', {}, '2x', {'x': ()}, ()),
    ('x*2', {}, '2x', {'x': ()}, ()),
    ('x - mu', {}, 'x − μ', {'x': (), 'mu': ()}, ()),
    ('x - 2*mu', {}, 'x − 2μ', {'x': (), 'mu': ()}, ()),
    ('sum((x - mu)^2)', {}, 'sum((x − μ)²)', {'x': ('n',), 'mu': ('n',)}, ()),
    ('sum(x - mu)', {}, 'sum(x − μ)', {'x': ('n',), 'mu': ('n',)}, ()),
    ('exp(x) + y', {}, 'exp(x) + y', {'x': (), 'y': ()}, ()),
    ('sum(exp(x) + y)', {}, 'sum(exp(x) + y)', {'x': ('n',), 'y': ('n',)}, ()),
    ('W@x + b', {}, 'W x + b', {'W': ('n', 'm'), 'x': ('m',), 'b': ('n',)}, ('n',)),
    ('X@W + b', {}, 'X W + 𝟙 bᵀ', {'X': ('n', 'm'), 'W': ('m', 'k'), 'b': ('k',)}, ('n', 'k')),
    ('sigmoid(X@W + b)', {}, 'σ(X W + 𝟙 bᵀ)', {'X': ('n', 'm'), 'W': ('m', 'k'), 'b': ('k',)}, ('n', 'k')),
    ('sum(sigmoid(X@W + b))', {}, 'sum(σ(X W + 𝟙 bᵀ))', {'X': ('n', 'm'), 'W': ('m', 'k'), 'b': ('k',)}, ()),
    ('sum(X*X)', {}, 'sum(X ⊙ X)', {'X': ('n', 'm')}, ()),
    ('sum(x*x)', {}, 'sum(x ⊙ x)', {'x': ('n',)}, ()),
    ('lam*sum(w*w)', {}, 'lam sum(w ⊙ w)', {'lam': (), 'w': ('n',)}, ()),
    ('sum(w*x)', {}, 'sum(w ⊙ x)', {'w': ('n',), 'x': ('n',)}, ()),
    ('max(0, x)', {}, 'max(0, x)', {'x': ()}, ()),
    ('max(x, y)', {}, 'max(x, y)', {'x': (), 'y': ()}, ()),
    ('min(X, 0)', {}, 'min(X, 0)', {'X': ('n', 'm')}, ('n', 'm')),
    ('x/y', {}, 'x/y', {'x': (), 'y': ()}, ()),
    ('sum(x/y)', {}, 'sum(x ⊘ y)', {'x': ('n',), 'y': ('n',)}, ()),
    ('X/Y', {}, 'X ⊘ Y', {'X': ('n', 'm'), 'Y': ('n', 'm')}, ('n', 'm')),
    ('x^2', {}, 'x²', {'x': ()}, ()),
    ('X^2', {}, 'X^∘2', {'X': ('n', 'm')}, ('n', 'm')),
    ('x^y', {}, 'x^y', {'x': (), 'y': ()}, ()),
    ('sum(x^y)', {}, 'sum(x^y)', {'x': ('n',), 'y': ()}, ()),
    ('leaky_relu(x, a)', {}, 'leaky_relu(x, a)', {'x': (), 'a': ()}, ()),
    ('2^x', {}, '2^x', {'x': ()}, ()),
    ('A@B', {}, 'A B', {'A': ('n', 'm'), 'B': ('m', 'k')}, ('n', 'k')),
    ('A@x', {}, 'A x', {'A': ('n', 'm'), 'x': ('m',)}, ('n',)),
    ('x@A', {}, 'Aᵀ x', {'A': ('n', 'm'), 'x': ('n',)}, ('m',)),
    ('x@y', {}, 'xᵀ y', {'x': ('n',), 'y': ('n',)}, ()),
    ('x@A@y', {}, 'xᵀ A y', {'x': ('n',), 'A': ('n', 'm'), 'y': ('m',)}, ()),
    ('A@B@x', {}, 'A B x', {'A': ('n', 'm'), 'B': ('m', 'k'), 'x': ('k',)}, ('n',)),
    ('A@x@B', {}, 'Bᵀ A x', {'B': ('n', 'k'), 'A': ('n', 'm'), 'x': ('m',)}, ('k',)),
    ('x @ 2', {}, '2x', {'x': ('n',)}, ('n',)),
    ('x@a', {'a': 'scalar'}, 'a x', {'a': (), 'x': ('n',)}, ('n',)),
    ('a@r', {'a': 'scalar', 'r': '1,n'}, 'a r', {'a': (), 'r': ('1', 'n')}, ('1', 'n')),
    ('r@A', {'r': '1,n'}, 'r A', {'r': ('1', 'n'), 'A': ('n', 'm')}, ('1', 'm')),
    ('c@r', {'c': 'n,1', 'r': '1,m'}, 'c r', {'c': ('n', '1'), 'r': ('1', 'm')}, ('n', 'm')),
    ('r@c', {'c': 'n,1', 'r': '1,n'}, 'r c', {'r': ('1', 'n'), 'c': ('n', '1')}, ()),
    ('r@x', {'r': '1,n'}, 'r x', {'r': ('1', 'n'), 'x': ('n',)}, ()),
    ('x@r', {'r': '1,n'}, 'x r', {'x': ('m',), 'r': ('1', 'n')}, ('m', 'n')),
    ('s@s', {'s': '1,1'}, 's s', {'s': ('1', '1')}, ()),
    ('s@r', {'s': '1,1', 'r': '1,n'}, 's r', {'s': ('1', '1'), 'r': ('1', 'n')}, ('1', 'n')),
    ('c@s', {'s': '1,1', 'c': 'n,1'}, 'c s', {'c': ('n', '1'), 's': ('1', '1')}, ('n',)),
    ('A@c', {'c': 'n,1'}, 'A c', {'A': ('m', 'n'), 'c': ('n', '1')}, ('m',)),
    ('x@A', {'A': 'n,m'}, 'Aᵀ x', {'A': ('n', 'm'), 'x': ('n',)}, ('m',)),
    ('A@x', {'A': 'n,m'}, 'A x', {'A': ('n', 'm'), 'x': ('m',)}, ('n',)),
    ('x.T@A@x', {}, 'xᵀ A x', {'x': ('n',), 'A': ('n', 'n')}, ()),
    ("x'@A@x", {}, 'xᵀ A x', {'x': ('n',), 'A': ('n', 'n')}, ()),
    ("x'@x", {}, 'xᵀ x', {'x': ('n',)}, ()),
    ("x@x'", {}, 'x xᵀ', {'x': ('n',)}, ('n', 'n')),
    ("A'@x", {}, 'Aᵀ x', {'A': ('n', 'm'), 'x': ('n',)}, ('m',)),
    ("(A@x)'", {}, '(A x)ᵀ', {'A': ('n', 'm'), 'x': ('m',)}, ('1', 'n')),
    ("(W@x)'@y", {}, '(W x)ᵀ y', {'W': ('n', 'm'), 'x': ('m',), 'y': ('n',)}, ()),
    ('sum(W@x)', {}, 'sum(W x)', {'W': ('n', 'm'), 'x': ('m',)}, ()),
    ('sum(diag(x)@y)', {}, 'sum(diag(x) y)', {'x': ('n',), 'y': ('n',)}, ()),
    ('diag(x)@y', {}, 'diag(x) y', {'x': ('n',), 'y': ('n',)}, ('n',)),
    ('diag(X)@y', {}, 'diag(X)ᵀ y', {'X': ('n', 'n'), 'y': ('n',)}, ()),
    ('trace(A@B)', {}, 'tr(A B)', {'A': ('n', 'm'), 'B': ('m', 'n')}, ()),
    ('2 x', {}, '2x', {'x': ()}, ()),
    ("x' A x", {}, 'xᵀ A x', {'x': ('n',), 'A': ('n', 'n')}, ()),
    ('A B', {}, 'A B', {'A': ('n', 'm'), 'B': ('m', 'k')}, ('n', 'k')),
    ('x y', {}, 'x y', {'x': (), 'y': ()}, ()),
    ("x' y", {}, 'xᵀ y', {'x': ('n',), 'y': ('n',)}, ()),     # the inner product, as printed
    ('A x', {}, 'A x', {'A': ('n', 'm'), 'x': ('m',)}, ('n',)),  # a name right of a matrix:
    ('W x + b', {}, 'W x + b', {'W': ('n', 'm'), 'x': ('m',), 'b': ('n',)}, ('n',)),  # a vector
    ('A B x', {}, 'A B x', {'A': ('n', 'm'), 'B': ('m', 'k'), 'x': ('k',)}, ('n',)),
    ('a B', {}, 'a B', {'a': (), 'B': ('n', 'm')}, ('n', 'm')),  # left of one: a coefficient
    # beside an upper-case name, a function of a lower-case one scales as the name does (X/d):
    # X/√d, X (y + 1) (they were element-wise, d and y matrices)
    ('X / sqrt(d)', {}, 'X/√d', {'X': ('n', 'm'), 'd': ()}, ('n', 'm')),
    ('X*(y+1)', {}, '(y + 1) X', {'X': ('n', 'm'), 'y': ()}, ('n', 'm')),
    ('X + Y', {}, 'X + Y', {'X': ('n', 'm'), 'Y': ('n', 'm')}, ('n', 'm')),
    ('2 3 x', {}, '6x', {'x': ()}, ()),
    ('a b', {'a': 'scalar', 'b': 'scalar'}, 'a b', {'a': (), 'b': ()}, ()),
    ('[x, y]', {}, '[x, y]', {'x': (), 'y': ()}, ('2',)),
    ('[x, 2*y]', {}, '[x, 2y]', {'x': (), 'y': ()}, ('2',)),
    ('[x, y]', {'x': 'scalar', 'y': 'scalar'}, '[x, y]', {'x': (), 'y': ()}, ('2',)),
    ("[x', y']", {}, '[xᵀ, yᵀ]', {'x': ('n',), 'y': ('n',)}, ('2', 'n')),
    ("[x', y']", {'x': 'n'}, '[xᵀ, yᵀ]', {'x': ('n',), 'y': ('n',)}, ('2', 'n')),
    ("[g', 0*g']", {}, '[gᵀ, 0ᵀ]', {'g': ('n',)}, ('2', 'n')),
    ('[[a, b], [c, d]]', {}, '[[a, b], [c, d]]', {'a': (), 'b': (), 'c': (), 'd': ()}, ('2', '2')),
    ('[[a, b], [c, d]] @ x', {}, '[[a, b], [c, d]] x', {'a': (), 'b': (), 'c': (), 'd': (), 'x': ('2',)}, ('2',)),
    ("x'", {}, 'xᵀ', {'x': ('n',)}, ('1', 'n')),
    ("X'", {}, 'Xᵀ', {'X': ('n', 'm')}, ('m', 'n')),
    ("a'", {'a': 'scalar'}, 'a', {'a': ()}, ()),
    ("r'", {'r': '1,n'}, 'rᵀ', {'r': ('1', 'n')}, ('n',)),
    ("c'", {'c': 'n,1'}, 'cᵀ', {'c': ('n', '1')}, ('1', 'n')),
    ("sum(x')", {}, 'sum(xᵀ)', {'x': ('n',)}, ()),
    ("x' + y", {}, 'xᵀ + yᵀ', {'x': ('n',), 'y': ('n',)}, ('1', 'n')),
    ("x' + Y", {}, '𝟙 xᵀ + Y', {'x': ('n',), 'Y': ('m', 'n')}, ('m', 'n')),
    ("(x')'", {}, 'x', {'x': ('n',)}, ('n',)),
    ("sum((X')@y)", {}, 'sum(Xᵀ y)', {'X': ('n', 'm'), 'y': ('n',)}, ()),
    ("X'@X", {}, 'Xᵀ X', {'X': ('n', 'm')}, ('m', 'm')),
    ('diag(x)', {}, 'diag(x)', {'x': ('n',)}, ('n', 'n')),
    ('diag(X)', {}, 'diag(X)', {'X': ('n', 'n')}, ('n',)),
    ('diag(2*x)', {}, 'diag(2x)', {'x': ('n',)}, ('n', 'n')),
    ('diag(X@Y)', {}, 'diag(X Y)', {'X': ('n', 'm'), 'Y': ('m', 'n')}, ('n',)),
    ('sum(diag(x))', {}, 'sum(diag(x))', {'x': ('n',)}, ()),
    ('trace(X)', {}, 'tr(X)', {'X': ('n', 'n')}, ()),
    ('det(X)', {}, 'det(X)', {'X': ('n', 'n')}, ()),
    ('logdet(X)', {}, 'logdet(X)', {'X': ('n', 'n')}, ()),
    ("trace(x'@x)", {}, 'xᵀ x', {'x': ('n',)}, ()),
    ('trace(a)', {'a': 'scalar'}, 'a', {'a': ()}, ()),
    ('trace(X@Y)', {}, 'tr(X Y)', {'X': ('n', 'm'), 'Y': ('m', 'n')}, ()),
    ('det(2*X)', {}, 'det(2X)', {'X': ('n', 'n')}, ()),
    ('inv(A)', {}, 'A⁻¹', {'A': ('n', 'n')}, ('n', 'n')),
    ('inv(a)', {'a': 'scalar'}, '1/a', {'a': ()}, ()),
    ('sum(inv(A)@x)', {}, 'sum(A⁻¹ x)', {'A': ('n', 'n'), 'x': ('n',)}, ()),
    ("inv(x'@x)", {}, '1/(xᵀ x)', {'x': ('n',)}, ()),
    ("inv(X'@X)", {}, '(Xᵀ X)⁻¹', {'X': ('n', 'm')}, ('m', 'm')),
    ("x'@inv(A)@x", {}, 'xᵀ A⁻¹ x', {'x': ('n',), 'A': ('n', 'n')}, ()),
    ('kron(A, B)', {}, 'kron(A, B)', {'A': ('n', 'm'), 'B': ('k', 'p')}, ('kn', 'mp')),
    ('kron(x, y)', {}, 'kron(x, y)', {'x': ('n',), 'y': ('m',)}, ('mn',)),
    ('kron(A, x)', {}, 'kron(A, x)', {'A': ('n', 'm'), 'x': ('k',)}, ('kn', 'm')),
    ('kron(x, A)', {}, 'kron(x, A)', {'x': ('n',), 'A': ('m', 'k')}, ('mn', 'k')),
    ('kron(A, B)', {'A': '2,3', 'B': '4,5'}, 'kron(A, B)', {'A': ('2', '3'), 'B': ('4', '5')}, ('8', '15')),
    ('kron(x, y)', {'x': '2', 'y': '3'}, 'kron(x, y)', {'x': ('2',), 'y': ('3',)}, ('6',)),
    ('sum(kron(x, y))', {}, 'sum(kron(x, y))', {'x': ('n',), 'y': ('m',)}, ()),
    ('sum(kron(X, Y))', {}, 'sum(kron(X, Y))', {'X': ('n', 'm'), 'Y': ('k', 'p')}, ()),
    ('kron(exp(A), B)', {}, 'kron(exp(A), B)', {'A': ('n', 'm'), 'B': ('k', 'p')}, ('kn', 'mp')),
    ('vec(X)', {}, 'vec(X)', {'X': ('n', 'm')}, ('mn',)),
    ('vec(a)', {'a': 'scalar'}, 'a', {'a': ()}, ()),
    ('vec(X)', {'X': '3,4'}, 'vec(X)', {'X': ('3', '4')}, ('12',)),
    ('sum(vec(X))', {}, 'sum(vec(X))', {'X': ('n', 'm')}, ()),
    ('sum(vec(X@Y))', {}, 'sum(vec(X Y))', {'X': ('n', 'm'), 'Y': ('m', 'k')}, ()),
    ('vec(kron(A, B))', {}, 'vec(kron(A, B))', {'A': ('n', 'm'), 'B': ('k', 'p')}, ('kmnp',)),
    ("vec(x')", {}, 'vec(xᵀ)', {'x': ('n',)}, ('n',)),
    ('eye(n) + A', {}, 'I + A', {'A': ('n', 'n')}, ('n', 'n')),
    ('eye(3) + A', {}, 'I + A', {'A': ('3', '3')}, ('3', '3')),
    ('lam*eye(n) + A', {}, 'lam I + A', {'lam': (), 'A': ('n', 'n')}, ('n', 'n')),
    ('ones(n) + x', {}, '1 + x', {'x': ('n',)}, ('n',)),
    ('ones(3) + x', {}, '1 + x', {'x': ('3',)}, ('3',)),
    ('ones(m, n) + X', {}, '1 + X', {'X': ('m', 'n')}, ('m', 'n')),
    ('zeros(n) + x', {}, 'x', {'x': ('n',)}, ('n',)),
    ('sum(ones(n)*x)', {}, 'sum(x)', {'x': ('n',)}, ()),
    ('lam*I + A', {}, 'lam I + A', {'lam': (), 'A': ('n', 'n')}, ('n', 'n')),
    ('x + 1', {'x': 'n'}, 'x + 1', {'x': ('n',)}, ('n',)),
    ('w + x', {'w': 'n', 'x': 'n'}, 'w + x', {'w': ('n',), 'x': ('n',)}, ('n',)),
    ('I + A', {}, 'I + A', {'A': ('n', 'n')}, ('n', 'n')),
    ('I + A', {'A': 'n,n'}, 'I + A', {'A': ('n', 'n')}, ('n', 'n')),
    ('I + A', {'A': 'n,n', 'B': 'm,m'}, 'I + A', {'A': ('n', 'n')}, ('n', 'n')),
    ('x/n', {'x': 'n'}, '1/n x', {'x': ('n',)}, ('n',)),
    ('sum(x)/n', {'x': 'n'}, '1/n sum(x)', {'x': ('n',)}, ()),
    ('2/N*x', {'x': 'N'}, '2/N x', {'x': ('N',)}, ('N',)),
    ('sum(X)/m', {'X': 'n,m'}, '1/m sum(X)', {'X': ('n', 'm')}, ()),
    ('alpha*x', {}, 'α x', {'alpha': (), 'x': ()}, ()),
    ('eta*x + y', {}, 'η x + y', {'eta': (), 'x': (), 'y': ()}, ()),
    ('lam*x + y', {}, 'lam x + y', {'lam': (), 'x': (), 'y': ()}, ()),
    ('sum(theta*x)', {}, 'sum(θ x)', {'theta': (), 'x': ('n',)}, ()),
    ('sum(theta)', {}, 'sum(θ)', {'theta': ('n',)}, ()),
    ('A@theta', {}, 'A θ', {'A': ('n', 'm'), 'theta': ('m',)}, ('n',)),
    ('sum(x - mu)', {}, 'sum(x − μ)', {'x': ('n',), 'mu': ('n',)}, ()),
    ('sum(x - 2*mu)', {}, 'sum(x − 2μ)', {'x': ('n',), 'mu': ()}, ()),
    ('sum(x + 2*mu*y)', {}, 'sum(x + 2μ y)', {'x': ('n',), 'mu': (), 'y': ()}, ()),
    ('alpha_1*x + beta2*y', {}, 'α_1 x + beta2 y', {'alpha_1': (), 'x': (), 'beta2': (), 'y': ()}, ()),
    ('lam*w·w', {}, '(lam w)·w', {'lam': (), 'w': ('n',)}, ()),
    ('x·y', {}, 'x·y', {'x': ('n',), 'y': ('n',)}, ()),
    ('x·(A@x)', {}, 'x·(A x)', {'x': ('n',), 'A': ('n', 'n')}, ()),
    ('𝕂ₘₙ @ vec(X)', {'X': 'm,n'}, '𝕂ₘₙ vec(X)', {'X': ('m', 'n')}, ('mn',)),
    # vec of an unknown lower-case name: a vector by the case convention (it was a scalar, and
    # sum(vec(x)) a shape error)
    ('vec(x)', {}, 'x', {'x': ('n',)}, ('n',)),
    ('sum(vec(x))', {}, 'sum(x)', {'x': ('n',)}, ()),
    ('vec(x)@y', {}, 'xᵀ y', {'x': ('n',), 'y': ('n',)}, ()),
    # a matrix literal of one row is a 1×n matrix, as in NumPy (it was refused as a vector
    # literal holding a vector)
    ('[[a, b]]', {}, '[[a, b]]', {'a': (), 'b': ()}, ('1', '2')),
    ('[[a, b]] @ y', {}, '[[a, b]] y', {'a': (), 'b': (), 'y': ('2',)}, ()),
    ('[[x]]', {}, '[[x]]', {'x': ()}, ('1', '1')),
    # a parenthesised product on the right is one factor: NumPy reads u @ C as Cᵀu first
    ('M @ (u @ C)', {}, 'M Cᵀ u', {'M': ('n', 'm'), 'C': ('k', 'm'), 'u': ('k',)}, ('n',)),
    ('A @ (B @ x)', {}, 'A B x', {'A': ('n', 'm'), 'B': ('m', 'k'), 'x': ('k',)}, ('n',)),
    ('x @ (A @ B)', {}, 'Bᵀ Aᵀ x', {'B': ('m', 'k'), 'A': ('n', 'm'), 'x': ('n',)}, ('k',)),
    # transposes of unknowns on both sides: each takes its shape through its argument
    ("X'@Y'", {}, 'Xᵀ Yᵀ', {'X': ('n', 'm'), 'Y': ('k', 'n')}, ('m', 'k')),
    ("x'@A'", {}, 'xᵀ Aᵀ', {'x': ('n',), 'A': ('m', 'n')}, ('1', 'm')),
]


def test_vec_of_an_unknown_name_is_differentiated_as_a_vector():
    d = matcalc.diff("sum(exp(vec(x)))", "x")
    assert str(d) == "exp(x)ᵀ"
    assert_verified(d)


def test_a_parenthesised_product_on_the_right_is_differentiated_as_read():
    d = matcalc.diff("sum(M @ (u @ C))", "u", shapes={"M": "n,m", "C": "k,m"})
    assert str(d) == "𝟙ᵀ M Cᵀ"
    assert_verified(d)


# (expression, declared shapes, the whole message)
CONFLICTS = [
    # a matrix literal has as many columns as its rows have entries from the start, so the
    # product or sum that needs another count is the conflict, not one of its rows
    ('[[a, b], [c, d], [e, f]] + X', {'X': '2,2'}, "shape conflict in '[[a, b], [c, d], [e, f]] + X': element-wise operands need equal shapes, or one of them scalar ([[a, b], [c, d], [e, f]]: matrix 3×2; X: matrix 2×2)\nline 1, column 1:\n  [[a, b], [c, d], [e, f]] + X\n  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^"),
    ('[[a, b], [c, d]] @ x', {'x': '3'}, "shape conflict in '[[a, b], [c, d]] @ x': @ needs the columns of the left operand to match the rows of the right ([[a, b], [c, d]]: matrix 2×2; x: vector of length 3)\nline 1, column 1:\n  [[a, b], [c, d]] @ x\n  ^^^^^^^^^^^^^^^^^^^^"),
    ('[[a, b], [c, d]] + X', {'X': '3,3'}, "shape conflict in '[[a, b], [c, d]] + X': element-wise operands need equal shapes, or one of them scalar ([[a, b], [c, d]]: matrix 2×2; X: matrix 3×3)\nline 1, column 1:\n  [[a, b], [c, d]] + X\n  ^^^^^^^^^^^^^^^^^^^^"),
    ('[[a, b], [c, d, e]]', {}, "shape conflict in '[[a, b], [c, d, e]]': the rows of a matrix [[a, b], [c, d]] need as many entries each ([a, b]: matrix 1×2; [c, d, e]: matrix 1×3)\nline 1, column 1:\n  [[a, b], [c, d, e]]\n  ^^^^^^^^^^^^^^^^^^^"),
    ('sum(x, axis=1)', {}, "shape conflict in 'sum(x, axis=1)': axis 1 is out of range for a vector: its one axis is 0 (or -1); declare a matrix (--shape NAME=m,n) or name it in upper case (x: vector of length ?)\nline 1, column 1:\n  sum(x, axis=1)\n  ^^^^^^^^^^^^^^"),
    ('sum(a, axis=0)', {'a': 'scalar'}, "shape conflict in 'sum(a, axis=0)': an axis needs a vector or a matrix, not a scalar (a: scalar)\nline 1, column 1:\n  sum(a, axis=0)\n  ^^^^^^^^^^^^^^"),
    ('softmax(x, axis=1)', {}, "shape conflict in 'softmax(x, axis=1)': axis 1 is out of range for a vector: its one axis is 0 (or -1); declare a matrix (--shape NAME=m,n) or name it in upper case (x: vector of length ?)\nline 1, column 1:\n  softmax(x, axis=1)\n  ^^^^^^^^^^^^^^^^^^"),
    ('softmax(a, axis=0)', {'a': 'scalar'}, "shape conflict in 'softmax(a, axis=0)': an axis needs a vector or a matrix, not a scalar (a: scalar)\nline 1, column 1:\n  softmax(a, axis=0)\n  ^^^^^^^^^^^^^^^^^^"),
    ('softmax(X)', {}, "shape conflict in 'softmax(X)': softmax takes a vector; for each row of a matrix write softmax(X, axis=1) (X: matrix ?×?)\nline 1, column 1:\n  softmax(X)\n  ^^^^^^^^^^"),
    ('softmax(x)', {'x': 'm,n'}, "shape conflict in 'softmax(x)': softmax takes a vector; for each row of a matrix write softmax(X, axis=1) (x: matrix m×n)\nline 1, column 1:\n  softmax(x)\n  ^^^^^^^^^^"),
    ('softmax(a)', {'a': 'scalar'}, "shape conflict in 'softmax(a)': softmax takes a vector (a: scalar)\nline 1, column 1:\n  softmax(a)\n  ^^^^^^^^^^"),
    ('logsumexp(X)', {}, "shape conflict in 'logsumexp(X)': logsumexp takes a vector; for each row of a matrix write logsumexp(X, axis=1) (X: matrix ?×?)\nline 1, column 1:\n  logsumexp(X)\n  ^^^^^^^^^^^^"),
    ('softmax(A@B)', {}, "shape conflict in 'softmax(A@B)': softmax takes a vector; for each row of a matrix write softmax(X, axis=1) (A@B: matrix ?×?)\nline 1, column 1:\n  softmax(A@B)\n  ^^^^^^^^^^^^"),
    ('X + Y', {'X': '3,4', 'Y': '4,3'}, "shape conflict in 'X + Y': element-wise operands need equal shapes, or one of them scalar (X: matrix 3×4; Y: matrix 4×3)\nline 1, column 1:\n  X + Y\n  ^^^^^"),
    ('X + r', {'X': '3,4', 'r': '1,3'}, "shape conflict in 'X + r': element-wise operands need equal shapes, or one of them scalar (X: matrix 3×4; r: matrix 1×3)\nline 1, column 1:\n  X + r\n  ^^^^^"),
    ('x + y', {'x': 'n', 'y': 'm'}, "shape conflict in 'x + y': element-wise operands need equal shapes, or one of them scalar (x: vector of length n; y: vector of length m)\nline 1, column 1:\n  x + y\n  ^^^^^"),
    ('x + y', {'x': '3', 'y': '4'}, "shape conflict in 'x + y': element-wise operands need equal shapes, or one of them scalar (x: vector of length 3; y: vector of length 4)\nline 1, column 1:\n  x + y\n  ^^^^^"),
    ("x' + X", {'X': 'm,1'}, 'shape conflict in "x\' + X": a row (1×n) beside a column (m×1): NumPy would broadcast both to m×n, which matcalc does not; repeat them explicitly: ones(m)@r and c@ones(n)\' for a row r and a column c (x\': matrix 1×?; X: matrix m×1)\nline 1, column 1:\n  x\' + X\n  ^^^^^^'),   # NumPy's outer broadcast
    ("X * x'", {'X': '4,1'}, 'shape conflict in "X * x\'": a row (1×n) beside a column (m×1): NumPy would broadcast both to m×n, which matcalc does not; repeat them explicitly: ones(m)@r and c@ones(n)\' for a row r and a column c (X: matrix 4×1; x\': matrix 1×?)\nline 1, column 1:\n  X * x\'\n  ^^^^^^'),   # NumPy's outer broadcast
    ('A - B', {'A': '1,3', 'B': '4,1'}, "shape conflict in 'A - B': a row (1×n) beside a column (m×1): NumPy would broadcast both to m×n, which matcalc does not; repeat them explicitly: ones(m)@r and c@ones(n)' for a row r and a column c (A: matrix 1×3; B: matrix 4×1)\nline 1, column 1:\n  A - B\n  ^^^^^"),   # NumPy's outer broadcast
    ('c + x', {'c': 'n,1'}, "shape conflict in 'c + x': a vector beside a column (m×1): matcalc keeps the two apart (NumPy would broadcast a 1-D vector and a column to m×n); declare both m×1, or both vectors (c: matrix n×1; x: vector of length ?)\nline 1, column 1:\n  c + x\n  ^^^^^"),   # NumPy's outer broadcast
    ('c * x', {'c': '3,1', 'x': '3'}, "shape conflict in 'c * x': a vector beside a column (m×1): matcalc keeps the two apart (NumPy would broadcast a 1-D vector and a column to m×n); declare both m×1, or both vectors (c: matrix 3×1; x: vector of length 3)\nline 1, column 1:\n  c * x\n  ^^^^^"),   # NumPy's outer broadcast
    ('X + y', {'X': 'n,m', 'y': 'n'}, "shape conflict in 'X + y': element-wise operands need equal shapes, or one of them scalar (X: matrix n×m; y: vector of length n)\nline 1, column 1:\n  X + y\n  ^^^^^"),
    ('leaky_relu(x, a)', {'a': 'n'}, "shape conflict in 'leaky_relu(x, a)': the slope of leaky_relu must be a scalar (x: unknown; a: vector of length n)\nline 1, column 1:\n  leaky_relu(x, a)\n  ^^^^^^^^^^^^^^^^"),
    ('elu(X, a)', {'a': 'n'}, "shape conflict in 'elu(X, a)': the slope of elu must be a scalar (X: unknown; a: vector of length n)\nline 1, column 1:\n  elu(X, a)\n  ^^^^^^^^^"),
    ('x^y', {'x': 'n', 'y': 'm'}, "shape conflict in 'x^y': the exponent of ^ must be a scalar (x: vector of length n; y: vector of length m)\nline 1, column 1:\n  x^y\n  ^^^"),
    ('x@y', {'x': 'n', 'y': 'm'}, "shape conflict in 'x@y': @ needs the columns of the left operand to match the rows of the right (x: vector of length n; y: vector of length m)\nline 1, column 1:\n  x@y\n  ^^^"),
    ('A@B', {'A': 'm,n', 'B': 'm,n'}, "shape conflict in 'A@B': @ needs the columns of the left operand to match the rows of the right (A: matrix m×n; B: matrix m×n)\nline 1, column 1:\n  A@B\n  ^^^"),
    ('2 @ x', {}, "shape conflict in '2 @ x': @ with a scalar on the left: a 1×1 value chains only with a row; write * to scale (2: scalar; x: vector of length ?)\nline 1, column 1:\n  2 @ x\n  ^^^^^"),
    ('a@x', {'a': 'scalar'}, "shape conflict in 'a@x': @ with a scalar on the left: a 1×1 value chains only with a row; write * to scale (a: scalar; x: vector of length ?)\nline 1, column 1:\n  a@x\n  ^^^"),
    ('c@a', {'a': 'scalar', 'c': 'n,1'}, "shape conflict in 'c@a': @ needs the columns of the left operand to match the rows of the right (n×1 and scalar) (shapes: matrix n×1, scalar)\nline 1, column 1:\n  c@a\n  ^^^"),
    ('A@a', {'a': 'scalar', 'A': 'n,m'}, "shape conflict in 'A@a': @ with a scalar on the right: a 1×1 value chains only after a column; write * to scale (A: matrix n×m; a: scalar)\nline 1, column 1:\n  A@a\n  ^^^"),
    ('r@r', {'r': '1,n'}, "shape conflict in 'r@r': @ needs the columns of the left operand to match the rows of the right (a row times a row) (r: matrix 1×n; r: matrix 1×n)\nline 1, column 1:\n  r@r\n  ^^^"),
    ('A@r', {'r': '1,n', 'A': 'n,m'}, "shape conflict in 'A@r': @ needs the columns of the left operand to match the rows of the right (a matrix times a row) (A: matrix n×m; r: matrix 1×n)\nline 1, column 1:\n  A@r\n  ^^^"),
    ('c@x', {'c': 'n,1'}, "shape conflict in 'c@x': @ needs the columns of the left operand to match the rows of the right (n×1 and n) (shapes: matrix n×1, vector of length n)\nline 1, column 1:\n  c@x\n  ^^^"),
    ('r@s', {'s': '1,1', 'r': '1,n'}, "shape conflict in 'r@s': @ with a scalar on the right: a 1×1 value chains only after a column; write * to scale (r: matrix 1×n; s: matrix 1×1)\nline 1, column 1:\n  r@s\n  ^^^"),
    ('s@A', {'s': '1,1'}, "shape conflict in 's@A': @ with a scalar on the left: a 1×1 value chains only with a row; write * to scale (s: matrix 1×1; A: matrix ?×?)\nline 1, column 1:\n  s@A\n  ^^^"),
    ('x@A', {'A': '3,4', 'x': '4'}, "shape conflict in 'x@A': @ needs the columns of the left operand to match the rows of the right (x: vector of length 4; A: matrix 3×4)\nline 1, column 1:\n  x@A\n  ^^^"),
    ('A@B@C', {'A': 'n,m', 'B': 'm,k', 'C': 'n,k'}, "shape conflict in 'A@B@C': @ needs the columns of the left operand to match the rows of the right (A@B: matrix n×k; C: matrix n×k)\nline 1, column 1:\n  A@B@C\n  ^^^^^"),
    ('A@(B@C)', {'A': 'n,m', 'B': 'm,k', 'C': 'n,k'}, "shape conflict in 'B@C': @ needs the columns of the left operand to match the rows of the right (B: matrix m×k; C: matrix n×k)\nline 1, column 4:\n  A@(B@C)\n     ^^^"),
    ('[x, y]', {'x': 'n'}, "shape conflict in '[x, y]': a vector literal [f, g, …] holds scalars (x: vector of length n; y: unknown)\nline 1, column 1:\n  [x, y]\n  ^^^^^^"),
    ("[x', a]", {'a': 'n'}, 'shape conflict in "[x\', a]": a literal holds scalars, or rows of one length (x\': matrix 1×?; a: vector of length n)\nline 1, column 1:\n  [x\', a]\n  ^^^^^^^'),
    ("[x', y']", {'x': 'n', 'y': 'm'}, 'shape conflict in "[x\', y\']": a vector literal [f, g, …] holds scalars (x\': matrix 1×n; y\': matrix 1×m)\nline 1, column 1:\n  [x\', y\']\n  ^^^^^^^^'),
    ('[[a, b], [c, d]]', {'a': 'n'}, "shape conflict in '[a, b]': a vector literal [f, g, …] holds scalars (a: vector of length n; b: unknown)\nline 1, column 2:\n  [[a, b], [c, d]]\n   ^^^^^^"),
    ('diag(a)', {'a': 'scalar'}, "shape conflict in 'diag(a)': diag takes a vector or a square matrix (a: scalar)\nline 1, column 1:\n  diag(a)\n  ^^^^^^^"),
    ('diag(x)', {'x': 'm,n'}, "shape conflict in 'diag(x)': diag takes a vector or a square matrix (x: matrix m×n)\nline 1, column 1:\n  diag(x)\n  ^^^^^^^"),
    ('trace(A)', {'A': '3,4'}, "shape conflict in 'trace(A)': this function takes a square matrix (A: matrix 3×4)\nline 1, column 1:\n  trace(A)\n  ^^^^^^^^"),
    ('inv(A)', {'A': 'n,m'}, "shape conflict in 'inv(A)': inv takes a square matrix (A: matrix n×m)\nline 1, column 1:\n  inv(A)\n  ^^^^^^"),
    ('kron(2, X)', {}, "shape conflict in 'kron(2, X)': kron takes two matrices (or vectors); for a scalar multiple write * (2: scalar; X: unknown)\nline 1, column 1:\n  kron(2, X)\n  ^^^^^^^^^^"),
    ('kron(X, a)', {'a': 'scalar'}, "shape conflict in 'kron(X, a)': kron takes two matrices (or vectors); for a scalar multiple write * (X: unknown; a: scalar)\nline 1, column 1:\n  kron(X, a)\n  ^^^^^^^^^^"),
    ('A + eye(n)', {'A': 'm,m'}, "shape conflict in 'A + eye(n)': element-wise operands need equal shapes, or one of them scalar (A: matrix m×m; eye(n): matrix n×n)\nline 1, column 1:\n  A + eye(n)\n  ^^^^^^^^^^"),
    ('x + ones(n)', {'x': 'm'}, "shape conflict in 'x + ones(n)': element-wise operands need equal shapes, or one of them scalar (x: vector of length m; ones(n): vector of length n)\nline 1, column 1:\n  x + ones(n)\n  ^^^^^^^^^^^"),
    ('x·y', {'x': 'n', 'y': 'm'}, "shape conflict in 'x·y': · needs two vectors of one length (x: vector of length n; y: vector of length m)\nline 1, column 1:\n  x·y\n  ^^^"),
    ('x·X', {'X': 'n,m'}, "shape conflict in 'x·X': · needs two vectors of one length (x: unknown; X: matrix n×m)\nline 1, column 1:\n  x·X\n  ^^^"),
    ('a·x', {'a': 'scalar'}, "shape conflict in 'a·x': · needs two vectors of one length (a: scalar; x: unknown)\nline 1, column 1:\n  a·x\n  ^^^"),
    ('x·a', {'a': 'scalar'}, "shape conflict in 'x·a': · needs two vectors of one length (x: unknown; a: scalar)\nline 1, column 1:\n  x·a\n  ^^^"),
    ('A x', {'A': 'n,m', 'x': 'k'}, "shape conflict in 'A x': side by side, the columns of the left operand must match the rows of the right (a matrix product) (A: matrix n×m; x: vector of length k)\nline 1, column 1:\n  A x\n  ^^^"),
]


@pytest.mark.parametrize("expr, shapes, printed, inferred, shape", READINGS,
                         ids=[f"{r[0]} {r[1]}" if r[1] else r[0] for r in READINGS])
def test_reading(expr, shapes, printed, inferred, shape):
    e = matcalc.parse(expr, shapes)
    assert str(e) == printed
    assert e.shapes == inferred
    assert list(e.shapes) == list(inferred)        # in order of appearance
    assert e.shape == shape


@pytest.mark.parametrize("expr, shapes, message", CONFLICTS,
                         ids=[f"{r[0]} {r[1]}" if r[1] else r[0] for r in CONFLICTS])
def test_conflict(expr, shapes, message):
    with pytest.raises(matcalc.ShapeError) as info:
        matcalc.parse(expr, shapes)
    assert str(info.value) == message
    line, column = info.value.line_column
    assert f"line {line}, column {column}:" in message


# numbers, lower-case names and element-wise operations only: inference knows every node is a
# scalar without solving; the solver, made to run, reads each the same
ELEMENTWISE_ONLY = ["x", "2*x", "a*x + b", "x - y/z", "sin(x)^2 + cos(x)^2", "-x*y + 3",
                    "max(0, w*x + b)", "leaky_relu(x) + elu(x, 2)", "x^y^z", "λ*x + α",
                    "exp(log(x) - sigmoid(x*t))", "a1*x + a2*x + a3*x", "x*x*x*x", "π*x^2",
                    "(x + y)*(x - y)/(1 + x)", "sqrt(x)*√y", "x²"]


@pytest.mark.parametrize("expr", ELEMENTWISE_ONLY)
def test_elementwise_only_is_scalar_throughout(expr, monkeypatch):
    import matcalc.infer as infer_module
    from matcalc.expr import topological
    from matcalc.parse import parse_syntax
    assert infer_module._scalar_throughout(topological(parse_syntax(expr)))
    fast = matcalc.parse(expr)
    monkeypatch.setattr(infer_module, "_scalar_throughout", lambda nodes: False)
    solved = matcalc.parse(expr)
    assert fast.node == solved.node and str(fast) == str(solved)
    assert all(s == () for s in fast.shapes.values()) and fast.shape == ()
    assert str(matcalc.diff(expr, "x")) == str(matcalc.diff(solved, "x"))


def test_a_layer_written_side_by_side_is_differentiated_as_a_product():
    """W x + b as a paper writes it, nothing declared: x is the vector W multiplies."""
    d = matcalc.diff("sum((W x + b - y)^2)", "W")
    assert str(d) == "2(W x + b − y) xᵀ"
    assert_verified(d)
    d = matcalc.diff("x' y", "x")
    assert str(d) == "yᵀ"
    assert_verified(d)
