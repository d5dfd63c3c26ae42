"""Calls run in a thread pool with a bounded number in flight, their results taken in order:
the lookup thread's pipeline (``vector.overlapped_lookups``) and the fixpoint's two threads
(``edges.unreached``). Imports the standard library only."""

from __future__ import annotations

from collections import deque

__all__ = ["in_order"]


def in_order(pool, depth: int, calls, pending=None):
    """The results of ``fn(*args)`` for each ``(fn, *args)`` of ``calls``, submitted to
    ``pool`` as ``calls`` yields them, at most ``depth`` waiting, and yielded in order: the
    oldest as soon as it is done, or once ``depth`` wait. ``pending`` (an empty deque, if
    given) holds the futures not yet yielded, for ``calls`` to see how far the pool is
    behind."""
    pending = deque() if pending is None else pending
    for fn, *args in calls:
        pending.append(pool.submit(fn, *args))
        if len(pending) >= depth or pending[0].done():
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
