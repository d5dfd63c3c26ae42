"""An exact visited set whose older states live on disk (``--spill DIR``, ``--memory SIZE``).

The vector engine's search is level-synchronous: during a level the visited set is only read
(lookups of each chunk's distinct successors), and it grows once per level. ``DiskVisited``
keeps the newest states in RAM in generations (``_ExactVisited`` each: most lookups hit the
last few levels) and everything older in sorted *runs* on disk, like an LSM tree:

- a run is the 64-bit mixes of its keys, sorted, in one file (each with its id beside it,
  when ids are kept: one read brings both), with two small things in RAM: the mix at every
  ``BLOCK``-th position (fence keys) and a Bloom filter of ``BLOOM_BITS`` bits a state, so
  that a lookup reads a run only for the queries that may be in it (the ones there, and
  about 2.5% of the others);
- those queries' blocks are read with explicit ``preadv`` calls (blocks at most ``GAP``
  apart in one read), not through ``mmap``: mapped pages would count as the process's
  memory;
- at a level boundary, the oldest generation goes to disk as a new run when RAM holds too
  many states or when it is cold (it answered under 1% of the level's lookups), and runs are
  merged (streaming, block by block) while the last one is at most twice the new one's
  size: at most about log2(states / generation) runs.

Files live in the ``edges.Spill`` folder the engine made (private, removed at the end, also
on SIGTERM and Ctrl-C); a failed write or read raises ``SpillError`` (one line). A lookup
opens the run files itself (no shared file offsets): a background thread, and forked worker
processes, may look up while nothing is added. It does not pickle (its states are on disk).
Imports numpy and the engine's visited.py / edges.py only.
"""

from __future__ import annotations

import errno
import os

import numpy as np

from .edges import Spill, SpillError
from .visited import _ExactVisited, _mix

__all__ = ["DiskVisited", "RAM_ENTRIES", "BLOCK", "BLOOM_BITS"]

RAM_ENTRIES = 1 << 27   # states the RAM generations hold at most under --spill (~1.6 GB)
GENERATIONS = 8         # RAM generations of RAM_ENTRIES / 8 states each
COLD = 0.01             # a generation answering under 1% of a level's lookups goes to disk
BLOCK = 64              # states per fence (768 bytes of records): the unit a lookup reads
GAP = 4                 # blocks between two needed ones that a lookup reads through
FIND_BATCH = 8192       # queries per read of a run (its buffer: at most ~30 MB)
BLOOM_BITS = 10         # Bloom filter bits per state on disk (k = 3 in one word: ~2.5% pass)
MERGE_BLOCK = 1 << 20   # states per step of a streaming merge
_WHAT = "the visited states"
_ONE, _SIX = np.uint64(1), np.uint64(63)


def _bloom_word(h: np.ndarray, words: int) -> np.ndarray:
    """The filter word of each mix ``h``: from its top 32 bits, so nondecreasing in ``h``
    (a sorted run's words come out grouped, and sorted queries read the filter in order)."""
    return (((h >> np.uint64(32)) * np.uint64(words)) >> np.uint64(32)).astype(np.intp)


def _bloom_mask(h: np.ndarray) -> np.ndarray:
    """The 3 bits (of 64) each mix sets in its word: from its low 18 bits."""
    m = _ONE << (h & _SIX)
    m |= _ONE << ((h >> np.uint64(6)) & _SIX)
    m |= _ONE << ((h >> np.uint64(12)) & _SIX)
    return m


