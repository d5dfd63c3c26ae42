"""The shipped protocols as a *vector model*: states packed into 63-bit integers, and
successors, symmetry and partial-order reduction computed for a whole array of states at once
with numpy.

This is the vectorised twin of ``protocols.py`` for the four shipped protocols; the object
model stays the reference (tests check that both give the same graphs) and the extension
point: a protocol without a packed form (a user protocol, or a subclass) makes
``vector_model`` return None and the caller falls back to the object engine.

The interface an engine sees (``checker/vector.py`` knows nothing else):

- ``init_keys()``: the initial states (int64 array, canonical when ``symmetry``).
- ``expand(keys, symmetry, por) -> (src, aids, nxt)``: every enabled transition of every
  state in ``keys``, grouped by source in order and, within a source, in the object model's
  action order (Planner first, then enactors by index). ``src`` indexes ``keys``, ``aids``
  are small action ids, ``nxt`` the next states (canonical when ``symmetry``). With ``por``
  a state may expand only an ample subset (see ``docs/PERFORMANCE.md``).
- ``kind_of(aids)`` and ``kind_names``: the action kind of each id, for coverage.
- ``state_check(prop)``, ``transition_check(prop)``, ``graph_check(prop)``: vectorised
  versions of a property, or None when this model has none for it.
- ``decode(key)``/``encode(state)``: between packed keys and the object model's ``State``.

Layout of a key, low bits first: enactor j's code (0 when idle, else ``(pc - 1) * P + held``;
W bits each), then ``dns[k]`` (DB bits each), then the store (bit v-1 is plan v), then ``gen``.
"""

from __future__ import annotations

import numpy as np

from .protocols import Cas, Guarded, Original, Recheck
from .state import APPLY0, CLEANUP, IDLE, Enactor, State

__all__ = ["PackedModel", "NotPackable", "vector_model", "KIND_NAMES", "POR_PROPERTIES"]

KIND_NAMES = ("plan", "pick", "write", "check", "abort", "cleanup")
_PLAN, _PICK, _WRITE, _CHECK, _ABORT, _CLEANUP = range(6)
KEY_BITS = 63  # keys are non-negative int64

_VARIANTS = {Original: "original", Recheck: "recheck", Cas: "cas", Guarded: "guarded"}

# Properties for which the cleanup-first partial-order reduction is proven sound
# (docs/PERFORMANCE.md, "Partial-order reduction"). Names, as on the CLI.
POR_PROPERTIES = frozenset({"no-dangling", "monotonic", "recoverable"})


class NotPackable(ValueError):
    """The model has no packed form (unknown protocol, or states wider than 63 bits)."""


def _bits(n: int) -> int:
    """Bits needed to store 0..n."""
    return max(1, int(n).bit_length())


def vector_model(model):
    """The packed twin of ``model`` (a ``DnsSystem``), or None when there is none."""
    try:
        return PackedModel(model)
    except NotPackable:
        return None


