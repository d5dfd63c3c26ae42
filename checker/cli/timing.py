"""Timing options of ``dnsrace check`` and the timed check itself (docs/TIMING.md)."""

from __future__ import annotations

import json

import click

from dnsrace.model.describe import actor_name
from dnsrace.model.timing import BASE_INTERVALS, Interval, TimedView, Timing, TimingError

from ..reports.provenance import with_provenance
from ..reports.render import config_text, render_full_trace, render_trace, steps_text
from ..reports.report import check_document, reductions_list
from ..explore.result import HOLDS, INCOMPLETE, VIOLATED
from ..timing.simulate import check_timestamps, replay_timed
from ..timing.timed import NOT_ANALYSED, TimedOptions, explore_timed, timed_path
from ..traces.trace import build_trace
from .errors import InputError, exit_code_for
from .options import stack
from .progress import task_progress

__all__ = ["timing_options", "build_timing", "protocol_timing", "declared_intervals", "run_timed_check", "timed_traces",
           "render_timed", "timed_json", "OPTION_OF"]

OPTION_OF = {"plan": "plan_interval", "write": "write_time", "check": "check_time",
             "cleanup": "cleanup_time"}


def timing_options(f):
    """--timing --plan-interval --write-time --check-time --cleanup-time."""
    d = Timing()
    decorators = [
        click.option("--timing", "timed", is_flag=True,
                     help="Check under timing bounds (defaults below unless given); "
                          "implied by any of the interval options."),
        click.option("--plan-interval", metavar="LO:HI", default=None,
                     help=f"Time between two plans [default {d.plan}]."),
        click.option("--write-time", metavar="LO:HI", default=None,
                     help=f"Time from an enactor's previous step to its write, retries "
                          f"included [default {d.write}]."),
        click.option("--check-time", metavar="LO:HI", default=None,
                     help=f"recheck: time to its re-read [default {d.check}]."),
        click.option("--cleanup-time", metavar="LO:HI", default=None,
                     help=f"Time from the last write to the cleanup [default {d.cleanup}]."),
        click.option("--interval", "extra_intervals", multiple=True, metavar="NAME=LO:HI",
                     help="An interval a protocol declares for its own steps, e.g. "
                          "lease=5:5 (repeatable; implies --timing)."),
    ]
    return stack(f, decorators)


def declared_intervals(protocol) -> dict:
    """The timing intervals a protocol's steps use beyond MODEL.md's four: ``{name: default
    text or None}``, from its ``timing_intervals`` (with defaults) and the extra interval
    names its ``phase_timing`` points at."""
    out = dict(getattr(protocol, "timing_intervals", None) or {})
    for name in dict(getattr(protocol, "phase_timing", None) or {}).values():
        if name not in BASE_INTERVALS:
            out.setdefault(name, None)
    return out


def protocol_timing(timing, protocols):
    """``timing`` checked against the protocols that will run under it (one rule for check,
    compare and delays): an ``--interval NAME`` no protocol declares is an InputError listing
    the declared ones; a declared interval not given takes the protocol's default."""
    if timing is None:
        return None
    declared: dict = {}
    for p in protocols:
        for name, default in declared_intervals(p).items():
            if declared.get(name) is None:
                declared[name] = default
    unknown = [n for n in timing.extra if n not in declared]
    if unknown:
        names = ", ".join(sorted(declared)) or "none"
        who = ", ".join(dict.fromkeys(p.name for p in protocols))
        noun = "protocols" if "," in who else "protocol"
        raise InputError(f"--interval {unknown[0]}: {noun} {who} declare{'' if ',' in who else 's'} "
                         f"no interval "
                         f"{unknown[0]!r} (its own intervals: {names}; the base ones are "
                         "--plan-interval, --write-time, --check-time, --cleanup-time)")
    for name, default in declared.items():
        if name in timing.extra:
            continue
        if default is None:
            raise InputError(f"protocol {protocols[0].name} times steps by an interval {name!r} "
                             f"with no default: give it with --interval {name}=LO:HI")
        try:
            timing = timing.with_interval(name, Interval.parse(default, f"--interval {name}"))
        except TimingError as exc:
            raise InputError(str(exc)) from None
    return timing


