"""What the vector engine keeps to decide graph properties (``recoverable``), and the backward
fixpoint that decides them. Nothing here knows about DNS; imports numpy (and levels.py).

A graph property asks, for every in-scope state, whether some path leads to a goal. The
search hands ``GraphStore`` each level of states (which are in scope, which are goals, one
bit each) and each expanded level's edges (each source's out-degree, then its targets' ids
grouped by source, self-loops left out). Two things keep the edges small:

- a source already known to reach a goal when its level is stored (it is one, or a target
  is, or a target stored earlier was settled) is *settled*: it keeps no edges, since the
  fixpoint can only confirm it;
- an edge to a state the source discovered first (a breadth-first tree edge) is implied by
  the tree's per-source child counts (``levels.Levels`` keeps them anyway) and not stored;
- during the search, once goals have been stored and the edges in RAM have grown,
  ``GraphStore.compact`` settles every stored source with a path (along the edges stored so
  far) to a settled state and drops its edges: where most states reach a goal, few edges
  stay (cas N6 P8 K2: 522 MB of edges at the end before, 28 MB after);
- with a ``Spill`` the edges go to files in a private folder (plain writes and reads, not
  mmap: resident mapped pages would count as the process's memory), read back level by
  level in bounded chunks.

``unreached`` is the fixpoint: deepest level first, then only the levels whose targets
changed since they were last computed, each time over the sources not yet settled (their
*residual* edges), until nothing changes. Everything in RAM is plain numpy data: a store
without a spill folder pickles (checkpoints, ``checker.explore.checkpoint``).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import visited
from .inorder import in_order
from .levels import narrowest

__all__ = ["GraphStore", "Spill", "SpillError", "MemoryBudget", "parse_size", "unreached",
           "unreached_count", "CHUNK_EDGES"]

FIXPOINT_THREADS = 2      # the fixpoint's first pass: chunks of a level at once
FIXPOINT_MIN_EDGES = 1 << 15  # smallest chunk it splits a level into
COMPACT_MIN_BYTES = 32 << 20  # edges in RAM before the search compacts them
COMPACT_GROWTH = 1.25  # ... and their growth since the last compaction
CHUNK_EDGES = 1 << 20  # edges per chunk of the fixpoint (its temporaries: ~10 bytes each)
_SPILL_PREFIX = "dnsrace-edges-"


class SpillError(OSError):
    """A spill folder that cannot be made, written or read; the message is one line."""


def _bits(mask: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(mask, dtype=bool), bitorder="little")


def _unbits(packed: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(packed, count=n, bitorder="little").view(bool)


def _segment_count(flags: np.ndarray, deg: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per source (``deg`` edges each, ending at ``ends``), how many of its edges' flags are
    set (a running count of the flags, read at each source's two ends)."""
    count = np.empty(len(flags) + 1, dtype=np.int32 if len(flags) < 2**31 else np.int64)
    count[0] = 0
    np.cumsum(flags, dtype=count.dtype, out=count[1:])
    return count[ends] - count[ends - deg]


