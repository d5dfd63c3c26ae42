"""no-dangling: Route 53 never serves a deleted plan (the incident's empty DNS record)."""

from __future__ import annotations

from dnsrace.model import endpoint_ref

from .base import StateInvariant

__all__ = ["NoDangling", "dangling_endpoints"]


def dangling_endpoints(state) -> list[int]:
    """Endpoints whose record serves a plan that is no longer in the store."""
    store = state.store
    return [e for e, plan in enumerate(state.dns) if plan and plan not in store]


class NoDangling(StateInvariant):
    """Every endpoint with dns[e] != 0 references a plan in the store."""

    name = "no-dangling"
    summary = "every written record serves a plan that still exists (no empty DNS record)"

    def holds(self, model, state) -> bool:
        store = state.store
        for plan in state.dns:
            if plan and plan not in store:
                return False
        return True

    def explain(self, model, trace_states):
        last = trace_states[-1]
        parts = [f"{endpoint_ref(e)} serves plan {last.dns[e]}"
                 for e in dangling_endpoints(last)]
        return (f"{' and '.join(parts)}, which cleanup deleted: Route 53 answers with an empty "
                "record, and every later write to it fails")
