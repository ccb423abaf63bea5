"""Parsing: the Lark grammar (``grammar/matcalc.lark``) turns text into the untyped IR.

The grammar is syntax only; a Transformer builds nodes (it never raises), function names are
resolved against the rule table here, with "did you mean" for unknown names.  The parser is
built once per process, and its tables are cached on disk across processes (``cache_path``).
Lark exceptions never escape: each becomes a ``ParseError`` saying
where (a caret), what was found and what was expected.
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import hashlib
import keyword
import os
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import lark
import sympy
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import ParseError, UnknownFunctionError
from .expr import Call, Const, Expr, Var, substitute
from .rules import (CALL_FORMS, NOT_IN_LANGUAGE, RESERVED, RULES, SYMBOL_SUBSCRIPTS, SYMBOLS,
                    cases_node, function_arity, function_names, inverse_transpose_node, is_literal,
                    literal_node, norm_node, operator, power_node, reserved_names,
                    resolve_function, sized_node)
from .shapes import SCALAR, dim

_HERE = Path(__file__).resolve().parent


def _grammar_path() -> Path:
    packaged = _HERE / "matcalc.lark"
    return packaged if packaged.exists() else _HERE.parent / "grammar" / "matcalc.lark"


# The IR is built while parsing (Lark's embedded transformer: no parse tree is made, and the
# callbacks get every token, anonymous ones included, so that each computes its own span)
_OPTIONS = {"parser": "lalr", "lexer": "basic", "keep_all_tokens": True,
            "maybe_placeholders": False}


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The LALR parser, built once per process; ``parser().parse(text)`` is the IR before names
    are resolved (``parse_syntax`` resolves them)."""
    grammar = _grammar_path().read_text(encoding="utf-8")
    return build_parser(grammar, cache_path(grammar))


def build_parser(grammar: str, cache: Path | None) -> Lark:
    """A parser for ``grammar``.  Building the LALR tables takes ~25 ms, a tenth of start-up;
    with a ``cache`` file Lark loads them from there (~2 ms) when the file was written for this
    very grammar text, these options, this Lark and this Python (Lark stores their hash in the
    file and checks it), and otherwise builds them and rewrites the file.  An unreadable or
    unwritable cache only costs the build."""
    return Lark(grammar, cache=str(cache) if cache is not None else False,
                transformer=_ToIR(), **_OPTIONS)


def cache_path(grammar: str) -> Path | None:
    """The parser cache for ``grammar``: ``$XDG_CACHE_HOME/matcalc`` (default
    ``~/.cache/matcalc``, private to the user, since Lark's cache is a pickle), one file per
    grammar text, option set, Lark and Python version (a hash of them names the file), so
    editing ``grammar/matcalc.lark`` can never meet stale tables and worktrees with different
    grammars do not overwrite each other's.  None if the directory cannot be made."""
    key = "\0".join([grammar, repr(sorted(_OPTIONS.items())), lark.__version__, sys.version])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "matcalc"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"parser-{digest}.lark"


def _span(meta_or_token) -> tuple[int, int]:
    if isinstance(meta_or_token, Token):
        return meta_or_token.start_pos, meta_or_token.end_pos
    return meta_or_token.start_pos, meta_or_token.end_pos


# Set while parse_syntax parses: whether the parser built anything that ``_resolve`` must
# replace (a call, a keyword, a where, something refused later); without one, the IR is final
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("pending", default=None)


def _unresolved() -> None:
    pending = _PENDING.get()
    if pending is not None:
        pending.append(True)


MAX_DIGITS = 300   # a number written with more digits (or a larger exponent) is refused


class _BadNumber:
    """A number too large or too small to compute with exactly."""

    def __init__(self, text: str, span):
        self.text, self.span = text, span
        _unresolved()


class _BadKeyword:
    """A keyword argument where none may stand; refused later, with a caret."""

    def __init__(self, keyword, message: str):
        self.keyword, self.message = keyword, message
        _unresolved()
        self.args = ()


