"""Zone-based exploration of a timed model: exact reachability for closed timed automata.

The engine sees a *timed view* of a model (``dnsrace.model.timing.TimedView`` or any object
with the same methods): ``init_states()``, ``timed_successors(state)`` (action, next state,
and its ``guards``/``resets``/``urgent``), ``deadlines(state, timed_successors)``,
``inactive_clocks(state)``, ``clocks``, ``max_constants()``, and, for symmetry,
``symmetry_keys``/``permute_state``/``clock_permutation``/``relabel``. It knows nothing of DNS.

Method (Bengtsson & Yi 2004; the forward algorithm of UPPAAL): symbolic states are pairs of
a discrete state and a zone (a DBM, ``dnsrace.checker.timing.zones``). From ``(s, Z)`` an action with
guard ``g``, resets ``r`` leads to ``(s', up((Z & g)[r := 0] & Inv(s')) & Inv(s'))`` where
``Inv`` are the deadlines; clocks no future guard reads are freed (inactive-clock reduction,
exact) and zones are extrapolated with ``Extra_M`` (exact for reachability of diagonal-free
automata); a new zone included in one already stored for the same discrete state is dropped.
Breadth-first order makes every counterexample shortest in steps. Symmetry (permuting
enactors permutes their clocks) is applied to the pair, so it is sound.

The result is a symbolic path (discrete actions); ``dnsrace.checker.timing.z3timing`` turns it into
timestamps, and ``dnsrace.checker.timing.simulate.check_timestamps`` checks them independently.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

from . import zones as Z
from ..explore.limits import limit_reason
from ..explore.result import HOLDS, INCOMPLETE, VIOLATED, Path

__all__ = ["TimedOptions", "TimedStats", "TimedPropertyResult", "TimedResult", "explore_timed",
           "DiscreteGraph", "NOT_ANALYSED"]

NOT_ANALYSED = "not analysed"


@dataclass(frozen=True)
class TimedOptions:
    symmetry: bool = True
    extrapolation: str = "m"   # "m" (Extra_M) or "lu" (Extra_LU+, coarser): both exact
    max_zones: int | None = None
    max_seconds: float | None = None
    stop_early: bool = True
    # progress(zones, depth, seconds), called every few hundred zones (a terminal's progress)
    progress: object = field(default=None, compare=False)


@dataclass
class TimedStats:
    zones: int = 0            # symbolic states stored
    discrete_states: int = 0  # distinct discrete states reached
    transitions: int = 0      # symbolic transitions with a non-empty successor zone
    subsumed: int = 0         # successors dropped because an old zone includes them
    depth: int = 0
    seconds: float = 0.0
    exhausted: bool = False
    stop_reason: str = ""


@dataclass
class TimedPropertyResult:
    name: str
    kind: str
    status: str
    trace: Path | None = None   # concrete discrete run (actions, states)
    explanation: str = ""


@dataclass
class TimedResult:
    verdict: str
    properties: dict
    stats: TimedStats
    symmetry: bool = True
    reached: set = field(default_factory=set, repr=False)  # discrete states (if asked)


def _scaled(value: Fraction, scale: int) -> int:
    v = value * scale
    assert v.denominator == 1, "bounds must be multiples of 1/scale"
    return int(v)


class DiscreteGraph:
    """The timing-independent part of a timed view, memoised: discrete states interned to
    ints, their timed successors (guards name intervals, so they do not depend on the bounds),
    inactive clocks, symmetry keys and permuted states.

    One graph serves one model; checks of that model under different bounds (the rounds of
    ``synthesis.synthesize``) share it, so the model's successor function runs once per state
    however many bounds are tried."""

    def __init__(self):
        self.model = None
        self.ids: dict = {}
        self.states: list = []
        self._succ: list = []
        self._inactive: list = []
        self._keys: list = []
        self._permuted: dict = {}

    def bind(self, view) -> None:
        if self.model is None:
            self.model = view.model
        elif self.model is not view.model:
            raise ValueError("a DiscreteGraph serves the views of one model")

    def intern(self, state) -> int:
        i = self.ids.get(state)
        if i is None:
            i = self.ids[state] = len(self.states)
            self.states.append(state)
            self._succ.append(None)
            self._inactive.append(None)
            self._keys.append(None)
        return i

    def successors(self, view, i):
        """``(timed_successors, [(action, next id, guards, resets)])`` of state ``i``."""
        got = self._succ[i]
        if got is None:
            ts = view.timed_successors(self.states[i])
            got = self._succ[i] = (ts, [(a, self.intern(n), t.guards, t.resets)
                                        for a, n, t in ts])
        return got

    def inactive(self, view, i):
        got = self._inactive[i]
        if got is None:
            got = self._inactive[i] = tuple(view.inactive_clocks(self.states[i]))
        return got

    def keys(self, view, i):
        got = self._keys[i]
        if got is None:
            got = self._keys[i] = view.symmetry_keys(self.states[i])
        return got

    def permuted(self, view, i, order) -> int:
        got = self._permuted.get((i, order))
        if got is None:
            got = self._permuted[(i, order)] = self.intern(
                view.permute_state(self.states[i], order))
        return got


@contextmanager
def without_cyclic_gc():
    """The search allocates millions of small acyclic tuples; Python's cyclic collector
    would rescan the whole growing heap again and again (about 40% of the run). Any cycle a
    protocol's code makes is collected once the search ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def explore_timed(view, properties, options: TimedOptions = TimedOptions(),
                  scale: int | None = None, keep_reached: bool = False,
                  graph: DiscreteGraph | None = None) -> TimedResult:
    """Decides every state and transition invariant in ``properties`` over the timed view.
    Graph properties get the status ``not analysed``. ``scale`` turns rational bounds into
    integers (every bound times ``scale`` must be an integer; default: the timing's common
    denominator). ``graph``: a ``DiscreteGraph`` of the same model to reuse (and fill)."""
    with without_cyclic_gc():
        return _explore(view, properties, options, scale, keep_reached, graph)


