"""``dnsrace compare``: one table of protocols x properties, optionally over a sweep of sizes.

Exit 0 when every run finished (whatever the verdicts: a comparison reports, it does not
judge), 3 when a run was cut short (``--max-states``/``--max-seconds``), 2 on bad input.
"""

from __future__ import annotations

import json
import sys

import click

from dnsrace.model import PROTOCOLS, Config, ConfigError, DnsSystem, ProtocolLoadError, UnknownProtocol
from dnsrace.model import resolve_protocol
from dnsrace.model.size import too_large
from dnsrace.model.timing import Interval

from ..reports.compare import Run, compare as run_compare, smallest_failures
from ..explore.result import HOLDS, INCOMPLETE, VIOLATED, Options
from ..reports.sweep import SweepError, grid, minimal_points, parse_sweep, point_label
from .errors import EXIT_HOLDS, EXIT_INCOMPLETE, InputError
from .options import SECONDS, build_properties, check_graph_sizes, size_options
from .progress import task_progress
from ..reports.provenance import with_provenance
from ..reports.render import steps_text
from .signals import time_limit
from .timing import build_timing, protocol_timing, timing_options

__all__ = ["compare", "FORMAT"]

FORMAT = "dnsrace-compare/1"
DEFAULT_LEASE = "1"  # lease length when --interval lease=... is not given: one plan interval

# Every spelling --sweep accepts, by the Config field it sets.
SWEEP_NAMES = {"enactors": "enactors", "n": "enactors", "plans": "plans", "p": "plans",
               "endpoints": "endpoints", "e": "endpoints", "keep": "keep", "k": "keep"}


@click.command()
@click.option("--protocols", default=",".join(PROTOCOLS), show_default=True, metavar="A,B,...",
              help="Protocols to compare: shipped names or your own file.py:Class.")
@size_options
@click.option("--property", "property_names", multiple=True, metavar="NAME",
              help="no-dangling, monotonic, recoverable, or your own file.py:Name or "
                   "package.module:Name (repeatable; default: the three shipped ones).")
@click.option("--sweep", "sweep_spec", default=None, metavar="NAME=A..B,...",
              help="Check every size in a grid, e.g. enactors=2..4,plans=3..6, and report the "
                   "smallest sizes at which each property fails.")
@click.option("--no-reduction", is_flag=True,
              help="Explore the plain system (no symmetry reduction).")
@click.option("--max-states", type=click.IntRange(min=1), default=None,
              help="Stop each run after this many states (its verdicts may be incomplete).")
@click.option("--max-seconds", type=SECONDS, default=None,
              help="Stop each run after this many seconds.")
