"""Your own property, written like the shipped ones (invariants/no_dangling.py):
"no endpoint ever serves a plan older than gen - 3".

    dnsrace check --property examples/bounded_staleness.py:BoundedStaleness
    dnsrace check --plans 6 --property examples/bounded_staleness.py:BoundedStaleness

A record may lag behind the newest plan while enactors roll it out, but never by more than
three generations: a stale enactor that writes a very old plan breaks it. With the default
four plans no record can be four generations behind, so it holds; with six it is violated.
"""

from dnsrace.invariants import StateInvariant
from dnsrace.model import endpoint_ref

LAG = 3


class BoundedStaleness(StateInvariant):
    """Every written record serves a plan at least gen - 3."""

    name = "bounded-staleness"
    summary = f"no endpoint ever serves a plan older than gen - {LAG}"

    def holds(self, model, state) -> bool:
        return all(plan == 0 or plan >= state.gen - LAG for plan in state.dns)

    def explain(self, model, trace_states) -> str:
        last = trace_states[-1]
        old = [f"{endpoint_ref(e)} serves plan {plan}"
               for e, plan in enumerate(last.dns) if plan and plan < last.gen - LAG]
        return (f"{' and '.join(old)} while the Planner is at plan {last.gen}: more than "
                f"{LAG} generations behind")
