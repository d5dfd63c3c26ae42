"""States and configurations as plain JSON-ready data."""

from __future__ import annotations

from .state import State

__all__ = ["state_to_dict"]


def _plain(value):
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def state_to_dict(model, s: State) -> dict:
    """A state as JSON-ready data; program counters by name (``apply(0)``, ``cleanup``)."""
    c = model.config
    out = {
        "gen": s.gen,
        "store": sorted(s.store),
        "dns": list(s.dns),
        "enactors": [
            {"pc": model.protocol.phase_name(e.pc, c), "held": e.held,
             **({"local": _plain(e.local)} if e.local else {})}
            for e in s.enactors
        ],
    }
    if s.ext:
        out["ext"] = _plain(s.ext)
    return out