def _segment_any(flags: np.ndarray, deg: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per source, whether any of its edges' flags is set; False for a source without edges.
    (``_segment_count``: 3x faster than ``logical_or.reduceat`` over segments this short.)"""
    return _segment_count(flags, deg, ends) > 0


def _reaching(reached, deg, ends, dst, children=None) -> np.ndarray:
    """Per source (``deg`` stored edges each, ending at ``ends``, targets ``dst``), whether
    one of its edges, or one of its ``children`` (``(first child id, child counts, their
    running ends)``, the children being consecutive ids), leads to a ``reached`` state.
    One compiled loop where ``_kernels.c`` was built (it stops at a source's first hit and
    makes no array an edge long); ``_reaching_numpy`` is the reference."""
    kernels = visited._kernels
    if kernels is None or reached.dtype != bool:
        return _reaching_numpy(reached, deg, ends, dst, children)
    reached = np.ascontiguousarray(reached)
    hit = np.empty(len(deg), dtype=bool)
    kernels.segment_any(reached, np.ascontiguousarray(dst, dtype=np.int32), 0,
                        np.ascontiguousarray(ends, dtype=np.int64), np.ascontiguousarray(deg),
                        hit, False)
    if children is not None:
        k0, kids, kid_ends = children
        kernels.segment_any(reached, None, int(k0),
                            np.ascontiguousarray(kid_ends, dtype=np.int64),
                            np.ascontiguousarray(kids), hit, True)
    return hit


def _reaching_numpy(reached, deg, ends, dst, children=None) -> np.ndarray:
    """``_reaching`` in numpy."""
    hit = _segment_any(reached[dst], deg, ends)
    if children is not None:
        k0, kids, kid_ends = children
        hit |= _segment_any(reached[k0:k0 + int(kid_ends[-1])], kids, kid_ends)
    return hit


# -- the spill folder ----------------------------------------------------------------------

class Spill:
    """A private folder, created exclusively inside ``parent``, holding the edges as files.
    ``close()`` removes it with everything in it (the engine calls it in a ``finally``)."""

    def __init__(self, parent, option: str = "--spill"):
        self.option = option
        self.parent = str(parent)
        self.path = None
        self.written = 0   # bytes in the folder now
        self.peak = 0      # most bytes it held at once
        self._owner = os.getpid()
        check_spill_parent(self.parent, option)
        try:
            self.path = tempfile.mkdtemp(prefix=_SPILL_PREFIX, dir=self.parent)  # mode 0700
        except OSError as exc:
            raise SpillError(f"{option} {self.parent}: cannot create a folder there: "
                             f"{exc.strerror or exc}") from None
        self._n = 0

    def __getstate__(self):
        raise TypeError("a spilled edge store does not pickle (its edges are on disk)")

    def write(self, arrays, what: str = "the graph's edges") -> str:
        """Writes the arrays' bytes (any iterable of arrays, consumed as it is written), in
        order, to a new file of the folder; returns its name. ``what`` names the data in
        an error's message."""
        self._n += 1
        name = os.path.join(self.path, f"{self._n:07d}.bin")
        self._put(name, "xb", arrays, what)
        return name

    def append(self, name, array, what: str = "the graph's edges") -> None:
        """Appends an array's bytes to file ``name`` of the folder."""
        self._put(name, "ab", [array], what)

    def _put(self, name, mode, arrays, what) -> None:
        size = 0
        try:
            with open(name, mode) as f:
                for a in arrays:
                    f.write(memoryview(np.ascontiguousarray(a)).cast("B"))
                    size += a.nbytes
        except OSError as exc:
            if mode == "xb":
                _unlink(name)
            why = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) \
                else (exc.strerror or str(exc))
            raise SpillError(f"{self.option} {self.parent}: cannot write {what}: {why}") from None
        self.written += size
        self.peak = max(self.peak, self.written)

    def read(self, name, parts, what: str = "the graph's edges"):
        """The arrays ``parts`` (``(dtype, offset in bytes, count)`` each) of file ``name``."""
        out = []
        try:
            with open(name, "rb") as f:
                for dtype, offset, count in parts:
                    f.seek(offset)
                    a = np.fromfile(f, dtype=dtype, count=count)
                    if len(a) != count:
                        raise OSError(errno.EIO, "the file is shorter than written")
                    out.append(a)
        except OSError as exc:
            raise SpillError(f"{self.option} {self.parent}: cannot read {what} back from "
                             f"{name}: {exc.strerror or exc}") from None
        return out

    def remove(self, name, size: int) -> None:
        _unlink(name)
        self.written -= size

    def close(self) -> None:
        """Removes the folder and its files (only in the process that made it)."""
        if self.path is not None and os.getpid() == self._owner:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


def _counted(arrays, sizes):
    """``arrays``, recording each one's length in ``sizes``."""
    for a in arrays:
        sizes.append(len(a))
        yield a


