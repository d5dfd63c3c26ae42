"""The graph properties' edge store and backward fixpoint (checker/explore/edges.py): the same
answer as a plain backward search on random graphs, in RAM and spilled to disk; the vector
engine gives the same results with and without a spill folder or a memory budget; the spill
folder is private and always removed."""

import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker.explore import edges as edges_module
from dnsrace.checker.explore.bfs import explore as object_bfs
from dnsrace.checker.explore.edges import (GraphStore, MemoryBudget, Spill, SpillError,
                                           _segment_any, parse_size, unreached,
                                           unreached_count)
from dnsrace.checker.explore.engines import EngineError, EngineOptions, run as run_engine
from dnsrace.checker.explore.result import Options
from dnsrace.checker.explore.vector import explore as vexplore
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem, resolve_protocol
from dnsrace.model.derived import vector_model

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples",
                       "verify_then_cleanup.py") + ":VerifyThenCleanup"


# -- random graphs against a plain backward search ------------------------------------------

def random_graph(seed, n_levels, max_level, max_deg, goal_rate, back_rate):
    """Levels of states; each state's successors lie in levels <= its own + 1 (back edges,
    same-level edges and self-loops included), some states have none; as in a breadth-first
    search, each state past the first level has a parent in the level before (parents
    nondecreasing), with an edge (or two) to it somewhere in its list."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_level + 1, n_levels)
    bases = np.concatenate(([0], np.cumsum(sizes)))
    succ = []
    for lvl in range(n_levels):
        hi = bases[min(lvl + 2, n_levels)]
        for _ in range(sizes[lvl]):
            deg = int(rng.integers(0, max_deg + 1))
            forward = rng.random(deg) >= back_rate
            lo_fwd = bases[min(lvl + 1, n_levels - 1)] if lvl + 1 < n_levels else 0
            t = np.where(forward, rng.integers(lo_fwd, max(hi, lo_fwd + 1), deg),
                         rng.integers(0, hi, deg))
            succ.append(t.astype(np.int64))
    children = []
    for lvl in range(n_levels - 1):
        parents = np.sort(rng.integers(0, sizes[lvl], sizes[lvl + 1])) + bases[lvl]
        for child, parent in enumerate(parents, start=int(bases[lvl + 1])):
            ts = succ[parent]
            for _ in range(1 + int(rng.random() < 0.2)):
                ts = np.insert(ts, int(rng.integers(0, len(ts) + 1)), child)
            succ[parent] = ts
        children.append(np.bincount(parents - bases[lvl], minlength=sizes[lvl]))
    n = int(bases[-1])
    goals = {"a": rng.random(n) < goal_rate, "b": rng.random(n) < goal_rate / 3}
    scope = rng.random(n) < 0.8
    return bases, succ, goals, scope, children


def reference(succ, goal, scope):
    """In-scope states with no path to a goal: backward breadth-first search."""
    n = len(succ)
    pred = [[] for _ in range(n)]
    for s, ts in enumerate(succ):
        for t in ts:
            pred[int(t)].append(s)
    reached = np.array(goal, dtype=bool)
    todo = list(np.flatnonzero(reached))
    while todo:
        t = todo.pop()
        for s in pred[t]:
            if not reached[s]:
                reached[s] = True
                todo.append(s)
    return np.flatnonzero(scope & ~reached)


def build(bases, succ, goals, scope, spill=None, drop_self_loops=False, chunk=None,
          kids=None, compact_after=()):
    """The store of that graph, each level's edges handed over whole or ``chunk`` sources
    at a time (as the engine does, per chunk of its frontier); with ``kids`` (the tree's
    children counts per level) edges to first-discovered children are implied, not stored;
    ``compact()`` after storing the edges of each level in ``compact_after``."""
    store = GraphStore(sorted(goals), spill)
    n_levels = len(bases) - 1

    def add_states(lvl):
        sl = slice(bases[lvl], bases[lvl + 1])
        store.add_states(scope[sl], {k: v[sl] for k, v in goals.items()},
                         children=kids[lvl - 1] if kids is not None and lvl else None)

    add_states(0)
    for lvl in range(n_levels):
        if lvl + 1 < n_levels:
            add_states(lvl + 1)  # the engine commits the next level before its edges
        ts = [succ[s] for s in range(bases[lvl], bases[lvl + 1])]
        if drop_self_loops:
            ts = [t[t != s] for s, t in zip(range(bases[lvl], bases[lvl + 1]), ts)]
        deg = np.array([len(t) for t in ts], dtype=np.int64)
        if chunk is None:
            store.add_edges(deg, np.concatenate(ts) if ts else np.zeros(0, np.int64))
        else:
            cuts = range(0, len(ts), chunk)
            store.add_edges([deg[i:i + chunk] for i in cuts],
                            [np.concatenate(ts[i:i + chunk] + [np.zeros(0, np.int64)])
                             for i in cuts])
        if lvl in compact_after:
            store.compact()
    return store


graph_params = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 30),
                         st.integers(0, 5), st.sampled_from([0.0, 0.02, 0.1, 0.4]),
                         st.sampled_from([0.0, 0.1, 0.5, 1.0]))


@settings(max_examples=150, deadline=None)
@given(graph_params, st.booleans(), st.none() | st.integers(1, 7),
       st.sampled_from([1, 4, edges_module.CHUNK_EDGES]), st.booleans())
def test_fixpoint_equals_a_backward_search(params, drop_self_loops, chunk, chunk_edges, tree):
    bases, succ, goals, scope, kids = random_graph(*params)
    store = build(bases, succ, goals, scope, drop_self_loops=drop_self_loops, chunk=chunk,
                  kids=kids if tree else None)
    default, edges_module.CHUNK_EDGES = edges_module.CHUNK_EDGES, chunk_edges
    try:
        got = unreached(store)
    finally:
        edges_module.CHUNK_EDGES = default
    for name, goal in goals.items():
        assert got[name].tolist() == reference(succ, goal, scope).tolist()
        assert got[name].dtype == np.int64
    counted = unreached_count(build(bases, succ, goals, scope, drop_self_loops=drop_self_loops,
                                    chunk=chunk, kids=kids if tree else None))
    for name, goal in goals.items():  # what the engine asks for: how many, and the first
        want = reference(succ, goal, scope).tolist()
        assert counted[name] == (len(want), want[0] if want else None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph_params, st.none() | st.integers(1, 7))
def test_spilled_fixpoint_equals_the_one_in_ram_and_leaves_nothing(tmp_path, params, chunk):
    bases, succ, goals, scope, kids = random_graph(*params)
    spill = Spill(tmp_path)
    store = build(bases, succ, goals, scope, spill, chunk=chunk, kids=kids)
    assert store.ram_edge_bytes == 0 and os.listdir(tmp_path) == [os.path.basename(spill.path)]
    got = unreached(store)
    assert spill.written == 0  # every file read back was removed
    store.close()
    assert os.listdir(tmp_path) == []
    want = unreached(build(bases, succ, goals, scope))
    assert {k: v.tolist() for k, v in got.items()} == {k: v.tolist() for k, v in want.items()}


@settings(max_examples=60, deadline=None)
@given(graph_params, st.booleans(), st.sampled_from([1, 2, 3]))
def test_fixpoint_on_two_threads_equals_a_backward_search(params, tree, threads):
    """Chunks of a level, and halves of a residual level, computed at once on two threads
    (each missing marks the other makes) still give exactly the backward search's answer."""
    bases, succ, goals, scope, kids = random_graph(*params)
    store = build(bases, succ, goals, scope, kids=kids if tree else None)
    saved = edges_module.FIXPOINT_MIN_EDGES, edges_module.FIXPOINT_THREADS
    edges_module.FIXPOINT_MIN_EDGES, edges_module.FIXPOINT_THREADS = 1, threads
    try:
        got = unreached(store)
    finally:
        edges_module.FIXPOINT_MIN_EDGES, edges_module.FIXPOINT_THREADS = saved
    for name, goal in goals.items():
        assert got[name].tolist() == reference(succ, goal, scope).tolist()


