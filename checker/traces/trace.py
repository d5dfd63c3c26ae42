"""The trace type: a counterexample as plain data, ready for any output format.

A :class:`Trace` is the one value every output format (``dnsrace.checker.traces.formats``), the
step table, ``replay`` and ``show`` work from. Each step keeps the model's own objects
(``action``, ``state``: for replay and rendering) *and* their plain JSON-ready forms
(``action_data``, ``state_data``), so a format module never needs the model to write text.

``time`` is optional per step: ``None`` for an untimed trace; a timed engine sets it to the
moment (a :class:`fractions.Fraction`, or an int) at which the step happens. Formats write it
only when present, and ``replay`` carries it through.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from dnsrace.model import describe_step, state_to_dict
from dnsrace.model.describe import actor_name

__all__ = ["Step", "Trace", "build_trace", "time_to_text", "time_from_text"]


@dataclass(frozen=True)
class Step:
    """One step: who acted, the action (None for the initial state), what it did in words,
    the full state after it, and (for timed traces) when it happened."""

    index: int
    actor: str | None
    action: object
    description: str
    state: object
    state_data: dict | None = None
    time: Fraction | int | None = None

    @property
    def action_data(self) -> dict | None:
        return None if self.action is None else self.action.as_dict()


@dataclass(frozen=True)
class Trace:
    """A counterexample: configuration, protocol, the property it violates, and its steps
    (step 0 is the initial state). ``explanation`` says why the last state violates it.
    ``timing``, for timed traces, holds the timing bounds the run respects, as plain
    JSON-ready data (formats store it as given; replay carries it through)."""

    config: dict
    protocol: str
    property: str
    steps: tuple
    explanation: str
    timing: dict | None = None  # timed traces: the bounds, as plain JSON-ready data
    provenance: dict | None = None  # dnsrace version and command options (reports/provenance)

    @property
    def length(self) -> int:
        return len(self.steps) - 1

    @property
    def timed(self) -> bool:
        return any(s.time is not None for s in self.steps)

    @property
    def actors(self) -> list:
        """Actors in order of first appearance (the Planner, if present, first)."""
        seen = [s.actor for s in self.steps if s.actor is not None]
        ordered = list(dict.fromkeys(seen))
        return sorted(ordered, key=lambda a: (a != "planner", ordered.index(a)))

    def as_dict(self, model=None) -> dict:
        """The trace as JSON-ready data (the body of the ``dnsrace-trace/1`` format)."""
        return {
            **({"dnsrace": self.provenance} if self.provenance is not None else {}),
            "config": dict(self.config),
            "protocol": self.protocol,
            "property": self.property,
            "length": self.length,
            "steps": [_step_dict(s, model) for s in self.steps],
            "explanation": self.explanation,
            **({"timing": self.timing} if self.timing is not None else {}),
        }


def _step_dict(s: Step, model) -> dict:
    state = s.state_data if s.state_data is not None else state_to_dict(model, s.state)
    out = {"index": s.index}
    if s.time is not None:
        out["time"] = time_to_text(s.time)
    out.update({"actor": s.actor, "action": s.action_data, "description": s.description,
                "state": state})
    return out


def time_to_text(t) -> str:
    """A moment as exact text: ``"3"``, ``"3/2"`` (rationals never go through floats)."""
    return str(Fraction(t))


def time_from_text(text) -> Fraction:
    """Inverse of :func:`time_to_text`; also accepts ints and decimal strings ("1.5").
    Raises ValueError for anything else, or a negative moment."""
    from dnsrace.model.timing import TimingError, parse_rational  # noqa: PLC0415

    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f"a time must be a string such as \"3/2\", got {text!r}")
    try:  # refuses huge exponents and digit counts at once (never a hang)
        t = parse_rational(text, "time")
    except TimingError as exc:
        if "not a number" in str(exc):
            raise ValueError(f"a time must be a non-negative rational such as \"3/2\", got "
                             f"{text!r}") from None
        raise ValueError(str(exc).removeprefix("time: ")) from None
    if t < 0:
        raise ValueError(f"a time must not be negative, got {text!r}")
    return t


def build_trace(model, prop_name: str, path, explanation: str, times=None,
                timing: dict | None = None) -> Trace:
    """A Trace from an engine's concrete path. ``times``, if given, holds one moment per
    state of the path (``times[0]`` for the initial state); ``timing`` the bounds."""
    if times is not None and len(times) != len(path.states):
        raise ValueError(f"{len(times)} times for {len(path.states)} states")
    at = (lambda j: times[j]) if times is not None else (lambda j: None)
    first = path.states[0]
    steps = [Step(0, None, None, "initial state", first, state_to_dict(model, first), at(0))]
    for j, action in enumerate(path.actions, start=1):
        before, after = path.states[j - 1], path.states[j]
        steps.append(Step(j, actor_name(action), action,
                          describe_step(model, before, action, after), after,
                          state_to_dict(model, after), at(j)))
    return Trace(model.config.as_dict(), model.protocol.name, prop_name, tuple(steps),
                 explanation, timing)