class _BadName:
    """A name that cannot be a variable (sin * x, import) or a bracket that would index;
    refused later, with a caret."""

    def __init__(self, name: str, span, message: str, hint: str):
        self.name, self.span, self.message, self.hint = name, span, message, hint
        _unresolved()
        self.args = ()


class _Where:
    """An expression with named definitions, substituted after names are resolved."""

    def __init__(self, body, defs):
        self.body, self.defs = body, defs
        _unresolved()

    @property
    def args(self):
        return (self.body,) + tuple(expr for _, expr, _ in self.defs)


_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵤᵥ"
_FROM_SUBSCRIPT = str.maketrans(_SUBSCRIPTS, "0123456789aeoxhklmnpstijuv")

# Greek letters name the same variables as their spellings (λ is lambda, printed λ)
_GREEK_SPELLED = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho", "σ": "sigma",
    "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega"}


def _sized(text: str, head: str) -> tuple:
    """The sizes subscripted on a constant (Iₙ, 𝟙ₘ): one dimension per subscript letter."""
    if not text.startswith(head) or len(text) == len(head) or \
            any(c not in _SUBSCRIPTS for c in text[len(head):]):
        return ()
    sub = text[len(head):].translate(_FROM_SUBSCRIPT)
    return (sympy.Integer(int(sub)),) if sub.isdigit() else tuple(dim(c) for c in sub)


def canonical_name(text: str) -> str:
    """A variable's name as matcalc keeps it: subscripts as _ (w₁ is w_1), a Greek letter as
    its spelling (λ is lambda), so text matcalc printed names the variables it came from."""
    if text.isascii():
        return text         # no subscript, no Greek letter
    base = text.rstrip(_SUBSCRIPTS)
    sub = text[len(base):].translate(_FROM_SUBSCRIPT)
    stem, sep, tail = base.partition("_")
    stem = _GREEK_SPELLED.get(stem, stem)
    name = stem + sep + tail
    return name + ("_" + sub if sub else "")


def canonical_call(text: str) -> str:
    """A function's name as written: σ(x) is sigmoid, Φ(x) normcdf (the table's aliases)."""
    return text


class _Args(list):
    """The argument list of a call or a vector literal."""


class _Call:
    """A call whose name is resolved after the tree is built (so errors carry positions)."""

    def __init__(self, name: Token, args, span):
        self.name, self.args, self.span = name, args, span
        _unresolved()


class _Keyword:
    """A keyword argument ``name=value`` of a call (``axis=1``)."""

    def __init__(self, name: str, value, span):
        self.name, self.value, self.span = name, value, span
        _unresolved()

    @property
    def args(self):
        return (self.value,)


class _Parsed:
    """What a callback of the parser built (``value``) and the extent of the text it was read
    from, the brackets around it included: from its first token or part's start to its last
    one's end (``start_pos``, ``end_pos``), as Lark's ``propagate_positions`` computes them
    on a parse tree.  The callback is given it as ``meta`` (its value not yet set)."""

    __slots__ = ("value", "start_pos", "end_pos")

    def __init__(self, start_pos: int, end_pos: int):
        self.start_pos, self.end_pos = start_pos, end_pos


def _values(children) -> list:
    return [c.value if type(c) is _Parsed else c for c in children]


def _positioned(f):
    """A callback of ``_ToIR`` as Lark calls it, ``callback(children)``: ``f(meta, children)``
    with the children's values (tokens stay tokens) and the extent of the text they span.  (A
    plain method, not a ``v_args`` wrapper: Lark calls it directly, once per rule it reduces.)"""

    @functools.wraps(f)
    def callback(self, children):
        meta = _Parsed(children[0].start_pos, children[-1].end_pos)
        meta.value = f(self, meta, [c.value if type(c) is _Parsed else c for c in children])
        return meta

    return callback


def _root(f):
    """A callback of the start rule: ``f(None, children)``, the value itself."""

    @functools.wraps(f)
    def callback(self, children):
        return f(self, None, _values(children))

    callback.root = True
    return callback


