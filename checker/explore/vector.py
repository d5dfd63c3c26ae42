"""The vector engine: level-synchronous breadth-first search over packed states, with
successors generated for a whole frontier at once and deduplication by sorting (numpy).

The engine sees a model only through a *vector model* (``vectorize(model)``, see
``dnsrace.model.derived`` for the interface) and properties only through that vector model's
``state_check``/``transition_check``/``graph_check`` kernels. Nothing here knows about DNS.

It explores in the same order as ``checker.bfs``: states get ids in discovery order
(source by source, actions in the model's order), so the counts, the verdicts and the
counterexample it reports are those of the object BFS. Options beyond ``Options``:

- ``por``: expand only the model's ample sets (verdicts exact, counts reduced). When the
  reduced run finds a violation, ``checker.engines`` reruns without it for a shortest trace.
- ``expander``: who computes successors: by default ``LocalExpander`` (this process; one
  background thread deduplicates each chunk's successors and looks them up in the visited set
  while the next chunk is expanded, ``overlapped_lookups``: numpy releases the GIL, so the two
  overlap on a second core, cas N5 P8 E3 K2: 7.6 s -> 6.1 s wall), or ``checker.parallel``'s
  worker processes. Either way the engine consumes one ``ChunkRecord`` per chunk, built by
  ``chunk_record``.
- ``lossy``: ``"hashcompact"`` or ``"bitstate"``: remember visited states by a hash only.
  A state whose hash collides is never explored, so "holds" becomes probabilistic; the
  result carries an estimate of how likely a state was omitted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from .inorder import in_order
from .malloc import HUGE_PAGES_FROM, huge_pages, tune_allocator
from .paths import one_trace_search, property_result
from .limits import Deferral, depth_reason, interrupt_reason
from .result import HOLDS, INCOMPLETE, VIOLATED, Options, PropertyResult, Result, Stats
from .levels import Levels
from .edges import GraphStore, SpillError, unreached_count
from .visited import _BitstateVisited, _ExactVisited, _HashCompactVisited, first_unique
from .diskvisited import DiskVisited

__all__ = ["explore", "Unsupported", "vector_kernels", "LossyInfo", "LOSSY_MODES"]

CHUNK = 1 << 15
LOSSY_MODES = ("hashcompact", "bitstate")


class Unsupported(ValueError):
    """The vector engine cannot check this model or property; the caller falls back."""


class LossyInfo:
    """How a lossy run remembered states, and the estimated chance that it missed one."""

    def __init__(self, mode, bits, stored, expected_omissions):
        self.mode, self.bits, self.stored = mode, bits, stored
        self.expected_omissions = expected_omissions

    @property
    def omission_probability(self) -> float:
        """Probability that at least one reachable state was never explored (an estimate,
        assuming the hash behaves like a random function)."""
        return -math.expm1(-self.expected_omissions)

    def as_dict(self) -> dict:
        return {"mode": self.mode, "bits": self.bits, "stored": self.stored,
                "expected_omissions": self.expected_omissions,
                "omission_probability": self.omission_probability}


def vector_kernels(vm, model, properties):
    """Per property kind, the vector model's kernels; Unsupported when one is missing."""
    state_k, trans_k, graph_k = [], [], []
    for p in properties:
        if p.kind == "state invariant":
            f = vm.state_check(p, model)
            state_k.append((p, f))
        elif p.kind == "transition invariant":
            f = vm.transition_check(p, model)
            trans_k.append((p, f))
        elif p.kind == "graph property":
            f = vm.graph_check(p, model)
            graph_k.append((p, f))
        else:
            f = None
        if f is None:
            raise Unsupported(f"no vectorised form of property {p.name!r}")
    return state_k, trans_k, graph_k


def local_dedup(nxt: np.ndarray):
    """The distinct keys of one chunk's successors in order of first occurrence:
    ``(uniq, first, inv)`` with ``first`` the index of each one's first occurrence
    (increasing) and ``uniq[inv] == nxt``. Workers run this next to ``expand``."""
    uniq, first, inv = first_unique(nxt)
    return uniq, first, inv.astype(np.int32)


