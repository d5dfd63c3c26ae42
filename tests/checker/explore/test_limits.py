"""--max-depth: breadth-first up to depth D; the object and vector engines agree."""

from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker import INCOMPLETE, VIOLATED, Options, explore
from dnsrace.checker.explore.engines import EngineOptions, run
from dnsrace.checker.explore.limits import depth_reason
from dnsrace.checker.explore.vector import explore as vexplore
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.derived import vector_model

small_configs = st.builds(lambda n, p, e, k: Config(n, p, e, k),
                          st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
                          st.integers(0, 2))


def test_depth_reason():
    assert depth_reason(None, 40) == "" and depth_reason(5, 4) == ""
    assert depth_reason(5, 5) == "depth limit 5 reached"


def test_a_violation_within_the_depth_is_found_and_the_rest_is_incomplete():
    model = DnsSystem(Config(), "original")
    r = explore(model, resolve_properties(), Options(max_depth=8))
    assert r.properties["monotonic"].status == VIOLATED  # 6 steps
    assert r.properties["no-dangling"].status == INCOMPLETE  # needs 10
    assert r.properties["recoverable"].status == INCOMPLETE
    assert r.verdict == VIOLATED and not r.stats.exhausted and r.stats.depth == 8
    assert r.stats.stop_reason == "depth limit 8 reached"


def test_a_bound_beyond_the_diameter_changes_nothing():
    model = DnsSystem(Config(2, 2, 2, 1), "cas")
    props = resolve_properties()
    full, bounded = explore(model, props, Options()), explore(model, props, Options(max_depth=999))
    assert bounded.stats.exhausted and bounded.verdict == full.verdict == "holds"
    assert bounded.stats.states == full.stats.states


def test_depth_zero_checks_only_the_initial_state():
    r = explore(DnsSystem(Config(), "cas"), resolve_properties(["no-dangling"]),
                Options(max_depth=0))
    assert r.stats.states == 1 and r.stats.transitions == 0 and r.verdict == INCOMPLETE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.sampled_from(["original", "recheck", "cas", "guarded"]),
       st.booleans(), st.integers(0, 12),
       st.sampled_from([(), ("no-dangling",), ("monotonic",), ("no-dangling", "monotonic")]))
def test_vector_and_object_engines_agree_under_a_depth_bound(config, protocol, symmetry, depth,
                                                             names):
    model = DnsSystem(config, protocol)
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=False, max_depth=depth)
    want = explore(model, props, options)
    got = vexplore(model, props, options, vectorize=vector_model)
    assert (got.verdict, got.stats.states, got.stats.transitions, got.stats.depth,
            got.stats.exhausted, got.stats.violations) == \
        (want.verdict, want.stats.states, want.stats.transitions, want.stats.depth,
         want.stats.exhausted, want.stats.violations)
    assert {k: v.status for k, v in got.properties.items()} == \
        {k: v.status for k, v in want.properties.items()}
    # the engine front end drops partial-order reduction under a depth bound (its depths
    # are not the plain ones), so `check --max-depth` agrees on every engine
    r, info = run(model, props, options, engine=EngineOptions(), vectorize=vector_model)
    assert not info.por and r.stats.states == want.stats.states
