"""Progress on stderr for long runs, only when stderr is a terminal.

Two reporters, one look (``\\r``-rewritten line, cleared by ``done()``, silent during the
first second):

- ``progress_reporter()``: for the engines' ``reporter(stats, frontier)`` callback. It shows
  the same counts the final statistics line shows: checked states, and explored states
  separately when a graph property explores a larger system.
- ``line_reporter()``: ``report(text)`` for a free-form status line (``drive``).
- ``task_progress(total, unit)``: for work made of countable items (runs, sizes,
  protocols, synthesis checks): ``update(done, label="")`` shows done/total, elapsed time and,
  when the total is known, an ETA. ``total=None`` shows a count and elapsed time only.

Both return None when the stream is not a terminal, so callers write
``if bar: bar.update(...)``; ``drive`` and other long commands use ``task_progress``.
"""

from __future__ import annotations

import sys
import time

__all__ = ["progress_reporter", "task_progress", "TaskProgress", "line_reporter",
           "duration_text"]

_LINE = 99  # columns a progress line may use


def duration_text(seconds: float) -> str:
    """``8 s``, ``2 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _write(stream, text: str) -> None:
    stream.write("\r" + text[:_LINE].ljust(_LINE))
    stream.flush()


def _clear(stream) -> None:
    stream.write("\r" + " " * _LINE + "\r")
    stream.flush()


def progress_reporter(stream=None, after_seconds: float = 1.0):
    """A reporter for the engines, or None when ``stream`` is not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    shown = [False]

    def report(stats, frontier):
        if stats.seconds < after_seconds:
            return
        shown[0] = True
        text = f"  {stats.states:,} states"
        if stats.explored_states != stats.states:
            text += f" ({stats.explored_states:,} with one more plan)"
        _write(stream, f"{text}  frontier {frontier:,}  depth {stats.depth}  "
                       f"{stats.rate:,.0f} explored/s  {duration_text(stats.seconds)}")

    def done():
        if shown[0]:
            _clear(stream)

    report.done = done
    return report


class TaskProgress:
    """``update(done, label)`` rewrites one line:
    ``runs [######..................] 3/10  cas  12 s, ETA 28 s``."""

    def __init__(self, stream, total, unit: str, after_seconds: float, width: int = 30):
        self.stream, self.total, self.unit = stream, total, unit
        self.after, self.width = after_seconds, width
        self.start = time.perf_counter()
        self.shown = False
        self.last = None

    def update(self, done: int, label: str = "") -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        if elapsed < self.after or (self.last is not None and now - self.last < 0.1):
            return  # quiet during the first second, then at most ten lines a second
        self.shown, self.last = True, now
        where = f"  {label}" if label else ""
        if self.total:
            filled = self.width * min(done, self.total) // self.total
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{self.total:,}"
            eta = ""
            if 0 < done < self.total:
                eta = f", ETA {duration_text(elapsed * (self.total - done) / done)}"
            text = f"  {self.unit} {bar}{where}  {duration_text(elapsed)}{eta}"
        else:
            text = f"  {self.unit} {done:,}{where}  {duration_text(elapsed)}"
        _write(self.stream, text)

    def done(self) -> None:
        if self.shown:
            _clear(self.stream)


def task_progress(total: int | None, unit: str, stream=None, after_seconds: float = 1.0):
    """A ``TaskProgress`` on ``stream`` (stderr), or None when it is not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    return TaskProgress(stream, total, unit, after_seconds)


def line_reporter(stream=None, after_seconds: float = 1.0):
    """``report(text)`` rewriting one status line on stderr (for runs that count something
    other than states), or None when ``stream`` is not a terminal; ``report.done()`` clears
    it. Same look as the reporters above."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    start = time.monotonic()
    shown = [False]

    def report(text):
        if time.monotonic() - start >= after_seconds:
            shown[0] = True
            _write(stream, f"  {text}")

    def done():
        if shown[0]:
            _clear(stream)

    report.done = done
    return report
