"""Numpy containers for the derived model's memo tables: an append-only array and a hash index
looked up for a whole array of keys at once (by a compiled loop where one was built:
``compiled.py``; the numpy code here is its reference)."""

from __future__ import annotations

import numpy as np

from . import compiled

__all__ = ["Growable", "HashIndex"]


class Growable:
    """An append-only numpy array."""

    def __init__(self, dtype):
        self.a = np.empty(64, dtype=dtype)
        self.n = 0

    def extend(self, values):
        k = len(values)
        if self.n + k > len(self.a):
            new = np.empty(max(2 * len(self.a), self.n + k), dtype=self.a.dtype)
            new[:self.n] = self.a[:self.n]
            self.a = new
        self.a[self.n:self.n + k] = values
        self.n += k

    @property
    def view(self):
        return self.a[:self.n]


class HashIndex:
    """A map from non-negative int64 keys to int64 values, looked up for a whole array at once
    (open addressing, linear probing, all in numpy): faster than sorting or binary search
    when a level asks for many keys among a memo that fits the cache."""

    def __init__(self, bits: int = 12):
        self._alloc(bits)
        self.size = 0

    def _alloc(self, bits):
        self.bits = bits
        self.keys = np.full(1 << bits, -1, dtype=np.int64)
        self.vals = np.empty(1 << bits, dtype=np.int64)

    def _hash(self, q):
        h = (q.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.bits)
        return h.view(np.int64)

    def get(self, q):
        """The value of each key in ``q``, -1 where absent."""
        q = np.ascontiguousarray(q, dtype=np.int64)
        if compiled.kernels is not None:
            out = np.empty(len(q), dtype=np.int64)
            compiled.kernels.hash_get(self.keys, self.vals, self.bits, q, out)
            return out
        return self.get_numpy(q)

    def get_numpy(self, q):
        """``get`` in numpy (the reference)."""
        q = np.ascontiguousarray(q, dtype=np.int64)
        h = self._hash(q)
        k = self.keys[h]
        found = k == q
        out = np.where(found, self.vals[h], -1)  # most keys sit in their first slot
        idx = np.flatnonzero(~found & (k >= 0))
        if not len(idx):
            return out
        mask = (1 << self.bits) - 1
        h = (h[idx] + 1) & mask
        while len(idx):
            k = self.keys[h]
            found = k == q[idx]
            if found.any():
                out[idx[found]] = self.vals[h[found]]
            go = ~found & (k >= 0)
            idx, h = idx[go], (h[go] + 1) & mask
        return out

    def add(self, new_keys, values):
        """Adds keys not yet present (distinct)."""
        if self.size + len(new_keys) > (1 << self.bits) // 2:
            old_k, old_v = self.keys[self.keys >= 0], self.vals[self.keys >= 0]
            bits = self.bits
            while self.size + len(new_keys) > (1 << bits) // 2:
                bits += 1
            self._alloc(bits)
            self.size = 0
            self._place(old_k, old_v)
        self._place(np.asarray(new_keys, dtype=np.int64), np.asarray(values, dtype=np.int64))

    def _place(self, q, v):
        if compiled.kernels is not None:
            q = np.ascontiguousarray(q, dtype=np.int64)
            placed = compiled.kernels.hash_place(self.keys, self.vals, self.bits, q,
                                                 np.ascontiguousarray(v, dtype=np.int64))
            self.size += placed
            return
        mask = (1 << self.bits) - 1
        h = self._hash(q)
        while len(q):
            free = self.keys[h] < 0
            _, first = np.unique(h, return_index=True)  # one claimant per slot
            win = np.zeros(len(q), dtype=bool)
            win[first] = True
            win &= free
            self.keys[h[win]] = q[win]
            self.vals[h[win]] = v[win]
            self.size += int(win.sum())
            lose = ~win
            q, v, h = q[lose], v[lose], np.where(free[lose], h[lose], (h[lose] + 1) & mask)
