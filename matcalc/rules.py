"""STUB (being replaced): the interface parse.py relies on."""
FUNCTIONS = {
    "exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "sin": (1, 1), "cos": (1, 1), "tan": (1, 1),
    "tanh": (1, 1), "sigmoid": (1, 1), "relu": (1, 1), "abs": (1, 1), "softplus": (1, 1),
    "max": (2, 2), "min": (2, 2), "sum": (1, 1), "mean": (1, 1), "norm": (1, 2), "diag": (1, 1),
    "trace": (1, 1), "det": (1, 1), "inv": (1, 1), "logdet": (1, 1), "softmax": (1, 1),
    "logsumexp": (1, 1), "dot": (2, 2), "T": (1, 1),
}
ALIASES = {"ln": "log", "tr": "trace", "transpose": "T"}


def resolve_function(name: str) -> str | None:
    """Canonical op name of a function spelled ``name`` by the user, or None if unknown."""
    name = ALIASES.get(name, name)
    return name if name in FUNCTIONS else None


def function_arity(op: str) -> tuple[int, int]:
    return FUNCTIONS[op]


def function_names() -> list[str]:
    """Every spelling a user may call (for "did you mean")."""
    return sorted(set(FUNCTIONS) - {"T"} | set(ALIASES))