@timing_options
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--markdown", is_flag=True, help="A Markdown table, for a design review or PR.")
@click.pass_context
def compare(ctx, protocols, enactors, plans, endpoints, keep, property_names, sweep_spec,
            no_reduction, max_states, max_seconds, timed, plan_interval, write_time, check_time,
            cleanup_time, extra_intervals, as_json, markdown):
    """Compare protocols: for each, every property's verdict, the length of its shortest
    counterexample and the states explored. With --sweep, the smallest sizes at which each
    property fails, or that it held at every size of the grid.

    Every run explores completely (no early stop), so state counts compare like for like.
    Exit 0: every run finished; 3: some run was cut short; 2: bad input.
    """
    if as_json and markdown:
        raise InputError("choose one of --json and --markdown")
    names = [p.strip() for p in protocols.split(",") if p.strip()]
    if not names:
        raise InputError("--protocols names no protocol")
    loaded = {}
    for name in dict.fromkeys(names):
        try:
            loaded[name] = resolve_protocol(name)
        except (UnknownProtocol, ProtocolLoadError) as exc:
            raise InputError(str(exc)) from None
    # rows are labelled by protocol name, or by what was typed when two share a name
    taken = [p.name for p in loaded.values()]
    labels = {spec: (p.name if taken.count(p.name) == 1 else spec) for spec, p in loaded.items()}
    properties = build_properties(property_names)
    base = {"enactors": enactors, "plans": plans, "endpoints": endpoints, "keep": keep}
    try:
        axes = parse_sweep(sweep_spec, SWEEP_NAMES) if sweep_spec is not None else {}
    except SweepError as exc:
        raise InputError(f"--sweep: {exc}") from None
    points = grid(axes) if axes else [{}]
    runs = []
    for point in points:
        config = _config({**base, **point}, point)
        check_graph_sizes(DnsSystem(config, next(iter(loaded.values()))), properties)
        hopeless = too_large(config)
        if hopeless and max_states is None and max_seconds is None:
            raise InputError(f"{hopeless}; shrink the sweep or bound runs with --max-states")
        for name, protocol in loaded.items():
            runs.append(Run(labels[name], point, DnsSystem(config, protocol)))
    symmetry = not no_reduction and all(p.symmetric for p in properties)
    options = Options(symmetry=symmetry, max_states=max_states,
                      max_seconds=max_seconds, stop_early=False)
    timing = build_timing(timed, plan_interval, write_time, check_time, cleanup_time,
                          extra_intervals)
    timing = protocol_timing(timing, list(loaded.values()))  # declared intervals, defaults
    if timing is not None and all(p.kind == "graph property" for p in properties):
        raise InputError("under timing only safety properties are decided (no-dangling, "
                         "monotonic); recoverable is not analysed under timing")
    if not as_json and not markdown:  # the header before the work starts
        click.echo(_header(base, axes, options.symmetry) + "\n")
    bar = _progress_bar(sys.stderr)
    timed_run = _timed_runner(timing, properties, options) if timing is not None else None
    with time_limit(None if max_seconds is None else max_seconds * len(runs) * 2):
        rows = run_compare(runs, properties, options, on_run=bar, timed=timed_run,
                           explore=_fastest_exact)
    if len(rows) < len(runs):  # one Ctrl-C/SIGTERM ends the whole comparison
        click.echo(f"dnsrace: interrupted after {len(rows)} of {len(runs)} runs; the table "
                   "shows those (verdict incomplete)", err=True)
    if timing is not None and axes:  # sweep the timed verdicts like the others
        for r in rows:
            for p, (status, n) in r.extra["timed"].items():
                if status != "not analysed":
                    r.status[f"{p} (timed)"], r.shortest[f"{p} (timed)"] = status, n
    prop_names = [p.name for p in properties]
    summaries = {labels[spec]: p.summary for spec, p in loaded.items()}
    if as_json:
        doc = compare_to_json(base, axes, prop_names, rows, summaries, options.symmetry)
        if timing is not None:
            doc["timing"] = timing.as_dict()
        click.echo(json.dumps(with_provenance(doc), indent=2))
    elif markdown:
        click.echo(render_markdown(base, axes, prop_names, rows, options.symmetry))
        if timing is not None:
            click.echo(f"\nTimed columns: {timing}.")
    else:
        click.echo(render_table(base, axes, prop_names, rows, options.symmetry, header=False))
        if timing is not None:
            click.echo(f"Timed columns: exact zone exploration under {timing}.")
    incomplete = any(INCOMPLETE in r.status.values() or not r.exhausted for r in rows)
    ctx.exit(EXIT_INCOMPLETE if incomplete else EXIT_HOLDS)


def _timed_runner(timing, properties, options):
    """``timed(run)`` for compare: the zone engine over the run's model under ``timing``."""
    from dnsrace.model.timing import TimedView, TimingError  # noqa: PLC0415

    from ..timing.timed import TimedOptions, explore_timed  # noqa: PLC0415

    topts = TimedOptions(symmetry=options.symmetry, max_zones=options.max_states,
                         max_seconds=options.max_seconds, stop_early=False)

    def timed(run):
        try:
            r = explore_timed(TimedView(run.model, timing), properties, topts,
                              scale=timing.scale())
        except TimingError as exc:
            raise InputError(f"{run.label} under timing: {exc}") from None
        return {n: (p.status, len(p.trace) if p.trace is not None else None)
                for n, p in r.properties.items()}

    return timed


