"""Symmetry (canonical keys) and the cleanup-first partial-order reduction where it is proven."""

from __future__ import annotations

import numpy as np

from ..protocols import Cas, Guarded, Original, Recheck
from ..state import APPLY0, CLEANUP
from ..variants import CasGuarded


# Properties and protocols for which the cleanup-first partial-order reduction is proven
# sound (docs/PERFORMANCE.md, "Partial-order reduction"): MODEL.md's four, and cas+guarded,
# each of whose steps is a step of cas or of guarded. Exact classes: a subclass may change
# any step.
POR_PROPERTIES = frozenset({"no-dangling", "monotonic", "recoverable"})
POR_PROTOCOLS = (Original, Recheck, Cas, Guarded, CasGuarded)


class Reductions:
    """Part of ``DerivedModel`` (model.py): symmetry (canonical keys) and the cleanup-first
    partial-order reduction where it is proven."""

    def _ranks(self):
        """(rank of each record id by value, record id of each rank), for the records known."""
        if self._rank_n != len(self._recs):
            order = sorted(range(len(self._recs)), key=self._recs.__getitem__)
            self._id_of_rank = np.array(order, dtype=np.int64)
            # ranks in the narrowest type: numpy's minimum/maximum on int64 is ~10x slower
            small = np.int16 if len(order) < 2**15 else np.int32
            self._rank_of_id = np.empty(len(order), dtype=small)
            self._rank_of_id[self._id_of_rank] = np.arange(len(order))
            self._rank_n = len(order)
        return self._rank_of_id, self._id_of_rank

    def canonical(self, keys: np.ndarray) -> np.ndarray:
        """The representative of each state under permutations of enactors: the protocol's
        own ``canonical`` when it overrides it, else the record fields sorted by value
        (``Protocol.canonical``'s representative), by an odd-even transposition network."""
        keys = np.asarray(keys, dtype=np.int64)
        if self.python_canonical:
            return self._python_canonical(keys)
        if self.n == 1 or not len(keys):
            return keys
        rank, back = self._ranks()
        w, wm = self.w, self._wm
        cols = [rank[(keys >> (j * w)) & wm] for j in range(self.n)]
        for rnd in range(self.n):
            for j in range(rnd % 2, self.n - 1, 2):
                a, b = cols[j], cols[j + 1]
                cols[j], cols[j + 1] = np.minimum(a, b), np.maximum(a, b)
        out = keys & ~self._emask
        for j in range(self.n):
            out |= back[cols[j]] << (j * w)
        return out

    def _python_canonical(self, keys):
        out = np.empty(len(keys), dtype=np.int64)
        memo = self._tables.setdefault("canonical", {})
        for j, key in enumerate(keys.tolist()):
            got = memo.get(key)
            if got is None:
                self._local()
                got = memo[key] = self.encode(self.protocol.canonical(self.decode(key)))
            out[j] = got
        return out

    def _per_record(self, name, fn):
        tab = self._tables.get(name)
        if tab is None or len(tab) < len(self._recs):
            tab = np.array([fn(r) for r in self._recs], dtype=np.int64)
            self._tables[name] = tab
        return tab

    def _per_shared(self, name, fn):
        tab = self._tables.get(name)
        if tab is None or len(tab) < len(self._shared):
            old = 0 if tab is None else len(tab)
            more = np.array([fn(v) for v in self._shared[old:]], dtype=np.int64)
            tab = more if tab is None else np.concatenate([tab, more])
            self._tables[name] = tab
        return tab

    def _ample(self, keys, sid, counts):
        """Where some enactor's cleanup is independent of every transition that can happen
        before it, expand only that cleanup (the enactor with the smallest (pc, held), so the
        choice commutes with symmetry). Soundness: docs/PERFORMANCE.md. Edits ``counts``."""
        m, w, keep = len(keys), self.w, self.config.keep
        pc_of = self._per_record("pc", lambda r: r.pc)
        held_of = self._per_record("held", lambda r: r.held)
        big = np.iinfo(np.int64).max
        minnz = self._per_shared("minnz", lambda v: min((d for d in v[2] if d), default=big))
        rids = [(keys >> (j * w)) & self._wm for j in range(self.n)]
        pcs = [pc_of[r] for r in rids]
        helds = [held_of[r] for r in rids]
        low = minnz[sid]
        best = np.full(m, -1, dtype=np.int64)
        best_held = np.full(m, big, dtype=np.int64)
        for i in range(self.n):
            ok = (pcs[i] == CLEANUP) & (counts[:, i + 1] > 0)
            if not ok.any():
                continue
            floor = helds[i] - keep  # the cleanup deletes plans 1 .. floor-1
            ok &= low >= floor  # no record serves a plan it may delete
            for j in range(self.n):  # no other busy enactor holds one (it could write it)
                if j != i:
                    ok &= (pcs[j] < APPLY0) | (helds[j] >= floor)
            better = ok & (helds[i] < best_held)
            best = np.where(better, i, best)
            best_held = np.where(better, helds[i], best_held)
        rows = np.nonzero(best >= 0)[0]
        if len(rows):
            chosen = counts[rows, best[rows] + 1]
            counts[rows, :] = 0
            counts[rows, best[rows] + 1] = chosen

    def por_sound_for(self, prop) -> bool:
        """Whether the cleanup-first reduction preserves ``prop`` (docs/PERFORMANCE.md)."""
        return self.por_proven and prop.name in POR_PROPERTIES

    def por_off_reason(self):
        """Why partial-order reduction is not available for this protocol, or None."""
        if self.por_proven:
            return None
        return (f"partial-order reduction is off: it is proven only for original, recheck, cas, "
                f"guarded and cas+guarded, not for {self.protocol.name!r} (docs/PERFORMANCE.md)")
