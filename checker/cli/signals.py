"""Signals and time limits for one CLI run: Ctrl-C, SIGTERM and an expired ``--max-seconds``
all raise ``Interrupted`` in the main thread, which every engine already treats as "stop and
report what you have" (verdict incomplete, exit 3). ``Interrupted`` is a KeyboardInterrupt,
so a user protocol's own ``raise KeyboardInterrupt`` can be told apart from a real one
(model/loader.py reports the former as the protocol's error)."""

from __future__ import annotations

import contextlib
import signal
import threading

from dnsrace.model.loader import Interrupted, in_user_code

from ..explore.limits import Deferral

__all__ = ["Interrupted", "TimeLimitExpired", "handle_signals", "time_limit"]


class TimeLimitExpired(Interrupted):
    """``--max-seconds`` ran out while the engine could not look at the clock (for example
    inside a user protocol's step). Engines report ``stop_reason`` as why they stopped."""

    @property
    def stop_reason(self) -> str:
        return str(self)


def _interrupt(exc) -> None:
    if Deferral.active:  # inside a worker-pool wait: raised when the wait ends
        Deferral.pending = Deferral.pending or exc
        return
    if Deferral.soft and Deferral.pending is None:  # raised at the next level boundary
        Deferral.pending = exc
        return
    raise exc


def _raise(signum, _frame):
    _interrupt(Interrupted(signal.Signals(signum).name))


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
        Deferral.pending = None


# Engines check --max-seconds themselves between nodes and stop with their own message; the
# timer is for what they cannot see: a user protocol's step that never returns. Past the
# limit (plus a grace) it fires every TICK seconds and interrupts only user code, so
# dnsrace's own work after the limit (building counterexamples, printing) is never cut.
GRACE = 0.5
TICK = 0.25


@contextlib.contextmanager
def time_limit(max_seconds):
    """Raises ``TimeLimitExpired`` inside a user protocol's code still running once
    ``max_seconds`` (plus a grace) have passed in the block; a no-op for None or off the main
    thread. The engine catches it like Ctrl-C: verdict incomplete, exit 3."""
    if max_seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        if in_user_code():
            _interrupt(TimeLimitExpired(f"time limit {max_seconds:g} s reached"))

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max_seconds + GRACE, TICK)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
