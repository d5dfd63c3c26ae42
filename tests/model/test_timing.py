"""Timing bounds as model data: parsing, validation, which interval times which step."""

from fractions import Fraction

import pytest

from dnsrace.model import Config, DnsSystem
from dnsrace.model.timing import (ActionTiming, Interval, TimedView, Timing, TimingError,
                                  TimingRules)


def test_defaults_are_documented_values():
    t = Timing()
    assert (t.plan.lo, t.plan.hi) == (1, 1)
    assert (t.write.lo, t.write.hi) == (0, Fraction(1, 10))
    assert t.scale() == 10


@pytest.mark.parametrize("text, lo, hi", [("0:0.1", 0, Fraction(1, 10)), ("1", 1, 1),
                                          ("1/3:2", Fraction(1, 3), 2), (" 2 : 3 ", 2, 3)])
def test_parse(text, lo, hi):
    iv = Interval.parse(text)
    assert (iv.lo, iv.hi) == (lo, hi)


@pytest.mark.parametrize("text, words", [("2:1", "empty"), ("-1", "negative"),
                                         ("abc", "not a number"), ("1:2:3", "LO:HI"),
                                         ("0:-0.5", "negative"), ("nan", "not a number")])
def test_bad_intervals_say_why(text, words):
    with pytest.raises(TimingError, match=words):
        Interval.parse(text, "--write-time")


def test_interval_contains_respects_open_ends():
    assert Interval(0, 1).contains(1)
    assert not Interval(0, 1, hi_open=True).contains(1)
    assert not Interval(0, 1, lo_open=True).contains(0)
    assert Interval(2, None).contains(10 ** 6)


def test_extra_intervals_and_unknown_names():
    t = Timing(extra={"lease": "5:5"})
    assert t.interval("lease") == Interval(5, 5)
    with pytest.raises(TimingError, match="known"):
        t.interval("nope")
    with pytest.raises(TimingError, match="shadows"):
        Timing(extra={"write": "1"})


def test_which_interval_times_which_step():
    m = DnsSystem(Config(2, 2, 2, 1), "recheck")
    v = TimedView(m, Timing())
    s = m.init_states()[0]
    (plan, s1, t), = v.timed_successors(s)
    assert t == ActionTiming(((0, "plan"),), (0,), True)
    assert v.deadlines(s) == [(0, 1, False)]                       # planner due at I_hi
    pick = [x for x in v.timed_successors(s1) if x[0].kind == "pick"][0]
    assert pick[2].guards == () and not pick[2].urgent              # idle: no deadline
    s2 = pick[1]
    check = [x for x in v.timed_successors(s2) if x[0].kind == "check"][0]
    assert check[2].guards == ((1, "check"),)
    # enactor-1 must re-read by R_hi; the other one is idle and has no deadline
    assert (1, Fraction(1, 10), False) in v.deadlines(s2)
    assert all(c != 2 for c, _hi, _o in v.deadlines(s2))


def test_a_disabled_write_has_no_deadline():
    m = DnsSystem(Config(1, 2, 1, 0), "original")
    v = TimedView(m, Timing())
    from dnsrace.model import Enactor, State
    # endpoint 0 serves plan 1, deleted; the enactor's write to it is disabled
    s = State(2, frozenset({2}), (1,), (Enactor(2, 2),))
    assert m.successors(s) == []
    assert v.deadlines(s) == []


def test_unknown_step_kinds_need_rules():
    from dnsrace.model import Original

    class Odd(TimingRules):
        timed_kinds = frozenset({"plan"})

    class OddProtocol(Original):
        name = "odd"
        timing_rules = Odd()

    m = DnsSystem(Config(1, 1, 1, 0), OddProtocol())
    v = TimedView(m, Timing())
    s1 = m.successors(m.init_states()[0])[0][1]
    with pytest.raises(TimingError, match="timing_rules"):
        v.timed_successors(s1)


def test_timing_round_trips_through_plain_data():
    t = Timing(plan="1/2:1", write="0:1/3", extra={"lease": "2:2"})
    assert Timing.from_dict(t.as_dict()) == t
    with pytest.raises(TimingError, match="empty"):
        Timing.from_dict({"write": ["1", "0"]})
    with pytest.raises(TimingError, match=r"\[LO, HI\]"):
        Timing.from_dict({"write": "0:1"})
