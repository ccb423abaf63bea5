"""Property-based verification (the fast profile; benchmarks/soak.py runs the long one): random
well-typed expressions over the whole language, each differentiated w.r.t. each of its
variables (in either layout, w.r.t. a vector literal of scalars, and a second derivative now
and then) and checked by both oracles.  A derivative is never wrong, and nothing but an
UnsupportedError may refuse."""

from hypothesis import HealthCheck, given, settings

from checking import ERROR, UNSUPPORTED, WRONG, check_sample
from strategies import RandomSource, generate, samples

FAST = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(samples(max_depth=3))
def test_every_generated_derivative_is_right(sample):
    for outcome in check_sample(sample, seed=0):
        assert outcome.status != WRONG, f"{sample!r} wrt {outcome.wrt}: {outcome.detail}"
        assert outcome.status != ERROR, f"{sample!r} wrt {outcome.wrt}:\n{outcome.detail}"
        if outcome.status == UNSUPPORTED:
            assert outcome.detail   # an UnsupportedError naming the construct


def test_generator_covers_the_language():
    """The generator reaches every operator spelling and every function of the language."""
    texts = " ".join(generate(RandomSource(seed)).text for seed in range(1500))
    for token in ["+", " - ", "*", "⊙", "/", "⊘", "@", "·", "^", "**", "'", "^T", ".T",
                  "transpose(", "[", "dot(", "-"]:
        assert token in texts, token
    for name in ["exp", "log", "ln", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
                 "abs", "softplus", "max", "min", "sum", "mean", "norm", "diag", "trace", "tr",
                 "det", "inv", "logdet", "softmax", "logsumexp"]:
        assert f"{name}(" in texts, name


def test_the_checker_catches_a_wrong_derivative(monkeypatch):
    """The oracles are live: a deliberately wrong rule is reported as wrong."""
    import dataclasses

    from matcalc import expr as E
    from matcalc.rules import RULES, jdiag
    from strategies import Sample

    wrong = dataclasses.replace(RULES["sin"], partials=lambda y, args, params: (
        jdiag(E.neg(E.call("cos", args, args[0].shape)), args[0].shape),))
    monkeypatch.setitem(RULES, "sin", wrong)
    outcomes = check_sample(Sample("sum(sin(x))", {"x": "n"}), seed=0)
    assert outcomes[0].status == WRONG
