"""The one module of ``proof/`` that talks to z3: inductive invariants for every size.

Method (Ivy, mypyvy). A protocol's symbolic form (``model/symbolic.py``: plain data) is
translated into first-order logic over

- an uninterpreted sort ``Enactor`` (any number of enactors, N >= 1: z3 sorts are non-empty),
- integers for plans and endpoints, with symbolic sizes ``E >= 1``, ``K >= 0``, ``P >= 1``
  (an endpoint is an integer ``0 <= e < E``),
- one z3 array per state field (``dns: Int -> Int``, ``pc: Enactor -> Int``, ...).

A step is ``guard(pre, i, k)`` and ``post = update(pre, i, k)`` for fresh constants i
(enactor) and k (endpoint): one step of an arbitrary enactor at an arbitrary endpoint, nothing
unrolled; a predicate of the post-state is written directly over the updates.
An invariant ``Inv = c_1 and ... and c_n`` is inductive when ``Init -> c_j`` and
``Inv(pre) and Step(pre, post) -> c_j(post)`` are valid for every j and step; each is checked
as the unsatisfiability of its negation. The conjuncts of ``Inv(pre)`` are asserted with
``assert_and_track``, so an UNSAT core names the conjuncts a preservation proof used, and a
model of a satisfiable check is a counterexample to induction (CTI): a pre-state satisfying
``Inv`` and a step whose post-state breaks ``c_j``. Quantifiers stay in the array property
fragment plus bounded integer quantifiers, which z3 decides well in practice; a timeout is set
and z3's ``unknown`` is reported as its own status, never as "proved".

The same translation at a *finite* size (``successors``: an enumeration sort of N enactors,
E, K, P fixed, the pre-state fixed to an explicit state) enumerates the successors z3 sees, so
tests can compare them with the explicit model's (``tests/model/test_symbolic.py``).

Sources: Padon, McMillan, Panda, Sagiv, Shoham, "Ivy: safety verification by interactive
generalization" (PLDI 2016); Feldman, Wilcox et al., mypyvy (github.com/wilcoxjay/mypyvy);
Flanagan & Leino, "Houdini, an annotation assistant for ESC/Java" (FME 2001) for the
inference (``houdini.py``); Bradley & Manna, "Array property fragment" (VMCAI 2006); z3's
Python API (``assert_and_track``, ``unsat_core``, ``Lambda``, ``EnumSort``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import z3

from dnsrace.model.symbolic import PLAN, ENACTOR, ENDPOINT

__all__ = ["PROVED", "FAILED", "UNKNOWN", "Check", "Encoding", "successors",
           "DEFAULT_TIMEOUT_MS", "check_initiation", "check_implication", "check_preservation",
           "check_all_preserved", "check_enabled", "z3_version"]

PROVED, FAILED, UNKNOWN = "proved", "failed", "unknown"
DEFAULT_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Check:
    """One proof obligation's outcome. ``status`` proved (unsat), failed (a model: ``cti``
    holds the pre/post field values, sizes and step parameters) or unknown (``reason``).
    ``used``: names of the invariant's conjuncts in the UNSAT core (proved checks only)."""

    status: str
    seconds: float
    used: tuple = ()
    cti: dict | None = None
    reason: str = ""


class Translator:
    """Terms of ``model/symbolic.py`` to z3 expressions, in one environment."""

    def __init__(self, enactor_sort, sizes: dict, pre: dict, post: dict | None = None,
                 params: dict | None = None, finite: dict | None = None):
        self.enactor_sort = enactor_sort
        self.finite = finite  # at a finite size: sort -> its elements, quantifiers expanded
        self.sizes, self.pre, self.post = sizes, pre, post or {}
        self.params = params or {}

    def sort(self, name):
        return self.enactor_sort if name == ENACTOR else z3.IntSort()

    def __call__(self, t, env=None):
        env = env or {}
        op, a = t.op, t.args
        if op == "int":
            return z3.IntVal(a[0])
        if op == "bool":
            return z3.BoolVal(a[0])
        if op == "size":
            return self.sizes[a[0]]
        if op == "field":
            return self.pre[a[0]]
        if op == "post":
            return self.post[a[0]]
        if op == "param":
            return self.params[a[0]]
        if op == "var":
            return env[a[0]]
        if op in ("forall", "exists") and self.finite and a[0].args[1] in self.finite:
            v, body = a
            xs = [self(body, {**env, v.args[0]: x}) for x in self.finite[v.args[1]]]
            return z3.And(*xs) if op == "forall" else z3.Or(*xs)
        if op in ("forall", "exists", "lambda"):
            v, body = a
            x = z3.FreshConst(self.sort(v.args[1]), v.args[0])
            inner = self(body, {**env, v.args[0]: x})
            if op == "lambda":
                return z3.Lambda([x], inner)
            if v.args[1] == ENDPOINT:  # endpoints are 0 <= e < E
                bound = z3.And(x >= 0, x < self.sizes["E"])
                inner = z3.Implies(bound, inner) if op == "forall" else z3.And(bound, inner)
            return (z3.ForAll if op == "forall" else z3.Exists)([x], inner)
        xs = [self(x, env) for x in a]
        if op == "select":
            return z3.Select(xs[0], xs[1])
        if op == "store":
            return z3.Store(*xs)
        if op == "+":
            return xs[0] + xs[1]
        if op == "-":
            return xs[0] - xs[1]
        if op == "<":
            return xs[0] < xs[1]
        if op == "<=":
            return xs[0] <= xs[1]
        if op == "==":
            return xs[0] == xs[1]
        if op == "and":
            return z3.And(*xs)
        if op == "or":
            return z3.Or(*xs)
        if op == "not":
            return z3.Not(xs[0])
        if op == "implies":
            return z3.Implies(xs[0], xs[1])
        if op == "ite":
            return z3.If(*xs)
        raise ValueError(f"unknown term operator {op!r}")


