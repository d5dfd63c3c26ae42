"""The ``dnsrace`` command line. Commands parse, call the library, render; exit codes are
decided here: 0 holds, 1 violated, 2 bad input, 3 incomplete, 4 internal error."""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from dnsrace.model import ProtocolStepError

from .errors import EXIT_INCOMPLETE, EXIT_INTERNAL, EXIT_USAGE, InputError

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


def main(argv=None) -> int:
    """Runs the CLI and returns its exit code; errors are one line on stderr."""
    try:
        code = cli.main(args=argv, prog_name="dnsrace", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except InputError as exc:
        click.echo(f"dnsrace: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except ProtocolStepError as exc:  # a user protocol's bug, not dnsrace's (see model/loader.py)
        click.echo(f"dnsrace: error: {exc}", err=True)
        return EXIT_USAGE
    except click.UsageError as exc:  # click's own parsing errors, as one line
        where = exc.ctx.command_path if exc.ctx else "dnsrace"
        click.echo(f"{where}: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"dnsrace: error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("dnsrace: interrupted", err=True)
        return EXIT_INCOMPLETE
    except Exception:  # noqa: BLE001 - a crash must never look like "violated"
        traceback.print_exc()
        click.echo("dnsrace: internal error (the traceback above is a bug; please report it)",
                   err=True)
        return EXIT_INTERNAL
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
