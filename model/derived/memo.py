"""Steps memoised on sentinel states: evaluation under the user-code guard, deltas, the memo
tables."""

from __future__ import annotations

from operator import is_

import numpy as np

from ..loader import is_real_interrupt, running_user_code
from ..state import State
from .layout import _bits, _new_state, _STANDINS
from .sentinels import Touched


class Memo:
    """Part of ``DerivedModel`` (model.py): steps memoised on sentinel states: evaluation
    under the user-code guard, deltas, the memo tables."""

    def _evaluate(self, fn, arglist):
        """``fn(*args)`` as a list for each ``args`` of ``arglist``, all under one user-code
        guard (a time limit may interrupt them there; what runs between them only appends to
        the local list). None where the call must be evaluated on the real state instead: it
        touched a sentinel, or raised (the real evaluation raises what the object engine
        would, through the protocol's guarded entry points)."""
        probe = self._probe
        outs = []
        append = outs.append
        with running_user_code(self.protocol):
            for args in arglist:
                probe.touched = False
                try:
                    out = list(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - SystemExit too: the real run reports it
                    if is_real_interrupt(exc):
                        raise
                    out = None
                else:
                    if probe.touched:
                        out = None
                append(out)
        return outs

    def _call(self, fn, *args):
        """``(fn(*args) as a list, False)``, or ``(None, True)`` where it must be evaluated on
        the real state (see ``_evaluate``)."""
        out = self._evaluate(fn, (args,))[0]
        return out, out is None

    def _deltas(self, out, i, sents=None):
        """``[(aid, new sid, new rid)]`` of a sentinel evaluation's result ``out`` (rid -1 for
        the Planner, ``i`` None); None when a next state moved, dropped or looked into a
        sentinel (or is malformed: the real evaluation reports it)."""
        if out is None:
            return None
        sents = sents or self._sent
        n, probe = self.n, self._probe
        same = self._same_mask[n if i is None else i]
        aid_of, sid_of, rid_of = self._action_id, self._shared_id, self._rec_id  # known ids
        res = []
        probe.touched = False
        try:
            for a, s in out:
                if type(s) is not State:
                    return None
                es = s[3]
                if type(es) is not tuple or len(es) != n or list(map(is_, es, sents)) != same:
                    return None
                if i is None:
                    r = -1
                else:
                    e = es[i]
                    if type(e) in _STANDINS:
                        return None
                    r = rid_of.get(e)
                    if r is None:
                        r = self._rid(e)
                j = aid_of.get(a)
                if j is None:
                    j = self._aid(a)
                v = (s[0], s[1], s[2], s[4])
                t = sid_of.get(v)
                res.append((j, self._sid(v) if t is None else t, r))
        except (Touched, TypeError, AttributeError, ValueError):
            return None
        return None if probe.touched else res

    def _memo_entries(self, fn, arglist, positions, sents=None):
        """The deltas (``_deltas``) of ``fn(*args)`` for each ``args`` (enactor
        ``positions[j]``, None for the Planner); with ``check_determinism`` every call is
        made twice and the results compared."""
        outs = self._evaluate(fn, arglist)
        res = [self._deltas(out, i, sents) for out, i in zip(outs, positions)]
        if self.check_determinism:
            again = self._evaluate(fn, arglist)
            if [self._deltas(out, i, sents) for out, i in zip(again, positions)] != res:
                raise AssertionError(f"protocol {self.protocol.name!r}: a step gave two "
                                     "different results on the same state (steps must be "
                                     "deterministic and side-effect free)")
        return res

    def _fill_planner(self, sids):
        start, count = self._pl_start, self._pl_count
        if start.n < len(self._shared):  # ids interned since: not known yet
            more = np.full(len(self._shared) - start.n, -1, dtype=np.int64)
            start.extend(more)
            count.extend(more)
        miss = (sids[start.view[sids] < 0] if len(sids) else sids).tolist()
        c, p, state = self.config, self.protocol, self._sentinel_state
        results = self._memo_entries(p.planner_steps, [(c, state(sid)) for sid in miss],
                                     [None] * len(miss))
        aids, nsids = [], []
        base = self._pl_aid.n
        for sid, res in zip(miss, results):
            if res is None:
                self._impure_steps.add("planner")
                start.a[sid], count.a[sid] = 0, -1
                continue
            start.a[sid], count.a[sid] = base + len(aids), len(res)
            for a, t, _ in res:
                aids.append(a)
                nsids.append(t)
        self._pl_aid.extend(aids)
        self._pl_sid.extend(nsids)
        if start.n < len(self._shared):  # the Planner's next states: ids to fill later
            more = np.full(len(self._shared) - start.n, -1, dtype=np.int64)
            start.extend(more)
            count.extend(more)

    def _triple(self, sid, rid, i):
        return (sid << (self.w + self.ib)) | (rid << self.ib) | i

    def _fill_enactors(self, miss):
        """Memo entries for the distinct (shared, record, i) keys ``miss``, not yet known."""
        c, p, n = self.config, self.protocol, self.n
        sh, rm, ib, im = self.w + self.ib, self._wm, self.ib, (1 << self.ib) - 1
        shared, recs, sent = self._shared, self._recs, self._sent
        pos = miss & im
        anywhere = (pos == n).tolist()
        positions = np.where(pos == n, 0, pos).tolist()
        before = [sent[:at] for at in range(n)]
        after = [sent[at + 1:] for at in range(n)]
        arglist = []
        for sid, rid, at in zip((miss >> sh).tolist(), ((miss >> ib) & rm).tolist(), positions):
            g, st, dns, ext = shared[sid]
            es = before[at] + (recs[rid],) + after[at]
            arglist.append((c, _new_state(State, (g, st, dns, es, ext)), at))
        results = self._memo_entries(p.enactor_steps, arglist, positions)
        starts, counts, deltas = [], [], []
        base = self._d_aid.n
        renamed = self._renamed
        for res, any_pos in zip(results, anywhere):
            if res is None:  # it looks at other enactors: try again knowing their local data
                starts.append(0)
                counts.append(-2)
                continue
            if any_pos and not all(r[0] in renamed for r in res) and \
                    not self._renamable([r[0] for r in res]):
                starts.append(0)
                counts.append(-3)  # its actions do not name it by ``enactor``: per position
                continue
            starts.append(base + len(deltas))
            counts.append(len(res))
            deltas.extend(res)
        first = self._ent_start.n
        self._store_entries(anywhere, miss, starts, counts, deltas)
        self._index.add(miss, np.arange(first, first + len(miss), dtype=np.int64))

    def _store_entries(self, anywhere, triples, starts, counts, deltas) -> None:
        """Appends memo entries and their deltas, ``(action id, shared id, record id)`` each."""
        self._ent_any.extend(anywhere)
        self._ent_triple.extend(triples)
        self._ent_start.extend(starts)
        self._ent_count.extend(counts)
        columns = zip(*deltas) if deltas else ((), (), ())
        for table, values in zip((self._d_aid, self._d_sid, self._d_rid), columns):
            table.extend(values)

    def _renamable(self, aids) -> bool:
        """Whether the actions ``aids`` of enactor 0 name it by ``enactor`` (so that the same step
        of enactor j is the same action with ``enactor=j``); fills the renaming table."""
        import dataclasses  # noqa: PLC0415

        for aid in aids:
            if aid in self._renamed:
                continue
            a = self._action_of[aid]
            if not dataclasses.is_dataclass(a) or getattr(a, "enactor", None) != 0:
                return False
            for j in range(self.n):
                self._ren[aid, j] = self._aid(dataclasses.replace(a, enactor=j))
            self._renamed.add(aid)
        return True

    DENSE_LIMIT = 1 << 24  # entries of the dense memo table (4 bytes each)

    def _dense_table(self):
        """The memo as a dense int32 table over (shared id, record id, i) holding entry + 1
        (0: not known), sized for the ids interned so far (rebuilt from the hash index when
        they outgrow it); None when that would exceed DENSE_LIMIT entries. Zero for unknown
        lets the table start as ``np.zeros``, fresh pages never written until an entry lands
        there: filling 64 MB with -1 took 150 ms of page faults here."""
        ns, nr = len(self._shared), len(self._recs)
        d = self._tables.get("dense")
        if d is not None and ns <= self._dense_s and nr <= self._dense_r:
            return d
        rc = 1 << _bits(max(nr, 16) - 1)
        cols = self.n + 1
        # room for twice the shared ids seen (as many as fit): rebuilt rarely, not per new id
        sc = min(max(2 * ns, 1024), self.DENSE_LIMIT // (rc * cols))
        if sc < ns:
            self._tables.pop("dense", None)
            return None
        d = np.zeros(sc * rc * cols, dtype=np.int32)
        ix = self._index
        known = ix.keys >= 0
        t, e = ix.keys[known], ix.vals[known]
        sh = self.w + self.ib
        sid, rid, i = t >> sh, (t >> self.ib) & self._wm, t & ((1 << self.ib) - 1)
        d[(sid * rc + rid) * cols + i] = e + 1
        self._dense_s, self._dense_r = sc, rc
        self._tables["dense"] = d
        return d

    def _full(self, key: int, slot: int):
        """``[(aid, next key)]`` of one slot (0: Planner, i+1: enactor i; -1: every step) on the
        real state ``key``, memoised for prepare()."""
        memo_key = (key, slot)
        got = self._memo.get(memo_key)
        if got is not None:
            return got
        self._local()
        s, c, p = self.decode(key), self.config, self.protocol
        try:
            with running_user_code(p):
                if slot < 0:
                    out = p.steps(c, s)
                elif slot == 0:
                    out = p.planner_steps(c, s)
                else:
                    out = p.enactor_steps(c, s, slot - 1)
                return [(self._aid(a), self.encode(n)) for a, n in out]
        except BaseException as exc:  # noqa: BLE001 - a malformed result or SystemExit too
            if is_real_interrupt(exc):
                raise
            p.steps(c, s)  # the guarded entry point names the user's step (loader.py)
            raise