class ChunkChecks:
    """What an expander computes about one chunk's transitions besides the successors: how
    many lie within the checked scope, their action kinds, and the transition invariants'
    violations (count, first one). Built from plain values (the vector model, the model, the
    properties), so a worker process builds its own."""

    def __init__(self, vm, model, properties):
        _, trans_k, graph_k = vector_kernels(vm, model, properties)
        self.vm = vm
        self.in_scope = graph_k[0][1][0] if graph_k else None
        self.trans = [(p.name, f) for p, f in trans_k]
        self.ncov = len(vm.kind_names)

    def __call__(self, chunk, src, aids, nxt):
        """``(transitions in scope, kind counts, {property: (violations, src, dst key)})``
        with ``src`` the chunk-relative source of the first violation."""
        if self.in_scope is not None:
            both = self.in_scope(chunk)[src]  # (per source, not per transition)
            both &= self.in_scope(nxt)
            t_g = src[both]
            t_src, t_aid, t_dst = chunk[t_g], aids[both], nxt[both]
        else:
            t_src, t_aid, t_dst, t_g = chunk[src], aids, nxt, src
        cov = np.bincount(self.vm.kind_of(t_aid), minlength=self.ncov)[:self.ncov]
        viol = {}
        for name, f in self.trans:
            bad = ~f(t_src, t_aid, t_dst)
            nbad = int(bad.sum())
            if nbad:
                j = int(np.argmax(bad))
                viol[name] = (nbad, int(t_g[j]), int(t_dst[j]))
        return len(t_src), cov, viol


class ChunkRecord(NamedTuple):
    """What the engine needs of one expanded chunk of the frontier, the same from every
    expander (in this process or a worker's): ``size`` sources, ``fresh`` the chunk's
    distinct successors not yet visited (in discovery order) with the chunk-relative
    ``src`` (int32) and action ``aid`` (int16) of each one's first discovery, ``degree``
    each source's out-degree (uint8 or int32), ``codes`` (graph properties only, else None)
    each edge's target, self-loops left out and grouped by source: a visited id, or
    ``-1 - j`` for the chunk's ``j``-th fresh successor; ``transitions`` all the chunk's
    transitions, ``checked`` what ``ChunkChecks`` found."""

    size: int
    fresh: np.ndarray
    src: np.ndarray
    aid: np.ndarray
    degree: np.ndarray
    codes: np.ndarray | None
    transitions: int
    checked: tuple


def chunk_record(expanded, size: int, first_id: int, visited, keep_edges: bool) -> ChunkRecord:
    """The ``ChunkRecord`` of ``expand_chunk``'s tuple for a chunk of ``size`` sources whose
    first has id ``first_id``: its local dedup (done here when left out), then
    ``visited.lookup`` of its distinct successors. Only reads ``visited``."""
    src, aids, nxt, uk, uf, inv, checked = expanded
    if uk is None:
        uk, uf, inv = local_dedup(nxt)
    ids_c = visited.lookup(uk)
    fresh = ids_c < 0
    uf = uf[fresh]
    codes = None
    if keep_edges:
        # every edge but self-loops (reachability needs none); deduplicating the edges too
        # saved 5% of the memory for 15% more time: not done
        ids_c[fresh] = -1 - np.arange(len(uf))
        code = ids_c.astype(np.int32)[inv]
        edge = np.flatnonzero(code != src + first_id)
        codes = code[edge]
        deg = np.bincount(src[edge], minlength=size)
    else:
        deg = np.bincount(src, minlength=size)
    return ChunkRecord(size, uk[fresh], src[uf].astype(np.int32), aids[uf].astype(np.int16),
                       deg.astype(np.uint8 if deg.max(initial=0) < 256 else np.int32),
                       codes, len(src), checked)


LOOKAHEAD = 8  # chunks expanded ahead of their lookups (~4 MB each at most)