def _explore(view, properties, options, scale, keep_reached, graph) -> TimedResult:
    """``explore_timed`` itself. Zones are interned: the DNS models reach tens of thousands
    of symbolic states but only a few hundred distinct zones and a few dozen distinct clock
    effects of a transition, so the successor zone of (zone, effect), the inclusion of two
    zones and the symmetry representative of (state, zone) are each computed once and looked
    up afterwards. The search itself (order, subsumption, counts) is the plain algorithm of
    the module doc."""
    if scale is None:
        scale = view.timing.scale()
    state_inv = [p for p in properties if p.kind == "state invariant"]
    trans_inv = [p for p in properties if p.kind == "transition invariant"]
    model = view.model
    G = graph if graph is not None else DiscreteGraph()
    G.bind(view)
    n_clocks = len(view.clocks)
    d = n_clocks + 1
    M = [0] + [_scaled(m, scale) for m in view.max_constants()]
    if options.extrapolation == "lu":
        L, U = view.lu_constants()
        L = [0] + [_scaled(v, scale) for v in L]
        U = [0] + [_scaled(v, scale) for v in U]

        def extrapolate(D, d, _M):
            return Z.extrapolate_lu(D, d, L, U)
    elif options.extrapolation == "m":
        extrapolate = Z.extrapolate
    else:
        raise ValueError(f"unknown extrapolation {options.extrapolation!r}")
    symmetry = options.symmetry and getattr(view, "symmetric", False) and \
        view.clock_permutation(tuple(range(len(view.symmetry_keys(view.init_states()[0]))))) \
        is not None

    def inv(D, deadlines):
        for c, b in deadlines:
            if not Z.constrain(D, d, c, 0, b):
                return False
        return True

    codes: dict = {}

    def guard_codes(name):
        """(lower-bound code on -x, upper-bound code on x) of an interval, scaled."""
        got = codes.get(name)
        if got is None:
            iv = view.timing.interval(name)
            lb = -_scaled(iv.lo, scale)
            lo_code = Z.lt(lb) if iv.lo_open else Z.le(lb)
            if iv.hi is None:
                hi_code = Z.INF
            else:
                hb = _scaled(iv.hi, scale)
                hi_code = Z.lt(hb) if iv.hi_open else Z.le(hb)
            got = codes[name] = (lo_code, hi_code)
        return got

    deadline_codes: dict = {}

    def deadline_code(hi, open_):
        got = deadline_codes.get((hi, open_))
        if got is None:
            got = deadline_codes[(hi, open_)] = Z.lt(_scaled(hi, scale)) if open_ else \
                Z.le(_scaled(hi, scale))
        return got

    encodings: dict = {}

    def encoded(i):
        """``[(action, next id, guards, resets)]`` of state ``i``, guards scaled (memoised)."""
        got = encodings.get(i)
        if got is None:
            _ts, succ = G.successors(view, i)
            got = encodings[i] = [
                (a, n, tuple((clock + 1,) + guard_codes(name) for clock, name in guards),
                 tuple(clock + 1 for clock in resets)) for a, n, guards, resets in succ]
        return got

    timings: dict = {}

    def info(i):
        """Encoded deadlines and inactive clocks of state ``i`` under these bounds."""
        got = timings.get(i)
        if got is None:
            ts, _succ = G.successors(view, i)
            dl = tuple((clock + 1, deadline_code(hi, open_))
                       for clock, hi, open_ in view.deadlines(G.states[i], ts))
            inact = tuple(x + 1 for x in G.inactive(view, i))
            got = timings[i] = (dl, inact)
        return got

    ident = tuple(range(len(view.init_states()[0].enactors)))
    orbits: dict = {}

    def orbit(i):
        """``(order, distinct)``: enactors of state ``i`` sorted by their discrete data, and
        whether no two tie (then the symmetry representative's order needs no zone)."""
        got = orbits.get(i)
        if got is None:
            keys = G.keys(view, i)
            order = tuple(sorted(ident, key=keys.__getitem__))
            distinct = all(keys[a] != keys[b] for a, b in zip(order, order[1:]))
            got = orbits[i] = (order, distinct)
        return got

    targets: dict = {}

    def target_info(i):
        """Deadlines and inactive clocks of a target state ``i``. Under symmetry they are
        read off the state with its enactors sorted by their discrete data, through the
        clock renaming (the symmetry the reduction relies on), so the model's successor
        function runs about once per orbit instead of once per member."""
        got = targets.get(i)
        if got is None:
            if symmetry:
                order = orbit(i)[0]
                if order != ident:
                    rep = G.permuted(view, i, order)
                    dl, inact = info(rep)
                    P = (0,) + tuple(c + 1 for c in view.clock_permutation(order))
                    # rep's clock j is this state's clock P[j]; constraint order is immaterial
                    # (a canonical DBM is unique), sorting keeps equal effects equal.
                    got = (tuple(sorted((P[c], b) for c, b in dl)),
                           tuple(sorted(P[c] for c in inact)))
            if got is None:
                got = info(i)
            targets[i] = got
        return got

    # A transition's clock effect ("sig"): guards, resets, clocks freed in the target, the
    # target's deadlines not already met (a reset clock is 0; a clock whose deadline in the
    # source was at least as tight still meets it), and all the target's deadlines.
    sig_ids: dict = {}
    sigs: list = []
    expansions: dict = {}

    def expansion(i):
        """``[[k, action, next id, guards, resets, sig id, tested]]`` for the successors of
        state ``i``; the sig id stays None until a zone meets the guards (only then are the
        target's deadlines needed); ``tested``: its transition invariants have run."""
        got = expansions.get(i)
        if got is None:
            got = expansions[i] = [[k, action, nxt, guards, resets, None, False]
                                   for k, (action, nxt, guards, resets) in enumerate(encoded(i))]
        return got

    def effect(i, entry) -> int:
        """The sig id of successor ``entry`` of state ``i``."""
        nxt, guards, resets = entry[2], entry[3], entry[4]
        held = dict(info(i)[0])  # deadlines the source zone already satisfies
        ndl, ninact = target_info(nxt)
        fresh = tuple((c, b) for c, b in ndl if not (c in resets or held.get(c, Z.INF) <= b))
        sig = (guards, resets, ninact, fresh, ndl)
        sid = sig_ids.get(sig)
        if sid is None:
            sid = sig_ids[sig] = len(sigs)
            if sid >> 32:
                raise MemoryError("more than 2**32 distinct clock effects")
            sigs.append(sig)
        entry[5] = sid
        return sid

    meets: dict = {}

    def meets_guards(z, guards) -> bool:
        got = meets.get((z, guards))
        if got is None:
            D = list(zones[z])
            got = True
            for c, lo_b, hi_b in guards:
                if not (Z.constrain(D, d, 0, c, lo_b) and Z.constrain(D, d, c, 0, hi_b)):
                    got = False
                    break
            meets[(z, guards)] = got
        return got

    zone_ids: dict = {}
    zones: list = []

    def zone_id(D) -> int:
        t = tuple(D)
        z = zone_ids.get(t)
        if z is None:
            z = zone_ids[t] = len(zones)
            if z >> 32:
                raise MemoryError("more than 2**32 distinct zones")  # memo keys pack ids
            zones.append(t)
        return z

    def successor_zone(Dsrc, sig):
        """``up((Dsrc & g)[r := 0] & Inv') & Inv'``, freed and extrapolated; None if empty."""
        guards, resets, ninact, fresh, ndl = sig
        D = list(Dsrc)
        for c, lo_b, hi_b in guards:
            if not (Z.constrain(D, d, 0, c, lo_b) and Z.constrain(D, d, c, 0, hi_b)):
                return None
        for c in resets:
            Z.reset(D, d, c)
        for c in ninact:
            Z.free(D, d, c)
        for c, b in fresh:
            if not Z.constrain(D, d, c, 0, b):
                return None
        Z.up(D, d)
        inv(D, ndl)
        if extrapolate(D, d, M):
            inv(D, ndl)  # between the zone and its abstraction: still exact, and tighter
        return D

    # Memo keys pack two ids into one int (``a << 32 | b``): cheaper to hash than a pair.
    posts: dict = {}   # (zone id, sig id) -> successor zone id, or -1 when empty
    inclusions: dict = {}

    def includes(big: int, small: int) -> bool:
        if big == small:
            return True
        got = inclusions.get(big << 32 | small)
        if got is None:
            got = inclusions[big << 32 | small] = Z.includes(zones[big], zones[small])
        return got

    own_clock = [c + 1 for c in view.clock_permutation(ident)[1:]] if symmetry else None
    permuted_zones: dict = {}
    canons: dict = {}

    def canon(i, z):
        """Representative (state id, zone id) under enactor permutations, and the order used:
        enactors sorted by discrete data, ties broken by their clock's bounds (any fixed
        choice is sound; a finer one only merges more). Memoised on (state, zone)."""
        got = canons.get(i << 32 | z)
        if got is not None:
            return got
        D = zones[z]
        order, distinct = orbit(i)
        if not distinct:  # ties between equal enactors: broken by their clocks' bounds
            keys = G.keys(view, i)

            def key(e):
                c = own_clock[e]
                return (keys[e], D[c * d], D[c], D[c * d: c * d + d])
            order = tuple(sorted(ident, key=key))
        if order == ident:
            got = (i, z, order)
        else:
            pz = permuted_zones.get((z, order))
            if pz is None:
                perm = (0,) + tuple(c + 1 for c in view.clock_permutation(order))
                pz = permuted_zones[(z, order)] = zone_id(Z.permute(D, d, perm))
            got = (G.permuted(view, i, order), pz, order)
        canons[i << 32 | z] = got
        return got

    nodes_state: list = []  # state ids
    nodes_zone: list = []   # zone ids
    parent: list = []
    via: list = []
    orders: list = []
    stored: dict = {}  # state id -> list of node ids
    found: dict = {}
    stats = TimedStats()
    start = time.perf_counter()
    depth_of: list = []
    covered = bytearray()
    frontier = [0]  # index of the next node to explore

    def add(i, z, par, action, order, depth):
        lst = stored.get(i)
        if lst is None:
            lst = stored[i] = []
            stats.discrete_states += 1
            # State invariants depend on the discrete state only: decided at its first zone.
            s = G.states[i]
            for p in state_inv:
                if p.name not in found and not p.holds(model, s):
                    found[p.name] = ("state", len(nodes_state))
        else:
            for j in lst:
                big = nodes_zone[j]
                got = big == z or inclusions.get(big << 32 | z)
                if got is None:
                    got = includes(big, z)
                if got:
                    stats.subsumed += 1
                    return None
            # Waiting zones of the same depth that the new one includes need not be explored
            # (same depth: counterexamples stay shortest). Stored zones of earlier depths stay.
            kept = []
            for j in lst:
                if j >= frontier[0] and depth_of[j] == depth and includes(z, nodes_zone[j]):
                    covered[j] = 1
                    stats.subsumed += 1
                else:
                    kept.append(j)
            if len(kept) != len(lst):
                lst[:] = kept
        j = len(nodes_state)
        depth_of.append(depth)
        covered.append(0)
        nodes_state.append(i)
        nodes_zone.append(z)
        parent.append(par)
        via.append(action)
        orders.append(order)
        lst.append(j)
        if depth > stats.depth:
            stats.depth = depth
        return j

    for s0 in view.init_states():
        i0 = G.intern(s0)
        D = Z.zero(d)
        dl, inact = info(i0)
        for c in inact:
            Z.free(D, d, c)
        if not inv(D, dl):
            continue
        Z.up(D, d)
        inv(D, dl)
        if extrapolate(D, d, M):
            inv(D, dl)
        order = tuple(range(len(s0.enactors)))
        z0 = zone_id(D)
        if symmetry:
            i0, z0, order = canon(i0, z0)
        add(i0, z0, -1, None, order, 0)

    head, level_end, depth = 0, len(nodes_state), 0
    stop_reason = ""
    try:
        while head < len(nodes_state):
            if head == level_end:
                depth += 1
                level_end = len(nodes_state)
            if options.stop_early and len(found) == len(state_inv) + len(trans_inv):
                stop_reason = "every property violated"
                break
            stop_reason = limit_reason(options.max_zones, len(nodes_state), "zone",
                                       options.max_seconds, start, head % 256 == 0)
            if stop_reason:
                break
            if options.progress is not None and head % 256 == 0:
                options.progress(len(nodes_state), depth, time.perf_counter() - start)
            src = head
            i = nodes_state[src]
            zsrc = nodes_zone[src]
            head += 1
            frontier[0] = head
            if covered[src]:
                continue
            for entry in expansion(i):
                _k, action, nxt, guards, _resets, sid, tested = entry
                if sid is None:
                    if not meets_guards(zsrc, guards):
                        continue
                    sid = effect(i, entry)
                key = zsrc << 32 | sid
                nz = posts.get(key)
                if nz is None:
                    D = successor_zone(zones[zsrc], sigs[sid])
                    nz = posts[key] = -1 if D is None else zone_id(D)
                if nz < 0:
                    continue
                stats.transitions += 1
                # Transition invariants depend on the discrete step only: decided once.
                if trans_inv and not tested:
                    entry[6] = True
                    s, ns = G.states[i], G.states[nxt]
                    for p in trans_inv:
                        if p.name not in found and not p.holds(model, s, action, ns):
                            found[p.name] = ("transition", src, action, ns)
                if symmetry:
                    rep = canons.get(nxt << 32 | nz)
                    if rep is None:
                        rep = canon(nxt, nz)
                    add(rep[0], rep[1], src, action, rep[2], depth + 1)
                else:
                    add(nxt, nz, src, action, None, depth + 1)
        else:
            stats.exhausted = True
    except KeyboardInterrupt:
        stop_reason = "interrupted"

    stats.seconds = time.perf_counter() - start
    stats.zones = len(nodes_state)
    stats.stop_reason = stop_reason
    results = {}
    for p in properties:
        if p.kind not in ("state invariant", "transition invariant"):
            results[p.name] = TimedPropertyResult(p.name, p.kind, NOT_ANALYSED)
            continue
        hit = found.get(p.name)
        if hit is None:
            results[p.name] = TimedPropertyResult(p.name, p.kind,
                                                  HOLDS if stats.exhausted else INCOMPLETE)
            continue
        if hit[0] == "state":
            path = _concrete_path(view, hit[1], parent, via, orders, symmetry)
        else:
            _, src, action, _nxt = hit
            path = _concrete_path(view, src, parent, via, orders, symmetry, last=action)
        results[p.name] = TimedPropertyResult(p.name, p.kind, VIOLATED, path,
                                              p.explain(model, list(path.states)))
    statuses = [r.status for r in results.values()]
    verdict = VIOLATED if VIOLATED in statuses else INCOMPLETE if INCOMPLETE in statuses else HOLDS
    reached = {G.states[i] for i in stored} if keep_reached else set()
    return TimedResult(verdict, results, stats, symmetry, reached)


