"""recoverable: whatever happened by plan P, plan P+1 can still be rolled out everywhere."""

from __future__ import annotations

from .base import GraphProperty

__all__ = ["Recoverable"]


class Recoverable(GraphProperty):
    """Explored in the same system with P+1 plans: every reachable state with gen <= P must
    have a path to a state with gen = P+1, P+1 in store and every dns[e] = P+1."""

    name = "recoverable"
    summary = "from every state, the next plan can still be rolled out to every endpoint"

    def graph_model(self, model):
        return model.with_plans(model.config.plans + 1)

    def in_scope(self, model, state) -> bool:
        return state.gen <= model.config.plans

    def is_goal(self, model, state) -> bool:
        target = model.config.plans + 1
        return (state.gen == target and target in state.store
                and all(plan == target for plan in state.dns))

    def explain(self, model, trace_states):
        nxt = model.config.plans + 1
        return (f"from this state no schedule rolls out the next plan ({nxt}) to every "
                "endpoint: the automation cannot repair itself")
