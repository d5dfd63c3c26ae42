"""The derived vector model (model/derived/) against the object BFS, for every shipped
protocol and the README's example: same counts without reductions, same verdicts, shortest
lengths and traces with them; and the mechanics (sentinels, widening, process copies)."""

import copy
import pathlib
from dataclasses import dataclass
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker import Options, explore
from dnsrace.checker.explore.engines import EngineOptions, run
from dnsrace.checker.explore.vector import explore as vexplore
from dnsrace.invariants import resolve_properties
from dnsrace.model import (Action, Config, DnsSystem, Enactor, Original, Pick, State,
                           load_protocol)
from dnsrace.model.derived import DerivedModel, ProcessLocalMiss, vector_model
from dnsrace.model.loader import PROTOCOLS

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "verify_then_cleanup.py"
SPECS = list(PROTOCOLS) + [f"{EXAMPLE}:VerifyThenCleanup"]
PROPERTY_SETS = [(), ("no-dangling",), ("monotonic",), ("recoverable",),
                 ("no-dangling", "monotonic")]

small_configs = st.builds(
    lambda n, p, e, k: Config(n, p, e, k),
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


def system(spec, config):
    return DnsSystem(config, load_protocol(spec))


def summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.coverage,
            r.stats.violations,
            {k: (v.status, v.trace.actions if v.trace else None)
             for k, v in r.properties.items()})


def checked(model):
    """A derived model that evaluates every memoised step twice (determinism)."""
    return DerivedModel(model, check_determinism=True)


def test_every_shipped_protocol_and_the_example_are_covered():
    assert len(SPECS) == 10


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.sampled_from(SPECS), st.booleans(), st.sampled_from(PROPERTY_SETS))
def test_derived_vector_search_equals_object_bfs(config, spec, symmetry, names):
    """No partial-order reduction: the same graph, so every count, verdict and trace."""
    model = system(spec, config)
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=False)
    got = vexplore(model, props, options, vectorize=checked)
    assert summary(got) == summary(explore(model, props, options))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.sampled_from(SPECS), st.sampled_from(PROPERTY_SETS))
def test_default_engine_keeps_verdicts_and_shortest_lengths(config, spec, names):
    """The front end's defaults (symmetry, partial-order reduction where proven)."""
    model = system(spec, config)
    props = resolve_properties(names)
    want = explore(model, props, Options())
    got, info = run(model, props, Options(), engine=EngineOptions(), vectorize=vector_model)
    assert info.engine == "vector"
    for name, pr in want.properties.items():
        assert got.properties[name].status == pr.status, name
        assert (len(got.properties[name].trace) if got.properties[name].trace else None) == \
            (len(pr.trace) if pr.trace else None), name


@pytest.mark.parametrize("spec", SPECS)
def test_defaults_reproduce_the_object_bfs_at_n2_p3(spec):
    model = system(spec, Config(2, 3, 2, 1))
    props = resolve_properties()
    options = Options(symmetry=False, stop_early=False)
    assert summary(vexplore(model, props, options, vectorize=vector_model)) == \
        summary(explore(model, props, options))


def test_model_md_figures_on_the_derived_path():
    """MODEL.md's reference table (N=3 P=4 E=3 K=1, no reduction), on the derived model."""
    figures = {"original": (118_763, 336_785, 25_231, 10), "recheck": (516_544, 1_551_282, 88_024, 14),
               "cas": (19_490, 61_294, 0, None), "guarded": (129_907, 373_668, 17_627, 10)}
    props = resolve_properties(["no-dangling", "monotonic"])
    for name, (states, transitions, dangling, shortest) in figures.items():
        r = vexplore(DnsSystem(Config(), name), props, Options(symmetry=False, stop_early=False),
                     vectorize=DerivedModel)
        assert (r.stats.states, r.stats.transitions) == (states, transitions), name
        assert r.stats.violations["no-dangling"] == dangling
        nd = r.properties["no-dangling"].trace
        assert (len(nd) if nd else None) == shortest


