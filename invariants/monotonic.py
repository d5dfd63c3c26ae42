"""monotonic: no write lowers a record's plan (no stale overwrite)."""

from __future__ import annotations

from dnsrace.model import endpoint_ref

from .base import TransitionInvariant

__all__ = ["Monotonic"]


class Monotonic(TransitionInvariant):
    """No transition lowers dns[e] for any endpoint e."""

    name = "monotonic"
    summary = "no write replaces a record's plan with an older one"

    def holds(self, model, state, action, nxt) -> bool:
        before, after = state.dns, nxt.dns
        if before is after:
            return True
        for old, new in zip(before, after):
            if new < old:
                return False
        return True

    def explain(self, model, trace_states):
        before, after = trace_states[-2], trace_states[-1]
        for e, (old, new) in enumerate(zip(before.dns, after.dns)):
            if new < old:
                return (f"the last write replaced plan {old} with the older plan {new} on "
                        f"{endpoint_ref(e)}: a stale overwrite")
        return "the last step lowered a record"