def _config(values: dict, point: dict) -> Config:
    try:
        return Config(**values)
    except ConfigError as exc:
        where = f" at sweep point {point_label(point)}" if point else ""
        raise InputError(f"{exc}{where}") from None


def _fastest_exact(model, properties, options):
    """The vector engine (derived from any protocol; the object BFS if it gives up); without
    partial-order reduction, so every row counts the same (symmetry-reduced) graph."""
    from dnsrace.model.derived import vector_model

    from ..explore.engines import EngineOptions, run

    return run(model, properties, options, engine=EngineOptions(por=False),
               vectorize=vector_model)[0]


def _progress_bar(stream, after_seconds: float = 0.0):
    """``on_run`` for compare: runs done/total, elapsed and ETA (``progress.task_progress``)
    on ``stream``, only on a terminal."""
    if not stream.isatty():
        return None
    bar = None

    def on_run(j, total, run):
        nonlocal bar
        if bar is None:
            bar = task_progress(total, "runs", stream, after_seconds)
        if run is None:
            bar.done()
        else:
            where = f" {point_label(run.point)}" if run.point else ""
            bar.update(j, f"{run.label}{where}")

    return on_run


# -- rendering --------------------------------------------------------------------------------
def _cell(row, prop) -> str:
    return _status_text(row.status[prop], row.shortest[prop])


def _status_text(status, shortest) -> str:
    if status == VIOLATED:
        return f"VIOLATED ({shortest})"
    return status if status != HOLDS else "holds"


def _timed_props(rows, props) -> list:
    """The properties with a timed verdict (the safety ones), when --timing was given."""
    timed = rows[0].extra.get("timed") if rows else None
    return [p for p in props if timed and timed.get(p, ("not analysed",))[0] != "not analysed"]


def _config_text(base: dict, axes: dict) -> str:
    fixed = [f"keep {v}" if k == "keep" else f"{v} {k[:-1] if v == 1 else k}"
             for k, v in base.items() if k not in axes]
    swept = [f"{k} {vs[0]}..{vs[-1]}" for k, vs in axes.items()]
    return ", ".join(swept + fixed)


def _sweep_columns(fails: dict, props: list) -> list:
    """The properties, then their timed verdicts when --timing was given."""
    some = next(iter(fails.values()), {})
    return props + [f"{p} (timed)" for p in props if f"{p} (timed)" in some]


def _sweep_cell(cell: dict, total: int) -> str:
    if cell["violated_at"]:
        return "fails from " + " / ".join(point_label(p) for p in cell["violated_at"])
    if cell["incomplete_at"]:
        return f"holds at {cell['held_at']} of {total} ({cell['incomplete_at']} incomplete)"
    return f"holds at all {total}"


def _columns(header: list, body: list, right: set) -> str:
    widths = [max(len(str(r[j])) for r in [header] + body) for j in range(len(header))]

    def line(r):
        return "  ".join(str(c).rjust(w) if j in right else str(c).ljust(w)
                         for j, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(header)] + [line(r) for r in body])


def _header(base, axes, symmetry) -> str:
    return (f"dnsrace compare: {_config_text(base, axes)} ({_reductions(symmetry)})")


def _reductions(symmetry) -> str:
    """What produced the state counts: symmetry only, never partial-order reduction, so every
    row counts the same graph (``check`` may also reduce partial orders: its counts for the
    same protocol can be smaller; ``--no-reduction`` gives MODEL.md's)."""
    return ("states after symmetry reduction, no partial-order reduction" if symmetry
            else "states with no reduction")


