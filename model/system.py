"""The transition system an engine explores: a configuration plus a protocol."""

from __future__ import annotations

from .actions import Action
from .config import Config
from .loader import PROTOCOLS, is_protocol_spec, load_protocol
from .protocols import SHIPPED, Protocol
from .state import State, initial_state

__all__ = ["DnsSystem", "UnknownProtocol", "resolve_protocol"]


class UnknownProtocol(ValueError):
    """A protocol name that names nothing; the message lists the valid ones."""


def resolve_protocol(name: str) -> Protocol:
    """A shipped protocol by name, or a user's ``file.py:Class`` / ``package.module:Class``
    (loader.py raises ProtocolLoadError, one line, when that code does not load)."""
    cls = SHIPPED.get(name)
    if cls is None:
        if name in PROTOCOLS or is_protocol_spec(name):
            return load_protocol(name)
        raise UnknownProtocol(f"unknown protocol {name!r} (valid: {', '.join(PROTOCOLS)}; or "
                              "your own: path/to/file.py:ClassName, package.module:ClassName)")
    return cls()


class DnsSystem:
    """The Planner, N enactors and Route 53, as in MODEL.md.

    This is the whole interface an engine sees: ``init_states``, ``successors`` (enabled
    actions in a fixed order, with their next states), ``next_state`` and ``representative``.
    """

    def __init__(self, config: Config, protocol: Protocol | str = "original"):
        self.config = config
        self.protocol = resolve_protocol(protocol) if isinstance(protocol, str) else protocol
        self.symmetric = self.protocol.symmetric
        self.action_kinds = {cls.__name__.lower(): cls for cls in self.protocol.action_classes}

    def __repr__(self) -> str:
        return f"DnsSystem({self.config}, {self.protocol.name!r})"

    def with_plans(self, plans: int) -> "DnsSystem":
        """The same protocol over a different number of plans."""
        return DnsSystem(self.config.with_plans(plans), self.protocol)

    def init_states(self) -> list[State]:
        c = self.config
        return [initial_state(c.enactors, c.endpoints, self.protocol.initial_ext(c))]

    def successors(self, state: State) -> list[tuple[Action, State]]:
        return self.protocol.steps(self.config, state)

    def actions(self, state: State) -> list[Action]:
        return [a for a, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        """The state after ``action``, or None when it is not enabled in ``state``."""
        for a, nxt in self.successors(state):
            if a == action:
                return nxt
        return None

    def timed(self, timing):
        """This system under timing bounds (``model/timing.py``'s TimedView), as the timed
        engines and the simulator see it."""
        from .timing import TimedView  # noqa: PLC0415 - the untimed model stands alone
        return TimedView(self, timing)

    def representative(self, state: State) -> State:
        return self.protocol.canonical(state)

    def step_preference(self, state: State, action: Action) -> tuple:
        """How readable a step is when engines choose among shortest counterexamples (lower
        first): enactor steps before the Planner's, so plans appear as late as possible."""
        return (action.actor is None,)