def overlapped_lookups(expanded, sizes, first_id, visited, pool, keep_edges, pending=None):
    """``chunk_record`` of each of ``expanded`` (``expand_chunk``'s tuples, chunks of
    ``sizes`` sources, the first one's first source with id ``first_id``), computed in
    ``pool``'s one thread while this one produces the next chunks: numpy releases the GIL,
    so on two cores they overlap. Up to ``LOOKAHEAD`` chunks wait for the thread, so that
    this one goes on while the thread finishes the last level's ``visited.add`` (queued
    before them). The thread only reads ``visited``; the caller changes it only after the
    last chunk (or after ``pool.shutdown(wait=True)``). ``pending``: as in ``in_order``."""
    firsts = accumulate(sizes, initial=first_id)
    return in_order(pool, LOOKAHEAD + 1, ((chunk_record, r, size, first, visited, keep_edges)
                                          for r, size, first in zip(expanded, sizes, firsts)),
                    pending)


def expand_chunk(vm, keys, symmetry, por, checks, dedup: bool = True):
    """One unit of work for any expander: successors of ``keys``, their local dedup (three
    Nones without ``dedup``: left to ``chunk_record``), and ``checks`` (a ``ChunkChecks``)
    on its transitions."""
    src, aids, nxt = vm.expand(keys, symmetry, por)
    return (src, aids, nxt) + (local_dedup(nxt) if dedup else (None, None, None)) + \
        (checks(keys, src, aids, nxt),)


def chunks_of(frontier, size: int) -> list:
    """``frontier`` cut into consecutive chunks of at most ``size`` states (views)."""
    return [frontier[i:i + size] for i in range(0, len(frontier), size)]


