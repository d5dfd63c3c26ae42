"""Running dnsrace as a user would, in process and as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from dnsrace.checker.cli import main

SMALL = ["-n", "2", "-p", "3", "-e", "2"]


def run(capsys, *args):
    """(exit code, stdout, stderr) of ``dnsrace ARGS`` in this process."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *words) -> bool:
    """stderr is exactly one line and names every word."""
    lines = err.strip().splitlines()
    return len(lines) == 1 and "Traceback" not in err and all(w in lines[0] for w in words)


def spawn(*args, cwd=None, **kw):
    """``dnsrace ARGS`` as a child process (its own process group), pipes for output."""
    return subprocess.Popen([sys.executable, "-m", "dnsrace.checker.cli", *map(str, args)],
                            stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, cwd=cwd, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kw)


def no_verdict(out: str) -> bool:
    """stdout holds at most the header a command prints before its work: no verdict."""
    return not any(w in out for w in ("holds", "VIOLATED", "incomplete", "{"))
