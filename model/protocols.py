"""Protocols: the base system of MODEL.md and the variants that change a step or two.

A protocol is a class whose methods say what each step does. ``Protocol`` (shipped as
``original``) is the system of the 2025 incident; every other protocol subclasses it and
overrides only what differs. The same form serves shipped protocols, the variants of
``variants.py`` and a user's own file (``--protocol my_fix.py:MyFix``, see loader.py).

What a protocol can declare or override (all optional):

- ``name``, ``summary``: how it is called and described (CLI, JSON, traces).
- steps, each returning the enabled ``(action, next_state)`` pairs (``()`` when disabled),
  in a fixed order: ``pick``, ``apply`` (an enactor at APPLY(k); by default ``write``),
  ``write``, ``cleanup``, and ``kept_by_cleanup`` / ``writable`` / ``next_phase`` for the
  pieces in between; ``extra_steps`` for steps an enactor can take in any phase (a lease
  expiring).
- new phases by name: ``phases = ("verify",)`` adds one program counter, stepped by the method
  of the same name, ``verify(c, s, i)``; ``endpoint_phases = ("write",)`` adds one per endpoint,
  stepped by ``write(c, s, i, k)``. ``self.pc(c, "verify")`` is its program counter.
- new state: ``Enactor.local`` (per enactor; ``()`` while idle, reset by ``idle``) and
  ``State.ext`` (global, from ``initial_ext``). If ``ext`` names enactors by index, set
  ``symmetric = False`` or override ``canonical``.
- new kinds of action: frozen dataclasses subclassing ``actions.Action``, listed in
  ``action_classes``; an action may define ``describe(model, before, after)`` for traces.
- ``normalize(c, s)``: applied to every next state (e.g. renumbering tokens so that only their
  order matters: ``lease+fencing``); the identity by default.

Steps must be deterministic and free of side effects: the fast engine (model/derived/)
evaluates each one once per distinct (shared part, own enactor) and reuses the result.

Helpers build next states: ``self.move(s, i, pc=..., held=..., local=...)``,
``self.idle(s, i)``, ``with_dns`` and ``State._replace``.
"""

from __future__ import annotations

from .actions import Abort, Action, Check, Cleanup, Pick, Plan, Write
from .config import Config
from .state import APPLY0, CLEANUP, IDLE, Enactor, State

__all__ = ["Protocol", "Original", "Recheck", "Cas", "Guarded", "SHIPPED", "ProtocolDefinitionError",
           "with_enactor", "with_dns", "idle"]

_IDLE_ENACTOR = Enactor(IDLE, 0)
_BASE_KINDS = {"plan", "pick", "write", "check", "abort", "cleanup"}  # MODEL.md's steps


class ProtocolDefinitionError(ValueError):
    """A protocol class whose declarations do not fit together; the message says what to do."""


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
    """``s`` with enactor ``i`` back to idle, holding nothing (its ``local`` reset to ``()``)."""
    return with_enactor(s, i, _IDLE_ENACTOR)