def build_timing(timed=False, plan_interval=None, write_time=None, check_time=None,
                 cleanup_time=None, extra_intervals=(), **_ignored):
    """The Timing for the options, None when none was given; InputError on bad input."""
    given = {"plan": plan_interval, "write": write_time, "check": check_time,
             "cleanup": cleanup_time}
    if not timed and all(v is None for v in given.values()) and not extra_intervals:
        return None
    try:
        values = {name: Interval.parse(text, BASE_INTERVALS[name])
                  for name, text in given.items() if text is not None}
        extra = {}
        for item in extra_intervals or ():
            name, sep, text = str(item).partition("=")
            name = name.strip()
            if not sep or not name.isidentifier():
                raise TimingError(f"--interval {item!r}: write NAME=LO:HI, e.g. lease=5:5")
            extra[name] = Interval.parse(text, f"--interval {name}")
        return Timing(**values, extra=extra)
    except TimingError as exc:
        raise InputError(str(exc)) from None


def run_timed_check(model, properties, timing, symmetry=True, max_seconds=None,
                    stop_early=True, max_zones=None, progress=None):
    """Zone exploration, then z3 timestamps for every counterexample, checked
    independently. Returns (result, traces, schedules). ``progress(zones, depth, seconds)``
    is called now and then during the zone exploration."""
    try:
        view = TimedView(model, timing)
        options = TimedOptions(symmetry=symmetry, max_seconds=max_seconds, stop_early=stop_early,
                               max_zones=max_zones, progress=progress)
        result = explore_timed(view, properties, options, scale=timing.scale())
    except TimingError as exc:
        raise InputError(str(exc)) from None
    traces, schedules = timed_traces(model, view, result, properties)
    return result, traces, schedules


def timed_traces(model, view, result, properties):
    """Trace (with a time per step) and z3 schedule per violated property."""
    from ..timing import z3timing  # z3 loads only when a timed run needs it

    traces, schedules = {}, {}
    bounds = {n: view.timing.interval(n) for n in view.timing.names()}
    by_name = {p.name: p for p in properties}
    for name, pr in result.properties.items():
        if pr.status != VIOLATED:
            continue
        tp = timed_path(view, pr.trace, label=actor_name)
        sched = z3timing.schedule(tp, bounds)
        schedules[name] = sched
        if sched.status == z3timing.UNKNOWN:  # the verdict stands (zones are exact); no times
            traces[name] = build_trace(model, name, pr.trace, pr.explanation + " (z3 could not "
                                       f"produce timestamps: {sched.reason})")
            continue
        if sched.status != z3timing.SAT:
            raise AssertionError(f"zone path for {name} has no timestamps ({sched.status})")
        prop = by_name[name]
        ok, reason = replay_timed(model, view.timing, pr.trace.actions, sched.times, prop)
        if not ok:
            raise AssertionError(f"z3 timestamps fail the independent check: {reason}")
        traces[name] = build_trace(model, name, pr.trace, pr.explanation, list(sched.times),
                                   view.timing.as_dict())
    return traces, schedules


_STATUS = {HOLDS: "holds under these timing bounds", VIOLATED: "VIOLATED",
           INCOMPLETE: "incomplete", NOT_ANALYSED: "not analysed under timing"}


def timed_header(model, timing, symmetry) -> str:
    """The first lines of a timed check, printed before the work starts."""
    return "\n".join([
        f"dnsrace check --timing: {config_text(model)} "
        f"(symmetry reduction {'on' if symmetry else 'off'})",
        f"Timing: plan-interval {timing.plan}; write-time {timing.write}, check-time "
        f"{timing.check}, cleanup-time {timing.cleanup} after the enactor's previous step; idle "
        "enactors pick at any moment" + "".join(f"; {n} {iv}" for n, iv in
                                                sorted(timing.extra.items()))])


def render_timed(model, timing, result, traces, ruled_out=None, header=True,
                 full=False) -> str:
    lines = [timed_header(model, timing, result.symmetry), ""] if header else []
    width = max(len(n) for n in result.properties)
    for name, pr in result.properties.items():
        line = f"  {name:<{width}}  {_STATUS.get(pr.status, pr.status)}"
        if name in traces:
            line += f"  (shortest timed counterexample: {steps_text(traces[name].length)})"
        elif pr.status == NOT_ANALYSED:
            line += "  (a graph property: the zone method here decides safety properties only)"
        lines.append(line)
        if ruled_out and name in ruled_out:
            lines.append(f"  {'':<{width}}  the shortest untimed counterexample is ruled out by: "
                         f"{'; '.join(ruled_out[name])}")
    for name, trace in traces.items():
        lines += ["", render_full_trace(trace) if full else render_trace(trace)]
    s = result.stats
    after = "after symmetry reduction" if result.symmetry else "no reduction"
    lines += ["", f"Statistics: {s.zones:,} zones ({after}) over {s.discrete_states:,} "
                  "discrete states, "
                  f"{s.transitions:,} symbolic transitions, {s.subsumed:,} subsumed, depth "
                  f"{s.depth}, {s.seconds:.2f} s"]
    if not s.exhausted:
        lines.append(f"  Stopped early: {s.stop_reason}; the counts are partial.")
    return "\n".join(lines)