def _field_sort(kind: str, enactor_sort):
    if kind == "int":
        return z3.IntSort()
    parts = kind.split("->")
    doms = [enactor_sort if p == ENACTOR else z3.IntSort() for p in parts[:-1]]
    rng = z3.BoolSort() if parts[-1] == "bool" else z3.IntSort()
    for d in reversed(doms):
        rng = z3.ArraySort(d, rng)
    return rng


def _initial(f, enactor_sort):
    parts = f.kind.split("->")
    value = z3.BoolVal(f.initial) if parts[-1] == "bool" else z3.IntVal(f.initial)
    for p in reversed(parts[:-1]):
        value = z3.K(enactor_sort if p == ENACTOR else z3.IntSort(), value)
    return value


def _params_of(t, out):
    if getattr(t, "op", None) == "param":
        out[t.args[0]] = t.args[1]
    for x in getattr(t, "args", ()):
        if hasattr(x, "op"):
            _params_of(x, out)
    return out


class Encoding:
    """A symbolic form in z3: sizes, a pre- and a post-state, one formula per step.

    ``sizes``/``enactor_sort`` default to the symbolic ones (every N, P, E, K); pass fixed
    values (``finite``) to instantiate the same formulas at one size."""

    def __init__(self, form, enactor_sort=None, sizes=None, finite=None, pre=None):
        self.form = form
        self.finite = finite
        self.enactor_sort = z3.DeclareSort("Enactor") if enactor_sort is None else enactor_sort
        self.sizes = sizes or {n: z3.Int(n) for n in ("E", "K", "P")}
        s = self.sizes
        self.size_facts = [s["E"] >= 1, s["K"] >= 0, s["P"] >= 1]
        self.pre = pre or self._state("")
        self._memo = {}  # translated conjuncts, by (conjunct, step)
        self.bounded = {}  # small-size encodings of the same form (see _bounded_candidate)
        self.init = [self.pre[f.name] == _initial(f, self.enactor_sort) for f in form.fields]
        self.param_sorts = {}  # step kind -> parameter name -> sort (enactor, endpoint, int)
        self.steps = [self._step(st) for st in form.steps]

    def _state(self, suffix):
        return {f.name: z3.Const(f.name + suffix, _field_sort(f.kind, self.enactor_sort))
                for f in self.form.fields}

    def _step(self, st):
        """``(step, params, guard, updates)``: ``updates`` maps every field to its
        new value (the old one when the step leaves it alone)."""
        kinds = {}
        for t in (st.guard, *st.updates.values()):
            _params_of(t, kinds)
        params = {n: z3.Const(f"{st.kind}.{n}", self.enactor_sort if sort == ENACTOR
                              else z3.IntSort()) for n, sort in kinds.items()}
        self.param_sorts[st.kind] = kinds
        tr = Translator(self.enactor_sort, self.sizes, self.pre, params=params,
                        finite=self.finite)
        guard = [tr(st.guard)]
        for n, sort in kinds.items():
            if sort == ENDPOINT:
                guard.append(z3.And(params[n] >= 0, params[n] < self.sizes["E"]))
        guard = z3.And(*guard)
        updates = {f.name: tr(st.updates[f.name]) if f.name in st.updates else self.pre[f.name]
                   for f in self.form.fields}
        return st, params, guard, updates

    def conjunct(self, c, step=None):
        """Conjunct ``c`` of the pre-state, or (``step``: an index) of the state after that
        step, written directly over the step's updates: no post-state variables, so z3 has no
        array equalities to reason about."""
        if c is _FALSE_GOAL:
            return z3.BoolVal(False)
        key = (c, step)
        if key not in self._memo:
            self._memo[key] = self._conjunct(c, step)
        return self._memo[key]

    def _conjunct(self, c, step):
        after = self.pre if step is None else self.steps[step][3]
        if c.transition:
            return Translator(self.enactor_sort, self.sizes, self.pre, after,
                              finite=self.finite)(c.term)
        return Translator(self.enactor_sort, self.sizes, after, finite=self.finite)(c.term)


def z3_version() -> str:
    return z3.get_version_string()


def _solver(timeout_ms):
    s = z3.Solver()
    s.set("timeout", int(timeout_ms))
    s._dnsrace_timeout = int(timeout_ms)
    s.set("unsat_core", True)
    return s


class _FalseGoal:
    """A goal no state satisfies: the query then asks whether the step is enabled at all."""

    name, transition = "false", False


_FALSE_GOAL = _FalseGoal()


