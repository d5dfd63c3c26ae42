"""``check --export DIR [--format LIST] [--force]``: trace files for every counterexample."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import click

from ..reports.provenance import PLACEMENT, current_provenance
from ..traces.export import ExportError, check_target, export_traces
from ..traces.formats import FORMATS, file_name, resolve_formats
from .errors import InputError
from .options import stack

__all__ = ["export_options", "prepare_export", "write_export"]


def export_options(f):
    """--export DIR, --format LIST, --force."""
    return stack(f, [
        click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
                     metavar="DIR",
                     help="Write each counterexample to DIR, one file per property and "
                          "format, named after configuration, protocol and property."),
        click.option("--format", "export_formats", default=None, metavar="LIST",
                     help=f"Comma-separated formats for --export: {','.join(FORMATS)} "
                          "(default: all)."),
        click.option("--force", is_flag=True,
                     help="Let --export and --checkpoint overwrite existing files."),
    ])


@dataclass(frozen=True)
class ExportPlan:
    directory: Path
    formats: tuple
    force: bool


class _Named:  # enough of a Trace for file_name, before any trace exists
    def __init__(self, model, prop):
        self.config, self.protocol, self.property = (model.config.as_dict(),
                                                     model.protocol.name, prop.name)


def prepare_export(model, properties, directory, formats_text, force):
    """Checks the export options before exploring, so bad ones fail fast. None: no export."""
    if directory is None:
        if formats_text is not None or force:
            raise InputError("--format and --force only apply with --export DIR")
        return None
    if not str(directory).strip():
        raise InputError("--export: the folder name is empty; name a folder, e.g. --export "
                         "traces (use --export . for the current folder)")
    try:
        formats = resolve_formats(formats_text)
    except ValueError as exc:
        raise InputError(f"--format: {exc}") from None
    names = [file_name(_Named(model, p), f) for p in properties for f in formats]
    try:
        check_target(directory, names, force)
    except (ExportError, ValueError) as exc:
        raise InputError(str(exc)) from None
    return ExportPlan(Path(directory), formats, force)


def write_export(model, traces: dict, plan, quiet: bool) -> None:
    if plan is None:
        return
    # provenance: this dnsrace and the options that produced the traces, not where they go
    prov = current_provenance(drop=PLACEMENT + ("quiet", "as_json", "full"))
    stamped = [replace(t, provenance=prov) if prov is not None else t for t in traces.values()]
    try:
        written = export_traces(model, stamped, plan.directory, plan.formats, plan.force)
    except ExportError as exc:
        raise InputError(str(exc)) from None
    except OSError as exc:
        raise InputError(f"cannot write to {plan.directory}: {exc.strerror or exc}; nothing "
                         "was written") from None
    if not quiet:
        what = f"{len(written)} trace file{'s' if len(written) != 1 else ''}"
        click.echo(f"Wrote {what} to {plan.directory}" if written else
                   f"Nothing to export to {plan.directory}: no property is violated", err=True)
