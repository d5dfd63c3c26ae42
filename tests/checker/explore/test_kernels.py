"""The compiled loops of the visited set and the edge store (``_kernels.c``) against their
numpy reference."""

import contextlib
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dnsrace.checker import Options
from dnsrace.checker.explore import edges as E, visited as V
from dnsrace.checker.explore.vector import explore as vexplore
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.derived import vector_model

keys_st = st.lists(st.one_of(st.integers(0, 40), st.integers(-2**63, 2**63 - 1)), max_size=400)


@contextlib.contextmanager
def numpy_kernels():
    saved = V._kernels
    V._kernels = None
    try:
        yield
    finally:
        V._kernels = saved


def test_the_extension_is_built():
    """CI installs with a C compiler: the compiled loops must be there (else every other test
    here would compare numpy with itself)."""
    if os.environ.get("DNSRACE_KERNELS", "").lower() == "numpy":
        pytest.skip("DNSRACE_KERNELS=numpy picks the numpy loops")
    assert V._kernels is not None and V.kernels_in_use() == "compiled"


@settings(max_examples=300, deadline=None)
@given(keys_st)
def test_first_unique_is_the_numpy_reference(values):
    keys = np.array(values, dtype=np.int64)
    got = V.first_unique(keys)
    want = V.first_unique_numpy(keys)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.tolist() == w.tolist()


levels_st = st.lists(st.lists(st.one_of(st.integers(0, 3000), st.integers(-2**63, 2**63 - 1)),
                              max_size=500), max_size=8)


@settings(max_examples=120, deadline=None)
@given(levels_st, st.lists(st.integers(-2**63, 2**63 - 1), max_size=50), st.booleans(),
       st.sampled_from([0, 2**31 - 40]))
def test_the_visited_set_is_the_same_with_either_loops(levels, extra, with_ids, id0):
    """Same arrays after every add (the merge), same answers to every lookup; ids crossing
    2**31 widen the ids array on both."""
    fast, ref = V._ExactVisited(ids=with_ids), V._ExactVisited(ids=with_ids)
    seen = {}
    for batch in levels:
        new = [k for k in dict.fromkeys(batch) if k not in seen]
        ids = np.arange(id0 + len(seen), id0 + len(seen) + len(new))
        seen.update(zip(new, ids.tolist()))
        fast.add(np.array(new, dtype=np.int64), ids)
        with numpy_kernels():
            ref.add(np.array(new, dtype=np.int64), ids)
        assert fast.h.tolist() == ref.h.tolist()
        assert fast.starts.tolist() == ref.starts.tolist()
        assert (fast.kbits, fast.steps) == (ref.kbits, ref.steps)
        if with_ids:
            assert fast.ids.dtype == ref.ids.dtype and fast.ids.tolist() == ref.ids.tolist()
        queries = np.array(list(seen)[::2] + batch + extra, dtype=np.int64)
        got = fast.lookup(queries)
        with numpy_kernels():
            want = ref.lookup(queries)
        assert got.dtype == want.dtype and got.tolist() == want.tolist()
        assert got.tolist() == [(seen[q] if with_ids else 0) if q in seen else -1
                                for q in queries.tolist()]


def test_the_compiled_loops_refuse_inconsistent_arrays():
    """A wrong size is an exception, not a write out of bounds."""
    k = V._kernels
    if k is None:
        pytest.skip("the extension is not built")
    keys = np.arange(10, dtype=np.int64)
    with pytest.raises(ValueError):
        k.first_unique(keys, np.empty(5, np.int64), np.empty(10, np.int64), np.empty(10, np.int32))
    with pytest.raises(TypeError):
        k.first_unique(keys, np.empty(10, np.int32), np.empty(10, np.int64), np.empty(10, np.int32))
    h = np.arange(8, dtype=np.uint64)
    with pytest.raises(ValueError):
        k.lookup(h, np.zeros(3, np.int32), 1, None, keys, np.empty(10, np.int64))  # needs 3
        k.lookup(h, np.zeros(4, np.int32), 1, None, keys, np.empty(10, np.int64))
    with pytest.raises(ValueError):
        k.lookup(h, np.zeros(3, np.int32), 1, None, keys, np.empty(9, np.int64))
    with pytest.raises(ValueError):
        k.merge(h, 5, np.arange(2, dtype=np.uint64), None, None)
    with pytest.raises(TypeError):  # new ids of another type than the stored ones
        k.merge(np.zeros(3, np.uint64), 1, np.arange(2, dtype=np.uint64), np.zeros(3, np.int32),
                np.arange(2, dtype=np.int64))
    with pytest.raises(ValueError):
        k.lookup(h, np.zeros(2, np.int32), 99, None, keys, np.empty(10, np.int64))
    with pytest.raises(ValueError):
        k.index_add(np.zeros(4, np.int32), 1, h)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([np.uint8, np.uint16, np.uint32, np.int64]), st.booleans())