class PackedModel:
    """Packed states and vectorised steps for one ``DnsSystem`` with a shipped protocol."""

    kind_names = KIND_NAMES

    def __init__(self, model):
        variant = _VARIANTS.get(type(model.protocol))
        if variant is None:
            raise NotPackable(f"protocol {model.protocol.name!r} has no packed form")
        c = model.config
        self.model = model
        self.variant = variant
        self.n, self.p, self.e, self.keep = c.enactors, c.plans, c.endpoints, c.keep
        self.symmetric = bool(model.symmetric)
        self.coverage_kinds = tuple(getattr(model, "action_kinds", {}) or KIND_NAMES)
        phases = APPLY0 + self.e * (2 if variant == "recheck" else 1)
        # enactor code: 0 when idle (holding nothing), else (pc - 1) * P + held; the codes
        # are ordered as (pc, held) tuples, so sorting them is Protocol.canonical's sort
        self.ncodes = 1 + (phases - 1) * self.p
        self.w = _bits(self.ncodes - 1)
        self.db = _bits(self.p)
        self.dsh = self.n * self.w
        self.ssh = self.dsh + self.e * self.db
        self.gsh = self.ssh + self.p
        self.bits = self.gsh + _bits(self.p)
        if self.bits > KEY_BITS:
            raise NotPackable(f"{c.slug()} needs {self.bits} bits per state (at most {KEY_BITS})")
        self.slots = self.n + 1
        self._wm = (1 << self.w) - 1
        self._dm = (1 << self.db) - 1
        self._sm = (1 << self.p) - 1
        self._emask = (1 << self.dsh) - 1  # all enactor fields

    def __repr__(self) -> str:
        return f"PackedModel({self.model!r}, {self.bits} bits)"

    def __getstate__(self):  # picklable for worker processes: rebuilt from the config
        return {"config": self.model.config, "protocol": self.variant}

    def __setstate__(self, data):
        from .system import DnsSystem
        self.__init__(DnsSystem(data["config"], data["protocol"]))

    # -- between objects and keys ---------------------------------------------------------
    def encode(self, s: State) -> int:
        key = s.gen << self.gsh
        for v in s.store:
            key |= 1 << (self.ssh + v - 1)
        for k, d in enumerate(s.dns):
            key |= d << (self.dsh + k * self.db)
        for j, en in enumerate(s.enactors):
            if en.local:
                raise NotPackable("enactor-local data has no packed form")
            if (en.pc == IDLE) != (en.held == 0):
                raise NotPackable("an idle enactor holds a plan")
            key |= (0 if en.pc == IDLE else (en.pc - 1) * self.p + en.held) << (j * self.w)
        return key

    def decode(self, key: int) -> State:
        key = int(key)
        store = frozenset(v for v in range(1, self.p + 1) if key >> (self.ssh + v - 1) & 1)
        dns = tuple((key >> (self.dsh + k * self.db)) & self._dm for k in range(self.e))
        ens = []
        for j in range(self.n):
            code = (key >> (j * self.w)) & self._wm
            ens.append(Enactor(0, 0) if code == 0 else
                       Enactor(1 + (code - 1) // self.p, (code - 1) % self.p + 1))
        return State(key >> self.gsh, store, dns, tuple(ens), ())

    def init_keys(self) -> np.ndarray:
        keys = np.array([self.encode(s) for s in self.model.init_states()], dtype=np.int64)
        return keys

    def kind_of(self, aids: np.ndarray) -> np.ndarray:
        return aids & 7

    # -- field access ---------------------------------------------------------------------
    def _gen(self, keys):
        return keys >> self.gsh

    def _store(self, keys):
        return (keys >> self.ssh) & self._sm

    def _dns(self, keys):
        return [(keys >> (self.dsh + k * self.db)) & self._dm for k in range(self.e)]

    def _codes(self, keys):
        return [(keys >> (j * self.w)) & self._wm for j in range(self.n)]

    def _split(self, code):
        """(pc, held) arrays of enactor codes."""
        busy = code > 0
        c1 = np.maximum(code - 1, 0)
        return np.where(busy, 1 + c1 // self.p, IDLE), np.where(busy, c1 % self.p + 1, 0)

    def _code(self, pc, held):
        """Enactor codes of non-idle (pc, held) arrays."""
        return (pc - 1) * self.p + held

    def canonical(self, keys: np.ndarray) -> np.ndarray:
        """The representative of each state: enactor codes sorted ascending (the same
        representative as ``Protocol.canonical``, which sorts (pc, held) tuples).
        An odd-even transposition network over the code columns: no per-row Python work."""
        if self.n == 1:
            return keys
        codes = self._codes(keys)
        n = self.n
        for rnd in range(n):
            for j in range(rnd % 2, n - 1, 2):
                a, b = codes[j], codes[j + 1]
                codes[j], codes[j + 1] = np.minimum(a, b), np.maximum(a, b)
        out = keys & ~np.int64(self._emask)
        for j in range(n):
            out |= codes[j] << (j * self.w)
        return out

    # -- successors -----------------------------------------------------------------------
    def expand(self, keys: np.ndarray, symmetry: bool = False, por: bool = False):
        """Every enabled transition of every state in ``keys``: ``(src, aids, nxt)``, sorted
        by source and, within a source, in the object model's action order."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        m = len(keys)
        S = self.slots
        nxt = np.empty((m, S), dtype=np.int64)
        kind = np.full((m, S), -1, dtype=np.int8)
        gen = self._gen(keys)
        store = self._store(keys)
        dns = self._dns(keys)
        codes = self._codes(keys)
        maxdns = dns[0].copy()
        for d in dns[1:]:
            np.maximum(maxdns, d, out=maxdns)
        refs = None
        if self.variant == "guarded":
            refs = np.zeros(m, dtype=np.int64)
            for d in dns:
                refs |= np.where(d > 0, np.left_shift(1, np.maximum(d - 1, 0)), 0)
        # Planner
        can_plan = gen < self.p
        nxt[:, 0] = keys + (np.int64(1) << self.gsh) + np.left_shift(
            1, np.minimum(gen, self.p - 1) + self.ssh)
        kind[:, 0] = np.where(can_plan, _PLAN, -1)
        dns_mat = np.stack(dns, axis=1) if self.e > 1 else dns[0][:, None]
        rows = np.arange(m)
        E = self.e
        for i in range(self.n):
            code = codes[i]
            pc, held = self._split(code)
            sh = i * self.w
            base = keys - (code << sh)  # enactor i cleared
            k_slot = np.full(m, -1, dtype=np.int8)
            out = keys.copy()
            # pick
            pick = (pc == IDLE) & (gen > 0) & (gen > maxdns)
            out = np.where(pick, base + (self._code(APPLY0, gen) << sh), out)
            k_slot[pick] = _PICK
            # cleanup
            cl = pc == CLEANUP
            if cl.any():
                floor = held - self.keep  # keep plans v >= floor, i.e. bits >= floor - 1
                clear = np.left_shift(1, np.clip(floor - 1, 0, self.p)) - 1
                kept = store & ~clear
                if refs is not None:
                    kept |= store & refs
                out = np.where(cl, base + ((kept - store) << self.ssh), out)
                k_slot[cl] = _CLEANUP
            # apply phases
            ap = pc >= APPLY0
            if ap.any():
                ph = pc - APPLY0
                is_write_phase = ap
                if self.variant == "recheck":
                    is_check = ap & (ph < E)
                    is_write_phase = ap & (ph >= E)
                    k = np.where(is_write_phase, ph - E, ph)
                else:
                    k = ph
                kk = np.clip(k, 0, E - 1)
                d = dns_mat[rows, kk]
                writable = (d == 0) | (((store >> np.maximum(d - 1, 0)) & 1) == 1)
                dsh = self.dsh + kk * self.db
                nph = np.where(kk + 1 < E, APPLY0 + kk + 1, CLEANUP)
                written = base + (self._code(nph, held) << sh) + ((held - d) << dsh)
                newer = held >= d
                if self.variant == "recheck":
                    chk_ok = is_check & newer
                    chk_abort = is_check & ~newer
                    out = np.where(chk_ok, base + (self._code(APPLY0 + E + kk, held) << sh), out)
                    k_slot[chk_ok] = _CHECK
                    out = np.where(chk_abort, base, out)
                    k_slot[chk_abort] = _ABORT
                    wr = is_write_phase & writable
                    out = np.where(wr, written, out)
                    k_slot[wr] = _WRITE
                elif self.variant == "cas":
                    wr = ap & writable & newer
                    ab = ap & writable & ~newer
                    out = np.where(wr, written, out)
                    k_slot[wr] = _WRITE
                    out = np.where(ab, base, out)
                    k_slot[ab] = _ABORT
                else:
                    wr = ap & writable
                    out = np.where(wr, written, out)
                    k_slot[wr] = _WRITE
            nxt[:, i + 1] = out
            kind[:, i + 1] = k_slot
        enabled = kind >= 0
        if por:
            self._ample(enabled, codes, dns, kind)
        src = np.nonzero(enabled)  # row-major: by source, then slot order
        aids = (src[1].astype(np.int16) << 3) | kind[src].astype(np.int16)
        out_keys = nxt[src]
        if symmetry and self.symmetric:
            out_keys = self.canonical(out_keys)
        return src[0], aids, out_keys

    def _ample(self, enabled, codes, dns, kind):
        """Partial-order reduction: where some enactor's cleanup is independent of every
        transition that can happen before it, expand only that cleanup (the enactor with the
        smallest (pc, held), so the choice commutes with symmetry). Soundness argument:
        docs/PERFORMANCE.md. Modifies ``enabled`` in place."""
        m = enabled.shape[0]
        best = np.full(m, -1, dtype=np.int64)
        best_code = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
        split = [self._split(c) for c in codes]
        pcs = [x[0] for x in split]
        helds = [x[1] for x in split]
        for i in range(self.n):
            cl = kind[:, i + 1] == _CLEANUP
            if not cl.any():
                continue
            floor = helds[i] - self.keep  # the cleanup deletes plans 1 .. floor-1
            ok = cl.copy()
            for d in dns:  # no record serves a plan it may delete
                ok &= (d == 0) | (d >= floor)
            for j in range(self.n):  # no other busy enactor holds one (it could write it)
                if j != i:
                    ok &= (pcs[j] < APPLY0) | (helds[j] >= floor)
            better = ok & (codes[i] < best_code)
            best = np.where(better, i, best)
            best_code = np.where(better, codes[i], best_code)
        rows = np.nonzero(best >= 0)[0]
        if len(rows):
            enabled[rows, :] = False
            enabled[rows, best[rows] + 1] = True

    def step(self, key: int, aid: int, symmetry: bool = False) -> int:
        """The state after action id ``aid`` from ``key`` (for replaying a stored path)."""
        _, aids, nxt = self.expand(np.array([key], dtype=np.int64), symmetry)
        hit = np.nonzero(aids == aid)[0]
        if len(hit) == 0:
            raise ValueError(f"action id {aid} is not enabled")
        return int(nxt[hit[0]])

    # -- properties -----------------------------------------------------------------------
    def state_check(self, prop):
        """Vectorised ``prop.holds`` for state invariants, or None."""
        from dnsrace.invariants import NoDangling
        if type(prop) is not NoDangling:
            return None

        def no_dangling(keys):
            store = self._store(keys)
            ok = np.ones(len(keys), dtype=bool)
            for d in self._dns(keys):
                ok &= (d == 0) | (((store >> np.maximum(d - 1, 0)) & 1) == 1)
            return ok
        return no_dangling

    def transition_check(self, prop):
        """Vectorised ``prop.holds`` for transition invariants: ``f(src, aids, dst)``."""
        from dnsrace.invariants import Monotonic
        if type(prop) is not Monotonic:
            return None

        def monotonic(src, aids, dst):
            ok = np.ones(len(src), dtype=bool)
            for a, b in zip(self._dns(src), self._dns(dst)):
                ok &= b >= a
            return ok
        return monotonic

    def graph_check(self, prop, base_model):
        """``(in_scope, is_goal)`` vectorised for a graph property over this (extended)
        model, relative to ``base_model``; or None."""
        from dnsrace.invariants import Recoverable
        if type(prop) is not Recoverable:
            return None
        plans = base_model.config.plans
        target = plans + 1

        def in_scope(keys):
            return self._gen(keys) <= plans

        def is_goal(keys):
            ok = (self._gen(keys) == target) & (((self._store(keys) >> (target - 1)) & 1) == 1)
            for d in self._dns(keys):
                ok &= d == target
            return ok
        return in_scope, is_goal

    def por_sound_for(self, prop) -> bool:
        """Whether the cleanup-first reduction preserves ``prop`` (docs/PERFORMANCE.md)."""
        return prop.name in POR_PROPERTIES
