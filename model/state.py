"""States of the Planner/Enactor/Route 53 system: immutable, hashable tuples."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["State", "Enactor", "IDLE", "CLEANUP", "APPLY0", "initial_state"]

# Program counters are small ints so states hash and sort fast.
# A protocol may define more phases above its base ones (see protocols.Protocol.phase_name).
IDLE = 0
CLEANUP = 1
APPLY0 = 2  # APPLY(k) is APPLY0 + k


class Enactor(NamedTuple):
    """One enactor: where it is (``pc``), the plan it is applying (``held``, 0 when idle),
    and ``local``, extra data a protocol may keep per enactor (``()`` by default)."""

    pc: int
    held: int
    local: tuple = ()


class State(NamedTuple):
    """``gen``: plans generated; ``store``: plans not yet deleted; ``dns[e]``: the plan
    Route 53 serves for endpoint e (0 = never written); ``enactors``; ``ext``: extra
    global data a protocol may keep (``()`` by default)."""

    gen: int
    store: frozenset
    dns: tuple
    enactors: tuple
    ext: tuple = ()


def initial_state(enactors: int, endpoints: int, ext: tuple = ()) -> State:
    """gen = 0, empty store, every record unwritten, every enactor idle."""
    idle = Enactor(IDLE, 0)
    return State(0, frozenset(), (0,) * endpoints, (idle,) * enactors, ext)
