"""model/npmemo.py: the append-only array and the hash index against plain Python."""

import numpy as np
from hypothesis import given, settings, strategies as st

from dnsrace.model.derived.npmemo import Growable, HashIndex

keys = st.integers(0, (1 << 63) - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(keys, max_size=300), max_size=6), st.lists(keys, max_size=300))
def test_hash_index_answers_like_a_dict(batches, extra):
    """Batches added one after another (growing the table), then looked up with keys
    present, absent, repeated and colliding in their first slot."""
    ix, ref = HashIndex(bits=4), {}
    for batch in batches:
        new, base = [k for k in dict.fromkeys(batch) if k not in ref], len(ref)
        ix.add(np.array(new, dtype=np.int64), np.arange(base, base + len(new)))
        ref.update((k, base + j) for j, k in enumerate(new))
    q = list(ref) + extra + list(ref)[:50]
    got = ix.get(np.array(q, dtype=np.int64))
    assert got.tolist() == [ref.get(k, -1) for k in q]
    assert ix.size == len(ref)


def test_hash_index_probes_past_collisions():
    ix = HashIndex(bits=4)
    same_slot = [k for k in range(5000) if ix._hash(np.array([k]))[0] == 3][:6]
    ix.add(np.array(same_slot), np.arange(6) + 10)
    assert ix.get(np.array(same_slot[::-1] + [same_slot[0] + 1])).tolist()[:6] == \
        list(range(15, 9, -1))


@given(st.lists(st.lists(st.integers(-5, 5), max_size=100), max_size=5))
def test_growable_keeps_everything_appended(chunks):
    g, ref = Growable(np.int64), []
    for chunk in chunks:
        g.extend(chunk)
        ref.extend(chunk)
    assert g.view.tolist() == ref and g.n == len(ref)
