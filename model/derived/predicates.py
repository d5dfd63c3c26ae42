"""Properties on keys: state and transition invariants, graph properties, memoised per shared id."""

from __future__ import annotations

import numpy as np

from .layout import MAX_ACTIONS
from .npmemo import Growable, HashIndex


class Predicates:
    """Part of ``DerivedModel`` (model.py): properties on keys: state and transition
    invariants, graph properties, memoised per shared id."""

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
            absent = got < 0
            if absent.any():
                miss, at = np.unique(t[absent], return_inverse=True)
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
                    got[absent] = res[at.ravel()]
            if not self.per_state:
                return got == 1
        acts = vm._action_of
        return np.array([bool(self.fn(vm.decode(s), acts[a], vm.decode(t)))
                         for s, a, t in zip(src.tolist(), aids.tolist(), dst.tolist())],
                        dtype=bool)
