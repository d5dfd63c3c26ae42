import pytest

from dnsrace.checker import replay
from dnsrace.invariants import PROPERTIES, UnknownProperty, resolve_properties
from dnsrace.model import Config, DnsSystem, Plan, Pick, Write

from ..model.test_system import INCIDENT


def test_default_is_every_property_in_order():
    assert [p.name for p in resolve_properties()] == ["no-dangling", "monotonic", "recoverable"]
    assert [p.kind for p in resolve_properties()] == [
        "state invariant", "transition invariant", "graph property"]


def test_every_property_is_documented():
    for cls in PROPERTIES.values():
        assert cls.__doc__ and cls.summary


def test_unknown_property_lists_the_valid_ones():
    with pytest.raises(UnknownProperty) as err:
        resolve_properties(["no-dangling", "safety"])
    assert "'safety'" in str(err.value) and "recoverable" in str(err.value)


def test_no_dangling_breaks_exactly_at_the_incident_cleanup():
    m = DnsSystem(Config())
    (nd,) = resolve_properties(["no-dangling"])
    states, _ = replay(m, INCIDENT)
    assert [nd.holds(m, s) for s in states] == [True] * 10 + [False]
    assert "endpoint regional serves plan 1" in nd.explain(m, states)


def test_monotonic_breaks_at_the_stale_write():
    m = DnsSystem(Config())
    (mono,) = resolve_properties(["monotonic"])
    states, _ = replay(m, INCIDENT)
    flags = [mono.holds(m, b, a, n) for a, b, n in zip(INCIDENT, states, states[1:])]
    assert flags.index(False) == 6 and flags.count(False) == 1


def test_recoverable_looks_one_plan_further():
    m = DnsSystem(Config(plans=4))
    (rec,) = resolve_properties(["recoverable"])
    big = rec.graph_model(m)
    assert big.config.plans == 5
    states, _ = replay(big, [Plan()] * 5 + [Pick(0), Write(0, 0), Write(0, 1), Write(0, 2)])
    assert rec.is_goal(m, states[-1])
    assert not rec.in_scope(m, states[-1]) and rec.in_scope(m, states[4])
