"""The binding of the symbolic forms to the protocols, on EVERY reachable state, MODEL.md's
configuration (3, 4, 3, 1) included (docs/PROVE.md, "One source of truth").

``bind`` asks z3 once per distinct context of each step part (a guard conjunct, a written
cell) instead of once per state; the tests check that this finds exactly what the per-state
comparison (``compare_at``) finds, that every mutant of the forms is caught at MODEL.md's size
too, and that one mutant is caught ONLY there."""

import pytest

from dnsrace.checker.proof.binding import bind, compare_at, explore
from dnsrace.checker.proof.solver import Cell, local_steps
from dnsrace.model import PROTOCOLS, Config, DnsSystem
from dnsrace.model.state import CLEANUP
from dnsrace.model.symbolic import (ENACTOR, F, SYMBOLIC, T, active, exists, forall, implies)

from tests.model.test_symbolic import MUTANTS, _mutate

SMALL = [(1, 3, 2, 0), (2, 2, 2, 0), (2, 3, 1, 1), (1, 4, 3, 2), (3, 2, 1, 0)]
MODEL_MD = (3, 4, 3, 1)

# Plain BFS at MODEL.md's size, no symmetry: MODEL.md (original, recheck, cas, guarded) and
# docs/PROTOCOLS.md (the others), (states, transitions).
PLAIN_COUNTS = {
    "original": (118_763, 336_785), "recheck": (516_544, 1_551_282), "cas": (19_490, 61_294),
    "guarded": (129_907, 373_668), "cas+guarded": (19_490, 61_294),
    "lease": (256_031, 850_211), "lease+fencing": (90_435, 334_108),
    "safe-delete": (112_280, 338_903), "safe-delete-2step": (300_544, 871_905),
}


def _i():
    return T("param", "i", ENACTOR)


def _reads_another_enactor():
    # original's write also waits while another enactor is in cleanup: a step that reads
    # an enactor other than its own
    i = _i()
    return _mutate("original", "write", guard=lambda g: g & forall(
        ENACTOR, lambda j: implies(j.ne(i), F.pc[j].ne(CLEANUP))))


def _three_busy_block_plan_four():
    # cas's write refuses a plan >= 4 while two other enactors are busy too: only states with
    # three enactors and four plans differ, so only MODEL.md's size among the tested ones
    i = _i()
    two_others = exists(ENACTOR, lambda j: exists(ENACTOR, lambda m: (
        j.ne(i) & m.ne(i) & j.ne(m) & active(j) & active(m))))
    return _mutate("cas", "write", guard=lambda g: g & ~((F.held[i] >= 4) & two_others))


ALL_MUTANTS = {
    **MUTANTS,
    "original write: reads another enactor's pc": ("original", _reads_another_enactor),
    "cas write: three busy enactors block plan 4": ("cas", _three_busy_block_plan_four),
}
KIND = {"cas write: strict version check": "write", "original cleanup: keeps everything":
        "cleanup", "original write: skips the last endpoint": "write",
        "cas+guarded pick: no version check": "pick", "lease+fencing: record token not written":
        "write", "guarded cleanup: K read as K+1": "cleanup",
        "original write: reads another enactor's pc": "write",
        "cas write: three busy enactors block plan 4": "write"}


def _size_id(size):
    return "n%d-p%d-e%d-k%d" % size


@pytest.mark.parametrize("size", SMALL, ids=_size_id)
@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_every_reachable_state_at_small_sizes(name, size):
    model = DnsSystem(Config(*size), name)
    b = bind(SYMBOLIC[name], model)
    assert not b.mismatches, "\n".join(map(str, b.mismatches))
    assert b.states > 1 and b.transitions >= b.states - 1


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_every_reachable_state_at_model_md_size_and_every_mutant_caught_there(name):
    model = DnsSystem(Config(*MODEL_MD), name)
    graph = explore(model)
    assert (len(graph.states), len(graph.src)) == PLAIN_COUNTS[name]
    b = bind(SYMBOLIC[name], model, graph)
    assert not b.mismatches, "\n".join(map(str, b.mismatches))
    assert b.contexts < b.states  # z3 evaluations: far fewer than states (docs/PROVE.md)
    for mutant, (of, make) in ALL_MUTANTS.items():
        if of == name:
            caught = bind(make(), model, graph, limit=1, kinds={KIND[mutant]}).mismatches
            assert caught, f"mutant {mutant!r} was not caught at {MODEL_MD}"


def test_one_mutant_differs_only_at_model_md_size():
    form = _three_busy_block_plan_four()
    for size in SMALL:
        assert not bind(form, DnsSystem(Config(*size), "cas")).mismatches, size
    found = bind(form, DnsSystem(Config(*MODEL_MD), "cas"), limit=1).mismatches
    assert found and found[0].only_model and not found[0].only_z3
    assert all(a.kind == "write" for a, _ in found[0].only_model)
    s = found[0].state
    assert s.gen == 4 and all(e.pc != 0 for e in s.enactors)


@pytest.mark.parametrize("mutant", list(ALL_MUTANTS))
def test_contexts_find_exactly_the_states_per_state_comparison_finds(mutant):
    name, make = ALL_MUTANTS[mutant]
    form = make()
    # the per-state path is slow (lease+fencing: a solver call per state for the new token)
    for size in SMALL[1:2] if name == "lease+fencing" else SMALL[1:3]:
        model = DnsSystem(Config(*size), name)
        fast = bind(form, model, limit=1)
        slow = compare_at(form, model)
        assert list(fast.differing) == [m.state for m in slow], size
        assert fast.mismatches == tuple(slow[:1])


def test_steps_read_their_own_enactor_only_except_where_the_protocol_reads_others():
    # the shipped write of original reads the record, the store and its own enactor's cells
    local = local_steps(SYMBOLIC["original"], 3, 4, 3, 1)
    write = next(s for s in local.steps if s.kind == "write" and s.params == {"i": 1, "k": 2})
    assert {c.field for c in write.reads} == {"store", "dns", "pc", "held"}
    assert {c for c in write.reads if c.field in ("pc", "held", "dns")} == {
        Cell("pc", 1), Cell("held", 1), Cell("dns", 2)}
    assert set(write.written) == {Cell("dns", 2), Cell("pc", 1)}
    model = DnsSystem(Config(2, 2, 2, 0), "original")
    assert bind(SYMBOLIC["original"], model).reading_others() == []
    others = bind(_reads_another_enactor(), model).reading_others()
    assert {(k, p["i"]) for k, p, _ in others} == {("write", 0), ("write", 1)}
    assert all(c == Cell("pc", 1 - p["i"]) for _, p, cells in others for c in cells)
    # the lease picks read every enactor's lease: "no other enactor holds a valid lease"
    lease = bind(SYMBOLIC["lease"], DnsSystem(Config(2, 2, 2, 0), "lease")).reading_others()
    assert {k for k, _, _ in lease} == {"pick"}
