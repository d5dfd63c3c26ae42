"""Human-readable output of a check: verdicts, step tables, statistics.

Human output numbers enactors and endpoints from 1 (``enactor-1``, ``endpoint-4``; the
first three endpoints have names) and prints rationals as exact fractions (``1/10``); JSON
keeps 0-based indices and rationals as strings (docs/TRACES.md).
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

from dnsrace.model import endpoint_name
from dnsrace.model.describe import phase_text
from dnsrace.model.timing import rational_text

from ..explore.result import HOLDS, INCOMPLETE, VIOLATED
from ..traces.formats.lanes import is_stale

__all__ = ["render_header", "render_verdicts", "render_trace", "render_full_trace",
           "render_stats", "render_result", "reductions_text", "steps_text", "run_text",
           "config_text", "WIDTH"]

WIDTH = 100  # the step table wraps descriptions to fit this many columns
STALE_MARK = "  << stale overwrite"  # terminal only: never in a description, JSON or HTML

_STATUS = {HOLDS: "holds", VIOLATED: "VIOLATED", INCOMPLETE: "incomplete"}


def steps_text(n: int) -> str:
    """``1 step``, ``10 steps``."""
    return f"{n:,} step{'' if n == 1 else 's'}"


def run_text(n: int) -> str:
    """``a 10-step run``, ``an 8-step run``, ``an 11-step run``: the article as spoken."""
    digits = str(n)
    vowel = digits[0] == "8" or (len(digits) % 3 == 2 and digits[:2] in ("11", "18"))
    return f"{'an' if vowel else 'a'} {n}-step run"


def reductions_text(symmetry: bool, por: bool = False) -> str:
    """Which reductions produced a count: "symmetry and partial-order reduction", ...,
    "no reduction"."""
    if symmetry and por:
        return "symmetry and partial-order reduction"
    if symmetry:
        return "symmetry reduction"
    return "partial-order reduction" if por else "no reduction"


def config_text(model) -> str:
    """``protocol original, 3 enactors, 4 plans, 3 endpoints, keep 1``: every header's start."""
    c = model.config
    return (f"protocol {model.protocol.name}, {_count(c.enactors, 'enactor')}, "
            f"{_count(c.plans, 'plan')}, {_count(c.endpoints, 'endpoint')}, keep {c.keep}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def render_header(model, symmetry: bool, por: bool | None = None, command="check") -> str:
    """The first line of a run, printed before the work starts. ``por=None``: the
    partial-order reduction is not decided yet (the statistics line says what ran)."""
    wanted = "symmetry reduction " + ("on" if symmetry else "off")
    if por is not None:
        wanted = reductions_text(symmetry, por)
    return f"dnsrace {command}: {config_text(model)} ({wanted})"


def render_verdicts(result) -> str:
    width = max(len(n) for n in result.properties)
    lines = []
    for name, pr in result.properties.items():
        line = f"  {name:<{width}}  {_STATUS[pr.status]}"
        if pr.trace is not None:
            line += f"  (shortest counterexample: {steps_text(len(pr.trace))})"
        elif pr.status == INCOMPLETE:
            line += "  (run stopped before this was decided)"
        lines.append(line)
    return "\n".join(lines)


def _cell(plan: int) -> str:
    return "-" if plan == 0 else str(plan)


def _store_text(store) -> str:
    return "{" + ", ".join(map(str, sorted(store))) + "}"


def _time_text(t) -> str:
    return "-" if t is None else rational_text(Fraction(t))


def render_trace(trace, title: str | None = None, extra=None, marks=None) -> str:
    """The step table of one counterexample (with a time column for timed traces), the
    violating step marked ``>>``, stale overwrites marked, then why. Fits in ``WIDTH``
    columns: the description comes last and wraps under itself.

    ``extra = (header, cells)`` adds a column (one cell per step) after the plan store, e.g.
    ``drive``'s "real"; ``marks`` maps a step index to words (a string or a list) after its
    description (``<< DIVERGES``), as the stale-overwrite mark is."""
    names = [endpoint_name(e) for e in range(len(trace.steps[0].state.dns))]
    actor_w = max(len("actor"), *(len(s.actor or "-") for s in trace.steps))
    rec_w = [max(len(n), 1) for n in names]
    stores = [_store_text(s.state.store) for s in trace.steps]
    store_w = max(len("plan store"), *(len(t) for t in stores))
    times = [_time_text(s.time) for s in trace.steps] if trace.timed else None
    time_w = max(len("time"), *(len(t) for t in times)) if times else 0
    step_w = max(len("step"), len(str(trace.steps[-1].index)))
    extra_head, extra_cells = extra if extra is not None else ("", None)
    extra_w = max([len(extra_head)] + [len(c) for c in extra_cells]) if extra_cells else 0
    head = (f"  {'step':>{step_w}}  " + (f"{'time':>{time_w}}  " if times else "")
            + f"{'actor':<{actor_w}}  " + " ".join(f"{n:>{w}}" for n, w in zip(names, rec_w))
            + f"  {'plan store':<{store_w}}  "
            + (f"{extra_head:<{extra_w}}  " if extra_cells else "") + "what happened")
    indent = len(head) - len("what happened")
    room = max(WIDTH - indent, 30)
    if title is None:
        title = (f"{'Timed counterexample' if times else 'Counterexample'} to {trace.property} "
                 f"({steps_text(trace.length)}):")
    lines = [title, head]
    last = trace.steps[-1].index
    for s in trace.steps:
        mark = ">>" if s.index == last else "  "
        records = " ".join(f"{_cell(p):>{w}}" for p, w in zip(s.state.dns, rec_w))
        when = f"{times[s.index]:>{time_w}}  " if times else ""
        words = [STALE_MARK.strip()] if is_stale(trace, s) else []
        if marks and marks.get(s.index):
            more = marks[s.index]
            words += [more] if isinstance(more, str) else list(more)
        wrapped = _wrap_clauses(s.description, room, words)
        cell = f"{extra_cells[s.index]:<{extra_w}}  " if extra_cells else ""
        lines.append(f"{mark}{s.index:>{step_w}}  {when}{s.actor or '-':<{actor_w}}  "
                     f"{records}  {stores[s.index]:<{store_w}}  {cell}{wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    lines += _violation_lines(trace.explanation)
    return "\n".join(lines)


def _wrap_clauses(text: str, room: int, marks=()) -> list:
    """``text``, then each of ``marks`` (two spaces apart), in lines of at most ``room``
    columns, broken after a clause (", ", ": ") or before a parenthesis rather than inside
    one; a piece longer than a line wraps by words."""
    if isinstance(marks, str):
        marks = [marks] if marks else []
    pieces, start = [], 0
    for j, ch in enumerate(text):
        if ch in ",:" and text[j + 1:j + 2] == " ":
            pieces.append(text[start:j + 1])
            start = j + 2
        elif ch == " " and text[j + 1:j + 2] == "(" and j > start:
            pieces.append(text[start:j])
            start = j + 1
    pieces.append(text[start:])
    lines: list = []
    for piece, gap in [(p, " ") for p in pieces] + [(m, "  ") for m in marks]:
        if lines and len(lines[-1]) + len(gap) + len(piece) <= room:
            lines[-1] += gap + piece
        elif len(piece) <= room:
            lines.append(piece)
        else:
            lines += textwrap.wrap(piece, room, break_long_words=False)
    return lines or [""]


def _violation_lines(explanation: str) -> list:
    return textwrap.wrap(f"Violation: {explanation}.", WIDTH - 2, initial_indent="  ",
                         subsequent_indent=" " * 13, break_long_words=False)


def _variables(data: dict) -> list:
    """(name, text) for every variable of a plain state (``state_to_dict``)."""
    out = [("gen", str(data["gen"])), ("store", _store_text(data["store"]))]
    out += [(endpoint_name(e), "-" if p == 0 else f"plan {p}") for e, p in
            enumerate(data["dns"])]
    for i, e in enumerate(data["enactors"]):
        text = phase_text(e["pc"]) + (f", holding plan {e['held']}" if e["held"] else "")
        if "local" in e:
            text += f", local {e['local']!r}"
        out.append((f"enactor-{i + 1}", text))
    if "ext" in data:
        out.append(("ext", repr(data["ext"])))
    return out


def render_full_trace(trace) -> str:
    """Every variable at every step (records, store, each enactor's phase and held plan,
    local and ext data when the protocol has them), changed values marked ``*``."""
    lines = [f"{'Timed counterexample' if trace.timed else 'Counterexample'} to "
             f"{trace.property} ({steps_text(trace.length)}), every variable after each step "
             "(* = changed by the step):"]
    previous = None
    last = trace.steps[-1].index
    for s in trace.steps:
        when = f" at time {_time_text(s.time)}" if s.time is not None else ""
        mark = ">> " if s.index == last else "   "
        what = s.description + (STALE_MARK if is_stale(trace, s) else "")
        lines.append(f"{mark}step {s.index}{when}  {s.actor or '-'}  {what}")
        current = _variables(s.state_data)
        before = dict(previous) if previous is not None else {}
        items = []
        for name, text in current:
            changed = previous is not None and before.get(name) != text
            items.append(f"{name} {text}{'*' if changed else ''}")
        groups = [items[:2], items[2:2 + len(s.state_data["dns"])],
                  items[2 + len(s.state_data["dns"]):]]
        for group in groups:
            lines += textwrap.wrap("   ".join(group), WIDTH - 6, initial_indent=" " * 6,
                                   subsequent_indent=" " * 6, break_long_words=False)
        previous = current
    lines += _violation_lines(trace.explanation)
    return "\n".join(lines)


def render_stats(stats, kinds: dict | None = None, reductions: str | None = None) -> str:
    """Statistics lines; ``kinds`` maps property names to kinds (to say states or
    transitions); ``reductions`` says which reductions produced the counts."""
    kinds = kinds or {}
    after = f" (after {reductions})" if reductions and reductions != "no reduction" else \
        " (no reduction)" if reductions else ""
    text = (f"Statistics: {stats.states:,} states{after}, {stats.transitions:,} transitions, "
            f"depth {stats.depth}, {stats.seconds:.2f} s")
    if stats.explored_states != stats.states:
        text += (f"\n  explored {stats.explored_states:,} states with one more plan, for "
                 f"recoverable: {stats.rate:,.0f} explored states/s")
    else:
        text += f", {stats.rate:,.0f} states/s"
    if not stats.exhausted:
        text += f"\n  Stopped early: {stats.stop_reason}; the counts are partial."
        if stats.stop_reason.startswith("depth limit"):
            text += (f"\n  Every state up to depth {stats.depth} was explored and checked; "
                     "properties not violated by then are incomplete.")
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


def render_result(model, result, traces: dict, header: bool = True, full: bool = False,
                  por: bool = False) -> str:
    """Everything ``check`` prints after its header (and the header too unless
    ``header=False``, when it was printed before the run started)."""
    parts = ([render_header(model, result.symmetry), ""] if header else []) + \
        [render_verdicts(result)]
    for trace in traces.values():
        parts += ["", render_full_trace(trace) if full else render_trace(trace)]
    kinds = {name: pr.kind for name, pr in result.properties.items()}
    parts += ["", render_stats(result.stats, kinds, reductions_text(result.symmetry, por))]
    return "\n".join(parts)
