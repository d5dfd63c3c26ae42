"""The properties dnsrace checks, by name."""

from __future__ import annotations

from .base import GraphProperty, Property, StateInvariant, TransitionInvariant
from .monotonic import Monotonic
from .no_dangling import NoDangling, dangling_endpoints
from .recoverable import Recoverable

__all__ = ["PROPERTIES", "GraphProperty", "Monotonic", "NoDangling", "Property", "Recoverable",
           "StateInvariant", "TransitionInvariant", "UnknownProperty", "dangling_endpoints",
           "resolve_properties"]

PROPERTIES = {p.name: p for p in (NoDangling, Monotonic, Recoverable)}


class UnknownProperty(ValueError):
    """A property name that names nothing; the message lists the valid ones."""


def resolve_properties(names=()) -> list[Property]:
    """Property instances for ``names`` (all, in the canonical order, when empty)."""
    names = list(dict.fromkeys(names)) or list(PROPERTIES)
    out = []
    for name in names:
        cls = PROPERTIES.get(name)
        if cls is None:
            raise UnknownProperty(f"unknown property {name!r} (valid: {', '.join(PROPERTIES)})")
        out.append(cls())
    return out
