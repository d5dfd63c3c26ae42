"""Readable counterexamples: among every shortest counterexample, the engine returns the
lexicographically best under (new actor, the model's step_preference, action order)."""

from __future__ import annotations

from dataclasses import dataclass

from dnsrace.checker import Options, explore, replay
from dnsrace.checker.explore.paths import concretize
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem


@dataclass(frozen=True)
class Step:
    actor: object
    kind: str = "step"


class Race:
    """A toy model, nothing to do with DNS: actors 0..n-1 each count to ``goal``; a
    ``clock`` actor (actor None) ticks. The state is (clock, counts). Bad: any count hits
    ``goal``. Every actor is interchangeable; each counter and the clock need ``goal``
    steps, so every shortest counterexample has ``goal`` steps of one single actor."""

    symmetric = False
    action_kinds = {"step": Step}

    def __init__(self, n=3, goal=2):
        self.n, self.goal = n, goal

    def init_states(self):
        return [(0, (0,) * self.n)]

    def successors(self, s):
        clock, counts = s
        out = [(Step(None), (clock + 1, counts))] if clock < self.goal else []
        for i in range(self.n):
            if counts[i] < self.goal:
                out.append((Step(i), (clock, counts[:i] + (counts[i] + 1,) + counts[i + 1:])))
        return out

    def step_preference(self, s, a):
        return (a.actor is None,)

    def representative(self, s):
        return s


def bad(s):
    return any(c == 2 for c in s[1])


def test_the_same_actor_and_a_stable_tie_break():
    model = Race()
    engine_path = [(0, (0, 0, 0)), (0, (0, 0, 1)), (0, (0, 0, 2))]  # what BFS might return
    path = concretize(model, engine_path, symmetry=False, is_target=bad)
    assert [a.actor for a in path.actions] == [0, 0]  # one actor, the first in order
    assert len(path) == 2


def test_fewer_actors_come_before_the_models_preference():
    """If the clock alone also reaches a bad state, that run has no actor on stage at all:
    it wins although the model prefers clock steps late."""
    path = concretize(Race(), [(0, (0, 0, 0)), (0, (0, 0, 1)), (0, (0, 0, 2))],
                      symmetry=False, is_target=lambda s: bad(s) or s[0] == 2)
    assert [a.actor for a in path.actions] == [None, None]


def test_without_a_target_predicate_the_engines_end_state_is_kept():
    path = concretize(Race(), [(0, (0, 0, 0)), (0, (0, 0, 1)), (0, (0, 0, 2))],
                      symmetry=False)
    assert path.states[-1] == (0, (0, 0, 2)) and [a.actor for a in path.actions] == [2, 2]


def test_a_transition_counterexample_ends_in_a_violating_step():
    model = Race()
    path = concretize(model, [(0, (0, 0, 0)), (1, (0, 0, 0))], symmetry=False,
                      last_step_ok=lambda s, a, n: a.actor is None)
    assert [a.actor for a in path.actions] == [None]


def test_the_dns_model_puts_planner_steps_late_and_traces_stay_shortest():
    model = DnsSystem(Config(3, 4, 3, 1), "original")
    result = explore(model, resolve_properties(["no-dangling", "monotonic"]), Options())
    nd = result.properties["no-dangling"].trace
    assert len(nd) == 10  # MODEL.md: still a shortest counterexample
    assert replay(model, nd.actions)[1] is None  # and it replays
    kinds = [(a.kind, a.actor) for a in nd.actions]
    assert kinds == [("plan", None), ("pick", 0), ("plan", None), ("plan", None), ("pick", 1),
                     ("write", 1), ("write", 0), ("write", 1), ("write", 1), ("cleanup", 1)]
    assert len({a.actor for a in nd.actions if a.actor is not None}) == 2


def test_shared_layers_give_every_property_the_trace_a_fresh_search_gives():
    """A run's violated properties share one depth-limited search (paths.one_trace_search):
    the traces are those of a search made afresh for each, whichever depth came first."""
    from dnsrace.checker.explore import paths

    model = DnsSystem(Config(3, 3, 2, 1), "original")
    props = resolve_properties()
    shared = explore(model, props, Options(stop_early=False))
    for name, result in shared.properties.items():
        assert result.trace is not None
        reps = [model.representative(s) for s in result.trace.states]
        prop = next(p for p in props if p.name == name)
        fresh = paths.property_result(prop, model, reps, True, True,  # (no sharing here)
                                      on_transition=prop.kind == "transition invariant")
        assert fresh.trace == result.trace


def test_the_shared_search_lives_as_long_as_its_run():
    from dnsrace.checker.explore import paths

    model = DnsSystem(Config(2, 2, 1, 1), "original")
    with paths.one_trace_search():
        first = paths._layers_of(model, model.representative, True)
        with paths.one_trace_search():  # (nested: the same one)
            assert paths._layers_of(model, model.representative, True) is first
        assert paths._layers_of(model, model.representative, True) is first
        assert paths._layers_of(model, model.representative, False) is not first
    assert paths._shared.layers is None
    assert paths._layers_of(model, model.representative, True) is not first
