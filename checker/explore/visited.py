"""Visited sets of the vector engine: which int64 state keys are already stored, and their ids.

``_ExactVisited`` keeps every key (exact); ``_HashCompactVisited`` and ``_BitstateVisited``
keep only hashes (lossy: a colliding state is never explored). Every class is plain data
(numpy arrays and numbers), so an engine's state pickles. Imports numpy only.

The exact set's hot loops (``first_unique``, ``lookup``, ``add``'s merge) run compiled
(``_kernels.c``, built at install) where that module was built, else in numpy: the numpy
functions here are the reference that tests compare the compiled ones with. Each key costs a
cache miss or two in arrays larger than the caches; numpy takes several passes over each
array, the compiled loops one, with the misses of successive keys prefetched and overlapped
(1.7x to 1.8x faster per call). ``DNSRACE_KERNELS=numpy`` in the environment picks numpy.
"""

from __future__ import annotations

import os

import numpy as np

try:
    from . import _kernels
except ImportError:  # not built (no C compiler at install): numpy does the same work
    _kernels = None
if os.environ.get("DNSRACE_KERNELS", "").strip().lower() == "numpy":
    _kernels = None


def kernels_in_use() -> str:
    """``"compiled"`` or ``"numpy"``: which loops the exact visited set runs."""
    return "numpy" if _kernels is None else "compiled"


def _mix(keys: np.ndarray, seed: int) -> np.ndarray:
    """A 64-bit mixing function (splitmix64 finaliser) of int64 keys, as uint64."""
    x = keys.view(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) & (2**64 - 1))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def first_unique(keys: np.ndarray):
    """The distinct ``keys`` (int64) in order of first occurrence: ``(uniq, first, inv)`` with
    ``first`` the index of each one's first occurrence (increasing) and ``uniq[inv] == keys``
    (``inv`` int32 below 2^31 keys, else int64)."""
    n = len(keys)
    if _kernels is None or n >= 2**31 - 1:
        return first_unique_numpy(keys)
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    uniq, first = np.empty(n, np.int64), np.empty(n, np.int64)
    inv = np.empty(n, np.int32)
    count = _kernels.first_unique(keys, uniq, first, inv)
    uniq.resize(count, refcheck=False)  # (in place: the arrays are this function's own)
    first.resize(count, refcheck=False)
    return uniq, first, inv


def first_unique_numpy(keys: np.ndarray):
    """``first_unique`` in numpy (the reference). Linear time: open addressing in a table of
    ``2^bits >= 2 len(keys)`` slots holding the index of a slot's first key; all keys probe
    together, one slot further per round."""
    n = len(keys)
    bits = max(4, int(n).bit_length() + 1)
    mask = (1 << bits) - 1
    table = np.full(1 << bits, -1, dtype=np.int32 if n < 2**31 else np.int64)
    idx = np.arange(n, dtype=table.dtype)
    pos = (_mix(keys, 3) >> np.uint64(64 - bits)).astype(np.intp)
    # a repeated index keeps the value assigned last: reversed, the smallest index wins
    table[pos[::-1]] = idx[::-1]
    owner = table[pos]
    pending = np.flatnonzero(keys[owner] != keys).astype(table.dtype)
    pos = pos[pending]
    while len(pending):
        pos = (pos + 1) & mask
        got = table[pos]
        free = got < 0
        if free.any():
            slots = pos[free]
            table[slots[::-1]] = pending[free][::-1]
            got[free] = table[slots]
        same = keys[got] == keys[pending]
        owner[pending[same]] = got[same]
        pending, pos = pending[~same], pos[~same]
    del table, pos
    is_first = owner == idx
    first = np.flatnonzero(is_first)
    rank = np.cumsum(is_first, dtype=idx.dtype)
    rank -= 1
    return keys[first], first, rank[owner]


_BLOCK = 1 << 17


