"""Comparison: explore several models with the same properties and options, and collect per
model the verdict of every property, the length of its shortest counterexample and the size
of the exploration. Plain data, no printing; knows nothing of what the models are."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..explore.bfs import explore
from ..explore.result import HOLDS, INCOMPLETE, VIOLATED, Options

__all__ = ["Run", "Row", "compare", "smallest_failures"]


@dataclass(frozen=True)
class Run:
    """One exploration to make: a label (the protocol), a sweep point (``{}`` when none)."""

    label: str
    point: dict
    model: object


@dataclass
class Row:
    """The outcome of one run. ``status[p]`` is holds/violated/incomplete; ``shortest[p]`` the
    length of p's shortest counterexample (None when it holds)."""

    label: str
    point: dict
    verdict: str
    status: dict
    shortest: dict
    states: int
    transitions: int
    explored_states: int
    seconds: float
    exhausted: bool
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)


def compare(runs, properties, options: Options = Options(stop_early=False),
            on_run=None, timed=None, explore=explore) -> list[Row]:
    """Explores every run in order with ``explore(model, properties, options) -> Result``
    (the object BFS unless the caller picks another engine). ``on_run(j, total, run)`` is
    called before run j starts (for a progress bar). ``timed(run)``, if given, returns
    ``{property: (status, shortest)}`` under timing, stored in ``row.extra["timed"]``."""
    runs = list(runs)
    rows = []
    # One Ctrl-C (or SIGTERM) ends the whole comparison: the run it cut short is kept as
    # incomplete, later runs are not started; the caller sees fewer rows than runs.
    try:
        for j, run in enumerate(runs):
            if on_run is not None:
                on_run(j, len(runs), run)
            r = explore(run.model, properties, options)
            s = r.stats
            rows.append(Row(
                run.label, dict(run.point), r.verdict,
                {n: pr.status for n, pr in r.properties.items()},
                {n: (len(pr.trace) if pr.trace is not None else None)
                 for n, pr in r.properties.items()},
                s.states, s.transitions, s.explored_states, s.seconds, s.exhausted,
                s.stop_reason))
            if s.stop_reason == "interrupted":
                raise KeyboardInterrupt
            if timed is not None:
                rows[-1].extra["timed"] = timed(run)
    except KeyboardInterrupt:
        if rows and timed is not None and "timed" not in rows[-1].extra:
            rows[-1].extra["timed"] = {
                p.name: ("not analysed" if p.kind == "graph property" else INCOMPLETE, None)
                for p in properties}
            rows[-1].exhausted, rows[-1].stop_reason = False, "interrupted"
    if on_run is not None:
        on_run(len(runs), len(runs), None)
    return rows


def smallest_failures(rows: list[Row], minimal) -> dict:
    """Per label and property: ``{"violated_at": [minimal points], "held_at": n,
    "incomplete_at": m}`` over a sweep; ``minimal`` picks the smallest of a list of points."""
    out: dict = {}
    for row in rows:
        for prop, status in row.status.items():
            cell = out.setdefault(row.label, {}).setdefault(
                prop, {"violated_at": [], "held_at": 0, "incomplete_at": 0})
            if status == VIOLATED:
                cell["violated_at"].append(row.point)
            elif status == HOLDS:
                cell["held_at"] += 1
            elif status == INCOMPLETE:
                cell["incomplete_at"] += 1
    for cells in out.values():
        for cell in cells.values():
            cell["violated_at"] = minimal(cell["violated_at"])
    return out
