"""Writing trace files: every format of every counterexample, or nothing.

``write_files`` is the one path to disk. Every file is first written in full (and synced) to
a temporary name in the target folder; only once all of them exist are they moved to their
names. Without ``force`` each move is a hard link, which the kernel refuses when the name
exists, even as a dangling symlink: two runs racing for one folder cannot both write, and the
one that loses removes what it had placed. Any failure (a full disk, Ctrl-C, a name taken
meanwhile) removes every temporary file and every file this call placed, then re-raises.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .formats import FORMATS, file_name

__all__ = ["ExportError", "atomic_write", "check_target", "check_writable", "export_traces",
           "planned_files", "write_files"]


class ExportError(ValueError):
    """An export that cannot proceed; the message is one line for the user."""


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_temp(path: Path, text: str) -> str:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write(path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader (or a crash) never sees a half-written file."""
    path = Path(path)
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _place_exclusive(tmp: str, path: Path) -> None:
    """Gives ``tmp``'s content the name ``path`` only if nothing has that name (FileExistsError
    otherwise, including for a dangling symlink)."""
    try:
        os.link(tmp, path, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError as exc:  # a file system without hard links: reserve the name, then rename
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK):
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    os.replace(tmp, path)


def write_files(directory, files, force: bool = False) -> list:
    """Writes ``files`` (``[(name, text)]``) into ``directory`` (created if missing): all of
    them or, on any failure, none. Without ``force`` an existing name (a file, a folder, a
    symlink, dangling or not) raises ExportError and nothing is written. Returns the paths."""
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    temps, placed = [], []
    try:
        for name, text in files:
            path = directory / name
            temps.append((_write_temp(path, text), path))
        for tmp, path in temps:
            if force:
                os.replace(tmp, path)
            else:
                try:
                    _place_exclusive(tmp, path)
                except FileExistsError:
                    raise ExportError(f"{path} already exists (created while this run was "
                                      "working?); nothing was written; use --force to "
                                      "overwrite") from None
                placed.append(path)
                _unlink(tmp)
    except BaseException:
        for path in placed:
            _unlink(path)
        for tmp, _path in temps:
            _unlink(tmp)
        if created:
            try:
                directory.rmdir()
            except OSError:
                pass
        raise
    return [path for _tmp, path in temps]


def planned_files(directory, traces, formats) -> list:
    """(path, trace, format) for every file an export writes, in a stable order."""
    directory = Path(directory)
    return [(directory / file_name(t, f), t, f) for t in traces for f in formats]


def check_writable(directory) -> None:
    """Refuses, before any work, a folder that cannot be created or written to."""
    directory = Path(directory)
    if str(directory) == "":
        raise ExportError("the export folder name is empty; name a folder, e.g. --export traces")
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} exists and is not a folder")
    probe = directory
    while not probe.exists():
        if probe.is_symlink():  # a dangling symlink in the path
            raise ExportError(f"{probe} is a dangling symbolic link; cannot create {directory}")
        probe = probe.parent
    if not probe.is_dir():
        raise ExportError(f"cannot create {directory}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {probe}: permission denied")
    if probe == directory:  # os.access trusts mode bits; a read-only mount says otherwise
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".dnsrace-probe.", suffix=".tmp")
        except OSError as exc:
            raise ExportError(f"cannot write to {directory}: {exc.strerror or exc}") from None
        os.close(fd)
        _unlink(tmp)


def check_target(directory, names, force: bool) -> None:
    """Refuses before any work: an unwritable folder, a folder that is a file, or existing
    names (files, folders, symlinks even dangling) without force."""
    directory = Path(directory)
    check_writable(directory)
    if force or not directory.is_dir():
        return
    existing = [n for n in names if os.path.lexists(directory / n)]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ExportError(f"{directory / existing[0]} already exists{more}; use --force to "
                          "overwrite")


def export_traces(model, traces, directory, formats, force: bool = False) -> list:
    """Writes each trace in each format to ``directory`` (created if missing). Renders every
    file first, then writes all of them or none (``write_files``); returns the paths."""
    planned = planned_files(directory, traces, formats)
    check_target(directory, [p.name for p, _, _ in planned], force)
    texts = [(path.name, FORMATS[f].write(t, model)) for path, t, f in planned]
    return write_files(directory, texts, force)