def _concrete_path(view, j, parent, via, orders, symmetry, last=None) -> Path:
    """The run from the initial state to node ``j`` (then ``last``, an action in node j's
    coordinates), with actors renamed back through every symmetry permutation."""
    chain = []
    while j >= 0:
        chain.append(j)
        j = parent[j]
    chain.reverse()
    model = view.model
    state = model.init_states()[0]
    sigma = list(orders[chain[0]]) if symmetry else None  # rep position -> concrete enactor
    states, actions = [state], []
    steps = [via[k] for k in chain[1:]] + ([last] if last is not None else [])
    for idx, action in enumerate(steps):
        concrete = action
        if symmetry and action.actor is not None:
            concrete = view.relabel(action, sigma[action.actor])
        nxt = model.next_state(state, concrete)
        if nxt is None:
            raise AssertionError(f"symbolic path does not replay at step {idx + 1}")
        states.append(nxt)
        actions.append(concrete)
        state = nxt
        if symmetry and idx + 1 < len(chain):
            order = orders[chain[idx + 1]]
            sigma = [sigma[o] for o in order]
    return Path(tuple(states), tuple(actions))


@dataclass(frozen=True)
class TimedPath:
    """The timing constraints of one discrete run, as plain data for ``z3timing``.

    ``guards[j]``/``resets[j]``: step j+1's ``(clock, interval name)`` guards and reset
    clocks; ``deadlines[j]``: ``(clock, interval name)`` deadlines in state j (j = 0..n);
    ``labels[j]``: step j+1 in words. Every clock is 0 at time 0."""

    clocks: tuple
    labels: tuple
    guards: tuple
    resets: tuple
    deadlines: tuple

    def __len__(self) -> int:
        return len(self.labels)


def timed_path(view, path: Path, label=None) -> TimedPath:
    """The clock guards, resets and deadlines along ``path`` (a concrete run)."""
    label = label or (lambda a: a.kind if a.actor is None else f"{a.kind} by {view.clocks[1 + a.actor]}")
    guards, resets, deadlines, labels = [], [], [], []
    for j, state in enumerate(path.states):
        ts = view.timed_successors(state)
        deadlines.append(tuple(view.deadline_names(state, ts)))
        if j < len(path.actions):
            action = path.actions[j]
            t = next(t for a, _n, t in ts if a == action)
            guards.append(tuple(t.guards))
            resets.append(tuple(t.resets))
            labels.append(label(action))
    return TimedPath(tuple(view.clocks), tuple(labels), tuple(guards), tuple(resets),
                     tuple(deadlines))