class _Run:
    """One sorted run on disk: a file of records (the mix, and its id when kept), fences and
    a Bloom filter in RAM. Written block by block (increasing mixes, ``n`` in all, known in
    advance)."""

    def __init__(self, spill: Spill, n: int, ids_dtype):
        self.spill = spill
        self.n, self.size = 0, int(n)
        self.file = None
        self.ids_dtype = None if ids_dtype is None else np.dtype(ids_dtype)
        self.rec = np.dtype(np.uint64) if ids_dtype is None else \
            np.dtype([("h", np.uint64), ("i", self.ids_dtype)])  # packed: 12 or 16 bytes
        self._fences: list = []
        self.fences = np.zeros(0, np.uint64)
        # a blocked Bloom filter: each state's 3 bits lie in one 64-bit word (one read)
        self.words = max(1, min(2**32 - 1, BLOOM_BITS * self.size // 64))
        self.bloom = np.zeros(self.words, dtype=np.uint64)

    # -- writing ---------------------------------------------------------------------------
    def append(self, h: np.ndarray, ids) -> None:
        if not len(h):
            return
        self._fences.append(h[(-self.n) % BLOCK::BLOCK].copy())  # every BLOCK-th position
        if self.ids_dtype is None:
            rec = h
        else:
            rec = np.empty(len(h), self.rec)
            rec["h"], rec["i"] = h, ids
        if self.file is None:
            self.file = self.spill.write([rec], _WHAT)
        else:
            self.spill.append(self.file, rec, _WHAT)
        del rec
        self.n += len(h)
        w = _bloom_word(h, self.words)  # nondecreasing: one group per word
        starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
        self.bloom[w[starts]] |= np.bitwise_or.reduceat(_bloom_mask(h), starts)

    def finish(self) -> "_Run":
        self.fences = np.concatenate(self._fences) if self._fences else self.fences
        self._fences = []
        return self

    @property
    def disk_bytes(self) -> int:
        return self.n * self.rec.itemsize

    def nbytes(self) -> int:
        return self.fences.nbytes + self.bloom.nbytes

    def remove(self) -> None:
        if self.file is not None:
            self.spill.remove(self.file, self.disk_bytes)
        self.file = None

    # -- reading ---------------------------------------------------------------------------
    def maybe(self, q: np.ndarray) -> np.ndarray:
        """Whether each mix ``q`` may be in the run (False: certainly not)."""
        mask = _bloom_mask(q)
        return (self.bloom[_bloom_word(q, self.words)] & mask) == mask

    def find(self, q: np.ndarray):
        """For sorted mixes ``q``: ``(hit, ids)`` (ids None without ids), ``FIND_BATCH``
        queries at a time (so a read's buffer stays small)."""
        if len(q) <= FIND_BATCH:
            return self._find(q)
        parts = [self._find(q[i:i + FIND_BATCH]) for i in range(0, len(q), FIND_BATCH)]
        return (np.concatenate([p[0] for p in parts]),
                None if self.ids_dtype is None else np.concatenate([p[1] for p in parts]))

    def _find(self, q: np.ndarray):
        """``find`` for one batch: reads the blocks the queries fall in, blocks at most
        ``GAP`` apart in one read."""
        hit = np.zeros(len(q), dtype=bool)
        ids = None if self.ids_dtype is None else np.full(len(q), -1, dtype=np.int64)
        blk = np.searchsorted(self.fences, q, side="right") - 1
        ub = np.unique(blk[blk >= 0])
        if not len(ub):
            return hit, ids  # every query is below the run's smallest mix
        # ranges of blocks, read in one call each: gaps of up to GAP blocks are read through
        cut = np.flatnonzero(np.r_[True, np.diff(ub) > GAP + 1])
        lo = ub[cut] * BLOCK
        hi = np.minimum((np.r_[ub[cut[1:] - 1], ub[-1]] + 1) * BLOCK, self.n)
        # the ranges are ascending and disjoint, so their concatenation is sorted too
        buf = _pread_ranges(self.spill, self.file, self.rec, lo, hi)
        hbuf = buf if ids is None else np.ascontiguousarray(buf["h"])
        pos = np.searchsorted(hbuf, q)
        np.minimum(pos, len(hbuf) - 1, out=pos)
        hit = hbuf[pos] == q
        if ids is not None:
            ids[hit] = buf["i"][pos[hit]]
        return hit, ids

    def blocks(self):
        """The run's ``(mixes, ids)`` in blocks of ``MERGE_BLOCK``, in order."""
        for lo in range(0, self.n, MERGE_BLOCK):
            r = np.array([lo]), np.array([min(self.n, lo + MERGE_BLOCK)])
            buf = _pread_ranges(self.spill, self.file, self.rec, *r)
            if self.ids_dtype is None:
                yield buf, None
            else:
                yield np.ascontiguousarray(buf["h"]), np.ascontiguousarray(buf["i"])


def _pread_ranges(spill, name, dtype, lo, hi) -> np.ndarray:
    """Elements ``[lo[j], hi[j])`` of file ``name`` (of ``dtype``), concatenated: explicit
    reads into one buffer (no shared file offset: safe from several threads)."""
    size = dtype.itemsize
    out = np.empty(int((hi - lo).sum()), dtype=dtype)
    view = memoryview(out).cast("B")
    at = 0
    try:
        fd = os.open(name, os.O_RDONLY)
        try:
            for a, b in zip(lo.tolist(), hi.tolist()):
                want = (b - a) * size
                if os.preadv(fd, [view[at:at + want]], a * size) != want:
                    raise OSError(errno.EIO, "the file is shorter than written")
                at += want
        finally:
            os.close(fd)
    except OSError as exc:
        raise SpillError(f"{spill.option} {spill.parent}: cannot read {_WHAT} back from "
                         f"{name}: {exc.strerror or exc}") from None
    return out


def _ram_blocks(h, ids):
    for lo in range(0, len(h), MERGE_BLOCK):
        yield h[lo:lo + MERGE_BLOCK], None if ids is None else ids[lo:lo + MERGE_BLOCK]


def _merged(a, b):
    """Two iterators of sorted ``(mixes, ids)`` blocks (no mix in both) as one such
    iterator: each step emits everything up to the smaller of the two blocks' last mixes,
    so one of the two blocks is used up."""
    side = [[None, None, iter(a), False], [None, None, iter(b), False]]  # h, ids, it, done
    while True:
        for s in side:
            while not s[3] and (s[0] is None or not len(s[0])):
                s[0], s[1] = next(s[2], (None, None))
                s[3] = s[0] is None
        live = [s for s in side if s[0] is not None and len(s[0])]
        if not live:
            return
        if len(live) == 1:
            s = live[0]
            yield s[0], s[1]
            s[0] = None
            continue
        (ha, ia, *_), (hb, ib, *_) = side
        limit = min(ha[-1], hb[-1])
        ka = int(np.searchsorted(ha, limit, side="right"))
        kb = int(np.searchsorted(hb, limit, side="right"))
        pos = np.searchsorted(ha[:ka], hb[:kb])
        h = np.insert(ha[:ka], pos, hb[:kb])
        i = None if ia is None else np.insert(ia[:ka].astype(np.int64), pos,
                                              ib[:kb].astype(np.int64))
        yield h, i
        side[0][0], side[1][0] = ha[ka:], hb[kb:]
        if ia is not None:
            side[0][1], side[1][1] = ia[ka:], ib[kb:]


class DiskVisited:
    """An exact visited set (the interface of ``_ExactVisited``: ``lookup``, ``add``,
    ``len``, ``nbytes``) keeping the newest states in RAM generations (``_ExactVisited``
    each, newest first, of ``ram_entries / GENERATIONS`` states) and the rest in sorted runs
    in ``spill``'s folder. At a level boundary (``settle``) the oldest generation goes to disk
    while RAM holds more than ``ram_entries`` states, or while it is *cold*: fewer than
    ``COLD`` of the last level's lookups found a state in it (lookups are local: BFS finds
    most known successors a few levels back). ``ram`` (an ``_ExactVisited``) goes to disk at
    the first ``settle``."""

    def __init__(self, spill: Spill, ids: bool = True, ram_entries: int | None = None,
                 ram: _ExactVisited | None = None):
        self.spill = spill
        self.with_ids = ids
        self.ram_entries = max(2, int(ram_entries or RAM_ENTRIES))
        self.gen_entries = max(1, self.ram_entries // GENERATIONS)
        self.gens = [_ExactVisited(ids=ids)]  # newest first
        self._force = 0  # generations to move out at the next boundary whatever their use
        if ram is not None and len(ram):
            self.gens.append(ram)
            self._force = 1
        self._hits = [0] * len(self.gens)  # per generation, lookups it answered this level
        self._queries = 0
        self.runs: list[_Run] = []

    def __getstate__(self):
        raise TypeError("a visited set spilled to disk does not pickle (its states are on "
                        "disk)")

    def __len__(self):
        return self.in_ram + self.on_disk

    @property
    def in_ram(self) -> int:
        """States stored in RAM."""
        return sum(len(g) for g in self.gens)

    @property
    def on_disk(self) -> int:
        """States stored on disk."""
        return sum(r.n for r in self.runs)

    @property
    def disk_bytes(self) -> int:
        return sum(r.disk_bytes for r in self.runs)

    def nbytes(self) -> int:
        """Bytes held in RAM."""
        return sum(g.nbytes() for g in self.gens) + sum(r.nbytes() for r in self.runs)

    def lookup(self, keys):
        """ids of ``keys`` (0 without ids) where stored, else -1, in any order."""
        out = self.gens[0].lookup(keys)
        miss = np.flatnonzero(out < 0)
        hits = [len(keys) - len(miss)]
        for g in self.gens[1:]:
            if not len(miss):
                break
            out[miss] = g.lookup(keys[miss])
            left = miss[out[miss] < 0]
            hits.append(len(miss) - len(left))
            miss = left
        self._queries += len(keys)  # (counts only: a forked worker's are simply lost)
        for i, h in enumerate(hits):
            self._hits[i] += h
        if not len(miss) or not self.runs:
            return out
        q = _mix(keys[miss], 0)
        order = np.argsort(q)
        q, miss = q[order], miss[order]
        for run in self.runs:
            may = np.flatnonzero(run.maybe(q))
            if not len(may):
                continue
            hit, ids = run.find(q[may])
            if hit.any():
                out[miss[may[hit]]] = 0 if ids is None else ids[hit]
                keep = np.ones(len(q), dtype=bool)
                keep[may[hit]] = False
                q, miss = q[keep], miss[keep]
                if not len(q):
                    break
        return out

    def add(self, keys, ids) -> None:
        """Stores ``keys`` (distinct, none stored yet) with their ``ids`` in the newest
        generation; the disk is written by ``settle`` (at the level boundary)."""
        self.gens[0].add(keys, ids)

    def settle(self) -> None:
        """At a level boundary: a full newest generation makes room for a new one, and old
        generations go to disk (merging runs) while RAM holds too many states or the oldest
        is cold. SpillError when the disk fails (the set stays usable)."""
        if len(self.gens[0]) >= self.gen_entries:
            self.gens.insert(0, _ExactVisited(ids=self.with_ids))
            self._hits.insert(0, 0)
        while len(self.gens) > 1 and len(self.gens[-1]) and (
                self._force > 0 or self.in_ram > self.ram_entries or
                (self._queries and self._hits[-1] < COLD * self._queries)):
            self._to_disk(self.gens[-1])
            self.gens.pop()
            self._hits.pop()
            self._force -= 1
        self._force = 0
        self._hits = [0] * len(self.gens)
        self._queries = 0

    def _to_disk(self, gen: _ExactVisited) -> None:
        stream = _ram_blocks(gen.h, gen.ids)
        n = len(gen)
        merged = []
        while self.runs and self.runs[-1].n <= 2 * n:
            r = self.runs.pop()
            merged.append(r)
            stream = _merged(r.blocks(), stream)
            n += r.n
        ids_dtype = None
        if self.with_ids:
            tops = [gen.ids.dtype] + [r.ids_dtype for r in merged]
            ids_dtype = np.int64 if any(np.dtype(t).itemsize > 4 for t in tops) else np.int32
        run = _Run(self.spill, n, ids_dtype)
        try:
            for h, i in stream:
                run.append(h, i)
        except BaseException:
            if run.file is not None:
                run.remove()
            self.runs.extend(reversed(merged))  # unchanged: the merged runs are still there
            raise
        for r in merged:
            r.remove()
        self.runs.append(run.finish())
