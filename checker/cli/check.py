"""``dnsrace check``: explore every interleaving and decide each property."""

from __future__ import annotations

import json
import os

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
from ..explore.checkpoint import CheckpointError
from ..explore.edges import MemoryBudget, SpillError, check_spill_parent, parse_size
from .checkpoint import checkpoint_options, prepare_checkpoint, resume_hint, resume_note
from .errors import InputError, exit_code_for
from .export import export_options, prepare_export, write_export
from .options import SECONDS, SIZE, build_model, build_properties, config_options, output_options
from .progress import progress_reporter
from .signals import time_limit
from .timing import build_timing, protocol_timing, timed_command, timing_options

__all__ = ["check", "run_check"]


def run_check(model, properties, options: Options, reporter=None, engine=None,
              checkpoint=None):
    """Explores and turns every counterexample into a Trace. Returns (result, traces).
    ``engine`` (``EngineOptions``) chooses the engine (docs/PERFORMANCE.md); None runs the
    object BFS. What ran is in ``result.engine_info`` (None for the object BFS default).
    ``checkpoint`` (a ``Checkpointer``) saves and resumes the vector engine's search."""
    if engine is None:
        result, info = explore(model, properties, options, reporter), None
    else:
        from dnsrace.model.derived import vector_model
        try:
            result, info = run_engine(model, properties, options, reporter, engine=engine,
                                      vectorize=vector_model, checkpoint=checkpoint)
        except (EngineError, CheckpointError, SpillError) as exc:
            raise InputError(str(exc)) from None
    result.engine_info = info
    traces = {
        name: build_trace(model, name, pr.trace, pr.explanation)
        for name, pr in result.properties.items()
        if pr.status == VIOLATED
    }
    return result, traces


def check_spill_dir(folder) -> None:
    """InputError (one line naming --spill) unless files can be made in ``folder`` and its
    disk has room."""
    try:
        check_spill_parent(folder)
    except SpillError as exc:
        raise InputError(str(exc)) from None
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    if st.f_bavail == 0 or (st.f_favail == 0 and st.f_files):
        raise InputError(f"--spill {folder}: the disk is full")


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
@click.option("--spill", "spill_dir", metavar="DIR", default=None,
              help="Keep the graph properties' edges (recoverable) on disk, in a private "
                   "folder made inside DIR and removed at the end (vector engine; with "
                   "--memory: only once they outgrow their share of it).")
@click.option("--memory", "memory", type=SIZE, default=None, metavar="SIZE",
              help="Memory budget (e.g. 4G, 500M; vector engine): the graph properties' edges "
                   "spill to disk (under --spill DIR or the system's temporary folder) once "
                   "the stored search with them passes 3/8 of it, the visited set once it "
                   "passes half of it; the run stops (incomplete) once the stored search "
                   "alone passes 5/8 of it.")
@click.option("--full", is_flag=True,
              help="Print every variable at every step of a counterexample (records, store, "
                   "each enactor's phase and plan), changed values marked.")
@checkpoint_options
@timing_options
@output_options
@export_options
@click.pass_context
def check(ctx, enactors, plans, endpoints, keep, protocol, property_names, no_reduction,
          max_states, max_seconds, keep_going, as_json, quiet, export_dir=None,
          export_formats=None, force=False, engine="auto", workers=1, no_por=False,
          lossy=None, lossy_bits=None, max_depth=None, full=False, cluster=None,
          actors=None, checkpoint_file=None, checkpoint_every=None, resume_file=None,
          spill_dir=None, memory=None, **timing_args):
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
    checkpointing = checkpoint_file is not None or resume_file is not None
    export = prepare_export(model, properties, export_dir, export_formats,
                            force and (export_dir is not None or not checkpointing))
    timing = protocol_timing(build_timing(**timing_args), [model.protocol])
    spilling = spill_dir is not None or memory is not None
    if spilling and checkpointing:
        raise InputError("--spill and --memory cannot be combined with --checkpoint or --resume "
                         "(a checkpoint does not carry what is spilled to disk: edges, visited "
                         "states); choose one")
    if spilling and timing is not None:
        raise InputError("--spill and --memory apply to the untimed check (vector engine), not "
                         "to --timing")
    if spilling and cluster is not None:
        raise InputError("--spill and --memory apply to the vector engine in this process; "
                         "--cluster keeps the search on its Ray actors")
    if spilling and engine == "object":
        raise InputError("--spill and --memory need the vector engine (--engine vector or "
                         "auto); the object engine keeps everything in memory")
    if spill_dir is not None:
        check_spill_dir(spill_dir)
    if timing is not None and checkpointing:
        raise InputError("--checkpoint and --resume apply to the untimed check (vector "
                         "engine), not to --timing")
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
    options = Options(symmetry=symmetry, max_states=max_states,
                      max_seconds=max_seconds, stop_early=not keep_going,
                      max_depth=max_depth)
    budget = None if memory is None else MemoryBudget(parse_size(memory), memory, spill_dir)
    engine_options = EngineOptions(engine, False if no_por else None, workers, lossy,
                                   lossy_bits, cluster, actors, spill_dir, budget)
    checkpoint = prepare_checkpoint(model, properties, options, engine_options,
                                    checkpoint_file, checkpoint_every, resume_file, force)
    if not (quiet or as_json):  # the header before the work, so a long run says what it does
        click.echo(render_header(model, symmetry and model.symmetric) + "\n")
    if not quiet and resume_note(checkpoint):  # once the checkpoint is accepted
        checkpoint.on_resume = lambda: click.echo(resume_note(checkpoint), err=True)
    reporter = None if (quiet or as_json) else progress_reporter()
    try:
        with time_limit(max_seconds):  # also inside a stuck user step (checker/cli/signals.py)
            result, traces = run_check(model, properties, options, reporter, engine_options,
                                       checkpoint)
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
    if checkpoint is not None and checkpoint.resumable:  # docs/RELIABILITY.md, "Checkpoints"
        click.echo(resume_hint(checkpoint, result.stats.stop_reason), err=True)
    ctx.exit(exit_code_for(result.verdict))
