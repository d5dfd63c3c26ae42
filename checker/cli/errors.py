"""Exit codes and the one error type commands raise for bad input."""

from __future__ import annotations

import click

__all__ = ["EXIT_HOLDS", "EXIT_VIOLATED", "EXIT_USAGE", "EXIT_INCOMPLETE", "EXIT_INTERNAL",
           "InputError", "exit_code_for"]

EXIT_HOLDS, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERNAL = 0, 1, 2, 3, 4


class InputError(click.ClickException):
    """Bad input from the user: printed as one line, exit code 2 (click's own is 1, which
    dnsrace reserves for "property violated")."""

    exit_code = EXIT_USAGE


def exit_code_for(verdict: str) -> int:
    return {"holds": EXIT_HOLDS, "violated": EXIT_VIOLATED}.get(verdict, EXIT_INCOMPLETE)
