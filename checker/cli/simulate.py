"""``dnsrace simulate``: seeded random runs, for sizes beyond exhaustive search (like TLC's
``-simulate`` and Quint's ``run``).

Run j (0-based) uses seed S + j, so ``--seed S+j --runs 1`` replays exactly that run. Untimed
runs choose each step uniformly among the enabled actions (``timing.simulate.walk``); under
timing (any timing option) the discrete-event simulator draws each delay inside its bounds
(``timing.simulate.simulate``). The first run that violates a property stops the simulation
and is reported as a trace: not necessarily a shortest one, but a real run (``replay``
checks it). Exit 0: no violation found (not a proof); 1: a property is violated; 2: bad
input; 3: interrupted.
"""

from __future__ import annotations

import json
import random
import shlex
import time

import click

from dnsrace.model import Config, ConfigError, DnsSystem, ProtocolLoadError, UnknownProtocol
from dnsrace.model import resolve_protocol
from dnsrace.model.timing import TimingError

from ..explore.result import Path
from ..reports.provenance import with_provenance
from ..reports.render import (config_text, render_full_trace, render_trace, run_text,
                              steps_text)
from ..timing.simulate import simulate as timed_run
from ..timing.simulate import walk
from ..traces.trace import build_trace
from .errors import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATED, InputError
from .export import export_options, prepare_export, write_export
from .options import build_properties, config_options, output_options
from .progress import task_progress
from .timing import build_timing, timing_options

__all__ = ["simulate", "run_simulation", "FORMAT"]

FORMAT = "dnsrace-simulate/1"
SAFETY = ("state invariant", "transition invariant")


def run_simulation(model, properties, runs, depth, seed, timing=None, on_run=None):
    """Runs up to ``runs`` random runs of at most ``depth`` steps, until every property is
    violated. A run stops at its first violation; when other properties are still pending,
    the same seed is run again checking only those (same seed, same choices: it goes on
    past that point), so each property gets the first run that violates it.

    Returns a dict: ``runs`` done, ``steps`` taken, ``coverage`` by action kind,
    ``seconds``, ``violations`` ({property: (run index, seed, SimRun)}, in the order found)
    and ``interrupted`` (Ctrl-C: the counts cover the runs finished)."""
    coverage = {name: 0 for name in getattr(model, "action_kinds", {})}
    done = steps = 0
    violations: dict = {}
    pending = list(properties)
    interrupted = False
    start = time.perf_counter()

    def one(run_seed, props):
        if timing is None:
            return walk(model, run_seed, props, depth)
        return timed_run(model, timing, run_seed, props, max_steps=depth)

    try:
        for j in range(runs):
            if not pending:
                break
            run_seed = seed + j
            run = one(run_seed, pending)
            while run.violated is not None:
                violations[run.violated] = (j, run_seed, run)
                pending = [p for p in pending if p.name != run.violated]
                if not pending:
                    break
                run = one(run_seed, pending)  # the same run, now past that violation
            done += 1
            steps += len(run.actions)
            for a in run.actions:
                coverage[a.kind] = coverage.get(a.kind, 0) + 1
            if on_run is not None:
                on_run(done)
    except KeyboardInterrupt:
        interrupted = True
    return {"runs": done, "steps": steps, "coverage": coverage, "violations": violations,
            "seconds": time.perf_counter() - start, "interrupted": interrupted}


def _build_model(enactors, plans, endpoints, keep, protocol) -> DnsSystem:
    """Any size (one run at a time is held in memory): no exhaustive-search limit."""
    try:
        return DnsSystem(Config.unbounded(enactors, plans, endpoints, keep),
                         resolve_protocol(protocol))
    except (ConfigError, UnknownProtocol, ProtocolLoadError) as exc:
        raise InputError(str(exc)) from None