@pytest.mark.parametrize("spec", ["lease", "lease+fencing"])
def test_steps_that_read_other_enactors_local_data_are_memoised_with_it(spec):
    """``lease``'s pick looks at every lease; ``lease+fencing`` renumbers every token."""
    model = DnsSystem(Config(3, 3, 2, 1), spec)
    made = []
    r = vexplore(model, resolve_properties(), Options(stop_early=False),
                 vectorize=lambda m: made.append(checked(m)) or made[-1])
    assert summary(r) == summary(explore(model, resolve_properties(), Options(stop_early=False)))
    assert made[-1].notes() == []  # no slow path taken


def test_steps_that_read_more_of_other_enactors_are_evaluated_on_the_real_state():
    model = DnsSystem(Config(3, 3, 2, 1), Leader())
    made = []
    r = vexplore(model, resolve_properties(), Options(stop_early=False),
                 vectorize=lambda m: made.append(DerivedModel(m)) or made[-1])
    assert summary(r) == summary(explore(model, resolve_properties(), Options(stop_early=False)))
    assert any("reading other enactors" in n for n in made[-1].notes())


class Leader(Original):
    """Only enactor 0 may pick while another one is busy: index-dependent, not symmetric."""

    name = "leader"
    symmetric = False

    def pick(self, c, s, i):
        if i != 0 and any(e.pc for e in s.enactors):
            return ()
        return super().pick(c, s, i)


class Cheat(Original):
    """A step that hides its look at another enactor behind a broad except."""

    name = "cheat"

    def pick(self, c, s, i):
        try:
            busy = s.enactors[(i + 1) % len(s.enactors)].pc != 0
        except Exception:  # noqa: BLE001 - the sentinel must be noticed anyway
            busy = False
        return () if busy else super().pick(c, s, i)


@pytest.mark.parametrize("proto", [Leader(), Cheat()])
@pytest.mark.parametrize("symmetry", [False, True])
def test_hidden_reads_of_other_enactors_are_caught(proto, symmetry):
    model = DnsSystem(Config(3, 3, 2, 1), proto)
    props = resolve_properties()
    options = Options(symmetry=symmetry, stop_early=False)
    assert summary(vexplore(model, props, options, vectorize=DerivedModel)) == \
        summary(explore(model, props, options))


class Coin(Original):
    """Not deterministic: a step that changes its answer between calls."""

    name = "coin"
    flips = 0

    def pick(self, c, s, i):
        Coin.flips += 1
        return super().pick(c, s, i) if Coin.flips % 2 else ()


def test_a_nondeterministic_step_is_reported_in_checking_mode():
    with pytest.raises(AssertionError, match="deterministic"):
        vexplore(DnsSystem(Config(2, 2, 1, 1), Coin()), resolve_properties(["no-dangling"]),
                 Options(), vectorize=checked)


class Sorted(Original):
    """Overrides canonical (the same representative, computed differently)."""

    name = "sorted"

    def canonical(self, s):
        return s._replace(enactors=tuple(sorted(s.enactors, key=lambda e: (e.pc, e.held))))


def test_an_overridden_canonical_is_used_on_decoded_states():
    model = DnsSystem(Config(3, 3, 2, 1), Sorted())
    props = resolve_properties()
    made = []
    got = vexplore(model, props, Options(stop_early=False),
                   vectorize=lambda m: made.append(DerivedModel(m)) or made[-1])
    assert summary(got) == summary(explore(model, props, Options(stop_early=False)))
    assert any("canonical" in n for n in made[-1].notes())


def test_fields_too_narrow_for_the_tables_are_widened_and_the_search_restarts():
    model = DnsSystem(Config(3, 3, 2, 1), "lease+fencing")
    props = resolve_properties()
    narrow = vexplore(model, props, Options(stop_early=False),
                      vectorize=lambda m: DerivedModel(m, record_bits=2))
    assert summary(narrow) == summary(explore(model, props, Options(stop_early=False)))


