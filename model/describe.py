"""Plain-English descriptions of steps and states, in the incident's terms."""

from __future__ import annotations

import re

from .config import enactor_name, endpoint_name, endpoint_ref
from .state import State

__all__ = ["describe_step", "actor_name", "plans_text", "phase_text"]

_PHASE = re.compile(r"^(.*)\((\d+)\)$")


def phase_text(pc) -> str:
    """A phase for people: JSON's ``apply(0)`` is ``apply(regional)``, ``write(3)`` is
    ``write(endpoint-4)`` (endpoints by name, never by 0-based index)."""
    m = _PHASE.match(str(pc))
    return f"{m.group(1)}({endpoint_name(int(m.group(2)))})" if m else str(pc)


def actor_name(action) -> str:
    return "planner" if action.actor is None else enactor_name(action.actor)


def plans_text(plans) -> str:
    plans = sorted(plans)
    if not plans:
        return "none"
    return ("plan " if len(plans) == 1 else "plans ") + ", ".join(map(str, plans))


def _record(plan: int) -> str:
    return "empty" if plan == 0 else f"plan {plan}"


def describe_step(model, before: State, action, after: State) -> str:
    """What ``action`` did, e.g. "writes plan 1 to endpoint regional, replacing plan 3"."""
    kind = action.kind
    if kind == "plan":
        return f"generates plan {after.gen}"
    i = action.actor
    held = before.enactors[i].held if i is not None else 0
    if kind == "pick":
        newest = max(before.dns)
        return (f"picks plan {after.enactors[i].held} (newer than "
                f"{'every record' if newest == 0 else f'plan {newest}, the newest record'})")
    if kind == "write":
        k = action.endpoint
        old = before.dns[k]
        text = f"writes plan {after.dns[k]} to {endpoint_ref(k)}"
        if old == 0:
            return text + " (first write)"
        return f"{text}, replacing plan {old}"  # the terminal table marks stale overwrites
    if kind == "check":
        k = action.endpoint
        return (f"re-reads {endpoint_ref(k)} ({_record(before.dns[k])}): its plan "
                f"{held} is not older, goes on to write")
    if kind == "abort":
        k = action.endpoint
        return (f"aborts plan {held}: {endpoint_ref(k)} already serves newer "
                f"plan {before.dns[k]}")
    if kind == "cleanup":
        deleted = before.store - after.store
        floor = held - model.config.keep
        what = f"deletes {plans_text(deleted)}" if deleted else "deletes nothing"
        return f"cleans up after plan {held}: {what} (older than {floor})"
    own = getattr(action, "describe", None)  # an action a protocol adds may describe itself
    if own is not None:
        return own(model, before, after)
    return _describe_diff(model, before, action, after)


def _describe_diff(model, before, action, after) -> str:
    """Fallback for actions a protocol adds: name it and list what changed."""
    changes = []
    for k, (old, new) in enumerate(zip(before.dns, after.dns)):
        if old != new:
            changes.append(f"{endpoint_ref(k)} {_record(old)} -> {_record(new)}")
    if before.store != after.store:
        gone, added = before.store - after.store, after.store - before.store
        if gone:
            changes.append(f"deletes {plans_text(gone)}")
        if added:
            changes.append(f"stores {plans_text(added)}")
    if before.ext != after.ext:
        changes.append(f"{before.ext} -> {after.ext}")
    text = action.kind.replace("_", " ")
    return text + (": " + "; ".join(changes) if changes else "")