@dataclass(frozen=True)
class _Query:
    """One proof obligation, independent of the encoding it is posed in: the invariant
    assumed (tracked), the step (an index, or None for a state check), the goal conjuncts
    (their conjunction must follow), and whether the pre-state is the initial one."""

    invariant: tuple
    step: int | None
    goals: tuple
    initial: bool = False

    def pose(self, enc):
        """(plain assertions, tracked assertions ``[(name, formula)]``) in ``enc``."""
        plain = list(enc.size_facts)
        if self.initial:
            plain += enc.init
        if self.step is not None:
            plain.append(enc.steps[self.step][2])
        plain.append(z3.Not(z3.And(*[enc.conjunct(c, self.step) for c in self.goals])))
        return plain, [(c.name, enc.conjunct(c)) for c in self.invariant]


def check_initiation(enc: Encoding, c, timeout_ms=DEFAULT_TIMEOUT_MS) -> Check:
    """Does ``c`` hold in the initial state, for every size?"""
    return _decide(enc, _Query((), None, (c,), initial=True), timeout_ms, minimise=False)


def check_implication(enc: Encoding, invariant, c, timeout_ms=DEFAULT_TIMEOUT_MS) -> Check:
    """Does ``invariant`` (conjuncts) imply the state predicate ``c``?"""
    return _decide(enc, _Query(tuple(invariant), None, (c,)), timeout_ms)


def check_preservation(enc: Encoding, invariant, step_index: int, c,
                       timeout_ms=DEFAULT_TIMEOUT_MS, minimise=True) -> Check:
    """Does step ``step_index`` from any state satisfying ``invariant`` satisfy ``c`` after
    (``c`` a state predicate), or satisfy ``c`` itself (a transition predicate)? With
    ``minimise``, small counterexamples are looked for first (readable, and fast to find
    when the candidate is likely to fail, as in Houdini's first round)."""
    return _decide(enc, _Query(tuple(invariant), step_index, (c,)), timeout_ms, minimise)


def check_all_preserved(enc: Encoding, invariant, step_index: int,
                        timeout_ms=DEFAULT_TIMEOUT_MS, minimise=False) -> Check:
    """Does step ``step_index`` preserve every conjunct of ``invariant`` at once? (One call
    instead of one per conjunct when, as usual, it does; ``used`` is the UNSAT core.)"""
    return _decide(enc, _Query(tuple(invariant), step_index, tuple(invariant)), timeout_ms,
                   minimise)


def check_enabled(enc: Encoding, invariant, step_index: int,
                  timeout_ms=DEFAULT_TIMEOUT_MS) -> Check:
    """Is step ``step_index`` enabled in some state satisfying ``invariant``? (``FAILED``
    with a witness means yes: a proof whose steps are never enabled would be vacuous.)"""
    return _decide(enc, _Query(tuple(invariant), step_index, (_FALSE_GOAL,)), timeout_ms)


FIRST_TRY_MS = 1_000
SMALL_SIZES = ((2, 2, 3), (3, 3, 5))  # enactors, endpoints, plans


def _decide(enc, q: _Query, timeout_ms, minimise=True) -> Check:
    """Decides ``q``. z3 proves the unsatisfiable obligations quickly but can be slow to build
    a model of a satisfiable one with quantifiers. So: the symbolic check for a short while;
    if still open, a quantifier-free search for a counterexample at small sizes
    (``_small_model``: each candidate is confirmed by the symbolic check with its pre-state
    pinned, so it is a genuine model); only then the symbolic check up to the timeout. With
    ``minimise``, a counterexample is looked for at the smallest sizes first."""
    t0 = time.perf_counter()
    st = enc.steps[q.step][0] if q.step is not None else None
    if minimise:
        cti = _small_model(enc, q, timeout_ms)
        if cti is not None:
            return Check(FAILED, time.perf_counter() - t0, cti=cti)
    s = _solver(timeout_ms)
    plain, tracked = q.pose(enc)
    s.add(*plain)
    tags = {}
    for name, formula in tracked:
        tag = z3.Bool(f"inv:{name}")
        tags[str(tag)] = name
        s.assert_and_track(formula, tag)
    s.push()
    try:
        s.set("timeout", min(FIRST_TRY_MS, int(timeout_ms)))
        r = s.check()
        if r == z3.unknown:
            cti = None if minimise else _small_model(enc, q, timeout_ms)
            if cti is not None:
                return Check(FAILED, time.perf_counter() - t0, cti=cti)
            s.set("timeout", int(timeout_ms))
            r = s.check()
        dt = time.perf_counter() - t0
        if r == z3.unsat:
            used = tuple(sorted(tags[str(x)] for x in s.unsat_core() if str(x) in tags))
            return Check(PROVED, dt, used)
        if r == z3.sat:
            params = enc.steps[q.step][1] if q.step is not None else {}
            return Check(FAILED, dt, cti=_values(enc, s.model(), st, params))
        return Check(UNKNOWN, dt, reason=s.reason_unknown())
    finally:
        s.pop()


def _small_model(enc, q: _Query, timeout_ms):
    """A counterexample to ``q`` at one of ``SMALL_SIZES`` (plain values), or None."""
    for n, e, p in SMALL_SIZES:
        values = _bounded_candidate(enc, q, n, e, p, timeout_ms)
        if values is None:
            continue
        confirmed = _confirm(enc, q, values, timeout_ms)
        if confirmed is not None:
            return confirmed
    return None


