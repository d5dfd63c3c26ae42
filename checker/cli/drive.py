"""``dnsrace drive``: run the model's schedules through real enactor code against Route 53
and S3 (moto's server on loopback by default), comparing real and model state every step."""

from __future__ import annotations

import json
import random
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from dnsrace.model import DnsSystem, ProtocolLoadError, UnknownProtocol, resolve_protocol
from dnsrace.model.loader import is_protocol_spec

from ..conformance.adapters import AdapterLoadError, StorePlanner, load_adapter
from ..conformance.driver import Driver, StepError, file_schedule, random_run
from ..conformance.report import (COMPARED, dangling_records, divergence_trace,
                                  render_divergence, render_run, run_json)
from ..conformance.services import ServiceError, Services, aws_endpoint
from ..traces.export import ExportError, write_files
from .errors import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATED, InputError
from .options import build_model, config_options, output_options
from ..reports.provenance import with_provenance
from .progress import line_reporter
from .replay import load_and_replay

__all__ = ["drive"]

_SIZES = ("enactors", "plans", "endpoints", "keep")


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends the run like Ctrl-C: every ``finally`` (server, zone, bucket) still runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _check_url(url):
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--endpoint-url {url!r}: expected http://host:port or https://host")
    return url


def _given(ctx, name) -> bool:
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)


def _file_model(ctx, file, protocol):
    """The model and the actions of a trace FILE (replayed first, as ``replay`` does)."""
    given = [n for n in _SIZES if _given(ctx, n)]
    if given:
        raise InputError(f"--{given[0]}: a trace FILE brings its own configuration; drop "
                         "the size options (or drop FILE for random runs)")
    _, report = load_and_replay(file)
    if report.trace is None:
        raise InputError(f"{file}: does not replay under its own protocol: {report.reason}")
    model = report.model
    if _given(ctx, "protocol"):
        try:
            model = DnsSystem(model.config, resolve_protocol(protocol))
        except (UnknownProtocol, ProtocolLoadError) as exc:
            raise InputError(f"--protocol: {exc}") from None
    return model, [s.action for s in report.trace.steps[1:]]


def _adapter_class(spec, what):
    try:
        return load_adapter(spec, what)
    except AdapterLoadError as exc:
        raise InputError(str(exc)) from None


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--adapter", required=True, metavar="FILE.py:CLASS",
              help="Your enactor: a class whose methods perform one model step each (pick, "
                   "write(k), cleanup, ...; docs/DRIVE.md). E.g. "
                   "examples/route53_enactor.py:IncidentEnactor.")
@click.option("--planner", default=None, metavar="FILE.py:CLASS",
              help="Your planner, with publish(plan) (default: one S3 object per plan).")
@click.option("--runs", type=click.IntRange(min=1), default=None,
              help="Drive this many seeded random runs of the model (instead of FILE).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random runs: the same seed drives the same runs.")
@click.option("--depth", type=click.IntRange(min=1), default=40, show_default=True,
              help="At most this many steps per random run.")
@click.option("--endpoint-url", default=None, metavar="URL",
              help="A Route 53 + S3 compatible endpoint to use instead of starting moto's "
                   "server on 127.0.0.1 (nothing is sent anywhere else).")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE",
              help="Where a random run's first divergence is written as a trace file "
                   "(default: ./<config>-<protocol>-drive-seed<S>.json). An existing file "
                   "is refused before the run unless --force is given.")
@click.option("--force", is_flag=True, help="Overwrite the --save file if it exists.")
@config_options
@output_options
@click.pass_context
def drive(ctx, file, adapter, planner, runs, seed, depth, endpoint_url, save_path, force,
          enactors, plans, endpoints, keep, protocol, as_json, quiet):
    """Drive real enactor code through the model's schedules, against Route 53 and S3.

    Schedules come from a json or itf trace FILE (as `replay` reads it) or from --runs seeded
    random runs of the model. Each model step is one call of your adapter; after it the
    records and the plan bucket are read back and compared with the model.

    Exit 0: conforms; 1: diverges (the step and the difference are printed); 2: bad input
    (a file, an adapter that cannot take a step, an endpoint that does not answer);
    3: interrupted, or the FILE's schedule cannot go on under --protocol.
    """
    if (file is None) == (runs is None):
        raise InputError("give a trace FILE or --runs M (random runs of the model), not "
                         + ("both" if file else "neither"))
    if file is not None:
        for name in ("seed", "depth", "save_path", "force"):
            if _given(ctx, name):
                raise InputError(f"--{name.removesuffix('_path')} applies only with --runs")
        model, actions = _file_model(ctx, file, protocol)
    else:
        model, actions = build_model(enactors, plans, endpoints, keep, protocol), None
    url = _check_url(endpoint_url)
    if save_path and not Path(save_path).resolve().parent.is_dir():
        raise InputError(f"--save {save_path}: no such folder {Path(save_path).parent}")
    c = model.config
    target = Path(save_path or f"{c.slug()}-{model.protocol.name}-drive-seed{seed}.json")
    if actions is None and not force and (target.exists() or target.is_symlink()):
        raise InputError(f"--save {target}: already exists; nothing was run; use --force to "
                         "overwrite, or --save another file")
    enactor_cls = _adapter_class(adapter, "adapter")
    planner_cls = _adapter_class(planner, "planner") if planner else StorePlanner
    planner_name = planner or "default (one S3 object per plan)"
    driver = Driver(model, None, enactor_cls, planner_cls, adapter, planner_name)
    reports, where = _drive_all(driver, url, actions, runs, seed, depth, quiet or as_json)
    last = reports[-1]
    saved = None
    if last.divergence is not None and actions is None:
        saved = str(target)
        try:  # exclusive: a file created meanwhile (a concurrent run) is never replaced
            write_files(target.parent, [(target.name, divergence_trace(model, last, adapter))],
                        force=force)
        except ExportError as exc:
            raise InputError(f"--save {saved}: {exc}") from None
        except OSError as exc:
            raise InputError(f"--save {saved}: cannot write: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(with_provenance({
            "format": "dnsrace-drive/1",
            "config": c.as_dict(), "protocol": model.protocol.name,
            "adapter": adapter, "planner": planner_name, "endpoint": where,
            "schedule": {"file": file} if file else {"runs": runs, "seed": seed, "depth": depth},
            "compared": list(COMPARED),
            "verdict": _verdict(last),
            "runs_driven": len(reports),
            "steps_driven": sum(len(r.steps) - 1 for r in reports),
            "runs": [run_json(model, r) for r in reports if file or r is last],
            "divergence_trace": saved,
        }), indent=2))
    elif not quiet:
        click.echo(_text(model, protocol, reports, file, adapter, planner_name, where, runs, seed,
                         depth, saved))
    ctx.exit({"conforms": EXIT_HOLDS, "diverges": EXIT_VIOLATED}.get(_verdict(last),
                                                                     EXIT_INCOMPLETE))