def test_reaching_is_the_numpy_reference(data, deg_type, with_children):
    """The compaction's and the fixpoint's inner loop: per source, whether an edge (or a
    child) leads to a reached state."""
    n_states = data.draw(st.integers(1, 60))
    reached = np.array(data.draw(st.lists(st.booleans(), min_size=n_states,
                                          max_size=n_states)), dtype=bool)
    deg = np.array(data.draw(st.lists(st.integers(0, 6), min_size=1, max_size=40)),
                   dtype=deg_type)
    ends = np.cumsum(deg, dtype=np.int64)
    dst = np.array(data.draw(st.lists(st.integers(0, n_states - 1), min_size=int(deg.sum()),
                                      max_size=int(deg.sum()))), dtype=np.int32)
    children = None
    if with_children:
        kids = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(deg),
                                           max_size=len(deg))), dtype=np.uint8)
        total = int(kids.sum())
        k0 = data.draw(st.integers(0, n_states - total)) if total <= n_states else None
        if k0 is not None:
            children = (k0, kids, np.cumsum(kids, dtype=np.int64))
    got = E._reaching(reached, deg, ends, dst, children)
    want = E._reaching_numpy(reached, deg, ends, dst, children)
    assert got.dtype == want.dtype == bool and got.tolist() == want.tolist()


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([np.uint8, np.uint16, np.uint32, np.int64]), st.booleans())
def test_residual_is_the_numpy_reference(data, deg_type, with_children):
    """The fixpoint's residual: the edges of the sources that stay, children made explicit."""
    deg = np.array(data.draw(st.lists(st.integers(0, 6), min_size=1, max_size=40)),
                   dtype=deg_type)
    ends = np.cumsum(deg, dtype=np.int64)
    dst = np.array(data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=int(deg.sum()),
                                      max_size=int(deg.sum()))), dtype=np.int32)
    stay = np.array(data.draw(st.lists(st.booleans(), min_size=len(deg), max_size=len(deg))))
    children = None
    if with_children:
        kids = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(deg),
                                           max_size=len(deg))), dtype=np.uint8)
        children = (data.draw(st.integers(0, 10**6)), kids, np.cumsum(kids, dtype=np.int64))
    got = E._residual(stay, deg, ends, dst, children)
    want = E._residual_numpy(stay, deg, ends, dst, children)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert got[1].dtype == want[1].dtype == np.int32


def test_residual_refuses_short_outputs_and_segments():
    k = V._kernels
    if k is None:
        pytest.skip("the extension is not built")
    stay, deg, ends = np.ones(2, bool), np.array([1, 2], np.uint8), np.array([1, 3], np.int64)
    dst = np.arange(3, dtype=np.int32)
    assert k.residual(stay, deg, ends, dst, None, None, 0, np.empty(2, np.int64),
                      np.empty(3, np.int32)) == 3
    with pytest.raises(ValueError):  # out_dst too short
        k.residual(stay, deg, ends, dst, None, None, 0, np.empty(2, np.int64),
                   np.empty(2, np.int32))
    with pytest.raises(ValueError):  # out_deg too short
        k.residual(stay, deg, ends, dst, None, None, 0, np.empty(1, np.int64),
                   np.empty(3, np.int32))
    with pytest.raises(ValueError):  # a segment past the edges
        k.residual(stay, deg, ends, dst[:2], None, None, 0, np.empty(2, np.int64),
                   np.empty(3, np.int32))


def test_segment_any_refuses_out_of_range_segments_and_indices():
    k = V._kernels
    if k is None:
        pytest.skip("the extension is not built")
    flags, out = np.zeros(4, bool), np.zeros(2, bool)
    deg, ends = np.array([1, 2], np.uint8), np.array([1, 3], np.int64)
    k.segment_any(flags, np.array([0, 1, 3], np.int32), 0, ends, deg, out, False)  # fine
    with pytest.raises(ValueError):  # an index past the flags
        k.segment_any(flags, np.array([0, 1, 4], np.int32), 0, ends, deg, out, False)
    with pytest.raises(ValueError):  # a segment past the edges
        k.segment_any(flags, np.array([0, 1], np.int32), 0, ends, deg, out, False)
    with pytest.raises(ValueError):  # a segment before the first edge
        k.segment_any(flags, np.array([0, 1, 3], np.int32), 0, np.array([0, 3], np.int64),
                      deg, out, False)
    with pytest.raises(ValueError):  # children past the flags
        k.segment_any(flags, None, 2, ends, deg, out, True)
    with pytest.raises(ValueError):  # out too short
        k.segment_any(flags, np.array([0, 1, 3], np.int32), 0, ends, deg, out[:1], False)


def summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.coverage,
            r.stats.violations,
            {k: (v.status, v.trace.actions if v.trace else None,
                 v.trace.states if v.trace else None) for k, v in r.properties.items()})


@pytest.mark.parametrize("protocol,config,symmetry", [
    ("original", Config(3, 4, 3, 1), True), ("recheck", Config(3, 3, 2, 1), False),
    ("cas", Config(3, 4, 3, 1), True), ("lease+fencing", Config(2, 4, 2, 2), True)])
def test_the_engine_gives_the_same_result_with_either_loops(protocol, config, symmetry):
    def check():
        return summary(vexplore(DnsSystem(config, protocol), resolve_properties(),
                                Options(symmetry=symmetry), vectorize=vector_model))
    fast = check()
    with numpy_kernels():
        assert check() == fast
