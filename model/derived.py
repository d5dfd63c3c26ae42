"""The vector form of ANY protocol, derived from its own step methods: no second copy of the
semantics. ``vector_model(model)`` gives the fast engines (``checker/explore/vector.py``,
``parallel.py``, the cluster engine) what they consume, for shipped and user protocols alike.

How it is derived (docs/PERFORMANCE.md, "The derived vector model"):

- **Interning.** Each distinct enactor record ``(pc, held, local)`` and each distinct shared
  part ``(gen, store, dns, ext)`` gets a small integer id the first time it is seen. A key packs
  ``shared id << N*W | record id of enactor j << j*W`` into 63 bits; ``W`` is chosen from an
  estimate and the model is rebuilt wider (``widened()``) when a table outgrows its field.
- **Memoised steps.** ``protocol.enactor_steps(c, s, i)`` is evaluated once per distinct
  ``(shared id, record id, i)`` on a state whose other enactors are *sentinels*: objects that
  refuse every use (attribute, comparison, hashing, iteration, truth value). If the step
  touches none, its result depends only on what it was given, and is stored as deltas
  ``(action id, new shared id, new record id)``; the sentinels in its next states must come back
  unchanged in their places. If it touches one, it is tried again with *local views* (the other
  enactors show only their ``local`` data) and memoised per every enactor's local data; if it
  needs more (another enactor's ``pc``), or raises, it is evaluated on each real state that needs
  it. The Planner's step is memoised the same way per shared id, ``normalize`` per (ext, every
  enactor's local data), and properties per shared id (per (shared, action, shared) for
  transition invariants), with the same fallback. With symmetry on, a symmetric protocol's step
  is memoised once for all positions (``i = N`` in the memo key; its action renamed with
  ``enactor=j``), as the symmetry reduction itself assumes.
  This is sound because steps are deterministic and side-effect free, as the protocol API
  requires (``check_determinism=True`` evaluates every memoised step twice and compares).
  A protocol that overrides ``steps`` itself cannot be split by enactor: each state's
  ``steps`` is evaluated whole (correct, at about the object engine's speed).
- **Vectorised application.** For a chunk of keys, each (key, enactor)'s memo entry is one
  gather from a dense table (a numpy hash index when the id space is large), missing ones are
  computed in Python, and successor keys are built by gathering the deltas and rewriting two
  fields of each key.
- **Symmetry.** When the protocol keeps ``Protocol.canonical`` (sort the enactors), keys are
  canonicalised by sorting the record fields by the *rank* of each record's value among all
  records seen: exactly ``Protocol.canonical``'s representative. A protocol overriding
  ``canonical`` gets its own method, on decoded states.
- **Partial-order reduction** only where it is proven (the four MODEL.md protocols and
  ``cas+guarded``, docs/PERFORMANCE.md); ``por_off_reason()`` says why it is off otherwise.

The interface an engine sees (all engines know nothing else):

- ``init_keys()``: the initial states (int64 array). Keys are ids, meaningful only with the
  model's tables (``decode``); an exception with ``widen = True`` from any method asks the engine
  to restart on ``widened()``, one with ``unsupported = True`` to fall back to the object engine.
- ``expand(keys, symmetry, por) -> (src, aids, nxt)``: every enabled transition of every state
  in ``keys``, grouped by source in order and, within a source, in the object model's action
  order (Planner first, then enactors by index). ``src`` indexes ``keys``, ``aids`` are small
  action ids (< 2**15; ``aid & 7`` is the kind's index while there are at most 8 kinds), ``nxt`` the next states (canonical when ``symmetry``). With ``por`` a
  state may expand only an ample subset.
- ``kind_of(aids)`` and ``kind_names``; ``coverage_kinds`` (the kinds the output lists).
- ``symmetric``; ``canonical(keys)``; ``encode(state)``/``decode(key)``;
  ``step(key, aid, symmetry)`` (replaying a stored path).
- ``state_check(prop, base_model=None)``, ``transition_check(prop, base_model=None)``,
  ``graph_check(prop, base_model)``: vectorised versions of a property, or None.
- ``por_sound_for(prop)``, ``por_off_reason()`` (None when the reduction is available).
- ``notes()``: one-line remarks on how this model was derived (slow paths taken), for output.
- **Processes.** Ids are interned lazily in the process that built the model
  (``process_local = True``): a copy in another process (forked or pickled) knows the ids
  interned before the copy and refuses to intern new ones (``ProcessLocalMiss``). An engine that
  expands elsewhere first calls ``prepare(keys, symmetry, por)`` in the owner, which computes
  everything ``expand(keys)`` needs, and then ships a fresh copy of the model (``parallel.py``
  re-forks its workers once per level).
"""

