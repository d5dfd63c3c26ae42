"""A protocol's ``normalize`` (its renaming of every next state), memoised per (ext, local data)."""

from __future__ import annotations

import numpy as np

from ..state import State
from .layout import KEY_BITS
from .sentinels import LocalView, Sentinel, Touched, view


class Normalize:
    """Part of ``DerivedModel`` (model.py): a protocol's ``normalize`` (its renaming of
    every next state), memoised per (ext, local data)."""

    def _normalize(self, keys):
        """``protocol.normalize`` of every key: memoised per (``ext``, every enactor's local
        data) while it reads only those (gen, store and dns are sentinels it may only copy);
        else evaluated on each decoded state."""
        if not len(keys):
            return keys
        LB, n = self.LOCAL_BITS, self.n
        sid = keys >> self.ssh
        lids, fits = self._local_ids(keys)
        ext_of = self._per_shared("ext", lambda v: self._eid(v[3]))
        eid = ext_of[sid]
        out = keys.copy()
        if self._norm_ext.n == 0:  # entry 0: evaluate on the real state
            self._norm_ext.extend([0])
            self._norm_lid.extend([0] * n)
            self._norm_same.extend([False])
        if fits and len(self._exts) < (1 << (KEY_BITS - 1 - n * LB)):
            k = self._pack_locals(eid, lids)
            e = self._norm_index.get(k)
            if (e < 0).any():
                miss = np.unique(k[e < 0])
                self._norm_index.add(miss, self._norm_entries(miss.tolist()))
                e = self._norm_index.get(k)
        else:
            e = np.zeros(len(keys), dtype=np.int64)
        rows = np.flatnonzero(~self._norm_same.view[e] & (e > 0))
        if len(rows):
            er = e[rows]
            new = self._sid_with_ext(sid[rows], self._norm_ext.view[er]) << self.ssh
            nl = self._norm_lid.view.reshape(-1, n)[er]
            for j in range(n):
                rid = (keys[rows] >> (j * self.w)) & self._wm
                new |= self._rec_with_local(rid, nl[:, j]) << (j * self.w)
            out[rows] = new
        for r in np.flatnonzero(e == 0).tolist():
            key = int(keys[r])
            got = self._norm_memo.get(key)
            if got is None:
                self._local()
                got = self._norm_memo[key] = self.encode(
                    self.protocol.normalize(self.config, self.decode(key)))
            out[r] = got
        return out

    def _eid(self, ext) -> int:
        j = self._ext_id.get(ext)
        if j is None:
            self._local()
            j = self._ext_id[ext] = len(self._exts)
            self._exts.append(ext)
        return j

    def _sid_with_ext(self, sids, eids):
        """The shared id of each shared part with its ``ext`` replaced."""
        k = (sids << 24) | eids
        got = self._ext_index.get(k)
        if (got < 0).any():
            miss = np.unique(k[got < 0])
            vals = []
            for x in miss.tolist():
                g, st, dns, _ = self._shared[x >> 24]
                vals.append(self._sid((g, st, dns, self._exts[x & ((1 << 24) - 1)])))
            self._ext_index.add(miss, np.array(vals, dtype=np.int64))
            got = self._ext_index.get(k)
        return got

    def _norm_entries(self, packed_list):
        """New normalize entries (their indices; 0 where normalize reads more than ``ext`` and
        local data, or moves enactors)."""
        n, LB = self.n, self.LOCAL_BITS
        out, exts, nlids, same = [], [], [], []
        base = self._norm_ext.n
        g0, st0, dns0 = Sentinel(self._probe), Sentinel(self._probe), Sentinel(self._probe)
        for packed in packed_list:
            eid = packed >> (n * LB)
            lids = [(packed >> (j * LB)) & ((1 << LB) - 1) for j in range(n)]
            views = tuple(LocalView(self._probe, self._locals[lids[j]], j) for j in range(n))
            s = State(g0, st0, dns0, views, self._exts[eid])
            got, touched = self._call(lambda: [self.protocol.normalize(self.config, s)])
            if touched:
                out.append(0)
                continue
            t = got[0]
            try:
                es = t.enactors
                if type(t) is not State or len(es) != n or t.gen is not g0 or \
                        t.store is not st0 or t.dns is not dns0 or any(
                        type(x) is not LocalView or view(x, "_slot") != j
                        for j, x in enumerate(es)):
                    out.append(0)
                    continue
                new_lids = [self._lid(view(x, "_local")) for x in es]
                new_eid = self._eid(t.ext)
            except (Touched, TypeError, AttributeError, ValueError):
                out.append(0)
                continue
            if self._probe.touched:
                out.append(0)
                continue
            out.append(base + len(exts))
            exts.append(new_eid)
            nlids.extend(new_lids)
            same.append(new_eid == eid and new_lids == lids)
        self._norm_ext.extend(exts)
        self._norm_lid.extend(nlids)
        self._norm_same.extend(same)
        return np.array(out, dtype=np.int64)