def render_table(base, axes, props, rows, symmetry, header=True) -> str:
    head = _header(base, axes, symmetry)
    if axes:
        total = len(grid(axes))
        fails = smallest_failures(rows, minimal_points)
        cols = _sweep_columns(fails, props)
        body = [[label] + [_sweep_cell(fails[label][p], total) for p in cols] for label in fails]
        table = _columns(["protocol"] + cols, body, set())
        note = (f"Checked {total} sizes per protocol; \"fails from\" lists the smallest sizes "
                "(no other failing size is below them in every parameter).")
    else:
        tprops = _timed_props(rows, props)
        body = [[r.label] + [_cell(r, p) for p in props]
                + [_status_text(*r.extra["timed"][p]) for p in tprops]
                + [f"{r.states:,}", f"{r.transitions:,}", f"{r.seconds:.1f} s"] for r in rows]
        n = len(props) + len(tprops)
        table = _columns(["protocol"] + props + [f"{p} (timed)" for p in tprops]
                         + ["states", "transitions", "time"], body, {n + 1, n + 2, n + 3})
        note = ("VIOLATED (n): the shortest counterexample has n steps; "
                "`dnsrace check --protocol NAME` shows it.")
    return "\n".join(([head, ""] if header else []) + [table, "", note])


def render_markdown(base, axes, props, rows, symmetry) -> str:
    lines = [f"Configuration: {_config_text(base, axes)}; {_reductions(symmetry)}.", ""]
    if axes:
        total = len(grid(axes))
        fails = smallest_failures(rows, minimal_points)
        cols = _sweep_columns(fails, props)
        lines += ["| protocol | " + " | ".join(cols) + " |",
                  "|---|" + "---|" * len(cols)]
        for label, cells in fails.items():
            lines.append(f"| `{label}` | "
                         + " | ".join(_sweep_cell(cells[p], total) for p in cols) + " |")
        return "\n".join(lines)
    tprops = _timed_props(rows, props)
    lines += ["| protocol | " + " | ".join(props + [f"{p} (timed)" for p in tprops])
              + " | states | transitions |",
              "|---|" + "---|" * (len(props) + len(tprops)) + "---:|---:|"]
    for r in rows:
        cells = []
        for st, n in [(r.status[p], r.shortest[p]) for p in props] + \
                [r.extra["timed"][p] for p in tprops]:
            cells.append(f"**violated** ({steps_text(n)})" if st == VIOLATED else st)
        lines.append(f"| `{r.label}` | " + " | ".join(cells)
                     + f" | {r.states:,} | {r.transitions:,} |")
    return "\n".join(lines)


def compare_to_json(base, axes, props, rows, summaries, symmetry) -> dict:
    doc = {
        "format": FORMAT,
        "config": base,
        "options": {"symmetry": symmetry, "reductions": ["symmetry"] if symmetry else []},
        "properties": props,
        "protocols": [{"name": n, "summary": s} for n, s in summaries.items()],
        "runs": [
            {"protocol": r.label, "config": {**base, **r.point}, "verdict": r.verdict,
             "properties": {p: {"status": r.status[p], "shortest": r.shortest[p]} for p in props},
             "states": r.states, "transitions": r.transitions,
             "explored_states": r.explored_states, "seconds": round(r.seconds, 3),
             "exhausted": r.exhausted, "stop_reason": r.stop_reason or None,
             **({"timed": {p: {"status": s, "shortest": n}
                           for p, (s, n) in r.extra["timed"].items()}}
                if "timed" in r.extra else {})}
            for r in rows
        ],
    }
    if axes:
        doc["sweep"] = {
            "axes": axes,
            "smallest_failures": {
                label: {p: {"violated_at": c["violated_at"], "held_at": c["held_at"],
                            "incomplete_at": c["incomplete_at"]} for p, c in cells.items()}
                for label, cells in smallest_failures(rows, minimal_points).items()
            },
        }
    return doc
