"""Synthesis is exact, and an independent simulator agrees with the checker on both sides of
every synthesised threshold."""

from fractions import Fraction as F

import pytest

from dnsrace.checker.timing.simulate import check_timestamps, replay_timed, simulate
from dnsrace.checker.timing.synthesis import ALWAYS, NEVER, THRESHOLD, synthesize
from dnsrace.checker.timing.timed import TimedOptions, explore_timed
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.timing import Interval, TimedView, Timing

SMALL = Config(2, 3, 2, 1)
ND = resolve_properties(["no-dangling"])[0]
MONO = resolve_properties(["monotonic"])[0]


def synth(protocol, prop, unknown, timing=Timing(), config=SMALL):
    m = DnsSystem(config, protocol)
    return m, synthesize(lambda t: TimedView(m, t), timing, prop, unknown,
                         also_symbolic=[("plan", "lo"), ("plan", "hi")])


def verdict(m, timing, prop=ND):
    r = explore_timed(TimedView(m, timing), [prop], TimedOptions(), scale=timing.scale())
    return r.properties[prop.name]


@pytest.mark.parametrize("protocol, unknown, theta", [
    ("original", ("write", "hi"), F(1, 2)),
    ("guarded", ("write", "hi"), F(1, 2)),
    ("recheck", ("write", "hi"), F(2, 5)),
    ("original", ("plan", "lo"), F(1, 5)),
])
def test_thresholds_small_config(protocol, unknown, theta):
    m, r = synth(protocol, ND, unknown)
    assert r.status == THRESHOLD and r.threshold == theta
    assert r.checks[-1][1] == "holds"       # the last check proves nothing lies beyond theta
    # the witness is a timed run at the threshold that reaches the violation
    name, side = unknown
    iv = Timing().interval(name)
    at = Timing().with_interval(name, Interval(iv.lo, theta) if side == "hi"
                                else Interval(theta, iv.hi))
    ok, _ = replay_timed(m, at, r.witness.actions, r.times, ND)
    assert ok


def test_default_config_threshold():
    """The headline number: plans every 1, writes from 0, cleanups within 0.1, keep 1: the
    incident needs a write stall of at least 1/3 (a slow enactor spreads its three writes
    over one plan interval)."""
    _m, r = synth("original", ND, ("write", "hi"), config=Config())
    assert r.status == THRESHOLD and r.threshold == F(1, 3)
    assert r.path_region == "plan-interval lo <= 3*write-time hi"


def test_monotonic_breaks_at_any_write_stall():
    _m, r = synth("original", MONO, ("write", "hi"))
    assert r.status == ALWAYS


def test_never_when_even_no_deadline_is_safe():
    # with plans 10 apart and a cleanup that keeps 2 older plans, no write stall suffices
    # for 2 enactors and 3 plans: cleanup after plan 3 keeps plans >= 1
    _m, r = synth("original", ND, ("write", "hi"), Timing(plan="10"),
                  Config(2, 3, 2, 2))
    assert r.status == NEVER


def test_threshold_is_sharp_both_sides():
    m = DnsSystem(SMALL, "original")
    assert verdict(m, Timing(write=Interval(0, F(1, 2)))).status == "violated"
    assert verdict(m, Timing(write=Interval(0, F(49, 100)))).status == "holds"


@pytest.mark.parametrize("w_hi, expect", [(F(1, 4), "holds"), (F(9, 20), "holds"),
                                          (F(1, 2), "violated"), (F(3, 4), "violated"),
                                          (F(2), "violated")])
def test_simulator_agrees_on_a_grid_around_the_threshold(w_hi, expect):
    """Where the checker says holds, 150 seeded random runs never violate; where it says
    violated, its counterexample replays at its timestamps in the simulator's own clocks."""
    m = DnsSystem(SMALL, "original")
    timing = Timing(write=Interval(0, w_hi))
    pr = verdict(m, timing)
    assert pr.status == expect
    if expect == "holds":
        for seed in range(150):
            run = simulate(m, timing, seed, [ND], max_steps=60)
            assert run.violated is None, seed
            assert check_timestamps(m, timing, run.actions, run.times)[0]
    else:
        from dnsrace.checker.timing import z3timing
        from dnsrace.checker.timing.timed import timed_path
        sched = z3timing.schedule(timed_path(TimedView(m, timing), pr.trace),
                                  {n: timing.interval(n) for n in timing.names()})
        assert replay_timed(m, timing, pr.trace.actions, sched.times, ND)[0]


def test_simulator_finds_the_race_when_stalls_are_long():
    m = DnsSystem(SMALL, "original")
    timing = Timing(write="0:3")
    assert any(simulate(m, timing, seed, [ND], max_steps=80).violated for seed in range(200))


def test_cas_holds_for_random_timings():
    m = DnsSystem(SMALL, "cas")
    for k, timing in enumerate([Timing(write="0:5"), Timing(plan="0:0.2", write="0:2")]):
        assert verdict(m, timing).status == "holds"
        for seed in range(60):
            assert simulate(m, timing, 1000 * k + seed, [ND, MONO], max_steps=60).violated \
                is None


from hypothesis import given, settings, strategies as st  # noqa: E402

TENTHS = st.integers(0, 10).map(lambda k: F(k, 10))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(protocol=st.sampled_from(["original", "recheck", "cas", "guarded"]),
       plan=st.tuples(TENTHS, TENTHS).map(sorted).filter(lambda p: p[1] > 0),
       write=st.tuples(TENTHS, TENTHS).map(sorted), cleanup=st.tuples(TENTHS, TENTHS).map(sorted),
       endpoints=st.integers(1, 2))
def test_random_bounds_checker_and_simulator_agree(protocol, plan, write, cleanup, endpoints):
    m = DnsSystem(Config(2, 3, endpoints, 1), protocol)
    timing = Timing(plan=Interval(*plan), write=Interval(*write), check=Interval(*write),
                    cleanup=Interval(*cleanup))
    props = [ND, MONO]
    res = {}
    for sym in (True, False):
        r = explore_timed(TimedView(m, timing), props, TimedOptions(symmetry=sym),
                          scale=timing.scale())
        res[sym] = {k: v.status for k, v in r.properties.items()}
    assert res[True] == res[False]
    holding = [p for p in props if res[True][p.name] == "holds"]
    for seed in range(25):
        run = simulate(m, timing, seed, holding, max_steps=50)
        assert run.violated is None, (seed, run.violated)


@pytest.mark.parametrize("protocol", ["original", "recheck", "cas"])
def test_every_simulated_state_is_reached_by_the_zone_engine(protocol):
    """Completeness, checked independently: every discrete state a random timed run visits is
    among those the zone engine reaches (no symmetry, full exploration)."""
    m = DnsSystem(SMALL, protocol)
    for timing in (Timing(), Timing(write="0:0.5"), Timing(plan="1/2:1", write="0:1/4")):
        r = explore_timed(TimedView(m, timing), [ND, MONO],
                          TimedOptions(symmetry=False, stop_early=False),
                          scale=timing.scale(), keep_reached=True)
        seen = set()
        for seed in range(40):
            seen.update(simulate(m, timing, seed, (), max_steps=40).states)
        assert seen <= r.reached
        assert len(seen) > 10
