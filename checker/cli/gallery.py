"""``dnsrace gallery DIR``: regenerate the traces/ gallery."""

from __future__ import annotations

import click

from ..traces.export import ExportError
from ..traces.gallery import write_gallery
from .errors import EXIT_INCOMPLETE, InputError

__all__ = ["gallery"]


@click.command()
@click.argument("directory", type=click.Path(file_okay=False), default="traces")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
@click.option("--force", is_flag=True, hidden=True,
              help="Accepted for symmetry with --export: the gallery always overwrites.")
@click.pass_context
def gallery(ctx, directory, quiet, force):
    """Regenerate the counterexample gallery in DIRECTORY (default: traces).

    Checks every shipped protocol at the default configuration and writes, for each violated
    property, its shortest counterexample in every format, overwriting older files. The
    output is deterministic: same code, same bytes. All files are written or none: an
    interrupted run (Ctrl-C, SIGTERM) writes nothing and exits 3.
    """
    if not str(directory).strip():
        raise InputError("gallery: the folder name is empty; name a folder, e.g. traces")
    try:
        written = write_gallery(directory)
    except ExportError as exc:
        raise InputError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo(f"dnsrace: interrupted; no file was written to {directory} (the gallery "
                   "is written whole or not at all)", err=True)
        ctx.exit(EXIT_INCOMPLETE)
    except OSError as exc:
        raise InputError(f"cannot write to {directory}: {exc.strerror or exc}; no file was "
                         "written") from None
    if not quiet:
        click.echo(f"Wrote {len(written)} files to {directory}")
