"""The ``dnsrace`` command line. Commands parse, call the library, render; exit codes are
decided here: 0 holds, 1 violated, 2 bad input, 3 incomplete, 4 internal error."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import traceback

import click

from dnsrace.model import ProtocolLoadError, ProtocolStepError

from .errors import EXIT_INCOMPLETE, EXIT_INTERNAL, EXIT_USAGE, InputError
from .signals import handle_signals

__all__ = ["cli", "main", "run"]

# Each command's module loads only when that command runs: `check` need not pay for z3
# (delays) or networkx (dot export) at start-up.
COMMANDS = {
    "check": "check:check",
    "delays": "delays:delays",
    "compare": "compare:compare",
    "replay": "replay:replay",
    "show": "replay:show",
    "gallery": "gallery:gallery",
    "simulate": "simulate:simulate",
    "drive": "drive:drive",
    "prove": "prove:prove_command",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dnsrace")
def cli():
    """dnsrace: model-check the DynamoDB DNS Planner/Enactor race of October 2025."""


class OutputError(Exception):
    """Standard output cannot be written (a full disk, an I/O error): one line, exit 2."""


class _GuardedStdout:
    """Standard output as commands see it. A reader that went away (``| head -1``) is not the
    command's failure: later output is dropped and the exit code stays the verdict's. Any
    other write error becomes OutputError (one line, exit 2) instead of a traceback."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False

    def _guard(self, op, *args):
        if self.broken:
            return None
        try:
            return op(*args)
        except OSError as exc:
            if exc.errno == errno.EPIPE or isinstance(exc, BrokenPipeError):
                self.broken = True
                return None
            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") \
                from None

    def write(self, text):
        out = self._guard(self._stream.write, text)
        return len(text) if out is None else out

    def flush(self):
        self._guard(self._stream.flush)

    def __getattr__(self, name):  # encoding, errors, isatty, fileno, ...
        return getattr(self._stream, name)


def _silence_stdout() -> None:
    """After a broken pipe, points file descriptor 1 at /dev/null so that the interpreter's
    last flush at exit cannot print 'Exception ignored ... BrokenPipeError'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv=None) -> int:
    """Runs the CLI and returns its exit code; errors are one line on stderr."""
    real_stdout = sys.stdout
    guarded = _GuardedStdout(real_stdout)
    sys.stdout = guarded
    try:
        with handle_signals():
            code = _main(argv)
        if code != EXIT_INTERNAL:
            try:
                guarded.flush()
            except OutputError as exc:
                click.echo(f"dnsrace: error: {exc}", err=True)
                code = EXIT_USAGE
    finally:
        sys.stdout = real_stdout
    if guarded.broken and real_stdout is sys.__stdout__:
        _silence_stdout()
    return code


def _main(argv) -> int:
    try:
        code = cli.main(args=argv, prog_name="dnsrace", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except OutputError as exc:
        click.echo(f"dnsrace: error: {exc}", err=True)
        return EXIT_USAGE
    except InputError as exc:
        click.echo(f"dnsrace: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except (ProtocolStepError, ProtocolLoadError) as exc:  # a user protocol's bug, not dnsrace's
        click.echo(f"dnsrace: error: {exc}", err=True)  # (see model/loader.py)
        return EXIT_USAGE
    except click.UsageError as exc:  # click's own parsing errors, as one line
        where = exc.ctx.command_path if exc.ctx else "dnsrace"
        click.echo(f"{where}: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"dnsrace: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        cause = exc.__cause__ or exc.__context__ or exc  # click wraps Ctrl-C in Abort
        if str(cause).startswith("time limit"):
            click.echo(f"dnsrace: {cause}; nothing more was checked (verdict incomplete)",
                       err=True)
        else:
            click.echo("dnsrace: interrupted", err=True)
        return EXIT_INCOMPLETE
    except SystemExit as exc:  # only code dnsrace does not own calls sys.exit: never a verdict
        click.echo(f"dnsrace: internal error: something called sys.exit({exc.code!r}) during "
                   "the run; no verdict was reached", err=True)
        return EXIT_INTERNAL
    except Exception:  # noqa: BLE001 - a crash must never look like "violated"
        traceback.print_exc()
        click.echo("dnsrace: internal error (the traceback above is a bug; please report it)",
                   err=True)
        return EXIT_INTERNAL
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