def check_spill_parent(parent, option: str = "--spill") -> None:
    """SpillError (one line naming ``option``) unless ``parent`` is a folder this process can
    create files in."""
    parent = str(parent)
    if not parent.strip():
        raise SpillError(f"{option}: the folder name is empty")
    if not os.path.exists(parent):
        raise SpillError(f"{option} {parent}: no such folder")
    if not os.path.isdir(parent):
        raise SpillError(f"{option} {parent}: not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpillError(f"{option} {parent}: cannot create files there: permission denied")


def _unlink(name) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


# -- memory budget ---------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt])(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in ``4G``, ``500M``, ``1.5g``, ``64MiB`` (powers of 1024); ValueError otherwise."""
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a size (a number and a unit: e.g. 4G, 500M, 1.5G)")
    size = int(float(m.group(1)) * 1024 ** ("kmgt".index(m.group(2).lower()) + 1))
    if size <= 0:
        raise ValueError(f"{text!r} is not a positive size (e.g. 4G, 500M)")
    return size


class MemoryBudget:
    """``--memory SIZE``: the stored search (visited set, tree, masks) may take 5/8 of it,
    the rest being headroom for a level's temporaries (about 40% of the peak at
    ``original`` N=5 P=8 and at ``cas`` N=6 P=8). The cheaper spill comes first: the edges
    are written once and read once (by the fixpoint), the visited set is read at every
    lookup. At each level boundary, in this order:

    - the visited set moves to disk (``diskvisited.DiskVisited``) once it takes more than
      half the budget, or the stored search more than 5/8 of it (the run would stop);
      from then on its RAM generations hold at most an eighth of it (at 12 bytes a state)
      and the rest lives in sorted runs on disk;
    - the edges stay in RAM while the stored search with them takes at most 3/8 of it, then
      move to disk;
    - once the stored search alone is past its 5/8, the run stops (incomplete).

    Both spill to one private folder under ``spill_parent`` or the system's temporary
    folder, made when first needed and removed by ``close()`` (the engine calls it at the
    end of every search)."""

    def __init__(self, total: int, text: str | None = None, spill_parent=None):
        self.total, self.text = int(total), text or f"{total} bytes"
        self.spill_parent = spill_parent
        self._folder = None

    @property
    def share(self) -> int:
        return self.total * 5 // 8

    @property
    def edge_limit(self) -> int:
        return self.total * 3 // 8

    @property
    def visited_limit(self) -> int:
        return self.total // 2

    @property
    def visited_entries(self) -> int:
        """States the visited set keeps in RAM once on disk (an eighth of the budget)."""
        return max(2, self.total // 8 // 12)

    def visited_spills(self, visited_bytes: int, rest_bytes: int = 0) -> bool:
        """Whether a visited set of ``visited_bytes`` in RAM goes to disk now: past its half
        of the budget, or when the stored search (``rest_bytes``) would stop the run."""
        return visited_bytes > self.visited_limit or rest_bytes > self.share

    def folder(self) -> Spill:
        """The spill folder of this search (made on first use)."""
        if self._folder is None or self._folder.path is None:
            parent = self.spill_parent or tempfile.gettempdir()
            self._folder = Spill(parent, "--spill" if self.spill_parent else "--memory")
        return self._folder

    def close(self) -> None:
        """Removes the spill folder, if one was made; a next search makes its own."""
        if self._folder is not None:
            self._folder.close()
            self._folder = None

    def __getstate__(self):  # a budget travels (checkpoints of the options) without its folder
        state = dict(self.__dict__)
        state["_folder"] = None
        return state

    def spill_for(self, store, rest_bytes: int) -> "Spill | None":
        """The spill folder when ``store``'s edges in RAM and ``rest_bytes`` (the rest of the
        stored search) together exceed 3/8 of the budget, else None."""
        if store is None or store.spill is not None or not store.ram_edge_bytes or \
                rest_bytes + store.ram_edge_bytes <= self.edge_limit:
            return None
        return self.folder()

    def stop_reason(self, rest_bytes: int) -> str:
        """Why the run stops (the stored search outgrew the share), or ''."""
        if rest_bytes <= self.share:
            return ""
        return (f"memory budget {self.text} reached (the stored search holds "
                f"{rest_bytes / 2**20:,.1f} MB, more than 5/8 of the budget)")


# -- the store -------------------------------------------------------------------------------

class _Edges:
    """One expanded level's edges: in RAM (``deg``, ``dst``) or in a spill file. In RAM, a
    level whose sources mostly keep no edges (after ``GraphStore.compact``) holds only its
    sources with edges and their degrees (``deg`` builds the full array when read)."""

    __slots__ = ("n_src", "n_edges", "_deg", "_nz", "dst", "deg_dtype", "file", "lo", "hi")

    def __init__(self, deg, dst, lo, hi):
        self.n_src, self.n_edges = len(deg), len(dst)
        self.deg_dtype = deg.dtype
        self.deg, self.dst = deg, dst
        self.file = None
        self.lo, self.hi = lo, hi  # the levels its targets lie in

    @property
    def deg(self):
        """Each source's number of stored edges (None once on disk)."""
        if self._nz is None:
            return self._deg
        full = np.zeros(self.n_src, dtype=self.deg_dtype)
        full[self._nz] = self._deg
        return full

    @deg.setter
    def deg(self, deg):
        self._nz = None
        if deg is not None:
            nz = np.flatnonzero(deg)
            if len(nz) * (4 + deg.itemsize) * 2 < deg.nbytes:
                self._nz, deg = nz.astype(np.int32), deg[nz]
        self._deg = deg

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)

    @property
    def ram_bytes(self) -> int:
        return 0 if self.file is not None else self._deg.nbytes + self.dst.nbytes + (
            0 if self._nz is None else self._nz.nbytes)

    @property
    def disk_bytes(self) -> int:
        return 0 if self.file is None else self.n_src * self.deg_dtype.itemsize + \
            self.n_edges * 4

    def to_disk(self, spill: Spill) -> None:
        """Moves the edges to a spill file: targets, then degrees."""
        if self.file is None:
            self.file = spill.write((self.dst, self.deg))
            self.deg = self.dst = None

    def chunks(self, spill, max_edges: int | None = None):
        """``(first source, deg, ends, dst)`` per chunk of at most about ``max_edges`` stored
        edges (default ``CHUNK_EDGES``; one source's edges are never split), ``ends``
        relative to the chunk."""
        max_edges = max_edges or CHUNK_EDGES
        if self.file is None:
            deg = self.deg
        else:
            (deg,) = spill.read(self.file, [(self.deg_dtype, 4 * self.n_edges, self.n_src)])
        ends = np.cumsum(deg, dtype=_offsets(self.n_edges))
        cuts = np.searchsorted(ends, np.arange(max_edges, self.n_edges, max_edges),
                               side="left") + 1
        cuts = np.unique(np.concatenate(([0], cuts[cuts < self.n_src], [self.n_src])))
        for a, b in zip(cuts[:-1], cuts[1:]):
            e0 = int(ends[a - 1]) if a else 0
            e1 = int(ends[b - 1]) if b else 0
            if self.file is None:
                dst = self.dst[e0:e1]
            else:
                (dst,) = spill.read(self.file, [(np.int32, 4 * e0, e1 - e0)])
            yield int(a), deg[a:b], (ends[a:b] - e0).astype(np.int64), dst

    def release(self, spill) -> None:
        if self.file is not None:
            spill.remove(self.file, self.disk_bytes)
            self.file = None
        self.deg = self.dst = None


class GraphStore:
    """Per level of states: in-scope and goal bits (one per state and property); per
    expanded level: its edges (``_Edges``); per property, the *settled* bits (states known to
    reach a goal: the goals, and sources settled when their level was stored)."""

    def __init__(self, names, spill: Spill | None = None):
        self.names = list(names)
        self.bases = [0]       # id of each state level's first state, then the total
        self.scope = []        # per state level: packed in-scope bits (None: all in scope)
        self.settled = {n: np.zeros(0, np.uint8) for n in self.names}  # packed, all states
        self.edges: list = []  # per expanded level
        # per level but the last: how many states of the next level each state discovered
        # first (the breadth-first tree's, shared with ``levels.Levels``); an edge from a
        # state to a child it discovered first is implied by it and not stored
        self.children: list = []
        self.spill = spill
        self.settled_sources = 0  # sources whose edges were not kept (settled when stored)
        self.compacted_bytes = 0  # edges in RAM after the last ``compact``
        self.new_goals = 0        # goals stored since then

    @property
    def n_states(self) -> int:
        return self.bases[-1]

    # -- building (the search) -------------------------------------------------------------
    def add_states(self, scope, goals: dict, children=None) -> None:
        """Appends a level of states: its in-scope mask (None: all), each property's goal
        mask and, but for the first level, ``children``: for each state of the level before,
        how many of this level's states it discovered first (they are numbered in that
        order), or None (then every edge into this level is stored)."""
        n0 = self.bases[-1]
        if len(self.bases) > 1:
            if children is not None and \
                    (len(children) != n0 - self.bases[-2] or int(np.sum(children)) != len(
                        next(iter(goals.values())) if goals else scope)):
                raise ValueError("children must count, per state of the last level, the "
                                 "new level's states it discovered first")
            self.children.append(children)
        n = len(next(iter(goals.values()))) if goals else (0 if scope is None else len(scope))
        self.scope.append(None if scope is None else _bits(scope))
        for name in self.names:
            bits = self._grow(self.settled[name], n0 + n)
            _set_bits(bits, n0, goals[name])
            self.new_goals += int(np.count_nonzero(goals[name]))
            self.settled[name] = bits
        self.bases.append(n0 + n)

    @staticmethod
    def _grow(bits, n):
        need = (n + 7) // 8
        if need <= len(bits):
            return bits
        out = np.zeros(max(need, len(bits) + len(bits) // 2), np.uint8)  # amortised growth
        out[:len(bits)] = bits
        return out

    def is_settled(self, name, ids) -> np.ndarray:
        bits = self.settled[name]
        return ((bits[ids >> 3] >> (ids & 7).astype(np.uint8)) & 1).astype(bool)

    def add_edges(self, deg, dst) -> None:
        """Appends the next expanded level's edges: ``deg`` (each source's out-degree, one per
        state of that level) and ``dst`` (targets' ids grouped by source), each an array or a
        list of chunks (the same number of each, chunk ``i`` of ``dst`` holding the edges of
        chunk ``i`` of ``deg``; the lists are emptied). Sources settled by them (a target is settled) keep no edges.
        Spilled, the chunks are written as they are filtered: no copy of the whole level."""
        lvl = len(self.edges)
        base, n = self.bases[lvl], self.bases[lvl + 1] - self.bases[lvl]
        if not isinstance(deg, list):
            deg, dst = [deg], [dst]
        if len(deg) != len(dst) or sum(len(d) for d in deg) != n:
            raise ValueError(f"level {lvl} has {n} states, not {sum(len(d) for d in deg)}")
        kept_deg = []
        span = [None, None]  # smallest and largest target kept
        kids = self.children[lvl] if lvl < len(self.children) else None
        # each source's children: the next level's states from ``kid_lo`` on, ``kids`` of
        # them (numbered in order of their parent); edges to them are implied by ``kids``
        if kids is not None:
            kids = np.asarray(kids)
            kid_lo = np.cumsum(kids, dtype=np.int32)  # (ids fit: the targets are int32)
            kid_lo -= kids
            kid_lo += self.bases[lvl + 1]

        def filtered():  # consumes the lists, so each chunk is freed once filtered
            first = base
            while deg:
                d = np.asarray(deg.pop(0))
                at = slice(first - base, first - base + len(d))
                d, t = self._settle(first, d, np.asarray(dst.pop(0), dtype=np.int32),
                                    None if kids is None else (kid_lo[at], kids[at]))
                first += len(d)
                kept_deg.append(d)
                if len(t):
                    lo, hi = int(t.min()), int(t.max())
                    span[0] = lo if span[0] is None else min(span[0], lo)
                    span[1] = hi if span[1] is None else max(span[1], hi)
                    yield t
        if self.spill is not None:
            sizes = []
            name = self.spill.write(_counted(filtered(), sizes))
            d = narrowest(np.concatenate(kept_deg) if kept_deg else np.zeros(0, np.uint8))
            try:
                self.spill.append(name, d)
            except SpillError:
                self.spill.remove(name, 4 * sum(sizes))
                raise
            e = _Edges(d, np.zeros(0, np.int32), 0, 0)
            e.n_edges, e.file, e.deg = sum(sizes), name, None
        else:  # one array, written as the chunks are filtered, then shrunk in place
            dst_all = np.empty(sum(len(t) for t in dst), dtype=np.int32)
            at = 0
            for t in filtered():
                dst_all[at:at + len(t)] = t
                at += len(t)
            dst_all.resize(at, refcheck=False)
            e = _Edges(narrowest(np.concatenate(kept_deg) if kept_deg
                                        else np.zeros(0, np.uint8)), dst_all, 0, 0)
        if e.n_edges:
            e.lo, e.hi = (int(np.searchsorted(self.bases, v, side="right")) - 1 for v in span)
        else:
            e.lo = e.hi = lvl
        if kids is not None and len(kids) and int(np.max(kids)):
            e.lo, e.hi = min(e.lo, lvl + 1), max(e.hi, lvl + 1)
        self.edges.append(e)

    def _settle(self, first, deg, dst, children):
        """One chunk of sources (ids from ``first``): marks those settled now; returns the
        degrees and targets some property still needs: none of a settled source's, and no
        edge to a child the source discovered first (``children``: each source's first
        child id and count, or None)."""
        n = len(deg)
        ends = np.cumsum(deg, dtype=np.int64)
        keep = np.ones(n, dtype=bool)  # sources some property still needs the edges of
        if self.names:
            keep[:] = False
            src_ids = np.arange(first, first + n, dtype=np.int64)
            for name in self.names:
                done = self.is_settled(name, src_ids) | _segment_any(
                    self.is_settled(name, dst), deg, ends)
                _set_bits(self.settled[name], first, done)
                keep |= ~done
            self.settled_sources += int((~keep & (deg > 0)).sum())
        drop = None if keep.all() else ~np.repeat(keep, deg)
        if children is not None and len(dst):
            lo, count = children  # a child's offset from its parent's first one is < count
            off = dst - np.repeat(lo, deg)
            tree = off.view(np.uint32) < np.repeat(count, deg)
            drop = tree if drop is None else drop | tree
        if drop is None or not drop.any():
            return deg, dst
        if children is None:
            return np.where(keep, deg, 0), dst[~drop]
        return (deg - _segment_count(drop, deg, ends)).astype(deg.dtype), dst[~drop]

    def maybe_compact(self) -> int:
        """``compact`` when it may pay: goals were stored since it last ran (only they settle
        more sources), the edges in RAM hold at least ``COMPACT_MIN_BYTES`` and grew by
        ``COMPACT_GROWTH`` since (so the edges it keeps are recomputed a bounded number of
        times: at most 1 / (1 - 1 / COMPACT_GROWTH) = 5 on the whole)."""
        size = self.ram_edge_bytes
        if not self.new_goals or size < max(COMPACT_MIN_BYTES,
                                            COMPACT_GROWTH * self.compacted_bytes):
            return 0
        dropped = self.compact()
        self.compacted_bytes, self.new_goals = self.ram_edge_bytes, 0
        return dropped

    def compact(self) -> int:
        """Settles the stored sources with a path to a settled state along the edges stored
        so far (one pass over the levels, deepest first: enough for paths that lead deeper,
        which most do) and drops the edges of the sources settled for every property;
        returns how many edges it dropped. The answer of ``unreached`` stays the same: a
        settled source reaches a goal, and only a settled source loses edges. In RAM only
        (a spilled store is left as it is)."""
        if self.spill is not None or not self.edges:
            return 0
        reached = {n: _unbits(self.settled[n], self.n_states) for n in self.names}
        dropped = 0
        for lvl in reversed(range(len(self.edges))):
            e = self.edges[lvl]
            kids = self.children[lvl] if lvl < len(self.children) else None
            if kids is not None and not np.any(kids):
                kids = None
            if e.n_edges or kids is not None:
                deg = e.deg  # (built once: a sparse level's is made whole on each read)
                dropped += self._drop_settled(e, deg, self._settle_level(lvl, e, deg, kids,
                                                                         reached))
        for name in self.names:
            packed = _bits(reached[name])
            self.settled[name][:len(packed)] |= packed
        return dropped

    def _settle_level(self, lvl, e, deg, kids, reached):
        """One level of ``compact`` (``deg``: its ``e.deg``): marks its sources with an edge
        (or a child) into a reached state; returns which sources some property still needs
        the edges of. Chunk by chunk of sources (``_source_chunks``): it runs beside the
        search's next level, so its temporaries stay a few MB, not ~10 bytes an edge."""
        base, n = self.bases[lvl], self.bases[lvl + 1] - self.bases[lvl]
        k0 = self.bases[lvl + 1]
        kids = None if kids is None else np.asarray(kids)
        # (the level's own bits change only once it is done, so that the chunks' size never
        # changes what is settled)
        hits = {name: np.zeros(n, dtype=bool) for name in self.names}
        for a, b, ends, e0, e1, c0 in _source_chunks(deg, kids):
            d = deg[a:b]
            children = None
            if kids is not None:
                kd = kids[a:b]
                children = (k0 + c0, kd, np.cumsum(kd, dtype=np.int64))
            dst = e.dst[e0:e1]
            for name in self.names:
                hits[name][a:b] = _reaching(reached[name], d, ends, dst, children)
        need = np.zeros(n, dtype=bool)
        for name in self.names:
            mine = reached[name][base:base + n]
            mine |= hits[name]
            need |= ~mine
        return need

    @staticmethod
    def _drop_settled(e, deg, need) -> int:
        """Drops the edges of ``e``'s sources (``deg``: its ``e.deg``) not in ``need``;
        returns how many. In a level of more than CHUNK_EDGES edges the kept ones move down
        within ``e.dst`` chunk by chunk (a write never passes a read), then the array shrinks
        in place: no second copy of a large level beside the search."""
        drop = (deg > 0) & ~need
        if not drop.any():
            return 0
        before = e.n_edges
        dst = e.dst
        if before <= CHUNK_EDGES or not (dst.flags.owndata and dst.base is None
                                         and dst.flags.writeable):
            dst = dst[np.repeat(~drop, deg)]  # (small: one pass)
        else:
            out = 0
            for a, b, _, e0, e1, _ in _source_chunks(deg, None):
                kept = dst[e0:e1][np.repeat(~drop[a:b], deg[a:b])]
                dst[out:out + len(kept)] = kept
                out += len(kept)
            dst.resize(out, refcheck=False)
        e.dst = dst
        e.deg = np.where(drop, 0, deg).astype(deg.dtype)
        e.n_edges = len(dst)
        return before - e.n_edges

    def spill_to(self, spill: Spill) -> None:
        """From now on the edges live in ``spill``'s folder (those in RAM are moved there)."""
        self.spill = spill
        for e in self.edges:
            e.to_disk(spill)

    def close(self) -> None:
        """Removes the spill folder, if any."""
        if self.spill is not None:
            self.spill.close()

    # -- sizes -----------------------------------------------------------------------------
    @property
    def ram_edge_bytes(self) -> int:
        return sum(e.ram_bytes for e in self.edges)

    @property
    def disk_bytes(self) -> int:
        return sum(e.disk_bytes for e in self.edges)

    def mask_bytes(self) -> int:
        return sum(x.nbytes for x in self.scope if x is not None) + \
            sum(b.nbytes for b in self.settled.values())

    def nbytes(self) -> int:
        """Bytes held in RAM."""
        return self.mask_bytes() + self.ram_edge_bytes

    def __getstate__(self):
        if self.spill is not None:
            raise TypeError("a spilled edge store does not pickle (its edges are on disk)")
        return self.__dict__

    # -- deciding --------------------------------------------------------------------------
    def scope_of(self, lvl: int) -> np.ndarray:
        n = self.bases[lvl + 1] - self.bases[lvl]
        packed = self.scope[lvl]
        return np.ones(n, bool) if packed is None else _unbits(packed, n)


def _set_bits(bits: np.ndarray, start: int, mask) -> None:
    """ORs ``mask`` (bools for ids ``start, start+1, ...``) into packed ``bits``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    shift = start & 7
    packed = np.packbits(np.concatenate((np.zeros(shift, bool), mask)), bitorder="little")
    b0 = start >> 3
    bits[b0:b0 + len(packed)] |= packed


class _ResidualLevel:
    """The edges of one level's sources not yet known to reach a goal: their positions in
    the level, degrees and targets (in RAM, or in a spill file), and the levels the targets
    lie in."""

    def __init__(self, src, deg, dst, spill, lo, hi):
        self.lo, self.hi = lo, hi
        self.n, self.n_edges = len(src), len(dst)
        self.deg_dtype = deg.dtype
        self.file = None
        if spill is None:
            self.src, self.deg, self.dst = src, deg, dst
        else:
            self.src = self.deg = self.dst = None
            self.file = spill.write((src, deg, dst))

    @property
    def disk_bytes(self) -> int:
        return self.n * (4 + self.deg_dtype.itemsize) + self.n_edges * 4

    def load(self, spill):
        if self.file is None:
            return self.src, self.deg, self.dst
        d = self.n * 4
        return tuple(spill.read(self.file, [
            (np.int32, 0, self.n), (self.deg_dtype, d, self.n),
            (np.int32, d + self.n * self.deg_dtype.itemsize, self.n_edges)]))

    def release(self, spill) -> None:
        if self.file is not None:
            spill.remove(self.file, self.disk_bytes)
            self.file = None
        self.src = self.deg = self.dst = None


def unreached(store: GraphStore, release: bool = True) -> dict:
    """Per property, the ids (int64, in discovery order) of in-scope states with no path to
    a goal: the complement of the least fixpoint of "is a goal, or has an edge to a state
    that reaches one". With ``release`` the store's edges are dropped as soon as they are
    read (the store cannot be decided twice)."""
    reached = _reached(store, release)
    out = {}
    for name in store.names:
        bad = list(_unreached_levels(store, reached.pop(name)))
        out[name] = np.concatenate(bad).astype(np.int64) if bad else np.zeros(0, np.int64)
    return out


def unreached_count(store: GraphStore, release: bool = True) -> dict:
    """Per property, ``(how many, the first id or None)`` of ``unreached``'s ids, without
    holding them all (a violated ``recoverable`` at original N=5 P=8 has 57 M of them)."""
    reached = _reached(store, release)
    out = {}
    for name in store.names:
        count, first = 0, None
        for bad in _unreached_levels(store, reached.pop(name)):
            if first is None and len(bad):
                first = int(bad[0])
            count += len(bad)
        out[name] = (count, first)
    return out


def _unreached_levels(store, r):
    """Per level, the ids of its in-scope states not ``r`` (reached)."""
    for lvl in range(len(store.bases) - 1):
        yield np.flatnonzero(store.scope_of(lvl) & ~r[store.bases[lvl]:store.bases[lvl + 1]]) \
            + store.bases[lvl]


def _reached(store: GraphStore, release: bool) -> dict:
    """Per property, the fixpoint: one bool per state, whether it reaches a goal."""
    n_lvl = len(store.edges)
    if n_lvl != len(store.bases) - 1:
        raise ValueError("the store holds edges for every level only after a complete search")
    spill = store.spill
    names = store.names
    reached = {n: _unbits(store.settled[n], store.n_states) for n in names}
    residual = {n: [None] * n_lvl for n in names}
    # when each level last changed and was last computed (a tick counter): a level must be
    # computed again when a level its edges point into changed since
    changed = {n: np.zeros(n_lvl, np.int64) for n in names}
    computed = {n: np.full(n_lvl, -1, np.int64) for n in names}
    tick = 0

    def compute(name, lvl, src, deg, ends, dst):
        """The residual sources (positions ``src`` in level ``lvl``) that reach a goal through
        one of their edges are marked; returns the rest as (src, deg, dst)."""
        r = reached[name]
        hit = _reaching(r, deg, ends, dst)
        base = store.bases[lvl]
        r[base + src[hit]] = True
        stay = ~hit
        d_r, t_r = _residual(stay, deg, ends, dst)
        return src[stay], narrowest(d_r), t_r, bool(hit.any())

    def first_pass(lvl, base, kids, kid_ends, chunk):
        """One chunk of level ``lvl``'s sources, every property: marks those with an edge
        (or a child) that reaches a goal; returns, per property, whether it marked any and
        the rest's residual (or None). Two chunks of a level may run at once (below): each
        marks only its own sources, and one that misses the other's marks leaves a source in
        the residual of a level that changed, which a later pass computes again."""
        first, deg, ends, dst = chunk
        n = len(deg)
        c = None if kids is None else kids[first:first + n]
        if c is not None and not c.any():
            c = None
        if c is not None:  # this chunk's children: ids k0.. of the next level, in order
            k0 = store.bases[lvl + 1] + (int(kid_ends[first - 1]) if first else 0)
            c_ends = kid_ends[first:first + n].astype(np.int64) - (k0 - store.bases[lvl + 1])
        out = {}
        for name in names:
            r = reached[name]
            need = ~r[base + first:base + first + n] & ((deg > 0) if c is None
                                                        else (deg > 0) | (c > 0))
            if not need.any():
                out[name] = (False, None)
                continue
            hit = _reaching(r, deg, ends, dst, None if c is None else (k0, c, c_ends))
            hit &= need
            r[base + first + np.flatnonzero(hit)] = True
            marked = bool(hit.any())
            stay = need & ~hit
            if not stay.any():
                out[name] = (marked, None)
                continue
            src_r = np.flatnonzero(stay).astype(np.int32) + first
            d_r, t_r = _residual(stay, deg, ends, dst, None if c is None else (k0, c, c_ends))
            out[name] = (marked, (src_r, narrowest(d_r), t_r))
        return out

    def compute_split(name, lvl, src, deg, dst):
        """``compute`` of a residual level, its sources in two halves on two threads when it
        has edges enough (as in the first pass, a half that misses the other's marks leaves
        its level changed: computed again)."""
        ends = np.cumsum(deg, dtype=np.int64)
        if FIXPOINT_THREADS < 2 or len(dst) < 2 * FIXPOINT_MIN_EDGES or len(src) < 2:
            return compute(name, lvl, src, deg, ends, dst)
        h = len(src) // 2
        e = int(ends[h - 1])
        a, b = in_order(pool, 2, [(compute, name, lvl, src[:h], deg[:h], ends[:h], dst[:e]),
                                   (compute, name, lvl, src[h:], deg[h:], ends[h:] - e,
                                    dst[e:])])
        return (np.concatenate((a[0], b[0])), narrowest(np.concatenate((a[1], b[1]))),
                np.concatenate((a[2], b[2])), a[3] or b[3])

    # first pass: every level once, deepest first, straight from the store; a level's
    # chunks two at a time on two threads (numpy releases the GIL)
    pool = ThreadPoolExecutor(FIXPOINT_THREADS, thread_name_prefix="dnsrace-fixpoint")
    try:
        for lvl in reversed(range(n_lvl)):
            tick += 1
            e = store.edges[lvl]
            parts = {n: [] for n in names}
            hit_any = dict.fromkeys(names, False)
            kids = store.children[lvl] if lvl < len(store.children) else None
            kid_ends = None
            if kids is not None:
                kids = np.asarray(kids)
                kid_ends = np.cumsum(kids, dtype=_offsets(store.bases[lvl + 2]
                                                          - store.bases[lvl + 1]))
            base = store.bases[lvl]
            size = min(CHUNK_EDGES, max(FIXPOINT_MIN_EDGES, -(-e.n_edges // FIXPOINT_THREADS)))
            for out in in_order(pool, FIXPOINT_THREADS, (
                    (first_pass, lvl, base, kids, kid_ends, chunk)
                    for chunk in e.chunks(spill, size))):
                for name, (hit, part) in out.items():
                    hit_any[name] |= hit
                    if part is not None:
                        parts[name].append(part)
            if release:
                e.release(spill)
                if lvl < len(store.children):
                    store.children[lvl] = None  # (the tree keeps its own reference)
            for name in names:
                computed[name][lvl] = tick
                if hit_any[name]:
                    changed[name][lvl] = tick + 1
                p = parts[name]
                if p:
                    src_r = np.concatenate([x[0] for x in p])
                    deg_r = narrowest(np.concatenate([x[1] for x in p]))
                    dst_r = np.concatenate([x[2] for x in p])
                    residual[name][lvl] = _ResidualLevel(src_r, deg_r, dst_r, spill, e.lo,
                                                         e.hi)
            tick += 1

        # later passes: only levels whose targets changed since they were computed
        for name in names:
            res, ch, co = residual[name], changed[name], computed[name]
            again = True
            while again:
                again = False
                for lvl in reversed(range(n_lvl)):
                    rl = res[lvl]
                    if rl is None or ch[rl.lo:rl.hi + 1].max() <= co[lvl]:
                        continue
                    tick += 1
                    src, deg, dst = rl.load(spill)
                    rl.release(spill)
                    src, deg, dst, hit = compute_split(name, lvl, src, deg, dst)
                    co[lvl] = tick
                    res[lvl] = None
                    if hit:
                        tick += 1
                        ch[lvl] = tick
                        again = True
                    if len(src):
                        lo, hi = _level_range(store.bases, dst) if hit else (rl.lo, rl.hi)
                        res[lvl] = _ResidualLevel(src, deg, dst, spill, lo, hi)
                    del src, deg, dst
            for rl in res:
                if rl is not None:
                    rl.release(spill)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    return reached


SOURCE_CHUNK = 1 << 18  # sources per chunk of a compaction (CHUNK_EDGES edges at most too)


def _source_chunks(deg, kids):
    """``(a, b, ends, e0, e1, c0)`` per chunk of sources ``a:b`` of a level with out-degrees
    ``deg``: their edges' running ends (relative to the chunk), its edges ``e0:e1`` and (with
    ``kids``, each source's child count) the offset of its first child. At most SOURCE_CHUNK
    sources and, but for a single source, CHUNK_EDGES edges a chunk."""
    n = len(deg)
    e0 = c0 = a = 0
    while a < n:
        b = min(n, a + SOURCE_CHUNK)
        ends = np.cumsum(deg[a:b], dtype=np.int64)
        if ends[-1] > CHUNK_EDGES:
            b = a + max(1, int(np.searchsorted(ends, CHUNK_EDGES, side="right")))
            ends = ends[:b - a]
        e1 = e0 + int(ends[-1])
        yield a, b, ends, e0, e1, c0
        if kids is not None:
            c0 += int(np.sum(kids[a:b], dtype=np.int64))
        a, e0 = b, e1


def _offsets(total: int):
    """The integer type for running sums up to ``total``."""
    return np.int32 if total < 2**31 else np.int64


def _residual(stay, deg, ends, dst, children=None):
    """The sources ``stay`` keep of a chunk (``deg`` edges each, ending at ``ends``, targets
    ``dst``): their degrees and edges, each source's ``children`` (``(first child id, child
    counts, their running ends)``) made explicit edges after its own. One compiled loop where
    ``_kernels.c`` was built; ``_residual_numpy`` is the reference."""
    kernels = visited._kernels
    if kernels is None:
        return _residual_numpy(stay, deg, ends, dst, children)
    stay = np.ascontiguousarray(stay, dtype=bool)
    n_edges = int(deg[stay].sum(dtype=np.int64))
    kids = kid_ends = None
    k0 = 0
    if children is not None:
        k0, kids, kid_ends = children
        n_edges += int(kids[stay].sum(dtype=np.int64))
        kids = np.ascontiguousarray(kids)
        kid_ends = np.ascontiguousarray(kid_ends, dtype=np.int64)
    d_r = np.empty(int(np.count_nonzero(stay)), dtype=np.int64)
    t_r = np.empty(n_edges, dtype=np.int32)
    kernels.residual(stay, np.ascontiguousarray(deg), np.ascontiguousarray(ends, dtype=np.int64),
                     np.ascontiguousarray(dst, dtype=np.int32), kids, kid_ends, int(k0), d_r, t_r)
    return d_r, t_r


def _residual_numpy(stay, deg, ends, dst, children=None):
    """``_residual`` in numpy."""
    d_r, t_r = deg[stay], dst[np.repeat(stay, deg)]
    if children is not None:  # the residual keeps its edges to children explicitly
        k0, c, c_ends = children
        c_r = c[stay]
        kid_ids = np.repeat((k0 + c_ends - c)[stay] - (np.cumsum(c_r) - c_r),
                            c_r) + np.arange(int(c_r.sum()))
        d_r, t_r = _merge_groups(d_r, t_r, c_r, kid_ids.astype(np.int32))
    return d_r, t_r


def _merge_groups(deg_a, dst_a, deg_b, dst_b):
    """Two edge lists grouped by the same sources as one: each source's edges of ``a``, then
    its edges of ``b``; returns ``(deg, dst)``."""
    deg_a, deg_b = deg_a.astype(np.int64), deg_b.astype(np.int64)
    deg = deg_a + deg_b
    start = np.cumsum(deg) - deg
    out = np.empty(int(deg.sum()), dtype=np.int32)
    for d, t, at in ((deg_a, dst_a, start), (deg_b, dst_b, start + deg_a)):
        if len(t):
            out[np.repeat(at - (np.cumsum(d) - d), d) + np.arange(len(t))] = t
    return deg, out


def _level_range(bases, dst):
    if not len(dst):
        return 0, 0
    return tuple(int(np.searchsorted(bases, v, side="right")) - 1
                 for v in (dst.min(), dst.max()))
