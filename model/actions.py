"""Actions: one small immutable class per kind. Actions name only *who* acts and *where*;
what they change follows from the state, so a trace file can be replayed by matching them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Action", "Plan", "Pick", "Write", "Check", "Abort", "Cleanup", "ACTION_KINDS",
           "action_from_dict"]


@dataclass(frozen=True, slots=True)
class Action:
    """Base of every action. ``actor`` is ``None`` for the Planner, else an enactor index."""

    @property
    def actor(self):
        return getattr(self, "enactor", None)

    @property
    def kind(self) -> str:
        return type(self).__name__.lower()

    def as_dict(self) -> dict:
        out = {"kind": self.kind}
        for name in self.__slots__:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True, slots=True)
class Plan(Action):
    """The Planner generates the next plan."""


@dataclass(frozen=True, slots=True)
class Pick(Action):
    """An idle enactor takes the newest plan after its one-time "newer than Route 53" check."""

    enactor: int


@dataclass(frozen=True, slots=True)
class Write(Action):
    """An enactor writes its plan to one endpoint (a Route 53 transaction)."""

    enactor: int
    endpoint: int


@dataclass(frozen=True, slots=True)
class Check(Action):
    """``recheck``: the enactor re-reads the record before writing it."""

    enactor: int
    endpoint: int


@dataclass(frozen=True, slots=True)
class Abort(Action):
    """The enactor finds its plan older than the record and gives up (no cleanup)."""

    enactor: int
    endpoint: int


@dataclass(frozen=True, slots=True)
class Cleanup(Action):
    """The enactor deletes plans older than its own plan minus ``keep``."""

    enactor: int


ACTION_KINDS = {cls.__name__.lower(): cls for cls in (Plan, Pick, Write, Check, Abort, Cleanup)}


def action_from_dict(data: dict, kinds: dict | None = None) -> Action:
    """Rebuild an action from ``as_dict()`` output. Raises ValueError naming what is wrong."""
    kinds = kinds or ACTION_KINDS
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError("an action needs a 'kind'")
    cls = kinds.get(data["kind"])
    if cls is None:
        raise ValueError(f"unknown action kind {data['kind']!r} (known: {', '.join(sorted(kinds))})")
    fields = cls.__slots__
    extra = set(data) - set(fields) - {"kind"}
    if extra:
        raise ValueError(f"action {data['kind']!r} has unknown field(s) {', '.join(sorted(extra))}")
    args = {}
    for name in fields:
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"action {data['kind']!r} needs an integer {name!r}")
        args[name] = value
    return cls(**args)
