"""The derivation step by step, the way the paper teaches it (Parr & Howard, "The Chain Rules").

The paper's process, for ``∂y/∂x``:

1. introduce intermediate variables, one per operation (u₁ = x³, u₂ = sin(u₁), …);
2. take the partial Jacobian of each w.r.t. its operands, from the rule table;
3. pick the chain rule: single-variable (one data-flow path, all scalars), single-variable
   total-derivative (several paths, all scalars) or vector (a vector or matrix anywhere);
4. multiply the partials along the paths, adding the paths, with the shapes multiplying out;
5. simplify, and substitute the intermediate variables back.

This module builds those records and prints them as text, LaTeX (an ``aligned`` block) and JSON.
It computes no derivative of its own: every local Jacobian is an entry's ``partials`` from
``RULES`` (named by the entry's ``jacobian_doc``), and the last line is the engine's result.  How
operations are grouped and named follows each entry's ``steps`` data (``rules.StepRule``), which
encodes the paper's worked examples:

* names: ``u`` for one intermediate, ``u, v`` for two on one path (§9), ``u₁ … uₖ`` otherwise,
  the result ``uₖ₊₁`` (y = uₖ₊₁) as in §1; ``y`` for the result (``C``, the paper's cost, when
  ``y`` is an input, §9);
* an affine function of the variable, built by linear operations (``linear``), is one step; one
  that takes a dot or matrix product of the inputs is the paper's ``z`` (z = w·x + b, §8);
* a reduction of an element-wise function of one argument is one step (``absorbs``):
  sum(f(x)) (§5), C = 1/N Σ v² (§9);
* a whole function that is one operation with a paper rewriting is rewritten (``expand``): the
  dot product as u = w ⊗ x, y = sum(u) (§5);
* a vector of functions of a scalar is taken layer by layer as y = f(g(x)) (``layers``, §6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import expr as E
from . import layout as L
from . import render
from .differentiate import depends, derivative, forward
from .expr import Call, Const, Expr, Var
from .rules import RULES, column_of, diagonal_rows, product_as_written, rule_for
from .shapes import SCALAR, Shape, as_sympy, dim, dim_str
from .simplify import frozen as frozen_nodes
from .simplify import rebuild, simplify

SINGLE = "single-variable chain rule"
TOTAL = "single-variable total-derivative chain rule"
VECTOR = "vector chain rule"
NONE = "no chain rule"

# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Intermediate:
    """One intermediate variable: ``var = definition``; ``value`` is the definition with every
    earlier intermediate substituted back (the user's own subexpression)."""

    var: Var
    definition: Expr
    value: Expr
    ops: tuple[str, ...]                 # the rule-table entries this step applies
    kind: str = "operation"              # operation | affine | reduction | layer
    alias: str = ""                      # the result's other name: y = u₄
    components: tuple[Var, ...] = ()     # a layer's entries g₁, g₂ (§6)
    component_values: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Partial:
    """The local partial Jacobian ``∂of/∂wrt`` (numerator layout, vec for matrices)."""

    of: Intermediate
    wrt: Var
    jacobian: Expr
    rule: str


@dataclass(frozen=True)
class ChainLine:
    """One application of the chain rule: ``∂of/∂x = Σ over terms of the product of factors``.
    Each term is a tuple of ((of, wrt), Jacobian) factors; ``product`` is the unsimplified sum of
    products and ``value`` its simplification (both in the intermediate variables)."""

    of: Intermediate
    terms: tuple[tuple[tuple[tuple[Var, Var], Expr], ...], ...]
    product: Expr
    value: Expr


@dataclass
class Derivation:
    """The steps of ``∂f/∂x`` for one variable ``x``."""

    function: Expr
    wrt: Var
    rewrite: tuple[Expr, Expr] | None = None
    intermediates: list[Intermediate] = field(default_factory=list)
    partials: list[Partial] = field(default_factory=list)
    chain_rule: str = NONE
    reason: str = ""
    paths: int = 0
    lines: list[ChainLine] = field(default_factory=list)
    simplified: Expr | None = None       # ∂y/∂x in the intermediate variables
    substituted: Expr | None = None      # … with the intermediates substituted back
    result: Expr | None = None           # … simplified: in the inputs only
    _names: frozenset = frozenset()

    @property
    def root(self) -> Intermediate | None:
        return self.intermediates[-1] if self.intermediates else None

    def substitutions(self) -> list[Intermediate]:
        """The intermediates substituted back (those the result uses, and those their
        definitions use), innermost first."""
        if self.simplified is None:
            return []
        used = _var_names(self.simplified)
        out = []
        for s in reversed(self.intermediates):
            if s.var.name in used or any(c.name in used for c in s.components):
                out.append(s)
                used |= _var_names(s.definition)
        return out[::-1]


@dataclass
class Steps:
    """The derivation of a ``Derivative``: one ``Derivation`` per variable (two or more only for
    a vector literal ``[x, y]``), and the final line, which is the engine's result."""

    derivations: list[Derivation]
    result_text: str
    result_latex: str
    result_shape: str
    wrt_text: str
    final_note: str = ""

    @property
    def chain_rule(self) -> str:
        return self.derivations[0].chain_rule

    @property
    def intermediates(self) -> list[Intermediate]:
        return self.derivations[0].intermediates

    @property
    def partials(self) -> list[Partial]:
        return self.derivations[0].partials

    @property
    def text(self) -> str:
        return _Text().render(self)

    @property
    def latex(self) -> str:
        return _Latex().render(self)

    def as_dict(self) -> dict:
        return _as_dict(self)

    @property
    def json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Steps ∂/∂{self.wrt_text}: {self.chain_rule}, {len(self.intermediates)} steps>"

    def _repr_latex_(self) -> str:
        return f"$${self.latex}$$"


# ---------------------------------------------------------------------------------------------
# Building a derivation


def build(f: Expr, wrt: tuple[Var, ...], literal: bool, result: Expr, result_shape: str,
          layout: str = "numerator") -> Steps:
    """The steps of ∂f/∂wrt whose engine result (layout applied, simplified) is ``result``;
    the derivation itself is in numerator layout, the paper's."""
    derivations = [derive(f, x) for x in wrt]
    wrt_text = wrt[0].name if not literal else "[" + ", ".join(v.name for v in wrt) + "]"
    x = wrt[0].shape if not literal else Shape((dim(len(wrt)),))
    notes = []
    if literal:
        notes.append("the derivatives w.r.t. " + ", ".join(v.name for v in wrt) +
                     " side by side")
    elif f.shape.is_scalar and x.is_matrix:
        notes.append(f"the same entries in the shape of {wrt_text}")
    probe = E.var("_", Shape((dim(2),)))
    if layout != "numerator" and L.convert(probe, f.shape, x, layout) != probe:
        notes.append("denominator layout: the transpose")
    return Steps(derivations, render.text(result), render.latex(result), result_shape,
                 wrt_text, "; ".join(notes))


def derive(f: Expr, x: Var) -> Derivation:
    """The paper's derivation of ∂f/∂x (numerator layout)."""
    d = Derivation(f, x)
    inputs = set(E.free_vars(f)) | {x.name}
    dep = depends(f, x.name)
    if f not in dep or isinstance(f, Var):
        return _trivial(d, f, x, dep)
    missing = sorted({n.op for n in dep if isinstance(n, Call) and rule_for(n).partials is None})
    if missing:
        return _whole(d, f, x, inputs, missing)
    groups = _groups(f, dep)
    expand = rule_for(f).steps.expand
    if expand is not None and len(groups[-1]) == 1:     # the paper's rewriting (§5)
        g = expand(*f.operands)
        d.rewrite = (f, g)
        f = g
        dep = depends(f, x.name)
        groups = _groups(f, dep)
    layered = _layered(d, f, x, dep, inputs) if rule_for(f).steps.layers else False
    if not layered:
        _generic(d, f, x, dep, groups, inputs)
    _finish(d)
    return d


def _trivial(d: Derivation, f: Expr, x: Var, dep) -> Derivation:
    """y = x (∂x/∂x = I), or y independent of x (0)."""
    if f in dep:
        d.result = E.identity(x.shape.size) if not x.shape.is_scalar else E.const(1)
        d.reason = f"the function is {x.name} itself: the Jacobian of the identity"
    else:
        d.result = derivative(f, x)
        d.reason = f"the expression does not depend on {x.name}"
    d.simplified = d.substituted = d.result
    return d


def _whole(d: Derivation, f: Call, x: Var, inputs: set[str], missing: list[str]) -> Derivation:
    """One step for the whole function when an operation has no structured Jacobian (only a
    vector-Jacobian product, like diag): its derivative is the engine's."""
    name = _free(("y", "C", "f", "F"), inputs) or "result"
    step = Intermediate(E.var(name, f.shape), f, f, tuple(dict.fromkeys(
        n.op for n in E.topological(f) if isinstance(n, Call))), "whole")
    d.intermediates.append(step)
    d._names = frozenset({name})
    jac = simplify(derivative(f, x))
    d.partials.append(Partial(step, x, jac, f"matcalc's reverse-mode rules: "
                              f"{', '.join(missing)} has no structured Jacobian to show"))
    d.reason = f"the derivative as one step: {', '.join(missing)} has no structured Jacobian"
    d.simplified = jac
    _finish(d)
    return d


# --- intermediate variables: which operations make one step --------------------------------


def _dependent_operands(n: Call, dep) -> list[Expr]:
    return [a for a in n.operands if a in dep]


def _linear(n: Call, dep) -> bool:
    """Linear in its operands that depend on the variable (so part of an affine step)."""
    kind = rule_for(n).steps.linear
    return kind == "all" or (kind == "one" and len(_dependent_operands(n, dep)) <= 1)


def _elementwise_of_one(n: Expr, dep) -> bool:
    """An element-wise function of one argument (exp(v), v², not w ⊙ x)."""
    if not isinstance(n, Call):
        return False
    rule = rule_for(n)
    others = [a for a in n.operands if not isinstance(a, Const)]
    return rule.family in ("elementwise", "elementwise2") and len(others) == 1 and \
        not _linear(n, dep)


def _groups(f: Expr, dep) -> list[list[Call]]:
    """The steps: lists of operations, each list's last one the step's root, in data-flow
    order.  An operation joins its only consumer when both are linear in the variable (an
    affine step), or when the consumer is a reduction that absorbs it (sum(f(x)))."""
    nodes = [n for n in E.topological(f) if n in dep and isinstance(n, Call)]
    uses: dict[Expr, int] = {}
    for n in nodes:
        for a in n.operands:
            if a in dep:
                uses[a] = uses.get(a, 0) + 1
    into: dict[Expr, Expr] = {}
    for n in nodes:
        absorbs = rule_for(n).steps.absorbs
        for c in set(_dependent_operands(n, dep)):
            if not isinstance(c, Call) or uses.get(c, 0) != 1:
                continue
            if (_linear(n, dep) and _linear(c, dep)) or (absorbs and _elementwise_of_one(c, dep)):
                into[c] = n
    members: dict[Expr, list[Call]] = {}
    for n in nodes:
        top = n
        while top in into:
            top = into[top]
        members.setdefault(top, []).append(n)
    return [members[n] for n in nodes if n not in into]


def _replace(e: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """``e`` with subexpressions replaced, every other operation kept exactly as it is (no
    smart constructor folds the user's operations into others)."""
    return E.substitute(e, mapping, lambda n, args: E.call(n.op, args, n.shape, n.params))


def _contains_bilinear(e: Expr) -> bool:
    return any(isinstance(n, Call) and RULES[n.op].family == "bilinear"
               for n in E.topological(e))


def _free(candidates, taken) -> str | None:
    for c in candidates:
        if c not in taken and not any(t.startswith(c + "_") for t in taken):
            return c
    return None


def _generic(d: Derivation, f: Expr, x: Var, dep, groups, inputs: set[str]) -> None:
    """One intermediate variable per step of ``groups``; partials, chain rule, products."""
    roots = [g[-1] for g in groups]
    # which steps feed which, and how many data-flow paths reach each
    feeds = {r: [a for a in dict.fromkeys(_leaves(r, set(g), dep))] for r, g in zip(roots, groups)}
    paths: dict[Expr, int] = {x: 1}
    for r in roots:
        paths[r] = sum(paths.get(a, 0) for a in feeds[r])
    total_paths = paths[f]

    # names
    affine = [r for r, g in zip(roots, groups) if r is not f and all(_linear(n, dep) for n in g)
              and all(a == x for a in feeds[r]) and _contains_bilinear(r)]
    others = [r for r in roots if r is not f and r not in affine]
    taken = set(inputs)
    result_name = _free(("y", "C", "f", "F"), taken) or "result"
    taken.add(result_name)
    names: dict[Expr, str] = {}
    z = _free(("z", "h", "a"), taken) or "zz" if affine else ""
    taken.add(z)
    for i, r in enumerate(affine):
        names[r] = z if len(affine) == 1 else f"{z}_{i + 1}"
    k = len(others)
    alias = ""
    if k and total_paths == 1 and k <= 2:
        pair = next(((a, b) for a, b in (("u", "v"), ("p", "q"), ("s", "t"))
                     if _free((a, b), taken) == a and _free((b,), taken) == b), None)
        if pair is None:
            pair = ("u", "v")
        for r, name in zip(others, pair):
            names[r] = name
        names[f] = result_name
    elif k:
        base = _free(("u", "p", "s", "t"), taken) or "u"
        for i, r in enumerate(others):
            names[r] = f"{base}_{i + 1}"
        names[f] = f"{base}_{k + 1}"
        alias = result_name
    else:
        names[f] = result_name

    # the records
    var_of: dict[Expr, Var] = {r: E.var(names[r], r.shape) for r in roots}
    steps: dict[Expr, Intermediate] = {}
    for r, g in zip(roots, groups):
        mapping = {a: var_of[a] for a in feeds[r] if a in var_of}
        definition = _replace(r, mapping)
        kind = "operation" if len(g) == 1 else (
            "affine" if all(_linear(n, dep) for n in g) else "reduction")
        step = Intermediate(var_of[r], definition, r, tuple(n.op for n in g), kind,
                            alias if r is f else "")
        steps[r] = step
        d.intermediates.append(step)
    d._names = frozenset(names.values())

    local: dict[tuple[Expr, Expr], Partial] = {}
    for r in roots:
        step = steps[r]
        for a in feeds[r]:
            wrt = var_of.get(a, x)
            jac, rule = _local_partial(step, wrt)
            p = Partial(step, wrt, jac, rule)
            local[(r, a)] = p
            d.partials.append(p)

    # which chain rule
    scalars = x.shape.is_scalar and all(r.shape.is_scalar for r in roots)
    d.paths = total_paths
    chain = [x] + [r for r in roots]
    if len(roots) == 1:
        d.chain_rule = NONE
        d.reason = _no_chain_reason(steps[f], x)
    elif scalars:
        d.chain_rule = SINGLE if total_paths == 1 else TOTAL
        d.reason = (f"one data-flow path {_path(chain, names, x)}, and every variable is a scalar"
                    if total_paths == 1 else
                    f"{total_paths} data-flow paths, {_paths(f, feeds, names, x)}, every variable "
                    f"a scalar: add the contribution of every path")
    else:
        d.chain_rule = VECTOR
        what = _kinds([(x.name, x.shape)] + [(names[r], r.shape) for r in roots])
        how = (f"one data-flow path {_path(chain, names, x)}" if total_paths == 1 else
               f"{total_paths} data-flow paths, {_paths(f, feeds, names, x)}, added")
        d.reason = f"{what}: multiply Jacobians; {how}"

    # the products
    if len(roots) == 1:
        only = local[(f, x)]
        d.simplified = simplify(only.jacobian)
    elif total_paths == 1:
        factors = []
        node = f
        while node != x:
            a = feeds[node][0]
            p = local[(node, a)]
            factors.append((_label(p), p.jacobian))
            node = a
        product = E.matmul(*(j for _, j in factors))
        value = simplify(product)
        d.lines.append(ChainLine(steps[f], (tuple(factors),), product, value))
        d.simplified = value
    else:
        totals: dict[Expr, Expr] = {x: None}
        for r in roots:
            terms, products = [], []
            for a in feeds[r]:
                p = local[(r, a)]
                if a == x:
                    terms.append(((_label(p), p.jacobian),))
                    products.append(p.jacobian)
                else:
                    t = totals[a]
                    terms.append(((_label(p), p.jacobian),
                                  (_total_label(steps[a], x), t)))
                    products.append(E.matmul(p.jacobian, t))
            product = E.add(*products)
            value = simplify(product)
            totals[r] = value
            if feeds[r] != [x]:
                d.lines.append(ChainLine(steps[r], tuple(terms), product, value))
        d.simplified = totals[f]


def _leaves(root: Call, members: set, dep) -> list[Expr]:
    """The dependent operands of a step: the variable and other steps' roots, in order."""
    out = []
    stack = [root]
    seen = set()
    while stack:
        n = stack.pop()
        for a in n.operands:
            if a not in dep:
                continue
            if a in members and a not in seen:
                seen.add(a)
                stack.append(a)
            elif a not in members:
                out.append(a)
    return out


def _local_partial(step: Intermediate, wrt: Var) -> tuple[Expr, str]:
    """∂step/∂wrt from the rule table: the entry's own partial for one operation, the partials
    of its operations multiplied along the step for a group (an affine function, sum(f(x)))."""
    definition = step.definition
    root = definition
    names: list[str] = []
    jac = forward(definition, wrt, depends(definition, wrt.name), outputs={root: step.var},
                  record=lambda rule, i, n, a: names.append(_rule_name(rule, i, n, a)))
    if len(step.ops) > 1 or sum(1 for a in root.operands if a == wrt) > 1:
        jac = simplify(jac)
    if step.kind == "affine" and _contains_bilinear(definition):
        rule = f"affine in {_sub(wrt.name)} (§8): the sum of its terms' partials"
    elif step.kind == "affine":
        rule = f"terms linear in {_sub(wrt.name)}: the sum rule (§1)"
    elif step.kind == "reduction":
        rule = f"{RULES[step.ops[-1]].text} of an element-wise function (§5): " + \
            "; ".join(dict.fromkeys(names))
    else:
        rule = "; ".join(dict.fromkeys(names))
    return jac, rule


def _rule_name(rule, i: int, node: Call, arg: Expr) -> str:
    """The rule's name for the partial w.r.t. its ``i``-th argument, from the table."""
    if node.shape.is_scalar and arg.shape.is_scalar and all(
            a.shape.is_scalar for a in node.operands):
        names = rule.steps.scalar
        if i in names or "*" in names:
            return names.get(i, names.get("*"))
        if rule.family == "elementwise" and rule.doc:
            return rule.doc
    if arg.shape.is_scalar and not node.shape.is_scalar and rule.family == "elementwise2":
        return f"element-wise {rule.text}, scalar expansion (§4): a column"
    doc = rule.jacobian_doc
    return doc.get(i, doc.get("*", rule.doc or rule.name))


def _kinds(named: list[tuple[str, Shape]]) -> str:
    """``w is a vector``, ``z, u and v are vectors, W is a matrix``."""
    parts = []
    for kind, test in (("vector", lambda s: s.is_vector or s.is_row),
                       ("matrix", lambda s: s.is_matrix and not s.is_row)):
        names = [_sub(n) for n, s in named if test(s)]
        if not names:
            continue
        plural = "matrices" if kind == "matrix" else "vectors"
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"{who} is a {kind}" if len(names) == 1 else f"{who} are {plural}")
    return ", ".join(parts)


def _no_chain_reason(step: Intermediate, x: Var) -> str:
    if step.kind == "affine":
        return f"the function is affine in {_sub(x.name)}: the sum rule gives the derivative"
    return f"one operation on {_sub(x.name)}: its partial from the rule table is the derivative"


def _paths(root, feeds, names, x, most: int = 4) -> str:
    """The data-flow paths from x to the root, ``x → u₂ and x → u₁ → u₂`` (at most ``most``)."""
    found: list[list] = []
    stack = [[root]]
    while stack and len(found) <= most:
        path = stack.pop()
        if path[-1] == x:
            found.append(path[::-1])
            continue
        stack.extend(path + [a] for a in reversed(feeds[path[-1]]))
    texts = [_path(p, names, x) for p in found[:most]]
    more = " …" if len(found) > most else ""
    return (", ".join(texts[:-1]) + " and " + texts[-1] if len(texts) > 1 else texts[0]) + more


def _path(chain, names, x) -> str:
    return " → ".join(_sub(x.name) if n == x else _sub(names[n]) for n in chain)


# --- a vector of functions, layer by layer (§6) -----------------------------------------------


def _layered(d: Derivation, f: Call, x: Var, dep, inputs: set[str]) -> bool:
    """y = [f₁(g₁(x)), f₂(g₂(x))] as y = f(g(x)) (§6): each layer a vector intermediate whose
    Jacobian is diagonal because fᵢ depends on gᵢ only.  False when the entries are not chains
    of one-argument operations of a scalar x."""
    if not x.shape.is_scalar:
        return False
    chains = []
    seen: set = set()
    for e in f.operands:
        chain = []
        n = e
        while n in dep and n != x:
            ops = [a for a in n.operands if a in dep]
            if len(ops) != 1 or n in seen:
                return False
            seen.add(n)
            chain.append(n)
            n = ops[0]
        chains.append(list(reversed(chain)))
    depth = max(len(c) for c in chains)
    letters = {1: ("f",), 2: ("g", "f"), 3: ("h", "g", "f")}.get(depth)
    taken = set(inputs)
    result_name = _free(("y", "C"), taken)
    if letters is None or result_name is None or any(
            _free((c,), taken | {result_name}) != c for c in letters):
        return False
    m = len(chains)
    previous: list[Expr] = []      # the layer below, entry by entry (x for the first)
    values_below: list[Expr] = []
    layers: list[Intermediate] = []
    for j, letter in enumerate(letters):
        comps, defs, values, ops = [], [], [], []
        for i, chain in enumerate(chains):
            comp = E.var(f"{letter}_{i + 1}", SCALAR)
            if j < len(chain):
                node = chain[j]
                below = previous[i] if j else x
                sub = {chain[j - 1]: below} if j else {}
                defs.append(_replace(node, sub))
                values.append(node)
                ops.append(node.op)
            elif j == 0:           # an entry without x: a constant
                defs.append(f.operands[i])
                values.append(f.operands[i])
            else:                  # a shorter chain: the entry passes through this layer
                defs.append(previous[i])
                values.append(values_below[i])
            comps.append(comp)
        shape = Shape((dim(m),))
        var = E.var(letter, shape)
        definition = column_of(defs)
        value = column_of(values)
        step = Intermediate(var, definition, value, tuple(dict.fromkeys(ops)), "layer",
                            result_name if j == depth - 1 else "", tuple(comps), tuple(values))
        layers.append(step)
        previous, values_below = comps, values
    d.intermediates = layers
    d._names = frozenset(letters) | {c.name for s in layers for c in s.components}

    # partials: ∂g/∂x a column, ∂f/∂g diagonal
    below_step = None
    jacobians = []
    for j, step in enumerate(layers):
        entries, rules = [], []
        for i, comp_def in enumerate(step.definition.operands):
            wrt = x if j == 0 else below_step.components[i]
            if comp_def == wrt:
                entries.append(E.const(1))
                continue
            if wrt.name not in {v for v in _var_names(comp_def)}:
                entries.append(E.const(0))
                continue
            rule = rule_for(comp_def)
            k = next(k for k, a in enumerate(comp_def.operands) if a == wrt)
            entries.append(rule.partials(step.components[i], comp_def.operands,
                                         comp_def.params)[k])
            rules.append(_rule_name(rule, k, comp_def, wrt))
        if j == 0:
            jac = column_of(entries)
            wrt_var = x
        else:
            jac = diagonal_rows(entries)
            wrt_var = below_step.var
        text = "; ".join(dict.fromkeys(rules)) or "identity"
        if j:
            who = f"{_sub(step.var.name)}ᵢ depends on {_sub(wrt_var.name)}ᵢ only"
            text = f"diagonal: {who}; {text}"
        d.partials.append(Partial(step, wrt_var, jac, text))
        jacobians.append((entries, jac))
        below_step = step

    d.chain_rule = VECTOR if depth > 1 else NONE
    d.paths = 1
    d.reason = (f"{result_name} = f(g(x)) is a vector of functions of {_sub(x.name)}: multiply "
                f"Jacobians, ∂f/∂g diagonal (fᵢ depends on gᵢ only)") if depth > 1 else \
        f"one operation on {_sub(x.name)} in each entry: the rule table gives the derivative"
    if depth > 1:
        factors = tuple((_label(p), p.jacobian) for p in reversed(d.partials))
        product = product_as_written([j for _, j in factors], Shape((dim(m),)))
        value = column_of([simplify(E.mul(*(entries[i] for entries, _ in jacobians)))
                           for i in range(m)])
        d.lines.append(ChainLine(layers[-1], (factors,), product, value))
        d.simplified = value
    else:
        d.simplified = d.partials[0].jacobian
    return True


# --- simplify and substitute back ------------------------------------------------------------


def _var_names(e: Expr) -> set[str]:
    return {n.name for n in E.topological(e) if isinstance(n, Var)}


def _finish(d: Derivation) -> None:
    """Substitute the intermediates back (outermost first) and simplify."""
    if d.result is not None:
        return
    mapping: dict[Expr, Expr] = {}
    for step in d.intermediates:
        mapping[step.var] = step.value
        for c, v in zip(step.components, step.component_values):
            mapping[c] = v
    d.substituted = E.substitute(d.simplified, mapping, rebuild)
    d.result = simplify(d.substituted, frozen_nodes(d.function))


# ---------------------------------------------------------------------------------------------
# Printing


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(name: str) -> str:
    """u_1 → u₁ (the intermediates' names in text)."""
    base, _, idx = name.partition("_")
    return base + idx.translate(_SUBSCRIPT) if idx.isdigit() else name


def _label(p: Partial) -> tuple[Var, Var]:
    return (p.of.var, p.wrt)


def _total_label(step: Intermediate, x: Var) -> tuple[Var, Var]:
    return (step.var, x)


def label_text(label: tuple[Var, Var]) -> str:
    """``∂u₂/∂u₁``."""
    return f"∂{_sub(label[0].name)}/∂{_sub(label[1].name)}"


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _dim(d) -> str:
    """A dimension as text: ``n``, ``mn``, ``n²`` (the length of vec of an n×n matrix)."""
    d = as_sympy(d)
    if d.is_Pow and d.exp.is_Integer and d.base.is_Symbol:
        return str(d.base) + str(d.exp).translate(_SUPERSCRIPT)
    if d.is_Mul:
        return "".join(_dim(f) for f in d.as_ordered_factors())
    return dim_str(d)


def shape_text(shape: Shape) -> str:
    """``1×1``, ``n×1``, ``1×n``, ``m×n``."""
    if shape.is_scalar:
        return "1×1"
    if shape.is_vector:
        return f"{_dim(shape.dims[0])}×1"
    return "×".join(_dim(x) for x in shape.dims)


def _shapes_line(line: ChainLine) -> str:
    """``(1×n)(n×n) = 1×n`` for each term, added terms joined by +."""
    terms = ["".join(f"({shape_text(j.shape)})" for _, j in t) for t in line.terms]
    return " + ".join(terms) + f" = {shape_text(line.product.shape)}"


class _TextStyle(render.Style):
    """matcalc's text, with the intermediates' subscripts: u_1 prints u₁."""

    def __init__(self, names=frozenset()):
        self.names = names

    def name(self, v: Var) -> str:
        return _sub(v.name) if v.name in self.names else v.name


class _LatexStyle(render.LatexStyle):
    def __init__(self, names=frozenset()):
        self.names = names


class _Printer:
    """Shared by the text and LaTeX renderings: a style, expressions, the lines' layout."""

    latex = False

    def __init__(self):
        self.names: frozenset = frozenset()

    def style(self):
        return (_LatexStyle if self.latex else _TextStyle)(self.names)

    def expr(self, e: Expr, cases: bool = True) -> str:
        style = self.style()
        branches = render.split_cases(e) if cases else None
        if branches is None:
            return render.printed(e, style)     # (a huge tree with its pieces named)
        return render.cases_text(branches, render.Printer(style), style)

    def factor(self, e: Expr) -> str:
        return render.printed(e, self.style(), render.POW)

    def var(self, v: Var) -> str:
        return render.Printer(self.style())(v)


@dataclass(frozen=True)
class _Head:
    """A section heading: text, then (optionally) mathematics."""

    text: str
    math: str = ""


@dataclass(frozen=True)
class _Eq:
    """``lhs = rhs``, annotated with a shape (or shapes multiplying out) and a note."""

    lhs: str
    rhs: str
    shape: str = ""
    note: str = ""


def _steps_rows(p: _Printer, steps: Steps) -> list:
    rows: list = []
    for d in steps.derivations:
        p.names = d._names
        if len(steps.derivations) > 1:
            rows.append(_Head(f"With respect to {d.wrt.name}:"))
        number = 0
        for r in _derivation_rows(p, d):
            if isinstance(r, _Head) and r.text.startswith("#"):
                number += 1
                r = _Head(f"{number}. {r.text[2:]}", r.math)
            rows.append(r)
    if len(steps.derivations) > 1:
        rows.append(_Head("Together:"))
    return rows


def _frac(p: _Printer, top: str, bottom: str) -> str:
    if p.latex:
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"
    return f"∂{top}/∂{bottom}"


def _derivation_rows(p: _Printer, d: Derivation) -> list:
    rows: list = []
    x = p.var(d.wrt)
    root = d.root
    if root is None:
        rows.append(_Head(_cap(d.reason)))
        rows.append(_Eq(_frac(p, "y", x), p.expr(d.result), shape_text(d.result.shape)))
        return rows
    y = p.var(E.var(root.alias, root.var.shape)) if root.alias else p.var(root.var)
    rows.append(_Head("# Intermediate variables, one per operation"))
    if d.rewrite is not None:
        rows.append(_Eq(p.expr(d.rewrite[0]), p.expr(d.rewrite[1]), "",
                        "the dot product as a sum (§5)"))
    for s in d.intermediates:
        notes = [_KIND_NOTE.get(s.kind, "") if s.kind != "affine" or
                 _contains_bilinear(s.definition) else ""]
        if s.alias:
            notes.append(f"the result: {s.alias} = {_sub(s.var.name)}")
        if s.components:
            notes.append("entries " + ", ".join(_sub(c.name) for c in s.components))
        rows.append(_Eq(p.var(s.var), p.expr(s.definition, cases=False),
                        shape_text(s.var.shape), "; ".join(n for n in notes if n)))
    rows.append(_Head("# Partial derivatives, from the rule table"))
    for q in d.partials:
        rows.append(_Eq(_frac(p, p.var(q.of.var), p.var(q.wrt)), p.expr(q.jacobian),
                        shape_text(q.jacobian.shape), q.rule))
    rows.append(_Head(f"# {_cap(d.chain_rule)}: {d.reason}"))
    if d.lines:
        rows.append(_Head("# Multiply" + (", adding the paths" if d.paths > 1 else "")))
        for line in d.lines:
            symbolic = " + ".join(" ".join(_label_print(p, lab) for lab, _ in t)
                                  for t in line.terms)
            rows.append(_Eq(_frac(p, p.var(line.of.var), x), symbolic))
            raw = " + ".join(" ".join(p.factor(j) for _, j in t) for t in line.terms)
            rows.append(_Eq("", raw, _shapes_line(line)))
            value = p.expr(line.value)
            if value != raw:
                rows.append(_Eq("", value))
    subs = d.substitutions()
    final = _frac(p, y, x)
    if subs:
        what = (r",\; " if p.latex else ", ").join(
            f"{p.var(s.var)} = {p.expr(s.definition, cases=False)}" for s in reversed(subs))
        rows.append(_Head("# Substitute back", what))
        raw = p.expr(d.substituted)
        rows.append(_Eq(final, raw))
        done = p.expr(d.result)
        if done != raw:
            rows.append(_Eq("", done, "", "simplified"))
    else:
        rows.append(_Head("# No intermediate variable is left to substitute"))
        rows.append(_Eq(final, p.expr(d.result)))
    return rows


_KIND_NOTE = {"affine": "an affine function, one step (§8)",
              "reduction": "a reduction of an element-wise function, one step (§5)"}


def _label_print(p: _Printer, label: tuple[Var, Var]) -> str:
    return _frac(p, p.var(label[0]), p.var(label[1]))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _final_rows(p: _Printer, steps: Steps, rows: list) -> list:
    """The last line is the engine's result, ``str(d)`` (or its LaTeX)."""
    last = next((r for r in reversed(rows) if isinstance(r, _Eq)), None)
    want = steps.result_latex if p.latex else steps.result_text
    if last is None or last.rhs != want or steps.final_note or len(steps.derivations) > 1:
        lhs = ""
        if len(steps.derivations) > 1:
            lhs = (r"\frac{\partial}{\partial " + _latex_text(steps.wrt_text) + "}"
                   if p.latex else f"∂/∂{steps.wrt_text}")
        rows.append(_Eq(lhs, want, steps.result_shape,
                        steps.final_note or "matcalc's result"))
    return rows


class _Text(_Printer):
    def render(self, steps: Steps) -> str:
        rows = _final_rows(self, steps, _steps_rows(self, steps))
        out = []
        width = 0
        for i, r in enumerate(rows):
            if isinstance(r, _Head):
                out.append(r.text + (f" {r.math}" if r.math else ""))
                continue
            if i == 0 or isinstance(rows[i - 1], _Head):     # align the = within a section
                width = 0
                for q in rows[i:]:
                    if isinstance(q, _Head):
                        break
                    width = max(width, len(q.lhs))
            line = f"    {r.lhs.rjust(width)} = {r.rhs}"
            note = "; ".join(n for n in (r.shape, r.note) if n)
            if note:
                line += f"    [{note}]"
            out.append(line)
        return "\n".join(out)


class _Latex(_Printer):
    latex = True

    def render(self, steps: Steps) -> str:
        rows = _final_rows(self, steps, _steps_rows(self, steps))
        body = []
        for r in rows:
            if isinstance(r, _Head):
                math = rf"\; {r.math}" if r.math else ""
                body.append(rf"&\text{{{_latex_text(r.text)}}}{math}")
                continue
            line = f"{r.lhs} &= {r.rhs}"
            notes = []
            if r.shape:
                notes.append(_math_text(r.shape))
            if r.note:
                notes.append(rf"\text{{{_latex_text(r.note)}}}")
            if notes:
                line += r" && " + r" \quad ".join(notes)
            body.append(line)
        return "\\begin{aligned}\n" + " \\\\\n".join(body) + "\n\\end{aligned}"


_TEXT_MATH = {
    "⊙": r"\odot", "⊘": r"\oslash", "⊗": r"\otimes", "·": r"\cdot", "′": r"'", "𝟙": r"\mathbf{1}",
    "−": "-", "≤": r"\le", "→": r"\to", "∂": r"\partial", "σ": r"\sigma", "√": r"\surd",
    "Σ": r"\Sigma", "‖": r"\|", "×": r"\times", "ᵀ": r"^{\top}", "Φ": r"\Phi",
    "φ": r"\varphi", "π": r"\pi",
}
_SUPERSCRIPTS = {**dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ⁿᵖ", "0123456789-np")), "ᵀ": r"\top "}
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢ", "0123456789i"))


def _scripts(s: str, i: int, table: dict, mark: str):
    """A run of Unicode super- or subscripts at ``i`` as ``^{…}`` / ``_{…}``, and its end."""
    j = i
    while j < len(s) and s[j] in table:
        j += 1
    inner = "".join(table[s[k]] for k in range(i, j))
    return f"{mark}{{{inner.strip()}}}", j


def _math_text(s: str) -> str:
    """A shape or another short Unicode formula (``1×n²``) as LaTeX mathematics."""
    out = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _SUPERSCRIPTS:
            text, i = _scripts(s, i, _SUPERSCRIPTS, "^")
            out.append(text)
            continue
        if ch in _SUBSCRIPTS:
            text, i = _scripts(s, i, _SUBSCRIPTS, "_")
            out.append(text)
            continue
        out.append(" " + _TEXT_MATH[ch] + " " if ch in _TEXT_MATH else ch)
        i += 1
    return "".join(out).replace("  ", " ").strip()


def _latex_text(s: str) -> str:
    """Plain text for ``\\text{…}``: TeX's special characters escaped, Unicode mathematics
    (⊙, 𝟙ᵀ, X⁻ᵀ, u₁) as inline math."""
    out = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _SUPERSCRIPTS or ch in _SUBSCRIPTS:
            table, mark = (_SUPERSCRIPTS, "^") if ch in _SUPERSCRIPTS else (_SUBSCRIPTS, "_")
            text, i = _scripts(s, i, table, mark)
            out.append(f"${{}}{text}$")
            continue
        if ch in _TEXT_MATH:
            out.append(f"${_TEXT_MATH[ch]}$")
        elif ch in "#$%&_{}":
            out.append("\\" + ch)
        elif ch == "§":
            out.append(r"\S{}")
        elif ch == "^":
            out.append(r"\textasciicircum{}")
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# JSON


def _as_dict(steps: Steps) -> dict:
    out = []
    for d in steps.derivations:
        printers = (_Text(), _Latex())
        for printer in printers:
            printer.names = d._names

        def both(e: Expr, cases: bool = True, printers=printers):
            return {"text": printers[0].expr(e, cases), "latex": printers[1].expr(e, cases),
                    "shape": shape_text(e.shape)}

        out.append({
            "wrt": d.wrt.name,
            "rewrite": None if d.rewrite is None else {"from": both(d.rewrite[0]),
                                                       "to": both(d.rewrite[1])},
            "intermediates": [{"name": _sub(s.var.name), "alias": s.alias or None,
                               "kind": s.kind, "operations": list(s.ops),
                               "definition": both(s.definition, cases=False),
                               "value": both(s.value, cases=False)} for s in d.intermediates],
            "partials": [{"of": _sub(q.of.var.name), "wrt": _sub(q.wrt.name), "rule": q.rule,
                          "jacobian": both(q.jacobian)} for q in d.partials],
            "chain_rule": {"name": d.chain_rule, "reason": d.reason, "paths": d.paths},
            "products": [{"of": _sub(line.of.var.name),
                          "terms": [[label_text(label) for label, _ in term]
                                    for term in line.terms],
                          "shapes": _shapes_line(line),
                          "product": both(line.product, cases=False),
                          "value": both(line.value)} for line in d.lines],
            "simplified": both(d.simplified),
            "substituted": both(d.substituted),
            "result": both(d.result),
        })
    return {"wrt": steps.wrt_text, "derivations": out,
            "result": {"text": steps.result_text, "latex": steps.result_latex,
                       "shape": steps.result_shape},
            "text": steps.text, "latex": steps.latex}


__all__ = ["NONE", "SINGLE", "TOTAL", "VECTOR", "ChainLine", "Derivation", "Intermediate",
           "Partial", "Steps", "build", "derive", "label_text", "shape_text"]
