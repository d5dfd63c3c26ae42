"""The zone engine as it was before issue 15's speed-up, kept verbatim as the reference the
fast engine must match exactly (same zones, subsumptions, verdicts and traces)."""

from __future__ import annotations

import time
from fractions import Fraction

from dnsrace.checker.explore.limits import limit_reason
from dnsrace.checker.explore.result import HOLDS, INCOMPLETE, VIOLATED, Path
from dnsrace.checker.timing import zones as Z
from dnsrace.checker.timing.timed import (TimedOptions, TimedPropertyResult, TimedResult,
                                          TimedStats, NOT_ANALYSED)


def _scaled(value: Fraction, scale: int) -> int:
    v = value * scale
    assert v.denominator == 1, "bounds must be multiples of 1/scale"
    return int(v)


def explore_timed_reference(view, properties, options: TimedOptions = TimedOptions(),
                  scale: int | None = None, keep_reached: bool = False) -> TimedResult:
    """Decides every state and transition invariant in ``properties`` over the timed view.
    Graph properties get the status ``not analysed``. ``scale`` turns rational bounds into
    integers (every bound times ``scale`` must be an integer; default: the timing's common
    denominator)."""
    if scale is None:
        scale = view.timing.scale()
    state_inv = [p for p in properties if p.kind == "state invariant"]
    trans_inv = [p for p in properties if p.kind == "transition invariant"]
    model = view.model
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

    cache: dict = {}

    def info(s):
        """Timed successors and deadlines of a discrete state (memoised)."""
        got = cache.get(s)
        if got is None:
            ts = view.timed_successors(s)
            dl = [(clock + 1, Z.lt(_scaled(hi, scale)) if open_ else Z.le(_scaled(hi, scale)))
                  for clock, hi, open_ in view.deadlines(s, ts)]
            enc = [(a, n, [(clock + 1,) + guard_codes(name) for clock, name in t.guards],
                    [clock + 1 for clock in t.resets]) for a, n, t in ts]
            inact = [x + 1 for x in view.inactive_clocks(s)]
            got = (enc, dl, inact)
            if len(cache) < 2_000_000:
                cache[s] = got
        return got

    ident = tuple(range(len(view.init_states()[0].enactors)))
    own_clock = [c + 1 for c in view.clock_permutation(ident)[1:]] if symmetry else None

    def canon(s, D):
        """Representative (state, zone) under enactor permutations, and the order used:
        enactors sorted by discrete data, ties broken by their clock's bounds (any fixed
        choice is sound; a finer one only merges more)."""
        keys = view.symmetry_keys(s)

        def key(i):
            c = own_clock[i]
            return (keys[i], D[c * d], D[c], tuple(D[c * d: c * d + d]))
        order = tuple(sorted(ident, key=key))
        if order == ident:
            return s, D, order
        perm = (0,) + tuple(c + 1 for c in view.clock_permutation(order))
        return view.permute_state(s, order), Z.permute(D, d, perm), order

    nodes_state: list = []
    nodes_zone: list = []
    parent: list = []
    via: list = []
    orders: list = []
    stored: dict = {}  # discrete state -> list of node ids
    found: dict = {}
    stats = TimedStats()
    start = time.perf_counter()
    depth_of: list = []
    covered = bytearray()
    frontier = [0]  # index of the next node to explore

    def add(s, D, par, action, order, depth):
        lst = stored.get(s)
        if lst is None:
            lst = stored[s] = []
            stats.discrete_states += 1
        else:
            Dt = D
            for j in lst:
                if Z.includes(nodes_zone[j], Dt):
                    stats.subsumed += 1
                    return None
            # Waiting zones of the same depth that the new one includes need not be explored
            # (same depth: counterexamples stay shortest). Stored zones of earlier depths stay.
            Dn = tuple(D)
            kept = []
            for j in lst:
                if j >= frontier[0] and depth_of[j] == depth and Z.includes(Dn, nodes_zone[j]):
                    covered[j] = 1
                    stats.subsumed += 1
                else:
                    kept.append(j)
            if len(kept) != len(lst):
                lst[:] = kept
        j = len(nodes_state)
        depth_of.append(depth)
        covered.append(0)
        nodes_state.append(s)
        nodes_zone.append(tuple(D))
        parent.append(par)
        via.append(action)
        orders.append(order)
        lst.append(j)
        if depth > stats.depth:
            stats.depth = depth
        for p in state_inv:
            if p.name not in found and not p.holds(model, s):
                found[p.name] = ("state", j)
        return j

    for s0 in view.init_states():
        D = Z.zero(d)
        ts, dl, inact = info(s0)
        for c in inact:
            Z.free(D, d, c)
        if not inv(D, dl):
            continue
        Z.up(D, d)
        inv(D, dl)
        if extrapolate(D, d, M):
            inv(D, dl)  # between the zone and its abstraction: still exact, and tighter
        order = tuple(range(len(s0.enactors)))
        if symmetry:
            s0, D, order = canon(s0, D)
        add(s0, D, -1, None, order, 0)

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
            src = head
            s = nodes_state[src]
            Dsrc = nodes_zone[src]
            head += 1
            frontier[0] = head
            if covered[src]:
                continue
            ts, dl_src, _ = info(s)
            held = dict(dl_src)  # deadlines Dsrc already satisfies
            for action, nxt, guards, resets in ts:
                D = list(Dsrc)
                ok = True
                for c, lo_b, hi_b in guards:
                    if not (Z.constrain(D, d, 0, c, lo_b) and Z.constrain(D, d, c, 0, hi_b)):
                        ok = False
                        break
                if not ok:
                    continue
                for c in resets:
                    Z.reset(D, d, c)
                _nts, ndl, ninact = info(nxt)
                for c in ninact:
                    Z.free(D, d, c)
                # Entering nxt: only deadlines not already met need checking (a reset clock
                # is 0; a clock whose deadline in s was at least as tight still meets it).
                ok = True
                for c, b in ndl:
                    if c in resets or held.get(c, Z.INF) <= b:
                        continue
                    if not Z.constrain(D, d, c, 0, b):
                        ok = False
                        break
                if not ok:
                    continue
                Z.up(D, d)
                inv(D, ndl)
                if extrapolate(D, d, M):
                    inv(D, ndl)
                stats.transitions += 1
                for p in trans_inv:
                    if p.name not in found and not p.holds(model, s, action, nxt):
                        found[p.name] = ("transition", src, action, nxt)
                order = None
                key, Dk = nxt, D
                if symmetry:
                    key, Dk, order = canon(nxt, D)
                add(key, Dk, src, action, order, depth + 1)
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
            path = _concrete_path(view, hit[1], parent, via, orders, nodes_state, symmetry)
        else:
            _, src, action, _nxt = hit
            path = _concrete_path(view, src, parent, via, orders, nodes_state, symmetry,
                                  last=action)
        results[p.name] = TimedPropertyResult(p.name, p.kind, VIOLATED, path,
                                              p.explain(model, list(path.states)))
    statuses = [r.status for r in results.values()]
    verdict = VIOLATED if VIOLATED in statuses else INCOMPLETE if INCOMPLETE in statuses else HOLDS
    reached = set(stored) if keep_reached else set()
    return TimedResult(verdict, results, stats, symmetry, reached)


def _concrete_path(view, j, parent, via, orders, nodes_state, symmetry, last=None) -> Path:
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
