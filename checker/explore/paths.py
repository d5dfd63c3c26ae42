"""Turning a path of representatives into a concrete run a reader can follow."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from .result import HOLDS, INCOMPLETE, VIOLATED, Path, PropertyResult

__all__ = ["concretize", "one_trace_search", "property_result", "replay", "shortest_dag"]


def _default_preference(state, action) -> tuple:
    return ()


class _Layers:
    """The breadth-first layers of one model's classes, grown on demand: ``layers[j]``, the
    classes at depth ``j``; ``succ[s]``, the successors of ``s`` one level deeper."""

    def __init__(self, model, rep):
        self.model, self.rep = model, rep
        self.level, self.layers, self.succ = {}, [[]], {}
        for s in model.init_states():
            r = rep(s)
            if r not in self.level:
                self.level[r] = 0
                self.layers[0].append(r)

    def extend_to(self, depth: int) -> None:
        level, layers, succ, rep = self.level, self.layers, self.succ, self.rep
        for d in range(len(layers) - 1, depth):
            nxt_layer = []
            for s in layers[d]:
                out = []
                for _, n in self.model.successors(s):
                    r = rep(n)
                    lv = level.get(r)
                    if lv is None:
                        level[r] = lv = d + 1
                        nxt_layer.append(r)
                    if lv == d + 1:
                        out.append(r)
                succ[s] = out
            layers.append(nxt_layer)


_shared = threading.local()


@contextmanager
def one_trace_search():
    """Within it, in this thread, the readable counterexamples of a run share one
    depth-limited search per (model, symmetry), each violated property's extending it: an
    engine wraps the building of its results in it. Outside, each trace searches afresh."""
    outer = getattr(_shared, "layers", None)
    if outer is None:
        _shared.layers = {}
    try:
        yield
    finally:
        if outer is None:
            _shared.layers = None


def _layers_of(model, rep, symmetry) -> _Layers:
    shared = getattr(_shared, "layers", None)
    if shared is None:
        return _Layers(model, rep)
    key = (id(model), symmetry)  # (the model is held by its layers: the id stays its own)
    got = shared.get(key)
    if got is None:
        got = shared[key] = _Layers(model, rep)
    return got


def shortest_dag(model, depth: int, rep, is_target, last_step_ok=None,
                 layers: _Layers | None = None) -> list:
    """``good[j]``: the classes at breadth-first depth ``j`` that lie on some shortest
    counterexample of length ``depth``, i.e. from which a target (a class at depth ``depth``
    with ``is_target``, or with ``last_step_ok``: a violating step out of depth ``depth - 1``)
    is reachable in ``depth - j`` steps, each going one level deeper.

    Explores the model breadth-first again, but only to ``depth``: counterexamples are
    short, so this costs a fraction of the run that found them. ``layers``: that exploration
    so far (of the same model and ``rep``), reused and extended."""
    if layers is None:
        layers = _Layers(model, rep)
    layers.extend_to(depth)
    succ, layers = layers.succ, layers.layers
    good = [set() for _ in range(depth + 1)]
    if last_step_ok is not None:
        good[depth] = None  # the last step is judged on the transition, not the class
        good[depth - 1] = {s for s in layers[depth - 1]
                           if any(last_step_ok(s, a, n) for a, n in model.successors(s))}
        top = depth - 1
    else:
        good[depth] = {s for s in layers[depth] if is_target(s)}
        top = depth
    for d in range(top - 1, -1, -1):
        good[d] = {s for s in layers[d] if any(t in good[d + 1] for t in succ[s])}
    return good


def concretize(model, reps: list, symmetry: bool = True, last_step_ok=None,
               is_target=None) -> Path:
    """The most readable shortest counterexample of the same length as ``reps``.

    ``reps`` is the engine's path of representatives (``reps[-1]`` violates the property).
    Among every shortest counterexample (ending in a class with ``is_target``, by default
    the class ``reps[-1]``; with ``last_step_ok(state, action, nxt)``, ending in a violating
    step instead) this returns the one whose steps are lexicographically smallest under the
    key ``(brings a new actor on stage, model.step_preference(state, action), position in
    the model's action order)``: fewest actors introduced as late as possible, then what the
    model calls readable (for dnsrace: Planner steps as late as possible), then a stable
    tie-break. The engine stays generic: the model supplies only ``step_preference`` (and
    may omit it) and actions only ``actor``.

    The result is concrete: symmetry stores one permuted state per class, so its parent
    pointers do not form a run with stable actor identities; this replays from the initial
    state, each step an enabled action of the model.
    """
    rep = model.representative if symmetry else (lambda s: s)
    depth = len(reps) - 1
    if is_target is None:
        goal = reps[-1]
        is_target = lambda s: s == goal  # noqa: E731
    prefer = getattr(model, "step_preference", None) or _default_preference
    state = model.init_states()[0]
    if depth == 0:
        return Path((state,), ())
    good = shortest_dag(model, depth, rep, is_target, last_step_ok,
                        _layers_of(model, rep, symmetry))
    states, actions, actors = [state], [], set()
    for j in range(1, depth + 1):
        options = []
        for position, (action, nxt) in enumerate(model.successors(state)):
            if j == depth and last_step_ok is not None:
                ok = last_step_ok(state, action, nxt)
            else:
                ok = rep(nxt) in good[j]
            if ok:
                new_actor = action.actor is not None and action.actor not in actors
                options.append(((new_actor, prefer(state, action), position), action, nxt))
        if not options:
            raise AssertionError(f"no shortest counterexample continues at step {j}")
        _, action, state = min(options, key=lambda o: o[0])
        actors.add(action.actor)
        states.append(state)
        actions.append(action)
    return Path(tuple(states), tuple(actions))


def replay(model, actions) -> tuple[list, int | None]:
    """Executes ``actions`` from the first initial state. Returns the states reached and the
    index of the first action that is not enabled (None when all are)."""
    state = model.init_states()[0]
    states = [state]
    for j, action in enumerate(actions):
        nxt = model.next_state(state, action)
        if nxt is None:
            return states, j
        states.append(nxt)
        state = nxt
    return states, None


def property_result(prop, model, reps, symmetry: bool, exhausted: bool,
                    on_transition: bool = False) -> PropertyResult:
    """What every engine reports for ``prop``: ``reps`` is its path of the model's
    representatives to the violation (None when none was found); with ``on_transition``
    the last step of ``reps`` is the violating transition. The trace is the most readable
    shortest counterexample: any violating state at that depth qualifies for a state
    invariant, the found state for a graph property."""
    if reps is None:
        return PropertyResult(prop.name, prop.kind, HOLDS if exhausted else INCOMPLETE)
    if on_transition:
        trace = concretize(model, reps, symmetry,
                           last_step_ok=lambda s, a, n: not prop.holds(model, s, a, n))
    else:
        target = (lambda r: not prop.holds(model, r)) \
            if prop.kind == "state invariant" else None
        trace = concretize(model, reps, symmetry, is_target=target)
    return PropertyResult(prop.name, prop.kind, VIOLATED, trace,
                          prop.explain(model, list(trace.states)))
