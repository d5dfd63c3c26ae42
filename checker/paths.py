"""Turning a path of representatives into a concrete run a reader can follow."""

from __future__ import annotations

from .result import Path

__all__ = ["concretize", "replay"]


def concretize(model, reps: list, symmetry: bool = True, last_step_ok=None) -> Path:
    """A concrete run whose j-th state has representative ``reps[j]``.

    Symmetry stores one permuted state per class, so its parent pointers do not form a run
    with stable actor identities. Replaying from the initial state, each step takes an
    enabled action leading into the next class, preferring actors already on stage (a trace
    with fewer actors reads more easily), then the model's action order.
    ``last_step_ok(state, action, nxt)`` filters the final step (a transition invariant's
    counterexample must end in a violating transition).
    """
    rep = model.representative if symmetry else (lambda s: s)
    inits = [s for s in model.init_states() if rep(s) == reps[0]]
    state = inits[0]
    states, actions, actors = [state], [], set()
    for j, target in enumerate(reps[1:], start=1):
        options = [(a, n) for a, n in model.successors(state) if rep(n) == target]
        if j == len(reps) - 1 and last_step_ok is not None:
            options = [(a, n) for a, n in options if last_step_ok(state, a, n)]
        if not options:
            raise AssertionError(f"path of representatives breaks at step {j}")
        known = [o for o in options if o[0].actor in actors or o[0].actor is None]
        action, state = (known or options)[0]
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