def test_a_copy_in_another_process_refuses_to_intern_new_values():
    model = DnsSystem(Config(2, 2, 1, 1), "cas")
    vm = DerivedModel(model)
    keys = vm.init_keys()
    vm.prepare(keys)
    copy = pickle.loads(pickle.dumps(vm))
    assert np.array_equal(copy.expand(keys)[2], vm.expand(keys)[2])  # prepared: fine
    with pytest.raises(ProcessLocalMiss):
        copy.encode(State(2, frozenset({1, 2}), (0,), (Enactor(0, 0), Enactor(0, 0))))


@pytest.mark.parametrize("spec", ["lease", "lease+fencing", "cas+guarded", "safe-delete-2step"])
def test_worker_processes_agree_with_one_process(spec):
    model = system(spec, Config(3, 3, 2, 1))
    props = resolve_properties()
    options = Options(stop_early=False)
    one, _ = run(model, props, options, engine=EngineOptions(), vectorize=vector_model)
    two, info = run(model, props, options, engine=EngineOptions(workers=2),
                    vectorize=vector_model)
    assert info.workers == 2 and summary(one) == summary(two)


def test_worker_processes_at_a_size_where_prepare_meets_new_local_data_late():
    """lease at N=2 P=3: the records that prepare() interns while resolving local views
    carry local data the copies must know too (it crashed with ProcessLocalMiss)."""
    props = resolve_properties()
    two, _ = run(system("lease", Config(2, 3, 2, 1)), props, Options(),  # a fresh model
                 engine=EngineOptions(workers=2), vectorize=vector_model)
    one, _ = run(system("lease", Config(2, 3, 2, 1)), props, Options(),
                 engine=EngineOptions(), vectorize=vector_model)
    assert summary(one) == summary(two)


class WholeSteps(Original):
    """Overrides steps: each state's steps are evaluated whole."""

    name = "whole-steps"

    def steps(self, c, s):
        return super().steps(c, s)


def test_worker_processes_on_a_protocol_that_overrides_steps():
    """prepare() records whole evaluations (it recursed forever: RecursionError)."""
    props = resolve_properties()
    two, _ = run(DnsSystem(Config(2, 3, 2, 1), WholeSteps()), props, Options(),
                 engine=EngineOptions(workers=2), vectorize=vector_model)
    want = explore(DnsSystem(Config(2, 3, 2, 1), WholeSteps()), props, Options())
    assert [(p.status, len(p.trace) if p.trace else None) for p in two.properties.values()] \
        == [(p.status, len(p.trace) if p.trace else None) for p in want.properties.values()]


def test_partial_order_reduction_stays_off_where_unproven_and_the_output_says_why():
    model = system(f"{EXAMPLE}:VerifyThenCleanup", Config(2, 3, 2, 1))
    r, info = run(model, resolve_properties(), Options(), engine=EngineOptions(),
                  vectorize=vector_model)
    assert info.engine == "vector" and not info.por
    assert any("proven only for original, recheck, cas, guarded and cas+guarded" in n for n in info.notes)
    _, info = run(DnsSystem(Config(2, 3, 2, 1), "cas"), resolve_properties(), Options(),
                  engine=EngineOptions(), vectorize=vector_model)
    assert info.por


def test_actions_of_an_undeclared_kind_still_expand():
    class Quiet(Original):
        name = "quiet"
        action_classes = (Pick,)  # declares less than it does

    model = DnsSystem(Config(2, 2, 1, 1), Quiet())
    props = resolve_properties(["no-dangling"])
    got = vexplore(model, props, Options(symmetry=False), vectorize=DerivedModel)
    want = explore(model, props, Options(symmetry=False))
    assert (got.stats.states, got.stats.transitions, got.verdict) == \
        (want.stats.states, want.stats.transitions, want.verdict)
    # undeclared kinds are counted under their own names, like the object engine does
    assert got.stats.coverage == want.stats.coverage == \
        {"pick": 20, "plan": 13, "write": 44, "cleanup": 36}
    assert got.stats.never_fired == want.stats.never_fired == []


