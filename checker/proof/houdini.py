"""Houdini (Flanagan & Leino, FME 2001): the strongest inductive subset of candidate conjuncts.

Start from the candidates that hold initially; while some candidate is not preserved by some
step (assuming all remaining candidates before it), drop it. A conjunct dropped relative to a
set is also not preserved relative to any subset, so the result is the unique largest
inductive subset whatever the order, and its conjunction is the strongest invariant those
candidates can express. z3's ``unknown`` drops a candidate too (dropping is always sound) and
is recorded as such. Works through ``solver.py``; imports no z3 itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import solver
from .solver import PROVED, UNKNOWN

__all__ = ["Dropped", "Inference", "houdini", "check_fixed"]


@dataclass(frozen=True)
class Dropped:
    """A candidate that is not part of the inductive invariant: why (``initially``: fails in
    the initial state; ``step``: the step that breaks it), and the counterexample."""

    conjunct: object
    step: str | None
    check: object

    @property
    def reason(self) -> str:
        what = "z3 could not decide" if self.check.status == UNKNOWN else "broken"
        return f"{what} by the initial state" if self.step is None else f"{what} by step {self.step}"


@dataclass
class Inference:
    """The inductive subset found (``kept``), the candidates dropped, the UNSAT cores per step
    (``used[step]``: conjuncts its preservation proof needed), solver time and call count."""

    kept: list
    dropped: list = field(default_factory=list)
    used: dict = field(default_factory=dict)
    seconds: float = 0.0
    calls: int = 0

    def add(self, check):
        self.seconds += check.seconds
        self.calls += 1
        return check


def houdini(enc, candidates, timeout_ms=solver.DEFAULT_TIMEOUT_MS, drop=True) -> Inference:
    """The strongest inductive subset of ``candidates`` (state conjuncts). With
    ``drop=False`` nothing is dropped: every failure is recorded against the full set (checking
    a given invariant as it is)."""
    out = Inference(kept=[])
    for c in candidates:
        check = out.add(solver.check_initiation(enc, c, timeout_ms))
        if check.status == PROVED:
            out.kept.append(c)
        else:
            out.dropped.append(Dropped(c, None, check))
            if not drop:
                out.kept.append(c)
    steps = [st.kind for st, *_ in enc.steps]
    # Houdini's first round expects failures: conjunct by conjunct, small counterexamples
    # first. Checking a given invariant (and every later round) expects success: one call per
    # step, conjunct by conjunct only when that call fails.
    changed, first = True, drop
    while changed:
        changed = False
        out.used = {}
        for j, kind in enumerate(steps):
            # After the first round, usually nothing more fails: one call per step confirms it.
            # (A satisfiable call over every conjunct is slow for z3, so the first round asks
            # conjunct by conjunct.)
            whole = None if first else out.add(
                solver.check_all_preserved(enc, out.kept, j, timeout_ms, minimise=drop))
            if whole is not None and whole.status == PROVED:
                out.used[kind] = whole.used
                continue
            for c in list(out.kept):
                check = out.add(solver.check_preservation(enc, out.kept, j, c, timeout_ms))
                if check.status == PROVED:
                    continue
                out.dropped.append(Dropped(c, kind, check))
                if drop:
                    out.kept.remove(c)
                    changed = True
            if not drop:
                out.used[kind] = None
        if first and drop:
            changed, first = True, False  # confirm with one call per step
        first = False
    return out


def check_fixed(enc, invariant, timeout_ms=solver.DEFAULT_TIMEOUT_MS) -> Inference:
    """Checks ``invariant`` as given: every failure is a ``Dropped`` entry, nothing removed."""
    return houdini(enc, invariant, timeout_ms, drop=False)

