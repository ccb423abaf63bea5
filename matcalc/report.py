"""One request in, one JSON-ready report out: the function behind ``--format json``, the web
server's ``POST /api/diff`` and the static site's Python-in-the-browser, so the three cannot drift.

A request is a dict (the JSON the page sends)::

    {"expression": "sum(w*x)",          # required
     "wrt": ["w"],                      # names or vector literals "[x, y]"; [] or absent: the
                                        #   first variable of the expression
     "shapes": {"W": "m,n", "b": "scalar", "A": "n,n,sym"},   # declared shapes (optional)
     "layout": "numerator",             # or "denominator"
     "order": 1,                        # or 2: the second derivative
     "steps": false, "numpy": false, "check": false}          # extra parts of the report

``build(request)`` returns the report and raises ``MatcalcError`` on bad input (the CLI's way);
``respond(request)`` never raises for bad input: an error is a report too, with ``"ok": false``
and ``"error"`` holding the message, the offending span of which field, its line and column, and
the hint — what the page needs to highlight the span in the box.

>>> r = respond({"expression": "sum(w*x)", "wrt": ["w"]})
>>> r["ok"], r["expression"], r["shapes"], r["derivatives"][0]["text"]
(True, 'sum(w ⊙ x)', {'w': ['n'], 'x': ['n']}, 'xᵀ')
>>> e = respond({"expression": "sum(w*x", "wrt": ["w"]})["error"]
>>> e["field"], e["span"], e["line"], e["column"], e["hint"]
('expression', [3, 4], 1, 4, 'unbalanced brackets')
"""

from __future__ import annotations

from . import __version__, render
from . import expr as E
from .api import Derivative, diff, parse, shapes_line, to_numpy
from .errors import MatcalcError, VerificationError, caret
from .infer import declared_shapes
from .lazy import lazy_module
from .shapes import space

json = lazy_module("json")  # only respond_json needs it (start-up: lazy.py)

KEYS = {"expression", "wrt", "shapes", "layout", "order", "steps", "numpy", "check"}
_KIND = {0: "scalar", 1: "vector", 2: "matrix"}


class RequestError(MatcalcError):
    """The request itself is malformed (not the expression in it)."""


def build(request: dict, strict_check: bool = True) -> dict:
    """The report for ``request``; raises ``MatcalcError`` for bad input.  With
    ``strict_check`` a failed verification raises ``VerificationError`` (the CLI exits 1);
    otherwise it is reported in the derivative's ``verification``."""
    req = _validated(request)
    text = req["expression"]
    for name, spec in req["shapes"].items():
        _tagged(f"shapes.{name}", None, declared_shapes, {name: spec})
    f = _tagged("expression", text, parse, text, req["shapes"])
    names = list(E.free_vars(f.node))
    wrt = req["wrt"] or names[:1]
    if not wrt:
        raise RequestError(f"{text!r} has no variable to differentiate by",
                           hint="a derivative needs a variable, e.g. x in sin(x)")
    ds: list[Derivative] = []
    for i, w in enumerate(wrt):
        d = _tagged(f"wrt.{i}", text, diff, f, w, layout=req["layout"])
        if req["order"] == 2:
            d = _tagged(f"wrt.{i}", text, d.diff, w)
        ds.append(d)
    first = ds[0]
    origin = first.f.origin or first.f.node          # the function, also for a 2nd derivative
    shapes = first.shapes
    properties = first.f.properties
    out = {
        "ok": True,
        "version": __version__,
        "expression": render.text(origin),
        "expression_latex": render.latex(origin),
        "shapes": {k: list(v) for k, v in shapes.items()},
        "properties": {k: list(v) for k, v in properties.items()},
        "shapes_line": shapes_line(shapes, properties),
        "variables": [_variable(n, s, properties.get(n, ()), n in req["shapes"])
                      for n, s in shapes.items()],
        "wrt": list(wrt),
        "layout": req["layout"],
        "order": req["order"],
        "derivatives": [_derivative(d, req, strict_check) for d in ds],
    }
    if req["numpy"]:
        out["numpy"] = _numpy(ds)
    return out


def respond(request) -> dict:
    """The report for ``request``, or ``{"ok": false, "error": {...}}`` for bad input."""
    try:
        return build(request, strict_check=False)
    except MatcalcError as e:
        return {"ok": False, "version": __version__, "error": error_dict(e)}
    except RecursionError:
        return {"ok": False, "version": __version__, "error": {
            "type": "ParseError", "field": "expression", "span": None, "line": None,
            "column": None, "caret": None, "message": "the expression is nested too deeply",
            "hint": "split it into smaller parts", "text": "the expression is nested too deeply"}}


def respond_json(request_text: str) -> str:
    """``respond`` on JSON text, to JSON text (the browser's Python calls this)."""
    try:
        request = json.loads(request_text)
    except ValueError as e:
        return json.dumps({"ok": False, "version": __version__,
                           "error": error_dict(RequestError(f"the request is not JSON: {e}"))})
    return json.dumps(respond(request), ensure_ascii=False)


def error_dict(e: MatcalcError) -> dict:
    """A user error as JSON: type, message, hint, the field it is in, the offending span
    (character offsets ``[start, end)`` into that field), line and column (1-based)."""
    line_column = e.line_column
    return {"type": type(e).__name__, "field": getattr(e, "field", None),
            "message": e.message, "hint": e.hint,
            "span": list(e.span) if e.span is not None and e.text is not None else None,
            "line": line_column[0] if line_column else None,
            "column": line_column[1] if line_column else None,
            "caret": caret(e.text, *e.span) if e.span is not None and e.text is not None
            else None,
            "text": str(e)}