def _bounded_candidate(symbolic, q, n, e, p, timeout_ms):
    """A model of ``q`` with n enactors, e endpoints, plans 1..p, K <= p: quantifiers
    expanded, plan sets of finite support. Returns its plain values, or None."""
    if (n, e, p) not in symbolic.bounded:
        sort, names = z3.EnumSort(f"Small{n}_{next(_counter)}", [f"a{j}" for j in range(n)])
        sizes = {"E": z3.IntVal(e), "P": z3.IntVal(p), "K": z3.Int("K")}
        plans = [z3.IntVal(v) for v in range(-1, p + 3)]
        finite = {ENACTOR: list(names), ENDPOINT: [z3.IntVal(x) for x in range(e)], PLAN: plans}
        symbolic.bounded[(n, e, p)] = (Encoding(symbolic.form, sort, sizes, finite,
                                                pre=_finite_support_state(symbolic.form, sort, p)),
                                       names)
    enc, names = symbolic.bounded[(n, e, p)]
    sizes = enc.sizes
    s = z3.Solver()
    s.set("timeout", int(min(timeout_ms, 5_000)))
    plain, tracked = q.pose(enc)
    s.add(*plain, *(f for _, f in tracked), sizes["K"] <= p)
    if s.check() != z3.sat:
        return None
    m = s.model()
    st = enc.steps[q.step][0] if q.step is not None else None
    params = enc.steps[q.step][1] if q.step is not None else {}
    return _values(enc, m, st, params, enactors=list(names))


_counter = iter(range(1 << 62))


def _finite_support_state(form, sort, p):
    """Pre-state fields whose plan sets lie within 1..p (fresh functions inside)."""
    out = {}
    for f in form.fields:
        fs = _field_sort(f.kind, sort)
        if f.kind == "plan->bool":
            b = z3.Function(f"{f.name}.b", z3.IntSort(), z3.BoolSort())
            v = z3.Int("v")
            out[f.name] = z3.Lambda([v], z3.And(v >= 1, v <= p, b(v)))
        elif f.kind == "enactor->plan->bool":
            b = z3.Function(f"{f.name}.b", sort, z3.IntSort(), z3.BoolSort())
            a, v = z3.Const("a", sort), z3.Int("v")
            out[f.name] = z3.Lambda([a], z3.Lambda([v], z3.And(v >= 1, v <= p, b(a, v))))
        else:
            out[f.name] = z3.Const(f.name, fs)
    return out


def _confirm(enc, q, values, timeout_ms):
    """The symbolic check of ``q`` with sizes, enactors, pre-state and step parameters pinned
    to ``values``: sat means ``values`` is a genuine counterexample (returned, re-read)."""
    s = _solver(min(timeout_ms, 5_000))
    plain, tracked = q.pose(enc)
    s.add(*plain, *(f for _, f in tracked))
    n = values["enactors"]
    xs = [z3.Const(f"cti.a{j}", enc.enactor_sort) for j in range(n)]
    x = z3.FreshConst(enc.enactor_sort, "x")
    s.add(z3.ForAll([x], z3.Or([x == y for y in xs])))
    if n > 1:
        s.add(z3.Distinct(*xs))
    for name, v in values["sizes"].items():
        s.add(enc.sizes[name] == v)
    for f in enc.form.fields:
        s.add(enc.pre[f.name] == _concrete(f, values["pre"][f.name], enc.enactor_sort, xs))
    if q.step is not None:
        for name, var in enc.steps[q.step][1].items():
            v = values["params"][name]
            s.add(var == (xs[v] if var.sort() == enc.enactor_sort else v))
    if s.check() != z3.sat:
        return None
    st = enc.steps[q.step][0] if q.step is not None else None
    params = enc.steps[q.step][1] if q.step is not None else {}
    return _values(enc, s.model(), st, params, enactors=xs)


def _concrete(f, value, sort, elements):
    """A z3 array (or int) equal to a field's plain value."""
    parts = f.kind.split("->")
    if f.kind == "int":
        return z3.IntVal(value)
    if f.kind == "plan->bool":
        return _set_array(value)
    if f.kind == "enactor->plan->bool":
        arr = z3.K(sort, _set_array(frozenset()))
        for a, v in zip(elements, value):
            arr = z3.Store(arr, a, _set_array(v))
        return arr
    mk = z3.BoolVal if parts[-1] == "bool" else z3.IntVal
    if parts[0] == ENACTOR:
        arr, keys = z3.K(sort, mk(f.initial)), elements
    else:
        arr, keys = z3.K(z3.IntSort(), mk(f.initial)), [z3.IntVal(e) for e in range(len(value))]
    for key, v in zip(keys, value):
        arr = z3.Store(arr, key, mk(v))
    return arr


def _values(enc, m, st, params, enactors=None) -> dict:
    """Plain values of a model: sizes, enactor count, pre/post fields, step parameters.
    ``enactors``: the elements of the enactor sort, in order (default: the model's universe)."""
    ev = lambda x: m.eval(x, model_completion=True)  # noqa: E731
    sizes = {n: ev(v).as_long() for n, v in enc.sizes.items()}
    if enactors is None:
        universe = m.get_universe(enc.enactor_sort)
        enactors = list(universe) if universe is not None else [ev(z3.FreshConst(
            enc.enactor_sort, "a"))]
    enactors = [ev(a) for a in enactors]
    out = {"sizes": sizes, "enactors": len(enactors), "step": st.kind if st else None}
    gen = ev(enc.pre["gen"]).as_long()
    top = max(gen, sizes["P"]) + 1
    out["pre"] = _field_values(enc, enc.pre, ev, enactors, sizes["E"], top)
    if st is not None:
        updates = next(u for x, _, _, u in enc.steps if x is st)
        out["post"] = _field_values(enc, updates, ev, enactors, sizes["E"], top + 1)
        out["params"] = {n: (_index(enactors, ev(v)) if v.sort() == enc.enactor_sort
                             else ev(v).as_long()) for n, v in params.items()}
    return out


