"""The disk-backed visited set against a Python dict and the RAM set."""

import os
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker.explore import diskvisited
from dnsrace.checker.explore.diskvisited import DiskVisited, _merged
from dnsrace.checker.explore.edges import Spill, SpillError
from dnsrace.checker.explore.visited import _ExactVisited

keys_st = st.one_of(st.integers(0, 3000), st.integers(-2**63, 2**63 - 1))


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiny fences and merge steps, so that small sets span many blocks."""
    monkeypatch.setattr(diskvisited, "BLOCK", 4)
    monkeypatch.setattr(diskvisited, "MERGE_BLOCK", 7)
    monkeypatch.setattr(diskvisited, "FIND_BATCH", 5)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(keys_st, max_size=120), max_size=10),
       st.lists(keys_st, max_size=40), st.booleans(), st.integers(2, 60))
def test_disk_visited_is_a_dict(tmp_path, small_blocks, levels, extra, with_ids, ram):
    spill = Spill(tmp_path)
    try:
        visited, ram_set, ref = DiskVisited(spill, ids=with_ids, ram_entries=ram), \
            _ExactVisited(ids=with_ids), {}
        for batch in levels:
            new = [k for k in dict.fromkeys(batch) if k not in ref]
            ids = np.arange(len(ref), len(ref) + len(new))
            visited.add(np.array(new, dtype=np.int64), ids)
            ram_set.add(np.array(new, dtype=np.int64), ids)
            visited.settle()
            ref.update(zip(new, ids.tolist()))
            queries = np.array(list(ref)[::3] + batch + extra, dtype=np.int64)
            want = [(ref[q] if with_ids else 0) if q in ref else -1 for q in queries.tolist()]
            assert visited.lookup(queries).tolist() == want
            assert ram_set.lookup(queries).tolist() == want
            assert len(visited) == len(ref)
            # after a boundary RAM holds at most ``ram`` states, the rest is on disk
            assert visited.in_ram <= ram and visited.on_disk == len(ref) - visited.in_ram
        assert visited.disk_bytes == spill.written
    finally:
        spill.close()
    assert os.listdir(tmp_path) == []


def test_runs_merge_geometrically_and_stay_sorted(tmp_path, small_blocks):
    spill = Spill(tmp_path)
    rng = np.random.default_rng(5)
    visited, ref = DiskVisited(spill, ram_entries=40), {}
    for lvl in range(60):
        new = np.unique(rng.integers(-2**63, 2**63 - 1, size=int(rng.integers(0, 30))))
        new = np.array([k for k in new.tolist() if k not in ref], dtype=np.int64)
        rng.shuffle(new)
        ids = np.arange(len(ref), len(ref) + len(new))
        visited.add(new, ids)
        visited.settle()
        ref.update(zip(new.tolist(), ids.tolist()))
    sizes = [r.n for r in visited.runs]
    assert len(sizes) >= 2 and all(a > 2 * b for a, b in zip(sizes, sizes[1:]))
    for r in visited.runs:
        h = np.concatenate([b[0] for b in r.blocks()])
        assert len(h) == r.n and (np.diff(h.astype(object)) > 0).all() if r.n > 1 else True
    keys = np.array(list(ref), dtype=np.int64)
    assert visited.lookup(keys).tolist() == list(ref.values())
    assert (visited.lookup(keys + 1)[~np.isin(keys + 1, keys)] == -1).all()
    spill.close()


def test_a_huge_level_and_empty_levels(tmp_path):
    spill = Spill(tmp_path)
    visited = DiskVisited(spill, ram_entries=1000)
    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(-2**63, 2**63 - 1, size=200_000))
    rng.shuffle(keys)
    for part in (keys[:10], keys[:0], keys[10:150_000], keys[:0], keys[150_000:]):
        start = len(visited)
        visited.add(part, np.arange(start, start + len(part)))
        visited.settle()
    assert visited.on_disk >= 150_000 and len(visited) == len(keys)
    assert visited.nbytes() < keys.nbytes  # the RAM index: fences and filter only
    assert (visited.lookup(keys) == np.arange(len(keys))).all()
    absent = rng.integers(-2**63, 2**63 - 1, size=50_000)
    absent = absent[~np.isin(absent, keys)]
    assert (visited.lookup(absent) == -1).all()
    assert visited.lookup(np.zeros(0, np.int64)).tolist() == []
    spill.close()


def test_ids_beyond_int32_survive_the_disk(tmp_path):
    spill = Spill(tmp_path)
    visited = DiskVisited(spill, ram_entries=4)
    visited.add(np.array([5, 6, 7]), np.array([1, 2, 3]))
    visited.settle()
    visited.add(np.array([8, 9]), np.array([2**33, 2**33 + 1]))
    visited.settle()
    visited.add(np.array([10, 11]), np.array([2**34, 2**34 + 1]))
    visited.settle()
    assert visited.runs
    assert visited.lookup(np.array([9, 5, 11, 4])).tolist() == [2**33 + 1, 1, 2**34 + 1, -1]
    spill.close()


@given(st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=80), st.data())
@settings(max_examples=100, deadline=None)
def test_merging_two_block_streams(values, data):
    split = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    a = np.array(sorted(v for v, s in zip(values, split) if s), dtype=np.uint64)
    b = np.array(sorted(v for v, s in zip(values, split) if not s), dtype=np.uint64)
    size_a, size_b = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    blocks = lambda h, k: ((h[i:i + k], h[i:i + k].astype(np.int64) % 1000)  # noqa: E731
                           for i in range(0, len(h), k))
    out = list(_merged(blocks(a, size_a), blocks(b, size_b)))
    h = np.concatenate([x[0] for x in out]) if out else np.zeros(0, np.uint64)
    assert h.tolist() == sorted(values)
    if out:
        assert np.concatenate([x[1] for x in out]).tolist() == \
            (np.array(sorted(values), dtype=np.uint64).astype(np.int64) % 1000).tolist()


def test_a_full_disk_leaves_the_set_usable(tmp_path, monkeypatch):
    spill = Spill(tmp_path)
    visited = DiskVisited(spill, ram_entries=4)
    visited.add(np.array([1, 2, 3]), np.array([0, 1, 2]))
    visited.settle()
    visited.add(np.array([4, 5, 6]), np.array([3, 4, 5]))

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("builtins.open", full)
    with pytest.raises(SpillError, match="--spill .*cannot write the visited states: the disk "
                                         "is full"):
        visited.settle()
    monkeypatch.undo()
    assert visited.lookup(np.array([1, 6, 7])).tolist() == [0, 5, -1]
    spill.close()
    assert os.listdir(tmp_path) == []


def test_a_spilled_set_does_not_pickle(tmp_path):
    spill = Spill(tmp_path)
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(DiskVisited(spill))
    spill.close()


# -- the engine with its visited set on disk ------------------------------------------------

def _summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.violations,
            r.stats.coverage, r.stats.stop_reason,
            {k: (v.status, v.trace.actions if v.trace else None,
                 [str(s) for s in v.trace.states] if v.trace else None)
             for k, v in r.properties.items()})


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples",
                       "verify_then_cleanup.py") + ":VerifyThenCleanup"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2)),
       st.sampled_from(["original", "recheck", "cas", "guarded", "lease+fencing", EXAMPLE]),
       st.booleans(), st.booleans(), st.booleans(), st.integers(2, 64))
def test_the_engine_gives_the_same_results_with_the_visited_set_on_disk(
        tmp_path, monkeypatch, config, protocol, symmetry, por, all_props, ram):
    """A RAM generation of a few states, fences of 4 and merge steps of 16: every level
    writes and merges runs; counts, verdicts and traces are those of the RAM set."""
    from dnsrace.checker.explore.edges import MemoryBudget
    from dnsrace.checker.explore.result import Options
    from dnsrace.checker.explore.vector import explore
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem, resolve_protocol
    from dnsrace.model.derived import vector_model

    model = DnsSystem(Config(*config), resolve_protocol(protocol))
    props = resolve_properties(() if all_props else ["no-dangling"])
    run = lambda **kw: explore(model, props, Options(symmetry=symmetry),  # noqa: E731
                               vectorize=vector_model, por=por, **kw)
    plain = run()
    monkeypatch.setattr(diskvisited, "RAM_ENTRIES", ram)
    monkeypatch.setattr(diskvisited, "BLOCK", 4)
    monkeypatch.setattr(diskvisited, "MERGE_BLOCK", 16)
    monkeypatch.setattr(diskvisited, "FIND_BATCH", 7)
    spilled = run(spill=str(tmp_path))
    # a budget whose visited share is nothing and whose generations hold ``ram`` states:
    # the set moves to disk at the first boundary
    monkeypatch.setattr(MemoryBudget, "visited_limit", property(lambda self: 0))
    monkeypatch.setattr(MemoryBudget, "visited_entries", property(lambda self: ram))
    budget = run(memory=MemoryBudget(1 << 30, "1G", str(tmp_path)))
    monkeypatch.undo()
    assert _summary(spilled) == _summary(plain) == _summary(budget)
    if plain.stats.explored_states > 3 * ram:
        for r in (spilled, budget):
            assert r.spilled is not None and r.spilled["visited_on_disk"] > 0
    assert os.listdir(tmp_path) == []


def test_a_full_disk_while_the_visited_set_spills_stops_incomplete(tmp_path, monkeypatch):
    from dnsrace.checker.explore.result import Options
    from dnsrace.checker.explore.vector import explore
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem, resolve_protocol
    from dnsrace.model.derived import vector_model

    real, calls = Spill.write, []

    def fill_up(self, arrays, what="the graph's edges"):
        calls.append(what)
        if calls.count("the visited states") > 2:
            raise SpillError(f"--spill {self.parent}: cannot write {what}: the disk is full")
        return real(self, arrays, what)
    monkeypatch.setattr(Spill, "write", fill_up)
    monkeypatch.setattr(diskvisited, "RAM_ENTRIES", 16)
    model = DnsSystem(Config(3, 4, 3, 1), resolve_protocol("cas"))
    r = explore(model, resolve_properties(["no-dangling"]), Options(), vectorize=vector_model,
                spill=str(tmp_path))
    assert r.verdict == "incomplete" and not r.stats.exhausted
    assert r.stats.stop_reason.endswith("cannot write the visited states: the disk is full")
    assert os.listdir(tmp_path) == []