from __future__ import annotations

import os
from operator import is_

import numpy as np

from .loader import is_real_interrupt, running_user_code
from .protocols import Cas, Guarded, Original, Protocol, Recheck
from .state import APPLY0, CLEANUP, State
from .npmemo import Growable, HashIndex
from .sentinels import LocalView, Probe, Sentinel, Touched, view
from .variants import CasGuarded

__all__ = ["DerivedModel", "vector_model", "NotPackable", "KeyOverflow", "ProcessLocalMiss",
           "POR_PROPERTIES", "KEY_BITS"]

KEY_BITS = 63  # keys are non-negative int64
MAX_ACTIONS = 1 << 15  # action ids are int16

# Properties and protocols for which the cleanup-first partial-order reduction is proven
# sound (docs/PERFORMANCE.md, "Partial-order reduction"): MODEL.md's four, and cas+guarded,
# each of whose steps is a step of cas or of guarded. Exact classes: a subclass may change
# any step.
POR_PROPERTIES = frozenset({"no-dangling", "monotonic", "recoverable"})
POR_PROTOCOLS = (Original, Recheck, Cas, Guarded, CasGuarded)


class NotPackable(ValueError):
    """The model has no vector form (for example: keys would need more than 63 bits)."""


class KeyOverflow(Exception):
    """An intern table outgrew its field of the key: rebuild with ``widened()``. Engines see
    only ``widen = True`` (restart the search on ``vm.widened()``)."""

    widen = True


class TooManyActions(NotPackable):
    """More distinct actions than action ids (int16). Engines see ``unsupported = True``
    (fall back to the object engine)."""

    unsupported = True


class ProcessLocalMiss(RuntimeError):
    """A copy of the model in another process met a value it has no id for: the owner should
    have called ``prepare`` before shipping the work."""


def _bits(n: int) -> int:
    """Bits needed to store 0..n."""
    return max(1, int(n).bit_length())


_RECENT: list = []  # (config, protocol, vm): the last few derived models, reused
_RECENT_SIZE = 4


def vector_model(model):
    """The derived vector model of ``model`` (a ``DnsSystem``), or None when there is none.

    The same model (same configuration, same protocol object) gets the same vector model
    within a process, so that an engine's front end, its expander and a rerun share one set of
    intern tables (and its memoised steps)."""
    for config, protocol, vm in _RECENT:
        if config == model.config and protocol is model.protocol \
                and vm.symmetric == bool(model.symmetric):
            return vm
    try:
        vm = DerivedModel(model)
    except NotPackable:
        return None
    _remember(vm)
    return vm


def _remember(vm):
    _RECENT[:] = [x for x in _RECENT if not (x[0] == vm.config and x[1] is vm.protocol)]
    _RECENT.insert(0, (vm.config, vm.protocol, vm))
    del _RECENT[_RECENT_SIZE:]


_new_state = tuple.__new__  # a State from a tuple, without NamedTuple's Python-level __new__
_STANDINS = (Sentinel, LocalView)


