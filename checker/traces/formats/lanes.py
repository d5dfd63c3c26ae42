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


def is_stale(step) -> bool:
    return "stale overwrite" in step.description


def short_label(step) -> str:
    """The step's description without the table's margin marks, for diagram labels."""
    return step.description.replace("  << stale overwrite", "").strip()
