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


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(keys_st, max_size=120), max_size=10),
       st.lists(keys_st, max_size=40), st.booleans(), st.integers(2, 60))
def test_disk_visited_is_a_dict(tmp_path, small_blocks, levels, extra, with_ids, ram):
    spill = Spill(tmp_path)
    try:
        visited, ram_set, ref = DiskVisited(spill, ids=with_ids, ram_entries=ram), \
            _ExactVisited(ids=with_ids), {}
        full = young = 0  # times the young generation filled (the second writes a run)
        for batch in levels:
            new = [k for k in dict.fromkeys(batch) if k not in ref]
            young += len(new)
            if young >= ram // 2:
                full, young = full + 1, 0
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
            # after the boundary the young generation has room; the old one is one at most
            assert len(visited.young) < ram // 2
        assert bool(visited.runs) == (full >= 2)
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