@settings(max_examples=150, deadline=None)
@given(graph_params, st.booleans(), st.none() | st.integers(1, 7), st.data())
def test_compacting_midway_keeps_the_answer_and_settles_only_what_reaches_a_goal(
        params, tree, chunk, data):
    """``compact`` during the search (after any levels) settles only states with a path to a
    goal, drops edges only of those, and leaves ``unreached`` exactly the backward search's."""
    bases, succ, goals, scope, kids = random_graph(*params)
    n_levels = len(bases) - 1
    after = data.draw(st.sets(st.integers(0, n_levels - 1)))
    plain = build(bases, succ, goals, scope, chunk=chunk, kids=kids if tree else None)
    store = build(bases, succ, goals, scope, chunk=chunk, kids=kids if tree else None,
                  compact_after=after)
    n = int(bases[-1])
    for name, goal in goals.items():
        want = reference(succ, goal, scope)
        reaches = np.ones(n, bool)
        reaches[reference(succ, goal, np.ones(n, bool))] = False
        settled = store.is_settled(name, np.arange(n))
        assert not (settled & ~reaches).any()  # sound: every settled state reaches a goal
        assert (settled >= plain.is_settled(name, np.arange(n))).all()
    kept = sum(e.n_edges for e in store.edges)
    assert kept <= sum(e.n_edges for e in plain.edges)
    got = unreached(store)
    for name, goal in goals.items():
        assert got[name].tolist() == reference(succ, goal, scope).tolist()


