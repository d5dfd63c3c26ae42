"""The one module that talks to z3: timing constraints of a discrete run, solved exactly.

Method. A discrete run of n steps happens at times ``0 <= t_1 <= ... <= t_n``. Every clock is
0 at time 0 and is reset by the steps listed in ``TimedPath.resets``; write ``r_c(j)`` for
the time of the last reset of clock c at or before step j (0 if none). Then the run is a timed
run exactly when

- each guard ``(c, N)`` of step j holds: ``N.lo <= t_j - r_c(j-1) <= N.hi``;
- each deadline ``(c, N)`` of state j (between steps j and j+1) holds throughout that stay;
  clocks grow linearly, so at both ends: ``t_j - r_c(j) <= N.hi`` and
  ``t_{j+1} - r_c(j) <= N.hi`` (the last state only at ``t_n``).

These are linear constraints over the times and the bounds ``N.lo``/``N.hi`` (real variables).
Fixed bounds are asserted with ``assert_and_track`` under readable names, so when a run is
impossible the UNSAT core names the timing assumptions that rule it out. Solving gives exact
rational timestamps (``Optimize`` picks the earliest, a vertex of the polyhedron); minimising
an unknown bound over the path gives the path's threshold; quantifier elimination
(``Tactic('qe')``) over the times gives the exact parameter region in which this one run is
possible. z3's ``unknown`` is reported as its own status, never as "holds".

Sources: z3 Python API (``Solver.assert_and_track``, ``unsat_core``, ``Optimize``,
``Tactic('qe')``); Alur & Dill, "A theory of timed automata" (1994) for the semantics;
André, "IMITATOR" (parametric timed automata) for treating bounds as unknowns.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import z3

__all__ = ["Schedule", "SAT", "UNSAT", "UNKNOWN", "schedule", "extreme", "path_region",
           "SYMBOLS", "symbol"]

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"

# Short names for the intervals of MODEL.md, as in its "Timed semantics" section.
# The one name of each interval, as its option spells it (the same as
# dnsrace.model.timing.interval_name, which this room may not import; a test keeps them equal).
SYMBOLS = {"plan": "plan-interval", "write": "write-time", "check": "check-time",
           "cleanup": "cleanup-time"}


def symbol(name: str, side: str) -> str:
    """The bound's one name, also its z3 variable: ``symbol("write", "hi") == "write-time hi"``
    (``model.timing.bound_name``)."""
    return f"{SYMBOLS.get(name, name)} {side}"


@dataclass(frozen=True)
class Schedule:
    """``status`` sat: ``times[j]`` is the moment of step j (``times[0] == 0``, the initial
    state). unsat: ``core`` names the timing assumptions that together rule the run out."""

    status: str
    times: tuple | None = None
    core: tuple = ()
    reason: str = ""


def _is_number(value) -> bool:
    return z3.is_rational_value(value) or z3.is_int_value(value)


def _fraction(value) -> Fraction:
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    return Fraction(value.numerator_as_long(), value.denominator_as_long())


class _PathProblem:
    """Variables and the hard (structural) constraints of one run."""

    def __init__(self, tp, bounds: dict, symbolic=None):
        self.tp = tp
        self.bounds = bounds  # interval name -> Interval (lo, hi, lo_open, hi_open)
        self.symbolic = symbolic  # None: every bound a variable; else only these (name, side)
        n = len(tp)
        self.t = [z3.RealVal(0)] + [z3.Real(f"t{j}") for j in range(1, n + 1)]
        self.vars = {}
        self.hard = []
        for j in range(1, n + 1):
            self.hard.append(self.t[j] >= self.t[j - 1])
        last = {c: 0 for c in range(len(tp.clocks))}  # clock -> step index of last reset
        for j in range(1, n + 1):
            for c, name in tp.guards[j - 1]:
                age = self.t[j] - self.t[last[c]]
                self.hard.append(self._lo_ok(name, age))
                self.hard.append(self._hi_ok(name, age))
            for c in tp.resets[j - 1]:
                last[c] = j
        last = {c: 0 for c in range(len(tp.clocks))}
        for j in range(0, n + 1):
            if j >= 1:
                for c in tp.resets[j - 1]:
                    last[c] = j
            for c, name in tp.deadlines[j]:
                self.hard.append(self._hi_ok(name, self.t[j] - self.t[last[c]]))
                if j < n:
                    self.hard.append(self._hi_ok(name, self.t[j + 1] - self.t[last[c]]))

    def var(self, name: str, side: str):
        key = (name, side)
        if self.symbolic is not None and key not in self.symbolic:
            iv = self.bounds[name]
            return z3.RealVal(str(iv.lo if side == "lo" else iv.hi))
        if key not in self.vars:
            self.vars[key] = z3.Real(symbol(name, side))
        return self.vars[key]

    def _lo_ok(self, name, age):
        iv = self.bounds[name]
        v = self.var(name, "lo")
        return age > v if iv.lo_open else age >= v

    def _hi_ok(self, name, age):
        iv = self.bounds[name]
        if iv.hi is None:
            return z3.BoolVal(True)
        v = self.var(name, "hi")
        return age < v if iv.hi_open else age <= v

    def assumptions(self, free=()):
        """``(label, constraint)`` for every fixed bound the run mentions (not ``free``)."""
        out = []
        for (name, side), v in sorted(self.vars.items()):
            if (name, side) in free:
                continue
            iv = self.bounds[name]
            value = iv.lo if side == "lo" else iv.hi
            out.append((f"{symbol(name, side)} = {_show(value)}",
                        v == z3.RealVal(str(value))))
        return out

    def domain(self, free=()):
        """Unknown bounds are non-negative and lo <= hi."""
        out = []
        for name, side in free:
            v = self.var(name, side)
            out.append(v >= 0)
            other = "hi" if side == "lo" else "lo"
            iv = self.bounds[name]
            if other == "hi" and iv.hi is None:
                continue
            o = self.var(name, other)
            out.append(v <= o if side == "lo" else v >= o)
        return out


def _check(solver):
    res = solver.check()
    if res == z3.sat:
        return SAT
    if res == z3.unsat:
        return UNSAT
    return UNKNOWN


def schedule(tp, bounds: dict, earliest: bool = True) -> Schedule:
    """Concrete timestamps for the run ``tp`` under fixed ``bounds``, or the UNSAT core of
    timing assumptions that rule it out. ``earliest`` minimises the sum of the times, which
    gives a vertex: readable, exact rationals, every stall only as long as the run needs."""
    prob = _PathProblem(tp, bounds)
    solver = z3.Solver()
    solver.set(unsat_core=True)
    for c in prob.hard:
        solver.add(c)
    for label, c in prob.assumptions():
        solver.assert_and_track(c, z3.Bool(label))
    status = _check(solver)
    if status == UNSAT:
        core = tuple(sorted(str(b) for b in solver.unsat_core()))
        return Schedule(UNSAT, core=core)
    if status == UNKNOWN:
        return Schedule(UNKNOWN, reason=solver.reason_unknown())
    model = solver.model()
    if earliest and len(tp):
        opt = z3.Optimize()
        for c in prob.hard:
            opt.add(c)
        for _label, c in prob.assumptions():
            opt.add(c)
        opt.minimize(z3.Sum(prob.t[1:]))
        if opt.check() == z3.sat:
            model = opt.model()
    times = tuple(Fraction(0) if j == 0 else _fraction(model.eval(prob.t[j], model_completion=True))
                  for j in range(len(prob.t)))
    return Schedule(SAT, times)


def extreme(tp, bounds: dict, name: str, side: str):
    """The least ``name.hi`` (side "hi") or the greatest ``name.lo`` (side "lo") under which
    the run ``tp`` is possible, every other bound fixed. Returns ``(status, value)``;
    ``value`` None for an unbounded ``lo`` side. Closed constraints: the optimum is attained."""
    free = {(name, side)}
    iv = bounds[name]
    # The unknown end as a closed, finite placeholder: only its variable matters.
    placeholder = type(iv)(iv.lo, iv.lo) if side == "hi" else \
        type(iv)(0, iv.hi) if iv.hi is not None else type(iv)(0, None)
    bounds = {**bounds, name: placeholder}
    prob = _PathProblem(tp, bounds, symbolic=free)
    target = prob.var(name, side)
    opt = z3.Optimize()
    for c in prob.hard:
        opt.add(c)
    for c in prob.domain(free):
        opt.add(c)
    handle = opt.minimize(target) if side == "hi" else opt.maximize(target)
    res = opt.check()
    if res == z3.unsat:
        return UNSAT, None
    if res != z3.sat:
        return UNKNOWN, None
    value = handle.value()
    if not _is_number(value):
        return SAT, None  # unbounded (an infinite optimum)
    return SAT, _fraction(value)


def path_region(tp, bounds: dict, unknowns) -> tuple:
    """The exact region of the ``unknowns`` (``(name, side)`` pairs) in which the run ``tp``
    is possible, others fixed: quantifier elimination of the times. Returns ``(status, text)``
    with the region as a readable conjunction/disjunction."""
    free = set(unknowns)
    prob = _PathProblem(tp, bounds, symbolic=free)
    for name, side in free:
        prob.var(name, side)
    domain = prob.domain(free)
    body = z3.And(prob.hard + domain)
    ts = prob.t[1:]
    formula = z3.Exists(ts, body) if ts else body
    goal = z3.Goal()
    goal.add(formula)
    try:
        result = z3.Then(z3.Tactic("qe2"), z3.Tactic("simplify"),
                         z3.Tactic("propagate-ineqs"))(goal)
    except z3.Z3Exception as exc:
        return UNKNOWN, str(exc)
    parts = [f for sub in result for f in sub]
    if len(result) == 0 or any(z3.is_false(f) for f in parts):
        return UNSAT, "never"
    # Drop every conjunct the domain (bounds >= 0, lo <= hi) and the other conjuncts imply:
    # the region stays the same, and its text no longer depends on how qe2 happened to
    # split it (the same region came out as "a and b" or just "b" from run to run).
    keep = list(parts)
    for f in list(parts):
        others = [g for g in keep if g is not f]
        solver = z3.Solver()
        for c in domain + others:
            solver.add(c)
        solver.add(z3.Not(f))
        if solver.check() == z3.unsat:
            keep = others
    return SAT, " and ".join(_readable(f) for f in keep) or "always"


def _readable(expr) -> str:
    """A z3 formula in plain infix text (``write-time hi >= 1``)."""
    if z3.is_and(expr):
        return " and ".join(_readable(c) for c in expr.children())
    if z3.is_or(expr):
        return "(" + " or ".join(_readable(c) for c in expr.children()) + ")"
    if z3.is_not(expr):
        inner = expr.children()[0]
        flip = {z3.Z3_OP_LE: ">", z3.Z3_OP_GE: "<", z3.Z3_OP_LT: ">=", z3.Z3_OP_GT: "<="}
        k = inner.decl().kind()
        if k in flip:
            a, b = inner.children()
            return f"{_term(a)} {flip[k]} {_term(b)}"
        return f"not {_readable(inner)}"
    ops = {z3.Z3_OP_LE: "<=", z3.Z3_OP_GE: ">=", z3.Z3_OP_LT: "<", z3.Z3_OP_GT: ">",
           z3.Z3_OP_EQ: "="}
    k = expr.decl().kind()
    if k in ops:
        a, b = expr.children()
        lin = _linear(a, 1) if a is not None else None
        rin = _linear(b, 1)
        if lin is not None and rin is not None:
            return _inequality(lin, rin, ops[k])
        return f"{_term(a)} {ops[k]} {_term(b)}"
    return str(expr)


def _linear(e, sign):
    """``{name: coeff, "": const}`` for a linear z3 term, or None."""
    if _is_number(e):
        return {"": sign * _fraction(e)}
    if z3.is_const(e):
        return {e.decl().name(): Fraction(sign)}
    k = e.decl().kind()
    if k == z3.Z3_OP_TO_REAL:
        return _linear(e.children()[0], sign)
    if k == z3.Z3_OP_ADD or k == z3.Z3_OP_SUB:
        out = {}
        for n, ch in enumerate(e.children()):
            part = _linear(ch, sign if (k == z3.Z3_OP_ADD or n == 0) else -sign)
            if part is None:
                return None
            for key, v in part.items():
                out[key] = out.get(key, 0) + v
        return out
    if k == z3.Z3_OP_UMINUS:
        return _linear(e.children()[0], -sign)
    if k == z3.Z3_OP_MUL and len(e.children()) == 2:
        a, b = e.children()
        if _is_number(a):
            return _linear(b, sign * _fraction(a))
        if _is_number(b):
            return _linear(a, sign * _fraction(b))
    return None


def _inequality(left, right, op) -> str:
    """``left op right`` with every variable on the side where its coefficient is positive,
    the constant on the right: ``plan-interval lo <= 3*write-time hi``."""
    diff = dict(left)
    for key, v in right.items():
        diff[key] = diff.get(key, 0) - v
    const = -diff.pop("", 0)
    pos = {k: v for k, v in diff.items() if v > 0}
    neg = {k: -v for k, v in diff.items() if v < 0}

    def side(terms, c):
        parts = [(f"{_show(v)}*{k}" if v != 1 else k) for k, v in sorted(terms.items())]
        if c or not parts:
            parts.append(_show(c))
        return " + ".join(parts)
    if not pos:  # 0 op neg + const  ->  neg op' -const
        flip = {"<=": ">=", ">=": "<=", "<": ">", ">": "<", "=": "="}[op]
        return f"{side(neg, Fraction(0))} {flip} {_show(-const)}" if neg else f"0 {op} {_show(const)}"
    if const < 0:
        return f"{side(pos, -const)} {op} {side(neg, Fraction(0))}" if neg else \
            f"{side(pos, -const)} {op} 0"
    return f"{side(pos, Fraction(0))} {op} {side(neg, const)}"


def _show(v) -> str:
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _term(e) -> str:
    if _is_number(e):
        f = _fraction(e)
        return str(f) if f.denominator != 1 else str(f.numerator)
    return str(e).replace("\n", " ").replace("ToReal(", "(").replace("|", "")
