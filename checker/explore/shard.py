"""One partition of a distributed breadth-first search: the states whose hash it owns, their
parent pointers, and (for graph properties) the reverse edges into them. Plain numpy: a Ray
actor wraps it in ``checker.explore.cluster``, tests may drive it directly.

Each level runs in these phases, driven by the caller:

1. ``expand_level`` then ``route``: successors of this shard's frontier, locally
   deduplicated, split by owner. A model whose ids are interned in the driver only
   (``vm.process_local``, model/derived/) says which frontier keys its copy cannot expand
   (``vm.unprepared``); ``expand_level`` returns those, the driver prepares them and
   ``rebind``s every shard to a fresh copy, and ``expand_level`` resumes.
2. ``receive``: from every shard, the successors this one owns; those not yet visited are
   the level's *candidates*. Each carries its *discovery key* ``pos(source) << 16 | j``
   (``j``: the transition's index among its source's), whose order across all shards is the
   single-process engine's discovery order. The candidates' keys go to the shard owning
   their source's position range.
3. ``rank``: a range shard ranks the discovery keys it received; with the ranges' sizes the
   caller turns ranks into positions in the level.
4. ``commit``: the candidates, now numbered as the single-process engine numbers them, are
   stored (all, or those a state limit keeps) and checked; they are the next frontier.

State ids are therefore those of ``checker.explore.vector`` (level base + position), which
makes counts under a state limit, the first violating state and the traces identical.
Nothing here knows about DNS.
"""

from __future__ import annotations

import pickle
import resource

import numpy as np

from .vector import ChunkChecks, expand_chunk, vector_kernels

__all__ = ["Shard", "owner_of", "POS_SHIFT"]

CHUNK = 1 << 16
POS_SHIFT = 16  # a discovery key is pos(source) << POS_SHIFT | index among its transitions


def owner_of(keys: np.ndarray, count: int) -> np.ndarray:
    """Which of ``count`` shards owns each key (a multiplicative hash of the packed key)."""
    if count == 1:
        return np.zeros(len(keys), dtype=np.int64)
    x = keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((x >> np.uint64(32)) % np.uint64(count)).astype(np.int64)


