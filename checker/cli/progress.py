"""Progress on stderr for long runs, only when stderr is a terminal."""

from __future__ import annotations

import sys

__all__ = ["progress_reporter", "line_reporter"]


def progress_reporter(stream=None, after_seconds: float = 1.0):
    """A reporter for the engines, or None when ``stream`` is not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def report(stats, frontier):
        if stats.seconds < after_seconds:
            return
        stream.write(f"\r  {stats.explored_states:,} states  frontier {frontier:,}  "
                     f"depth {stats.depth}  {stats.rate:,.0f} states/s   ")
        stream.flush()

    def done():
        stream.write("\r" + " " * 78 + "\r")
        stream.flush()

    report.done = done
    return report


def line_reporter(stream=None, after_seconds: float = 1.0):
    """``report(text)`` rewriting one status line on stderr (for runs that count something
    other than states), or None when ``stream`` is not a terminal; ``report.done()`` clears it."""
    import time  # noqa: PLC0415

    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    start = time.monotonic()

    def report(text):
        if time.monotonic() - start >= after_seconds:
            stream.write(f"\r  {text}   ")
            stream.flush()

    def done():
        stream.write("\r" + " " * 78 + "\r")
        stream.flush()

    report.done = done
    return report
