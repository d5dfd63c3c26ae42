"""Parameter synthesis: the exact threshold of one timing bound at which a property breaks.

Method: counterexample-guided descent, exact for one unknown bound with the others fixed.

1. Widening an interval (raising its ``hi`` or lowering its ``lo``) only adds timed runs: a
   run that meets the narrower bounds meets the wider ones. So the set of values of an upper
   bound ``hi`` at which a safety property can be violated is upward closed, and the set of
   values of a lower bound ``lo`` is downward closed.
2. It is also closed: every violating run is a finite path whose feasible parameter values
   form a closed polyhedron (closed intervals give non-strict linear constraints), and
   there are finitely many discrete paths up to the zone graph's covering. So the answer is
   "violable iff hi >= theta" (or "iff lo <= theta"), with theta attained.
3. Descent: check with the unknown at its widest (no deadline / lower bound 0). If the
   property holds, no value breaks it. Otherwise take the counterexample path p, let z3
   ``Optimize`` give theta_p, the best value of the unknown for which p is possible, and check
   again with the unknown restricted strictly beyond theta_p (``hi < theta_p`` / ``lo >
   theta_p``: the union of all systems with such bounds, since a run is finite). If that
   holds, theta = theta_p exactly; otherwise the new counterexample has a strictly better
   theta and we repeat. Each check is the exact zone engine; each theta_p an exact rational.

Engines stay generic: the caller passes ``make_view(timing)`` and the properties.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import z3timing
from .timed import DiscreteGraph, TimedOptions, explore_timed, timed_path

__all__ = ["SynthesisResult", "synthesize", "NEVER", "THRESHOLD", "ALWAYS", "UNKNOWN",
           "INCOMPLETE"]

NEVER, THRESHOLD, ALWAYS, UNKNOWN, INCOMPLETE = "never", "threshold", "always", "unknown", \
    "incomplete"


@dataclass
class SynthesisResult:
    """``status``: never (no value of the unknown lets the property be violated), threshold
    (violable iff unknown >= theta for ``hi``, <= theta for ``lo``), always (every admissible
    value), unknown (z3 could not decide), incomplete (a check was cut short).
    ``witness``/``times``: a violating run at the threshold and its timestamps."""

    property: str
    unknown: tuple
    status: str
    threshold: object = None
    witness: object = None
    times: tuple | None = None
    region: str = ""
    path_region: str = ""
    checks: list = field(default_factory=list)  # (interval checked, verdict, theta_p)
    seconds: float = 0.0
    reason: str = ""


def _check(make_view, timing, prop, options, graph):
    view = make_view(timing)
    res = explore_timed(view, [prop], options, scale=timing.scale(), graph=graph)
    return view, res.properties[prop.name], res


def synthesize(make_view, timing, prop, unknown=("write", "hi"),
               options: TimedOptions = TimedOptions(), max_rounds: int = 50,
               also_symbolic=(), graph: DiscreteGraph | None = None) -> SynthesisResult:
    """The exact threshold of ``unknown`` (``(interval name, "lo" | "hi")``) for ``prop``,
    every other bound as in ``timing``. ``also_symbolic``: further ``(name, side)`` bounds to
    keep symbolic when describing the witness run's own region (a sufficient condition).
    ``graph``: a ``DiscreteGraph`` of the model to share with other calls (every check of
    the descent shares one anyway: the views differ only in their bounds, and guards name
    intervals, so the discrete part is the same)."""
    if graph is None:
        graph = DiscreteGraph()
    name, side = unknown
    start = time.perf_counter()
    iv = timing.interval(name)
    Interval = type(iv)  # the caller's interval type: the engine imports no model
    out = SynthesisResult(prop.name, unknown, UNKNOWN)
    widest = Interval(iv.lo, None) if side == "hi" else Interval(0, iv.hi)
    current = timing.with_interval(name, widest)
    view, pr, _ = _check(make_view, current, prop, options, graph)
    out.checks.append((str(widest), pr.status, None))
    if pr.status != "violated":
        out.status = NEVER if pr.status == "holds" else INCOMPLETE
        out.seconds = time.perf_counter() - start
        return out
    best = None
    for _round in range(max_rounds):
        bounds = {n: current.interval(n) for n in current.names()}
        tp = timed_path(view, pr.trace)
        status, theta = z3timing.extreme(tp, bounds, name, side)
        if status != z3timing.SAT:
            out.status, out.reason = UNKNOWN, f"z3 answered {status} optimising {name} {side}"
            break
        if best is not None and theta is not None:
            better = theta < best[0] if side == "hi" else theta > best[0]
            assert better, "descent must improve strictly"
        best = (theta, pr.trace, view)
        out.checks[-1] = out.checks[-1][:2] + (theta,)
        if theta is None:  # lo side unbounded: every lo up to hi
            out.status = ALWAYS
            break
        # Ask for a violation strictly beyond theta.
        if side == "hi":
            if theta <= iv.lo:
                out.status = ALWAYS
                break
            beyond = Interval(iv.lo, theta, hi_open=True)
        else:
            if iv.hi is not None and theta >= iv.hi:
                out.status = ALWAYS
                break
            beyond = Interval(theta, iv.hi, lo_open=True)
        current = timing.with_interval(name, beyond)
        view, pr, _ = _check(make_view, current, prop, options, graph)
        out.checks.append((str(beyond), pr.status, None))
        if pr.status == "holds":
            out.status = THRESHOLD
            break
        if pr.status != "violated":
            out.status = INCOMPLETE
            break
    else:
        out.status, out.reason = INCOMPLETE, f"no fixpoint after {max_rounds} rounds"
    if best is not None and out.status in (THRESHOLD, ALWAYS):
        theta, trace, _v = best
        out.threshold = theta if out.status == THRESHOLD else None
        value = theta if theta is not None else iv.lo
        at = timing.with_interval(name, Interval(iv.lo if side == "hi" else value,
                                                 value if side == "hi" else iv.hi))
        wview = make_view(at)
        tp = timed_path(wview, trace)
        sched = z3timing.schedule(tp, {n: at.interval(n) for n in at.names()})
        out.witness = trace
        out.times = sched.times
        sym = z3timing.symbol(name, side)
        if out.status == THRESHOLD:
            out.region = f"{sym} {'>=' if side == 'hi' else '<='} {_show(theta)}"
        else:
            out.region = f"every {sym}"
        unknowns = [unknown] + [u for u in also_symbolic if u != unknown]
        st, text = z3timing.path_region(tp, {n: at.interval(n) for n in at.names()}, unknowns)
        out.path_region = text if st == z3timing.SAT else ""
    out.seconds = time.perf_counter() - start
    return out


def _show(v) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