def _index(elements, x) -> int:
    return next(j for j, a in enumerate(elements) if z3.eq(a, x))


def _field_values(enc, state, ev, enactors, e_count, top) -> dict:
    out = {}
    for f in enc.form.fields:
        x = state[f.name]
        dom = f.kind.split("->")[0]
        if f.kind == "int":
            out[f.name] = ev(x).as_long()
        elif f.kind == "plan->bool":
            out[f.name] = frozenset(v for v in range(-1, top + 1) if z3.is_true(ev(x[v])))
        elif f.kind == "enactor->plan->bool":
            out[f.name] = tuple(frozenset(v for v in range(-1, top + 1)
                                          if z3.is_true(ev(x[a][v]))) for a in enactors)
        else:
            idx = enactors if dom == ENACTOR else range(e_count)
            out[f.name] = tuple(_plain(ev(x[a])) for a in idx)
    return out


def _plain(v):
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


# -- the same formulas at one finite size: successors of an explicit state -------------------
class FiniteSuccessors:
    """Successors z3 computes from a symbolic form at sizes N, P, E, K (for the binding test):
    the step formulas of :class:`Encoding` with an enumeration sort of N enactors, fixed
    sizes, and the pre-state fixed to given field values."""

    def __init__(self, form, n: int, plans: int, endpoints: int, keep: int, limit: int = 64):
        self.sort, self.names = z3.EnumSort(f"Enactor{n}_{next(_counter)}", [f"a{j}" for j in range(n)])
        self.n, self.plans, self.endpoints, self.limit = n, plans, endpoints, limit
        sizes = {"E": z3.IntVal(endpoints), "K": z3.IntVal(keep), "P": z3.IntVal(plans)}
        # Plan quantifiers only occur in conjuncts (``holds``), never in steps: over concrete
        # plan sets (false outside 1..P) the range -1..P+2 decides them.
        finite = {ENACTOR: list(self.names), ENDPOINT: [z3.IntVal(e) for e in range(endpoints)],
                  PLAN: [z3.IntVal(v) for v in range(-1, plans + 3)]}
        self.enc = Encoding(form, self.sort, sizes, finite)
        self.solver = z3.Solver()
        self.solver.set("timeout", DEFAULT_TIMEOUT_MS)

    def __call__(self, values: dict) -> list:
        """``[(step kind, params, post field values)]`` for pre-state ``values``; raises
        RuntimeError when there are more than ``limit`` (an unbounded choice) or z3 gives up.

        The models of each step's guard are enumerated: over the finite parameters (enactor,
        endpoint) by letting z3 evaluate the guard and updates at every choice, with the
        pre-state substituted; a step with an integer parameter (a lease token) by the
        solver, blocking each model found."""
        enc = self.enc
        pins = [(enc.pre[f.name], _concrete(f, values[f.name], self.sort, self.names))
                for f in enc.form.fields]
        out = []
        for st, params, guard, updates in enc.steps:
            if any(sort not in (ENACTOR, ENDPOINT) for sort in enc.param_sorts[st.kind].values()):
                out.extend(self._solve(pins, st, params, guard, updates))
                continue
            domains = [(v, list(self.names) if v.sort() == self.sort
                        else [z3.IntVal(e) for e in range(self.endpoints)])
                       for v in params.values()]
            for choice in itertools.product(*(d for _, d in domains)):
                pairs = pins + [(v, x) for (v, _), x in zip(domains, choice)]
                g = z3.simplify(_substitute(guard, pairs))
                if not (z3.is_true(g) or z3.is_false(g)):
                    raise RuntimeError(f"guard of step {st.kind} did not evaluate: {g}")
                if z3.is_true(g):
                    chosen = {n: x for n, x in zip(params, choice)}
                    out.append(self._successor(st, params, chosen, {
                        n: z3.simplify(_substitute(u, pairs)) for n, u in updates.items()},
                        z3.simplify))
        return out

    def holds(self, conjunct, values: dict, post: dict | None = None) -> bool:
        """z3's value of ``conjunct`` in the state with field ``values`` (a transition
        conjunct: from ``values`` to ``post``), for tests against ``invariants/``."""
        enc = self.enc
        if not hasattr(self, "_post"):
            self._post, self._terms = enc._state("'"), {}
        if conjunct not in self._terms:
            self._terms[conjunct] = Translator(self.sort, enc.sizes, enc.pre, self._post,
                                               finite=enc.finite)(conjunct.term)
        pins = [(enc.pre[f.name], _concrete(f, values[f.name], self.sort, self.names))
                for f in enc.form.fields]
        if post is not None:
            pins += [(self._post[f.name], _concrete(f, post[f.name], self.sort, self.names))
                     for f in enc.form.fields]
        value = z3.simplify(_substitute(self._terms[conjunct], pins))
        if not (z3.is_true(value) or z3.is_false(value)):
            raise RuntimeError(f"conjunct {conjunct.name} did not evaluate: {value}")
        return z3.is_true(value)

    def _solve(self, pins, st, params, guard, updates):
        s = self.solver
        s.push()
        try:
            s.add(*(a == b for a, b in pins), guard)
            return self._enumerate(s, st, params, updates)
        finally:
            s.pop()

    def _successor(self, st, params, chosen, updates, ev):
        top = self.plans + 1
        post = {}
        for f in self.enc.form.fields:
            x = updates[f.name]
            if f.kind == "int":
                cells = [x]
            elif f.kind == "plan->bool":
                cells = [x[v] for v in range(0, top + 1)]
            elif f.kind == "enactor->plan->bool":
                cells = [x[a][v] for a in self.names for v in range(0, top + 1)]
            elif f.kind.startswith(ENACTOR):
                cells = [x[a] for a in self.names]
            else:
                cells = [x[e] for e in range(self.endpoints)]
            vals = [ev(c) for c in cells]
            if not all(z3.is_int_value(v) or z3.is_true(v) or z3.is_false(v) for v in vals):
                raise RuntimeError(f"update of {f.name} by step {st.kind} did not evaluate")
            post[f.name] = self._plain_field(f, vals, top)
        pvals = {n: (self.names.index(chosen[n]) if v.sort() == self.sort
                     else chosen[n].as_long()) for n, v in params.items()}
        return st.kind, pvals, post

    def _enumerate(self, s, st, params, updates):
        """Every parameter choice enabling ``st`` (z3 models of its guard), with the next
        state z3 evaluates from the step's updates."""
        found = []
        for m, chosen in _each_model(s, params, self.limit, f"for step {st.kind}",
                                     f"more than {self.limit} successors by step {st.kind}"):
            ev = lambda x, m=m: m.eval(x, model_completion=True)  # noqa: E731
            found.append(self._successor(st, params, chosen, updates, ev))
        return found

    def _plain_field(self, f, vals, top):
        if f.kind == "int":
            return vals[0].as_long()
        if f.kind == "plan->bool":
            return frozenset(v for v, b in zip(range(0, top + 1), vals) if z3.is_true(b))
        if f.kind == "enactor->plan->bool":
            width = top + 1
            return tuple(frozenset(v for v in range(width) if z3.is_true(vals[j * width + v]))
                         for j in range(self.n))
        return tuple(_plain(v) for v in vals)


