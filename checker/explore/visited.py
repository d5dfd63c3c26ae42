"""Visited sets of the vector engine: which int64 state keys are already stored, and their ids.

``_ExactVisited`` keeps every key (exact); ``_HashCompactVisited`` and ``_BitstateVisited``
keep only hashes (lossy: a colliding state is never explored). Every class is plain data
(numpy arrays and numbers), so an engine's state pickles. Imports numpy only.
"""

from __future__ import annotations

import numpy as np


def _mix(keys: np.ndarray, seed: int) -> np.ndarray:
    """A 64-bit mixing function (splitmix64 finaliser) of int64 keys, as uint64."""
    x = keys.view(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) & (2**64 - 1))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _ExactVisited:
    """Every stored key with its id, as a few sorted runs of geometrically decreasing sizes
    (a log-structured merge): adding a level copies small runs, not the whole set."""

    def __init__(self):
        self.runs: list = []  # (sorted keys, ids)

    def lookup(self, keys):
        """ids of ``keys`` (-1 where not stored); ``keys`` sorted is fastest."""
        out = np.full(len(keys), -1, dtype=np.int64)
        for run_keys, run_ids in self.runs:
            pos = np.searchsorted(run_keys, keys)
            np.minimum(pos, len(run_keys) - 1, out=pos)
            hit = run_keys[pos] == keys
            out[hit] = run_ids[pos[hit]]
        return out

    def add(self, sorted_keys, ids):
        if len(sorted_keys) == 0:
            return
        self.runs.append((sorted_keys, ids.astype(np.int32)))
        while len(self.runs) >= 2 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            k2, i2 = self.runs.pop()
            k1, i1 = self.runs[-1]
            pos = np.searchsorted(k1, k2)
            self.runs[-1] = (np.insert(k1, pos, k2), np.insert(i1, pos, i2))

    def nbytes(self):
        return sum(k.nbytes + i.nbytes for k, i in self.runs)


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
