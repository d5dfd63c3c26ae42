"""The zone engine: exact, and the same as the untimed system when every bound is [0, 0]."""

from collections import deque
from fractions import Fraction

import pytest

from dnsrace.checker.timing import z3timing, zones as Z
from dnsrace.checker.explore.bfs import explore
from dnsrace.checker.explore.result import Options
from dnsrace.checker.timing.simulate import check_timestamps, replay_timed
from dnsrace.checker.timing.timed import TimedOptions, explore_timed, timed_path
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.timing import Interval, TimedView, Timing

ZERO = Timing(plan="0", write="0", check="0", cleanup="0")
SAFETY = ["no-dangling", "monotonic"]
SMALL = Config(2, 3, 2, 1)


def reachable(model):
    init = model.init_states()[0]
    seen, todo = {init}, deque([init])
    while todo:
        for _a, n in model.successors(todo.popleft()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def timed(model, timing, props=SAFETY, **kw):
    return explore_timed(TimedView(model, timing), resolve_properties(props),
                         TimedOptions(**kw), scale=timing.scale(), keep_reached=True)


# -- DBMs ---------------------------------------------------------------------------------
def test_dbm_basics():
    d = 3
    D = Z.zero(d)
    Z.up(D, d)
    assert Z.constrain(D, d, 1, 0, Z.le(5))          # x <= 5
    assert Z.constrain(D, d, 0, 2, Z.le(-2))         # y >= 2  (and x = y)
    assert D[1 * d] == Z.le(5) and D[2] == Z.le(-2) and D[1 * d + 2] == Z.le(0)
    assert not Z.constrain(list(D), d, 1, 0, Z.lt(2))  # x < 2 contradicts x = y >= 2
    E = list(D)
    Z.reset(E, d, 1)                                  # x := 0, y in [2, 5]
    assert E[1 * d] == Z.le(0) and E[2 * d + 1] == Z.le(5) and E[1 * d + 2] == Z.le(-2)
    assert Z.includes(Z.zero(d) if False else _up(Z.zero(d), d), D)
    F = list(E)
    Z.free(F, d, 2)
    assert Z.includes(F, E) and not Z.includes(E, F)


def _up(D, d):
    Z.up(D, d)
    return D


def test_extrapolation_only_widens_beyond_the_constant():
    d = 2
    D = Z.zero(d)
    Z.up(D, d)
    Z.constrain(D, d, 0, 1, Z.le(-7))                # x >= 7
    Z.extrapolate(D, d, [0, 3])
    assert D[1] == Z.lt(-3) and D[d] >= Z.INF          # x > 3
    G = Z.zero(d)
    Z.up(G, d)
    Z.constrain(G, d, 1, 0, Z.le(2))
    before = list(G)
    Z.extrapolate(G, d, [0, 3])
    assert G == before


def test_constants_beyond_64_bits_stay_bounds():
    """Scaled bounds can be huge (a denominator of 10**19 times a bound of 10): they must stay
    finite bounds, never be mistaken for "no bound"."""
    d, big = 2, 10 ** 30
    D = Z.zero(d)
    Z.up(D, d)
    assert Z.constrain(D, d, 1, 0, Z.le(big))        # x <= 10**30
    assert D[d] == Z.le(big) and D[d] < Z.INF
    assert not Z.constrain(list(D), d, 0, 1, Z.lt(-big))  # x > 10**30: empty
    E = list(D)
    assert Z.constrain(E, d, 0, 1, Z.le(-big))       # x = 10**30
    assert Z.includes(D, E) and not Z.includes(E, D)


def test_permute_renames_clocks():
    d = 3
    D = Z.zero(d)
    Z.up(D, d)
    Z.constrain(D, d, 1, 0, Z.le(1))
    Z.reset(D, d, 2)
    P = Z.permute(D, d, (0, 2, 1))
    assert P[2 * d] == D[1 * d] and P[1 * d] == D[2 * d]


# -- the untimed system is the [0, 0] timed system ---------------------------------------
@pytest.mark.parametrize("protocol", ["original", "recheck", "cas", "guarded"])
def test_zero_bounds_reach_exactly_the_untimed_states(protocol):
    m = DnsSystem(SMALL, protocol)
    r = timed(m, ZERO, symmetry=False, stop_early=False)
    assert r.stats.exhausted
    assert r.reached == reachable(m)


@pytest.mark.parametrize("protocol", ["original", "recheck", "cas", "guarded"])
def test_zero_bounds_give_untimed_verdicts_and_lengths(protocol):
    m = DnsSystem(SMALL, protocol)
    props = resolve_properties(SAFETY)
    untimed = explore(m, props, Options())
    for sym in (True, False):
        r = timed(m, ZERO, symmetry=sym)
        for name in SAFETY:
            u, t = untimed.properties[name], r.properties[name]
            assert t.status == u.status, (name, sym)
            if u.trace is not None:
                assert len(t.trace) == len(u.trace)


def test_default_config_reference_verdicts_under_zero_bounds():
    m = DnsSystem(Config(), "original")
    r = timed(m, ZERO)
    assert r.properties["no-dangling"].status == "violated"
    assert len(r.properties["no-dangling"].trace) == 10   # MODEL.md's shortest


def test_symmetry_does_not_change_timed_verdicts():
    for protocol in ("original", "recheck", "guarded", "cas"):
        m = DnsSystem(SMALL, protocol)
        for t in (Timing(), Timing(write="0:0.6"), Timing(plan="0.5:1", write="0:0.3")):
            a = timed(m, t, symmetry=True, stop_early=False)
            b = timed(m, t, symmetry=False, stop_early=False)
            assert {k: v.status for k, v in a.properties.items()} == \
                   {k: v.status for k, v in b.properties.items()}, (protocol, t)
            assert a.stats.discrete_states <= b.stats.discrete_states


# -- timed counterexamples: z3 timestamps that an independent checker accepts -------------
@pytest.mark.parametrize("protocol, timing", [
    ("original", Timing(write="0:0.5")), ("recheck", Timing(write="0:0.4")),
    ("guarded", Timing(write="0:2")), ("original", Timing()),
    ("original", Timing(plan="1/3:1", write="1/7:1/2", cleanup="0:1/5")),
])
def test_every_counterexample_has_timestamps_that_replay(protocol, timing):
    m = DnsSystem(SMALL, protocol)
    v = TimedView(m, timing)
    r = timed(m, timing)
    bounds = {n: timing.interval(n) for n in timing.names()}
    hits = 0
    for name, pr in r.properties.items():
        if pr.status != "violated":
            continue
        hits += 1
        sched = z3timing.schedule(timed_path(v, pr.trace), bounds)
        assert sched.status == z3timing.SAT
        assert sched.times[0] == 0 and list(sched.times) == sorted(sched.times)
        assert check_timestamps(m, timing, pr.trace.actions, sched.times) == (True, None, "")
        prop = resolve_properties([name])[0]
        ok, _ = replay_timed(m, timing, pr.trace.actions, sched.times, prop)
        assert ok
    assert hits


@pytest.mark.parametrize("write_hi, status", [
    ("0.3333333333333333333", "holds"), ("1/3", "violated"), ("0.3333333333333333334", "violated"),
])
def test_a_bound_a_hair_from_the_threshold_is_exact(write_hi, status):
    """The incident needs W_hi >= 1/3 (docs/TIMING.md). A bound given to 19 digits scales every
    bound by 10**19, past 2**62: the verdict must still be exact, and a counterexample timed."""
    m = DnsSystem(Config(), "original")
    timing = Timing(write=Interval(0, Fraction(write_hi)))
    pr = timed(m, timing, ["no-dangling"]).properties["no-dangling"]
    assert pr.status == status
    if status == "violated":
        sched = z3timing.schedule(timed_path(TimedView(m, timing), pr.trace),
                                  {n: timing.interval(n) for n in timing.names()})
        assert sched.status == z3timing.SAT
        assert check_timestamps(m, timing, pr.trace.actions, sched.times) == (True, None, "")


def test_check_timestamps_names_the_broken_rule():
    m = DnsSystem(SMALL, "original")
    t = Timing()
    r = timed(m, t, ["monotonic"])
    acts = r.properties["monotonic"].trace.actions
    good = z3timing.schedule(timed_path(TimedView(m, t), r.properties["monotonic"].trace),
                             {n: t.interval(n) for n in t.names()}).times
    assert check_timestamps(m, t, acts, good)[0]
    late = list(good[1:])
    late[0] = Fraction(3, 2)                    # plan 1 after I_hi = 1
    ok, step, reason = check_timestamps(m, t, acts, late)
    assert not ok and step == 1 and "deadline" in reason
    back = list(good)
    back[3] = back[2] - 1
    ok, step, reason = check_timestamps(m, t, acts, back)
    assert not ok and "before the previous step" in reason


def test_unsat_core_names_the_assumptions_that_rule_the_race_out():
    m = DnsSystem(Config(), "original")
    untimed = explore(m, resolve_properties(["no-dangling"]), Options())
    tp = timed_path(TimedView(m, Timing()), untimed.properties["no-dangling"].trace)
    sched = z3timing.schedule(tp, {n: Timing().interval(n) for n in Timing().names()})
    assert sched.status == z3timing.UNSAT
    assert set(sched.core) == {"plan-interval lo = 1", "write-time hi = 1/10"}


def test_default_timing_default_config():
    """Plans every 1, writes and cleanups within 0.1: the incident is impossible, a stale
    overwrite is not (an idle enactor may pick just before the next plan)."""
    m = DnsSystem(Config(), "original")
    r = timed(m, Timing(), SAFETY + ["recoverable"])
    assert r.properties["no-dangling"].status == "holds"
    assert r.properties["monotonic"].status == "violated"
    assert len(r.properties["monotonic"].trace) == 6
    assert r.properties["recoverable"].status == "not analysed"   # never "holds"
    assert r.verdict == "violated"


@pytest.mark.parametrize("protocol", ["original", "recheck", "guarded"])
def test_both_extrapolations_agree(protocol):
    """Extra_M and the coarser Extra_LU+ are both exact: same verdicts, same shortest runs."""
    m = DnsSystem(SMALL, protocol)
    for t in (Timing(), Timing(write="0:0.5"), Timing(plan="1/2:1", write="1/10:1/3"),
              Timing(write="0:0.45", cleanup="0:0.3")):
        a = timed(m, t, extrapolation="m")
        b = timed(m, t, extrapolation="lu")
        for name in SAFETY:
            pa, pb = a.properties[name], b.properties[name]
            assert pa.status == pb.status, (protocol, t, name)
            if pa.trace is not None:
                assert len(pa.trace) == len(pb.trace)


@pytest.mark.parametrize("protocol, symmetry, zones, discrete", [
    ("original", True, 8937, 3759), ("cas", True, 3505, 1212), ("cas", False, 20701, 5279),
])
def test_pinned_zone_counts_default_config(protocol, symmetry, zones, discrete):
    """Default configuration and bounds, full exploration. (original without symmetry:
    52,260 zones over 17,404 discrete states; 8 s, so not run here.)"""
    m = DnsSystem(Config(), protocol)
    r = timed(m, Timing(), symmetry=symmetry, stop_early=False)
    assert r.stats.exhausted
    assert (r.stats.zones, r.stats.discrete_states) == (zones, discrete)


def test_the_solver_names_bounds_as_the_model_and_options_do():
    """z3timing may not import the model; its names must still be the model's (one voice)."""
    from dnsrace.model.timing import BASE_INTERVALS, bound_name

    for name in BASE_INTERVALS:
        for side in ("lo", "hi"):
            assert z3timing.symbol(name, side) == bound_name(name, side)
    assert z3timing.symbol("write", "hi") == "write-time hi"
