"""Signals and time limits for one CLI run: Ctrl-C, SIGTERM and an expired ``--max-seconds``
all raise ``Interrupted`` in the main thread, which every engine already treats as "stop and
report what you have" (verdict incomplete, exit 3). ``Interrupted`` is a KeyboardInterrupt,
so a user protocol's own ``raise KeyboardInterrupt`` can be told apart from a real one
(model/loader.py reports the former as the protocol's error)."""

from __future__ import annotations

import contextlib
import signal
import threading

from dnsrace.model.loader import Interrupted

__all__ = ["Interrupted", "TimeLimitExpired", "handle_signals", "time_limit"]


class TimeLimitExpired(Interrupted):
    """``--max-seconds`` ran out while the engine could not look at the clock (for example
    inside a user protocol's step)."""


def _raise(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def handle_signals():
    """SIGINT and SIGTERM raise ``Interrupted`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# Engines check --max-seconds themselves between nodes, with their own message; the timer
# fires only when they cannot (a stuck step), after this much extra time.
GRACE = 0.5


@contextlib.contextmanager
def time_limit(max_seconds):
    """Raises ``TimeLimitExpired`` in the main thread once ``max_seconds`` (plus a grace)
    have passed inside the block; a no-op for None or off the main thread."""
    if max_seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        raise TimeLimitExpired(f"time limit {max_seconds:g} s reached")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max_seconds + GRACE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
