"""Timing of steps a protocol adds (the ``timing_rules`` hook of model/timing.py).

Imported lazily (by ``Protocol.timing_rules``), so the untimed model does not depend on the
timed engine.

- ``PhaseRules``: every enactor step is timed by the phase it is taken in, whatever its kind:
  an abort at APPLY(k) like the write it replaces (within --write-time of the enactor's previous
  step), a step at CLEANUP like a cleanup. A protocol's own phases are timed by its
  ``phase_timing`` declaration, e.g. ``phase_timing = {"delete": "cleanup"}``: the
  ``safe-delete-2step`` delete comes within --cleanup-time of its scan.
- ``LeaseRules``: each enactor also has a lease clock z, reset when it takes the lease (at
  Pick). The lease expires when z reaches the interval named ``lease`` (``Timing(extra=
  {"lease": Interval(L, L)})`` for a lease of exactly L); expiry is urgent, so a lease never
  outlives L.
"""

from __future__ import annotations

from .timing import PHASE_INTERVAL, ActionTiming, TimingError, TimingRules

__all__ = ["PhaseRules", "LeaseRules"]

_UNTIMED = object()


class PhaseRules(TimingRules):
    """MODEL.md's timing, with any enactor step timed by its phase (``phase_timing`` first)."""

    def action_timing(self, model, state, action):
        if action.actor is None:
            return super().action_timing(model, state, action)
        protocol = model.protocol
        phase = protocol.phase_name(state.enactors[action.actor].pc, model.config).split("(")[0]
        name = protocol.phase_timing.get(phase, PHASE_INTERVAL.get(phase, _UNTIMED))
        if name is _UNTIMED:
            raise TimingError(
                f"protocol {protocol.name!r} has phase {phase!r} with no timing: declare "
                f"phase_timing = {{{phase!r}: 'write'}} (or 'check', 'cleanup', or an extra "
                "interval) in the protocol")
        clock = self.enactor_clock(action.actor)
        if name is None:  # idle: whenever the untimed guard holds
            return ActionTiming((), (clock,), False)
        return ActionTiming(((clock, name),), (clock,))


class LeaseRules(PhaseRules):
    """One more clock per enactor, the lease clock ``z``: clocks are the Planner's, the
    enactors' ``x`` (1..N), then the leases' ``z`` (N+1..2N)."""

    def clock_names(self, config) -> tuple:
        return super().clock_names(config) + tuple(f"lease-{i + 1}"
                                                   for i in range(config.enactors))

    @staticmethod
    def lease_clock(config, i: int) -> int:
        return 1 + config.enactors + i

    def action_timing(self, model, state, action):
        if action.kind == "expire":  # exactly when the lease clock reaches the lease interval
            return ActionTiming(((self.lease_clock(model.config, action.actor), "lease"),), ())
        t = super().action_timing(model, state, action)
        if action.kind == "pick":  # taking the lease starts its clock
            return t._replace(resets=t.resets + (self.lease_clock(model.config, action.actor),))
        return t

    def inactive_clocks(self, model, state) -> tuple:
        idle_leases = tuple(self.lease_clock(model.config, i) for i, e in enumerate(state.enactors)
                            if not (e.local and e.local[0]))
        return tuple(sorted(super().inactive_clocks(model, state) + idle_leases))

    def clock_permutation(self, config, order):
        base = super().clock_permutation(config, order)
        if base is None:
            return None
        return base + tuple(self.lease_clock(config, i) for i in order)