def _with_positions(cls):
    """``cls`` with each callback (a public method) made ``_positioned``, but the ``_root`` ones."""
    for name, f in list(vars(cls).items()):
        if not name.startswith("_") and callable(f) and not getattr(f, "root", False):
            setattr(cls, name, _positioned(f))
    return cls


@_with_positions
class _ToIR(Transformer):
    """Builds untyped IR nodes while the text is parsed; no checks here (errors are raised by
    ``parse_syntax``, after the whole text is read).  Each callback is given every token of
    its rule, anonymous ones (brackets, commas, operators) included."""

    def __init__(self):
        super().__init__()
        self.reserved = reserved_names()

    def number(self, meta, children):
        tok = children[0]
        mantissa, _, exponent = str(tok).lower().partition("e")
        digits = len(mantissa.replace(".", "").lstrip("0")) + abs(int(exponent or 0))
        if digits > MAX_DIGITS:        # 1e9999: refused later, with a caret (no huge integers)
            return _BadNumber(str(tok), _span(tok))
        return Const(SCALAR, value=sympy.Rational(str(tok)), span=_span(tok))

    def var(self, meta, children):
        tok = children[0]
        text = str(tok)
        span = (tok.start_pos, tok.end_pos)
        reserved = RESERVED.get(text)          # I, π: constants, not variables
        if reserved is not None:
            return reserved(span)
        sized = _sized(text, "I") if text[:1] == "I" else ()   # Iₙ: the identity of a size
        if sized:
            return sized_node("I", sized, span)
        name = canonical_name(text)
        if name in self.reserved:
            return _BadName(name, span, f"{name} is a function, not a variable",
                            f"write {name}(x) to apply it; name your variable otherwise")
        if keyword.iskeyword(name) and name != "lambda":
            return _BadName(name, span, f"'{name}' is a Python keyword",
                            "matcalc reads expressions, not code")
        return Var(None, name=name, span=span)

    def juxtapose(self, meta, children):
        """a b side by side; a bracket right after an operand is an attempt to index."""
        left, right = children
        if is_literal(right) and left.span and right.span and right.span[0] == left.span[1]:
            return _BadName("[", right.span, "unexpected '[': matcalc has no indexing",
                            "[f, g] builds a vector of scalars; entries are not selected from "
                            "a vector or matrix")
        return self._operator("juxtapose", meta, children)

    def superscript(self, meta, children):
        """x², A³: a power written with superscript digits."""
        base, tok = children
        return power_node(base, int(str(tok).translate(_FROM_SUPERSCRIPT)),
                          (meta.start_pos, meta.end_pos))

    def inv_transpose(self, meta, children):
        """X⁻ᵀ = (Xᵀ)⁻¹."""
        return inverse_transpose_node(children[0], (meta.start_pos, meta.end_pos))

    def norm(self, meta, children):
        """‖x‖ (‖x‖₁): the 2-norm (the 1-norm), of the entries of a vector or matrix."""
        inner = [c for c in children if not isinstance(c, Token)][0]
        one = any(isinstance(c, Token) and c.type == "NORM_ONE" for c in children)
        return norm_node(inner, one, (meta.start_pos, meta.end_pos))

    def ones(self, meta, children):
        """𝟙, or 𝟙ₙ of a named size."""
        return sized_node("𝟙", _sized(str(children[0]), "𝟙"), (meta.start_pos, meta.end_pos))

    def zeros(self, meta, children):
        """0ₙ: the zero vector of a named size (0ₘ0ₙᵀ a zero matrix)."""
        return sized_node("0", _sized(str(children[0]), "0"), (meta.start_pos, meta.end_pos))

    def symbol(self, meta, children):
        """𝕂ₘₙ, 𝔻ₙ, 𝕖₂: matcalc's structured constants, with their subscripts."""
        text = str(children[0])
        head, rest = text[0], text[1:]
        if rest.startswith("_("):
            items = rest[2:-1].split(",")
        elif rest.startswith("_"):
            items = [rest[1:]]
        else:       # one character a subscript (𝕂₂₃ is 𝕂 of 2 and 3), but 𝕖₁₂ is 𝕖 of 12
            items = list(rest.translate(_FROM_SUBSCRIPT))
            if SYMBOL_SUBSCRIPTS[head][0] == 1 and all(c.isdigit() for c in items):
                items = ["".join(items)]
        count, spelling = SYMBOL_SUBSCRIPTS[head]
        span = (meta.start_pos, meta.end_pos)
        if len(items) != count or not all(i.strip() for i in items):
            wanted = "one subscript" if count == 1 else "two subscripts"
            return _BadName(text, span, f"{head} takes {wanted}, not {len(items)}",
                            f"write {spelling}")
        if head == "𝕖" and not (items[0].strip().isdigit() and int(items[0]) >= 1):
            return _BadName(text, span, f"the unit vector 𝕖 takes the number of its entry, "
                            f"counted from 1, not {items[0].strip()!r}", f"write {spelling}")
        return SYMBOLS[head](items, span)

    def branch(self, meta, children):
        value, _, lhs, relation, rhs = children
        return (value, lhs, str(relation), rhs)

    def cases(self, meta, children):
        """v₁ if z ≤ 0; v₂ if z > 0: the sum of each value times the indicator of its
        condition (step(z) for z > 0, 1 − step(z) for z ≤ 0: matcalc's convention at 0)."""
        return cases_node(children[::2], (meta.start_pos, meta.end_pos))

    def definition(self, meta, children):
        return (canonical_name(str(children[0])), children[2], _span(children[0]))

    def defs(self, meta, children):
        return children[::2]

    @_root
    def where(self, meta, children):
        """body where u = …, v = …: each name stands for its definition (earlier definitions
        may be used by later ones, as matcalc prints them, innermost first)."""
        body, _, defs = children
        return _Where(body, defs)

    @_root
    def start(self, meta, children):
        return children[0]

    def atom(self, meta, children):
        """( x ): x, whose extent includes the brackets."""
        return children[1]

    def keyword(self, meta, children):
        return _Keyword(str(children[0]), children[2], (meta.start_pos, meta.end_pos))

    def args(self, meta, children):
        return _Args(children[::2])

    def call(self, meta, children):
        name = Token("FUNCTION", canonical_call(str(children[0])), start_pos=children[0].start_pos,
                     end_pos=children[0].end_pos)
        args = children[2] if len(children) == 4 else _Args()
        return _Call(name, list(args), (meta.start_pos, meta.end_pos))

    def stack(self, meta, children):
        items = tuple(children[1])
        for item in items:
            if isinstance(item, _Keyword):
                return _BadKeyword(item, "a vector literal [f, g, …] holds expressions, not "
                                         "keyword arguments")
        return literal_node(items, (meta.start_pos, meta.end_pos))

    def __default__(self, data, children, _meta):
        """An operator: the grammar names it after the rule (``-> matmul``).  Lark's own
        rules for repetitions (``("," arg)*``) keep their trees, which Lark splices into the
        rule they repeat in."""
        if data.startswith("_"):
            return super().__default__(data, children, _meta)
        meta = _Parsed(children[0].start_pos, children[-1].end_pos)
        values = [c.value if type(c) is _Parsed else c for c in children]
        meta.value = operator(str(data), tuple(v for v in values if not isinstance(v, Token)),
                              (meta.start_pos, meta.end_pos))
        return meta

    def _operator(self, data, meta, children):
        operands = tuple(c for c in children if not isinstance(c, Token))
        return operator(str(data), operands, (meta.start_pos, meta.end_pos))


