"""Verdicts of every shipped protocol at the defaults (N=3 P=4 E=3 K=1), as docs/PROTOCOLS.md
documents them, and the steps each variant adds."""

import pytest

from dnsrace.checker import HOLDS, VIOLATED, Options, explore, replay
from dnsrace.invariants import resolve_properties
from dnsrace.model import PROTOCOLS, Cleanup, Config, DnsSystem, Pick, Plan, Write
from dnsrace.model.variants import Delete, Expire, Fenced, Refuse, Scan

V, H = VIOLATED, HOLDS

# protocol: (no-dangling, monotonic, shortest no-dangling, shortest monotonic,
#            symmetry-reduced states when the safety properties hold)
VERDICTS = {
    "original": (V, V, 10, 6, None),
    "recheck": (V, V, 14, 8, None),
    "cas": (H, H, None, None, 3_927),
    "guarded": (V, V, 10, 6, None),
    "cas+guarded": (H, H, None, None, 3_927),
    "lease": (V, V, 11, 7, None),
    "lease+fencing": (H, H, None, None, 15_229),
    "safe-delete": (H, V, None, 6, None),
    "safe-delete-2step": (V, V, 11, 6, None),
}


def test_every_shipped_protocol_has_a_pinned_verdict():
    assert set(VERDICTS) == set(PROTOCOLS)


@pytest.mark.parametrize("name", VERDICTS)
def test_safety_verdicts_at_the_defaults(name):
    nd, mono, nd_len, mono_len, states = VERDICTS[name]
    r = explore(DnsSystem(Config(), name), resolve_properties(["no-dangling", "monotonic"]),
                Options())
    got = r.properties
    assert (got["no-dangling"].status, got["monotonic"].status) == (nd, mono)
    assert (len(got["no-dangling"].trace) if got["no-dangling"].trace else None) == nd_len
    assert (len(got["monotonic"].trace) if got["monotonic"].trace else None) == mono_len
    if states is not None:
        assert r.stats.exhausted and r.stats.states == states


# recoverable needs the whole graph: checked at N=2 P=3 to stay fast; it fails exactly where
# no-dangling does, as for MODEL.md's protocols.
@pytest.mark.parametrize("name", ["cas+guarded", "lease", "lease+fencing", "safe-delete",
                                  "safe-delete-2step"])
def test_recoverable_follows_no_dangling(name):
    r = explore(DnsSystem(Config(enactors=2, plans=3), name), resolve_properties(),
                Options(stop_early=False))
    assert r.properties["recoverable"].status == r.properties["no-dangling"].status
    assert r.stats.violations["recoverable"] == r.stats.violations["no-dangling"]


def test_cas_guarded_at_the_defaults_holds_everything_in_the_states_of_cas():
    # Under cas every record serves the cleaner's plan or newer, so the guard never fires.
    r = explore(DnsSystem(Config(), "cas+guarded"), resolve_properties(), Options())
    assert r.verdict == HOLDS
    c = explore(DnsSystem(Config(), "cas"), resolve_properties(), Options())
    assert (r.stats.states, r.stats.transitions) == (c.stats.states, c.stats.transitions)


@pytest.mark.parametrize("name", ["lease", "lease+fencing", "safe-delete", "safe-delete-2step",
                                  "cas+guarded"])
@pytest.mark.parametrize("config", [Config(2, 2, 1), Config(2, 3, 2), Config(3, 2, 1, 0)])
def test_symmetry_agrees_with_plain_search(name, config):
    props = resolve_properties()
    a = explore(DnsSystem(config, name), props, Options(symmetry=True, stop_early=False))
    b = explore(DnsSystem(config, name), props, Options(symmetry=False, stop_early=False))
    assert {k: p.status for k, p in a.properties.items()} == \
        {k: p.status for k, p in b.properties.items()}
    for k, p in a.properties.items():
        if p.trace is not None:
            assert len(p.trace) == len(b.properties[k].trace)
            assert replay(DnsSystem(config, name), p.trace.actions)[1] is None


def run(model, actions):
    states, bad = replay(model, actions)
    assert bad is None, f"step {bad + 1} not enabled: {actions[bad]}"
    return states


def test_lease_excludes_a_second_pick_until_expiry_or_release():
    m = DnsSystem(Config(enactors=2, plans=2, endpoints=1), "lease")
    s = run(m, [Plan(), Pick(0), Plan()])[-1]
    assert Pick(1) not in m.actions(s) and Expire(0) in m.actions(s)
    s = m.next_state(s, Expire(0))
    assert Pick(1) in m.actions(s) and Write(0, 0) in m.actions(s)  # the holder carries on


def test_fencing_rejects_the_older_token_and_tokens_stay_dense():
    m = DnsSystem(Config(enactors=2, plans=2, endpoints=1), "lease+fencing")
    s = run(m, [Plan(), Pick(0), Expire(0), Plan(), Pick(1), Write(1, 0)])[-1]
    assert s.ext == (2,) and s.enactors[0].local == (False, 1)
    assert Fenced(0, 0) in m.actions(s) and Write(0, 0) not in m.actions(s)
    s = m.next_state(s, Fenced(0, 0))
    assert s.enactors[0].local == () and s.dns == (2,)
    # the lone token left is renumbered to 1
    assert s.ext == (1,) and s.enactors[1].local == (True, 1)


def test_safe_delete_refuses_a_deleted_plan_and_2step_deletes_blindly():
    incident = [Plan(), Pick(0), Plan(), Plan(), Pick(1), Write(1, 0), Write(1, 1), Write(1, 2)]
    m = DnsSystem(Config(), "safe-delete")
    s = run(m, incident + [Cleanup(1)])[-1]
    assert s.store == frozenset({2, 3}) and Refuse(0, 0) in m.actions(s)
    m2 = DnsSystem(Config(), "safe-delete-2step")
    s = run(m2, incident + [Scan(1), Write(0, 0), Delete(1)])[-1]
    assert s.dns[0] == 1 and 1 not in s.store  # the empty record


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_shipped_declarations_validate_and_new_steps_describe_themselves(name):
    cls = PROTOCOLS[name]
    cls.validate()
    known = {"plan", "pick", "write", "check", "abort", "cleanup"}
    for action in cls.action_classes:
        assert action.__name__.lower() in known or hasattr(action, "describe"), action