@settings(max_examples=100, deadline=None)
@given(graph_params, st.booleans(), st.none() | st.integers(1, 7), st.data())
def test_compacting_in_small_chunks_equals_compacting_whole_levels(params, tree, chunk, data):
    """A compaction goes through each level a chunk of sources at a time (and moves the
    kept edges down in place): with chunks of one source or a few edges it settles and keeps
    exactly what it does in one chunk a level."""
    bases, succ, goals, scope, kids = random_graph(*params)
    after = data.draw(st.sets(st.integers(0, len(bases) - 2)))
    sizes = data.draw(st.tuples(st.integers(1, 5), st.sampled_from([1, 2, 5])))
    args = dict(chunk=chunk, kids=kids if tree else None, compact_after=after)
    whole = build(bases, succ, goals, scope, **args)
    saved = edges_module.SOURCE_CHUNK, edges_module.CHUNK_EDGES
    try:
        edges_module.SOURCE_CHUNK, edges_module.CHUNK_EDGES = sizes
        small = build(bases, succ, goals, scope, **args)
    finally:
        edges_module.SOURCE_CHUNK, edges_module.CHUNK_EDGES = saved
    n = np.arange(int(bases[-1]))
    for name in goals:
        assert small.is_settled(name, n).tolist() == whole.is_settled(name, n).tolist()
    for a, b in zip(small.edges, whole.edges):
        assert a.n_edges == b.n_edges == len(a.dst)
        assert a.dst.tolist() == b.dst.tolist() and a.deg.tolist() == b.deg.tolist()


def test_compacting_drops_the_edges_of_sources_that_reach_a_goal():
    # tree 0 -> {1, 2}, 1 -> 3 (a goal), 2 -> 4 (no way out), and 2 -> 1 stored: 1 is
    # settled when its edges are stored, 2 (in the same chunk) and 0 only by compacting
    store = GraphStore(["g"])
    store.add_states(None, {"g": np.array([False])})
    store.add_states(None, {"g": np.array([False, False])}, children=np.array([2]))
    store.add_edges(np.array([2]), np.array([1, 2]))
    store.add_states(None, {"g": np.array([True, False])}, children=np.array([1, 1]))
    store.add_edges(np.array([1, 2]), np.array([3, 1, 4]))
    store.add_edges(np.array([0, 0]), np.zeros(0, np.int64))
    assert sum(e.n_edges for e in store.edges) == 1
    assert store.is_settled("g", np.arange(5)).tolist() == [False, True, False, True, False]
    assert store.compact() == 1 and sum(e.n_edges for e in store.edges) == 0
    assert store.is_settled("g", np.arange(5)).tolist() == [True, True, True, True, False]
    assert unreached(store)["g"].tolist() == [4]


