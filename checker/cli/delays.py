"""``dnsrace delays``: which timing makes each property fail (docs/TIMING.md, "Synthesis")."""

from __future__ import annotations

import json
import time

import click

from dnsrace.model.describe import actor_name
from dnsrace.model.size import too_large
from dnsrace.model.timing import (TimedView, TimingError, bound_key, bound_name, interval_name,
                                  rational_human, rational_text)

from ..explore.bfs import explore
from ..explore.result import HOLDS, VIOLATED, Options
from ..timing.synthesis import ALWAYS, NEVER, THRESHOLD, synthesize
from ..timing.timed import DiscreteGraph, TimedOptions
from ..traces.trace import build_trace
from ..timing.z3timing import symbol
from .errors import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATED, InputError
from .options import SECONDS, build_model, build_properties, config_options, output_options
from .progress import task_progress
from ..reports.provenance import with_provenance
from ..reports.render import config_text, render_trace, run_text
from .signals import time_limit
from .timing import build_timing, protocol_timing, timing_options

__all__ = ["delays", "run_delays", "UNKNOWNS"]

# --unknown write-time-hi, ...: each bound by its one name (model.timing.bound_key); the
# older short spellings (write-hi, plan-lo, ...) are still accepted.
UNKNOWNS = {bound_key(name, side): (name, side) for name in ("write", "plan", "cleanup", "check")
            for side in ("hi", "lo")}
ALIASES = {f"{name}-{side}": (name, side) for name in ("write", "plan", "cleanup", "check")
           for side in ("hi", "lo")}
_MEANING = {
    ("write", "hi"): "the longest an enactor may take to write (its write stall)",
    ("write", "lo"): "the shortest time an enactor takes to write",
    ("plan", "hi"): "the longest gap between two plans",
    ("plan", "lo"): "the shortest gap between two plans",
    ("cleanup", "hi"): "the longest an enactor may take before its cleanup",
    ("cleanup", "lo"): "the shortest time before an enactor's cleanup",
    ("check", "hi"): "the longest an enactor may take to re-read a record (recheck)",
    ("check", "lo"): "the shortest time to re-read a record (recheck)",
}


def run_delays(model, properties, timing, unknowns, symmetry=True, on_task=None,
               max_seconds=None):
    """Per safety property: ("untimed-holds", None) or ("synthesis", {unknown: result}).
    ``on_task(done, total, label)`` reports progress over the untimed check and each
    (property, unknown) synthesis. ``max_seconds`` bounds the whole analysis: a check cut
    short makes its answer incomplete (never a threshold)."""
    start = time.perf_counter()

    def left():
        if max_seconds is None:
            return None
        return max(max_seconds - (time.perf_counter() - start), 1e-3)

    safety = [p for p in properties if p.kind in ("state invariant", "transition invariant")]
    total = 1 + len(safety) * len(unknowns)
    done = 0
    if on_task is not None:
        on_task(done, total, "untimed check")
    untimed = explore(model, safety, Options(symmetry=symmetry, max_seconds=left()))
    graph = DiscreteGraph()  # every zone check below shares the model's discrete part
    done += 1
    out = {}
    for p in safety:
        status = untimed.properties[p.name].status
        if status == HOLDS:
            out[p.name] = ("untimed-holds", None)
            continue
        if status != VIOLATED:
            out[p.name] = ("incomplete", None)
            continue
        per = {}
        for u in unknowns:
            if on_task is not None:
                on_task(done, total, f"{p.name}: {bound_name(*u)}")
            done += 1
            try:
                per[u] = synthesize(lambda tm: TimedView(model, tm), timing, p, u,
                                    TimedOptions(symmetry=symmetry, max_seconds=left()),
                                    also_symbolic=[("plan", "lo"), ("plan", "hi")],
                                    graph=graph)
            except TimingError as exc:
                raise InputError(str(exc)) from None
        out[p.name] = ("synthesis", per)
    return out


def _fixed_text(timing, unknowns) -> str:
    parts = []
    for name in timing.names():
        iv = timing.interval(name)
        sides = [s for n, s in unknowns if n == name]
        if "hi" in sides and "lo" in sides:
            continue
        if "hi" in sides:
            parts.append(f"{bound_name(name, 'lo')} {rational_text(iv.lo)}")
        elif "lo" in sides:
            parts.append(f"{bound_name(name, 'hi')} {rational_text(iv.hi)}")
        else:
            parts.append(f"{interval_name(name)} {iv}")
    return "; ".join(parts)