def _substitute(e, pairs):
    """``z3.substitute(e, *pairs)`` without the Python API's per-pair checks (the binding
    test calls it for every parameter choice of every reachable state)."""
    n = len(pairs)
    froms, tos = (z3.Ast * n)(), (z3.Ast * n)()
    for j, (a, b) in enumerate(pairs):
        froms[j], tos[j] = a.as_ast(), b.as_ast()
    return z3.z3._to_expr_ref(z3.Z3_substitute(e.ctx.ref(), e.as_ast(), n, froms, tos), e.ctx)


def _set_array(plans) -> z3.ArrayRef:
    arr = z3.K(z3.IntSort(), z3.BoolVal(False))
    for v in sorted(plans):
        arr = z3.Store(arr, z3.IntVal(v), z3.BoolVal(True))
    return arr


def successors(form, n, plans, endpoints, keep):
    """A function from pre-state field values to z3's successors at that size (see
    :class:`FiniteSuccessors`)."""
    return FiniteSuccessors(form, n, plans, endpoints, keep)


# -- the same formulas, one step at a time: what each step reads and writes -------------------
@dataclass(frozen=True)
class Cell:
    """One cell of a finite-size state: ``field`` and ``index`` (None for an int field, an
    enactor number, an endpoint, a plan, or (enactor, plan) for ``enactor->plan->bool``)."""

    field: str
    index: object = None


class Part:
    """A subterm of a step's simplified formulas (a conjunct of its guard, or one post cell)
    and the pre-state cells it mentions (``reads``)."""

    def __init__(self, owner, term, unbounded=None):
        self.owner, self.term = owner, term
        self.unbounded = unbounded or {}
        self.reads = tuple(sorted(owner.reads(term), key=owner.cell_order))

    def evaluate(self, context: tuple):
        """The plain value of the term when only ``reads`` are given, as ``context`` (plain
        values in the order of ``reads``). z3 must simplify it to a literal: then it is the
        term's value in every state that agrees with ``context`` there."""
        v = z3.simplify(_substitute(self.term, self.owner.pins(self.reads, context)))
        if not _literal(v):
            raise RuntimeError(f"{self.term} depends on more than the cells it mentions: {v}")
        return _plain(v)


class JointPart(Part):
    """A step with an unbounded parameter (``lease+fencing``'s new token ``t``): the guard's
    conjuncts that mention it and every written cell, evaluated together."""

    def __init__(self, owner, conjuncts, writes, unbounded):
        super().__init__(owner, z3.And(*conjuncts), unbounded)
        self.writes = writes
        reads = set(self.reads)
        for term in writes.values():
            reads |= owner.reads(term)
        self.reads = tuple(sorted(reads, key=owner.cell_order))

    def evaluate(self, context: tuple) -> tuple:
        """``((unbounded params, written values), ...)``: one per value of the parameters
        that satisfies the conjuncts, given only ``context``."""
        pins = self.owner.pins(self.reads, context)
        g = z3.simplify(_substitute(self.term, pins))
        if self.owner.reads(g):
            raise RuntimeError(f"{self.term} depends on more than the cells it mentions: {g}")
        out = []
        for extra in _models(self.owner.solver, g, self.unbounded, self.owner.limit):
            more = pins + [(self.unbounded[n], z3.IntVal(x)) for n, x in extra.items()]
            values = []
            for cell, term in self.writes.items():
                v = z3.simplify(_substitute(term, more))
                if not _literal(v):
                    raise RuntimeError(f"cell {cell} depends on more than it mentions: {v}")
                values.append(_plain(v))
            out.append((extra, tuple(values)))
        return tuple(out)


