"""The breadth-first tree of the vector engine, stored per level in about 2 bytes a state.

A level's states are numbered in discovery order and each was first discovered by a state of
the level before, in nondecreasing order of that parent. So instead of each state's parent
id (4 bytes) a level keeps, for each state of the level before, how many states it
discovered first (1 byte, rarely more), and each state's action from its parent (1 byte
when the model has fewer than 256 actions). Plain numpy data: it pickles. With a spill folder
(``spill_to``: ``--spill``, or a ``--memory`` budget once the visited set moves to disk) the
arrays of every level but the newest go to disk: only traces read them again, at the end.
Imports numpy (and, for that folder, nothing but its ``write``/``read``/``remove``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Levels", "narrowest"]


def narrowest(a: np.ndarray, signed: bool = False) -> np.ndarray:
    """``a`` in the narrowest integer type holding its values (``a`` itself when it has it
    already)."""
    lo, hi = (int(a.min()), int(a.max())) if len(a) else (0, 0)
    for t in ((np.int8, np.int16, np.int32) if signed or lo < 0 else
              (np.uint8, np.uint16, np.uint32)):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t, copy=False)
    return a.astype(np.int64, copy=False)


class Levels:
    """State ids ``0..n-1`` by level, with each state's parent and action."""

    def __init__(self):
        self.bases = [0]   # id of each level's first state, then the total
        self.counts = []   # per level, first discoveries per state of the level before
        self.aids = []     # per level, each state's action from its parent
        self.spill = None  # a folder (edges.Spill) holding older levels' arrays
        self.spill_counts = False
        self.disk_bytes = 0

    def __getstate__(self):
        if self.spill is not None:
            raise TypeError("a tree spilled to disk does not pickle (its levels are on disk)")
        return self.__dict__

    def spill_to(self, spill, counts: bool = True) -> None:
        """From now on every level's actions (and, with ``counts``, its discovery counts)
        live in ``spill``'s folder once a newer level is added; the older ones move now."""
        if self.spill is None:
            self.spill, self.spill_counts = spill, counts
            for lvl in range(len(self.counts) - 1):
                self._to_disk(lvl)

    def _to_disk(self, lvl: int) -> None:
        lists = (self.aids, self.counts) if self.spill_counts else (self.aids,)
        for arrays in lists:
            a = arrays[lvl]
            if isinstance(a, np.ndarray) and a.nbytes >= 64:
                arrays[lvl] = (self.spill.write([a], "the search tree"), a.dtype, len(a))
                self.disk_bytes += a.nbytes

    def _get(self, arrays, lvl: int) -> np.ndarray:
        a = arrays[lvl]
        if isinstance(a, np.ndarray):
            return a
        name, dtype, n = a
        (out,) = self.spill.read(name, [(dtype, 0, n)], "the search tree")
        return out

    def __len__(self):
        return len(self.counts)

    @property
    def total(self) -> int:
        return self.bases[-1]

    def add(self, parents: np.ndarray, aids: np.ndarray) -> None:
        """Appends a level whose states have these parent ids (nondecreasing, ids of the
        last level's states; -1 for the initial level) and actions."""
        if self.counts:
            prev, n_prev = self.bases[-2], self.bases[-1] - self.bases[-2]
            rel = np.asarray(parents, dtype=np.int64) - prev
            if len(rel) and (rel[0] < 0 or rel[-1] >= n_prev or (np.diff(rel) < 0).any()):
                raise ValueError("parents must be nondecreasing ids of the last level")
            counts = narrowest(np.bincount(rel, minlength=n_prev))
        else:
            counts = np.zeros(0, np.uint8)
        self.counts.append(counts)
        self.aids.append(narrowest(np.asarray(aids), signed=True))
        self.bases.append(self.bases[-1] + len(aids))
        if self.spill is not None and len(self.counts) > 1:
            self._to_disk(len(self.counts) - 2)

    def level_of(self, j: int) -> int:
        if not 0 <= j < self.total:
            raise IndexError(j)
        return int(np.searchsorted(self.bases, j, side="right")) - 1

    def parent(self, j: int) -> int:
        """The parent id of state ``j``, -1 for an initial state."""
        lvl = self.level_of(j)
        if lvl == 0:
            return -1
        ends = np.cumsum(self._get(self.counts, lvl), dtype=np.int64)
        return self.bases[lvl - 1] + int(np.searchsorted(ends, j - self.bases[lvl],
                                                         side="right"))

    def aid(self, j: int) -> int:
        """The action that first discovered state ``j`` from its parent."""
        lvl = self.level_of(j)
        return int(self._get(self.aids, lvl)[j - self.bases[lvl]])

    def nbytes(self) -> int:
        """Bytes held in RAM."""
        return sum(x.nbytes for x in self.counts + self.aids if isinstance(x, np.ndarray))
