"""matcalc in the browser: one page (``static/``) and its two back ends.

* ``server.py`` — ``matcalc serve``: a local web server whose ``POST /api/diff`` runs
  ``matcalc.report.respond`` in worker processes under a time limit;
* ``site.py`` — ``matcalc site DIR``: a static folder in which the browser runs matcalc itself
  (Pyodide), calling the same ``matcalc.report.respond``.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