class DerivedModel:
    """The vector form of one ``DnsSystem``, derived from its protocol's step methods."""

    process_local = True

    def __init__(self, model, record_bits: int | None = None, check_determinism: bool = False):
        c = model.config
        self.model = model
        self.config = c
        self.protocol = model.protocol
        self.n = c.enactors
        self.check_determinism = check_determinism
        cls = type(self.protocol)
        self.symmetric = bool(model.symmetric)
        self.whole = cls.steps is not Protocol.steps  # steps cannot be split by enactor
        self.normalizes = cls.normalize is not Protocol.normalize
        self.python_canonical = cls.canonical is not Protocol.canonical
        self.por_proven = cls in POR_PROTOCOLS
        names = tuple(getattr(model, "action_kinds", {}) or ())
        self.coverage_kinds = names
        self.kb = max(3, _bits(len(names)))  # aid = (action number << kb) | kind's slot
        self._kind_mask = (1 << self.kb) - 1
        # one name per slot: the declared kinds, then undeclared ones named as they are met
        # (by their class, like the object engine); the last slot, "other", takes any beyond
        self.kind_names = list(names) + ["other"] * ((1 << self.kb) - len(names))
        self._kind_slot = {name: j for j, name in enumerate(names)}
        if record_bits is None:
            phases = (APPLY0 + c.endpoints * (1 + len(cls.endpoint_phases)) + len(cls.phases))
            record_bits = _bits(2 * phases * (c.plans + 1))
            while record_bits > 3 and KEY_BITS - self.n * record_bits < 20:
                record_bits -= 1  # leave the shared part room; widened() if records outgrow it
        self.w = record_bits
        self.ssh = self.n * self.w
        self.sbits = KEY_BITS - self.ssh
        if self.sbits < 8:
            raise NotPackable(f"{c.slug()}: {self.n} enactors x {self.w} bits leave no room "
                              f"for the shared part in {KEY_BITS} bits")
        self.ib = _bits(self.n)  # i in 0..N-1, or N: "at any position" (symmetric protocols)
        self._wm = (1 << self.w) - 1
        self._emask = np.int64((1 << self.ssh) - 1)  # all record fields
        self._owner = os.getpid()
        # intern tables (values <-> ids)
        self._shared, self._shared_id = [], {}
        self._recs, self._rec_id = [], {}
        self._actions, self._action_id, self._action_of = [], {}, {}
        # memoised steps: planner per shared id (dense), enactors per (shared, record, i)
        self._pl_start, self._pl_count = Growable(np.int64), Growable(np.int64)  # -1: not known
        self._pl_aid, self._pl_sid = Growable(np.int16), Growable(np.int64)
        self._index = HashIndex()  # (shared, record, i) -> entry
        self._ent_any = Growable(np.bool_)  # entry computed at position 0, for any position
        self._ent_any.extend([False])
        self._ren = np.full((MAX_ACTIONS, self.n), -1, dtype=np.int16)  # action at position j
        self._renamed: set = set()  # action ids with their row of _ren filled
        # entries that read other enactors' local data: (entry, local ids) -> entry
        self._index2 = HashIndex()
        self._locals, self._local_id = [], {}
        self._norm_index = HashIndex()  # (ext id, local ids) -> normalize entry
        self._norm_ext, self._norm_lid = Growable(np.int64), Growable(np.int64)  # N lids per entry
        self._exts, self._ext_id = [], {}
        self._ext_index = HashIndex()  # (shared id, ext id) -> shared id
        self._norm_same = Growable(np.bool_)
        self._norm_memo: dict = {}  # key -> normalized key, where normalize reads more
        self._with_local = None  # (record id * LOCAL_CAP + local id) -> record id
        # count -1: evaluate on the real state; -2: look again with other enactors' local data
        self._ent_start, self._ent_count = Growable(np.int64), Growable(np.int64)
        self._ent_start.extend([0])
        self._ent_count.extend([-1])  # entry 0: "evaluate on the real state"
        self._ent_triple = Growable(np.int64)  # the (shared, record, i) key of each entry
        self._ent_triple.extend([-1])
        self._d_aid, self._d_sid, self._d_rid = Growable(np.int16), Growable(np.int64), Growable(np.int64)
        self._memo: dict = {}  # (key, slot) or key -> [(aid, key)], filled by prepare()
        self._rank_n = -1
        self._impure_steps: set = set()
        self._probe = Probe()
        self._sent = tuple(Sentinel(self._probe) for _ in range(self.n))
        self._sent2 = tuple(Sentinel(self._probe) for _ in range(self.n))  # a second state's
        # per position i (N: the Planner), which enactors a next state keeps identical
        self._same_mask = [[j != i for j in range(self.n)] for i in range(self.n + 1)]
        self._tables: dict = {}  # lazily computed per-id numpy tables

    def __repr__(self) -> str:
        return f"DerivedModel({self.model!r}, {self.w} bits per record)"

    def widened(self):
        """The same model with fields sized for the tables seen so far (x4 headroom), or None
        when no layout fits 63 bits."""
        need_r = _bits(4 * max(len(self._recs), 1))
        w = max(need_r, self.w + 1 if len(self._recs) >= (1 << self.w) else self.w)
        if len(self._shared) >= (1 << self.sbits):
            w = need_r if need_r < self.w else None
            if w is None:
                return None
        try:
            vm = DerivedModel(self.model, record_bits=w, check_determinism=self.check_determinism)
        except NotPackable:
            return None
        _remember(vm)
        return vm

    def notes(self) -> list:
        """How this model was derived, where that is slower than usual (for the output)."""
        out = []
        if self.whole:
            out.append(f"protocol {self.protocol.name!r} overrides steps(): each state's steps "
                       "are evaluated whole (object-engine speed)")
        if self._impure_steps:
            out.append(f"steps reading other enactors ({', '.join(sorted(self._impure_steps))}) "
                       "are evaluated on each state that needs them")
        if self.python_canonical and self.symmetric:
            out.append(f"protocol {self.protocol.name!r} overrides canonical(): symmetry uses "
                       "it on decoded states")
        return out

    # -- pickling: a copy knows what was interned before it and interns nothing ---------------
    def __getstate__(self):
        d = dict(self.__dict__)
        for k in ("_probe", "_sent", "_sent2"):
            d.pop(k)
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._owner = -1  # a copy never interns
        self._probe = Probe()
        self._sent = tuple(Sentinel(self._probe) for _ in range(self.n))
        self._sent2 = tuple(Sentinel(self._probe) for _ in range(self.n))

    def adopt(self) -> None:
        """Makes this copy the owner, which interns new values: for the only copy left, a
        model restored from a checkpoint (``checker/explore/checkpoint.py``)."""
        self._owner = os.getpid()

    # -- interning -------------------------------------------------------------------------
    def _local(self):
        if os.getpid() != self._owner:
            raise ProcessLocalMiss("this copy of the derived model met a new value; call "
                                   "prepare() in the process that built it first")

    def _sid(self, value) -> int:
        j = self._shared_id.get(value)
        if j is None:
            self._local()
            j = len(self._shared)
            if j >= (1 << self.sbits):
                raise KeyOverflow("shared")
            self._shared_id[value] = j
            self._shared.append(value)
        return j

    def _rid(self, rec) -> int:
        j = self._rec_id.get(rec)
        if j is None:
            self._local()
            j = len(self._recs)
            if j > self._wm:
                raise KeyOverflow("record")
            self._rec_id[rec] = j
            self._recs.append(rec)
        return j

    def _aid(self, action) -> int:
        j = self._action_id.get(action)
        if j is None:
            self._local()
            kind = self._kind_slot.get(action.kind)
            if kind is None:  # an undeclared kind: the next free slot, else "other"
                kind = self._kind_slot[action.kind] = min(len(self._kind_slot), self._kind_mask)
                if kind < self._kind_mask:
                    self.kind_names[kind] = action.kind
            j = (len(self._actions) << self.kb) | kind
            if j >= MAX_ACTIONS:
                raise TooManyActions(f"more than {MAX_ACTIONS >> self.kb} distinct actions")
            self._action_id[action] = j
            self._actions.append(action)
            self._action_of[j] = action
        return j

    # -- between objects and keys ----------------------------------------------------------
    def encode(self, s: State) -> int:
        key = self._sid((s.gen, s.store, s.dns, s.ext)) << self.ssh
        for j, e in enumerate(s.enactors):
            key |= self._rid(e) << (j * self.w)
        return key

    def decode(self, key) -> State:
        key = int(key)
        g, st, dns, ext = self._shared[key >> self.ssh]
        recs = self._recs
        es = tuple(recs[(key >> (j * self.w)) & self._wm] for j in range(self.n))
        return State(g, st, dns, es, ext)

    def init_keys(self) -> np.ndarray:
        return np.array([self.encode(s) for s in self.model.init_states()], dtype=np.int64)

    def kind_of(self, aids: np.ndarray) -> np.ndarray:
        return aids & self._kind_mask

    def _sentinel_state(self, sid, i=None, rid=None, sents=None):
        g, st, dns, ext = self._shared[sid]
        es = sents or self._sent
        if i is not None:
            es = es[:i] + (self._recs[rid],) + es[i + 1:]
        return _new_state(State, (g, st, dns, es, ext))

    # -- memoised steps ----------------------------------------------------------------------
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

    # -- normalize (a protocol's renaming of every next state) --------------------------------
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

    DENSE_LIMIT = 1 << 24  # entries of the dense memo table (4 bytes each)

    def _dense_table(self):
        """The memo as a dense int32 table over (shared id, record id, i), sized for the ids
        interned so far (rebuilt from the hash index when they outgrow it); None when that
        would exceed DENSE_LIMIT entries."""
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
        d = np.full(sc * rc * cols, -1, dtype=np.int32)
        ix = self._index
        known = ix.keys >= 0
        t, e = ix.keys[known], ix.vals[known]
        sh = self.w + self.ib
        sid, rid, i = t >> sh, (t >> self.ib) & self._wm, t & ((1 << self.ib) - 1)
        d[(sid * rc + rid) * cols + i] = e
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

    # -- successors ------------------------------------------------------------------------
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
            miss = ent < 0
            if miss.any():
                ck = self._triple(np.broadcast_to(sid, rids.shape)[miss], rids[miss],
                                  np.broadcast_to(pos, rids.shape)[miss])
                self._fill_enactors(np.unique(ck))
                ent[miss] = self._index.get(ck)
                dense[idx[miss]] = ent[miss]
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
        for i in range(n):
            keep = np.int64(((1 << self.ssh) - 1) & ~(self._wm << (i * w)))

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

    # -- symmetry ----------------------------------------------------------------------------
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

    # -- partial-order reduction (the four MODEL.md protocols) ---------------------------------
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

    # -- properties ----------------------------------------------------------------------------
    def state_check(self, prop, base_model=None):
        """Vectorised ``prop.holds`` for a state invariant: ``f(keys) -> bool array``."""
        if prop.kind != "state invariant":
            return None
        model = base_model if base_model is not None else self.model
        return _StatePredicate(self, lambda s: prop.holds(model, s))

    def transition_check(self, prop, base_model=None):
        """Vectorised ``prop.holds`` for a transition invariant: ``f(src, aids, dst)``."""
        if prop.kind != "transition invariant":
            return None
        model = base_model if base_model is not None else self.model
        return _TransitionPredicate(self, lambda s, a, t: prop.holds(model, s, a, t))

    def graph_check(self, prop, base_model):
        """``(in_scope, is_goal)`` vectorised for a graph property over this (extended) model,
        relative to ``base_model``; or None."""
        if prop.kind != "graph property":
            return None
        return (_StatePredicate(self, lambda s: prop.in_scope(base_model, s)),
                _StatePredicate(self, lambda s: prop.is_goal(base_model, s)))

    # == for the cluster engine (checker/explore/cluster.py): what a copy cannot expand ========
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


