"""Breadth-first exploration with a visited set: every counterexample is a shortest one.

The engine sees a model only through ``init_states``, ``successors`` and (with symmetry)
``representative``; properties only through the methods of their kind (see
``dnsrace.invariants.base``)."""

from __future__ import annotations

import time
from array import array

from .graph import backward_reachable
from .limits import depth_reason, interrupt_reason, limit_reason
from .paths import one_trace_search, property_result
from .result import HOLDS, INCOMPLETE, VIOLATED, Options, PropertyResult, Result, Stats

__all__ = ["explore"]


def _kinds(properties):
    state_inv = [p for p in properties if p.kind == "state invariant"]
    trans_inv = [p for p in properties if p.kind == "transition invariant"]
    graph = [p for p in properties if p.kind == "graph property"]
    return state_inv, trans_inv, graph


def explore(model, properties, options: Options = Options(), reporter=None) -> Result:
    """Explores ``model`` breadth-first and decides every property in ``properties``.

    ``reporter(stats, frontier)``, if given, is called every ``options.progress_every``
    new states. Ctrl-C, ``max_states`` and ``max_seconds`` end the run with the verdict
    ``incomplete`` for every property not already violated.
    """
    state_inv, trans_inv, graph_props = _kinds(properties)
    graph_model = graph_props[0].graph_model(model) if graph_props else model
    for gp in graph_props[1:]:
        if gp.graph_model(model).config != graph_model.config:
            raise ValueError("graph properties over different extended models")
    in_scope = (lambda s: graph_props[0].in_scope(model, s)) if graph_props else (lambda s: True)
    symmetry = options.symmetry and getattr(model, "symmetric", False)
    rep = graph_model.representative if symmetry else None
    successors = graph_model.successors

    index: dict = {}
    states: list = []
    parent = array("i")
    via: list = []
    scoped = bytearray()
    edge_src, edge_dst = array("i"), array("i")
    keep_edges = bool(graph_props)
    coverage = {name: 0 for name in getattr(model, "action_kinds", {})}
    found: dict = {}  # property name -> (kind of hit, data)
    violations = {p.name: 0 for p in properties}  # violating in-scope states (transitions)
    pending = [p for p in state_inv + trans_inv]
    stats = Stats()
    start = time.perf_counter()

    def add(state, par, action, depth):
        j = len(states)
        index[state] = j
        states.append(state)
        parent.append(par)
        via.append(action)
        ok = in_scope(state)
        scoped.append(ok)
        if ok:
            stats.states += 1
            if depth > stats.depth:
                stats.depth = depth
            for p in state_inv:
                if not p.holds(model, state):
                    violations[p.name] += 1
                    if p.name not in found:
                        found[p.name] = ("state", j)
        return j

    for s in graph_model.init_states():
        s = rep(s) if rep else s
        if s not in index:
            add(s, -1, None, 0)

    head, level_end, depth = 0, len(states), 0
    max_depth = options.max_depth
    stop_reason = ""
    try:
        while head < len(states):
            if head == level_end:
                depth += 1
                level_end = len(states)
            if options.stop_early and not graph_props and len(found) == len(pending):
                stop_reason = "every property violated"
                break
            if max_depth is not None and depth >= max_depth:
                stop_reason = depth_reason(max_depth, depth)
                break
            stop_reason = limit_reason(options.max_states, len(states), "state",
                                       options.max_seconds, start, head % 512 == 0)
            if stop_reason:
                break
            src = head
            s = states[head]
            head += 1
            s_scoped = scoped[src]
            for action, nxt in successors(s):
                key = rep(nxt) if rep else nxt
                j = index.get(key)
                if j is None:
                    j = add(key, src, action, depth + 1)
                    if reporter and len(states) % options.progress_every == 0:
                        stats.explored_states = len(states)
                        stats.seconds = time.perf_counter() - start
                        reporter(stats, len(states) - head)
                stats.explored_transitions += 1
                if keep_edges:
                    edge_src.append(src)
                    edge_dst.append(j)
                if s_scoped and scoped[j]:
                    stats.transitions += 1
                    coverage[action.kind] = coverage.get(action.kind, 0) + 1
                    for p in trans_inv:
                        if not p.holds(model, s, action, nxt):
                            violations[p.name] += 1
                            if p.name not in found:
                                found[p.name] = ("transition", src, j)
        else:
            stats.exhausted = True
    except KeyboardInterrupt as exc:
        stop_reason = interrupt_reason(exc)

    stats.seconds = time.perf_counter() - start
    stats.explored_states = len(states)
    if not stats.exhausted:  # report the depth explored completely
        stats.depth = min(stats.depth, depth)
    stats.coverage = coverage
    stats.never_fired = [k for k, v in coverage.items() if v == 0] if stats.exhausted else []
    stats.stop_reason = stop_reason
    stats.violations = violations

    results = {}
    with one_trace_search():
        for p in properties:
            hit = found.get(p.name)
            if p.kind == "graph property":
                bad = _graph_violations(p, model, states, scoped, edge_src, edge_dst) \
                    if stats.exhausted else []
                violations[p.name] = len(bad)
                hit = ("state", bad[0]) if bad else None
            results[p.name] = _property_result(p, model, hit, stats, states, parent, symmetry)
    statuses = [r.status for r in results.values()]
    verdict = VIOLATED if VIOLATED in statuses else INCOMPLETE if INCOMPLETE in statuses else HOLDS
    return Result(verdict, results, stats, symmetry)


def _chain(parent, states, j) -> list:
    out = []
    while j >= 0:
        out.append(states[j])
        j = parent[j]
    return out[::-1]


def _graph_violations(prop, model, states, scoped, edge_src, edge_dst) -> list:
    """In-scope states with no path to a goal, in discovery (breadth-first) order, so the
    first is a shallowest one."""
    goals = [j for j, s in enumerate(states) if prop.is_goal(model, s)]
    reached = backward_reachable(len(states), edge_src, edge_dst, goals)
    return [j for j in range(len(states)) if scoped[j] and not reached[j]]


def _property_result(p, model, hit, stats, states, parent, symmetry) -> PropertyResult:
    if hit is None:
        reps = None
    elif hit[0] == "state":
        reps = _chain(parent, states, hit[1])
    else:
        reps = _chain(parent, states, hit[1]) + [states[hit[2]]]
    return property_result(p, model, reps, symmetry, stats.exhausted,
                           on_transition=hit is not None and hit[0] != "state")
