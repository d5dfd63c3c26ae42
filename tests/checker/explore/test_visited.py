"""The vector engine's dedup and exact visited set against plain Python dicts."""

import pickle

import numpy as np
from hypothesis import given, settings, strategies as st

from dnsrace.checker.explore.visited import (_ExactVisited, _merge_into, _sort_order,
                                            first_unique)

keys_st = st.lists(st.one_of(st.integers(0, 40), st.integers(-2**63, 2**63 - 1)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(keys_st)
def test_first_unique_keeps_first_occurrences_in_order(values):
    keys = np.array(values, dtype=np.int64)
    uniq, first, inv = first_unique(keys)
    firsts = {}
    for i, k in enumerate(values):
        firsts.setdefault(k, i)
    assert uniq.tolist() == list(firsts)
    assert first.tolist() == list(firsts.values())
    assert (uniq[inv] == keys).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), unique=True), st.lists(st.integers(0, 2**64 - 1),
                                                                  unique=True))
def test_merge_into_is_np_insert(old, new):
    arr = np.array(sorted(old), dtype=np.uint64)
    add = np.array(sorted(set(new) - set(old)), dtype=np.uint64)
    want = np.insert(arr, np.searchsorted(arr, add), add)
    got, = _merge_into([(arr.copy(), add)], np.searchsorted(arr, add))
    assert got.tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(0, 3000), st.integers(0, 2**63 - 1)),
                         max_size=400), max_size=8),
       st.lists(st.integers(0, 2**63 - 1), max_size=50), st.booleans(), st.booleans())
def test_exact_visited_is_a_dict(levels, extra, with_ids, pickled):
    visited, ref = _ExactVisited(ids=with_ids), {}
    for lvl, batch in enumerate(levels):
        new = [k for k in dict.fromkeys(batch) if k not in ref]
        ids = np.arange(len(ref), len(ref) + len(new))
        visited.add(np.array(new, dtype=np.int64), ids)
        ref.update(zip(new, ids.tolist()))
        if pickled and lvl % 2:
            visited = pickle.loads(pickle.dumps(visited))
        queries = list(ref)[::3] + batch + extra
        got = visited.lookup(np.array(queries, dtype=np.int64)).tolist()
        assert got == [(ref[q] if with_ids else 0) if q in ref else -1 for q in queries]
        assert len(visited) == len(ref)


mixes_st = st.lists(st.one_of(st.integers(0, 2**64 - 1),  # uniform, and clustered buckets
                              st.integers(2**63, 2**63 + 2000),
                              st.integers(0, 300)), unique=True, max_size=600)


@settings(max_examples=150, deadline=None)
@given(mixes_st, st.lists(st.integers(0, 2**64 - 1), max_size=60))
def test_search_finds_insertion_points_for_any_distribution(stored, extra):
    """The interpolating search (and its binary-search fallback, taken for oversized buckets)
    return searchsorted's position and the membership, however the stored mixes cluster."""
    v = _ExactVisited(ids=False)
    v.h = np.array(sorted(stored), dtype=np.uint64)
    if len(v.h):
        v._index(v.h)
    queries = np.array(stored[::2] + extra + [0, 2**64 - 1], dtype=np.uint64)
    if not len(v.h):
        return
    want_pos = np.searchsorted(v.h, queries).tolist()
    want_hit = [int(q) in set(stored) for q in queries.tolist()]
    for search in (v._search, v._interpolate, v._bisect):
        pos, hit = search(queries)
        assert pos.tolist() == want_pos and hit.tolist() == want_hit


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 2**64 - 1), st.integers(2**40, 2**40 + 64)),
                unique=True, max_size=300))
def test_sort_order_is_argsort(values):
    """Including values that share their high bits (the packed sort's fallback)."""
    h = np.array(values, dtype=np.uint64)
    assert _sort_order(h).tolist() == np.argsort(h).tolist()