def parse_syntax(text: str) -> Expr:
    """The untyped IR of one expression (shapes are inferred later)."""
    if not text.strip():
        raise ParseError("empty expression", hint="write an expression, e.g. sum(w*x)")
    pending: list = []
    token = _PENDING.set(pending)
    try:
        node = parser().parse(text)
    except UnexpectedInput as err:
        raise _explain(err, text) from None
    except RecursionError:
        raise ParseError("the expression is nested too deeply") from None
    finally:
        _PENDING.reset(token)
    return _resolve(node, text) if pending else node


def _resolve(root, text: str) -> Expr:
    """Resolve call names against the rule table, bottom-up and without recursion."""
    done: dict[int, Expr] = {}
    stack = [(root, False)]
    while stack:
        n, ready = stack.pop()
        if id(n) in done:
            continue
        if isinstance(n, Expr) and not isinstance(n, Call):
            done[id(n)] = n         # a name or a number: nothing to resolve
            continue
        kids = n.args if isinstance(n, (_Call, _Keyword, _Where)) else (
            n.operands if isinstance(n, Call) else ())
        if not ready:
            stack.append((n, True))
            stack.extend((k, False) for k in kids)
            continue
        new = [done[id(k)] for k in kids]
        if isinstance(n, _BadNumber):
            raise ParseError(f"the number {n.text} is out of range", text=text, span=n.span,
                             hint=f"numbers may have at most {MAX_DIGITS} digits and "
                                  f"exponents up to ±{MAX_DIGITS}")
        if isinstance(n, _BadKeyword):
            raise ParseError(n.message, text=text, span=n.keyword.span)
        if isinstance(n, _BadName):
            raise ParseError(n.message, text=text, span=n.span, hint=n.hint)
        if isinstance(n, _Where):
            done[id(n)] = _substitute_definitions(new[0], [
                (name, expr, span) for (name, _, span), expr in zip(n.defs, new[1:])], text)
            continue
        if isinstance(n, _Keyword):
            done[id(n)] = _Keyword(n.name, new[0], n.span)
        elif isinstance(n, _Call):
            done[id(n)] = _call(n, new, text)
        elif isinstance(n, Call) and any(a is not k for a, k in zip(new, kids)):
            done[id(n)] = Call(None, op=n.op, operands=tuple(new), params=n.params, span=n.span)
        else:
            done[id(n)] = n
    return done[id(root)]