def _reproduce(model, protocol_spec, name, depth, run_seed, timing_args, timed) -> str:
    """The command that runs exactly run ``run_seed`` again, checking only ``name`` (so the
    run goes on past any other property's violation, as it did here)."""
    c = model.config
    parts = ["dnsrace simulate", f"--protocol {shlex.quote(protocol_spec)}",
             f"--enactors {c.enactors}", f"--plans {c.plans}", f"--endpoints {c.endpoints}",
             f"--keep {c.keep}", f"--property {shlex.quote(name)}", f"--depth {depth}",
             "--runs 1", f"--seed {run_seed}"]
    bounds = [(f"--{key.replace('_', '-')}", timing_args.get(key))
              for key in ("plan_interval", "write_time", "check_time", "cleanup_time")]
    bounds += [("--interval", iv) for iv in timing_args.get("extra_intervals") or ()]
    parts += [f"{opt} {shlex.quote(str(v))}" for opt, v in bounds if v is not None]
    if timed and not any(v is not None for _, v in bounds):
        parts.append("--timing")
    return " ".join(parts)


@click.command()
@config_options
@click.option("--property", "property_names", multiple=True, metavar="NAME",
              help="no-dangling, monotonic, or your own file.py:Name (repeatable; default: "
                   "every safety property).")
@click.option("--runs", type=click.IntRange(min=1), default=1000, show_default=True,
              metavar="M", help="Random runs to try.")
@click.option("--depth", type=click.IntRange(min=1), default=100, show_default=True,
              metavar="D", help="Steps per run at most.")
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="S",
              help="Seed of the first run (run j uses S + j); default: a random seed, "
                   "printed so the simulation can be repeated.")
@click.option("--full", is_flag=True,
              help="Print every variable at every step of the violating run.")
@timing_options
@output_options
@export_options
@click.pass_context
def simulate(ctx, enactors, plans, endpoints, keep, protocol, property_names, runs, depth,
             seed, full, as_json, quiet, export_dir=None, export_formats=None, force=False,
             **timing_args):
    """Random runs of the model, any size: report the first one that violates a property,
    as a trace with the seed that reproduces it.

    Exit 0: no violation found in the runs (not a proof); 1: a property is violated;
    2: bad input; 3: interrupted.
    """
    model = _build_model(enactors, plans, endpoints, keep, protocol)
    names = list(dict.fromkeys(property_names))
    properties = build_properties(names or ["no-dangling", "monotonic"])
    graph = [p.name for p in properties if p.kind not in SAFETY]
    if graph:
        raise InputError(f"simulate checks safety properties only; {', '.join(graph)} is a "
                         "graph property (use dnsrace check)")
    timing = build_timing(**timing_args)
    if timing is not None:
        opened = [n for n in timing.names() if timing.interval(n).lo_open or
                  timing.interval(n).hi_open]
        if opened:
            raise InputError(f"simulate takes closed intervals only; {opened[0]} is "
                             f"{timing.interval(opened[0])}")
        try:
            model.timed(timing)  # a missing or bad interval fails before any output
        except TimingError as exc:
            raise InputError(str(exc)) from None
    if seed is None:
        seed = random.SystemRandom().randrange(10**6)
    export = prepare_export(model, properties, export_dir, export_formats, force)
    if not (quiet or as_json):
        mode = f"timed ({timing})" if timing is not None else "untimed"
        click.echo(f"dnsrace simulate: {config_text(model)}; {runs:,} "
                   f"run{'s' if runs != 1 else ''} of at most {steps_text(depth)}, seed "
                   f"{seed}, {mode}\n")
    bar = None if (quiet or as_json) else task_progress(runs, "runs")
    try:
        out = run_simulation(model, properties, runs, depth, seed, timing,
                             on_run=(lambda n: bar.update(n)) if bar else None)
    except TimingError as exc:
        raise InputError(str(exc)) from None
    finally:
        if bar is not None:
            bar.done()
    traces, reproduce = {}, {}
    for prop in properties:
        if prop.name not in out["violations"]:
            continue
        name = prop.name
        j, run_seed, run = out["violations"][name]
        times = [0] + list(run.times) if timing is not None else None
        traces[name] = build_trace(model, name, Path(tuple(run.states), tuple(run.actions)),
                                   prop.explain(model, run.states), times,
                                   timing.as_dict() if timing is not None else None)
        spec = getattr(prop, "origin", name)  # a property of your own: the file:Name typed
        reproduce[name] = _reproduce(model, protocol, spec, depth, run_seed, timing_args,
                                     timing is not None)
    verdict = "violated" if traces else "incomplete" if out["interrupted"] else \
        "no violation found"
    if as_json:
        click.echo(json.dumps(with_provenance(
            _json(model, properties, out, traces, runs, depth, seed, timing, verdict,
                  reproduce)), indent=2))
    elif not quiet:
        click.echo(_render(properties, out, traces, runs, full, reproduce))
    write_export(model, traces, export, quiet)
    ctx.exit(EXIT_VIOLATED if traces else EXIT_INCOMPLETE if out["interrupted"] else EXIT_HOLDS)