class _StatePredicate:
    """A predicate of states, memoised per shared id while it reads no enactor; else
    evaluated on each decoded state."""

    def __init__(self, vm, fn):
        self.vm, self.fn = vm, fn
        self.table = Growable(np.int8)
        self.per_state = False

    def __call__(self, keys):
        vm = self.vm
        keys = np.asarray(keys, dtype=np.int64)
        if not self.per_state:
            sid = keys >> vm.ssh
            tab = self.table
            if tab.n < len(vm._shared):
                tab.extend(np.full(len(vm._shared) - tab.n, -1, dtype=np.int8))
            todo = np.unique(sid[tab.view[sid] < 0]).tolist()
            outs = vm._evaluate(lambda j: (bool(self.fn(vm._sentinel_state(j))),),
                                [(j,) for j in todo])
            if any(out is None for out in outs):
                self.per_state = True
            else:
                tab.a[todo] = [out[0] for out in outs]
            if not self.per_state:
                return tab.view[sid] == 1
        return np.array([bool(self.fn(vm.decode(k))) for k in keys.tolist()], dtype=bool)


class _TransitionPredicate:
    """A predicate of transitions, memoised per (shared id, action id, shared id) while it reads
    no enactor; else evaluated on each decoded transition."""

    SHARED_BITS = 24  # memo keys pack (shared, shared, action) while shared ids fit this

    def __init__(self, vm, fn):
        self.vm, self.fn = vm, fn
        self.memo = HashIndex()  # packed triple -> 0/1
        self.per_state = False

    def __call__(self, src, aids, dst):
        vm = self.vm
        src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
        aids = np.asarray(aids, dtype=np.int64)
        if not len(src):
            return np.ones(0, dtype=bool)
        if not self.per_state and len(vm._shared) < (1 << self.SHARED_BITS):
            sb = self.SHARED_BITS
            t = (((src >> vm.ssh) << sb) | (dst >> vm.ssh)) * MAX_ACTIONS + aids
            got = self.memo.get(t)
            if (got < 0).any():
                miss = np.unique(t[got < 0])
                mask = (1 << sb) - 1
                state, act_of, sent2 = vm._sentinel_state, vm._action_of, vm._sent2
                outs = vm._evaluate(
                    lambda x: (bool(self.fn(state((x // MAX_ACTIONS) >> sb), act_of[x % MAX_ACTIONS],
                                            state((x // MAX_ACTIONS) & mask, sents=sent2))),),
                    [(x,) for x in miss.tolist()])
                if any(out is None for out in outs):
                    self.per_state = True
                else:
                    res = np.array([out[0] for out in outs], dtype=np.int64)
                    self.memo.add(miss, res)
                    got = self.memo.get(t)
            if not self.per_state:
                return got == 1
        acts = vm._action_of
        return np.array([bool(self.fn(vm.decode(s), acts[a], vm.decode(t)))
                         for s, a, t in zip(src.tolist(), aids.tolist(), dst.tolist())],
                        dtype=bool)
