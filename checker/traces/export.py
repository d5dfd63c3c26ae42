"""Writing trace files: every format of every counterexample, atomically, or nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .formats import FORMATS, file_name

__all__ = ["ExportError", "atomic_write", "export_traces", "planned_files"]


class ExportError(ValueError):
    """An export that cannot proceed; the message is one line for the user."""


def atomic_write(path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader (or a crash) never sees a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def planned_files(directory, traces, formats) -> list:
    """(path, trace, format) for every file an export writes, in a stable order."""
    directory = Path(directory)
    return [(directory / file_name(t, f), t, f) for t in traces for f in formats]


def check_target(directory, names, force: bool) -> None:
    """Refuses before any work: a folder that is a file, or existing files without force."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} exists and is not a folder")
    if force or not directory.is_dir():
        return
    existing = [n for n in names if (directory / n).exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ExportError(f"{directory / existing[0]} already exists{more}; use --force to "
                          "overwrite")


def export_traces(model, traces, directory, formats, force: bool = False) -> list:
    """Writes each trace in each format to ``directory`` (created if missing). Renders every
    file first, so a failing format leaves nothing written; returns the paths written."""
    planned = planned_files(directory, traces, formats)
    check_target(directory, [p.name for p, _, _ in planned], force)
    texts = [(path, FORMATS[f].write(t, model)) for path, t, f in planned]
    Path(directory).mkdir(parents=True, exist_ok=True)
    for path, text in texts:
        atomic_write(path, text)
    return [path for path, _ in texts]
