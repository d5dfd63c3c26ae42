"""The engine against MODEL.md's reference figures, and symmetry against plain search."""

import pytest
from hypothesis import given, settings, strategies as st

from dnsrace.checker import HOLDS, INCOMPLETE, VIOLATED, Options, explore, replay
from dnsrace.invariants import resolve_properties
from dnsrace.model import SHIPPED, Config, DnsSystem

# MODEL.md: plain BFS, all reductions off, N=3 P=4 E=3 K=1.
FIGURES = {
    #            states   transitions  no-dangling states  shortest
    "original": (118_763, 336_785, 25_231, 10),
    "recheck": (516_544, 1_551_282, 88_024, 14),
    "cas": (19_490, 61_294, 0, None),
    "guarded": (129_907, 373_668, 17_627, 10),
}


@pytest.mark.parametrize("protocol", FIGURES)
def test_plain_search_reproduces_model_md(protocol):
    states, transitions, dangling, shortest = FIGURES[protocol]
    props = resolve_properties(["no-dangling", "monotonic"])
    r = explore(DnsSystem(Config(), protocol), props, Options(symmetry=False, stop_early=False))
    assert r.stats.exhausted
    assert (r.stats.states, r.stats.transitions) == (states, transitions)
    assert r.stats.violations["no-dangling"] == dangling
    nd = r.properties["no-dangling"]
    assert nd.status == (HOLDS if shortest is None else VIOLATED)
    assert (len(nd.trace) if nd.trace else None) == shortest
    assert r.properties["monotonic"].status == (HOLDS if protocol == "cas" else VIOLATED)


@pytest.mark.parametrize("protocol", ["original", "cas"])
def test_recoverable_fails_exactly_where_no_dangling_does(protocol):
    r = explore(DnsSystem(Config(), protocol), resolve_properties(), Options(symmetry=False))
    s = r.stats
    assert (s.states, s.transitions) == FIGURES[protocol][:2]  # the P system, counted in scope
    assert s.violations["recoverable"] == s.violations["no-dangling"] == FIGURES[protocol][2]
    rec = r.properties["recoverable"]
    assert (len(rec.trace) if rec.trace else None) == FIGURES[protocol][3]


@pytest.mark.parametrize("protocol", ["recheck", "guarded"])
def test_recoverable_condemns_the_dangling_states_under_symmetry(protocol):
    r = explore(DnsSystem(Config(), protocol), resolve_properties(), Options())
    assert r.stats.violations["recoverable"] == r.stats.violations["no-dangling"] > 0
    assert len(r.properties["recoverable"].trace) == FIGURES[protocol][3]


def test_symmetry_counts_are_pinned():
    r = explore(DnsSystem(Config(), "original"), resolve_properties(), Options())
    assert (r.stats.states, r.stats.transitions, r.stats.explored_states) == (22_966, 64_625, 71_963)
    assert [len(p.trace) for p in r.properties.values()] == [10, 6, 10]


def test_the_shortest_incident_is_model_md_s_trace():
    r = explore(DnsSystem(Config(), "original"), resolve_properties(["no-dangling"]), Options())
    kinds = [(a.kind, a.actor) for a in r.properties["no-dangling"].trace.actions]
    assert kinds == [("plan", None), ("pick", 0), ("plan", None), ("plan", None), ("pick", 1),
                     ("write", 1), ("write", 0), ("write", 1), ("write", 1), ("cleanup", 1)]


def test_stop_early_keeps_verdicts_and_says_so():
    r = explore(DnsSystem(Config(), "original"), resolve_properties(["no-dangling"]), Options())
    assert r.verdict == VIOLATED and not r.stats.exhausted
    assert r.stats.stop_reason == "every property violated"


def test_max_states_gives_incomplete_never_holds():
    r = explore(DnsSystem(Config(), "cas"), resolve_properties(), Options(max_states=100))
    assert r.verdict == INCOMPLETE
    assert {p.status for p in r.properties.values()} == {INCOMPLETE}
    assert r.stats.stop_reason == "state limit 100 reached"
    assert 0 < r.stats.states <= 100


def test_interrupt_gives_incomplete_with_partial_stats():
    model = DnsSystem(Config(), "cas")
    calls = {"n": 0}
    real = model.successors

    def flaky(state):
        calls["n"] += 1
        if calls["n"] == 50:
            raise KeyboardInterrupt
        return real(state)

    model.successors = flaky
    r = explore(model, resolve_properties(["no-dangling"]), Options())
    assert r.verdict == INCOMPLETE and r.stats.stop_reason == "interrupted"
    assert r.stats.states > 0


def test_coverage_warns_about_actions_that_never_fire():
    r = explore(DnsSystem(Config(enactors=1, plans=2, endpoints=1), "cas"),
                resolve_properties(), Options())
    assert r.verdict == HOLDS
    assert r.stats.never_fired == ["abort"]
    assert r.stats.coverage["write"] > 0


def assert_replays(model, prop, path):
    """Each step enabled from the previous state, and the last state (or step) violates."""
    states, bad = replay(model, path.actions)
    assert bad is None and tuple(states) == path.states
    if prop.kind == "state invariant":
        assert all(prop.holds(model, s) for s in states[:-1])
        assert not prop.holds(model, states[-1])
    elif prop.kind == "transition invariant":
        assert not prop.holds(model, states[-2], path.actions[-1], states[-1])
    else:  # no path from the last state reaches the goal in the extended system
        big = prop.graph_model(model)
        seen, todo = {states[-1]}, [states[-1]]
        while todo:
            s = todo.pop()
            assert not prop.is_goal(model, s)
            for _, n in big.successors(s):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)


configs = st.builds(
    Config, enactors=st.integers(1, 3), plans=st.integers(1, 4), endpoints=st.integers(1, 2),
    keep=st.integers(0, 2))


@settings(max_examples=40, deadline=None)
@given(config=configs, protocol=st.sampled_from(sorted(SHIPPED)))
def test_symmetry_agrees_with_plain_search(config, protocol):
    model = DnsSystem(config, protocol)
    props = resolve_properties()
    plain = explore(model, props, Options(symmetry=False))
    reduced = explore(model, props, Options(symmetry=True))
    for name in plain.properties:
        p, r = plain.properties[name], reduced.properties[name]
        assert p.status == r.status, name
        assert (len(p.trace) if p.trace else None) == (len(r.trace) if r.trace else None)
    assert reduced.stats.states <= plain.stats.states
    for prop in props:
        for result in (plain, reduced):
            trace = result.properties[prop.name].trace
            if trace is not None:
                assert_replays(model, prop, trace)


def test_output_is_deterministic():
    model = DnsSystem(Config(plans=3), "original")
    a = explore(model, resolve_properties(), Options())
    b = explore(model, resolve_properties(), Options())
    assert [p.trace for p in a.properties.values()] == [p.trace for p in b.properties.values()]
