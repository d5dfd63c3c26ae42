"""What an exploration returns: plain data, no printing."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Options", "Path", "PropertyResult", "Stats", "Result", "HOLDS", "VIOLATED",
           "INCOMPLETE"]

HOLDS, VIOLATED, INCOMPLETE = "holds", "violated", "incomplete"


@dataclass(frozen=True)
class Options:
    """How to explore. ``symmetry`` uses the model's ``representative``; ``stop_early``
    stops once every property is violated (the verdict is then final, the counts partial);
    ``max_depth`` expands no state at that depth (states up to it are all explored and
    checked; the verdict of a property not violated by then is incomplete)."""

    symmetry: bool = True
    max_states: int | None = None
    max_depth: int | None = None
    max_seconds: float | None = None
    stop_early: bool = True
    progress_every: int = 1 << 14


@dataclass(frozen=True)
class Path:
    """A run: ``states[0]`` is initial and ``actions[j]`` leads from ``states[j]`` to
    ``states[j + 1]``. Concrete (never permuted by symmetry)."""

    states: tuple
    actions: tuple

    def __len__(self) -> int:
        return len(self.actions)


@dataclass
class PropertyResult:
    name: str
    kind: str
    status: str
    trace: Path | None = None
    explanation: str = ""


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    exhausted: bool = False
    explored_states: int = 0  # including states beyond the checked scope (graph properties)
    explored_transitions: int = 0
    coverage: dict = field(default_factory=dict)
    never_fired: list = field(default_factory=list)
    stop_reason: str = ""
    violations: dict = field(default_factory=dict)  # property -> violating states/transitions

    @property
    def rate(self) -> float:
        return self.explored_states / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Result:
    verdict: str
    properties: dict
    stats: Stats
    symmetry: bool = True