def _verdict_text(r) -> str:
    name, side = r.unknown
    sym = symbol(name, side)
    if r.status == THRESHOLD:
        op = ">=" if side == "hi" else "<="
        text = f"can be violated exactly when {sym} {op} {rational_human(r.threshold)}"
        if (name, side) == ("write", "hi"):
            text += f": the smallest write stall that makes it possible is {rational_text(r.threshold)}"
        return text
    if r.status == ALWAYS:
        return f"can be violated for every admissible {sym}"
    if r.status == NEVER:
        return f"holds for every value of {sym} (with the other bounds as fixed)"
    return f"undecided ({r.status}{': ' + r.reason if r.reason else ''})"


@click.command()
@config_options
@timing_options
@click.option("--unknown", "unknown_names", multiple=True, metavar="BOUND",
              help="The bound to solve for (repeatable; each solved with the others fixed): "
                   + ", ".join(UNKNOWNS) + ", or NAME-lo/NAME-hi for an interval a protocol "
                   "declares (e.g. lease-lo). Default write-time-hi.")
@click.option("--property", "property_names", multiple=True, metavar="NAME",
              help="no-dangling or monotonic (repeatable; default both).")
@click.option("--no-reduction", is_flag=True, help="No symmetry reduction.")
@click.option("--witness/--no-witness", default=True, show_default=True,
              help="Print the violating run at the threshold, with its timestamps.")
@click.option("--max-seconds", type=SECONDS, default=None,
              help="Stop after this many seconds in all (undecided answers, exit 3).")
@output_options
@click.pass_context
def delays(ctx, enactors, plans, endpoints, keep, protocol, unknown_names, property_names,
           no_reduction, witness, as_json, quiet, max_seconds=None, **timing_args):
    """Treat a timing bound as unknown and print, for each safety property, exactly the
    values at which it can be violated (e.g. the smallest write stall that makes the
    incident possible for a given plan interval and --keep).

    Exit 0: no admissible value violates any property; 1: some value does; 2: bad input;
    3: undecided.
    """
    model = build_model(enactors, plans, endpoints, keep, protocol)
    names = list(dict.fromkeys(property_names)) or ["no-dangling", "monotonic"]
    if "recoverable" in names:
        raise InputError("delays analyses safety properties (no-dangling, monotonic); "
                         "recoverable is not analysed under timing")
    properties = build_properties(names)
    hopeless = too_large(model.config)
    if hopeless and max_seconds is None:  # the same guard as check
        raise InputError(f"{hopeless}; use smaller sizes or bound the run with --max-seconds")
    timing = build_timing(True, **{k: v for k, v in timing_args.items() if k != "timed"})
    timing = protocol_timing(timing, [model.protocol])
    valid = dict(UNKNOWNS)
    for name in timing.extra:
        valid.update({f"{name}-hi": (name, "hi"), f"{name}-lo": (name, "lo")})
    bad = [u for u in unknown_names if u not in valid and u not in ALIASES]
    if bad:
        raise InputError(f"--unknown: unknown bound {bad[0]!r} (valid: {', '.join(valid)})")
    unknowns = list(dict.fromkeys((valid.get(u) or ALIASES[u])
                                  for u in (unknown_names or ["write-time-hi"])))
    human = not (quiet or as_json)
    if human:  # the header before the work starts
        click.echo(_header(model, timing, unknowns, not no_reduction))
    bar = task_progress(None, "tasks") if human else None
    try:
        with time_limit(max_seconds):
            out = run_delays(model, properties, timing, unknowns, symmetry=not no_reduction,
                             on_task=_bar_update(bar), max_seconds=max_seconds)
    finally:
        if bar is not None:
            bar.done()

    violable = any(kind == "synthesis" and any(r.status in (THRESHOLD, ALWAYS)
                                               for r in per.values())
                   for kind, per in out.values())
    undecided = any(kind == "incomplete" or (kind == "synthesis" and any(
        r.status not in (THRESHOLD, ALWAYS, NEVER) for r in per.values()))
        for kind, per in out.values())
    if as_json:
        click.echo(json.dumps(with_provenance(_json(model, timing, unknowns, out)), indent=2))
    elif not quiet:
        click.echo(_render(model, timing, unknowns, out, witness, header=False))
    ctx.exit(EXIT_INCOMPLETE if undecided else EXIT_VIOLATED if violable else EXIT_HOLDS)