def test_tiny_chunks_and_a_store_moved_to_disk_midway(tmp_path, monkeypatch):
    monkeypatch.setattr(edges_module, "CHUNK_EDGES", 3)
    bases, succ, goals, scope, kids = random_graph(7, 20, 40, 6, 0.03, 0.3)
    want = {k: reference(succ, g, scope).tolist() for k, g in goals.items()}
    store = build(bases, succ, goals, scope, kids=kids)
    assert len(list(store.edges[5].chunks(None))) > 1
    store.spill_to(Spill(tmp_path))
    got = unreached(store)
    store.close()
    assert {k: v.tolist() for k, v in got.items()} == want
    assert unreached(build(bases, succ, goals, scope))["a"].tolist() == want["a"]


def test_a_chain_of_back_edges_needs_many_passes_and_gets_them():
    # level k's state points back to level k-1's; only the deepest one is a goal
    n = 30
    succ = [np.array([i - 1]) for i in range(n)]  # back edges only
    succ[0] = np.zeros(0, np.int64)
    goal = np.zeros(n, bool)
    goal[0] = True
    bases = np.arange(n + 1)
    scope = np.ones(n, bool)
    got = unreached(build(bases, succ, {"a": goal, "b": np.zeros(n, bool)}, scope))
    assert got["a"].tolist() == []
    assert got["b"].tolist() == list(range(n))


def test_the_store_pickles_in_ram_and_refuses_once_spilled(tmp_path):
    bases, succ, goals, scope, kids = random_graph(3, 5, 10, 3, 0.1, 0.2)
    store = build(bases, succ, goals, scope, kids=kids)
    copy = pickle.loads(pickle.dumps(store))
    assert {k: v.tolist() for k, v in unreached(copy).items()} == \
        {k: v.tolist() for k, v in unreached(store).items()}
    spilled = build(bases, succ, goals, scope, Spill(tmp_path))
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(spilled)
    spilled.close()


def test_edges_to_first_discovered_children_are_not_stored():
    bases, succ, goals, scope, kids = random_graph(11, 8, 20, 4, 0.0, 0.2)
    plain, tree = build(bases, succ, goals, scope), build(bases, succ, goals, scope, kids=kids)
    stored = lambda st: sum(e.n_edges for e in st.edges)  # noqa: E731
    # every state past the first level has at least one edge from its parent
    assert stored(plain) - stored(tree) >= int(bases[-1] - bases[1])
    assert {k: v.tolist() for k, v in unreached(tree).items()} == \
        {k: v.tolist() for k, v in unreached(plain).items()}


def test_settled_sources_keep_no_edges():
    # 0 -> 1 (a goal), 0 -> 2: state 0 is settled when its level is stored, and 2 -> 0
    # when the next level is
    bases = np.array([0, 1, 3])
    succ = [np.array([1, 2]), np.zeros(0, np.int64), np.array([0])]
    goal = np.array([False, True, False])
    store = build(bases, succ, {"a": goal}, np.ones(3, bool))
    assert store.edges[0].n_edges == 0 and store.edges[1].n_edges == 0
    assert store.settled_sources == 2
    assert unreached(store)["a"].tolist() == []


# -- sizes and the budget -----------------------------------------------------------------

@pytest.mark.parametrize("text, size", [("4G", 4 << 30), ("500M", 500 << 20), ("1.5g", 3 << 29),
                                        ("64MiB", 64 << 20), ("2kb", 2048), (" 1T ", 1 << 40)])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4", "G", "-1G", "0M", "4X", "1e3M", "four G", "nanG"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


# -- the spill folder -------------------------------------------------------------------------

def test_spill_folder_is_private_new_and_removed(tmp_path):
    (tmp_path / "dnsrace-edges-keep").mkdir()
    a, b = Spill(tmp_path), Spill(tmp_path)
    assert a.path != b.path and os.stat(a.path).st_mode & 0o777 == 0o700
    a.write([np.arange(3)])
    a.close(), b.close()
    assert os.listdir(tmp_path) == ["dnsrace-edges-keep"]


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "missing", "no such folder"),
    (lambda p: (p / "f").write_text("x") and p / "f", "not a folder"),
    (lambda p: p / "", None),
])
def test_bad_spill_folders(tmp_path, make, words):
    target = make(tmp_path)
    if words is None:  # the folder itself is fine
        Spill(target).close()
        return
    with pytest.raises(SpillError, match=words):
        Spill(target)


