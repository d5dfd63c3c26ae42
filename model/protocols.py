"""Protocols: the base system of MODEL.md and the variants that change a step or two.

A protocol is a class whose methods say what each step does. ``Original`` is the system of
the 2025 incident; every other protocol subclasses it and overrides only what differs.
A step method returns the enabled ``(action, next_state)`` pairs (an empty tuple when the
step is disabled), in a fixed order.
"""

from __future__ import annotations

from .actions import Abort, Check, Cleanup, Pick, Plan, Write
from .config import Config
from .state import APPLY0, CLEANUP, IDLE, Enactor, State

__all__ = ["Protocol", "Original", "Recheck", "Cas", "Guarded", "SHIPPED", "with_enactor",
           "with_dns", "idle"]

_IDLE_ENACTOR = Enactor(IDLE, 0)


def with_enactor(s: State, i: int, enactor: Enactor) -> State:
    """``s`` with enactor ``i`` replaced."""
    es = s.enactors
    return State(s.gen, s.store, s.dns, es[:i] + (enactor,) + es[i + 1:], s.ext)


def with_dns(s: State, k: int, plan: int, i: int, enactor: Enactor) -> State:
    """``s`` with record ``k`` serving ``plan`` and enactor ``i`` replaced (one write step)."""
    es, dns = s.enactors, s.dns
    return State(s.gen, s.store, dns[:k] + (plan,) + dns[k + 1:],
                 es[:i] + (enactor,) + es[i + 1:], s.ext)


def idle(s: State, i: int) -> State:
    """``s`` with enactor ``i`` back to idle, holding nothing."""
    return with_enactor(s, i, _IDLE_ENACTOR)


class Protocol:
    """The base system of MODEL.md ("original"). Subclass and override what differs."""

    name = "original"
    summary = "the protocol of the 2025 incident: one version check at pick time, blind writes"
    symmetric = True  # enactors are interchangeable: symmetry reduction is sound
    action_classes = (Plan, Pick, Write, Cleanup)  # the kinds of step this protocol takes

    # -- structure ------------------------------------------------------------------------
    def initial_ext(self, config: Config) -> tuple:
        """Extra global state a protocol keeps (``State.ext``); none by default."""
        return ()

    def phase_name(self, pc: int, config: Config) -> str:
        if pc == IDLE:
            return "idle"
        if pc == CLEANUP:
            return "cleanup"
        if APPLY0 <= pc < APPLY0 + config.endpoints:
            return f"apply({pc - APPLY0})"
        return f"phase-{pc}"

    def canonical(self, s: State) -> State:
        """The representative of ``s`` under permutations of enactors."""
        es = s.enactors
        ordered = tuple(sorted(es))
        if ordered == es:
            return s
        return State(s.gen, s.store, s.dns, ordered, s.ext)

    # -- steps ----------------------------------------------------------------------------
    def steps(self, c: Config, s: State):
        """Every enabled (action, next state): the Planner first, then enactors in order."""
        out = list(self.planner_steps(c, s))
        for i in range(c.enactors):
            out.extend(self.enactor_steps(c, s, i))
        return out

    def planner_steps(self, c: Config, s: State):
        if s.gen >= c.plans:
            return ()
        nxt = s.gen + 1
        return ((Plan(), State(nxt, s.store | {nxt}, s.dns, s.enactors, s.ext)),)

    def enactor_steps(self, c: Config, s: State, i: int):
        pc = s.enactors[i].pc
        if pc == IDLE:
            return self.pick(c, s, i)
        if pc == CLEANUP:
            return self.cleanup(c, s, i)
        if pc < APPLY0 + c.endpoints:
            return self.apply(c, s, i, pc - APPLY0)
        return self.extra_phase(c, s, i, pc)

    def pick(self, c: Config, s: State, i: int):
        """The one-time check: the newest plan is newer than every record."""
        if s.gen > 0 and s.gen > max(s.dns):
            return ((Pick(i), with_enactor(s, i, Enactor(APPLY0, s.gen))),)
        return ()

    def apply(self, c: Config, s: State, i: int, k: int):
        """What an enactor at APPLY(k) does: by default, write."""
        return self.write(c, s, i, k)

    def extra_phase(self, c: Config, s: State, i: int, pc: int):
        """Phases a protocol adds beyond idle/apply/cleanup."""
        raise ValueError(f"protocol {self.name!r} has no phase {pc}")

    def writable(self, s: State, k: int) -> bool:
        """Route 53 accepts a transaction on record k only while the plan it serves exists."""
        served = s.dns[k]
        return served == 0 or served in s.store

    def next_phase(self, c: Config, k: int) -> int:
        """Where an enactor goes after writing endpoint k."""
        return APPLY0 + k + 1 if k + 1 < c.endpoints else CLEANUP

    def write(self, c: Config, s: State, i: int, k: int):
        """Blind write of the held plan to record k (enabled while the record is writable)."""
        if not self.writable(s, k):
            return ()
        me = s.enactors[i]
        after = Enactor(self.next_phase(c, k), me.held, me.local)
        return ((Write(i, k), with_dns(s, k, me.held, i, after)),)

    def abort(self, s: State, i: int, k: int):
        """Give up on the plan: back to idle, no cleanup."""
        return ((Abort(i, k), idle(s, i)),)

    def kept_by_cleanup(self, c: Config, s: State, i: int) -> frozenset:
        """Plans the cleanup of enactor i keeps."""
        floor = s.enactors[i].held - c.keep
        return frozenset(v for v in s.store if v >= floor)

    def cleanup(self, c: Config, s: State, i: int):
        kept = self.kept_by_cleanup(c, s, i)
        es = s.enactors
        return ((Cleanup(i), State(s.gen, kept, s.dns, es[:i] + (_IDLE_ENACTOR,) + es[i + 1:],
                                   s.ext)),)