def _bar_update(bar):
    if bar is None:
        return None

    def update(done, total, label):
        bar.total = total
        bar.update(done, label)

    return update


def _header(model, timing, unknowns, symmetry=True) -> str:
    """The first lines of ``delays``, printed before the work starts."""
    lines = [f"dnsrace delays: {config_text(model)} (symmetry reduction "
             f"{'on' if symmetry else 'off'})",
             f"Fixed: {_fixed_text(timing, unknowns)}"]
    for name, side in unknowns:
        meaning = _MEANING.get((name, side), f"the {'upper' if side == 'hi' else 'lower'} "
                                             f"end of the {name} interval")
        lines.append(f"Unknown: {bound_name(name, side)}, {meaning}")
    return "\n".join(lines) + "\n"


def _render(model, timing, unknowns, out, witness, header=True) -> str:
    lines = [_header(model, timing, unknowns)] if header else []
    width = max(len(n) for n in out)
    tables = []
    total = 0.0
    for pname, (kind, per) in out.items():
        if kind == "untimed-holds":
            lines.append(f"  {pname:<{width}}  holds for every timing: it holds untimed, and "
                         "every timed run is an untimed run")
            continue
        if kind == "incomplete":
            lines.append(f"  {pname:<{width}}  undecided (the untimed check was incomplete)")
            continue
        for u, r in per.items():
            total += r.seconds
            lines.append(f"  {pname:<{width}}  {_verdict_text(r)}")
            if r.status in (THRESHOLD, ALWAYS) and r.witness is not None:
                at = f" at {bound_name(*u)} = {rational_text(r.threshold)}" \
                    if r.threshold is not None else ""
                extra = (f"; that run alone needs {r.path_region}" if r.path_region
                         and r.path_region != "always" else "")
                lines.append(f"  {'':<{width}}  witness: {run_text(len(r.witness))}{at}{extra}")
                if witness:
                    trace = build_trace(model, pname, r.witness, "", list(r.times))
                    tables.append((pname, u, r, trace))
            lines.append(f"  {'':<{width}}  ({len(r.checks)} exact zone "
                         f"check{'s' if len(r.checks) != 1 else ''}: "
                         + ", ".join(f"{iv} {st}" for iv, st, _ in r.checks)
                         + f"; {r.seconds:.1f} s)")
    for pname, u, r, trace in tables:
        text = render_trace(trace).splitlines()
        at = f"{bound_name(*u)} = {rational_text(r.threshold)}" if r.threshold is not None \
            else f"{bound_name(*u)} at its least"
        text[0] = f"Witness for {pname} at {at} ({trace.length} steps):"
        lines += [""] + text[:-1]
    lines += ["", "Method: exact counterexample-guided descent (docs/TIMING.md): zone checks "
              "with the unknown strictly beyond each candidate, z3 Optimize on each "
              f"counterexample path. Total {total:.1f} s."]
    return "\n".join(lines)


def _json(model, timing, unknowns, out) -> dict:
    props = {}
    for pname, (kind, per) in out.items():
        if kind != "synthesis":
            props[pname] = {"status": kind}
            continue
        props[pname] = {"status": "synthesised", "unknowns": {
            bound_key(*u): {
                "status": r.status,
                "threshold": None if r.threshold is None else rational_text(r.threshold),
                "region": r.region,
                "witness_region": r.path_region or None,
                "witness": None if r.witness is None else [
                    {"time": rational_text(t), "actor": actor_name(a), "action": a.as_dict()}
                    for a, t in zip(r.witness.actions, r.times[1:])],
                "checks": [{"interval": iv, "verdict": st,
                            "theta": None if th is None else rational_text(th)}
                           for iv, st, th in r.checks],
                "seconds": round(r.seconds, 3),
            } for u, r in per.items()}}
    return {"format": "dnsrace-delays/1",
            "config": {**model.config.as_dict(), "protocol": model.protocol.name},
            "timing": timing.as_dict(), "properties": props}
