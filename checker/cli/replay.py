"""``dnsrace replay FILE`` and ``dnsrace show FILE``: re-check a trace file on its own."""

from __future__ import annotations

import json

import click

from ..traces.formats import TraceFormatError, load_trace_file
from ..reports.provenance import with_provenance
from ..reports.render import render_full_trace, render_trace
from ..traces.replay_file import InputError as BadOption
from ..traces.replay_file import replay_trace_file
from .errors import EXIT_HOLDS, EXIT_VIOLATED, InputError
from .timing import build_timing, check_report_timing, timing_options

__all__ = ["replay", "show", "load_and_replay"]


def load_and_replay(path, protocol=None, prop=None):
    """The replay report for the file at ``path``; InputError (exit 2) when it is malformed."""
    if not str(path).strip():
        raise InputError("FILE: the file name is empty; give a trace file, e.g. "
                         "traces/n3-p4-e3-k1-original-no-dangling.json")
    try:
        tf = load_trace_file(path)
        return tf, replay_trace_file(tf, protocol, prop)
    except TraceFormatError as exc:
        raise InputError(f"{path}: {exc}") from None
    except BadOption as exc:
        raise InputError(f"--{'property' if prop and 'propert' in str(exc) else 'protocol'}: "
                         f"{exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--protocol", default=None, metavar="NAME",
              help="Replay against this protocol instead of the file's (e.g. does the "
                   "incident trace still work under cas?).")
@click.option("--property", "prop", default=None, metavar="FILE.py:NAME",
              help="The property of your own the file names (replay never runs code a file "
                   "names).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; only the exit code speaks.")
@timing_options
@click.pass_context
def replay(ctx, file, protocol, prop, as_json, quiet, **timing_args):
    """Re-execute a json or itf trace FILE against the model, step by step.

    Exit 0: a valid counterexample to the property it names; 1: not one (the step and the
    reason are printed); 2: the file is malformed (the field or step is named).
    """
    if as_json and quiet:
        raise InputError("choose one of --json and --quiet (--json prints one document; "
                         "--quiet prints nothing)")
    tf, report = load_and_replay(file, protocol, prop)
    model = report.model
    # a timed file's timestamps against these bounds, else its own (docs/TIMING.md)
    timing = build_timing(**timing_args)
    try:
        check_report_timing(report, timing)
    except InputError as exc:
        if timing is not None:  # the command line's bounds: the message names the option
            raise
        raise InputError(f"{file}: {exc.format_message()}") from None
    if as_json:
        click.echo(json.dumps(with_provenance({
            "format": "dnsrace-replay/1",
            "trace_format": tf.format,
            "config": model.config.as_dict(),
            "protocol": model.protocol.name,
            "property": report.property,
            "steps": [{"index": s.index, "action": s.label, "enabled": s.enabled}
                      for s in report.steps],
            "valid": report.valid,
            "failed_step": report.failed_step,
            "reason": report.reason,
        }), indent=2))
    elif not quiet:
        c = model.config
        click.echo(f"Replaying {click.format_filename(file)} ({tf.format}): protocol "
                   f"{model.protocol.name}, {c.slug()}, property {report.property}")
        width = max([len(s.label) for s in report.steps] + [4])
        for s in report.steps:
            when = f"  at time {s.time}" if s.time is not None else ""
            click.echo(f"  step {s.index:>3}  {s.label:<{width}}  "
                       f"{'enabled' if s.enabled else 'NOT ENABLED'}{when}")
        if report.valid:
            click.echo(f"Valid counterexample to {report.property} "
                       f"({len(report.steps)} steps): {report.reason}.")
        else:
            click.echo(f"Not a counterexample to {report.property}: {report.reason}.")
    ctx.exit(EXIT_HOLDS if report.valid else EXIT_VIOLATED)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--protocol", default=None, metavar="NAME",
              help="Rebuild the steps with this protocol instead of the file's (needed for a "
                   "trace of your own protocol: file.py:Class; show never runs code a file "
                   "names).")
@click.option("--full", is_flag=True,
              help="Every variable at every step (records, store, each enactor's phase and "
                   "plan), changed values marked.")
@click.option("--property", "prop", default=None, metavar="FILE.py:NAME",
              help="The property of your own the file names.")
@click.pass_context
def show(ctx, file, protocol, full, prop):
    """Print a json or itf trace FILE as the step table 'check' prints.

    The file is replayed to rebuild each step. Exit 0: shown, and a valid counterexample;
    1: it does not replay (the step and reason are printed); 2: malformed.
    """
    _, report = load_and_replay(file, protocol, prop)
    if report.trace is None:
        click.echo(f"{click.format_filename(file)}: does not replay: {report.reason}.", err=True)
        ctx.exit(EXIT_VIOLATED)
    click.echo(render_full_trace(report.trace) if full else render_trace(report.trace))
    if not report.valid:
        click.echo(f"  Not a counterexample: {report.reason}.")
    ctx.exit(EXIT_HOLDS if report.valid else EXIT_VIOLATED)