class Protocol:
    """The base system of MODEL.md ("original"). Subclass and override what differs."""

    name = "original"
    summary = "the protocol of the 2025 incident: one version check at pick time, blind writes"
    symmetric = True  # enactors are interchangeable: symmetry reduction is sound
    action_classes = (Plan, Pick, Write, Cleanup)  # the kinds of step this protocol takes
    apply_phase = "apply"  # the name of APPLY(k) in traces (recheck calls it "check")
    endpoint_phases: tuple = ()  # extra phases, one per endpoint, after APPLY(0..E-1)
    phases: tuple = ()  # extra single phases, after those
    phase_timing: dict = {}  # timing interval of the steps in a declared phase, by its name

    # -- structure ------------------------------------------------------------------------
    def initial_ext(self, config: Config) -> tuple:
        """Extra global state a protocol keeps (``State.ext``); none by default."""
        return ()

    def pc(self, c: Config, phase: str, k: int = 0) -> int:
        """The program counter of a declared phase (``k``: the endpoint, for endpoint phases)."""
        e = c.endpoints
        if phase in self.endpoint_phases:
            return APPLY0 + e * (1 + self.endpoint_phases.index(phase)) + k
        if phase in self.phases:
            return APPLY0 + e * (1 + len(self.endpoint_phases)) + self.phases.index(phase)
        raise ProtocolDefinitionError(f"protocol {self.name!r} declares no phase {phase!r}")

    def phase_name(self, pc: int, config: Config) -> str:
        if pc == IDLE:
            return "idle"
        if pc == CLEANUP:
            return "cleanup"
        e = config.endpoints
        off = pc - APPLY0
        if 0 <= off < e:
            return f"{self.apply_phase}({off})"
        j, k = divmod(off - e, e)
        if 0 <= j < len(self.endpoint_phases):
            return f"{self.endpoint_phases[j]}({k})"
        j = off - e * (1 + len(self.endpoint_phases))
        if 0 <= j < len(self.phases):
            return self.phases[j]
        return f"phase-{pc}"

    def canonical(self, s: State) -> State:
        """The representative of ``s`` under permutations of enactors."""
        es = s.enactors
        ordered = tuple(sorted(es))
        if ordered == es:
            return s
        return State(s.gen, s.store, s.dns, ordered, s.ext)

    @property
    def timing_rules(self):
        """How the timed engines time this protocol's steps (model/timing.py), or None for
        MODEL.md's rules. A protocol with new kinds of step or new phases gets rules that time
        every enactor step by its phase (``phase_timing`` for the new ones): see
        variants_timing.py. Override for new clocks (``Lease``)."""
        kinds = {a.__name__.lower() for a in self.action_classes}
        if kinds <= _BASE_KINDS and set(self.endpoint_phases) <= {"write"} and not self.phases:
            return None
        from .variants_timing import PhaseRules  # noqa: PLC0415 - the untimed model stands alone

        return PhaseRules()

    @classmethod
    def validate(cls) -> None:
        """Raises ProtocolDefinitionError when the declarations do not fit together."""
        where = cls.__name__
        if not isinstance(cls.name, str) or not cls.name:
            raise ProtocolDefinitionError(f"{where}.name must be a non-empty string")
        bad = [a for a in cls.action_classes
               if not (isinstance(a, type) and issubclass(a, Action))]
        if bad:
            raise ProtocolDefinitionError(
                f"{where}.action_classes must list Action subclasses, not {bad[0]!r}")
        seen = set()
        for phase in tuple(cls.endpoint_phases) + tuple(cls.phases):
            if not isinstance(phase, str) or not phase.isidentifier() or phase in seen:
                raise ProtocolDefinitionError(
                    f"{where} declares phase {phase!r}: phase names must be distinct identifiers")
            seen.add(phase)
            if phase in ("idle", "cleanup", cls.apply_phase):
                raise ProtocolDefinitionError(f"{where} redeclares the built-in phase {phase!r}")
            if not callable(getattr(cls, phase, None)):
                args = "c, s, i, k" if phase in cls.endpoint_phases else "c, s, i"
                raise ProtocolDefinitionError(
                    f"{where} declares phase {phase!r} but has no method {phase}(self, {args}) "
                    "to step it")

    # -- steps ----------------------------------------------------------------------------
    def steps(self, c: Config, s: State):
        """Every enabled (action, next state): the Planner first, then enactors in order."""
        out = list(self.planner_steps(c, s))
        for i in range(c.enactors):
            out.extend(self.enactor_steps(c, s, i))
        if type(self).normalize is not Protocol.normalize:
            out = [(a, self.normalize(c, n)) for a, n in out]
        return out

    def normalize(self, c: Config, s: State) -> State:
        """Every next state passes through this (the identity here)."""
        return s

    def planner_steps(self, c: Config, s: State):
        if s.gen >= c.plans:
            return ()
        nxt = s.gen + 1
        return ((Plan(), State(nxt, s.store | {nxt}, s.dns, s.enactors, s.ext)),)

    def enactor_steps(self, c: Config, s: State, i: int):
        """The step of enactor i's current phase, then its ``extra_steps``."""
        pc = s.enactors[i].pc
        if pc == IDLE:
            out = self.pick(c, s, i)
        elif pc == CLEANUP:
            out = self.cleanup(c, s, i)
        elif pc < APPLY0 + c.endpoints:
            out = self.apply(c, s, i, pc - APPLY0)
        else:
            out = self.extra_phase(c, s, i, pc)
        more = self.extra_steps(c, s, i)
        return tuple(out) + tuple(more) if more else out

    def extra_phase(self, c: Config, s: State, i: int, pc: int):
        """A declared phase: calls the method of the same name."""
        e = c.endpoints
        j, k = divmod(pc - APPLY0 - e, e)
        if j < len(self.endpoint_phases):
            return getattr(self, self.endpoint_phases[j])(c, s, i, k)
        j = pc - APPLY0 - e * (1 + len(self.endpoint_phases))
        if j < len(self.phases):
            return getattr(self, self.phases[j])(c, s, i)
        raise ValueError(f"protocol {self.name!r} has no phase {pc}")

    def extra_steps(self, c: Config, s: State, i: int):
        """Steps enactor i can take whatever its phase (after its phase's step); none here."""
        return ()

    def pick(self, c: Config, s: State, i: int):
        """The one-time check: the newest plan is newer than every record."""
        if s.gen > 0 and s.gen > max(s.dns):
            return ((Pick(i), with_enactor(s, i, Enactor(APPLY0, s.gen))),)
        return ()

    def apply(self, c: Config, s: State, i: int, k: int):
        """What an enactor at APPLY(k) does: by default, write."""
        return self.write(c, s, i, k)

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

    # -- helpers for building next states -------------------------------------------------
    @staticmethod
    def move(s: State, i: int, **changes) -> State:
        """``s`` with fields of enactor i changed: ``pc``, ``held``, ``local``."""
        return with_enactor(s, i, s.enactors[i]._replace(**changes))

    @staticmethod
    def idle(s: State, i: int) -> State:
        """``s`` with enactor i idle, holding nothing, its ``local`` reset to ``()``."""
        return with_enactor(s, i, _IDLE_ENACTOR)


class Original(Protocol):
    """The protocol of the 2025 incident, exactly as MODEL.md's actions."""


class Recheck(Original):
    """Re-read the record before each write, in a separate step (check-then-act: still racy)."""

    name = "recheck"
    summary = "re-reads each record before writing it, in a separate step: check-then-act, still racy"
    action_classes = Original.action_classes + (Check, Abort)
    apply_phase = "check"  # APPLY(k) is CHECK(k) here ...
    endpoint_phases = ("write",)  # ... followed by WRITE(k), stepped by ``write``

    def apply(self, c, s, i, k):  # CHECK(k)
        if s.enactors[i].held >= s.dns[k]:
            return ((Check(i, k), self.move(s, i, pc=self.pc(c, "write", k))),)
        return self.abort(s, i, k)


class Cas(Original):
    """The patched version check: the write is a conditional transaction."""

    name = "cas"
    summary = "the patch: the version check is part of the write transaction (compare-and-set)"
    action_classes = Original.action_classes + (Abort,)

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