def graph(derivation: dict) -> dict:
    """The paper's data-flow graph of one derivation of the steps JSON: the variable, the
    intermediate variables, and an edge u → v for each partial ∂v/∂u (so both paths of a
    total derivative appear: x → u₂ and x → u₁ → u₂).  Each node has a ``layer`` (the longest
    path from the variable), for drawing left to right.

    >>> g = graph(diff("x + x^2", "x").steps.as_dict()["derivations"][0])
    >>> [(n["id"], n["layer"]) for n in g["nodes"]], g["edges"]
    ([('x', 0), ('u₁', 1), ('u₂', 2)], [['x', 'u₁'], ['x', 'u₂'], ['u₁', 'u₂']])
    """
    x = derivation["wrt"]
    nodes = [{"id": x, "label": x, "kind": "input", "definition": None}]
    for i, s in enumerate(derivation["intermediates"]):
        last = i == len(derivation["intermediates"]) - 1
        label = f"{s['alias']} = {s['name']}" if s.get("alias") else s["name"]
        nodes.append({"id": s["name"], "label": label, "kind": "output" if last else
                      "intermediate", "definition": s["definition"]["text"]})
    known = {n["id"] for n in nodes}
    edges = [[p["wrt"], p["of"]] for p in derivation["partials"]
             if p["wrt"] in known and p["of"] in known]
    layer = {x: 0}
    for n in nodes[1:]:
        into = [layer[a] for a, b in edges if b == n["id"] and a in layer]
        layer[n["id"]] = max(into) + 1 if into else 1
    for n in nodes:
        n["layer"] = layer[n["id"]]
    return {"nodes": nodes, "edges": edges, "paths": derivation["chain_rule"]["paths"]}


# ---------------------------------------------------------------------------------------------


def _validated(request) -> dict:
    if not isinstance(request, dict):
        raise RequestError("the request must be a JSON object")
    unknown = sorted(set(request) - KEYS)
    if unknown:
        raise RequestError(f"unknown request key {unknown[0]!r}",
                           hint="the keys are: " + ", ".join(sorted(KEYS)))
    text = request.get("expression")
    if not isinstance(text, str):
        raise RequestError("the request needs an expression (a string)")
    if not text.strip():
        raise RequestError("type an expression, e.g. sum(w*x)")
    wrt = request.get("wrt") or []
    if isinstance(wrt, str):
        wrt = [wrt]
    if not isinstance(wrt, list) or not all(isinstance(w, str) for w in wrt):
        raise RequestError("wrt must be a list of variable names")
    shapes = request.get("shapes") or {}
    if not isinstance(shapes, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, list)) for k, v in shapes.items()):
        raise RequestError("shapes must map names to shape specifications such as \"m,n\"")
    layout = request.get("layout", "numerator")
    if layout not in ("numerator", "denominator"):
        raise RequestError(f"unknown layout {layout!r}", hint="use numerator or denominator")
    order = request.get("order", 1)
    if order not in (1, 2) or isinstance(order, bool):
        raise RequestError(f"order must be 1 or 2, not {order!r}")
    flags = {}
    for key in ("steps", "numpy", "check"):
        value = request.get(key, False)
        if not isinstance(value, bool):
            raise RequestError(f"{key} must be true or false")
        flags[key] = value
    return {"expression": text, "wrt": wrt, "shapes": dict(shapes), "layout": layout,
            "order": order, **flags}


def _tagged(field: str, expression: str | None, function, *args, **kwargs):
    """``function(*args, **kwargs)``; a ``MatcalcError`` gets the request field it is about
    (``expression`` when its span points into the expression's text)."""
    try:
        return function(*args, **kwargs)
    except MatcalcError as e:
        if getattr(e, "field", None) is None:
            e.field = "expression" if expression is not None and e.text == expression else field
        raise


def _variable(name: str, shape: tuple[str, ...], props, declared: bool) -> dict:
    return {"name": name, "shape": list(shape), "kind": _KIND[len(shape)],
            "properties": list(props), "declared": declared, "space": space(shape)}


def _derivative(d: Derivative, req: dict, strict_check: bool) -> dict:
    out = {"wrt": d.wrt_text, "text": str(d), "latex": d.latex,
           "equation_latex": d.equation_latex, "shape": list(d.shape),
           "shape_label": d.shape_label, "line": d.line, "notes": d.notes}
    if req["check"]:
        out["verification"] = _verify(d, strict_check)
        if out["verification"]["status"] == "verified":
            out["checked"] = True
    if req["steps"]:
        steps = d.steps.as_dict()
        for derivation in steps["derivations"]:
            derivation["graph"] = graph(derivation)
        out["steps"] = steps
    return out


def _verify(d: Derivative, strict: bool) -> dict:
    try:
        d.check()
    except VerificationError as e:
        if strict:
            raise
        if d.checked is not None and d.checked.counterexample is None:   # undecided, not wrong
            return {"status": "unavailable", "message": e.message}
        return {"status": "failed", "message": e.message}
    except ImportError as e:           # NumPy absent (the browser's Python)
        return {"status": "unavailable", "message": f"not available here: {e}"}
    return {"status": "verified", "message": d.checked.verified}


def _numpy(ds: list[Derivative]) -> dict:
    try:
        return {"ok": True, "source": to_numpy(ds)}
    except MatcalcError as e:
        return {"ok": False, "message": e.message}
