"""Ids for values, and keys for states: the intern tables and the key layout."""

from __future__ import annotations

import os

import numpy as np

from ..state import State
from .layout import _new_state, KeyOverflow, MAX_ACTIONS, ProcessLocalMiss, TooManyActions


class Interning:
    """Part of ``DerivedModel`` (model.py): ids for values, and keys for states: the intern
    tables and the key layout."""

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
