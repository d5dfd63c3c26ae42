"""``DerivedModel``: the vector form of one ``DnsSystem``, made of one part per concern
(interning, memo, local data, normalize, successors, reductions, predicates, copies), and
``vector_model``, which derives it once per model and process."""

from __future__ import annotations

import os

import numpy as np

from ..protocols import Protocol
from ..state import APPLY0
from .copies import Copies
from .interning import Interning
from .layout import KEY_BITS, MAX_ACTIONS, NotPackable, _bits
from .local_data import LocalData
from .memo import Memo
from .normalize import Normalize
from .npmemo import Growable, HashIndex
from .predicates import Predicates
from .reductions import POR_PROTOCOLS, Reductions
from .sentinels import Probe, Sentinel
from .successors import Successors

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


class DerivedModel(Interning, Memo, LocalData, Normalize, Successors, Reductions, Predicates,
                   Copies):
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
        self._d_aid = Growable(np.int16)
        self._d_sid, self._d_rid = Growable(np.int64), Growable(np.int64)
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
