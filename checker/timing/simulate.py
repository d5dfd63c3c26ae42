"""An independent discrete-event simulator of the timed model, and a timestamp checker.

This module shares nothing with the zone engine (``timed.py``) or z3 (``z3timing.py``): it
runs concrete clocks as exact rationals (``Fraction``) over the timed view of a model
(``model.timed(timing)``, a ``TimedView``). Two uses:

- ``check_timestamps(model, timing, actions, times)`` replays a timed run and says whether
  every step is enabled, happens inside its clock guard, and no deadline is passed, naming the
  first step that breaks a rule. ``replay`` of trace files calls it.
- ``simulate(model, timing, seed)`` draws one random timed run (delays within the bounds,
  biased to the ends of each interval, where races live), checking the properties as it goes.
  Over many seeds it is the test oracle for "holds under these bounds".
- ``walk(model, seed)`` draws one random untimed run (each step uniform among the enabled
  actions). ``dnsrace simulate`` runs many of either, one seed per run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["check_timestamps", "simulate", "walk", "SimRun", "replay_timed"]


def _view(model, timing):
    return model.timed(timing)  # the simulator runs on the model's own timing rules


def _closed(iv, what):
    if iv.lo_open or iv.hi_open:
        raise ValueError(f"{what}: the simulator takes closed intervals only")


def check_timestamps(model, timing, actions, times):
    """Whether ``actions`` at ``times`` is a timed run under ``timing``.

    ``times`` has one moment per action, or one per state (``times[0]`` for the initial
    state, which must be 0). Returns ``(ok, step, reason)``: ``step`` is the 1-based index of
    the first bad step (0 for a bad initial time) and ``reason`` one sentence; ``(True, None,
    "")`` when every step is fine.
    """
    view = _view(model, timing)
    times = [Fraction(t) if not isinstance(t, Fraction) else t for t in times]
    if len(times) == len(actions) + 1:
        if times[0] != 0:
            return False, 0, f"the initial state is at time {times[0]}, not 0"
        times = times[1:]
    elif len(times) != len(actions):
        return False, 0, f"{len(times)} times for {len(actions)} steps"
    state = view.init_states()[0]
    clocks = [Fraction(0)] * len(view.clocks)
    now = Fraction(0)
    ts = view.timed_successors(state)
    for j, (action, t) in enumerate(zip(actions, times), start=1):
        if t < now:
            return False, j, f"step {j} is at time {t}, before the previous step ({now})"
        delay = t - now
        for clock, hi, open_ in view.deadlines(state, ts):
            v = clocks[clock] + delay
            if v > hi or (open_ and v == hi):
                return False, j, (f"step {j} at time {t}: {view.clocks[clock]} waited "
                                  f"{v} since its last step, past its deadline {hi}")
        clocks = [c + delay for c in clocks]
        now = t
        match = [(n, tm) for a, n, tm in ts if a == action]
        if not match:
            return False, j, f"step {j} ({action.kind}) is not enabled at time {t}"
        nxt, tm = match[0]
        for clock, name in tm.guards:
            iv = timing.interval(name)
            if not iv.contains(clocks[clock]):
                return False, j, (f"step {j} at time {t}: {view.clocks[clock]} acts "
                                  f"{clocks[clock]} after its last step, outside the "
                                  f"{name} interval {iv}")
        for clock in tm.resets:
            clocks[clock] = Fraction(0)
        state = nxt
        ts = view.timed_successors(state)
        for clock, hi, open_ in view.deadlines(state, ts):
            v = clocks[clock]
            if v > hi or (open_ and v == hi):
                return False, j, (f"step {j} at time {t}: it leaves {view.clocks[clock]} "
                                  f"already {v} into a step due by {hi}")
    return True, None, ""


@dataclass
class SimRun:
    """One simulated run: its actions, their times, the states, and the first property it
    violates (None if none)."""

    actions: list
    times: list
    states: list
    violated: str | None = None


def _pick_delay(rng, lo, hi, grid):
    """A delay in [lo, hi]: an end 60% of the time (races live there), else a grid point."""
    r = rng.random()
    if r < 0.3:
        return lo
    if r < 0.6:
        return hi
    steps = int((hi - lo) * grid)
    return lo + Fraction(rng.randint(0, steps), grid) if steps > 0 else lo


def simulate(model, timing, seed: int, properties=(), max_steps: int = 200,
             idle_patience=None) -> SimRun:
    """One random timed run from the initial state, seeded. Each step: choose uniformly an
    enabled action that can still happen before the earliest deadline, then a delay inside
    its window. Stops at the first property violation, when nothing is enabled, or after
    ``max_steps``. ``idle_patience`` caps how long an idle enactor waits to pick when nothing
    else forces time (default: the largest bound, at least 1)."""
    rng = random.Random(seed)
    view = _view(model, timing)
    for name in timing.names():
        _closed(timing.interval(name), name)
    scale = timing.scale()
    grid = scale * 4
    patience = idle_patience
    if patience is None:
        patience = max([timing.interval(n).hi for n in timing.names()] + [Fraction(1)])
    state = view.init_states()[0]
    clocks = [Fraction(0)] * len(view.clocks)
    now = Fraction(0)
    run = SimRun([], [], [state])
    state_inv = [p for p in properties if p.kind == "state invariant"]
    trans_inv = [p for p in properties if p.kind == "transition invariant"]
    for _ in range(max_steps):
        ts = view.timed_successors(state)
        if not ts:
            break
        slack = None  # how long time may pass before some deadline
        for clock, hi, _open in view.deadlines(state, ts):
            room = hi - clocks[clock]
            slack = room if slack is None else min(slack, room)
        windows = []
        for action, nxt, tm in ts:
            lo, hi = Fraction(0), slack
            for clock, name in tm.guards:
                iv = timing.interval(name)
                lo = max(lo, iv.lo - clocks[clock])
                if iv.hi is not None:
                    top = iv.hi - clocks[clock]
                    hi = top if hi is None else min(hi, top)
            if hi is None:
                hi = lo + patience
            if lo <= hi:
                windows.append((action, nxt, tm, lo, hi))
        if not windows:
            break  # cannot happen in a well-formed timed model (no timelock); stop safely
        action, nxt, tm, lo, hi = windows[rng.randrange(len(windows))]
        delay = _pick_delay(rng, lo, hi, grid)
        clocks = [c + delay for c in clocks]
        now += delay
        for clock in tm.resets:
            clocks[clock] = Fraction(0)
        before = state
        state = nxt
        run.actions.append(action)
        run.times.append(now)
        run.states.append(state)
        for p in trans_inv:
            if not p.holds(model, before, action, state):
                run.violated = p.name
                return run
        for p in state_inv:
            if not p.holds(model, state):
                run.violated = p.name
                return run
    return run


def _violated(model, properties, before, action, after):
    """The first property (in the given order) the step ``before -action-> after`` breaks."""
    for p in properties:
        if p.kind == "transition invariant" and not p.holds(model, before, action, after):
            return p.name
        if p.kind == "state invariant" and not p.holds(model, after):
            return p.name
    return None


def walk(model, seed: int, properties=(), max_steps: int = 100) -> SimRun:
    """One random untimed run from the initial state, seeded: each step is chosen uniformly
    among the enabled actions (``model.successors``, in their fixed order, so a seed gives
    the same run every time). Stops at the first property violation, when nothing is enabled,
    or after ``max_steps``. ``run.times`` stays empty."""
    rng = random.Random(seed)
    inits = model.init_states()
    state = inits[rng.randrange(len(inits))] if len(inits) > 1 else inits[0]
    run = SimRun([], [], [state])
    checked = [p for p in properties if p.kind in ("state invariant", "transition invariant")]
    for p in checked:
        if p.kind == "state invariant" and not p.holds(model, state):
            run.violated = p.name
            return run
    for _ in range(max_steps):
        succ = model.successors(state)
        if not succ:
            break
        action, nxt = succ[rng.randrange(len(succ))]
        run.actions.append(action)
        run.states.append(nxt)
        run.violated = _violated(model, checked, state, action, nxt)
        state = nxt
        if run.violated is not None:
            break
    return run


def replay_timed(model, timing, actions, times, prop) -> tuple:
    """Replays a timed counterexample: ``(ok, reason)``, ok when every timestamp respects the
    bounds and the run ends violating ``prop``."""
    ok, step, reason = check_timestamps(model, timing, actions, times)
    if not ok:
        return False, reason
    state = model.init_states()[0]
    states = [state]
    for a in actions:
        state = model.next_state(state, a)
        states.append(state)
    if prop.kind == "state invariant":
        bad = not prop.holds(model, states[-1])
        return bad, ("the final state violates " if bad else "the final state satisfies ") \
            + prop.name
    if prop.kind == "transition invariant":
        bad = bool(actions) and not prop.holds(model, states[-2], actions[-1], states[-1])
        return bad, ("the final step violates " if bad else "the final step satisfies ") \
            + prop.name
    return False, f"{prop.name} is not a safety property"