class Many(Original):
    """Undeclared kinds beyond the free kind slots: the last ones count as "other"."""

    name = "many"
    action_classes = (Pick,)

    def planner_steps(self, c, s):
        base = super().planner_steps(c, s)
        return tuple((kind(), n) for kind in _KINDS[:s.gen + 1] for _, n in base)


_KINDS = [dataclass(frozen=True, slots=True)(type(f"Kind{j}", (Action,), {})) for j in range(9)]


def test_undeclared_kinds_beyond_the_free_slots_count_as_other():
    model = DnsSystem(Config(1, 8, 1, 1), Many())
    got = vexplore(model, resolve_properties(), Options(symmetry=False), vectorize=DerivedModel)
    want = explore(model, resolve_properties(), Options(symmetry=False))
    assert got.stats.transitions == want.stats.transitions
    named = {k: v for k, v in got.stats.coverage.items() if k != "other"}
    assert all(want.stats.coverage[k] == v for k, v in named.items())
    assert got.stats.coverage["other"] == sum(v for k, v in want.stats.coverage.items()
                                              if k not in named)
    assert len(named) == 7  # 8 slots: pick, six met in the order of the search, "other"


@dataclass(frozen=True, slots=True)
class Grab(Action):
    """A pick whose action names its enactor by another field."""

    who: int


class Named(Original):
    name = "named"
    action_classes = Original.action_classes + (Grab,)

    def pick(self, c, s, i):
        return tuple((Grab(i), n) for _, n in super().pick(c, s, i))


@pytest.mark.parametrize("symmetry", [False, True])
def test_steps_whose_actions_cannot_be_renamed_are_memoised_per_position(symmetry):
    model = DnsSystem(Config(3, 3, 2, 1), Named())
    props = resolve_properties()
    options = Options(symmetry=symmetry, stop_early=False)
    assert summary(vexplore(model, props, options, vectorize=DerivedModel)) == \
        summary(explore(model, props, options))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs, st.booleans(), st.sampled_from(PROPERTY_SETS))
def test_partial_order_reduction_keeps_cas_guarded_verdicts(config, symmetry, names):
    """cas+guarded's steps are cas's and guarded's: the reduction's proof covers it."""
    model = DnsSystem(config, "cas+guarded")
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=False)
    plain = explore(model, props, options)
    reduced = vexplore(model, props, options, vectorize=vector_model, por=True)
    assert reduced.por
    assert {k: v.status for k, v in reduced.properties.items()} == \
        {k: v.status for k, v in plain.properties.items()}


@pytest.mark.parametrize("config", [Config(3, 4, 2, 1), Config(2, 4, 3, 2), Config(4, 3, 2, 0)])
def test_partial_order_reduction_on_larger_cas_guarded_systems(config):
    model, props = DnsSystem(config, "cas+guarded"), resolve_properties()
    plain = vexplore(model, props, Options(stop_early=False), vectorize=vector_model)
    reduced = vexplore(model, props, Options(stop_early=False), vectorize=vector_model, por=True)
    assert reduced.por and reduced.stats.explored_states < plain.stats.explored_states
    assert {k: v.status for k, v in reduced.properties.items()} == \
        {k: v.status for k, v in plain.properties.items()}


def test_a_vector_model_giving_up_mid_run_falls_back_to_the_object_engine():
    from dnsrace.model.derived import TooManyActions

    class Tiny(DerivedModel):
        def expand(self, keys, symmetry=False, por=False):
            raise TooManyActions("more than 4096 distinct actions")

    model = DnsSystem(Config(2, 2, 1, 1), "cas")
    props = resolve_properties()
    r, info = run(model, props, Options(), engine=EngineOptions(), vectorize=Tiny)
    assert info.engine == "object" and "4096" in info.notes[0]
    assert summary(r) == summary(explore(model, props, Options()))


def copy_of(vm):
    """A copy as another process holds it (deepcopy: a user's file defines local classes that
    only Ray's cloudpickle ships)."""
    return copy.deepcopy(vm)


