"""Deferred imports: the one place matcalc imports a module on first use instead of at start-up.

Printing a derivative needs SymPy and Lark but not NumPy, and ``import numpy`` is about a tenth
of a second — half of matcalc's start-up budget (issue 6: ``matcalc diff "sum(w*x)" --wrt w``
within 1.25× of ``python -c "import sympy"``).  Modules that use NumPy only inside functions
(the rule table's evaluation forms, ``verify``, ``Derivative.evaluate``) bind it with
``np = lazy_module("numpy")`` at module level, as they would with ``import numpy as np``; the
real import happens on the first attribute access (``np.exp``), through the standard library's
``importlib.util.LazyLoader``.  Code that needs NumPy at import time must not use this.

>>> m = lazy_module("json")          # already imported modules are returned as they are
>>> m.dumps([1])
'[1]'
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported when one of its attributes is first used (the recipe of
    the ``importlib`` documentation).  If it is already imported, that module is returned."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"matcalc needs the {name} package: pip install {name}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
