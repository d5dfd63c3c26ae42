"""The vector engine's per-level BFS tree against explicit parent and action lists."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dnsrace.checker.explore.levels import Levels


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.lists(st.lists(st.integers(0, 300), min_size=1, max_size=60),
                                   max_size=6), st.booleans(), st.data())
def test_levels_give_back_every_parent_and_action(n_init, shapes, pickled, data):
    levels, parents, aids = Levels(), [], []
    levels.add(np.full(n_init, -1), np.full(n_init, -1))
    parents += [-1] * n_init
    aids += [-1] * n_init
    prev = (0, n_init)
    for shape in shapes:
        # each state of the level before discovers some states first, in order
        counts = data.draw(st.lists(st.integers(0, 3), min_size=prev[1], max_size=prev[1]))
        if prev[1] < 5 and data.draw(st.booleans()):  # a parent discovering over 255 states
            counts[0] = 300
        par = np.repeat(np.arange(prev[0], prev[0] + prev[1]), counts)
        if len(par) == 0:
            break
        act = np.resize(np.array(shape), len(par))
        levels.add(par, act)
        parents += par.tolist()
        aids += act.tolist()
        prev = (prev[0] + prev[1], len(par))
    if pickled:
        levels = pickle.loads(pickle.dumps(levels))
    assert levels.total == len(parents)
    assert [levels.parent(j) for j in range(len(parents))] == parents
    assert [levels.aid(j) for j in range(len(aids))] == aids


def test_levels_refuse_parents_out_of_order():
    levels = Levels()
    levels.add(np.full(3, -1), np.full(3, -1))
    with pytest.raises(ValueError):
        levels.add(np.array([2, 1]), np.array([0, 0]))
    with pytest.raises(IndexError):
        levels.parent(3)


def test_spilled_levels_give_back_the_same_parents_and_actions(tmp_path):
    from dnsrace.checker.explore.edges import Spill

    rng = np.random.default_rng(3)
    spill = Spill(tmp_path)
    for counts_too in (True, False):
        ram, disk = Levels(), Levels()
        for lv in (ram, disk):
            lv.add(np.full(3, -1), np.full(3, -1))
        disk.spill_to(spill, counts=counts_too)
        for _ in range(6):
            prev, n_prev = ram.bases[-2], ram.bases[-1] - ram.bases[-2]
            par = np.sort(rng.integers(prev, prev + n_prev, size=int(rng.integers(1, 200))))
            act = rng.integers(0, 300, size=len(par))
            ram.add(par, act)
            disk.add(par, act)
        assert disk.nbytes() < ram.nbytes() and disk.disk_bytes > 0
        assert [disk.parent(j) for j in range(disk.total)] == \
            [ram.parent(j) for j in range(ram.total)]
        assert [disk.aid(j) for j in range(disk.total)] == [ram.aid(j) for j in range(ram.total)]
        with pytest.raises(TypeError, match="does not pickle"):
            pickle.dumps(disk)
    spill.close()