@pytest.mark.parametrize("spec", SPECS)
def test_a_copy_says_which_keys_it_cannot_expand_and_the_owner_prepares_just_those(spec):
    """``unprepared`` (the cluster engine's per-level step): a copy flags the frontier keys
    it lacks memo entries or ids for; once the owner has prepared only those, a fresh copy
    expands the whole frontier as the owner does. Successors' ``normalize`` is outside the
    mask (the engine retries a chunk then), so only such a protocol may still miss."""
    for symmetry in (False, True):
        vm = DerivedModel(system(spec, Config(2, 3, 2, 1)))
        frontier = vm.init_keys()
        assert not vm.unprepared(frontier, symmetry).any()  # the owner interns itself
        clone = copy_of(vm)
        seen, skipped = set(), 0
        for _ in range(8):
            miss = clone.unprepared(frontier, symmetry)
            skipped += int((~miss).sum())
            vm.prepare(frontier[miss], symmetry)
            clone = copy_of(vm)
            assert not clone.unprepared(frontier, symmetry).any()
            try:
                got = clone.expand(frontier, symmetry)
            except ProcessLocalMiss:
                assert vm.normalizes or vm.python_canonical, spec
                break
            want = vm.expand(frontier, symmetry)
            assert all(np.array_equal(a, b) for a, b in zip(got, want))
            seen.update(frontier.tolist())
            frontier = np.array(sorted(set(want[2].tolist()) - seen), dtype=np.int64)
        assert skipped > 0  # some keys needed nothing new: the mask is not all-True


def test_an_unprepared_key_really_cannot_be_expanded_by_a_copy():
    vm = DerivedModel(DnsSystem(Config(2, 2, 1, 1), "cas"))
    keys = vm.init_keys()
    clone = copy_of(vm)
    assert clone.unprepared(keys).all()
    with pytest.raises(ProcessLocalMiss):
        clone.expand(keys)


def _levels(vm, depth):
    """The canonical keys of the first ``depth`` breadth-first levels."""
    front, seen, out = vm.canonical(vm.init_keys()), set(), []
    for _ in range(depth):
        front = np.array(sorted(set(front.tolist()) - seen), dtype=np.int64)
        if not len(front):
            break
        seen.update(front.tolist())
        out.append(front)
        front = vm.expand(front, True)[2]
    return np.concatenate(out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(lambda n, p, e, k: Config(n, p, e, k), st.integers(2, 4), st.integers(1, 4),
                 st.integers(1, 3), st.integers(0, 2)), st.sampled_from(SPECS))
def test_successors_made_canonical_as_built_equal_the_sorting_network(config, spec):
    """expand(symmetry=True) moves each step's one new record into place; it must give
    exactly canonical() of the successors built plainly, transition by transition."""
    vm = vector_model(system(spec, config))
    if not vm.symmetric:
        return
    while True:
        try:
            keys = _levels(vm, 12)
            src, aids, nxt = vm.expand(keys, True)
            plain_src, plain_aids, plain = vm.expand(keys, False)
            break
        except Exception as exc:  # a field outgrew its bits: as the engines do, widen
            if not getattr(exc, "widen", False):
                raise
            vm = vm.widened()
    assert np.array_equal(src, plain_src) and np.array_equal(aids, plain_aids)
    assert np.array_equal(nxt, vm.canonical(plain))


def test_a_source_that_is_not_canonical_gets_the_sorting_network():
    vm = vector_model(system("original", Config(3, 3, 2, 1)))
    keys = _levels(vm, 8)
    w, wm = vm.w, (1 << vm.w) - 1
    swapped = (keys & ~vm._emask) | ((keys & wm) << w) | ((keys >> w) & wm) | \
        (keys & (vm._emask & ~((1 << (2 * w)) - 1)))  # records 0 and 1 exchanged
    odd = swapped[vm.canonical(swapped) != swapped]
    assert len(odd)
    assert vm._insertion(odd) is None
    assert np.array_equal(vm.expand(odd, True)[2], vm.canonical(vm.expand(odd, False)[2]))
