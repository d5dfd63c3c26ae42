"""The transition system against MODEL.md's text, step by step."""

import pytest

from dnsrace.model import (APPLY0, CLEANUP, IDLE, Abort, Check, Cleanup, Config, DnsSystem, Pick,
                           Plan, Write, resolve_protocol, UnknownProtocol)
from dnsrace.checker import replay


def run(model, actions):
    states, bad = replay(model, actions)
    assert bad is None, f"step {bad + 1} not enabled: {actions[bad]}"
    return states


# MODEL.md: "A shortest original counterexample"
INCIDENT = [Plan(), Pick(0), Plan(), Plan(), Pick(1), Write(1, 0), Write(0, 0), Write(1, 1),
            Write(1, 2), Cleanup(1)]


def test_initial_state():
    (s,) = DnsSystem(Config()).init_states()
    assert (s.gen, s.store, s.dns) == (0, frozenset(), (0, 0, 0))
    assert all(e.pc == IDLE and e.held == 0 for e in s.enactors)


def test_initially_only_the_planner_moves():
    m = DnsSystem(Config())
    assert m.actions(m.init_states()[0]) == [Plan()]


def test_the_reference_incident_trace_replays_and_dangles():
    m = DnsSystem(Config(), "original")
    last = run(m, INCIDENT)[-1]
    assert last.store == frozenset({2, 3})
    assert last.dns == (1, 3, 3)


def test_pick_is_a_one_time_check_against_the_newest_record():
    m = DnsSystem(Config(enactors=2, plans=2, endpoints=1))
    s = run(m, [Plan(), Pick(0), Write(0, 0)])[-1]
    assert Pick(1) not in m.actions(s)  # gen 1 is not newer than dns = 1
    s = run(m, [Plan(), Pick(0), Write(0, 0), Plan()])[-1]
    assert Pick(1) in m.actions(s)


def test_write_to_a_record_serving_a_deleted_plan_is_disabled():
    m = DnsSystem(Config(), "original")
    s = run(m, INCIDENT)[-1]
    # enactor-1 (held 1) is at APPLY(1); record ipv6 serves 3, still stored: enabled.
    assert Write(0, 1) in m.actions(s)
    # Nobody can ever write endpoint 0 again.
    s2 = run(m, INCIDENT + [Plan(), Pick(2)])[-1]
    assert Write(2, 0) not in m.actions(s2)


def test_cleanup_deletes_below_held_minus_keep():
    m = DnsSystem(Config(enactors=1, plans=4, endpoints=1, keep=1))
    s = run(m, [Plan(), Plan(), Plan(), Plan(), Pick(0), Write(0, 0), Cleanup(0)])[-1]
    assert s.store == frozenset({3, 4})
    assert s.enactors[0].pc == IDLE and s.enactors[0].held == 0


def test_recheck_aborts_when_the_record_is_newer():
    m = DnsSystem(Config(enactors=2, plans=2, endpoints=1), "recheck")
    s = run(m, [Plan(), Pick(0), Plan(), Pick(1), Check(1, 0), Write(1, 0)])[-1]
    assert m.actions(s) == [Abort(0, 0), Cleanup(1)]
    s = run(m, [Plan(), Pick(0), Check(0, 0), Plan(), Pick(1), Check(1, 0), Write(1, 0)])[-1]
    assert Write(0, 0) in m.actions(s)  # checked before the newer write: still racy


def test_cas_aborts_instead_of_overwriting_newer():
    m = DnsSystem(Config(enactors=2, plans=2, endpoints=1), "cas")
    s = run(m, [Plan(), Pick(0), Plan(), Pick(1), Write(1, 0)])[-1]
    assert Abort(0, 0) in m.actions(s)
    after = m.next_state(s, Abort(0, 0))
    assert after.dns == (2,) and after.enactors[0].pc == IDLE


def test_guarded_cleanup_keeps_referenced_plans():
    m = DnsSystem(Config(), "guarded")
    s = run(m, INCIDENT)[-1]
    assert s.store == frozenset({1, 2, 3})


def test_next_state_of_a_disabled_action_is_none():
    m = DnsSystem(Config())
    assert m.next_state(m.init_states()[0], Pick(0)) is None


def test_representative_sorts_enactors_only():
    m = DnsSystem(Config(), "original")
    s = run(m, [Plan(), Pick(2)])[-1]
    r = m.representative(s)
    assert sorted(r.enactors) == list(r.enactors)
    assert (r.gen, r.store, r.dns) == (s.gen, s.store, s.dns)
    assert r.enactors[-1].pc == APPLY0 and r.enactors[-1].held == 1
    assert CLEANUP not in [e.pc for e in r.enactors]


def test_unknown_protocol_lists_the_valid_ones():
    with pytest.raises(UnknownProtocol) as err:
        resolve_protocol("fencing")
    assert "original" in str(err.value) and "cas" in str(err.value)