class LocalExpander:
    """Successors computed in this process, chunk by chunk (``CHUNK`` states), each chunk's
    dedup and lookups in one background thread while the next is expanded. The expander
    interface (``checker/explore/parallel.py`` has the other one): ``map(frontier,
    first_id, visited, keep_edges)`` yields a ``ChunkRecord`` per chunk in order, then
    ``close()``."""

    def __init__(self, vm, symmetry, por, checks):
        self.vm, self.symmetry, self.por, self.checks = vm, symmetry, por, checks
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="dnsrace-lookup")

    BEHIND = 3  # lookups not done from which this thread dedups its chunks itself

    def map(self, frontier, first_id, visited, keep_edges):
        chunks = chunks_of(frontier, CHUNK)
        pending = deque()
        # a chunk's local dedup is pure: it runs in the lookup thread while that keeps up
        # (the example's runs, where this thread is the busy one) and here while lookups
        # queue up (cas at N=6, where the lookup thread is): the records are the same
        expanded = (_without_successors(expand_chunk(
            self.vm, c, self.symmetry, self.por, self.checks,
            dedup=_not_done(pending) >= self.BEHIND)) for c in chunks)
        return overlapped_lookups(expanded, [len(c) for c in chunks], first_id, visited,
                                  self._pool, keep_edges, pending)

    def submit(self, fn, *args):
        """Runs ``fn(*args)`` in the lookup thread, after the lookups submitted before it and
        before those submitted after it (a ``Future``)."""
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Waits for a lookup still running (before the caller changes the visited set)."""
        self._pool.shutdown(wait=True)


def _not_done(futures) -> int:
    return sum(not f.done() for f in futures)


def _without_successors(expanded):
    """``expand_chunk``'s tuple without the successors once their dedup is in it (all
    ``chunk_record`` needs then): less memory while it waits for the lookup thread."""
    if expanded[3] is None:
        return expanded
    return expanded[:2] + (None,) + expanded[3:]


def explore(model, properties, options: Options = Options(), reporter=None, *, vectorize,
            por: bool = False, expander=None, lossy: str | None = None,
            lossy_bits: int | None = None, traces: bool = True,
            stop_at_violation: bool = False, checkpoint=None, spill=None,
            memory=None) -> Result:
    """Explores ``vectorize(graph model)`` level by level and decides every property.

    Raises ``Unsupported`` when the model has no vector form or a property no kernel.
    With ``traces=False`` a violated property carries no counterexample (the caller wants
    only verdicts); with ``stop_at_violation`` the run ends after the first level where a
    property is found violated (the caller reruns for the full answer). With ``checkpoint``
    (``checker.explore.checkpoint.Checkpointer``) the search is saved at level boundaries
    and, when it holds a saved search, resumed from it. ``spill`` (a parent folder) puts the
    graph properties' edges on disk from the start, ``memory`` (an ``edges.MemoryBudget``)
    spills them once they outgrow their share and stops the run when the rest of the stored
    search outgrows its own (``checker.explore.edges``). The returned ``Result`` has ``stats`` as ``checker.bfs`` fills them, plus
    ``result.lossy`` (a ``LossyInfo`` or None) and ``result.por`` (whether it was used).
    """
    graph_props = [p for p in properties if p.kind == "graph property"]
    graph_model = graph_props[0].graph_model(model) if graph_props else model
    vm = vectorize(graph_model)
    tune_allocator()  # (before the lookup thread starts)
    if vm is None:
        raise Unsupported(f"{model!r} has no vector form")
    while True:
        try:
            return _explore(vm, model, properties, options, reporter, por, expander, lossy,
                            lossy_bits, traces, stop_at_violation, checkpoint, spill, memory)
        except Exception as exc:  # a key field outgrew its bits: restart on a wider layout
            if getattr(exc, "unsupported", False):
                raise Unsupported(str(exc)) from None
            if not getattr(exc, "widen", False):
                raise
            vm = vm.widened()
            if vm is None or (expander is not None and not hasattr(expander, "rebind")):
                raise Unsupported("the states do not fit 63-bit keys") from None
            if expander is not None:
                expander.rebind(vm)
            if checkpoint is not None:
                checkpoint.vm = vm


def _explore(vm, model, properties, options, reporter, por, expander, lossy, lossy_bits,
             traces, stop_at_violation, checkpoint=None, spill=None, memory=None) -> Result:
    state_k, trans_k, graph_k = vector_kernels(vm, model, properties)
    if lossy and graph_k:
        raise Unsupported("a lossy search cannot decide graph properties "
                          f"({', '.join(p.name for p, _ in graph_k)})")
    from .edges import Spill
    # one private folder for the edges and the visited set, removed whatever happens
    folder = Spill(spill) if spill is not None and lossy is None else None
    graph = GraphStore([p.name for p, _ in graph_k], folder) if graph_k else None
    try:
        return _search(vm, model, properties, options, reporter, por, expander, lossy,
                       lossy_bits, traces, stop_at_violation, checkpoint, memory, graph,
                       state_k, trans_k, graph_k, folder)
    finally:
        if graph is not None:
            graph.close()
        if folder is not None:
            folder.close()
        if memory is not None:
            memory.close()


def _search(vm, model, properties, options, reporter, por, expander, lossy, lossy_bits,
            traces, stop_at_violation, checkpoint, memory, graph, state_k, trans_k,
            graph_k, folder=None) -> Result:
    in_scope = graph_k[0][1][0] if graph_k else None
    symmetry = bool(options.symmetry and vm.symmetric)
    if por and not all(vm.por_sound_for(p) for p in properties):
        por = False
    checks = ChunkChecks(vm, model, properties) if expander is None else None

    keep_edges = bool(graph_k)
    if lossy is None:
        # ids only to name edges' targets; --spill: older states (and levels) on disk from
        # the start
        visited = DiskVisited(folder, ids=keep_edges) if folder is not None \
            else _ExactVisited(ids=keep_edges)
    elif lossy == "hashcompact":
        visited = _HashCompactVisited(lossy_bits or 32)
    elif lossy == "bitstate":
        visited = _BitstateVisited(lossy_bits or 28)
    else:
        raise ValueError(f"unknown lossy mode {lossy!r} (valid: {', '.join(LOSSY_MODES)})")
    keep_keys = False  # traces are rebuilt by replaying action ids: 8 bytes/state saved

    stats = Stats()
    coverage_names = list(vm.coverage_kinds)
    kind_index = {name: j for j, name in enumerate(vm.kind_names)}
    coverage = np.zeros(len(vm.kind_names), dtype=np.int64)
    violations = {p.name: 0 for p in properties}
    found: dict = {}
    pending = len(state_k) + len(trans_k)
    start = time.perf_counter()

    level_keys: list = []    # per level, keys in discovery order (exact mode)
    levels = Levels()        # per level, each state's parent and action from it
    # graph properties: per level, in-scope and goal bits, and the edges (edges.py)
    n_states = 0
    n_explored_transitions = 0

    adding = None  # the last level's visited.add, running in the lookup thread (a Future)
    # the last level's GraphStore.maybe_compact, in a thread of its own (a Future): it uses
    # whichever core the other two leave idle, and ends before the store is read again
    compacting = None
    compactor = ThreadPoolExecutor(1, thread_name_prefix="dnsrace-compact") \
        if keep_edges else None

    def added():
        """Waits for that ``visited.add`` and that compaction (raising what they raised):
        from here this thread may read or change the visited set and the graph store."""
        nonlocal adding, compacting
        if adding is not None:
            done, adding = adding, None
            done.result()
        if compacting is not None:
            done, compacting = compacting, None
            done.result()

    def commit_level(keys, parents, aids):
        """Stores a new level (keys in discovery order); checks state invariants. The visited
        set is added to in the lookup thread when there is one (a plain one in RAM): the next
        level's lookups queue behind it there, and this thread goes on meanwhile."""
        nonlocal n_states, adding
        ids = np.arange(n_states, n_states + len(keys), dtype=np.int64)
        if local is not None and not isinstance(visited, DiskVisited):
            adding = local.submit(visited.add, keys, ids)
        else:
            visited.add(keys, ids)
        level_keys.append(keys if keep_keys else None)
        levels.add(parents, aids)
        scope = in_scope(keys) if in_scope is not None else None
        if keep_edges:
            graph.add_states(scope, {p.name: is_goal(keys) for p, (_, is_goal) in graph_k},
                             children=levels.counts[-1] if len(levels) > 1 else None)
        scoped = keys if scope is None else keys[scope]
        scoped_ids = ids if scope is None else ids[scope]
        if len(scoped):
            stats.states += len(scoped)
            stats.depth = len(levels) - 1
        for p, f in state_k:
            bad = ~f(scoped)
            nbad = int(bad.sum())
            if nbad:
                violations[p.name] += nbad
                if p.name not in found:
                    found[p.name] = ("state", int(scoped_ids[np.argmax(bad)]))
        n_states += len(keys)

    local = None  # the in-process expander (below)
    init = vm.init_keys()
    if symmetry:
        init = vm.canonical(init)
    _, first = np.unique(init, return_index=True)
    init = init[np.sort(first)]
    commit_level(init, np.full(len(init), -1), np.full(len(init), -1))

    stop_reason = ""
    depth = 0  # the level being expanded: every state at depth <= this one is known
    base = 0   # id of the first state of that level
    frontier = init
    seconds0 = 0.0  # search time before this run resumed it

    def search_state():  # everything the loop carries from one level to the next
        return dict(vm=vm, por=por, symmetry=symmetry, visited=visited, level_keys=level_keys,
                    levels=levels, graph=graph, n_states=n_states, n_explored_transitions=n_explored_transitions,
                    stats=stats, coverage=coverage, violations=violations, found=found,
                    depth=depth, base=base, frontier=frontier, init=init,
                    seconds=seconds0 + time.perf_counter() - start)

    saved = checkpoint.take(vm, por, symmetry) if checkpoint is not None else None
    if saved is not None:
        (visited, level_keys, levels, graph, n_states, n_explored_transitions, stats,
         coverage, violations, found, depth, base, frontier, init, seconds0) = (saved[k] for k in (
            "visited", "level_keys", "levels", "graph", "n_states", "n_explored_transitions",
            "stats", "coverage", "violations", "found", "depth", "base", "frontier", "init",
            "seconds"))
    at_boundary = True  # the loop's state is that of a level boundary (a checkpoint's)
    deferring = False   # interrupts wait for the next boundary (Deferral.soft)
    local = LocalExpander(vm, symmetry, por, checks) if expander is None else None
    expander_map = (local or expander).map
    try:
        huge_pages(False)
        while len(frontier):
            if checkpoint is not None or memory is not None:
                added()
            # (a size read while the lookup thread merges the last level is good enough)
            huge_pages(visited.nbytes() + levels.nbytes()
                       + (graph.nbytes() if graph is not None else 0) >= HUGE_PAGES_FROM)
            if checkpoint is not None:
                checkpoint.boundary(search_state)
            if stop_at_violation and found:
                stop_reason = "a violation was found"
                break
            if options.stop_early and not graph_k and pending and len(found) == pending:
                stop_reason = "every property violated"
                break
            if options.max_states is not None and n_states >= options.max_states:
                stop_reason = f"state limit {options.max_states} reached"
                break
            stop_reason = depth_reason(options.max_depth, depth)
            if stop_reason:
                break
            if memory is not None:
                stop_reason, visited = _within_budget(
                    memory, graph, visited, levels, frontier.nbytes
                    + (graph.mask_bytes() if graph else 0))
                if stop_reason:
                    break
            # per chunk (ChunkRecord): its distinct successors not yet visited (in discovery
            # order) with the source (id) and action of each one's first discovery, each
            # source's out-degree, and (graph properties) each transition's target
            succ_u, succ_src, succ_aid, succ_inv = [], [], [], []
            succ_base, lvl_deg = [], []
            lvl_trans = 0
            lvl_cov = np.zeros_like(coverage)
            lvl_viol = {p.name: 0 for p, _ in trans_k}
            lvl_found = {}
            offset = base
            tbase = 0
            timed_out = False
            for rec in expander_map(frontier, base, visited, keep_edges):
                if options.max_seconds is not None and \
                        time.perf_counter() - start > options.max_seconds:
                    timed_out = True
                    break
                succ_u.append(rec.fresh)
                succ_src.append(rec.src.astype(np.int64) + offset)
                succ_aid.append(rec.aid)
                if keep_edges:
                    succ_inv.append(rec.codes)
                succ_base.append(offset)
                lvl_deg.append(rec.degree)
                offset += rec.size
                tbase += rec.transitions
                checked = rec.checked
                del rec
                # transitions between in-scope states: counted and checked (by the expander)
                n_in, cov, viol = checked
                lvl_trans += n_in
                lvl_cov += cov
                for name, (nbad, j_src, j_dst) in viol.items():
                    lvl_viol[name] += nbad
                    if name not in found and name not in lvl_found:
                        lvl_found[name] = ("transition", j_src + succ_base[-1], j_dst)
                if reporter is not None:
                    stats.explored_states = n_states
                    stats.seconds = time.perf_counter() - start
                    reporter(stats, len(frontier) - (offset - base))
            added()  # (done before the first lookup: it raises here what it raised)
            if timed_out:
                stop_reason = f"time limit {options.max_seconds:g} s reached"
                break
            if checkpoint is not None and options.max_states is not None and \
                    n_states + tbase > options.max_states:  # the level may be cut: save first
                checkpoint.boundary(search_state, now=True)
            # the level is fully expanded: commit its transitions and the next level
            at_boundary = False
            if checkpoint is not None:  # a Ctrl-C now waits for the boundary (limits.py)
                Deferral.soft += 1
                deferring = True
            stats.transitions += lvl_trans
            coverage += lvl_cov
            for name, v in lvl_viol.items():
                violations[name] += v
            found.update(lvl_found)
            n_explored_transitions += tbase
            # the level's distinct successors in discovery order (the chunks' own distinct
            # successors, each in that order, concatenated and deduplicated once more)
            cat_base = np.cumsum([0] + [len(uk) for uk in succ_u])
            cat = np.concatenate(succ_u) if succ_u else np.empty(0, np.int64)
            new_keys, cat_first, cat_inv = first_unique(cat)  # all of them are new
            del cat, succ_u
            if keep_edges:  # each transition's target id
                dst = []
                for code, co in zip(succ_inv, cat_base):
                    fresh = code < 0
                    code[fresh] = cat_inv[co - 1 - code[fresh]] + n_states
                    dst.append(code)
            del cat_inv, succ_inv
            new_src = _gather(succ_src, cat_first, cat_base, np.int64)
            new_aid = _gather(succ_aid, cat_first, cat_base, np.int16)
            del succ_src, succ_aid, cat_first
            truncated = False
            if options.max_states is not None and n_states + len(new_keys) > options.max_states:
                # Stop where the object BFS stops (the engines agree under limits): it expands
                # nodes in this order until the stored count reaches the limit, keeping every
                # successor of the node that reached it. So keep the new states discovered by
                # sources up to that node, and only the violations its prefix saw.
                last_src = int(new_src[options.max_states - n_states - 1])
                cut = int(np.searchsorted(new_src, last_src, side="right"))
                new_keys, new_src, new_aid = new_keys[:cut], new_src[:cut], new_aid[:cut]
                truncated = True
                for name, hit in lvl_found.items():
                    if hit[1] > last_src and found.get(name) is hit:
                        del found[name]
                if in_scope is None:
                    degs = np.concatenate(lvl_deg)
                    stats.transitions -= int(degs[last_src - base + 1:].sum(dtype=np.int64))
            next_base = n_states
            if len(new_keys):
                commit_level(new_keys, new_src, new_aid)
            spill_failed = ""
            try:
                if isinstance(visited, DiskVisited):
                    visited.settle()  # a full RAM generation goes to disk
                    if visited.runs:  # and the tree's older levels with the first one
                        levels.spill_to(visited.spill, counts=not keep_edges)
                if keep_edges and not truncated:
                    graph.add_edges(lvl_deg, dst)  # per chunk of the frontier
                    compacting = compactor.submit(graph.maybe_compact)
            except SpillError as exc:  # the disk filled up: no verdict on graph properties
                spill_failed = str(exc)
            if keep_edges:
                del dst
            del lvl_deg
            depth += 1
            base = next_base
            frontier = new_keys
            if truncated:
                stop_reason = f"state limit {options.max_states} reached"
                break
            if spill_failed:
                stop_reason = spill_failed
                break
            at_boundary = True
            if deferring:
                deferring = False
                Deferral.soft -= 1
                Deferral.raise_pending()
        else:
            stats.exhausted = True
    except KeyboardInterrupt as exc:
        stop_reason = interrupt_reason(exc)
    except SpillError as exc:  # the visited set or the tree could not be read or written
        stop_reason = str(exc)
    finally:
        if local is not None:  # a lookup still running ends before anything else
            local.close()
        if compactor is not None:
            compactor.shutdown(wait=True)
        if deferring:  # the level was cut short (a limit) or failed: no boundary to wait for
            Deferral.soft -= 1
            if isinstance(Deferral.pending, KeyboardInterrupt) and not Deferral.active:
                Deferral.pending = None
                stop_reason = "interrupted"
    added()  # the last level's (raising what it raised)
    if checkpoint is not None:  # a run stopped short is saved where it stopped
        checkpoint.finish(search_state if at_boundary else None, stopped=not stats.exhausted
                          and stop_reason not in ("every property violated",
                                                  "a violation was found"))

    stats.seconds = seconds0 + time.perf_counter() - start
    stats.explored_states = n_states
    stats.explored_transitions = n_explored_transitions
    if not stats.exhausted:
        stats.depth = min(stats.depth, depth)
    stats.coverage = {name: int(coverage[kind_index[name]]) if name in kind_index else 0
                      for name in coverage_names}
    for j, name in enumerate(vm.kind_names):  # kinds not declared, named as they fired
        if coverage[j] and name not in stats.coverage:
            stats.coverage[name] = int(coverage[j])
    stats.never_fired = [k for k in coverage_names if not stats.coverage[k]] \
        if stats.exhausted else []
    stats.stop_reason = stop_reason
    stats.violations = violations

    def key_of(j):
        lvl = levels.level_of(j)
        return level_keys[lvl][j - levels.bases[lvl]]

    def chain(j):
        ids = []
        while j >= 0:
            ids.append(j)
            j = levels.parent(j)
        ids.reverse()
        if keep_keys:
            keys = [key_of(i) for i in ids]
        else:  # replay the stored action ids from the initial state
            keys = [key_of_init(ids[0])]
            for i in ids[1:]:
                keys.append(vm.step(keys[-1], levels.aid(i), symmetry))
        return [vm.decode(k) for k in keys]

    def key_of_init(j):
        return int(init[j])

    stored_bytes = (visited.nbytes() + levels.nbytes()
                    + sum(x.nbytes for x in level_keys if x is not None)
                    + (graph.nbytes() if graph is not None else 0))
    spilled = _spilled(graph, visited)
    unreachable = {}
    if graph is not None and stats.exhausted:
        try:
            unreachable = unreached_count(graph)
        except SpillError as exc:  # read back failed: the graph properties stay undecided
            stats.exhausted = False
            stats.stop_reason = str(exc)
            stats.never_fired = []
    results = {}
    with one_trace_search():
        for p in properties:
            hit = found.get(p.name)
            if p.kind == "graph property":
                count, first = unreachable.get(p.name, (0, None))
                violations[p.name] = count
                hit = ("state", first) if first is not None else None
            if hit is not None and not traces:
                results[p.name] = PropertyResult(p.name, p.kind, VIOLATED)
                continue
            results[p.name] = _property_result(p, model, hit, stats, chain, symmetry, vm)
    statuses = [r.status for r in results.values()]
    verdict = VIOLATED if VIOLATED in statuses else INCOMPLETE if INCOMPLETE in statuses else HOLDS
    result = Result(verdict, results, stats, symmetry)
    result.por = por
    result.lossy = None if lossy is None else LossyInfo(
        lossy, visited.bits, n_states, visited.expected)
    result.stored_bytes = stored_bytes
    result.spilled = spilled
    return result


