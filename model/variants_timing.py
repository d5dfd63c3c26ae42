"""Timing of the steps the shipped variants add (the ``timing_rules`` hook of model/timing.py).

Imported lazily by ``variants.py``, so the untimed variants do not depend on the timed engine.

- ``refuse``, ``fenced`` (an aborted write) are timed like the write they replace: [W_lo, W_hi]
  after the enactor's previous step; ``scan`` like a cleanup; ``delete`` (the second cleanup
  step of ``safe-delete-2step``) is a second cleanup step, [C_lo, C_hi] after the scan.
- ``lease``: each enactor also has a lease clock z, reset when it takes the lease (at Pick).
  The lease expires when z reaches the interval named ``lease`` (``Timing(extra={"lease":
  Interval(L, L)})`` for a lease of exactly L); it is urgent, so a lease cannot outlive L.
"""

from __future__ import annotations

from .timing import ActionTiming, TimingRules

__all__ = ["VariantRules", "LeaseRules"]


class VariantRules(TimingRules):
    """MODEL.md's timing, plus the variants' aborts and two-step cleanup."""

    timed_kinds = TimingRules.timed_kinds | {"refuse", "fenced", "scan"}

    def action_timing(self, model, state, action):
        if action.kind == "delete":
            clock = self.enactor_clock(action.actor)
            return ActionTiming(((clock, "cleanup"),), (clock,))
        return super().action_timing(model, state, action)


class LeaseRules(VariantRules):
    """One more clock per enactor, the lease clock ``z``: clocks are the Planner's, the
    enactors' ``x`` (1..N), then the leases' ``z`` (N+1..2N)."""

    timed_kinds = VariantRules.timed_kinds | {"expire"}

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
