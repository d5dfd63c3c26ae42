"""The vector engine (packed states, numpy) against the object BFS: same counts, verdicts and
counterexamples; partial-order reduction, worker processes and lossy modes keep verdicts."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker import HOLDS, INCOMPLETE, VIOLATED, Options, explore, replay
from dnsrace.checker.explore.engines import EngineError, EngineOptions, run
from dnsrace.checker.explore.vector import explore as vexplore
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem, Original
from dnsrace.model.derived import DerivedModel as PackedModel, vector_model

FIGURES = {  # MODEL.md, plain BFS at N=3 P=4 E=3 K=1
    "original": (118_763, 336_785, 25_231, 10),
    "recheck": (516_544, 1_551_282, 88_024, 14),
    "cas": (19_490, 61_294, 0, None),
    "guarded": (129_907, 373_668, 17_627, 10),
}
PROTOCOLS = list(FIGURES)
PROPERTY_SETS = [(), ("no-dangling",), ("monotonic",), ("recoverable",),
                 ("no-dangling", "monotonic")]

small_configs = st.builds(
    lambda n, p, e, k: Config(n, p, e, k),
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


def summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.coverage,
            r.stats.violations,
            {k: (v.status, v.trace.actions if v.trace else None)
             for k, v in r.properties.items()})


def vec(model, props, options, **kw):
    return vexplore(model, props, options, vectorize=vector_model, **kw)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_vector_search_reproduces_model_md(protocol):
    states, transitions, dangling, shortest = FIGURES[protocol]
    props = resolve_properties(["no-dangling", "monotonic"])
    r = vec(DnsSystem(Config(), protocol), props, Options(symmetry=False, stop_early=False))
    assert r.stats.exhausted and not r.por
    assert (r.stats.states, r.stats.transitions) == (states, transitions)
    assert r.stats.violations["no-dangling"] == dangling
    nd = r.properties["no-dangling"]
    assert (len(nd.trace) if nd.trace else None) == shortest


@pytest.mark.parametrize("protocol", ["original", "cas"])
def test_plain_vector_search_with_recoverable_counts_the_p_system(protocol):
    r = vec(DnsSystem(Config(), protocol), resolve_properties(), Options(symmetry=False))
    assert (r.stats.states, r.stats.transitions) == FIGURES[protocol][:2]
    assert r.stats.violations["recoverable"] == FIGURES[protocol][2]


def test_engine_choice_reproduces_model_md_with_no_reduction():
    """--no-reduction on the default engine: no symmetry and no partial-order reduction."""
    props = resolve_properties(["no-dangling", "monotonic"])
    r, info = run(DnsSystem(Config(), "cas"), props, Options(symmetry=False),
                  engine=EngineOptions(), vectorize=vector_model)
    assert info.engine == "vector" and not info.por
    assert (r.stats.states, r.stats.transitions) == FIGURES["cas"][:2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.sampled_from(PROTOCOLS), st.booleans(), st.booleans(),
       st.sampled_from(PROPERTY_SETS))
def test_vector_engine_equals_object_bfs(config, protocol, symmetry, stop, names):
    model = DnsSystem(config, protocol)
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=stop)
    got, want = vec(model, props, options), explore(model, props, options)
    if want.stats.exhausted:
        assert summary(got) == summary(want)
    else:  # stopped once everything was violated: the object BFS mid-level, this one after it
        assert summary(got)[-1] == summary(want)[-1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.sampled_from(PROTOCOLS), st.booleans(), st.sampled_from(PROPERTY_SETS))
def test_partial_order_reduction_keeps_every_verdict(config, protocol, symmetry, names):
    model = DnsSystem(config, protocol)
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=False)
    plain = explore(model, props, options)
    reduced = vec(model, props, options, por=True)
    assert reduced.stats.explored_states <= plain.stats.explored_states
    for name, pr in plain.properties.items():
        assert reduced.properties[name].status == pr.status, name
    # through the engine front end, violations come with shortest, replayable traces
    r, info = run(model, props, options, engine=EngineOptions(por=True), vectorize=vector_model)
    for name, pr in plain.properties.items():
        got = r.properties[name]
        assert got.status == pr.status
        if pr.trace is not None:
            assert len(got.trace) == len(pr.trace)
            states, broken = replay(model, got.trace.actions)
            assert broken is None and states[-1] == got.trace.states[-1]


def test_partial_order_reduction_shrinks_the_patched_search():
    model, props = DnsSystem(Config(3, 4, 3, 1), "cas"), resolve_properties()
    full = vec(model, props, Options())
    reduced = vec(model, props, Options(), por=True)
    assert reduced.verdict == full.verdict == HOLDS
    assert (full.stats.states, reduced.stats.states) == (3_927, 3_335)


@pytest.mark.parametrize("protocol", ["original", "cas"])
def test_worker_processes_give_the_same_result(protocol):
    model, props = DnsSystem(Config(3, 3, 2, 1), protocol), resolve_properties()
    options = Options(stop_early=False)
    one, _ = run(model, props, options, engine=EngineOptions(por=False),
                 vectorize=vector_model)
    two, info = run(model, props, options, engine=EngineOptions(por=False, workers=2),
                    vectorize=vector_model)
    assert info.workers == 2
    assert summary(one) == summary(two)


@pytest.mark.parametrize("mode", ["hashcompact", "bitstate"])
@pytest.mark.parametrize("protocol", ["original", "cas"])
def test_lossy_modes_agree_on_small_systems_and_report_a_probability(mode, protocol):
    model = DnsSystem(Config(3, 4, 2, 1), protocol)
    props = resolve_properties(["no-dangling", "monotonic"])
    options = Options(stop_early=False)
    exact = explore(model, props, options)
    r, info = run(model, props, options, engine=EngineOptions(lossy=mode, por=False),
                  vectorize=vector_model)
    assert 0.0 <= info.lossy.omission_probability < 0.05
    assert "probabilistic" in info.describe()
    assert summary(r) == summary(exact)  # no collision at this size (hashes are fixed)


def test_lossy_mode_with_tiny_signatures_admits_omissions():
    model = DnsSystem(Config(3, 4, 3, 1), "cas")
    props = resolve_properties(["no-dangling"])
    r, info = run(model, props, Options(), engine=EngineOptions(lossy="hashcompact",
                                                                lossy_bits=12),
                  vectorize=vector_model)
    assert info.lossy.expected_omissions > 1
    assert r.stats.states < 3_927


def test_lossy_mode_refuses_graph_properties():
    with pytest.raises(EngineError, match="recoverable"):
        run(DnsSystem(Config(), "cas"), resolve_properties(), Options(),
            engine=EngineOptions(lossy="bitstate"), vectorize=vector_model)


def test_state_limit_reports_partial_counts_and_the_depth_explored():
    model, props = DnsSystem(Config(), "cas"), resolve_properties(["no-dangling"])
    r = vec(model, props, Options(max_states=1000))
    assert r.verdict == INCOMPLETE and not r.stats.exhausted
    assert r.stats.explored_states == 1000
    assert "state limit" in r.stats.stop_reason
    levels = vec(model, props, Options(max_states=10**9))
    # every state at depth <= the reported depth was found
    assert 0 < r.stats.depth < levels.stats.depth


def test_time_limit_ends_the_run_incomplete():
    r = vec(DnsSystem(Config(), "recheck"), resolve_properties(["monotonic"]),
            Options(max_seconds=1e-9, stop_early=False))
    assert r.verdict == INCOMPLETE and "time limit" in r.stats.stop_reason


def test_a_model_without_vector_form_falls_back_to_the_object_engine():
    class Slow(Original):
        name = "slow"

    model = DnsSystem(Config(2, 3, 2, 1), Slow())
    r, info = run(model, resolve_properties(), Options(), engine=EngineOptions(),
                  vectorize=lambda m: None)
    assert info.engine == "object" and r.verdict == VIOLATED
    with pytest.raises(EngineError):
        run(model, resolve_properties(), Options(), engine=EngineOptions(engine="vector"),
            vectorize=lambda m: None)
    with pytest.raises(EngineError):
        run(model, resolve_properties(), Options(), engine=EngineOptions(workers=2),
            vectorize=lambda m: None)
    # a user's protocol has one: derived from its own steps (issue 14)
    assert vector_model(model) is not None
    fast, info = run(model, resolve_properties(), Options(), engine=EngineOptions(),
                     vectorize=vector_model)
    assert info.engine == "vector" and summary(fast) == summary(r)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PROTOCOLS), st.integers(1, 5), st.integers(1, 8), st.integers(1, 4),
       st.integers(0, 3), st.data())
def test_packed_states_round_trip_and_step_like_the_object_model(protocol, n, p, e, k, data):
    model = DnsSystem(Config(n, p, e, k), protocol)
    vm = PackedModel(model)
    state = model.init_states()[0]
    for _ in range(data.draw(st.integers(0, 30))):  # a random run
        succ = model.successors(state)
        if not succ:
            break
        state = succ[data.draw(st.integers(0, len(succ) - 1))][1]
    key = vm.encode(state)
    assert vm.decode(key) == state
    src, aids, nxt = vm.expand(np.array([key], dtype=np.int64))
    expected = model.successors(state)
    assert [vm.decode(x) for x in nxt] == [s for _, s in expected]
    assert [vm.kind_names[a & 7] for a in aids] == [a.kind for a, _ in expected]
    _, _, canon = vm.expand(np.array([key], dtype=np.int64), symmetry=True)
    assert [vm.decode(x) for x in canon] == [model.representative(s) for _, s in expected]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("config", [Config(3, 4, 2, 1), Config(2, 4, 3, 2), Config(4, 3, 2, 0)])
def test_partial_order_reduction_on_larger_systems(protocol, config):
    model, props = DnsSystem(config, protocol), resolve_properties()
    plain = vec(model, props, Options(stop_early=False))
    reduced = vec(model, props, Options(stop_early=False), por=True)
    assert reduced.por
    assert {k: v.status for k, v in reduced.properties.items()} == \
        {k: v.status for k, v in plain.properties.items()}


def test_workers_with_no_reduction_reproduce_model_md():
    props = resolve_properties(["no-dangling", "monotonic"])
    r, info = run(DnsSystem(Config(), "cas"), props, Options(symmetry=False),
                  engine=EngineOptions(workers=2), vectorize=vector_model)
    assert info.workers == 2 and not info.por
    assert (r.stats.states, r.stats.transitions) == FIGURES["cas"][:2]


def test_lookups_overlap_in_one_thread_that_ends_with_the_search(monkeypatch):
    """Levels of several chunks (a tiny CHUNK) give the same result with their lookups run
    in the background thread, and no thread outlives the search, even one stopped short."""
    import importlib
    import threading

    vector_mod = importlib.import_module("dnsrace.checker.explore.vector")
    model, props = DnsSystem(Config(3, 4, 3, 1), "original"), resolve_properties()
    whole = vec(model, props, Options())
    monkeypatch.setattr(vector_mod, "CHUNK", 64)
    before = threading.active_count()
    chunked = vec(model, props, Options())
    assert summary(chunked) == summary(whole)
    cut = vec(model, props, Options(max_states=5000))
    assert cut.verdict in (INCOMPLETE, VIOLATED) and not cut.stats.exhausted
    assert threading.active_count() == before


@pytest.mark.parametrize("lookahead", [1, 3])
def test_each_level_is_added_in_the_lookup_thread_behind_nothing_read_early(monkeypatch,
                                                                             lookahead):
    """The visited set grows in the lookup thread while this one goes on (chunks of the
    next level expanded ahead of their lookups): same result at any lookahead, and a level
    whose ``add`` fails raises that error from the search instead of giving a verdict."""
    import importlib

    vector_mod = importlib.import_module("dnsrace.checker.explore.vector")
    visited_mod = importlib.import_module("dnsrace.checker.explore.visited")
    model, props = DnsSystem(Config(3, 3, 2, 1), "original"), resolve_properties()
    whole = vec(model, props, Options())
    monkeypatch.setattr(vector_mod, "CHUNK", 64)
    monkeypatch.setattr(vector_mod, "LOOKAHEAD", lookahead)
    assert summary(vec(model, props, Options())) == summary(whole)

    calls = []
    plain_add = visited_mod._ExactVisited.add

    def failing_add(self, keys, ids):
        calls.append(len(keys))
        if len(calls) == 6:
            raise MemoryError("no room for the level")
        return plain_add(self, keys, ids)
    monkeypatch.setattr(visited_mod._ExactVisited, "add", failing_add)
    with pytest.raises(MemoryError, match="no room"):
        vec(model, props, Options())
    assert len(calls) == 6  # nothing was added after the failed level