class LocalStep:
    """One step kind with its finite parameters fixed (an enactor, an endpoint), as z3 reads
    it at one finite size (``docs/PROVE.md``, "One source of truth").

    The guard and the value of every post-state cell are the step's formulas from
    :class:`Encoding` with the parameters substituted, ``z3.simplify``-ed. The guard is the
    conjunction of ``conjuncts`` (its top-level ``And``); a post cell whose simplified value
    is the pre-state's own cell is *framed* (unchanged by the step), the others are in
    ``writes``. Each is a :class:`Part`: it knows the cells it reads and evaluates from them
    alone. A step with an unbounded parameter has ``joint`` instead of the writes and of the
    conjuncts that mention the parameter."""

    def __init__(self, owner, st, params, chosen, guard, updates):
        self.kind = st.kind
        self.params = {n: owner.plain_param(chosen[n]) for n in chosen}
        pairs = [(params[n], chosen[n]) for n in chosen]
        unbounded = {n: v for n, v in params.items() if n not in chosen}
        g = z3.simplify(_substitute(guard, pairs))
        conjuncts = list(g.children()) if z3.is_and(g) else [g]
        writes = {}
        for f in owner.enc.form.fields:
            u = _substitute(updates[f.name], pairs)
            for cell in owner.cells(f):
                value = z3.simplify(owner.select(u, cell))
                if not z3.eq(value, owner.pre_cell(cell)):
                    writes[cell] = value
        ids = {v.get_id() for v in unbounded.values()}
        coupled = [c for c in conjuncts if _mentions(c, ids)]
        self.conjuncts = [Part(owner, c) for c in conjuncts if not _mentions(c, ids)]
        self.conjuncts.sort(key=lambda p: len(p.reads))
        self.joint = JointPart(owner, coupled, writes, unbounded) if unbounded else None
        self.writes = {} if unbounded else {cell: Part(owner, t) for cell, t in writes.items()}
        self.written = tuple(writes)
        reads = set()
        for p in self.conjuncts + list(self.writes.values()) + ([self.joint] if self.joint else []):
            reads.update(p.reads)
        self.reads = tuple(sorted(reads, key=owner.cell_order))


def _mentions(e, ids) -> bool:
    todo, seen = [e], set()
    while todo:
        x = todo.pop()
        if x.get_id() in ids:
            return True
        if x.get_id() in seen:
            continue
        seen.add(x.get_id())
        todo.extend([x.body()] if z3.is_quantifier(x) else x.children() if z3.is_app(x) else [])
    return False


def _each_model(s, params, limit, what, too_many):
    """Yields ``(model, values of params)`` for each distinct assignment of ``params`` that
    satisfies ``s`` (at most ``limit``), blocking each one before looking for the next."""
    found = 0
    while True:
        r = s.check()
        if r == z3.unsat:
            return
        if r != z3.sat:
            raise RuntimeError(f"z3 returned {r} ({s.reason_unknown()}) {what}")
        if found >= limit:
            raise RuntimeError(too_many)
        m = s.model()
        chosen = {n: m.eval(v, model_completion=True) for n, v in params.items()}
        yield m, chosen
        s.add(z3.Or([v != chosen[n] for n, v in params.items()]) if params
              else z3.BoolVal(False))
        found += 1


def _models(s, g, unbounded, limit):
    """Every value of the parameters ``unbounded`` satisfying ``g`` (at most ``limit``), with
    solver ``s`` (in a scope of its own: a fresh solver per call is several times slower)."""
    s.push()
    try:
        s.add(g)
        found = []
        for _, extra in _each_model(s, unbounded, limit, f"on {g}",
                                    f"more than {limit} values satisfy {g}"):
            if not all(z3.is_int_value(v) for v in extra.values()):
                raise RuntimeError(f"no value for the parameters of {g}")
            found.append({n: v.as_long() for n, v in extra.items()})
        return found
    finally:
        s.pop()


def _literal(v) -> bool:
    return z3.is_int_value(v) or z3.is_true(v) or z3.is_false(v)