def _substitute_definitions(body, defs, text: str):
    """The body with each defined name replaced by its definition (in order: a definition may
    use the names defined before it)."""
    env: dict = {}
    for name, expr, span in defs:
        if name in env:
            raise ParseError(f"{name} is defined twice", text=text, span=span)
        env[Var(None, name=name)] = _rebind(expr, env)
    return _rebind(body, env)


def _rebind(e, env: dict):
    if not env:
        return e
    return substitute(e, env, lambda n, args: Call(None, op=n.op, operands=tuple(args),
                                                     params=n.params, span=n.span))


def _call(c: _Call, args: list[Expr], text: str) -> Expr:
    name = str(c.name)
    span = _span(c.name)
    op = resolve_function(name)
    if op is None:
        close = difflib.get_close_matches(name, function_names(), n=1, cutoff=0.6)
        hint = NOT_IN_LANGUAGE.get(name) or (
            f"did you mean {close[0]}?" if close else
            "known functions: " + ", ".join(function_names()))
        raise UnknownFunctionError(f"unknown function '{name}'", text=text, span=span, hint=hint)
    keywords: dict[str, Expr] = {}
    positional: list[Expr] = []
    for a in args:
        if isinstance(a, _Keyword):
            if a.name not in RULES[op].keywords:
                takes = ", ".join(f"{k}=" for k in RULES[op].keywords)
                raise ParseError(f"{name} takes no keyword argument '{a.name}'", text=text,
                                 span=a.span, hint=f"{name} takes {takes}" if takes else
                                 f"write {name}(…) with positional arguments only")
            if a.name in keywords:
                raise ParseError(f"'{a.name}' is given twice", text=text, span=a.span)
            keywords[a.name] = a.value
        elif keywords:
            raise ParseError("a positional argument after a keyword argument", text=text,
                             span=a.span, hint="write keyword arguments last, as in Python")
        else:
            positional.append(a)
    args = positional
    written = len(args)
    params: tuple = ()
    lo, hi = function_arity(op)
    rule = RULES[op]
    if rule.call is not None and lo <= len(args) <= hi:

        def fail(message, node=None, hint=None):
            raise ParseError(message, text=text, span=(node.span if node is not None and
                                                       node.span else c.span), hint=hint)

        args, params = rule.call(list(args), keywords, fail)
        lo, hi = len(args), len(args)
    if not lo <= len(args) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} or {hi}"
        noun = "argument" if hi == 1 else "arguments"
        hint = CALL_FORMS.get(op) or (f"write {name}(x)" if lo == 1 else f"write {name}(a, b)")
        raise ParseError(f"{name} takes {want} {noun}, got {written}", text=text, span=c.span,
                         hint=hint)
    return Call(None, op=op, operands=tuple(args), params=params, span=c.span)


