"""Who talks to whom in a step: the lifelines shared by the sequence-diagram formats."""

from __future__ import annotations

__all__ = ["ROUTE53", "STORE", "PLANNER", "lifelines", "target_of", "short_label", "is_stale"]

PLANNER, ROUTE53, STORE = "planner", "route53", "store"
TITLES = {PLANNER: "Planner", ROUTE53: "Route 53", STORE: "Plan store"}


def lifelines(trace) -> list:
    """(key, title) for each lifeline: Planner, every enactor that acts, Route 53, store."""
    actors = [a for a in trace.actors if a != PLANNER]
    return ([(PLANNER, TITLES[PLANNER])] + [(a, a) for a in actors]
            + [(ROUTE53, TITLES[ROUTE53]), (STORE, TITLES[STORE])])


def target_of(step) -> str:
    """The lifeline a step's arrow points to."""
    kind = (step.action_data or {}).get("kind")
    if kind in ("write", "check"):
        return ROUTE53
    if kind in ("plan", "pick", "cleanup"):
        return STORE
    return step.actor or PLANNER  # abort and unknown kinds: a self-message


def is_stale(trace, step) -> bool:
    """The step replaced some record's plan with an older one (what monotonic forbids)."""
    if step.index == 0 or step.state_data is None:
        return False
    before = trace.steps[step.index - 1].state_data
    if before is None:
        return False
    return any(new < old for old, new in zip(before["dns"], step.state_data["dns"]))


def short_label(step) -> str:
    """The step's description, for diagram labels."""
    return step.description.strip()
