"""Graph algorithms over explored state graphs (states are integer ids)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable

__all__ = ["backward_reachable"]


def backward_reachable(n: int, sources: array, targets: array, goals: Iterable[int]) -> bytearray:
    """Marks (1) every node among ``0..n-1`` with a path to some goal, over edges
    ``sources[j] -> targets[j]``. Linear time: a reverse CSR index, then a worklist."""
    count = [0] * (n + 1)
    for t in targets:
        count[t + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    start = count[:]
    preds = array("i", bytes(4 * len(sources)))
    for s, t in zip(sources, targets):
        preds[start[t]] = s
        start[t] += 1
    reached = bytearray(n)
    work = []
    for g in goals:
        if not reached[g]:
            reached[g] = 1
            work.append(g)
    while work:
        t = work.pop()
        for j in range(count[t], count[t + 1]):
            s = preds[j]
            if not reached[s]:
                reached[s] = 1
                work.append(s)
    return reached