_NAMES = {
    "NUMBER": "a number", "NAME": "a name", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "SLASH": "'/'", "POW": "'^'", "TPOSE": "'^T'", "QUOTE": "\"'\"", "$END": "the end",
}

_HINTS = {
    "×": "use * for the element-wise product or @ for the matrix product",
    "∗": "use * for the element-wise product",
    "÷": "use / for element-wise division",
    "=": "matcalc differentiates expressions, not equations: leave out '= …'",
    ";": "write one expression",
    "{": "use ( ) or [ ] for grouping",
    "}": "use ( ) or [ ] for grouping",
    "\"": "expressions hold no strings",
    "'": "' is the transpose and follows an expression, as in x'; expressions hold no strings",
    "ᵀ": "write x^T, x' or x.T for the transpose",
    ":": "matcalc reads expressions, not code",
    "–": "did you mean '-'? (an en dash, a look-alike of the minus sign)",
    "—": "did you mean '-'? (an em dash, a look-alike of the minus sign)",
    "⋅": "did you mean '·'? (the dot product is · U+00B7, or dot(w, x))",
    "∙": "did you mean '·'? (the dot product is · U+00B7, or dot(w, x))",
    "\u0387": "did you mean '·'? (this is the Greek ano teleia U+0387, a look-alike: the dot "
               "product is · U+00B7, or dot(w, x))",
    "\u0374": "did you mean ' (the transpose)? (this is the Greek numeral sign U+0374, a "
               "look-alike)",
    "\u02b9": "did you mean ' (the transpose)? (a modifier letter prime, a look-alike)",
    "\u2032": "did you mean ' (the transpose)? (a prime sign, a look-alike)",
    "`": "expressions hold no code or strings",
}

# Letters of other scripts that look like Latin ones (a name typed with a Cyrillic х looks
# right and is not): the hint names the Latin letter meant.
_LOOKALIKES = dict(zip("аеорсухікмнтвАВЕКМНОРСТХІ", "aeopcyxikmhtbABEKMHOPCTXI"))


def _expected(tokens) -> str:
    names = sorted({_NAMES.get(t, f"'{t}'") for t in tokens if not t.startswith("__")})
    operand = {"a number", "a name", "'('", "'['", "'-'"}
    if operand & set(names) and len(names) >= 3:
        return "an expression (a number, a name, '(' or '[')"
    return ", ".join(names) if names else "something else"