def _sort_order(h: np.ndarray) -> np.ndarray:
    """``np.argsort(h)`` for distinct uint64 ``h``, by sorting the values themselves (twice
    as fast here): each one's low bits are replaced by its index, which comes back out of
    the sorted values; should two share their remaining high bits (rare for uniform mixes),
    the order is recomputed by argsort."""
    k = len(h)
    b = max(1, (k - 1).bit_length())
    if k < 2 or b > 40:
        return np.argsort(h)
    low = np.uint64((1 << b) - 1)
    packed = h & ~low
    packed |= np.arange(k, dtype=np.uint64)
    packed.sort()
    packed &= low
    order = packed.view(np.int64)
    hs = h[order]
    if (hs[1:] <= hs[:-1]).any():
        return np.argsort(h)
    return order


class _ExactVisited:
    """Every stored key (exact), as one sorted array of their 64-bit mixes (a bijection, so
    no two keys share one), with a bucket index over its top bits; with ``ids``, each key's
    id alongside. A lookup interpolates inside one bucket (no sorting of the queries);
    adding merges the new keys in place (the array grows by ``realloc``, not by a second
    copy), so the set costs 8 bytes a state (12 with ids) and little more at peak."""

    def __init__(self, ids: bool = True):
        self.h = np.empty(0, dtype=np.uint64)
        self.ids = np.empty(0, dtype=np.int32) if ids else None
        self.kbits = 0
        self.starts = np.zeros(2, dtype=np.int64)
        self.steps = 0  # bit length of the largest bucket's size

    def __len__(self):
        return len(self.h)

    def _bucket(self, h):
        if self.kbits == 0:
            return np.zeros(len(h), dtype=np.intp)
        return (h >> np.uint64(64 - self.kbits)).astype(np.intp)

    def lookup(self, keys):
        """ids of ``keys`` (0 without ids) where stored, else -1, in any order."""
        if len(self.h) == 0 or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        if _kernels is None:
            return self.lookup_numpy(keys)
        out = np.empty(len(keys), dtype=np.int64)
        _kernels.lookup(self.h, self.starts, self.kbits, self.ids,
                        np.ascontiguousarray(keys, dtype=np.int64), out)
        return out

    def lookup_numpy(self, keys):
        """``lookup`` in numpy (the reference), for a set that is not empty."""
        pos, hit = self._search(_mix(keys, 0))
        if self.ids is None:
            return np.where(hit, 0, -1)
        np.minimum(pos, len(self.h) - 1, out=pos)
        return np.where(hit, self.ids[pos], -1).astype(np.int64)

    def _search(self, q):
        """``(pos, hit)`` per mix ``q``: the first index whose stored mix is at least ``q``
        (where ``q`` would be inserted) and whether it equals ``q``. The mixes are uniform,
        so the search starts where ``q`` falls by interpolation inside its bucket and is
        almost always within one slot of it; it then steps one slot a round, each round on
        the few queries still undecided. (A bucket larger than expected falls back to a
        binary search.)"""
        return self._bisect(q) if self.steps > 6 else self._interpolate(q)

    def _interpolate(self, q):
        """``_search`` for buckets of fewer than 2^15 keys."""
        h, n = self.h, len(self.h)
        k = self.kbits
        it = self.starts.dtype
        b = self._bucket(q)
        lo = self.starts[b]
        cnt = self.starts[b + 1] - lo
        del b
        g = ((q << np.uint64(k)) >> np.uint64(48)).astype(it) if k else \
            (q >> np.uint64(48)).astype(it)
        g *= cnt
        g >>= 16
        g += lo  # inside the bucket when it is not empty, else where q would go
        val = h[np.minimum(g, n - 1)]
        hit = val == q
        hit &= cnt > 0
        pos = g
        right = np.flatnonzero((val < q) & (cnt > 0))  # the answer lies further right
        left = np.flatnonzero((val > q) & (g > lo))     # it may lie further left
        del val
        for todo, step in ((right, 1), (left, -1)):
            if not len(todo):
                continue
            qq = q[todo]
            if step > 0:  # probe g (from the next slot on) while h[g] < q
                g = pos[todo] + 1
                end = lo[todo] + cnt[todo]
            else:         # probe g - 1 while h[g - 1] > q
                g = pos[todo]
                end = lo[todo]
            while True:
                probe = g if step > 0 else g - 1
                inside = probe < end if step > 0 else probe >= end
                pv = h[np.clip(probe, 0, n - 1)]
                same = inside & (pv == qq)
                pos[todo] = np.where(same, probe, g)
                hit[todo[same]] = True
                go = inside & ((pv < qq) if step > 0 else (pv > qq))
                if not go.any():
                    break
                s = np.flatnonzero(go)
                todo, qq, end = todo[s], qq[s], end[s]
                g = g[s] + step
        return pos, hit

    def _bisect(self, q):
        """``_search`` by binary search inside each bucket (any bucket sizes)."""
        h, n = self.h, len(self.h)
        b = self._bucket(q)
        lo = self.starts[b].astype(np.int64)
        hi = self.starts[b + 1].astype(np.int64)
        del b
        for _ in range(self.steps):
            mid = (lo + hi) >> 1
            less = h[np.minimum(mid, n - 1)] < q
            less &= lo < hi
            np.copyto(lo, mid + 1, where=less)
            np.copyto(hi, mid, where=~less & (lo < hi))
        hit = h[np.minimum(lo, n - 1)] == q
        hit &= lo < n
        return lo, hit

    def add(self, keys, ids):
        """Stores ``keys`` (distinct, none stored yet, any order) with their ``ids``."""
        k = len(keys)
        if k == 0:
            return
        hn = _mix(keys, 0)
        if self.ids is not None:
            order = _sort_order(hn)
            hn = hn[order]
            new_ids = np.asarray(ids)[order]
            del order
            top = int(new_ids.max())
            if top >= 2**31 and self.ids.dtype == np.int32:
                self.ids = self.ids.astype(np.int64)
            new_ids = new_ids.astype(self.ids.dtype)
        else:
            hn.sort()
        if _kernels is not None:
            n0 = len(self.h)
            self.h = _grown(self.h, n0 + k)
            if self.ids is not None:
                self.ids = _grown(self.ids, n0 + k)
            _kernels.merge(self.h, n0, hn, self.ids, None if self.ids is None else new_ids)
        else:
            self._merge_numpy(hn, None if self.ids is None else new_ids)
        self._index(hn)

    def _merge_numpy(self, hn, new_ids):
        """``add``'s merge of the sorted mixes ``hn`` (and ``new_ids``) in numpy."""
        k = len(hn)
        if len(self.h):
            pos, _ = self._search(hn)
        else:
            pos = np.zeros(k, dtype=np.int64)
        if self.ids is None:
            self.h, = _merge_into([(self.h, hn)], pos)
        else:
            self.h, self.ids = _merge_into([(self.h, hn), (self.ids, new_ids)], pos)

    def _index(self, hn):
        """Brings the bucket index up to date after ``hn`` (sorted) was added."""
        n = len(self.h)
        want = max(0, n.bit_length() - 3)  # about 4 to 8 keys a bucket
        dtype = np.int32 if n < 2**31 else np.int64
        if want != self.kbits or self.starts.dtype != dtype:
            self.kbits = want
            bounds = np.arange(1 << want, dtype=np.uint64) << np.uint64(64 - want) \
                if want else np.zeros(1, dtype=np.uint64)
            self.starts = np.append(np.searchsorted(self.h, bounds), n).astype(dtype)
        elif _kernels is not None:
            self.steps = _kernels.index_add(self.starts, self.kbits, hn).bit_length()
            return
        else:
            counts = np.bincount(self._bucket(hn), minlength=1 << self.kbits)
            self.starts[1:] += np.cumsum(counts).astype(dtype)
        biggest = int(np.diff(self.starts).max())
        self.steps = biggest.bit_length()

    def nbytes(self):
        return self.h.nbytes + self.starts.nbytes + (0 if self.ids is None else self.ids.nbytes)


