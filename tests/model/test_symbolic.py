"""The symbolic forms (model/symbolic.py) are bound to the protocols: at finite sizes, for
every reachable state, the successors z3 computes from the form equal the explicit model's
successors exactly (docs/PROVE.md, "One source of truth"). A mutant form must be caught.

This is the per-state comparison; tests/checker/proof/test_binding.py runs the same
comparison on every reachable state at MODEL.md's size (3, 4, 3, 1) too, with one z3
evaluation per distinct context, and checks it agrees with this one."""

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnsrace.checker.proof.binding import compare_at
from dnsrace.model import PROTOCOLS, Config, DnsSystem, Original
from dnsrace.model.state import APPLY0, CLEANUP
from dnsrace.model.symbolic import (E, F, K, SYMBOLIC, NoSymbolicForm, T, decode_state,
                                    encode_state, ite, symbolic_form)

# Every reachable state at these sizes (N, P, E, K): one to three enactors, plans, endpoints,
# keep 0 to 2.
EXHAUSTIVE = [(1, 3, 2, 0), (2, 2, 2, 0), (2, 3, 1, 1), (1, 4, 3, 2)]
THREE_ENACTORS = (3, 2, 1, 0)  # for the protocols whose graph is small there
SMALL_AT_THREE = ["original", "cas", "guarded", "cas+guarded", "safe-delete"]


def _mismatches(name, size, states=None, limit=3):
    model = DnsSystem(Config(*size), name)
    return compare_at(SYMBOLIC[name], model, states, limit=limit)


def test_every_shipped_protocol_has_a_symbolic_form():
    assert set(SYMBOLIC) == set(PROTOCOLS)
    for name, cls in PROTOCOLS.items():
        assert symbolic_form(cls()) is SYMBOLIC[name]


def test_a_user_protocol_has_none():
    class Mine(Original):
        name = "mine"

    with pytest.raises(NoSymbolicForm, match="no symbolic form"):
        symbolic_form(Mine())


@pytest.mark.parametrize("size", EXHAUSTIVE, ids=lambda s: "n%d-p%d-e%d-k%d" % s)
@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_successors_equal_on_every_reachable_state(name, size):
    found = _mismatches(name, size)
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize("name", SMALL_AT_THREE)
def test_successors_equal_on_every_reachable_state_with_three_enactors(name):
    found = _mismatches(name, THREE_ENACTORS)
    assert not found, "\n".join(map(str, found))


def _walk_states(model, seed, walks=12, depth=40):
    """Reachable states along seeded random runs (the full graph is too big to enumerate here)."""
    rng = random.Random(seed)
    seen = dict.fromkeys(model.init_states())
    for _ in range(walks):
        s = model.init_states()[0]
        for _ in range(depth):
            succ = model.successors(s)
            if not succ:
                break
            s = rng.choice(succ)[1]
            seen[s] = None
    return list(seen)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PROTOCOLS)), n=st.integers(1, 4), p=st.integers(1, 5),
       e=st.integers(1, 4), k=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_successors_equal_on_random_configurations(name, n, p, e, k, seed):
    model = DnsSystem(Config(n, p, e, k), name)
    found = compare_at(SYMBOLIC[name], model, _walk_states(model, seed, walks=3, depth=30),
                       limit=1)
    assert not found, "\n".join(map(str, found))


def test_encode_and_decode_are_inverse_on_reachable_states():
    for name in PROTOCOLS:
        model = DnsSystem(Config(2, 3, 2, 1), name)
        form, c = SYMBOLIC[name], model.config
        for s in _walk_states(model, seed=3, walks=4):
            assert decode_state(form, model.protocol, c, encode_state(form, model.protocol, c, s)) == s


# -- test-only mutants: each changes the symbolic relation a little; the binding must see it --
def _mutate(name, kind, guard=None, updates=None):
    form = SYMBOLIC[name]
    steps = tuple(dataclasses.replace(s, guard=guard(s.guard) if guard else s.guard,
                                      updates=updates(dict(s.updates)) if updates else s.updates)
                  if s.kind == kind else s for s in form.steps)
    return dataclasses.replace(form, steps=steps)


def _strict_version_check(g):
    # cas's write "dns[k] <= held" becomes "dns[k] < held" (re-writing an equal plan aborts)
    rest, check = g.args
    assert check.op == "<="
    return T("and", rest, T("<", *check.args))


def _keep_one_more(u):
    u["store"] = type(u["store"])("lambda", u["store"].args[0],
                                  u["store"].args[1] | F.store[u["store"].args[0]])
    return u


def _skip_last_endpoint(u):
    # after APPLY(k) go to cleanup one endpoint early
    i = u["pc"].args[1]
    k = u["dns"].args[1]
    u["pc"] = F.pc.set(i, ite(k + 2 < E, APPLY0 + k + 1, CLEANUP))
    return u


MUTANTS = {
    "cas write: strict version check": ("cas", lambda: _mutate(
        "cas", "write", guard=_strict_version_check)),
    "original cleanup: keeps everything": ("original", lambda: _mutate(
        "original", "cleanup", updates=_keep_one_more)),
    "original write: skips the last endpoint": ("original", lambda: _mutate(
        "original", "write", updates=_skip_last_endpoint)),
    "cas+guarded pick: no version check": ("cas+guarded", lambda: _mutate(
        "cas+guarded", "pick", guard=lambda g: g.args[0].args[0])),
    "lease+fencing: record token not written": ("lease+fencing", lambda: _mutate(
        "lease+fencing", "write", updates=lambda u: {k: v for k, v in u.items() if k != "rtok"})),
    "guarded cleanup: K read as K+1": ("guarded", lambda: _mutate(
        "guarded", "cleanup", updates=lambda u: {**u, "store": _shift_floor(u["store"])})),
}


def _shift_floor(lam):
    assert "size('K')" in repr(lam)

    def sub(t):
        if isinstance(t, T):
            if t.op == "size" and t.args == ("K",):
                return K + 1
            return T(t.op, *(sub(a) for a in t.args))
        return t
    return sub(lam)


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_a_mutant_symbolic_relation_is_caught(mutant):
    name, make = MUTANTS[mutant]
    form = make()
    caught = []
    for size in EXHAUSTIVE:
        model = DnsSystem(Config(*size), name)
        caught += compare_at(form, model, limit=1)
        if caught:
            break
    assert caught, f"mutant {mutant!r} was not caught at sizes {EXHAUSTIVE}"


# -- the properties and the shipped invariants, evaluated by z3 on reachable states ----------
@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_symbolic_properties_agree_with_invariants_and_shipped_invariants_hold(name):
    from dnsrace.checker.proof.binding import reachable
    from dnsrace.checker.proof.prove import property_conjunct
    from dnsrace.checker.proof.solver import successors
    from dnsrace.invariants import Monotonic, NoDangling

    size = (2, 2, 2, 0)
    model = DnsSystem(Config(*size), name)
    form, c = SYMBOLIC[name], model.config
    z3_at = successors(form, *size)
    nd, mono = property_conjunct("no-dangling"), property_conjunct("monotonic")
    shipped = [x for x in form.candidates if x.name in form.invariant]
    enc = lambda s: encode_state(form, model.protocol, c, s)  # noqa: E731
    for s in reachable(model):
        assert z3_at.holds(nd, enc(s)) == NoDangling().holds(model, s), s
        for x in shipped:  # an inductive invariant holds in every reachable state
            assert z3_at.holds(x, enc(s)), (x.name, s)
        for a, t in model.successors(s):
            raw = enc(t)
            assert z3_at.holds(mono, enc(s), raw) == Monotonic().holds(model, s, a, t), (s, a)