def _gather(parts: list, picks: np.ndarray, bases: np.ndarray, dtype) -> np.ndarray:
    """``np.concatenate(parts)[picks]`` for increasing ``picks`` (``bases``: each part's
    start in the concatenation), without the concatenation: part by part, each one freed
    (the list is emptied) once read."""
    out = np.empty(len(picks), dtype=dtype)
    cuts = np.searchsorted(picks, bases)
    for i in range(len(parts)):
        part = parts[i]
        parts[i] = None
        a, b = cuts[i], cuts[i + 1]
        out[a:b] = part[picks[a:b] - bases[i]]
        del part
    parts.clear()
    return out


def _within_budget(memory, graph, visited, levels, other_bytes):
    """At a level boundary under ``--memory``: moves the visited set to disk once it
    outgrows its share or the run would stop otherwise (and the tree's older levels with
    it), then the edges once they outgrow theirs (``edges.MemoryBudget``); returns ``(why
    the run must stop or '', the visited set)``: it stops when the rest of the stored
    search (``other_bytes``, the tree's and the visited set's RAM) outgrew its own share,
    or a spill failed."""
    def stored():  # the stored search's RAM, with the visited set as it is now
        return visited.nbytes() + levels.nbytes() + other_bytes

    try:
        if isinstance(visited, _ExactVisited) and \
                memory.visited_spills(visited.nbytes(), stored()):
            visited = DiskVisited(memory.folder(), ids=visited.ids is not None,
                                  ram_entries=memory.visited_entries, ram=visited)
            visited.settle()  # the states so far go to disk now
            levels.spill_to(visited.spill, counts=graph is None)  # (counts: the graph's)
        rest = stored()
        spill = memory.spill_for(graph, rest)
        if spill is not None:
            graph.spill_to(spill)
    except SpillError as exc:
        return str(exc), visited
    return memory.stop_reason(rest), visited


def _spilled(graph, visited):
    """Where the run spilled to disk and how much (for the result), or None."""
    spill = graph.spill if graph is not None and graph.spill is not None else \
        visited.spill if isinstance(visited, DiskVisited) and visited.spill.peak else None
    if spill is None:
        return None
    return {"folder": spill.parent, "peak_bytes": spill.peak,
            "edges": graph is not None and graph.spill is not None,
            "visited_on_disk": visited.on_disk if isinstance(visited, DiskVisited) else 0}


def _property_result(p, model, hit, stats, chain, symmetry, vm) -> PropertyResult:
    if hit is None:
        reps = None
    elif hit[0] == "state":
        reps = _reps(model, chain(hit[1]), symmetry)
    else:
        reps = _reps(model, chain(hit[1]) + [vm.decode(hit[2])], symmetry)
    return property_result(p, model, reps, symmetry, stats.exhausted,
                           on_transition=hit is not None and hit[0] != "state")


def _reps(model, states, symmetry):
    """The object model's representatives (the packed canonical form may differ)."""
    return [model.representative(s) for s in states] if symmetry else list(states)

