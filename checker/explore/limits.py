"""The limits that end a run early (``--max-states``, ``--max-seconds``, ``--max-depth``),
checked the same way by every engine."""

from __future__ import annotations

import time

__all__ = ["limit_reason", "depth_reason", "interrupt_reason", "Deferral"]


def limit_reason(max_count, count: int, unit: str, max_seconds, started: float,
                 read_clock: bool) -> str:
    """Why the run must stop now ("state limit 100 reached"), or "" to go on.
    ``read_clock`` lets hot loops look at the clock only every so many nodes."""
    if max_count is not None and count >= max_count:
        return f"{unit} limit {max_count} reached"
    if max_seconds is not None and read_clock and time.perf_counter() - started > max_seconds:
        return f"time limit {max_seconds:g} s reached"
    return ""


def interrupt_reason(exc: BaseException) -> str:
    """The stop reason of a run cut short by ``exc`` (Ctrl-C, SIGTERM, or a time limit that
    had to interrupt code the engine cannot watch, which names itself in ``stop_reason``)."""
    return getattr(exc, "stop_reason", None) or "interrupted"


def depth_reason(max_depth, depth: int) -> str:
    """Why a breadth-first run must not expand the level at ``depth``, or "" to go on."""
    if max_depth is not None and depth >= max_depth:
        return f"depth limit {max_depth} reached"
    return ""


class Deferral:
    """Where a signal handler that would raise (Ctrl-C, SIGTERM, a time limit) must not: while
    the main thread waits on a lock it shares with helper threads (a worker pool's results),
    an exception raised mid-wait can leave that lock held and deadlock the pool's shutdown.
    Handlers that honour ``active`` record the interruption in ``pending`` instead; the
    waiting code raises it once the wait is over (``raise_pending``)."""

    active = 0
    pending = None  # the exception to raise, or None
    # While ``soft`` > 0 (the vector engine committing a level it will checkpoint), the first
    # interruption waits for the level boundary; a second one is raised at once.
    soft = 0

    @classmethod
    def raise_pending(cls) -> None:
        exc, cls.pending = cls.pending, None
        if exc is not None:
            raise exc
