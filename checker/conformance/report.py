"""A driven run as text (the step table with a "real" column), as JSON, and its divergence
as a replayable trace file."""

from __future__ import annotations

from dnsrace.invariants import PROPERTIES
from dnsrace.model import endpoint_name

from ..explore.result import Path
from ..reports.render import render_trace
from ..traces.formats import FORMATS
from ..traces.replay_file import action_label, violates
from ..traces.trace import build_trace

__all__ = ["COMPARED", "render_run", "render_divergence", "run_json", "divergence_trace",
           "dangling_records"]

COMPARED = ("outcome: the plan pick() took (the model's held) and the kind of step each method "
            "reports (write or abort)",
            "records: the plan each record's TXT value names (list_resource_record_sets) vs dns[e]",
            "store: the plans whose objects are in the bucket (list_objects_v2) vs store")

def _trace(model, report, prop="no-dangling", explanation=""):
    return build_trace(model, prop, Path(report.states, report.actions), explanation)


def _cell(plan) -> str:
    return "?" if plan is None else ("-" if plan == 0 else str(plan))


def _real_cell(step) -> str:
    records = " ".join(_cell(p) for p in step.real.dns)
    return f"{records} {{{', '.join(map(str, sorted(step.real.store)))}}}"


def render_run(model, report) -> str:
    """render.py's step table (the model's run) with a "real" column after the model's
    columns: what the services held after each step (records, then the plans in the bucket).
    After a step's description: the adapter's note, the schedule's note, and ``<< DIVERGES``
    on a diverging step."""
    marks = {}
    for s in report.steps:
        words = ([s.note] if s.note else []) + \
            ([f"(schedule: {s.schedule_note})"] if s.schedule_note else []) + \
            ([] if s.conforms else ["<< DIVERGES"])
        if words:
            marks[s.index] = words
    table = render_trace(_trace(model, report),
                         extra=("real", [_real_cell(s) for s in report.steps]),
                         marks=marks).splitlines()
    end = next(j for j in range(len(table) - 1, -1, -1) if table[j].startswith("  Violation:"))
    return "\n".join(table[1:end])


def render_divergence(step) -> str:
    """The first divergence: the step, and per difference what the model expected and what
    the services hold."""
    what = "the initial state" if step.action is None else action_label(step.action)
    lines = [f"DIVERGES at step {step.index} ({what}):"]
    for subject, expected, real in step.differences:
        lines.append(f"  {subject}: the model expects {expected}; {real}")
    return "\n".join(lines)


def dangling_records(step) -> list:
    """Records whose value names a plan whose object is not in the bucket (the outage)."""
    return [(endpoint_name(e), p) for e, p in enumerate(step.real.dns)
            if p and p not in step.real.store]


def _step_json(model, trace_step, step) -> dict:
    real = step.real
    return {
        "index": step.index,
        "actor": trace_step.actor,
        "action": trace_step.action_data,
        "description": trace_step.description,
        "model": {"dns": list(step.after.dns), "store": sorted(step.after.store)},
        "real": {"outcome": step.outcome, "note": step.note,
                 "dns": list(real.dns), "values": list(real.values),
                 "store": sorted(real.store)},
        "schedule_note": step.schedule_note,
        "conforms": step.conforms,
    }


def run_json(model, report) -> dict:
    trace = _trace(model, report)
    div = report.divergence
    return {
        "run": report.run,
        "steps": [_step_json(model, ts, s) for ts, s in zip(trace.steps, report.steps)],
        "conforms": div is None and not report.stopped,
        "divergence": None if div is None else {
            "step": div.index,
            "action": None if div.action is None else div.action.as_dict(),
            "differences": [{"what": w, "model": m, "real": r} for w, m, r in div.differences],
        },
        "stopped": report.stopped or None,
        "dangling": [{"endpoint": e, "plan": p} for e, p in dangling_records(report.steps[-1])],
    }


def divergence_trace(model, report, adapter: str) -> str:
    """The diverging run as a ``dnsrace-trace/1`` file: the model's steps
    up to and including the divergence. It names the first property its last state violates
    (no-dangling when none: replay then says so, and drive re-drives it all the same)."""
    states, actions = report.states, report.actions
    prop = next((p for p in (cls() for cls in PROPERTIES.values())
                 if p.kind != "graph property" and violates(p, model, list(states), list(actions))),
                None)
    name = prop.name if prop is not None else "no-dangling"
    div = report.divergence
    why = "; ".join(f"{w}: the model expects {m}; {r}" for w, m, r in div.differences)
    explanation = (f"adapter {adapter} diverges from protocol {model.protocol.name} at step "
                   f"{div.index}: {why}")
    trace = _trace(model, report, name, explanation)
    return FORMATS["json"].write(trace, model)
