"""``check --checkpoint FILE [--checkpoint-every S]`` and ``check --resume FILE``: save the
search at level boundaries and continue it later (docs/RELIABILITY.md, "Checkpoints")."""

from __future__ import annotations

import math
import shlex

import click

from ..explore.checkpoint import Checkpointer, CheckpointError, source_digest
from ..reports.provenance import _flag, current_provenance, dnsrace_version
from .errors import InputError
from .options import stack

__all__ = ["checkpoint_options", "prepare_checkpoint", "run_identity", "resume_hint",
           "resume_note", "DEFAULT_EVERY"]

# A checkpoint is written at a level boundary once this many seconds have passed since the
# last one (and where a run stops short): the cost stays a small share of a long run's time.
DEFAULT_EVERY = 60.0


def checkpoint_options(f):
    """--checkpoint FILE, --checkpoint-every SECONDS, --resume FILE."""
    return stack(f, [
        click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False),
                     default=None, metavar="FILE",
                     help="Save the search to FILE at level boundaries (atomically) and where "
                          "the run stops short, so --resume FILE can continue it (vector "
                          "engine)."),
        click.option("--checkpoint-every", type=click.FloatRange(min=0.0), default=None,
                     metavar="SECONDS",
                     help=f"At most one checkpoint per this many seconds (default "
                          f"{DEFAULT_EVERY:g}; 0 saves at every level)."),
        click.option("--resume", "resume_file", type=click.Path(dir_okay=False), default=None,
                     metavar="FILE",
                     help="Continue the run saved in FILE (same options); checkpoints go on "
                          "into FILE unless --checkpoint names another."),
    ])


def run_identity(model, properties, options, engine) -> dict:
    """Everything that decides a check's result, keyed by the option that sets it: a
    checkpoint resumes only a run with the same identity."""
    identity = dict(model.config.as_dict())
    identity = {f"--{k}": v for k, v in identity.items()}
    identity["--protocol"] = model.protocol.name
    identity["protocol source sha256"] = source_digest(model.protocol)
    identity["--property"] = [p.name for p in properties]
    identity["property sources sha256"] = {p.name: source_digest(p) for p in properties
                                           if source_digest(p) is not None}
    identity["--no-reduction"] = not options.symmetry
    identity["--no-por"] = engine.por is False
    identity["--continue"] = not options.stop_early
    identity["--lossy"] = engine.lossy
    identity["--lossy-bits"] = engine.lossy_bits
    return identity


def prepare_checkpoint(model, properties, options, engine, checkpoint_file, every, resume_file,
                       force):
    """The Checkpointer for the options (None without --checkpoint and --resume); bad options,
    an unusable checkpoint or one of another run are InputError, before any work."""
    if checkpoint_file is None and resume_file is None:
        if every is not None:
            raise InputError("--checkpoint-every only applies with --checkpoint FILE or "
                             "--resume FILE")
        return None
    if getattr(engine, "cluster", None) is not None:
        raise InputError("--checkpoint and --resume need the vector engine in this process; "
                         "--cluster cannot save its search")
    if engine.engine == "object":
        raise InputError("--checkpoint and --resume need the vector engine (--engine vector or "
                         "auto); the object engine cannot save its search")
    if every is not None and not math.isfinite(every):
        raise InputError(f"--checkpoint-every: {every!r} is not a finite number of seconds "
                         "(e.g. 60, or 0 to save at every level)")
    for name, value in (("--checkpoint", checkpoint_file), ("--resume", resume_file)):
        if value is not None and not str(value).strip():
            raise InputError(f"{name}: the file name is empty")
    roles = {"protocol": model.protocol}
    roles.update((f"property:{p.name}", p) for p in properties)
    try:
        return Checkpointer(checkpoint_file or resume_file,
                            run_identity(model, properties, options, engine),
                            dnsrace_version(), every=DEFAULT_EVERY if every is None else every,
                            force=force, resume=resume_file, roles=roles)
    except CheckpointError as exc:
        raise InputError(str(exc)) from None


def resume_hint(checkpointer, stop_reason: str) -> str:
    """``Resume: dnsrace check ... --resume FILE``: the command that continues this run (the
    options typed, without the limit that stopped it)."""
    prov = current_provenance() or {"command": "check", "options": {}, "given": []}
    stopped_by = {"state limit": "max_states", "depth limit": "max_depth",
                  "time limit": "max_seconds"}
    drop = {"resume_file", "force", "checkpoint_file", "checkpoint_every"}
    drop.update(v for k, v in stopped_by.items() if stop_reason.startswith(k))
    parts = ["dnsrace", prov.get("command") or "check"]
    opts = prov.get("options", {})
    for name in prov.get("given", []):
        value = opts.get(name)
        if name in drop or value is False or value is None:
            continue
        if value is True:
            parts.append(_flag(name))
        else:
            for v in value if isinstance(value, list) else [value]:
                parts += [_flag(name), shlex.quote(str(v))]
    every = opts.get("checkpoint_every")
    if "checkpoint_every" in prov.get("given", []) and every is not None:
        parts += ["--checkpoint-every", shlex.quote(f"{every:g}")]
    parts += ["--resume", shlex.quote(str(checkpointer.path))]
    written = checkpointer.written
    states = written["states"] if written else 0
    where = (f"depth {written['depth']}, {states:,} state{'s' if states != 1 else ''}"
             if written else "as resumed")
    return f"Checkpoint: {checkpointer.path} ({where})\nResume: {' '.join(parts)}"


def resume_note(checkpointer) -> str | None:
    """``Resuming run.ckpt: depth 23, 3,137,140 states explored`` (None for a fresh run)."""
    saved = checkpointer.resumed if checkpointer is not None else None
    if saved is None:
        return None
    return (f"Resuming {checkpointer.resume_path}: depth {saved['depth']}, "
            f"{saved['states']:,} states explored")