def _drive_all(driver, url, actions, runs, seed, depth, silent):
    """Sets up the services (a moto server of our own unless ``url``), drives the FILE's
    ``actions`` or the random runs, and tears everything down whatever happens.
    Returns (run reports, where the services were)."""
    c = driver.model.config
    with _sigterm_as_interrupt(), aws_endpoint(url) as endpoint:
        services = Services(endpoint, c.endpoints, c.keep, user_endpoint=url is not None)
        driver.services = services
        try:
            try:
                services.create()
            except ServiceError as exc:
                raise InputError(str(exc)) from None
            try:
                reports = ([file_schedule(driver, actions)] if actions is not None else
                           _random_runs(driver, runs, seed, depth, silent))
            except (StepError, AdapterLoadError) as exc:
                raise InputError(str(exc)) from None
        finally:
            services.destroy()
    where = url or f"moto server on {endpoint.split('//')[1]} (started for this run)"
    return reports, where


def _verdict(report) -> str:
    if report.divergence is not None:
        return "diverges"
    return "incomplete" if report.stopped else "conforms"


def _random_runs(driver, runs, seed, depth, silent):
    rng = random.Random(seed)
    progress = None if silent else line_reporter()
    reports, steps = [], 0
    try:
        for r in range(1, runs + 1):
            report = random_run(driver, rng, depth, r)
            reports.append(report)
            steps += len(report.steps) - 1
            if progress:
                progress(f"run {r:,}/{runs:,}  {steps:,} steps driven")
            if report.divergence is not None:
                break
    finally:
        if progress:
            progress.done()
    return reports


def _text(model, protocol, reports, file, adapter, planner, where, runs, seed, depth,
          saved) -> str:
    c = model.config
    last = reports[-1]
    lines = [f"dnsrace drive: protocol {model.protocol.name}, {c.enactors} enactors, "
             f"{c.plans} plans, {c.endpoints} endpoints, keep {c.keep}",
             f"  adapter {adapter}, planner {planner}",
             f"  services: {where}",
             "  compared after every step:", *(f"    {what}" for what in COMPARED)]
    if file:
        lines.append(f"  schedule: {click.format_filename(file)} ({len(last.steps) - 1} "
                     "steps driven)")
    else:
        total = sum(len(r.steps) - 1 for r in reports)
        lines.append(f"  schedule: random runs of the model, seed {seed}, depth {depth}: "
                     f"{len(reports)} of {runs} driven, {total:,} steps")
    shown = last if (file or last.divergence is not None) else None
    if shown is not None:
        lines += ["", (f"Run {shown.run}:" if shown.run else "Driven schedule:"),
                  render_run(model, shown)]
    lines.append("")
    if last.divergence is not None:
        lines.append(render_divergence(last.divergence))
        if saved:
            again = f" --protocol {protocol}" if is_protocol_spec(protocol) else ""
            lines.append(f"  The diverging run is in {saved} (re-drive it: dnsrace drive "
                         f"{saved}{again} --adapter {adapter}).")
    elif last.stopped:
        lines.append(f"Incomplete: conforms over the steps driven, but {last.stopped}.")
    else:
        lines.append("Conforms: after every step the services held what the model says.")
    for name, plan in dangling_records(last.steps[-1]):
        lines.append(f"The services end in the outage: record {name} names plan {plan}, whose "
                     "object is no longer in the plan store (an empty DNS answer).")
    return "\n".join(lines)
