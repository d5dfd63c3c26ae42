"""Candidate fixes shipped beside MODEL.md's four protocols, each a short declaration of what
differs. docs/PROTOCOLS.md gives the reasoning and the verdicts each one gets; the tests in
tests/model/test_variants.py pin them.

- ``cas+guarded``: ``cas``'s conditional write and ``guarded``'s cleanup (defence in depth).
- ``lease``: an exclusive lease (a lock with an expiry) around pick..cleanup. Untimed, a lease
  may expire at any moment and its holder is not told: mutual exclusion is lost, the race is back.
- ``lease+fencing``: the lease carries a token that grows with every grant; Route 53 remembers
  the token of each record's last write and atomically rejects a write with an older one.
- ``safe-delete``: two atomic checks: Route 53 refuses to install a plan that was deleted, and
  cleanup deletes only plans no record serves (``guarded``).
- ``safe-delete-2step``: the same, but the cleanup reads the records in one step and deletes
  in the next: the plausible-looking version that fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from .actions import Action, Pick, Plan, Write
from .config import endpoint_name, endpoint_ref
from .describe import plans_text
from .protocols import Cas, Guarded, Original
from .state import State

__all__ = ["CasGuarded", "Lease", "LeaseFencing", "SafeDelete", "SafeDelete2Step", "VARIANTS",
           "Expire", "Fenced", "Refuse", "Scan", "Delete"]


# -- actions the variants add ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Expire(Action):
    """``lease``: an enactor's lease runs out. The enactor is not told and carries on."""

    enactor: int

    def describe(self, model, before, after):
        return (f"its lease expires while it applies plan {before.enactors[self.enactor].held} "
                "(it is not told, and carries on)")


@dataclass(frozen=True, slots=True)
class Fenced(Action):
    """``lease+fencing``: Route 53 rejects a write whose lease token is older than the record's."""

    enactor: int
    endpoint: int

    def describe(self, model, before, after):
        me = before.enactors[self.enactor]
        return (f"Route 53 rejects its write of plan {me.held} to "
                f"{endpoint_ref(self.endpoint)}: lease token {me.local[1]} is older than the "
                f"record's token {before.ext[self.endpoint]}; gives up")


@dataclass(frozen=True, slots=True)
class Refuse(Action):
    """``safe-delete``: Route 53 refuses to install a plan that has been deleted."""

    enactor: int
    endpoint: int

    def describe(self, model, before, after):
        held = before.enactors[self.enactor].held
        return (f"Route 53 refuses plan {held} for {endpoint_ref(self.endpoint)}: "
                "it was deleted; gives up")


@dataclass(frozen=True, slots=True)
class Scan(Action):
    """``safe-delete-2step``: cleanup, step 1: find old plans no record serves."""

    enactor: int

    def describe(self, model, before, after):
        doomed = after.enactors[self.enactor].local[0]
        return (f"cleanup after plan {before.enactors[self.enactor].held}, step 1: no record "
                f"serves {plans_text(doomed)}, to be deleted" if doomed else
                f"cleanup after plan {before.enactors[self.enactor].held}, step 1: nothing to delete")


@dataclass(frozen=True, slots=True)
class Delete(Action):
    """``safe-delete-2step``: cleanup, step 2: delete what step 1 found, without looking again."""

    enactor: int

    def describe(self, model, before, after):
        gone = before.store - after.store
        return (f"cleanup, step 2: deletes {plans_text(gone)} without re-reading the records"
                if gone else "cleanup, step 2: deletes nothing")


# -- the variants ----------------------------------------------------------------------------
class CasGuarded(Cas, Guarded):
    """``cas``'s write and ``guarded``'s cleanup: each alone is enough (cas) or not (guarded)."""

    name = "cas+guarded"
    summary = "compare-and-set writes and a cleanup that never deletes a plan a record serves"


def _leased(e) -> bool:
    """The enactor holds a lease that has not expired (``local[0]``)."""
    return bool(e.local) and e.local[0]


