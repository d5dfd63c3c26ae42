"""Sweeps: a grid of integer parameters, and the smallest points at which a verdict flips.

Syntax of a sweep: comma-separated ``name=RANGE`` items, RANGE being ``A..B`` (inclusive) or a
single ``A``: ``enactors=2..4,plans=3..6``. This module knows nothing of what the parameters
mean; the caller passes the valid names (and aliases) and builds a model per point.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["SweepError", "parse_sweep", "grid", "minimal_points", "point_label"]

MAX_POINTS = 400  # a larger grid is a typo, not a plan

_ITEM = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(\d{1,18})\s*(?:\.\.\s*(\d{1,18})\s*)?$")


class SweepError(ValueError):
    """A sweep that cannot be run; the message is one line for the user."""


def parse_sweep(text: str, names: dict) -> dict:
    """``{name: [values...]}`` from ``text``; ``names`` maps every accepted spelling (aliases
    included) to a canonical name. Raises SweepError with what to write instead."""
    valid = ", ".join(sorted(set(names.values())))
    example = "e.g. --sweep enactors=2..4,plans=3..6"
    if not text or not text.strip():
        raise SweepError(f"empty sweep ({example})")
    axes: dict = {}
    for item in text.split(","):
        m = _ITEM.match(item)
        if not m:
            raise SweepError(f"bad sweep item {item.strip()!r}: write NAME=A..B or NAME=A "
                             f"({example})")
        raw, lo, hi = m.group(1), int(m.group(2)), int(m.group(3) or m.group(2))
        name = names.get(raw)
        if name is None:
            raise SweepError(f"cannot sweep {raw!r} (valid: {valid})")
        if name in axes:
            raise SweepError(f"{name} is swept twice")
        if hi < lo:
            raise SweepError(f"empty range {lo}..{hi} for {name}: write the smaller bound first")
        if hi - lo + 1 > MAX_POINTS:  # refused before the range is built
            raise SweepError(f"{name}={lo}..{hi} has {hi - lo + 1} values (at most "
                             f"{MAX_POINTS} points in all); narrow the range")
        axes[name] = range(lo, hi + 1)
    size = 1
    for values in axes.values():
        size *= len(values)
        if size > MAX_POINTS:
            break
    axes = {name: list(values) for name, values in axes.items()} if size <= MAX_POINTS else axes
    if size > MAX_POINTS:
        raise SweepError(f"the sweep has {size} points (at most {MAX_POINTS}); narrow a range")
    return axes


def grid(axes: dict) -> list[dict]:
    """Every point of the grid, smallest first: by the sum of the swept values, then in
    lexicographic order of the axes as given."""
    names = list(axes)
    points = [dict(zip(names, values)) for values in itertools.product(*axes.values())]
    return sorted(points, key=lambda p: (sum(p.values()), [p[n] for n in names]))


def minimal_points(points: list[dict]) -> list[dict]:
    """The points no other point is below in every coordinate (the Pareto-minimal ones), in
    grid order. For the points where a property fails, these are its smallest failures."""
    def below(a, b):  # a <= b everywhere and a != b
        return a != b and all(a[n] <= b[n] for n in b)

    return [p for p in points if not any(below(q, p) for q in points)]


def point_label(point: dict) -> str:
    """``enactors=2 plans=3``."""
    return " ".join(f"{n}={v}" for n, v in point.items())
