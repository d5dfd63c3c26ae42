"""The trace type: a counterexample as plain data, ready for any output format."""

from __future__ import annotations

from dataclasses import dataclass

from dnsrace.model import describe_step, state_to_dict
from dnsrace.model.describe import actor_name

__all__ = ["Step", "Trace", "build_trace"]


@dataclass(frozen=True)
class Step:
    """One step: who acted, the action (None for the initial state), what it did in words,
    and the full state after it (both as the model's objects, for replay and rendering)."""

    index: int
    actor: str | None
    action: object
    description: str
    state: object


@dataclass(frozen=True)
class Trace:
    """A counterexample: configuration, protocol, the property it violates, and its steps
    (step 0 is the initial state). ``explanation`` says why the last state violates it."""

    config: dict
    protocol: str
    property: str
    steps: tuple
    explanation: str

    @property
    def length(self) -> int:
        return len(self.steps) - 1

    def as_dict(self, model) -> dict:
        return {
            "config": self.config,
            "protocol": self.protocol,
            "property": self.property,
            "length": self.length,
            "steps": [
                {"index": s.index, "actor": s.actor,
                 "action": s.action.as_dict() if s.action is not None else None,
                 "description": s.description, "state": state_to_dict(model, s.state)}
                for s in self.steps
            ],
            "explanation": self.explanation,
        }


def build_trace(model, prop_name: str, path, explanation: str) -> Trace:
    """A Trace from an engine's concrete path."""
    steps = [Step(0, None, None, "initial state", path.states[0])]
    for j, action in enumerate(path.actions, start=1):
        before, after = path.states[j - 1], path.states[j]
        steps.append(Step(j, actor_name(action), action,
                          describe_step(model, before, action, after), after))
    return Trace(model.config.as_dict(), model.protocol.name, prop_name, tuple(steps),
                 explanation)
