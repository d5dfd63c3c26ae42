"""A timed trace as a timeline: one lane per process, each step a bar from the actor's previous
step to this one, so a stalled write is a long bar (the HTML report draws it).

``timeline_lanes`` is plain data (for any renderer); ``timeline_svg`` draws it;
``timeline_section`` is the HTML section, empty for an untimed trace.
"""

from __future__ import annotations

from fractions import Fraction
from html import escape

__all__ = ["timeline_lanes", "timeline_svg", "timeline_section"]

_COLOURS = {"write": "#4c7bd5", "stale": "#d53a3a", "cleanup": "#e08a1e", "check": "#8a8a8a",
            "abort": "#8a8a8a", "plan": "#2b9348", "pick": "#555555"}


def _t(v) -> Fraction:
    return Fraction(v)


def timeline_lanes(trace) -> list:
    """``[{"lane": actor, "bars": [{"start", "end", "kind", "label", "step"}]}]`` in lane
    order (planner first). Times are Fractions. ``kind`` is the action kind, or ``stale`` for
    a write that lowers a record."""
    lanes: dict = {}
    last: dict = {}
    prev_state = trace.steps[0].state
    for s in trace.steps[1:]:
        actor, action = s.actor, s.action
        t = _t(s.time)
        start = last.get(actor, Fraction(0))
        kind = action.kind
        label = s.description
        if kind == "write":
            k = action.endpoint
            if s.state.dns[k] < prev_state.dns[k]:
                kind = "stale"
        if kind in ("pick", "plan"):
            start = t  # an instant, not a duration (idle time is not work)
        lanes.setdefault(actor, []).append({"start": start, "end": t, "kind": kind,
                                            "label": label, "step": s.index})
        last[actor] = t
        prev_state = s.state
    order = sorted(lanes, key=lambda a: (a != "planner", a))
    return [{"lane": a, "bars": lanes[a]} for a in order]


def timeline_svg(trace, width: int = 760) -> str:
    lanes = timeline_lanes(trace)
    end = max((b["end"] for lane in lanes for b in lane["bars"]), default=Fraction(1)) or 1
    left, lane_h, top = 90, 34, 24
    span = width - left - 20
    x = lambda t: left + float(t / end) * span  # noqa: E731
    height = top + lane_h * len(lanes) + 10
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" role="img" aria-label="timeline">']
    ticks = int(end) if end >= 1 else 1
    for k in range(0, ticks + 1):
        tx = x(Fraction(k)) if end >= 1 else x(end)
        label = str(k) if end >= 1 else str(end)
        out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 6}" '
                   f'stroke="#ddd"/><text x="{tx:.1f}" y="{top - 10}" font-size="10" '
                   f'text-anchor="middle">{label}</text>')
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<text x="4" y="{y + lane_h / 2 + 4:.1f}" font-size="12">'
                   f'{escape(lane["lane"])}</text>')
        for b in lane["bars"]:
            x0, x1 = x(b["start"]), x(b["end"])
            colour = _COLOURS.get(b["kind"], "#999")
            title = escape(f"step {b['step']} at {b['end']}: {b['label']}")
            if b["start"] == b["end"]:
                out.append(f'<g><title>{title}</title><rect x="{x0 - 1.5:.1f}" y="{y + 4}" '
                           f'width="3" height="{lane_h - 8}" fill="{colour}"/></g>')
            else:
                out.append(f'<g><title>{title}</title><rect class="bar {b["kind"]}" '
                           f'x="{x0:.1f}" y="{y + 6}" width="{max(x1 - x0, 2):.1f}" '
                           f'height="{lane_h - 12}" rx="3" fill="{colour}" '
                           f'fill-opacity="0.8"/></g>')
    out.append("</svg>")
    return "\n".join(out)


def timeline_section(trace) -> str:
    """The HTML report's timeline section; empty for an untimed trace."""
    if not getattr(trace, "timed", False):
        return ""
    return ('\n<section id="timeline">\n<h2>Timeline</h2>\n<p class="meta">One lane per '
            "process; each bar runs from the actor's previous step to this one (blue: write, "
            "red: stale overwrite, orange: cleanup; ticks: plans and picks). A stall is a long "
            "bar.</p>\n" + timeline_svg(trace) + "\n</section>")
