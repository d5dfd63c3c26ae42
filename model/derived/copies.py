"""For the cluster engine: which keys a copy of the model in another process cannot expand."""

from __future__ import annotations

import os

import numpy as np

from .layout import KEY_BITS


class Copies:
    """Part of ``DerivedModel`` (model.py): for the cluster engine: which keys a copy of the
    model in another process cannot expand."""

    # Read-only, and kept apart from the memo code above. The cluster engine falls back
    # safely (it has the owner prepare the chunk and ships a fresh copy) where this says
    # "ready" wrongly, so it only needs to be exact for speed, never for correctness.
    def unprepared(self, keys, symmetry: bool = False, por: bool = False) -> np.ndarray:
        """Mask of the ``keys`` whose ``expand(keys, symmetry, por)`` in this copy would need a
        memo entry or an id the copy does not have: the owner should ``prepare`` them first.
        All False in the owner (it interns). What the successors need afterwards (a
        protocol's ``normalize`` or own ``canonical``) is not looked at."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        m = len(keys)
        if os.getpid() == self._owner or not m:
            return np.zeros(m, dtype=bool)
        memo = self._memo
        if self.whole:
            return np.fromiter(((k, -1) not in memo for k in keys.tolist()), bool, m)
        sid = keys >> self.ssh
        known = sid < min(len(self._shared), self._pl_start.n)
        if not known.any():  # (the Planner's memo may still be empty)
            return np.ones(m, dtype=bool)
        sid = np.where(known, sid, 0)
        miss = ~known | (self._pl_start.view[sid] < 0)
        slots = [(self._pl_count.view[sid] < 0) & ~miss]  # per slot: evaluated on the state
        anywhere = bool(symmetry and self.symmetric)
        counts = self._ent_count.view
        lids = None
        for i in range(self.n):
            rid = (keys >> (i * self.w)) & self._wm
            miss |= rid >= len(self._recs)
            rid = np.where(rid < len(self._recs), rid, 0)
            ent = self._index.get(self._triple(sid, rid, self.n if anywhere else i))
            if anywhere:
                per_pos = (ent >= 0) & (counts[np.maximum(ent, 0)] == -3)
                if per_pos.any():
                    ent[per_pos] = self._index.get(self._triple(sid[per_pos], rid[per_pos], i))
            miss |= ent < 0
            ent = np.maximum(ent, 0)
            two = counts[ent] == -2
            if two.any():  # looked up again with every enactor's local data (_resolve_locals)
                if lids is None:
                    lids = self._known_local_ids(keys)
                rows = np.flatnonzero(two)
                room = KEY_BITS - 1 - self.n * self.LOCAL_BITS
                if lids is False:
                    miss[rows] = True
                elif len(self._locals) > (1 << self.LOCAL_BITS) or \
                        int(ent[rows].max()) >= (1 << (room - self.ib)):
                    ent[rows] = 0  # evaluated on the real state
                else:
                    k2 = self._pack_locals((ent[rows] << self.ib) | i, [x[rows] for x in lids])
                    got = self._index2.get(k2)
                    miss[rows[got < 0]] = True
                    ent[rows] = np.maximum(got, 0)
            slots.append((counts[ent] < 0) & ~miss)
        for slot, rows in enumerate(slots):
            for r in np.flatnonzero(rows).tolist():
                if (int(keys[r]), slot) not in memo:
                    miss[r] = True
        return miss

    def _known_local_ids(self, keys):
        """Per enactor, the local-data id of each key's record; False when some record's local
        data has no id in this copy (``_local_ids`` would intern it)."""
        tab = self._tables.get("lid")
        if tab is None or len(tab) < len(self._recs):
            ids = [self._local_id.get(r.local) for r in self._recs]
            if any(j is None for j in ids):
                return False
            tab = np.array(ids, dtype=np.int64)
        return [tab[(keys >> (j * self.w)) & self._wm] for j in range(self.n)]
