"""``dnsrace check``: explore every interleaving and decide each property."""

from __future__ import annotations

import json

import click

from dnsrace.model.size import too_large

from ..explore.bfs import explore
from ..explore.engines import ENGINES, EngineError, EngineOptions
from ..explore.engines import run as run_engine
from ..explore.vector import LOSSY_MODES
from ..reports.provenance import with_provenance
from ..reports.render import render_header, render_result
from ..reports.report import result_to_json
from ..explore.result import VIOLATED, Options
from ..traces.trace import build_trace
from .errors import InputError, exit_code_for
from .export import export_options, prepare_export, write_export
from .options import SECONDS, build_model, build_properties, config_options, output_options
from .progress import progress_reporter
from .signals import time_limit
from .timing import build_timing, protocol_timing, timed_command, timing_options

__all__ = ["check", "run_check"]


def run_check(model, properties, options: Options, reporter=None, engine=None):
    """Explores and turns every counterexample into a Trace. Returns (result, traces).
    ``engine`` (``EngineOptions``) chooses the engine (docs/PERFORMANCE.md); None runs the
    object BFS. What ran is in ``result.engine_info`` (None for the object BFS default)."""
    if engine is None:
        result, info = explore(model, properties, options, reporter), None
    else:
        from dnsrace.model.derived import vector_model
        try:
            result, info = run_engine(model, properties, options, reporter, engine=engine,
                                      vectorize=vector_model)
        except EngineError as exc:
            raise InputError(str(exc)) from None
    result.engine_info = info
    traces = {
        name: build_trace(model, name, pr.trace, pr.explanation)
        for name, pr in result.properties.items()
        if pr.status == VIOLATED
    }
    return result, traces


@click.command()
@config_options
@click.option("--property", "property_names", multiple=True, metavar="NAME",
              help="no-dangling, monotonic, recoverable, or your own file.py:Name or "
                   "package.module:Name (repeatable; default: the three shipped ones).")
@click.option("--no-reduction", is_flag=True,
              help="Explore the plain system (no symmetry reduction).")
@click.option("--max-states", type=click.IntRange(min=1), default=None,
              help="Stop after storing this many states (verdict incomplete, exit 3).")
@click.option("--max-seconds", type=SECONDS, default=None,
              help="Stop after this many seconds (verdict incomplete, exit 3).")
@click.option("--max-depth", type=click.IntRange(min=0), default=None, metavar="D",
              help="Explore breadth-first up to depth D only (a property not violated by "
                   "then is incomplete, exit 3).")
@click.option("--continue", "keep_going", is_flag=True,
              help="Explore everything even once every property is violated.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="Exploration engine: auto picks the fastest exact one (vector, derived "
                   "from any protocol; object is the reference BFS).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes generating successors (vector engine).")
@click.option("--no-por", is_flag=True,
              help="No partial-order reduction (vector engine; on by default unless "
                   "--no-reduction).")
@click.option("--lossy", type=click.Choice(LOSSY_MODES), default=None,
              help="Remember states by hash only (vector engine): less memory, and a verdict "
                   "'holds' becomes probabilistic (the estimate is printed).")
@click.option("--lossy-bits", type=click.IntRange(min=8, max=40), default=None,
              help="Signature bits (hashcompact, default 32) or log2 of the bit table "
                   "(bitstate, default 28).")
@click.option("--cluster", "cluster", metavar="ray[=ADDRESS]", default=None,
              help="Explore on Ray actors, the visited set split among them by state hash: "
                   "'ray' starts a local Ray runtime with this machine's cores, "
                   "'ray=HOST:PORT' joins a running cluster. Needs the extra dnsrace[ray].")
@click.option("--actors", type=click.IntRange(min=1), default=None,
              help="With --cluster: how many actors (default: one per CPU of the cluster).")
@click.option("--full", is_flag=True,
              help="Print every variable at every step of a counterexample (records, store, "
                   "each enactor's phase and plan), changed values marked.")
@timing_options
@output_options
@export_options
@click.pass_context
def check(ctx, enactors, plans, endpoints, keep, protocol, property_names, no_reduction,
          max_states, max_seconds, keep_going, as_json, quiet, export_dir=None,
          export_formats=None, force=False, engine="auto", workers=1, no_por=False,
          lossy=None, lossy_bits=None, max_depth=None, full=False, cluster=None,
          actors=None,
          **timing_args):
    """Explore every interleaving and report, for each property, that it holds or its
    shortest counterexample.

    Exit 0: every property holds; 1: one is violated; 2: bad input; 3: incomplete.
    """
    if lossy_bits is not None and lossy is None:
        raise InputError("--lossy-bits only applies with --lossy hashcompact or --lossy bitstate")
    model = build_model(enactors, plans, endpoints, keep, protocol)
    properties = build_properties(property_names, model)
    hopeless = too_large(model.config)
    if hopeless and max_states is None and max_seconds is None:
        raise InputError(f"{hopeless}; use smaller sizes or bound the run with --max-states")
    export = prepare_export(model, properties, export_dir, export_formats, force)
    timing = protocol_timing(build_timing(**timing_args), [model.protocol])
    if timing is not None:  # docs/TIMING.md
        if engine != "auto" or workers > 1 or no_por or lossy is not None \
                or max_depth is not None or cluster:
            raise InputError("--engine, --workers, --no-por, --lossy, --max-depth and --cluster "
                             "apply to the untimed check, not to --timing")
        with time_limit(max_seconds):
            return timed_command(ctx, model, properties, timing, no_reduction, max_seconds,
                                 keep_going, as_json, quiet, export, max_zones=max_states,
                                 full=full)
    if cluster is not None:  # a missing extra is one line, before any output
        from ..explore import cluster as ray_cluster
        try:
            ray_cluster.require(cluster)
        except ValueError as exc:  # ClusterUnavailable too
            raise InputError(str(exc)) from None
    symmetry = not no_reduction and all(p.symmetric for p in properties)
    if not (quiet or as_json):  # the header before the work, so a long run says what it does
        click.echo(render_header(model, symmetry and model.symmetric) + "\n")
    options = Options(symmetry=symmetry, max_states=max_states,
                      max_seconds=max_seconds, stop_early=not keep_going,
                      max_depth=max_depth)
    reporter = None if (quiet or as_json) else progress_reporter()
    try:
        with time_limit(max_seconds):  # also inside a stuck user step (checker/cli/signals.py)
            result, traces = run_check(model, properties, options, reporter, EngineOptions(
                engine, False if no_por else None, workers, lossy, lossy_bits, cluster, actors))
    finally:
        if reporter is not None:
            reporter.done()
    info = result.engine_info
    por = bool(info is not None and info.por)
    if as_json:
        doc = result_to_json(model, result, traces, por)
        doc["engine"] = info.as_dict() if info is not None else None
        click.echo(json.dumps(with_provenance(doc), indent=2))
    elif not quiet:
        click.echo(render_result(model, result, traces, header=False, full=full, por=por))
        if info is not None:
            click.echo(info.describe())
    write_export(model, traces, export, quiet)
    ctx.exit(exit_code_for(result.verdict))