def test_an_unwritable_spill_folder(tmp_path, monkeypatch):
    """A folder without write permission (root writes anywhere, so there the permission
    check's answer is what a non-root user would get), and one where creating the private
    folder fails anyway: each one line naming --spill."""
    import importlib

    edges = importlib.import_module("dnsrace.checker.explore.edges")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(edges.os, "access",
                            lambda path, mode: False if str(path) == str(ro) else real(path, mode))
    with pytest.raises(SpillError, match="--spill .*permission denied"):
        Spill(ro)
    monkeypatch.undo()

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(edges.tempfile, "mkdtemp", denied)
    with pytest.raises(SpillError, match="--spill .*cannot create a folder there: Permission"):
        Spill(tmp_path)


def test_a_full_disk_is_one_line(tmp_path, monkeypatch):
    spill = Spill(tmp_path)

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("builtins.open", full)
    with pytest.raises(SpillError, match="--spill .*the disk is full"):
        spill.write([np.arange(3)])
    monkeypatch.undo()
    spill.close()
    assert os.listdir(tmp_path) == []


# -- the engine ---------------------------------------------------------------------------------

def summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.violations,
            {k: (v.status, v.trace.actions if v.trace else None)
             for k, v in r.properties.items()})


configs = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs, st.sampled_from(["original", "recheck", "cas", "guarded", "lease+fencing",
                                 EXAMPLE]),
       st.booleans(), st.booleans(), st.booleans())
def test_engine_results_are_the_same_in_ram_spilled_and_under_a_budget(
        tmp_path, config, protocol, symmetry, por, all_props):
    model = DnsSystem(Config(*config), resolve_protocol(protocol))
    props = resolve_properties(() if all_props else ["recoverable"])
    run = lambda **kw: vexplore(model, props, Options(symmetry=symmetry),  # noqa: E731
                                vectorize=vector_model, por=por, **kw)
    plain = run()
    spilled = run(spill=str(tmp_path))
    budget = run(memory=MemoryBudget(1 << 30, "1G", str(tmp_path)))
    tiny = run(memory=MemoryBudget(1 << 10, "1K", str(tmp_path)))
    assert summary(spilled) == summary(plain) == summary(budget)
    assert spilled.spilled is not None and plain.spilled is None
    assert os.listdir(tmp_path) == []
    # a 1 KB budget: the search stops once the stored search outgrows 512 bytes
    if tiny.stats.exhausted:
        assert summary(tiny) == summary(plain)
    else:
        assert tiny.stats.stop_reason.startswith("memory budget 1K reached")
        assert tiny.properties["recoverable"].status == "incomplete"


NINE = ["original", "recheck", "cas", "guarded", "cas+guarded", "lease", "lease+fencing",
        "safe-delete", "safe-delete-2step"]


@settings(max_examples=40, deadline=None)
@given(configs, st.sampled_from(NINE + [EXAMPLE]), st.booleans(), st.booleans())
def test_compacting_the_edges_during_the_search_keeps_the_result(config, protocol, symmetry,
                                                                 por):
    """Compacted whenever goals arrived (from no edges on), the vector engine gives the
    result of the uncompacted one and, without partial-order reduction, of the object BFS."""
    model = DnsSystem(Config(*config), resolve_protocol(protocol))
    props = resolve_properties(())
    run = lambda: vexplore(model, props, Options(symmetry=symmetry),  # noqa: E731
                           vectorize=vector_model, por=por)
    saved = edges_module.COMPACT_MIN_BYTES
    try:
        edges_module.COMPACT_MIN_BYTES = 1 << 62  # never
        never = run()
        edges_module.COMPACT_MIN_BYTES = 0        # whenever goals arrived and edges grew
        often = run()
    finally:
        edges_module.COMPACT_MIN_BYTES = saved
    assert summary(often) == summary(never)
    if not por:
        assert summary(often) == summary(object_bfs(model, props, Options(symmetry=symmetry)))