def timed_json(model, timing, result, traces, ruled_out=None) -> dict:
    s = result.stats
    return check_document(
        model, result, traces,
        {"zones": s.zones, "discrete_states": s.discrete_states, "transitions": s.transitions,
         "subsumed": s.subsumed, "depth": s.depth, "seconds": round(s.seconds, 3),
         "exhausted": s.exhausted, "stop_reason": s.stop_reason or None,
         "reductions": reductions_list(result.symmetry)},
        options={"timing": timing.as_dict()},
        per_property={name: {"ruled_out_by": why} for name, why in (ruled_out or {}).items()})


def ruled_out_by(model, timing, properties, result):
    """For each safety property that holds under timing but not untimed: the timing
    assumptions (an UNSAT core) that rule out its shortest untimed counterexample."""
    from ..timing import z3timing
    from ..explore.bfs import explore
    from ..explore.result import Options
    out = {}
    todo = [p for p in properties if result.properties[p.name].status == HOLDS]
    if not todo:
        return out
    untimed = explore(model, todo, Options())
    view = TimedView(model, timing)
    bounds = {n: timing.interval(n) for n in timing.names()}
    for p in todo:
        pr = untimed.properties[p.name]
        if pr.status != VIOLATED:
            continue
        sched = z3timing.schedule(timed_path(view, pr.trace, label=actor_name), bounds)
        if sched.status == z3timing.UNSAT:
            out[p.name] = list(sched.core)
    return out


def timed_exit(result) -> int:
    return exit_code_for(result.verdict)


def timed_command(ctx, model, properties, timing, no_reduction=False, max_seconds=None,
                  keep_going=False, as_json=False, quiet=False, export=None, max_zones=None,
                  full=False):
    """The body of ``check`` under timing: decide, print, export, exit. ``--max-states``
    bounds the stored zones."""
    if not any(p.kind in ("state invariant", "transition invariant") for p in properties):
        raise InputError("under timing only safety properties are decided (no-dangling, "
                         "monotonic); recoverable is not analysed under timing")
    symmetry = not no_reduction and all(p.symmetric for p in properties)
    human = not (quiet or as_json)
    if human:  # before the work starts
        click.echo(timed_header(model, timing, symmetry and model.symmetric) + "\n")
    bar = task_progress(None, "zones") if human else None
    try:
        result, traces, _ = run_timed_check(
            model, properties, timing, symmetry=symmetry, max_seconds=max_seconds,
            stop_early=not keep_going, max_zones=max_zones,
            progress=(lambda z, d, t: bar.update(z, f"depth {d}")) if bar else None)
        ruled = ruled_out_by(model, timing, properties, result) if not quiet else {}
    finally:
        if bar is not None:
            bar.done()
    if as_json:
        click.echo(json.dumps(with_provenance(timed_json(model, timing, result, traces, ruled)),
                              indent=2))
    elif not quiet:
        click.echo(render_timed(model, timing, result, traces, ruled, header=False, full=full))
    if export is not None:
        from .export import write_export
        write_export(model, traces, export, quiet)
    ctx.exit(exit_code_for(result.verdict))


def check_report_timing(report, timing=None) -> None:
    """``replay`` of a timed trace: a valid counterexample must also have timestamps that meet
    every guard and deadline (``simulate.check_timestamps``) of ``timing`` (the command
    line's), else of the bounds the file records. Updates ``report``."""
    if not report.valid or report.trace is None:
        return
    if timing is None:
        recorded = getattr(report.trace, "timing", None)
        if recorded is None or not report.trace.timed:
            return  # nothing to check against
        try:
            timing = Timing.from_dict(recorded)
        except TimingError as exc:
            raise InputError(f"field 'timing': {exc}") from None
    steps = report.trace.steps
    if not report.trace.timed:
        report.valid, report.failed_step = False, 0
        report.reason = "the file has no timestamps to check against the timing bounds"
        return
    actions = [s.action for s in steps[1:]]
    times = [s.time for s in steps]
    try:
        ok, step, reason = check_timestamps(report.model, timing, actions, times)
    except TimingError as exc:
        raise InputError(str(exc)) from None
    if not ok:
        report.valid, report.failed_step = False, step
        report.reason = f"its timestamps break the timing bounds ({timing}): {reason}"
    else:
        report.reason += f"; every timestamp meets the bounds ({timing})"
