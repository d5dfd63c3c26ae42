"""Steps that read other enactors' ``local`` data: memoised again per every enactor's local data."""

from __future__ import annotations

import numpy as np

from ..state import State
from .layout import _bits, _new_state, KEY_BITS
from .sentinels import LocalView


class LocalData:
    """Part of ``DerivedModel`` (model.py): steps that read other enactors' ``local`` data:
    memoised again per every enactor's local data."""

    LOCAL_BITS = 6  # local ids in the keys of the second-level memos (at most 64 values)

    def _lid(self, local) -> int:
        j = self._local_id.get(local)
        if j is None:
            self._local()
            j = self._local_id[local] = len(self._locals)
            self._locals.append(local)
        return j

    def _local_ids(self, keys):
        """Per enactor, the local-data id of each key's record (an array per enactor), and
        whether they all fit LOCAL_BITS."""
        lid_of = self._per_record("lid", lambda r: self._lid(r.local))
        lids = [lid_of[(keys >> (j * self.w)) & self._wm] for j in range(self.n)]
        return lids, len(self._locals) <= (1 << self.LOCAL_BITS)

    def _pack_locals(self, high, lids):
        packed = high << (self.n * self.LOCAL_BITS)
        for j, lid in enumerate(lids):
            packed = packed | (lid << (j * self.LOCAL_BITS))
        return packed

    def _resolve_locals(self, keys, sid, ent, two):
        """Entries marked -2 (the step looked at other enactors): memoised again per the local
        data of every enactor; those that look at more are evaluated on the real state."""
        lids, fits = self._local_ids(keys)
        room = KEY_BITS - 1 - self.n * self.LOCAL_BITS
        c, p, LB = self.config, self.protocol, self.LOCAL_BITS
        for i in range(self.n):
            rows = np.flatnonzero(two[i])
            if not len(rows):
                continue
            if not fits or int(ent[i, rows].max()) >= (1 << (room - self.ib)):
                ent[i, rows] = 0  # entry 0: on the real state
                continue
            k2 = self._pack_locals((ent[i, rows] << self.ib) | i, [lid[rows] for lid in lids])
            got = self._index2.get(k2)
            if (got < 0).any():
                miss = np.unique(k2[got < 0])
                self._index2.add(miss, self._local_entries(miss.tolist(), i))
                got = self._index2.get(k2)
            ent[i, rows] = got

    def _local_entries(self, packed, i):
        """New entries (their indices; 0: evaluate on the real state) for each packed key
        ``(entry << ib | i) << N*LOCAL_BITS | local ids``: enactor ``i``'s step given every
        enactor's local data."""
        n, LB, ib, w = self.n, self.LOCAL_BITS, self.ib, self.w
        lm = (1 << LB) - 1
        c, p, probe = self.config, self.protocol, self._probe
        locals_, shared, recs, triple = self._locals, self._shared, self._recs, self._ent_triple.a
        arglist, viewss, rids = [], [], []
        for k in packed:
            t = int(triple[k >> (n * LB + ib)])
            sid, rid = t >> (w + ib), (t >> ib) & self._wm
            views = tuple(LocalView(probe, locals_[(k >> (j * LB)) & lm], j) for j in range(n))
            g, st, dns, ext = shared[sid]
            es = views[:i] + (recs[rid],) + views[i + 1:]
            arglist.append((c, _new_state(State, (g, st, dns, es, ext)), i))
            viewss.append(views)
            rids.append(rid)
        outs = self._evaluate(p.enactor_steps, arglist)
        results = [self._deltas(out, i, views) for out, views in zip(outs, viewss)]
        if self.check_determinism:
            again = self._evaluate(p.enactor_steps, arglist)
            if [self._deltas(out, i, views) for out, views in zip(again, viewss)] != results:
                raise AssertionError(f"protocol {self.protocol.name!r}: a step gave two "
                                     "different results on the same state (steps must be "
                                     "deterministic and side-effect free)")
        out, starts, counts, triples = [], [], [], []
        deltas = []
        first, base = self._ent_start.n, self._d_aid.n
        for k, rid, res in zip(packed, rids, results):
            if res is None:
                rec = recs[rid]
                self._impure_steps.add(p.phase_name(rec.pc, c) if isinstance(rec.pc, int)
                                       else "enactor")
                out.append(0)
                continue
            out.append(first + len(starts))
            triples.append(int(triple[k >> (n * LB + ib)]))
            starts.append(base + len(deltas))
            counts.append(len(res))
            deltas.extend(res)
        self._store_entries([False] * len(starts), triples, starts, counts, deltas)
        return np.array(out, dtype=np.int64)

    def _rec_with_local(self, rids, lids):
        """The record id of each record with its local data replaced."""
        cap = 1 << self.LOCAL_BITS
        tab = self._with_local
        if tab is None or len(tab) < len(self._recs) * cap:
            old = tab
            tab = np.full((1 << _bits(max(len(self._recs), 16) - 1)) * cap, -1, dtype=np.int64)
            if old is not None:
                tab[:len(old)] = old
            self._with_local = tab
        idx = rids * cap + lids
        got = tab[idx]
        for x in np.unique(idx[got < 0]).tolist():
            rec = self._recs[x // cap]
            tab[x] = self._rid(rec._replace(local=self._locals[x % cap]))
        return tab[idx]
