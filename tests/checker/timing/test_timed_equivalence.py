"""The interned, memoised zone engine is the plain one: on random small configurations and
bounds (strict ends and missing deadlines included) it stores the same zones, subsumes the
same ones and returns the same verdicts and traces as the engine it replaced
(``timed_reference.py``), with or without symmetry, under either extrapolation, and when a
``DiscreteGraph`` is shared between checks under different bounds."""

from fractions import Fraction as F

import pytest
from hypothesis import given, settings, strategies as st

from dnsrace.checker.timing.timed import DiscreteGraph, TimedOptions, explore_timed
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.timing import Interval, TimedView, Timing

from .timed_reference import explore_timed_reference

SAFETY = resolve_properties(["no-dangling", "monotonic"])
PROTOCOLS = ["original", "recheck", "cas", "guarded"]
# (the last one scales every bound by 10**19: DBM entries beyond 64 bits)
BOUND = st.sampled_from([F(0), F(1, 10), F(1, 7), F(1, 4), F(1, 3), F(1, 2), F(2, 3), F(1),
                         F(3, 2), F("0.3333333333333333333")])


@st.composite
def intervals(draw, open_ends=True):
    lo, hi = sorted((draw(BOUND), draw(BOUND)))
    if draw(st.booleans()) and draw(st.booleans()):
        return Interval(lo, None)
    lo_open = open_ends and lo < hi and draw(st.booleans())
    hi_open = open_ends and lo < hi and not lo_open and draw(st.booleans())
    return Interval(lo, hi, lo_open=lo_open, hi_open=hi_open)


@st.composite
def timings(draw):
    return Timing(plan=draw(intervals()), write=draw(intervals()), check=draw(intervals()),
                  cleanup=draw(intervals()))


def summary(r):
    stats = dict(vars(r.stats))
    stats.pop("seconds")
    return (r.verdict, r.symmetry, stats, r.reached,
            {n: (p.status, p.trace, p.explanation) for n, p in r.properties.items()})


def both(model, timing, options, graph=None):
    view = TimedView(model, timing)
    new = explore_timed(view, SAFETY, options, scale=timing.scale(), keep_reached=True,
                        graph=graph)
    ref = explore_timed_reference(TimedView(model, timing), SAFETY, options,
                                  scale=timing.scale(), keep_reached=True)
    return summary(new), summary(ref)


CONFIG = st.builds(Config, enactors=st.integers(1, 3), plans=st.integers(1, 3),
                   endpoints=st.integers(1, 2), keep=st.integers(1, 2))
# (max_zones keeps each example fast; a run cut short must be cut at the same zone too)
OPTIONS = st.builds(TimedOptions, symmetry=st.booleans(),
                    extrapolation=st.sampled_from(["m", "lu"]),
                    stop_early=st.booleans(), max_zones=st.integers(1, 3000))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(config=CONFIG, protocol=st.sampled_from(PROTOCOLS), timing=timings(), options=OPTIONS)
def test_same_search_as_the_reference_engine(config, protocol, timing, options):
    new, ref = both(DnsSystem(config, protocol), timing, options)
    assert new == ref


SMALLER = st.builds(Config, enactors=st.integers(1, 2), plans=st.integers(1, 3),
                    endpoints=st.integers(1, 2), keep=st.integers(1, 2))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(config=SMALLER, protocol=st.sampled_from(PROTOCOLS), first=timings(), second=timings(),
       symmetry=st.booleans())
def test_a_shared_discrete_graph_changes_nothing(config, protocol, first, second, symmetry):
    model = DnsSystem(config, protocol)
    graph = DiscreteGraph()
    options = TimedOptions(symmetry=symmetry, stop_early=False, max_zones=3000)
    for timing in (first, second, first):
        new, ref = both(model, timing, options, graph)
        assert new == ref


def test_a_lease_protocol_matches_the_reference():
    """A protocol with clocks of its own (two per enactor) and an extra interval."""
    model = DnsSystem(Config(2, 3, 2), "lease")
    for lease in (F(1, 10), F(1), F(2)):
        timing = Timing(write=Interval(0, 1), extra={"lease": Interval(lease, lease)})
        for symmetry in (True, False):
            new, ref = both(model, timing, TimedOptions(symmetry=symmetry, stop_early=False))
            assert new == ref


def test_a_graph_serves_one_model():
    graph = DiscreteGraph()
    explore_timed(TimedView(DnsSystem(Config(1, 1, 1), "original"), Timing()), SAFETY,
                  graph=graph)
    with pytest.raises(ValueError):
        explore_timed(TimedView(DnsSystem(Config(1, 1, 1), "original"), Timing()), SAFETY,
                      graph=graph)