def test_a_budget_spills_the_edges_and_keeps_the_result(tmp_path):
    model = DnsSystem(Config(3, 4, 3, 1), resolve_protocol("guarded"))
    props = resolve_properties(())
    plain = vexplore(model, props, Options(), vectorize=vector_model)
    # the edges' share (a quarter) is small, the rest's (a half) large enough
    budget = MemoryBudget(3 << 20, "3M", str(tmp_path))
    got = vexplore(model, props, Options(), vectorize=vector_model, memory=budget)
    assert got.spilled is not None and got.spilled["peak_bytes"] > 0
    assert summary(got) == summary(plain)
    assert os.listdir(tmp_path) == []


def test_a_full_disk_mid_run_stops_incomplete(tmp_path, monkeypatch):
    calls = []
    real = Spill.write

    def fill_up(self, arrays):
        calls.append(1)
        if len(calls) > 3:
            raise SpillError(f"--spill {self.parent}: cannot write the graph's edges: the "
                             "disk is full")
        return real(self, arrays)
    monkeypatch.setattr(Spill, "write", fill_up)
    model = DnsSystem(Config(3, 4, 3, 1), resolve_protocol("cas"))
    r = vexplore(model, resolve_properties(()), Options(), vectorize=vector_model,
                 spill=str(tmp_path))
    assert r.verdict == "incomplete" and not r.stats.exhausted
    assert r.stats.stop_reason.endswith("the disk is full")
    assert r.properties["recoverable"].status == "incomplete"
    assert os.listdir(tmp_path) == []


def test_spill_needs_the_vector_engine(tmp_path):
    model = DnsSystem(Config(2, 2, 2, 1), resolve_protocol("cas"))
    props = resolve_properties(())
    for engine, vectorize in ((EngineOptions("object", spill=str(tmp_path)), vector_model),
                              (EngineOptions(memory=MemoryBudget(1 << 30)), lambda m: None)):
        with pytest.raises(EngineError, match="--spill and --memory need the vector engine"):
            run_engine(model, props, Options(), engine=engine, vectorize=vectorize)
    assert os.listdir(tmp_path) == []


def test_spill_and_checkpoints_are_refused_together(tmp_path):
    from dnsrace.checker.explore.checkpoint import Checkpointer
    model = DnsSystem(Config(2, 2, 2, 1), resolve_protocol("cas"))
    cp = Checkpointer(tmp_path / "run.ckpt", {"--plans": 2}, "test")
    for engine in (EngineOptions(spill=str(tmp_path)),
                   EngineOptions(memory=MemoryBudget(1 << 30))):
        with pytest.raises(EngineError, match="--checkpoint"):
            run_engine(model, resolve_properties(()), Options(), engine=engine,
                       vectorize=vector_model, checkpoint=cp)
    assert os.listdir(tmp_path) == []


def test_sigterm_removes_the_spill_folder(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-m", "dnsrace.checker.cli", "check", "-n", "5", "-p", "8", "-k", "2",
         "--protocol", "cas", "--json", "--spill", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the private folder exists and holds a level's edges
            names = os.listdir(tmp_path)
            if names and os.listdir(tmp_path / names[0]):
                break
            time.sleep(0.05)
        assert names, "the run never made its spill folder"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 3, err
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40), st.data())
def test_segment_any_is_any_over_each_sources_edges(degs, data):
    deg = np.array(degs, dtype=np.uint8)
    ends = np.cumsum(deg, dtype=np.int64)
    total = int(deg.sum())
    flags = np.array(data.draw(st.lists(st.booleans(), min_size=total, max_size=total)),
                     dtype=bool)
    expected = [bool(flags[e - d:e].any()) for d, e in zip(deg.tolist(), ends.tolist())]
    assert _segment_any(flags, deg, ends).tolist() == expected


def test_a_compaction_that_fails_fails_the_search(monkeypatch):
    """The compaction runs in a thread of its own; what it raises comes out of the search."""
    def broken(self):
        raise RuntimeError("compaction broke")
    monkeypatch.setattr(GraphStore, "maybe_compact", broken)
    model = DnsSystem(Config(2, 2, 1, 1), resolve_protocol("cas"))
    with pytest.raises(RuntimeError, match="compaction broke"):
        vexplore(model, resolve_properties(()), Options(), vectorize=vector_model)