def _grown(arr: np.ndarray, total: int) -> np.ndarray:
    """``arr`` with room for ``total`` elements, its own first: grown in place where it owns
    its data (``realloc`` moves pages, mremap, rather than holding two copies at once; the
    caller's views of ``arr`` are stale from here and replaced by the result), else a copy."""
    if arr.flags.owndata and arr.base is None:
        arr.resize(total, refcheck=False)
        return arr
    grown = np.empty(total, dtype=arr.dtype)
    grown[:len(arr)] = arr
    return grown


def _merge_into(pairs, pos):
    """For each ``(arr, new)``: ``np.insert(arr, pos, new)`` (``pos`` sorted), written into
    ``arr`` itself, grown in place (``realloc`` moves pages rather than holding two copies),
    block by block from the end: each block takes a contiguous run of old elements (which
    only move up, past blocks already filled) and the new ones that land in it; the blocks'
    bookkeeping is shared by all pairs. Returns the grown arrays."""
    k = len(pos)
    n0 = len(pairs[0][0])
    total = n0 + k
    out = [_grown(arr, total) for arr, _ in pairs]
    dest = np.arange(k, dtype=np.int64)
    dest += pos  # final index of each new element
    end = total
    first = int(dest[0]) if k else end
    while end > first:
        start = max(first, end - _BLOCK)
        ka, kb = np.searchsorted(dest, [start, end])
        at = dest[ka:kb] - start
        keep = np.ones(end - start, dtype=bool)
        keep[at] = False
        for buf, (_, new) in zip(out, pairs):
            old = buf[start - ka:end - kb].copy()
            block = buf[start:end]
            block[keep] = old
            block[at] = new[ka:kb]
        end = start
    return out


