"""The derived model's compiled expand loop (``model/derived/_kernels.c``) against its numpy
reference: the same successors, actions and order, level after level, for every shipped
protocol and the example, with and without symmetry and partial-order reduction."""

import contextlib
import os
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.model import Config, DnsSystem
from dnsrace.model.derived import DerivedModel
from dnsrace.model.derived import compiled
from dnsrace.model.derived.npmemo import HashIndex
from dnsrace.model.loader import PROTOCOLS, load_protocol

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "verify_then_cleanup.py"
SPECS = list(PROTOCOLS) + [f"{EXAMPLE}:VerifyThenCleanup"]


@contextlib.contextmanager
def numpy_expand():
    saved = compiled.kernels
    compiled.kernels = None
    try:
        yield
    finally:
        compiled.kernels = saved


def test_the_extension_is_built():
    if os.environ.get("DNSRACE_KERNELS", "").lower() == "numpy":
        pytest.skip("DNSRACE_KERNELS=numpy picks the numpy loops")
    assert compiled.kernels is not None


def compare_levels(vm, symmetry, por, levels):
    """Expands ``levels`` breadth-first levels both ways; returns how many successors. (A
    field outgrowing its bits restarts on a wider layout, as the engine does.)"""
    while True:
        try:
            return _compare_levels(vm, symmetry, por, levels)
        except Exception as exc:
            if not getattr(exc, "widen", False):
                raise
            vm = vm.widened()


def _compare_levels(vm, symmetry, por, levels):
    keys = vm.init_keys()
    if symmetry and vm.symmetric:
        keys = np.unique(vm.canonical(keys))
    seen, total = set(keys.tolist()), 0
    for _ in range(levels):
        if not len(keys):
            break
        got = vm.expand(keys, symmetry, por)
        with numpy_expand():
            want = vm.expand(keys, symmetry, por)
        for g, w in zip(got, want):
            assert g.tolist() == w.tolist()
        total += len(got[2])
        fresh = [k for k in dict.fromkeys(got[2].tolist()) if k not in seen]
        seen.update(fresh)
        keys = np.array(fresh, dtype=np.int64)
    return total


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("symmetry", [True, False])
def test_every_protocol_expands_the_same_with_either_loop(spec, symmetry):
    vm = DerivedModel(DnsSystem(Config(3, 3, 2, 1), load_protocol(spec)))
    assert compare_levels(vm, symmetry, por=False, levels=12) > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(lambda n, p, e, k: Config(n, p, e, k), st.integers(1, 4), st.integers(1, 3),
                 st.integers(1, 3), st.integers(0, 2)),
       st.sampled_from(SPECS), st.booleans(), st.booleans())
def test_random_small_systems_expand_the_same_with_either_loop(config, spec, symmetry, por):
    vm = DerivedModel(DnsSystem(config, load_protocol(spec)))
    compare_levels(vm, symmetry, por, levels=8)


def test_the_compiled_loop_refuses_an_index_outside_its_tables():
    k = compiled.kernels
    if k is None:
        pytest.skip("the extension is not built")
    one = np.ones(1, np.int64)
    args = [one, one, np.array([5]), np.zeros(1, np.int64), 0, np.zeros(3, np.int64),
            np.zeros(3, np.int64), 0, np.zeros(3, np.int16), 1, 0, np.empty(4, np.int64),
            np.empty(4, np.int16), None, 8, 0, 0]
    with pytest.raises(IndexError):  # delta 5 of 3
        k.enactor_successors(*args)
    args[2] = np.array([0])
    args[3] = np.array([4])  # written at 4 of 4
    with pytest.raises(IndexError):
        k.enactor_successors(*args)
    args[3] = np.array([0])
    k.enactor_successors(*args)  # in range: fine
    args[9] = 0  # no enactor
    with pytest.raises(ValueError):
        k.enactor_successors(*args)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**63 - 1) | st.integers(0, 50), max_size=300),
                max_size=6), st.lists(st.integers(0, 2**63 - 1), max_size=40))
def test_the_hash_index_answers_the_same_with_either_loop(batches, extra):
    """Built by either loop (the layouts may differ: both are valid linear probing), looked up
    by either: every key's value, -1 for every other."""
    fast, ref, seen = HashIndex(bits=4), HashIndex(bits=4), {}
    for batch in batches:
        new = [k for k in dict.fromkeys(batch) if k not in seen]
        vals = np.arange(len(seen), len(seen) + len(new), dtype=np.int64)
        seen.update(zip(new, vals.tolist()))
        fast.add(np.array(new, dtype=np.int64), vals)
        with numpy_expand():
            ref.add(np.array(new, dtype=np.int64), vals)
        assert fast.size == ref.size == len(seen)
        q = np.array(list(seen) + batch + extra, dtype=np.int64)
        want = [seen.get(k, -1) for k in q.tolist()]
        assert fast.get(q).tolist() == want and ref.get_numpy(q).tolist() == want
        assert fast.get_numpy(q).tolist() == want  # (the compiled layout, read by numpy)
        with numpy_expand():
            assert ref.get(q).tolist() == want