def _render(properties, out, traces, runs, full, reproduce) -> str:
    width = max(len(p.name) for p in properties)
    lines = []
    for p in properties:
        if p.name in traces:
            j, run_seed, _ = out["violations"][p.name]
            lines.append(f"  {p.name:<{width}}  VIOLATED  (in run {j + 1:,} of {runs:,}, "
                         f"seed {run_seed}: {run_text(traces[p.name].length)})")
        else:
            lines.append(f"  {p.name:<{width}}  no violation found in {out['runs']:,} "
                         f"run{'s' if out['runs'] != 1 else ''} (not a proof: `dnsrace "
                         "check` explores every run)")
    for name, trace in traces.items():
        title = (f"{'Timed counterexample' if trace.timed else 'Counterexample'} to "
                 f"{name} found by simulation ({steps_text(trace.length)}; not necessarily "
                 "a shortest one):")
        lines += ["", render_full_trace(trace) if full else render_trace(trace, title),
                  f"  Reproduce: {reproduce[name]}"]
    rate = out["runs"] / out["seconds"] if out["seconds"] > 0 else 0.0
    lines += ["", f"Statistics: {out['runs']:,} of {runs:,} runs, {out['steps']:,} steps, "
                  f"{out['seconds']:.2f} s, {rate:,.0f} runs/s"]
    if len(traces) == len(properties) and out["runs"] < runs:
        lines.append("  Stopped early: every property violated.")
    if out["interrupted"]:
        lines.append("  Interrupted: the counts cover the runs finished.")
    cov = out["coverage"]
    if cov:
        lines.append("Coverage: " + ", ".join(f"{k} {v:,}" for k, v in cov.items()))
        never = [k for k, v in cov.items() if v == 0]
        if never:
            lines.append(f"Warning: these actions never fired in any run: {', '.join(never)}")
    return "\n".join(lines)


def _json(model, properties, out, traces, runs, depth, seed, timing, verdict, reproduce):
    props = {}
    for p in properties:
        entry = {"kind": p.kind, "status": "violated" if p.name in traces else
                 "no violation found", "run": None, "seed": None, "trace": None,
                 "reproduce": None}
        if p.name in traces:
            j, run_seed, _ = out["violations"][p.name]
            entry.update(run=j, seed=run_seed, trace=traces[p.name].as_dict(model),
                         reproduce=reproduce[p.name])
        props[p.name] = entry
    rate = out["runs"] / out["seconds"] if out["seconds"] > 0 else 0.0
    return {
        "format": FORMAT,
        "config": {**model.config.as_dict(), "protocol": model.protocol.name},
        "options": {"runs": runs, "depth": depth, "seed": seed,
                    "timing": timing.as_dict() if timing is not None else None},
        "verdict": verdict,
        "properties": props,
        "stats": {"runs": out["runs"], "steps": out["steps"],
                  "seconds": round(out["seconds"], 3), "runs_per_second": round(rate),
                  "interrupted": out["interrupted"], "coverage": out["coverage"],
                  "never_fired": [k for k, v in out["coverage"].items() if v == 0]},
    }
