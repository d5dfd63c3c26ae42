"""``dnsrace gallery DIR``: regenerate the traces/ gallery."""

from __future__ import annotations

import click

from ..traces.gallery import write_gallery

__all__ = ["gallery"]


@click.command()
@click.argument("directory", type=click.Path(file_okay=False), default="traces")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
def gallery(directory, quiet):
    """Regenerate the counterexample gallery in DIRECTORY (default: traces).

    Checks every shipped protocol at the default configuration and writes, for each violated
    property, its shortest counterexample in every format, overwriting older files. The
    output is deterministic: same code, same bytes.
    """
    written = write_gallery(directory)
    if not quiet:
        click.echo(f"Wrote {len(written)} files to {directory}")
