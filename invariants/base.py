"""Property kinds. A property is a named value with a kind and a docstring; engines call
only the methods of its kind and know nothing of what the property means."""

from __future__ import annotations

__all__ = ["Property", "StateInvariant", "TransitionInvariant", "GraphProperty"]


class Property:
    """A named property of a model. ``name`` is the same on the CLI, in JSON and in file names."""

    name: str = ""
    kind: str = ""
    summary: str = ""
    # False when the property tells enactors apart (e.g. mentions enactor-1): symmetry
    # reduction is then unsound for it, and commands explore without it.
    symmetric: bool = True

    def explain(self, model, trace_states: list) -> str:
        """One sentence on why the last state of a counterexample breaks the property."""
        return f"the last state violates {self.name}"

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name}>"


class StateInvariant(Property):
    """Must hold in every reachable state."""

    kind = "state invariant"

    def holds(self, model, state) -> bool:
        raise NotImplementedError


class TransitionInvariant(Property):
    """Must hold on every reachable transition (state, action, next state)."""

    kind = "transition invariant"

    def holds(self, model, state, action, nxt) -> bool:
        raise NotImplementedError


class GraphProperty(Property):
    """A property of the reachable graph of ``graph_model(model)``: every reachable state
    with ``in_scope`` true must have a path to a state with ``is_goal`` true.

    ``graph_model`` must contain ``model``: its in-scope states and the transitions among
    them must be exactly the reachable graph of ``model``, and no path may leave the scope
    and come back (so breadth-first depths agree). Engines then explore it once for every
    property, and count only the in-scope part.
    """

    kind = "graph property"

    def graph_model(self, model):
        return model

    def in_scope(self, model, state) -> bool:
        return True

    def is_goal(self, model, state) -> bool:
        raise NotImplementedError