class LocalSteps(FiniteSuccessors):
    """Every step of a form at one finite size, split by its finite parameters into
    :class:`LocalStep` s: the binding evaluates each once per distinct context it reads,
    instead of once per reachable state."""

    def __init__(self, form, n, plans, endpoints, keep, limit=64):
        super().__init__(form, n, plans, endpoints, keep, limit)
        self.top = plans + 1
        self._pre_ids = {v.get_id(): name for name, v in self.enc.pre.items()}
        self._name_ids = {a.get_id(): j for j, a in enumerate(self.names)}
        self._fields = {f.name: f for f in form.fields}
        self._pins, self._pre_cells = {}, {}  # memos: z3's Python API is slow to build terms
        self._order = {}
        for f in form.fields:
            for cell in self.cells(f):
                self._order[cell] = len(self._order)
        self.steps = []
        for st, params, guard, updates in self.enc.steps:
            finite = [(n, v) for n, v in params.items()
                      if self.enc.param_sorts[st.kind][n] in (ENACTOR, ENDPOINT)]
            domains = [list(self.names) if v.sort() == self.sort
                       else [z3.IntVal(e) for e in range(endpoints)] for _, v in finite]
            for choice in itertools.product(*domains):
                chosen = {n: x for (n, _), x in zip(finite, choice)}
                self.steps.append(LocalStep(self, st, params, chosen, guard, updates))

    # cells: the finite state, one plain value each (as encode_state gives them)
    def cells(self, f) -> list:
        """The cells of field ``f`` at this size, in column order."""
        if f.kind == "int":
            return [Cell(f.name)]
        if f.kind == "plan->bool":
            return [Cell(f.name, v) for v in range(self.top + 1)]
        if f.kind == "enactor->plan->bool":
            return [Cell(f.name, (j, v)) for j in range(self.n) for v in range(self.top + 1)]
        if f.kind.startswith(ENACTOR):
            return [Cell(f.name, j) for j in range(self.n)]
        return [Cell(f.name, e) for e in range(self.endpoints)]

    def all_cells(self) -> list:
        return list(self._order)

    def cell_order(self, cell) -> int:
        return self._order[cell]

    def plain_param(self, x):
        return self.names.index(x) if x.sort() == self.sort else x.as_long()

    def _key(self, f, x):
        """z3 index of ``x`` in a field of kind ``f`` (enactor element or integer)."""
        return self.names[x] if f.kind.startswith(ENACTOR) else z3.IntVal(x)

    def pre_cell(self, cell):
        term = self._pre_cells.get(cell)
        if term is None:
            term = self._pre_cells[cell] = self.select(self.enc.pre[cell.field], cell)
        return term

    def select(self, array, cell):
        f = self._fields[cell.field]
        if f.kind == "int":
            return array
        if f.kind == "enactor->plan->bool":
            j, v = cell.index
            return z3.Select(z3.Select(array, self.names[j]), z3.IntVal(v))
        return z3.Select(array, self._key(f, cell.index))

    def _literal_index(self, x):
        if z3.is_int_value(x):
            return x.as_long()
        return self._name_ids.get(x.get_id())

    def _as_cell(self, x):
        """The cell a ``Select`` of a pre-state field at literal indices reads, or None."""
        if not z3.is_select(x):
            return None
        array, idx = x.arg(0), self._literal_index(x.arg(1))
        if idx is None:
            return None
        if array.get_id() in self._pre_ids:
            cell = Cell(self._pre_ids[array.get_id()], idx)
        elif z3.is_select(array) and array.arg(0).get_id() in self._pre_ids:
            j = self._literal_index(array.arg(1))
            if j is None:
                return None
            cell = Cell(self._pre_ids[array.arg(0).get_id()], (j, idx))
        else:
            return None
        return cell if cell in self._order else None

    def reads(self, e) -> set:
        """The pre-state cells term ``e`` mentions (every cell of a field it mentions other
        than at a literal index)."""
        out, seen, todo = set(), set(), [e]
        while todo:
            x = todo.pop()
            if x.get_id() in seen:
                continue
            seen.add(x.get_id())
            if z3.is_quantifier(x):
                todo.append(x.body())
                continue
            cell = self._as_cell(x)
            if cell is not None:
                out.add(cell)
                continue
            name = self._pre_ids.get(x.get_id())
            if name is not None:
                out.update(self.cells(self._fields[name]))
                continue
            if z3.is_app(x):
                todo.extend(x.children())
        return out

    def pins(self, reads, context) -> list:
        """Substitution pairs giving the cells ``reads`` the plain values ``context``: a
        field read whole becomes the concrete array of its cells (``_concrete``: off the
        finite cells, the initial value, as in every state's encoding)."""
        whole: dict = {}
        for cell, value in zip(reads, context):
            whole.setdefault(cell.field, []).append((cell.index, value))
        pairs = []
        for name, got in whole.items():
            key = (name, tuple(got))
            made = self._pins.get(key)
            if made is None:
                made = self._pins[key] = self._field_pins(name, dict(got))
            pairs += made
        return pairs

    def _field_pins(self, name, got) -> list:
        f = self._fields[name]
        if len(got) == len(self.cells(f)):
            return [(self.enc.pre[name], self._whole(f, got))]
        mk = z3.BoolVal if f.kind.endswith("bool") else z3.IntVal
        return [(self.pre_cell(Cell(name, i)), mk(v)) for i, v in got.items()]

    def _whole(self, f, got):
        if f.kind == "int":
            return z3.IntVal(got[None])
        if f.kind == "plan->bool":
            return _concrete(f, frozenset(v for v, b in got.items() if b), self.sort, self.names)
        if f.kind == "enactor->plan->bool":
            rows = tuple(frozenset(v for (j2, v), b in got.items() if b and j2 == j)
                         for j in range(self.n))
            return _concrete(f, rows, self.sort, self.names)
        width = self.n if f.kind.startswith(ENACTOR) else self.endpoints
        return _concrete(f, tuple(got[x] for x in range(width)), self.sort, self.names)


def local_steps(form, n, plans, endpoints, keep) -> LocalSteps:
    """The steps of ``form`` at one finite size, each with what it reads and writes (see
    :class:`LocalStep`)."""
    return LocalSteps(form, n, plans, endpoints, keep)