def _explain(err: UnexpectedInput, text: str) -> ParseError:
    pos = err.pos_in_stream if err.pos_in_stream is not None else len(text)
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and
                                          err.token.type == "$END"):
        expected = getattr(err, "expected", None) or getattr(err, "accepts", None) or []
        unclosed = _unclosed(text)
        msg = "unexpected end of input"
        if unclosed is not None:
            return ParseError(f"{msg}: expected '{_CLOSE[text[unclosed]]}' to close the "
                              f"'{text[unclosed]}' at column {unclosed + 1}", text=text,
                              span=(unclosed, unclosed + 1), hint="unbalanced brackets")
        return ParseError(f"{msg}: expected {_expected(expected)}", text=text,
                          span=(len(text.rstrip()) - 1, len(text.rstrip())),
                          hint="the expression stops after an operator")
    if isinstance(err, UnexpectedCharacters):
        ch = text[pos]
        name = unicodedata.name(ch, "unknown character")
        if ch == "." and text[pos:pos + 2] != ".T":
            return ParseError("unexpected '.': only .T (the transpose) may follow an "
                              "expression", text=text, span=(pos, pos + 1),
                              hint="write x.T for the transpose; attributes are not part of "
                                   "the language")
        hint = _HINTS.get(ch)
        if hint is None and ch in _LOOKALIKES:
            hint = (f"did you mean the Latin letter {_LOOKALIKES[ch]!r}? ({name.lower()} is a "
                    f"look-alike)")
        if hint is None and unicodedata.normalize("NFKC", ch) != ch:
            hint = f"did you mean {unicodedata.normalize('NFKC', ch)!r}? (a look-alike character)"
        if ch.isdigit() is False and ch.isalpha() and hint is None:
            hint = "names use ASCII letters, digits, _ and Greek letters"
        return ParseError(f"unexpected character {ch!r} ({name})", text=text,
                          span=(pos, pos + 1), hint=hint)
    tok = err.token
    span = (tok.start_pos, tok.end_pos) if tok.start_pos is not None else (pos, pos + 1)
    expected = err.expected or set()
    found = str(tok)
    if tok.type in ("RPAR", "RSQB") and _unmatched_close(text, tok.start_pos):
        return ParseError(f"unexpected '{found}': no bracket to close", text=text, span=span,
                          hint="unbalanced brackets")
    prev = text[:tok.start_pos].rstrip()[-1:] if tok.start_pos else ""
    if tok.type == "LSQB" and prev and (prev.isalnum() or prev in ")]_'"):
        return ParseError("unexpected '[': matcalc has no indexing", text=text, span=span,
                          hint="[f, g] builds a vector of scalars; entries are not selected "
                               "from a vector or matrix")
    if tok.type in ("NAME", "NUMBER", "LPAR") and prev and (prev.isalnum() or prev in ")]"):
        return ParseError(f"unexpected {found!r}: two operands with no operator between them",
                          text=text, span=span,
                          hint="write the product explicitly, e.g. 2*x (or 2@x, w·x)")
    if tok.type in ("STAR", "SLASH", "PLUS", "POW", "__ANON_0", "MORETHAN") or \
            found in ("*", "/", "+", "@", "·", "^", "**", "⊙", "⊗", "⊘", ","):
        return ParseError(f"stray operator '{found}': expected {_expected(expected)} before it",
                          text=text, span=span)
    shown = repr(found) if "'" not in found else f'"{found}"'
    return ParseError(f"unexpected {shown}: expected {_expected(expected)}", text=text,
                      span=span, hint=_HINTS.get(found))


_CLOSE = {"(": ")", "[": "]"}


def _unclosed(text: str) -> int | None:
    stack = []
    for i, ch in enumerate(text):
        if ch in "([":
            stack.append(i)
        elif ch in ")]" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _unmatched_close(text: str, pos: int) -> bool:
    depth = 0
    for ch in text[:pos]:
        depth += ch in "(["
        depth -= ch in ")]"
    return depth <= 0


def parse_wrt(text: str) -> list[tuple[str, tuple[int, int]]]:
    """The ``wrt`` argument: a name, or a vector literal of names ``[x, y]``."""
    node = parse_syntax(text)
    items = node.operands if is_literal(node) else (node,)
    out = []
    for item in items:
        if not isinstance(item, Var):
            raise ParseError("--wrt takes a variable name or a vector of names like [x, y]",
                             text=text, span=item.span)
        out.append((item.name, item.span))
    return out

