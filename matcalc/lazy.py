"""Deferred imports: the one place matcalc imports a module on first use instead of at start-up.

Printing a derivative needs SymPy and Lark but not NumPy, and ``import numpy`` is about a tenth
of a second — half of matcalc's start-up budget (issue 6: ``matcalc diff "sum(w*x)" --wrt w``
within 1.25× of ``python -c "import sympy"``).  Modules that use NumPy only inside functions
(the rule table's evaluation forms, ``verify``, ``Derivative.evaluate``) bind it with
``np = lazy_module("numpy")`` at module level, as they would with ``import numpy as np``; the
real import happens on the first attribute access (``np.exp``).

The proxy is safe from the first call in any number of threads (a web server's workers call
``evaluate`` at once): the real import goes through ``importlib.import_module``, which holds
the import system's per-module lock, so every thread gets the fully initialised module, and the
proxy is never put in ``sys.modules`` (the standard library's ``LazyLoader`` does that, and a
second thread could see the half-initialised module there).  A module that is not installed
(NumPy in a browser's Python) is an ``ImportError`` that says so at first use, not at import.

>>> m = lazy_module("json")
>>> m.dumps([1])
'[1]'
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType


class _LazyModule(ModuleType):
    """Stands for module ``__name__`` until first used; then forwards to the real module and
    copies its namespace in, so later lookups cost what ``np.exp`` costs."""

    _lock = threading.Lock()

    def __getattr__(self, attr: str):
        # only reached for names not (yet) in this proxy's own namespace
        try:
            module = importlib.import_module(self.__name__)
        except ImportError as err:
            raise ImportError(f"matcalc needs the {self.__name__} package for this: "
                              f"pip install {self.__name__.partition('.')[0]}") from err
        with self._lock:
            for key, value in module.__dict__.items():
                if key not in ("__name__", "__spec__", "__loader__"):
                    self.__dict__.setdefault(key, value)
        return getattr(module, attr)


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported when one of its attributes is first used.  If it is
    already imported, that module is returned as it is."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    return _LazyModule(name)