class Lease(Original):
    """Pick takes an exclusive lease (atomically with the pick); cleanup releases it. The lease
    may expire at any moment (untimed), and its holder carries on unaware.
    ``Enactor.local`` is ``(valid,)`` from pick to cleanup."""

    name = "lease"
    summary = "an exclusive lease (lock with expiry) from pick to cleanup; the holder is not told of expiry"
    action_classes = Original.action_classes + (Expire,)

    def pick(self, c, s, i):
        if any(_leased(e) for e in s.enactors):
            return ()  # another enactor holds a valid lease
        return tuple((a, self.move(n, i, local=self.grant(s))) for a, n in super().pick(c, s, i))

    # Timing intervals this protocol's steps use beyond MODEL.md's four, with defaults
    # (checker/cli/timing.py, protocol_timing): a lease of one plan interval.
    timing_intervals = {"lease": "1"}

    @property
    def timing_rules(self):  # a lease clock per enactor: expires exactly L after it is taken
        from .variants_timing import LeaseRules  # noqa: PLC0415

        return LeaseRules()

    def grant(self, s: State) -> tuple:
        """``local`` of an enactor that has just taken the lease."""
        return (True,)

    def extra_steps(self, c, s, i):
        me = s.enactors[i]
        if _leased(me):
            return ((Expire(i), self.move(s, i, local=(False,) + me.local[1:])),)
        return ()


class LeaseFencing(Lease):
    """``lease``, plus a fencing token: each grant gets a token larger than every token in use
    (``local = (valid, token)``); Route 53 keeps the token of each record's last write
    (``ext[k]``) and, in the write transaction, rejects a token older than the record's.

    Only the order of tokens matters, so after every step they are renumbered 1, 2, ... in
    order: the state space stays finite and every behaviour is kept (see docs/PROTOCOLS.md)."""

    name = "lease+fencing"
    summary = "the lease carries a growing token; Route 53 rejects writes with an older token than the record's"
    action_classes = Lease.action_classes + (Fenced,)

    def initial_ext(self, config):
        return (0,) * config.endpoints  # token of each record's last write (0: none yet)

    def grant(self, s):
        return (True, 1 + max(_tokens(s), default=0))

    def apply(self, c, s, i, k):
        if not self.writable(s, k):
            return ()
        token = s.enactors[i].local[1]
        if token < s.ext[k]:
            return ((Fenced(i, k), self.idle(s, i)),)
        return tuple((a, n._replace(ext=n.ext[:k] + (token,) + n.ext[k + 1:]))
                     for a, n in self.write(c, s, i, k))

    def normalize(self, c, s):
        return _dense_tokens(s)


def _tokens(s: State) -> set:
    return {t for t in s.ext if t} | {e.local[1] for e in s.enactors if e.local}


def _dense_tokens(s: State) -> State:
    """``s`` with the tokens in use renumbered 1..m in order (0 stays 0)."""
    used = sorted(_tokens(s))
    if not used or used[-1] == len(used):
        return s
    new = {t: j for j, t in enumerate(used, start=1)}
    new[0] = 0
    es = tuple(e._replace(local=(e.local[0], new[e.local[1]])) if e.local else e
               for e in s.enactors)
    return State(s.gen, s.store, s.dns, es, tuple(new[t] for t in s.ext))


class SafeDelete(Guarded):
    """``guarded``'s cleanup, and a write that Route 53 refuses when the plan it installs has
    been deleted (the enactor gives up). Each check is atomic."""

    name = "safe-delete"
    summary = "Route 53 refuses deleted plans; cleanup deletes only plans no record serves (both atomic)"
    action_classes = Guarded.action_classes + (Refuse,)

    def apply(self, c, s, i, k):
        if not self.writable(s, k):
            return ()
        if s.enactors[i].held not in s.store:
            return ((Refuse(i, k), self.idle(s, i)),)
        return self.write(c, s, i, k)


class SafeDelete2Step(SafeDelete):
    """``safe-delete`` with its cleanup split: read the records (CLEANUP), then delete (DELETE).
    ``Enactor.local`` carries the plans found unreferenced from one step to the next."""

    name = "safe-delete-2step"
    summary = "safe-delete, but cleanup reads the records in one step and deletes in the next"
    action_classes = (Plan, Pick, Write, SafeDelete.action_classes[-1], Scan, Delete)
    phases = ("delete",)
    phase_timing = {"delete": "cleanup"}  # the delete comes within --cleanup-time of the scan

    def cleanup(self, c, s, i):
        doomed = tuple(sorted(s.store - self.kept_by_cleanup(c, s, i)))
        return ((Scan(i), self.move(s, i, pc=self.pc(c, "delete"), local=(doomed,))),)

    def delete(self, c, s, i):
        doomed = frozenset(s.enactors[i].local[0])
        return ((Delete(i), self.idle(s._replace(store=s.store - doomed), i)),)


VARIANTS = {p.name: p for p in (CasGuarded, Lease, LeaseFencing, SafeDelete, SafeDelete2Step)}
