"""The key layout's limits, the errors a derived model raises, and small helpers shared by
its parts."""

from __future__ import annotations

from .sentinels import LocalView, Sentinel


KEY_BITS = 63  # keys are non-negative int64
MAX_ACTIONS = 1 << 15  # action ids are int16


class NotPackable(ValueError):
    """The model has no vector form (for example: keys would need more than 63 bits)."""


class KeyOverflow(Exception):
    """An intern table outgrew its field of the key: rebuild with ``widened()``. Engines see
    only ``widen = True`` (restart the search on ``vm.widened()``)."""

    widen = True


class TooManyActions(NotPackable):
    """More distinct actions than action ids (int16). Engines see ``unsupported = True``
    (fall back to the object engine)."""

    unsupported = True


class ProcessLocalMiss(RuntimeError):
    """A copy of the model in another process met a value it has no id for: the owner should
    have called ``prepare`` before shipping the work."""


def _bits(n: int) -> int:
    """Bits needed to store 0..n."""
    return max(1, int(n).bit_length())


_new_state = tuple.__new__  # a State from a tuple, without NamedTuple's Python-level __new__

_STANDINS = (Sentinel, LocalView)  # what a memoised step is given for other enactors
