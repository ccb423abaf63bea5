"""matcalc: symbolic matrix calculus — derivatives of vector and matrix expressions in the form a
textbook prints, every shape tracked, verified (Parr & Howard, *The Matrix Calculus You Need For
Deep Learning*).

>>> import matcalc
>>> d = matcalc.diff("sum(w*x)", wrt="w")
>>> str(d), d.shape, d.shapes
('xᵀ', ('1', 'n'), {'w': ('n',), 'x': ('n',)})
"""

__version__ = "0.1.0"

from .api import (Derivative, Derivatives, Expression, Verdict, check, diff, hessian, parse,
                  to_numpy)
from .errors import (MatcalcError, ParseError, ShapeError, UnknownFunctionError,
                     UnsupportedError, VerificationError)

__all__ = ["diff", "hessian", "parse", "check", "to_numpy", "Derivative", "Derivatives",
           "Expression", "Verdict", "MatcalcError", "ParseError", "ShapeError",
           "UnknownFunctionError", "UnsupportedError",
           "VerificationError", "__version__"]