class _HashCompactVisited:
    """Only a ``bits``-bit signature of each key (hash compaction, as in SPIN's -DHC)."""

    def __init__(self, bits=32):
        self.bits = bits
        self.dtype = np.uint32 if bits <= 32 else np.uint64
        self.sigs = np.empty(0, dtype=self.dtype)
        self.expected = 0.0

    def _sig(self, keys):
        h = _mix(keys, 1) >> np.uint64(64 - self.bits)
        return h.astype(self.dtype)

    def lookup(self, keys):
        sig = self._sig(keys)
        if len(self.sigs) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self.sigs, sig)
        np.minimum(pos, len(self.sigs) - 1, out=pos)
        return np.where(self.sigs[pos] == sig, 0, -1)

    def add(self, sorted_keys, ids):
        n0 = len(self.sigs)
        sig = np.unique(self._sig(sorted_keys))
        # each new state is omitted if its signature equals one of the n0 + j stored before
        k = len(sorted_keys)
        self.expected += (n0 * k + k * (k - 1) / 2) / 2.0 ** self.bits
        pos = np.searchsorted(self.sigs, sig)
        self.sigs = np.insert(self.sigs, pos, sig)

    def nbytes(self):
        return self.sigs.nbytes


class _BitstateVisited:
    """A bit array of 2^bits bits, ``k`` hash functions (bitstate hashing / a Bloom filter)."""

    def __init__(self, bits=30, k=3):
        self.bits, self.k = bits, k
        self.table = np.zeros(1 << max(bits - 3, 0), dtype=np.uint8)
        self.set_bits = 0
        self.expected = 0.0

    def _positions(self, keys):
        return [(_mix(keys, 7 + i) >> np.uint64(64 - self.bits)).astype(np.int64)
                for i in range(self.k)]

    def lookup(self, keys):
        hit = np.ones(len(keys), dtype=bool)
        for pos in self._positions(keys):
            hit &= ((self.table[pos >> 3] >> (pos & 7).astype(np.uint8)) & 1) == 1
        return np.where(hit, 0, -1)

    def add(self, sorted_keys, ids):
        m = float(1 << self.bits)
        # a new state is omitted when all its k bits are already set: about fill^k each
        self.expected += len(sorted_keys) * (self.set_bits / m) ** self.k
        for pos in self._positions(sorted_keys):
            pos = np.unique(pos)
            byte, bit = pos >> 3, np.left_shift(1, pos & 7).astype(np.uint8)
            self.set_bits += int(((self.table[byte] & bit) == 0).sum())
            np.bitwise_or.at(self.table, byte, bit)

    def nbytes(self):
        return self.table.nbytes
