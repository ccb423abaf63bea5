"""Layouts.  Everything is computed in numerator layout (the paper's); this converts once.

Denominator layout transposes the vector cases: the gradient of a scalar w.r.t. a vector becomes
a column, a ``p×n`` Jacobian becomes ``n×p``.  A scalar-by-matrix derivative has the matrix's
shape in both layouts (Matrix Cookbook), and so has a matrix-by-scalar one (its entries' own
derivatives, as every DL framework returns them); tensors are left as they are.
"""

from __future__ import annotations

from . import expr as E
from .expr import Expr
from .shapes import Shape

LAYOUTS = ("numerator", "denominator")


def is_tensor(f: Shape, x: Shape) -> bool:
    """A result with more than two axes: a vector or matrix w.r.t. a matrix, or a matrix
    w.r.t. a vector."""
    return (x.is_matrix and not f.is_scalar) or (f.is_matrix and x.is_vector)


def convert(result: Expr, f: Shape, x: Shape, layout: str) -> Expr:
    """``result`` (numerator layout) in ``layout``."""
    if layout == "numerator" or is_tensor(f, x) or (f.is_scalar and x.is_matrix) or \
            (f.is_matrix and x.is_scalar):
        return result
    return E.transpose(result)


def result_shape(f: Shape, x: Shape, layout: str) -> tuple:
    """The shape of the derivative as DESIGN.md's table gives it (dims, with ``1`` for a row)."""
    one = 1
    if f.is_scalar and x.is_scalar:
        dims: tuple = ()
    elif f.is_scalar and x.is_vector:
        dims = (one, x.dims[0])
    elif f.is_scalar and x.is_matrix:
        return x.dims
    elif x.is_scalar:
        dims = f.dims if f.is_vector else f.dims
        if f.is_matrix:
            return f.dims
    elif f.is_vector and x.is_vector:
        dims = (f.dims[0], x.dims[0])
    else:
        return f.dims + x.dims
    if layout == "denominator":
        if len(dims) == 2:
            dims = (dims[1],) if dims[0] == one else (dims[1], dims[0])
        elif len(dims) == 1:
            dims = (one, dims[0])
    return dims