def range_of(disc: np.ndarray, level_size: int, count: int) -> np.ndarray:
    """Which shard ranks each discovery key: contiguous ranges of source positions."""
    return ((disc >> POS_SHIFT) * count // max(level_size, 1)).astype(np.int64)


class _Visited:
    """Keys with their local ids as a few sorted runs of decreasing sizes (a log-structured
    merge, so adding a level copies small runs, not the whole set)."""

    def __init__(self):
        self.runs: list = []

    def lookup(self, keys):
        out = np.full(len(keys), -1, dtype=np.int64)
        for run_keys, run_ids in self.runs:
            pos = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[pos] == keys
            out[hit] = run_ids[pos[hit]]
        return out

    def add(self, keys, ids):
        if len(keys) == 0:
            return
        order = np.argsort(keys)
        self.runs.append((keys[order], ids[order].astype(np.int32)))
        while len(self.runs) >= 2 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            k2, i2 = self.runs.pop()
            k1, i1 = self.runs[-1]
            pos = np.searchsorted(k1, k2)
            self.runs[-1] = (np.insert(k1, pos, k2), np.insert(i1, pos, i2))

    def nbytes(self):
        return sum(k.nbytes + i.nbytes for k, i in self.runs)


def _loaded(x):
    """``x``, unpickled when it came pickled: Ray hands numpy arrays out of its object store
    read-only, and a model's memo tables must stay writable."""
    return pickle.loads(x) if isinstance(x, bytes) else x


def _distinct(x):
    """Sorted distinct values (by sorting: numpy's hash-based ``unique`` is slower here)."""
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


def _split(values, groups, count):
    """``values`` (a tuple of arrays) split by ``groups`` into ``count`` tuples."""
    return [tuple(v[groups == g] for v in values) for g in range(count)]


class Shard:
    """The states owned by shard ``index`` of ``count``; see the module docstring."""

    def __init__(self, index, count, vm, model, properties, symmetry, por):
        self.index, self.count = index, count
        self.symmetry, self.por = symmetry, por
        self.model, self.properties = _loaded(model), _loaded(properties)
        self.vm = _loaded(vm)
        self._kernels(self.vm)
        self.stale = False  # the model copy met a miss mid-expansion (see expand_level)
        self.fallbacks = 0  # how often that happened (model.unprepared said "ready" wrongly)
        self._level = None  # the level being expanded (expand_level, route)
        self._deg = None  # per frontier state, its transitions (a state limit's cut)
        self._ranked = None  # the discovery keys this shard ranked, sorted
        self.n = 0
        self.visited = _Visited()
        self.level_start: list = []  # local id of each level's first state
        self.parent_shard: list = []  # per level: the parent's shard (-1 for initial states)
        self.parent_local: list = []  # per level: the parent's local id (initial: its index)
        self.aid: list = []  # per level: the action id from the parent
        self.level_pos: list = []  # graph properties: each state's position in its level
        self.scope: list = []
        self.goal = {name: [] for name, _ in self.goal_k}
        self.edges: list = []  # graph properties: (dst local, src shard, src local) arrays
        self.frontier = (np.empty(0, np.int64),) * 3  # keys, positions, local ids
        self.pending = None
        self.reached = None

    def _kernels(self, vm):
        self.checks = ChunkChecks(vm, self.model, self.properties)
        state_k, _, graph_k = vector_kernels(vm, self.model, self.properties)
        self.state_k = [(p.name, f) for p, f in state_k]
        self.in_scope = graph_k[0][1][0] if graph_k else None
        self.goal_k = [(p.name, f[1]) for p, f in graph_k]

    # -- a level ---------------------------------------------------------------------------
    def seed(self, keys, pos):
        """Level 0: the initial states this shard owns, at positions ``pos``."""
        keys, pos = np.asarray(keys, np.int64), np.asarray(pos, np.int64)
        return self._commit(keys, pos, np.full(len(keys), -1, np.int16), pos,
                            np.full(len(keys), -1, np.int16))

    def rebind(self, vm):
        """Use ``vm``, a fresh copy of the driver's model that knows more ids, from now on."""
        self.vm = _loaded(vm)
        self._kernels(self.vm)
        self.stale = False

    def expand_level(self):
        """Expands the frontier, chunk by chunk, keeping the successors here (``route`` sends
        them). Returns ``("miss", keys)`` when this shard's copy of the model cannot expand
        ``keys`` yet (the driver prepares them and calls ``rebind``, then this again: it
        resumes where it stopped), else ``("done", summary)`` with ``summary = (in scope,
        coverage, {property: (violations, (source position, source local id), dst key)},
        transitions)``."""
        keys, pos, ids = self.frontier
        if self._level is None:
            self._level = {"chunk": 0, "out": [], "n_in": 0, "n_trans": 0, "cov": None,
                           "viol": {}, "deg": []}
        lv = self._level
        if self.stale:  # a miss interrupted an expansion: this copy may be inconsistent
            return "miss", np.empty(0, np.int64)
        rest = keys[lv["chunk"] * CHUNK:]
        need = getattr(self.vm, "unprepared", None)
        if need is not None and len(rest) and not lv.pop("announced", False):
            mask = need(rest, self.symmetry, self.por)
            if mask.any():  # (the next call expands: the mask may be conservative)
                lv["announced"] = True
                return "miss", rest[mask]
        while lv["chunk"] * CHUNK < len(keys):
            i = lv["chunk"] * CHUNK
            chunk = keys[i:i + CHUNK]
            try:
                got = expand_chunk(self.vm, chunk, self.symmetry, self.por, self.checks)
            except Exception as exc:  # noqa: BLE001 - only the model's own miss is retried
                if not any(c.__name__ == "ProcessLocalMiss" for c in type(exc).__mro__):
                    raise  # (explore/ does not import the model, hence by name)
                self.stale = True  # a half-filled memo: never expand with this copy again
                self.fallbacks += 1
                return "miss", chunk
            src, aid, nxt, uk, uf, inv, (c_in, c_cov, c_viol) = got
            j = np.arange(len(src)) - np.searchsorted(src, src)
            disc = (pos[i + src] << POS_SHIFT) | j
            lv["out"].append((uk, disc[uf], ids[i + src[uf]], aid[uf],
                              inv.astype(np.int64), ids[i + src]))
            lv["deg"].append(np.bincount(src, minlength=len(chunk)))
            lv["n_trans"] += len(src)
            lv["n_in"] += c_in
            lv["cov"] = c_cov if lv["cov"] is None else lv["cov"] + c_cov
            for name, (nbad, j_src, dst) in c_viol.items():
                old = lv["viol"].get(name)
                lv["viol"][name] = (nbad + (old[0] if old else 0), old[1] if old else
                                    (int(pos[i + j_src]), int(ids[i + j_src])),
                                    old[2] if old else int(dst))
            lv["chunk"] += 1
        cov = lv["cov"] if lv["cov"] is not None else \
            np.zeros(len(self.vm.kind_names), np.int64)
        return "done", (lv["n_in"], cov, lv["viol"], lv["n_trans"])

    def transitions_after(self, last_pos):
        """Transitions of this level from sources after position ``last_pos`` (a state limit
        cuts the level there, as the single-process engine does)."""
        deg = self._deg if self._deg is not None else np.empty(0, np.int64)
        return int(deg[self.frontier[1] > last_pos].sum())

    def route(self):
        """The expanded level's successors: ``count`` parts (one per owner) of ``(keys,
        discovery keys, source local ids, action ids, edge targets, edge sources)``, and the
        bytes sent to other shards."""
        lv, self._level = self._level, None
        out = lv["out"]
        self._deg = np.concatenate(lv["deg"]) if lv["deg"] else np.empty(0, np.int64)
        graph = bool(self.goal_k)
        cat = lambda i, dt: np.concatenate([o[i] for o in out]) if out \
            else np.empty(0, dt)  # noqa: E731
        uk, disc, src, aid = cat(0, np.int64), cat(1, np.int64), cat(2, np.int64), \
            cat(3, np.int16)
        # across chunks: one entry per key, the one discovered first. Each chunk's keys are
        # sorted and chunks come in discovery order, so a stable sort by key (a merge of
        # sorted runs) puts each key's first discovery first
        order = np.argsort(uk, kind="stable")
        head = np.ones(len(order), dtype=bool)
        head[1:] = uk[order[1:]] != uk[order[:-1]]
        pick = order[head]
        owner = owner_of(uk[pick], self.count)
        parts = _split((uk[pick], disc[pick], src[pick], aid[pick]), owner, self.count)
        if graph:  # every transition, as (index in its owner's part, source local id)
            offsets = np.cumsum([0] + [len(o[0]) for o in out])[:-1]
            t_u = np.concatenate([o[4] + off for o, off in zip(out, offsets)]) if out \
                else np.empty(0, np.int64)
            group = np.empty(len(order), dtype=np.int64)
            group[order] = np.cumsum(head) - 1
            in_part = np.empty(len(pick), dtype=np.int64)
            for g in range(self.count):
                sel = owner == g
                in_part[sel] = np.arange(int(sel.sum()))
            tu = group[t_u]
            tsrc = cat(5, np.int64)
            t_owner = owner[tu]
            parts = [p + (in_part[tu[t_owner == g]].astype(np.int32),
                          tsrc[t_owner == g].astype(np.int32))
                     for g, p in enumerate(parts)]
        sent = sum(a.nbytes for g, p in enumerate(parts) if g != self.index for a in p)
        return tuple(parts) + (sent,)

    def receive(self, level_size, *parts):
        """The successors this shard owns, from every shard (``parts[a]`` from shard a).
        Returns ``count`` arrays of candidates' discovery keys (by rank shard) and the
        number of candidates."""
        keys = np.concatenate([p[0] for p in parts])
        disc = np.concatenate([p[1] for p in parts])
        sender = np.concatenate([np.full(len(p[0]), a, np.int16) for a, p in enumerate(parts)])
        src = np.concatenate([p[2] for p in parts])
        aid = np.concatenate([p[3] for p in parts])
        order = np.lexsort((disc, keys))
        head = np.ones(len(order), dtype=bool)
        head[1:] = keys[order[1:]] != keys[order[:-1]]
        pick = order[head]
        ids = self.visited.lookup(keys[pick])
        new = ids < 0
        cand = pick[new]
        cdisc = disc[cand]
        ranges = range_of(cdisc, level_size, self.count)
        self.pending = {"keys": keys[cand], "disc": cdisc, "sender": sender[cand],
                        "src": src[cand], "aid": aid[cand], "ranges": ranges}
        if self.goal_k:
            group = np.empty(len(order), dtype=np.int64)
            group[order] = np.cumsum(head) - 1
            starts = np.cumsum([0] + [len(p[0]) for p in parts])
            e_dst = np.concatenate([group[starts[a] + p[4]] for a, p in enumerate(parts)])
            e_shard = np.concatenate([np.full(len(p[4]), a, np.int16)
                                      for a, p in enumerate(parts)])
            e_src = np.concatenate([p[5] for p in parts])
            self.pending.update(group_ids=ids, group_new=new, edges=(e_dst, e_shard, e_src))
        out = [cdisc[ranges == r] for r in range(self.count)]
        return tuple(out) + (len(cand),)

    def rank(self, *parts):
        """Ranks of the discovery keys sent by each shard (``parts[b]`` from shard b) among
        all received; returns one array per sender and how many there were."""
        allv = np.concatenate(parts) if parts else np.empty(0, np.int64)
        ranks = np.empty(len(allv), dtype=np.int64)
        order = np.argsort(allv)
        ranks[order] = np.arange(len(allv))
        self._ranked = allv[order]
        cuts = np.cumsum([0] + [len(p) for p in parts])
        return tuple(ranks[cuts[b]:cuts[b + 1]] for b in range(len(parts))) + (len(allv),)

    def discovery_at(self, rank):
        """The discovery key of rank ``rank`` among those this shard ranked."""
        return int(self._ranked[rank])

    def commit(self, offsets, cut, *ranks):
        """Numbers the candidates (``offsets[r] + ranks[r]``), stores those whose discovery
        key is below ``cut`` (None: all) and checks them; returns the summary of
        ``_commit``."""
        self._ranked = None
        p = self.pending
        self.pending = None
        pos = np.empty(len(p["keys"]), dtype=np.int64)
        for r in range(self.count):
            pos[p["ranges"] == r] = offsets[r] + ranks[r]
        keep = np.arange(len(pos)) if cut is None else np.flatnonzero(p["disc"] < cut)
        keep = keep[np.argsort(pos[keep])]
        first_local = self.n
        summary = self._commit(p["keys"][keep], pos[keep], p["sender"][keep],
                               p["src"][keep], p["aid"][keep])
        if "edges" in p:
            gid = p["group_ids"]
            new_groups = np.flatnonzero(p["group_new"])
            assigned = np.full(len(new_groups), -1, dtype=np.int64)
            assigned[keep] = np.arange(first_local, first_local + len(keep))
            gid[new_groups] = assigned
            e_dst, e_shard, e_src = p["edges"]
            self.edges.append((gid[e_dst].astype(np.int32), e_shard, e_src))
        return summary

    def _commit(self, keys, pos, pshard, plocal, aid):
        """Stores a level (keys in position order) and checks the state invariants on it.
        Returns ``(stored, in scope, {property: (violations, first position, local id)})``."""
        local = np.arange(self.n, self.n + len(keys), dtype=np.int64)
        if self.n + len(keys) >= 2**31:
            raise OverflowError("a shard holds at most 2^31 states: use more actors")
        self.visited.add(keys, local)
        self.level_start.append(self.n)
        self.parent_shard.append(np.asarray(pshard, np.int16))
        self.parent_local.append(np.asarray(plocal, np.int32))
        self.aid.append(np.asarray(aid, np.int16))
        scope = self.in_scope(keys) if self.in_scope is not None else None
        if self.goal_k:
            self.level_pos.append(pos.astype(np.int32 if len(pos) == 0 or pos[-1] < 2**31
                                             else np.int64))
            self.scope.append(scope)
            for name, is_goal in self.goal_k:
                self.goal[name].append(is_goal(keys))
        sk, sp, sl = (keys, pos, local) if scope is None else \
            (keys[scope], pos[scope], local[scope])
        viol = {}
        for name, f in self.state_k:
            bad = ~f(sk)
            if bad.any():
                j = int(np.argmax(bad))
                viol[name] = (int(bad.sum()), int(sp[j]), int(sl[j]))
        self.n += len(keys)
        self.frontier = (keys, pos, local)
        return len(keys), len(sk), viol

    # -- paths -------------------------------------------------------------------------------
    def parent_of(self, local):
        """``(parent shard, parent local id or initial index, action id)`` of a state."""
        lvl = int(np.searchsorted(self.level_start, local, side="right")) - 1
        j = local - self.level_start[lvl]
        return (int(self.parent_shard[lvl][j]), int(self.parent_local[lvl][j]),
                int(self.aid[lvl][j]))

    # -- graph properties: backward reachability in rounds ---------------------------------
    def reach_start(self, name):
        """Starts backward reachability from the goals of ``name``; see ``reach_step``."""
        if self.edges:
            dst = np.concatenate([e[0] for e in self.edges])
            self._e_shard = np.concatenate([e[1] for e in self.edges])
            self._e_src = np.concatenate([e[2] for e in self.edges])
            order = np.argsort(dst)
            self._e_shard, self._e_src = self._e_shard[order], self._e_src[order]
            self._e_starts = np.concatenate(([0], np.cumsum(np.bincount(
                dst, minlength=self.n), dtype=np.int64)))
        else:
            self._e_shard = self._e_src = np.empty(0, np.int32)
            self._e_starts = np.zeros(self.n + 1, np.int64)
        goal = self.goal[name]
        self.reached = np.concatenate(goal) if goal else np.zeros(0, bool)
        return self._propagate(np.flatnonzero(self.reached))

    def reach_step(self, *incoming):
        """Marks the states other shards found to reach a goal, follows edges back within
        this shard; returns, per shard, the predecessors it owns and how many were sent."""
        ids = _distinct(np.concatenate(incoming)) if incoming else np.empty(0, np.int64)
        ids = ids[~self.reached[ids]]
        self.reached[ids] = True
        return self._propagate(ids)

    def _propagate(self, todo):
        out = [[] for _ in range(self.count)]
        while len(todo):
            lo, hi = self._e_starts[todo], self._e_starts[todo + 1]
            lens = hi - lo
            idx = np.repeat(lo - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
            shard, src = self._e_shard[idx], self._e_src[idx].astype(np.int64)
            mine = _distinct(src[shard == self.index])
            todo = mine[~self.reached[mine]]
            self.reached[todo] = True
            for g in range(self.count):
                if g != self.index:
                    out[g].append(src[shard == g])
        parts = [_distinct(np.concatenate(o)) if o else np.empty(0, np.int64) for o in out]
        return tuple(parts) + (sum(len(p) for p in parts),)

    def unrecovered(self):
        """In-scope states that reach no goal: ``(count, (level, position, local id) of the
        first one or None)``."""
        bad = np.concatenate(self.scope) & ~self.reached if self.scope else np.zeros(0, bool)
        if not bad.any():
            return 0, None
        j = int(np.argmax(bad))
        lvl = int(np.searchsorted(self.level_start, j, side="right")) - 1
        return int(bad.sum()), (lvl, int(self.level_pos[lvl][j - self.level_start[lvl]]), j)

    # -- accounting --------------------------------------------------------------------------
    def usage(self):
        """``(stored bytes, peak resident MB of this process, expansions retried after a
        miss the model's ``unprepared`` did not announce, CPU seconds of this process)``."""
        stored = self.visited.nbytes() + sum(
            x.nbytes for xs in (self.parent_shard, self.parent_local, self.aid,
                                self.level_pos, self.scope) for x in xs if x is not None)
        stored += sum(x.nbytes for v in self.goal.values() for x in v)
        stored += sum(a.nbytes + b.nbytes + c.nbytes for a, b, c in self.edges)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return stored, ru.ru_maxrss / 1024, self.fallbacks, ru.ru_utime + ru.ru_stime
