"""``expand``: every transition of a chunk of keys, from the memo, built with numpy.

The enactors' successors, most of a chunk's, are written by one compiled loop
(``_kernels.c``, built at install) where that module was built: one pass over the sources
instead of numpy's passes over repeated copies of them. The numpy code here is the reference
that tests compare it with, and the fallback (``DNSRACE_KERNELS=numpy`` picks it).
"""

from __future__ import annotations

import numpy as np

from . import compiled
from .npmemo import Growable


class Successors:
    """Part of ``DerivedModel`` (model.py): ``expand``: every transition of a chunk of keys,
    from the memo, built with numpy."""

    def prepare(self, keys, symmetry: bool = False, por: bool = False) -> None:
        """Computes in this process everything ``expand(keys, symmetry, por)`` will need, so
        that a copy of the model made afterwards expands ``keys`` without interning."""
        self._memo = {}
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if self.whole or self.normalizes or (symmetry and self.symmetric
                                             and self.python_canonical):
            self._memo = _Recorder(self)
            self.expand(keys, symmetry, por)
            self._memo = dict(self._memo.items())
            return
        self._lookup(keys, record=True, anywhere=bool(symmetry and self.symmetric))
        if "lid" in self._tables:  # records interned since the table was made: their local
            self._local_ids(keys[:0])  # data needs ids too, or a copy's _local_ids interns

    def _lookup(self, keys, record=False, anywhere=False):
        """Planner and enactor memo entries of every key (filling misses). With ``anywhere``
        (symmetry on, for a protocol that declares it) an enactor's step is memoised once for
        every position, as the symmetry reduction already assumes."""
        sid, ent, _ = self._lookup_counts(keys, record, anywhere)
        return sid, ent

    def _lookup_counts(self, keys, record=False, anywhere=False):
        """``_lookup``, and the successor count of every (enactor, key) entry (< 0: evaluate
        on the real state)."""
        sid = keys >> self.ssh
        start = self._pl_start
        if start.n < len(self._shared) or (start.view[sid] < 0).any():
            self._fill_planner(np.unique(sid))
        slots = list(range(self.n))
        ent = self._entries(keys, sid, slots, [self.n if anywhere else i for i in slots])
        ent_count = self._ent_count.view
        cnt = ent_count[ent]
        if anywhere:
            per_pos = cnt == -3
            for i in range(self.n):
                rows = np.flatnonzero(per_pos[i])
                if len(rows):
                    ent[i, rows] = self._entries(keys[rows], sid[rows], [i], [i])[0]
                    cnt[i, rows] = self._ent_count.view[ent[i, rows]]
        two = cnt == -2
        if two.any():
            self._resolve_locals(keys, sid, ent, two)
            cnt[two] = self._ent_count.view[ent[two]]
        if record:  # evaluate impure entries on their states now
            imp = self._pl_count.view[sid] < 0
            for r in np.flatnonzero(imp).tolist():
                self._memo[(int(keys[r]), 0)] = self._full(int(keys[r]), 0)
            for i in range(self.n):
                for r in np.flatnonzero(cnt[i] < 0).tolist():
                    self._memo[(int(keys[r]), i + 1)] = self._full(int(keys[r]), i + 1)
        return sid, ent, cnt

    def _entries(self, keys, sid, slots, positions):
        """The memo entry of each key's enactor ``slots[j]``, memoised at ``positions[j]``
        (N: any position); one row per slot."""
        slot = np.array(slots, dtype=np.int64)[:, None]
        pos = np.array(positions, dtype=np.int64)[:, None]
        rids = (keys[None, :] >> (slot * self.w)) & self._wm  # one row per slot
        # the memo is small next to a level: search it unsorted, sort only what it lacks
        dense = self._dense_table()
        if dense is not None:  # a plain gather when the (shared, record, i) space is small
            idx = (sid[None, :] * self._dense_r + rids) * (self.n + 1) + pos
            ent = dense[idx].astype(np.int64)
            ent -= 1  # the table holds entry + 1
            miss = ent < 0
            if miss.any():
                ck = self._triple(np.broadcast_to(sid, rids.shape)[miss], rids[miss],
                                  np.broadcast_to(pos, rids.shape)[miss])
                self._fill_enactors(np.unique(ck))
                ent[miss] = self._index.get(ck)
                dense[idx[miss]] = ent[miss] + 1
        else:
            ck = self._triple(sid[None, :], rids, pos).ravel()
            ent = self._index.get(ck)
            if (ent < 0).any():
                self._fill_enactors(np.unique(ck[ent < 0]))
                ent = self._index.get(ck)
            ent = ent.reshape(rids.shape)
        return ent

    def _delta_tables(self):
        """Per enactor delta: its shared id shifted into place, and its action id at every
        position (renamed for an entry memoised for any position); extended as deltas are
        added (in the order of their entries)."""
        t = self._tables.get("deltas")
        if t is None:
            t = self._tables["deltas"] = [0, 0, Growable(np.int64), Growable(np.int16)]
        n_ent, n_d, hi, aid_at = t
        if n_d < self._d_aid.n:
            e = np.arange(n_ent, self._ent_start.n)
            c = self._ent_count.view[e]
            owner_any = np.repeat(self._ent_any.view[e], np.maximum(c, 0))
            a = self._d_aid.view[n_d:]
            assert len(owner_any) == len(a), "deltas are added in the order of their entries"
            hi.extend(self._d_sid.view[n_d:] << self.ssh)
            aid_at.extend(np.where(owner_any[:, None], self._ren[a], a[:, None]).ravel())
        t[0], t[1] = self._ent_start.n, self._d_aid.n
        return hi.a, aid_at.a

    def expand(self, keys, symmetry: bool = False, por: bool = False):
        """Every enabled transition of every state in ``keys``: ``(src, aids, nxt)``, grouped
        by source and, within a source, in the object model's action order."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        m, n, w = len(keys), self.n, self.w
        if self.whole:
            return self._expand_python(keys, symmetry)
        sid, ent, cnt = self._lookup_counts(keys, anywhere=bool(symmetry and self.symmetric))
        counts = np.empty((m, n + 1), dtype=np.int64)
        counts[:, 0] = self._pl_count.view[sid]
        counts[:, 1:] = cnt.T
        impure = counts < 0
        extra = {}
        if impure.any():
            for r, slot in zip(*np.nonzero(impure)):
                key = int(keys[r])
                got = self._memo.get((key, int(slot)))
                extra[(int(r), int(slot))] = got if got is not None else \
                    self._full(key, int(slot))
                counts[r, slot] = len(extra[(int(r), int(slot))])
        if por and self.por_proven:
            self._ample(keys, sid, counts)
        flat = counts.ravel()
        starts = (np.cumsum(flat) - flat).reshape(m, n + 1)
        total = int(flat.sum())
        out_key = np.empty(total, dtype=np.int64)
        out_aid = np.empty(total, dtype=np.int16)
        low = keys & self._emask
        pure = ~impure
        self._scatter(counts[:, 0] * pure[:, 0], self._pl_start.view[sid], starts[:, 0],
                      out_key, out_aid, lambda rows, d: low[rows] | (self._pl_sid.a[d] << self.ssh),
                      self._pl_aid.a)
        ent_start = self._ent_start.view
        hi, aid_at = self._delta_tables()
        d_rid = self._d_rid.a
        place = self._insertion(keys) if symmetry and self.symmetric else None
        kernels = compiled.kernels if n * w <= 64 else None
        if kernels is not None:  # (without place, symmetry's canonical form comes afterwards)
            rank = self._ranks()[0] if place is not None else None
            shared, full = int(~self._emask), (1 << ((n - 1) * w)) - 1
        for i in range(n):
            keep = np.int64(((1 << self.ssh) - 1) & ~(self._wm << (i * w)))
            if kernels is not None:
                kernels.enactor_successors(
                    keys, np.ascontiguousarray(counts[:, i + 1] * pure[:, i + 1]),
                    ent_start[ent[i]], np.ascontiguousarray(starts[:, i + 1]), int(keep),
                    hi, d_rid, i * w, aid_at, n, i, out_key, out_aid, rank, w, shared, full)
                continue

            def build(rows, d, keep=keep, sh=i * w, i=i):
                if place is not None:  # canonical at once: the one new record moved in place
                    return place(rows, d_rid[d], i, (keys[rows] & keep) | hi[d])
                return (keys[rows] & keep) | hi[d] | (d_rid[d] << sh)

            def aid(rows, d, i=i):
                return aid_at[d * n + i]
            self._scatter(counts[:, i + 1] * pure[:, i + 1], ent_start[ent[i]],
                          starts[:, i + 1], out_key, out_aid, build, aid)
        at = []
        for (r, slot), succ in extra.items():
            if counts[r, slot] == 0:  # dropped by the ample set
                continue
            b = starts[r, slot]
            for j, (a, k) in enumerate(succ):
                out_aid[b + j], out_key[b + j] = a, k
                at.append(b + j)
        src = np.repeat(np.arange(m), counts.sum(axis=1))
        if place is not None:  # only the successors evaluated on their whole state are left
            at = np.array(at, dtype=np.int64)
            out_key[at] = self.canonical(out_key[at])
            return src, out_aid, out_key
        if self.normalizes:
            out_key = self._normalize(out_key)
        if symmetry and self.symmetric:
            out_key = self.canonical(out_key)
        return src, out_aid, out_key

    def _insertion(self, keys):
        """With symmetry, successors made canonical as they are built, or None (then
        ``canonical`` sorts them all afterwards). A planner step keeps every record, an
        enactor step changes only its own: from a canonical source (records ordered by value)
        the successor is canonical once that one record is moved to its place among the
        others, a shift of the fields in between; that is a few array operations instead of
        a sorting network. Needs the default canonical form, no ``normalize`` and canonical
        sources (checked: any other source falls back)."""
        n, w, wm = self.n, self.w, self._wm
        if self.python_canonical or self.normalizes or n == 1:
            return None
        rank, _ = self._ranks()
        src_rank = [rank[(keys >> (j * w)) & wm] for j in range(n)]
        if any((a > b).any() for a, b in zip(src_rank, src_rank[1:])):
            return None
        full = (1 << ((n - 1) * w)) - 1
        shared = ~self._emask

        def place(rows, rid, i, rest):
            """``rest``: the successor without its record ``i`` (``rid``), other records and
            shared part in place."""
            new_rank = rank[rid]
            p = np.zeros(len(rows), dtype=np.int64)
            for j in range(n):
                if j != i:
                    p += src_rank[j][rows] < new_rank
            low = (1 << (i * w)) - 1
            others = (rest & low) | ((rest >> w) & (full & ~low))  # n - 1 records, packed
            below = (np.int64(1) << (p * w)) - 1
            return (rest & shared) | (others & below) | (rid << (p * w)) | \
                ((others & ~below) << w)
        return place

    @staticmethod
    def _scatter(c, st, pos0, out_key, out_aid, build, aid_table):
        nz = np.flatnonzero(c)
        if not len(nz):
            return
        cn = c[nz]
        if cn.max() == 1:
            rows, d, pos = nz, st[nz], pos0[nz]
        else:
            rows = np.repeat(nz, cn)
            off = np.arange(int(cn.sum())) - np.repeat(np.cumsum(cn) - cn, cn)
            d = np.repeat(st[nz], cn) + off
            pos = np.repeat(pos0[nz], cn) + off
        out_key[pos] = build(rows, d)
        out_aid[pos] = aid_table(rows, d) if callable(aid_table) else aid_table[d]

    def _expand_python(self, keys, symmetry):
        """Whole-state evaluation (a protocol whose ``steps`` cannot be split by enactor)."""
        src, aids, nxt = [], [], []
        for r, key in enumerate(keys.tolist()):
            got = self._memo.get((key, -1))
            for a, k in (got if got is not None else self._full(key, -1)):
                src.append(r)
                aids.append(a)
                nxt.append(k)
        nxt = np.array(nxt, dtype=np.int64)
        if symmetry and self.symmetric:
            nxt = self.canonical(nxt)
        return np.array(src, dtype=np.int64), np.array(aids, dtype=np.int16), nxt

    def step(self, key: int, aid: int, symmetry: bool = False) -> int:
        """The state after action id ``aid`` from ``key`` (for replaying a stored path)."""
        _, aids, nxt = self.expand(np.array([key], dtype=np.int64), symmetry)
        hit = np.nonzero(aids == aid)[0]
        if len(hit) == 0:
            raise ValueError(f"action id {aid} is not enabled")
        return int(nxt[hit[0]])


class _Recorder(dict):
    """The memo while prepare() runs a whole expansion: records every evaluation."""

    def __init__(self, vm):
        super().__init__()
        self.vm = vm
        self.busy = set()

    def get(self, key, default=None):
        got = super().get(key)
        if got is None and key not in self.busy:  # _full itself looks the key up first
            self.busy.add(key)
            try:
                got = self[key] = self.vm._full(*key)
            finally:
                self.busy.discard(key)
        return got
