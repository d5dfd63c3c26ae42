"""Human-readable output of a check: verdicts, step tables, statistics."""

from __future__ import annotations

from dnsrace.model import endpoint_name
from dnsrace.model.timing import rational_text

from ..explore.result import HOLDS, INCOMPLETE, VIOLATED

__all__ = ["render_header", "render_verdicts", "render_trace", "render_stats", "render_result"]

_STATUS = {HOLDS: "holds", VIOLATED: "VIOLATED", INCOMPLETE: "incomplete"}


def render_header(model, symmetry: bool) -> str:
    c = model.config
    return (f"dnsrace check: protocol {model.protocol.name}, {c.enactors} enactors, "
            f"{c.plans} plans, {c.endpoints} endpoints, keep {c.keep} "
            f"(symmetry reduction {'on' if symmetry else 'off'})")


def render_verdicts(result) -> str:
    width = max(len(n) for n in result.properties)
    lines = []
    for name, pr in result.properties.items():
        line = f"  {name:<{width}}  {_STATUS[pr.status]}"
        if pr.trace is not None:
            line += f"  (shortest counterexample: {len(pr.trace)} steps)"
        elif pr.status == INCOMPLETE:
            line += "  (run stopped before this was decided)"
        lines.append(line)
    return "\n".join(lines)


def _cell(plan: int) -> str:
    return "-" if plan == 0 else str(plan)


def render_trace(trace) -> str:
    """The step table of one counterexample (with a time column for timed traces), the
    violating step marked, then why."""
    names = [endpoint_name(e) for e in range(len(trace.steps[0].state.dns))]
    actor_w = max(len(s.actor or "-") for s in trace.steps)
    desc_w = max(len(s.description) for s in trace.steps)
    rec_w = [max(len(n), 2) for n in names]
    times = [rational_text(s.time) if s.time is not None else "-" for s in trace.steps] \
        if trace.timed else None
    time_w = max(len("time"), *(len(t) for t in times)) if times else 0
    head = (f"  {'step':>5}  " + (f"{'time':>{time_w}}  " if times else "")
            + f"{'actor':<{actor_w}}  {'what happened':<{desc_w}}  "
            + " ".join(f"{n:>{w}}" for n, w in zip(names, rec_w)) + "  plan store")
    title = "Timed counterexample" if times else "Counterexample"
    lines = [f"{title} to {trace.property} ({trace.length} steps):", head]
    last = trace.steps[-1].index
    for s in trace.steps:
        mark = ">>" if s.index == last else "  "
        records = " ".join(f"{_cell(p):>{w}}" for p, w in zip(s.state.dns, rec_w))
        store = "{" + ", ".join(map(str, sorted(s.state.store))) + "}"
        when = f"{times[s.index]:>{time_w}}  " if times else ""
        lines.append(f"{mark}{s.index:>5}  {when}{s.actor or '-':<{actor_w}}  "
                     f"{s.description:<{desc_w}}  {records}  {store}")
    lines.append(f"  Violation: {trace.explanation}.")
    return "\n".join(lines)


def render_stats(stats, kinds: dict | None = None) -> str:
    """Statistics lines; ``kinds`` maps property names to kinds (to say states or transitions)."""
    kinds = kinds or {}
    text = (f"Statistics: {stats.states:,} states, {stats.transitions:,} transitions, "
            f"depth {stats.depth}, {stats.seconds:.2f} s, {stats.rate:,.0f} states/s")
    if stats.explored_states != stats.states:
        text += (f"\n  (explored {stats.explored_states:,} states with one more plan, "
                 "for recoverable)")
    if not stats.exhausted:
        text += f"\n  Stopped early: {stats.stop_reason}; the counts are partial."
    if any(stats.violations.values()):
        def where(name, count):
            unit = "transition" if kinds.get(name) == "transition invariant" else "state"
            return f"{name} in {count:,} {unit}{'' if count == 1 else 's'}"

        text += "\nViolations: " + ", ".join(
            where(k, v) for k, v in stats.violations.items() if v)
        if not stats.exhausted:
            text += " (so far)"
    if stats.coverage:
        text += "\nCoverage: " + ", ".join(f"{k} {v:,}" for k, v in stats.coverage.items())
    if stats.never_fired:
        text += ("\nWarning: these actions never fired, so properties hold partly because "
                 f"nothing happens: {', '.join(stats.never_fired)}")
    return text


def render_result(model, result, traces: dict) -> str:
    parts = [render_header(model, result.symmetry), "", render_verdicts(result)]
    for trace in traces.values():
        parts += ["", render_trace(trace)]
    kinds = {name: pr.kind for name, pr in result.properties.items()}
    parts += ["", render_stats(result.stats, kinds)]
    return "\n".join(parts)