class Original(Protocol):
    """The protocol of the 2025 incident, exactly as MODEL.md's actions."""


class Recheck(Original):
    """Re-read the record before each write, in a separate step (check-then-act: still racy)."""

    name = "recheck"
    action_classes = Original.action_classes + (Check, Abort)
    summary = "re-reads each record before writing it, in a separate step: check-then-act, still racy"

    def phase_name(self, pc, config):
        e = config.endpoints
        if APPLY0 <= pc < APPLY0 + e:
            return f"check({pc - APPLY0})"
        if APPLY0 + e <= pc < APPLY0 + 2 * e:
            return f"write({pc - APPLY0 - e})"
        return super().phase_name(pc, config)

    def apply(self, c, s, i, k):  # APPLY(k) is CHECK(k) here
        me = s.enactors[i]
        if me.held >= s.dns[k]:
            return ((Check(i, k), with_enactor(s, i, Enactor(APPLY0 + c.endpoints + k, me.held,
                                                             me.local))),)
        return self.abort(s, i, k)

    def extra_phase(self, c, s, i, pc):  # WRITE(k)
        return self.write(c, s, i, pc - APPLY0 - c.endpoints)


class Cas(Original):
    """The patched version check: the write is a conditional transaction."""

    name = "cas"
    action_classes = Original.action_classes + (Abort,)
    summary = "the patch: the version check is part of the write transaction (compare-and-set)"

    def apply(self, c, s, i, k):
        if not self.writable(s, k):
            return ()
        if s.enactors[i].held >= s.dns[k]:
            return self.write(c, s, i, k)
        return self.abort(s, i, k)


class Guarded(Original):
    """Cleanup never deletes a plan some record serves at the moment of the cleanup."""

    name = "guarded"
    summary = "cleanup keeps every plan a record serves at that moment (atomic delete-if-unreferenced)"

    def kept_by_cleanup(self, c, s, i):
        return super().kept_by_cleanup(c, s, i) | (s.store & frozenset(s.dns))


SHIPPED = {p.name: p for p in (Original, Recheck, Cas, Guarded)}
