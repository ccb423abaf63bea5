"""report.py: the one function behind --format json, the server and the static site."""

import json

import pytest

import matcalc
from matcalc import report
from matcalc.cli import main


def test_cli_json_is_the_report(capsys):
    assert main(["diff", "sum((W@x + b - y)^2)", "--wrt", "W", "--wrt", "b", "--shape",
                 "W=m,n", "--steps", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == report.build({"expression": "sum((W@x + b - y)^2)", "wrt": ["W", "b"],
                                    "shapes": {"W": "m,n"}, "steps": True})
    # the keys --format json printed before report.py stay
    assert {"expression", "shapes", "layout", "derivatives"} <= set(printed)
    assert {"wrt", "text", "latex", "equation_latex", "shape", "notes", "steps"} <= \
        set(printed["derivatives"][0])


def test_second_derivative_reports_the_function_not_the_gradient(capsys):
    assert main(["diff", "x'@A@x", "--wrt", "x", "--order", "2", "--format", "json",
                 "--shape", "A=n,n,sym"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["expression"] == "xᵀ A x"
    assert out["order"] == 2
    assert out["derivatives"][0]["text"] == "2A"
    assert out["properties"] == {"A": ["sym"]}


def test_report_matches_the_api():
    r = report.respond({"expression": "max(0, w·x + b)", "wrt": ["w", "b"], "check": True,
                        "numpy": True})
    ds = matcalc.diff("max(0, w·x + b)", ["w", "b"])
    assert r["ok"] and r["shapes"] == {"w": ["n"], "x": ["n"], "b": []}
    assert [d["text"] for d in r["derivatives"]] == [str(d) for d in ds]
    assert [d["equation_latex"] for d in r["derivatives"]] == [d.equation_latex for d in ds]
    assert all(d["checked"] and d["verification"]["status"] == "verified"
               for d in r["derivatives"])
    assert r["numpy"] == {"ok": True, "source": matcalc.to_numpy(ds)}
    assert r["shapes_line"] == "w, x ∈ ℝⁿ, b ∈ ℝ"
    assert [(v["name"], v["kind"], v["declared"]) for v in r["variables"]] == [
        ("w", "vector", False), ("x", "vector", False), ("b", "scalar", False)]


def test_wrt_defaults_to_the_first_variable_and_declarations_are_marked():
    r = report.respond({"expression": "sum((W@x + b - y)^2)", "shapes": {"b": "scalar"}})
    assert r["wrt"] == ["W"] and r["derivatives"][0]["wrt"] == "W"
    assert {v["name"]: v["declared"] for v in r["variables"]}["b"] is True


@pytest.mark.parametrize("request_, field, span", [
    ({"expression": "sum(w*x", "wrt": ["w"]}, "expression", [3, 4]),
    ({"expression": "sigmoyd(x)"}, "expression", [0, 7]),
    ({"expression": "sum(w*x)", "wrt": ["z"]}, "wrt.0", [0, 1]),
    ({"expression": "sum(w*x)", "shapes": {"w": "m;n"}}, "shapes.w", None),
    ({"expression": "W@x", "shapes": {"W": "m,n", "x": "k"}}, "expression", [0, 3]),
])
def test_errors_say_which_field_and_span(request_, field, span):
    r = report.respond(request_)
    assert r["ok"] is False
    e = r["error"]
    assert e["field"] == field and e["span"] == span, e
    assert e["message"] and e["text"].startswith(e["message"])
    if span:
        assert e["line"] == 1 and e["column"] == span[0] + 1 and "^" in e["caret"]


@pytest.mark.parametrize("bad", [
    [], {"expression": 3}, {"expression": "  "}, {"expression": "x", "order": 3},
    {"expression": "x", "layout": "sideways"}, {"expression": "x", "steps": "yes"},
    {"expression": "x", "wrt": [1]}, {"expression": "x", "evil": True},
    {"expression": "x", "shapes": ["x"]},
])
def test_malformed_requests_are_request_errors(bad):
    r = report.respond(bad)
    assert r["ok"] is False and r["error"]["type"] == "RequestError"


def test_user_text_never_reaches_eval():
    r = report.respond({"expression": "__import__('os').system('true')"})
    assert r["ok"] is False and r["error"]["field"] == "expression"


def test_deep_nesting_is_answered(monkeypatch):
    r = report.respond({"expression": "(" * 2000 + "x" + ")" * 2000})
    assert r["ok"] and r["derivatives"][0]["text"] == "1"

    def too_deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(report, "parse", too_deep)
    r = report.respond({"expression": "sin(sin(x))"})
    assert r["ok"] is False and r["error"]["message"] == "the expression is nested too deeply"


def test_graph_of_a_total_derivative_has_both_paths():
    r = report.respond({"expression": "x + x^2", "steps": True})
    g = r["derivatives"][0]["steps"]["derivations"][0]["graph"]
    assert g["edges"] == [["x", "u₁"], ["x", "u₂"], ["u₁", "u₂"]] and g["paths"] == 2
    r = report.respond({"expression": "sin(x^2)", "steps": True})
    g = r["derivatives"][0]["steps"]["derivations"][0]["graph"]
    assert [n["id"] for n in g["nodes"]] == ["x", "u", "y"]
    assert g["edges"] == [["x", "u"], ["u", "y"]] and g["paths"] == 1


def test_respond_json_round_trip():
    out = json.loads(report.respond_json(json.dumps({"expression": "sum(w*x)"})))
    assert out["derivatives"][0]["text"] == "xᵀ"
    assert json.loads(report.respond_json("{not json"))["error"]["type"] == "RequestError"


def test_without_numpy_checks_are_unavailable_not_a_crash(monkeypatch):
    def no_numpy(self):
        raise ImportError("matcalc needs the numpy package for this: pip install numpy")
    monkeypatch.setattr(matcalc.Derivative, "check", no_numpy)
    r = report.respond({"expression": "sum(w*x)", "check": True})
    v = r["derivatives"][0]["verification"]
    assert v["status"] == "unavailable" and "numpy" in v["message"]
    assert "checked" not in r["derivatives"][0]
